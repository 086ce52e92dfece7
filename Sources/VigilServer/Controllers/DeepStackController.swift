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
    let forms: DeepStackForms
    let detector: (any ObjectDetector)?

    func addRoutes(to routes: SecuredRoutes) {
        routes.post("/v1/vision/detection", .permissionWithKeyInForm(.ingestWrite), use: detect)
    }

    typealias Prediction = DeepStackAnswer.Prediction
    typealias Answer = DeepStackAnswer

    /// A refusal in DeepStack's words: `{"success": false, "error": ...}` with its status.
    struct Failure: Error {
        var status: HTTPResponse.Status
        var message: String

        init(_ status: HTTPResponse.Status, _ message: String) {
            self.status = status
            self.message = message
        }

        var response: Response { DeepStackController.failure(status, message) }
    }

    @Sendable func detect(_ request: Request, context: VigilRequestContext) async throws -> Response {
        try await forms.limited { try await detectInSlot(request, context: context) }
    }

    private func detectInSlot(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let form: MultipartFormData
        switch try await forms.read(request, context: context, permission: .ingestWrite) {
        case .success(let (read, _)): form = read
        case .failure(let failure): return failure.response
        }
        let image: [UInt8]
        switch Self.image(of: form) {
        case .success(let bytes): image = bytes
        case .failure(let failure): return failure.response
        }
        let minimumConfidence: Double
        switch Self.minimumConfidence(form, default: 0.4) {
        case .success(let value): minimumConfidence = value
        case .failure(let failure): return failure.response
        }
        guard let detector else {
            return Self.failure(.serviceUnavailable, "Object detection is off on this server: its detector did not start.")
        }
        let inferenceStarted = ContinuousClock.now
        let found: DetectedObjects
        do {
            found = try await detector.detect(jpeg: image)
        } catch {
            if case .unreadableFrame(let reason) = error { return Self.failure(.badRequest, "The image cannot be used: \(reason)") }
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

    /// The form's `image`, admitted by Vigil's image rule (its size read from the header, no pixel
    /// decoded yet), or the refusal.
    static func image(of form: MultipartFormData) -> Result<[UInt8], Failure> {
        guard let image = form.part(named: "image"), !image.body.isEmpty else {
            return .failure(Failure(.badRequest, "No valid image file found"))
        }
        do {
            _ = try JPEGInspector.inspect(image.body)
        } catch {
            let refusal = APIError(imageProblem: error)
            return .failure(Failure(refusal.status, refusal.message))
        }
        return .success(image.body)
    }

    /// The form's `min_confidence`, from 0 to 1.
    static func minimumConfidence(_ form: MultipartFormData, default value: Double) -> Result<Double, Failure> {
        guard let text = form.text("min_confidence") else { return .success(value) }
        guard let number = Double(text), (0...1).contains(number) else {
            return .failure(Failure(.badRequest, "min_confidence must be a number from 0 to 1; got '\(text.prefix(20))'."))
        }
        return .success(number)
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        answer(status, Answer(success: false, error: message))
    }

    static func answer(_ status: HTTPResponse.Status, _ answer: some Encodable) -> Response {
        let body = (try? JSONEncoder().encode(answer)) ?? Data(#"{"success":false}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
