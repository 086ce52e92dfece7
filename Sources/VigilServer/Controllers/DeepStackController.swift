import Foundation
import Hummingbird
import NIOCore
import VigilCore
import VigilStore

/// `POST /v1/vision/detection`, answering as DeepStack and CodeProject.AI do, so Blue Iris,
/// Agent DVR, Frigate's `deepstack` detector and Home Assistant can use Vigil as their detector.
///
/// The request is `multipart/form-data` with the picture in `image`, and optionally
/// `min_confidence` and `api_key` (an API key with `ingest.write`, when no header carries one).
/// Answers: `{"success": true, "predictions": [{label, confidence, x_min, y_min, x_max, y_max}],
/// "count", "inferenceMs", "processMs"}`, or `{"success": false, "error": ...}` with a 4xx/5xx.
struct DeepStackController {
    let apiKeys: APIKeyCheck
    let detector: (any ObjectDetector)?
    static let maximumBytes = 16 << 20

    func addRoutes(to routes: SecuredRoutes) {
        routes.post("/v1/vision/detection", .permissionWithKeyInForm(.ingestWrite), use: detect)
    }

    typealias Prediction = DeepStackAnswer.Prediction
    typealias Answer = DeepStackAnswer

    @Sendable func detect(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        guard let boundary = MultipartFormData.boundary(fromContentType: request.headers[.contentType] ?? "") else {
            return Self.failure(.badRequest, "Send the picture as the 'image' field of multipart/form-data.")
        }
        let form: MultipartFormData
        do {
            let body = try await request.body.collect(upTo: Self.maximumBytes)
            form = try MultipartFormData(body: Array(body.readableBytesView), boundary: boundary)
        } catch is NIOTooManyBytesError {
            return Self.failure(.contentTooLarge, "The picture may be at most \(Self.maximumBytes) bytes.")
        } catch {
            return Self.failure(.badRequest, "The multipart body is malformed.")
        }
        if context.principal == nil {
            guard let key = form.text("api_key") else {
                return Self.failure(.unauthorized, "Send an API key in X-API-Key, Authorization: Bearer, or the form field api_key.")
            }
            let principal: Principal
            do {
                principal = try await apiKeys.principal(key: key, request: request, context: context)
            } catch let error as APIError {
                return Self.failure(error.status, error.message)
            }
            guard principal.allows(.ingestWrite) else {
                return Self.failure(.forbidden, "The API key's role (\(principal.role)) may not \(Permission.ingestWrite).")
            }
        }
        guard let image = form.part(named: "image"), !image.body.isEmpty else {
            return Self.failure(.badRequest, "The form has no 'image' field.")
        }
        var minimumConfidence = 0.4
        if let text = form.text("min_confidence") {
            guard let value = Double(text), (0...1).contains(value) else {
                return Self.failure(.badRequest, "min_confidence must be a number from 0 to 1; got '\(text.prefix(20))'.")
            }
            minimumConfidence = value
        }
        guard let detector else {
            return Self.failure(.serviceUnavailable, "Object detection is off on this server: its detector did not start.")
        }
        let inferenceStarted = ContinuousClock.now
        let found: DetectedObjects
        do {
            found = try await detector.detect(jpeg: image.body)
        } catch {
            if case .unreadableFrame = error { return Self.failure(.badRequest, "The image cannot be read as a JPEG.") }
            return Self.failure(.serviceUnavailable, "The object detector cannot answer now; try again shortly.")
        }
        let inferenceTime = found.timings?.inference ?? ContinuousClock.now - inferenceStarted
        let predictions = found.detections.filter { $0.confidence >= minimumConfidence }.map { detection in
            Prediction(label: detection.label, confidence: (detection.confidence * 1000).rounded() / 1000,
                       x_min: detection.box.x1.rounded(), y_min: detection.box.y1.rounded(),
                       x_max: detection.box.x2.rounded(), y_max: detection.box.y2.rounded())
        }
        return Self.answer(.ok, Answer(success: true, predictions: predictions, count: predictions.count,
                                       inferenceMs: Int(inferenceTime.milliseconds),
                                       processMs: Int((ContinuousClock.now - started).milliseconds)))
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        answer(status, Answer(success: false, error: message))
    }

    static func answer(_ status: HTTPResponse.Status, _ answer: Answer) -> Response {
        let body = (try? JSONEncoder().encode(answer)) ?? Data(#"{"success":false}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
