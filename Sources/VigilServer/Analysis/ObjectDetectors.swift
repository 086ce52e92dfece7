import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilCore
import VigilVision

/// A frame's objects as a detector reports them.
public struct DetectedObjects: Sendable {
    public var detections: [ObjectDetection]
    /// The frame's full size; boxes are in its pixels.
    public var width: Int
    public var height: Int
    /// The frame as the detector decoded it, when it decoded it here; thumbnails are cut from it.
    public var image: BGRImage?
    /// Where a local detector's time went (nil for a remote one).
    public var timings: ONNXObjectDetector.Timings?
    /// The detector that answered, e.g. `yolox`, or `yolox` standing in for `deepstack`.
    public var detector: String
}

/// Finds objects in JPEG frames: a model run here, or a remote service.
public protocol ObjectDetector: Sendable {
    /// The configured type: `yolox`, `yolov8` or `deepstack`.
    var kind: String { get }
    func detect(jpeg: [UInt8]) async throws(DetectorError) -> DetectedObjects
}

public enum DetectorError: Error, CustomStringConvertible, Equatable {
    /// The frame itself cannot be analysed (not a readable JPEG): trying again will not help.
    case unreadableFrame(String)
    /// The detector could not answer (a remote one down or slow, a model failing): worth retrying.
    case unavailable(String)

    public var description: String {
        switch self {
        case .unreadableFrame(let reason): "the frame cannot be analysed: \(reason)"
        case .unavailable(let reason): "the object detector is unavailable: \(reason)"
        }
    }
}

/// An ONNX model run in this process, on threads of its own so inference never holds the threads
/// that serve requests.
public struct LocalObjectDetector: ObjectDetector {
    public let model: ONNXObjectDetector
    private let threads: NIOThreadPool

    public var kind: String { model.format.rawValue }

    /// `concurrentFrames` frames are analysed at once, each by `model`'s own intra-op threads.
    public init(model: ONNXObjectDetector, concurrentFrames: Int) {
        self.model = model
        threads = NIOThreadPool(numberOfThreads: max(concurrentFrames, 1))
        threads.start()
    }

    public func detect(jpeg bytes: [UInt8]) async throws(DetectorError) -> DetectedObjects {
        let model = self.model
        let found: ONNXObjectDetector.Result
        do {
            found = try await threads.runIfActive { try model.detect(jpeg: bytes) }
        } catch let error as VisionError {
            switch error {
            case .undecodable(let reason): throw .unreadableFrame(reason)
            case .refused(let problem): throw .unreadableFrame(problem.message)
            case .model(let reason): throw .unavailable(reason)
            }
        } catch {
            throw .unavailable("\(error)")
        }
        return DetectedObjects(detections: found.detections, width: found.width, height: found.height, image: found.image,
                               timings: found.timings, detector: kind)
    }
}

/// A remote detector speaking the DeepStack / CodeProject.AI API: `POST /v1/vision/detection`
/// with the frame as multipart `image` and `min_confidence`; it answers
/// `{"success": true, "predictions": [{label, confidence, x_min, y_min, x_max, y_max}]}`.
public struct DeepStackDetector: ObjectDetector {
    public let endpoint: String
    public let timeout: TimeAmount
    public let minimumConfidence: Double
    public let apiKey: String?
    private let client: HTTPClient

    public var kind: String { "deepstack" }

    /// `baseURL` is the server's address, e.g. `http://ai-box:32168`.
    public init(baseURL: String, timeout: TimeAmount, minimumConfidence: Double, apiKey: String? = nil,
                client: HTTPClient = .shared) {
        endpoint = baseURL.hasSuffix("/v1/vision/detection")
            ? baseURL : baseURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/v1/vision/detection"
        self.timeout = timeout
        self.minimumConfidence = minimumConfidence
        self.apiKey = apiKey
        self.client = client
    }

