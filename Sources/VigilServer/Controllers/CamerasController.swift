import Foundation
import Hummingbird
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// `/api/v1/cameras`: every camera, whatever its source. `{camera}` is a UUID or a slug.
struct CamerasController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail
    let media: any MediaStore
    let writer: CaptureWriter
    /// Emptied on every change to a camera, so a switched-off camera or a rotated token stops working at once.
    let deviceTokens: DeviceTokenCache
    /// Seals stream credentials at rest.
    let secrets: SecretBox

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/cameras", .permission(.camerasRead), use: list)
        routes.post("/cameras", .permission(.camerasWrite), use: create)
        routes.get("/cameras/{camera}", .permission(.camerasRead), use: get)
        routes.patch("/cameras/{camera}", .permission(.camerasWrite), use: update)
        routes.delete("/cameras/{camera}", .permission(.camerasDelete), use: delete)
        routes.post("/cameras/{camera}/device-token", .permission(.camerasWrite), use: rotateDeviceToken)
        routes.get("/cameras/{camera}/latest.jpg", .permission(.mediaRead), use: latestFrame)
        routes.get("/cameras/{camera}/snapshot", .permission(.mediaRead), use: snapshot)
    }

    struct DeviceToken: Codable, Sendable {
        var deviceToken: String

        enum CodingKeys: String, CodingKey {
            case deviceToken = "device_token"
        }
    }

    /// Issues a new device token; the old one stops working at once.
    @Sendable func rotateDeviceToken(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<DeviceToken> {
        let reference = context.cameraReference
        let token = APIKeyToken.generate(prefix: APIKeyToken.deviceTokenPrefix)
        try await database.transaction(for: context) { connection in
            let cameras = CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let camera = try await cameras.find(reference: reference, forUpdate: true),
                  try await cameras.setDeviceToken(id: camera.id, token: token) else {
                throw APIError.notFound("camera", reference)
            }
            try await audit.record(AuditTrail.change("camera_device_token_rotated", "camera", camera.id.uuidString),
                                   context: context, on: connection)
        }
        deviceTokens.invalidateAll()
        return JSONResponse(DeviceToken(deviceToken: token))
    }

    /// The newest frame received from the camera.
    @Sendable func latestFrame(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let reference = context.cameraReference
        let latest = try await database.read(for: context) { connection -> (id: UUID, storageURI: String)? in
            guard let camera = try await CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
                .find(reference: reference) else {
                throw APIError.notFound("camera", reference)
            }
            return try await CaptureRepository(connection, logger: context.logger).latest(cameraId: camera.id)
        }
        guard let latest, let bytes = try? media.read(latest.storageURI) else {
            throw APIError(.notFound, code: "no_frame", message: "No frame has been received from camera '\(reference)' yet.")
        }
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store",
                                               .init("X-Capture-Id")!: latest.id.uuidString.lowercased()],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A frame taken from the camera now (cameras Vigil pulls from), kept as a capture like any other.
    @Sendable func snapshot(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let reference = context.cameraReference
        let secrets = self.secrets
        let camera = try await database.read(for: context) { connection -> Camera? in
            let cameras = CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let camera = try await cameras.find(reference: reference) else { return nil }
            return try await cameras.opened(camera, secrets: secrets)
        }
        guard let camera else { throw APIError.notFound("camera", reference) }
        guard let source = PullSource(camera) else {
            throw APIError(.conflict, code: "snapshot_unavailable", message: camera.isActive
                ? "Camera '\(camera.slug)' sends its own frames (\(camera.sourceKind.rawValue)); its newest one is at latest.jpg."
                : "Camera '\(camera.slug)' is switched off in Vigil.")
        }
        let bytes: [UInt8]
        let frame: IncomingFrame
        do {
            bytes = try await source.grab()
            frame = try IncomingFrame(cameraId: camera.id, deviceId: camera.deviceId ?? camera.slug, source: CaptureSource(source.kind),
                                      bytes: bytes, meta: .object(["snapshot": .bool(true)]))
        } catch {
            throw APIError(.badGateway, code: "camera_unreachable", message: "Camera '\(camera.slug)' gave no frame: \(error)")
        }
        let receipt = try await writer.store(frame)
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store",
                                               .init("X-Capture-Id")!: receipt.captureId.uuidString.lowercased()],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Camera>> {
        let query = QueryReader(request)
        let page = try query.page()
        let filter = CameraRepository.Filter(
            siteId: try query.uuid("site_id"), dvrId: try query.uuid("dvr_id"),
            status: try query.enumValue("status", as: DeviceStatus.self),
            sourceKind: try query.enumValue("source_kind", as: CameraSourceKind.self),
            isActive: try query.bool("is_active"))
        let result = try await database.read(for: context) { try await CameraRepository($0, logger: context.logger, visibleTo: context.visibleTo).list(filter, page: page) }
        return JSONResponse(ListBody(items: result.items.map(\.redacted), nextCursor: result.nextCursor))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Camera> {
        let reference = context.cameraReference
        guard let camera = try await database.read(for: context, {
            try await CameraRepository($0, logger: context.logger, visibleTo: context.visibleTo).find(reference: reference)
        }) else {
            throw APIError.notFound("camera", reference)
        }
        return JSONResponse(camera.redacted)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<WithSecret<Camera>> {
        let input = try await request.decodeInput(CameraInput.self, context: context)
        let id = ids.next()
        // A camera that pushes frames gets its device token now, shown this once.
        let token = input.resolvedSourceKind == .httpPush ? APIKeyToken.generate(prefix: APIKeyToken.deviceTokenPrefix) : nil
        let camera = try await database.transaction(for: context) { connection in
            let camera = try await CameraRegistration.create(input, id: id, on: connection, logger: context.logger, visibleTo: context.visibleTo,
                                                             secrets: secrets)
            if let token {
                _ = try await CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
                    .setDeviceToken(id: id, token: token)
            }
            try await audit.record(AuditTrail.change("camera_created", "camera", id.uuidString,
                                                     details: try CameraInput(camera.redacted).auditDetails()),
                                   context: context, on: connection)
            return camera
        }
        // A camera that pushes frames gets its device token, shown this once.
        return JSONResponse(WithSecret(resource: camera.redacted, field: "device_token", secret: token), status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Camera> {
        let reference = context.cameraReference
        let patch = try await request.jsonObjectBody(context: context)
        let camera = try await database.transaction(for: context) { connection in
            let cameras = CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let current = try await cameras.find(reference: reference, forUpdate: true) else {
                throw APIError.notFound("camera", reference)
            }
            // The stored addresses are the redacted ones; one sent back as shown keeps its credentials
            // (the repository sees to that), and the audit row redacts any new one.
            let patchObject = patch
            let input = try InputDecoding.patch(CameraInput(current), with: .object(patchObject))
            let siteId = try await CameraRegistration.siteId(for: input, on: connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let updated = try await cameras.update(id: current.id, siteId: siteId, input, secrets: secrets) else {
                throw APIError.notFound("camera", reference)
            }
            try await audit.record(AuditTrail.change("camera_updated", "camera", current.id.uuidString,
                                                     details: .changedFields(patchObject)),
                                   context: context, on: connection)
            return updated
        }
        deviceTokens.invalidateAll()
        return JSONResponse(camera.redacted)
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let reference = context.cameraReference
        try await database.transaction(for: context) { connection in
            let cameras = CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let camera = try await cameras.find(reference: reference, forUpdate: true) else {
                throw APIError.notFound("camera", reference)
            }
            _ = try await cameras.delete(id: camera.id)
            try await audit.record(AuditTrail.change("camera_deleted", "camera", camera.id.uuidString,
                                                     details: .object(["slug": .string(camera.slug)])),
                                   context: context, on: connection)
        }
        deviceTokens.invalidateAll()
        return Response(status: .noContent)
    }
}

extension VigilRequestContext {
    /// The `{camera}` path parameter, percent-decoded: a UUID, a slug, or a name (`Front%20Door`).
    var cameraReference: String {
        let raw = parameters.get("camera") ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}

/// Creating and moving cameras, shared by the API and the `vigil camera` command.
public enum CameraRegistration {
    /// Registers a validated camera at its site.
    /// - Parameter visibleTo: Limits the sites and DVRs the camera may join to those of this user; `nil` for any.
    /// - Parameter secrets: Seals the stream addresses' credentials; needed when they carry any.
    public static func create(_ input: CameraInput, id: UUID, on connection: PostgresConnection, logger: Logger,
                              visibleTo: UUID? = nil, secrets: SecretBox?) async throws -> Camera {
        let siteId = try await siteId(for: input, on: connection, logger: logger, visibleTo: visibleTo)
        return try await CameraRepository(connection, logger: logger, visibleTo: visibleTo).create(id: id, siteId: siteId, input, secrets: secrets)
    }

    /// A camera on a DVR is at the DVR's site; otherwise at the site named, or the default site.
    static func siteId(for input: CameraInput, on connection: PostgresConnection, logger: Logger, visibleTo: UUID?) async throws -> UUID {
        guard let dvrId = input.dvrId else {
            return try await SiteResolution.siteId(input.siteId, on: connection, logger: logger, visibleTo: visibleTo)
        }
        guard let dvr = try await DVRRepository(connection, logger: logger, visibleTo: visibleTo).find(id: dvrId) else {
            throw APIError(.unprocessableContent, code: "dvr_not_found", message: "dvr_id names no existing DVR.",
                           details: [ValidationProblem(field: "dvr_id", message: "no DVR \(dvrId.uuidString)")])
        }
        if let siteId = input.siteId, siteId != dvr.siteId {
            var report = ValidationReport()
            report.add("site_id", "differs from the site of DVR \(dvrId.uuidString); a camera on a DVR is at the DVR's site")
            throw APIError.validation(report)
        }
        return dvr.siteId
    }
}
