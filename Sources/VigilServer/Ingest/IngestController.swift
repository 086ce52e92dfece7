import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VigilCore
import VigilStore

/// `POST /api/v1/ingest/frame`: a camera (an ESP32, typically) sends one JPEG.
///
/// Everything is validated in memory first (body size, multipart, JPEG, the camera); the frame
/// then goes to the `CaptureWriter`, which answers only once the file and the rows are durable.
struct IngestController {
    let database: Database
    let writer: CaptureWriter
    let maximumBytes: Int
    /// Frames being received at once, at most: each may hold up to `maximumBytes` until it is
    /// written, so a burst past this is answered 429 instead of growing the server's memory.
    /// Cameras send a frame in well under a second, so this is far above what a site's cameras need.
    let uploads = ConcurrencyLimit(maximum: 32)

    func addRoutes(to routes: SecuredRoutes) {
        routes.post("/ingest/frame", .permission(.ingestWrite), use: frame)
    }

    @Sendable func frame(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CaptureReceipt> {
        try await uploads.run(tooBusyWith: "frames being received") { try await receive(request, context: context) }
    }

    private func receive(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CaptureReceipt> {
        guard let principal = context.principal else { throw AuthenticationMiddleware.invalidSession }
        let contentType = request.headers[.contentType] ?? ""
        let isMultipart = contentType.lowercased().hasPrefix("multipart/form-data")
        guard isMultipart || contentType.lowercased().hasPrefix("image/jpeg") || contentType.lowercased().hasPrefix("application/octet-stream") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "Send the frame as the raw body with Content-Type: image/jpeg, or as the 'image' field of multipart/form-data.")
        }
        var body: [UInt8]
        do {
            // A multipart body carries a little more than the image: its headers and fields.
            body = Array(try await request.body.collect(upTo: maximumBytes + (isMultipart ? 16_384 : 0)).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "too_large", message: "A frame may be at most \(maximumBytes) bytes.")
        }
        var form: MultipartFormData?
        if isMultipart {
            guard let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
                throw APIError(.badRequest, code: "invalid_multipart", message: "The multipart content type names no boundary.")
            }
            do {
                form = try MultipartFormData(body: body, boundary: boundary)
            } catch {
                throw APIError(.badRequest, code: "invalid_multipart", message: "The multipart body is malformed: \(error).")
            }
            guard let image = form?.part(named: "image") else {
                throw APIError(.badRequest, code: "missing_image", message: "The multipart body has no 'image' field.")
            }
            guard image.body.count <= maximumBytes else {
                throw APIError(.contentTooLarge, code: "too_large", message: "A frame may be at most \(maximumBytes) bytes.")
            }
            body = image.body
        }
        let bytes = body
        guard !bytes.isEmpty else { throw APIError(.badRequest, code: "empty_body", message: "The body holds no image.") }
        let headers = try FrameHeaders(request.headers, form: form)
        let camera = try await camera(for: principal, headers: headers, context: context)
        guard camera.isActive else {
            throw APIError(.conflict, code: "camera_inactive", message: "Camera '\(camera.slug)' is switched off in Vigil.")
        }
        let frame: IncomingFrame
        do {
            frame = try IncomingFrame(cameraId: camera.id, deviceId: headers.deviceId ?? camera.deviceId ?? camera.slug,
                                      deviceSeq: headers.deviceSeq, capturedAt: headers.capturedAt, source: .httpPush, bytes: bytes)
        } catch {
            throw APIError(imageProblem: error)
        }
        let receipt = try await writer.store(frame)
        return JSONResponse(receipt, status: receipt.duplicate ? .ok : .created)
    }

    /// The camera a frame belongs to: the token's own camera, or the one `X-Device-Id` names.
    private func camera(for principal: Principal, headers: FrameHeaders, context: VigilRequestContext) async throws -> Camera {
        switch principal.kind {
        case .device:
            guard let camera = context.deviceCamera else { throw AuthenticationMiddleware.invalidSession }
            if let claimed = headers.deviceId, claimed != camera.deviceId, CameraSlug.normalize(claimed) != camera.slug {
                throw APIError(.forbidden, code: "device_mismatch",
                               message: "This device token belongs to camera '\(camera.slug)', not '\(claimed)'.")
            }
            return camera
        case .user, .apiKey, .network:
            guard let deviceId = headers.deviceId else {
                throw APIError(.badRequest, code: "missing_device_id", message: "Name the camera in X-Device-Id (its device id or slug).")
            }
            let visibleTo = context.visibleTo
            guard let camera = try await database.read(for: context, {
                try await CameraRepository($0, logger: context.logger, visibleTo: visibleTo).find(deviceId: deviceId)
            }) else {
                throw APIError(.notFound, code: "unknown_device", message: "No camera has the device id or slug '\(deviceId)'.")
            }
            return camera
        }
    }
}

/// The frame's own description: `X-Device-Id`, `X-Device-Seq`, `X-Capture-Time`, or the form
/// fields `device_id`, `device_seq`, `capture_time` of a multipart upload.
struct FrameHeaders {
    var deviceId: String?
    var deviceSeq: Int64?
    var capturedAt: Date?

    init(_ headers: HTTPFields, form: MultipartFormData? = nil) throws {
        var headers = headers
        for (field, header) in [("device_id", HTTPField.Name.xDeviceId), ("device_seq", .xDeviceSeq), ("capture_time", .xCaptureTime)]
        where headers[header] == nil {
            if let value = form?.text(field) { headers[header] = value }
        }
        if let id = headers[.xDeviceId]?.trimmingCharacters(in: .whitespaces), !id.isEmpty {
            guard id.count <= 100 else { throw APIError.invalidParameter("X-Device-Id", "must be at most 100 characters") }
            deviceId = id
        }
        if let text = headers[.xDeviceSeq] {
            guard let seq = Int64(text), seq >= 0 else {
                throw APIError.invalidParameter("X-Device-Seq", "must be a whole number from 0; got '\(text.prefix(40))'")
            }
            deviceSeq = seq
        }
        if let text = headers[.xCaptureTime] {
            if let milliseconds = Int64(text) {
                capturedAt = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            } else if let date = try? APIJSON.decoder.decode(Date.self, from: Data("\"\(text)\"".utf8)) {
                capturedAt = date
            } else {
                throw APIError.invalidParameter("X-Capture-Time", "must be an ISO 8601 time or Unix milliseconds; got '\(text.prefix(40))'")
            }
        }
    }
}

extension HTTPField.Name {
    static let xDeviceId = Self("X-Device-Id")!
    static let xDeviceSeq = Self("X-Device-Seq")!
    static let xCaptureTime = Self("X-Capture-Time")!
}