    public func detect(jpeg bytes: [UInt8]) async throws(DetectorError) -> DetectedObjects {
        let size: JPEGInspector.Info
        do {
            size = try JPEGInspector.inspect(bytes)
        } catch {
            throw .unreadableFrame("\(error)")
        }
        let boundary = "vigil-\(UUID().uuidString)"
        // Fields before the image, as DeepStack's own clients send them: a server that checks the
        // key before reading a large body (Vigil does) finds it first.
        var parts: [MultipartFormData.Part] = apiKey.map { [.field("api_key", $0)] } ?? []
        parts += [
            .field("min_confidence", "\(minimumConfidence)"),
            MultipartFormData.Part(name: "image", filename: "frame.jpg", contentType: "image/jpeg", body: bytes),
        ]
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .bytes(ByteBuffer(bytes: MultipartFormData.encode(parts, boundary: boundary)))
        let status: UInt
        let body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = response.status.code
            body = try await response.body.collect(upTo: 4 << 20)
        } catch {
            throw .unavailable("\(endpoint) did not answer: \(error)")
        }
        let answer = try? JSONDecoder().decode(DeepStackAnswer.self, from: Data(buffer: body))
        switch (status, answer) {
        case (200, let answer?) where answer.success:
            let detections = (answer.predictions ?? []).map { prediction in
                ObjectDetection(label: prediction.label, confidence: prediction.confidence,
                                box: PixelBox(x1: prediction.x_min, y1: prediction.y_min, x2: prediction.x_max, y2: prediction.y_max)
                                    .clamped(width: Double(size.width), height: Double(size.height)))
            }
            return DetectedObjects(detections: detections, width: size.width, height: size.height, image: nil, timings: nil,
                                   detector: kind)
        case (400, _), (413, _), (415, _), (422, _):
            // The service read the request and refused the picture (DeepStack answers 400 to an unreadable image).
            throw .unreadableFrame("\(endpoint) refused it (\(status)): \(answer?.error ?? "no reason given")")
        default:
            // Down, overloaded, or refusing Vigil's key (401/403): the frame is fine, the service is not.
            throw .unavailable("\(endpoint) answered \(status)\(answer?.error.map { ": \($0)" } ?? "")")
        }
    }
}

/// The DeepStack / CodeProject.AI detection answer, as Vigil's endpoint gives it and its remote
/// detector reads it. Corners are pixels of the frame (whole numbers from Vigil, any from others).
struct DeepStackAnswer: Codable, Sendable {
    struct Prediction: Codable, Sendable {
        var label: String
        var confidence: Double
        var x_min: Double
        var y_min: Double
        var x_max: Double
        var y_max: Double
    }

    var success: Bool
    var predictions: [Prediction]?
    var count: Int?
    var inferenceMs: Int?
    var processMs: Int?
    var error: String?
}

/// A detector with a stand-in: when the first cannot answer (down, slow, failing), the second
/// does, and the answer says so. A frame the first refuses as unreadable is not tried again.
/// The log says when the first goes away and when it is back, not once per frame.
public final class FallbackObjectDetector: ObjectDetector {
    public let primary: any ObjectDetector
    public let fallback: any ObjectDetector
    let logger: Logger
    private let primaryDown = Mutex(false)

    public init(primary: any ObjectDetector, fallback: any ObjectDetector, logger: Logger) {
        self.primary = primary
        self.fallback = fallback
        self.logger = logger
    }

    public var kind: String { primary.kind }

    public func detect(jpeg bytes: [UInt8]) async throws(DetectorError) -> DetectedObjects {
        do {
            let found = try await primary.detect(jpeg: bytes)
            if primaryDown.withLock({ down in defer { down = false }; return down }) {
                logger.notice("the object detector answers again", metadata: ["detector": "\(primary.kind)"])
            }
            return found
        } catch {
            guard case .unavailable(let reason) = error else { throw error }
            if !primaryDown.withLock({ down in defer { down = true }; return down }) {
                logger.warning("the object detector is unavailable; its fallback answers until it is back",
                               metadata: ["detector": "\(primary.kind)", "fallback": "\(fallback.kind)", "reason": "\(reason)"])
            }
            var found = try await fallback.detect(jpeg: bytes)
            found.detector = "\(fallback.kind) (for \(primary.kind))"
            return found
        }
    }
}
