import Foundation
import Logging
import NIOPosix
import VigilCore
import VigilStore
import VigilVision

/// Runs `analyze_capture` jobs: finds the objects in a received frame and records them as
/// detections, with the zones each one stands in, then marks the capture processed.
struct AnalyzeCaptureHandler: JobHandler {
    let type = JobRepository.JobType.analyzeCapture.rawValue
    let detector: YOLOXDetector
    let database: Database
    let media: any MediaStore
    let now: @Sendable () -> Date
    /// Threads inference runs on, so it never holds the threads that serve requests.
    let inference: NIOThreadPool
    /// Objects worth recording; anything else the model sees is ignored.
    let classesOfInterest: Set<String>
    let minimumConfidence: Double

    /// What people watching a home or a shop care about (the default list).
    static let defaultClasses: Set<String> = [
        "person", "bicycle", "car", "motorcycle", "bus", "truck", "bird", "cat", "dog", "horse", "backpack", "handbag", "suitcase",
    ]

    struct Unanalysable: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        guard case .string(let text)? = job.payload.objectValue?["capture_id"], let captureId = UUID(uuidString: text) else {
            throw Unanalysable(description: "the job names no capture")
        }
        let logger = context.logger
        guard let capture = try await database.read({ try await CaptureRepository($0, logger: logger).find(id: captureId) }) else {
            throw Unanalysable(description: "capture \(captureId) no longer exists")
        }
        guard let uri = capture.storageURI, capture.storageClass != "discarded" else {
            throw Unanalysable(description: "the frame of capture \(captureId) was discarded before it was analysed")
        }
        let media = self.media
        let detector = self.detector
        context.report(step: "detecting objects")
        let found: YOLOXDetector.Result
        do {
            found = try await inference.runIfActive {
                try detector.detect(jpeg: try media.read(uri))
            }
        } catch let error as VisionError {
            let message = "\(error)"
            try await database.transaction {
                try await DetectionRepository($0, logger: logger).recordFailure(capture, error: message, at: self.now())
            }
            throw Unanalysable(description: message)
        }
        let zones = try await database.read {
            try await CameraZoneRepository($0, logger: logger).list(cameraId: capture.cameraId, enabled: true,
                                                                   page: PageRequest(limit: PageRequest.maximumLimit))
        }.items
        let kept = found.detections.filter { classesOfInterest.contains($0.label) && $0.confidence >= minimumConfidence }
        let time = now()
        let rows = kept.map { detection in
            DetectionRepository.NewDetection(
                detectedAt: time, cameraId: capture.cameraId, captureId: capture.id, filePath: uri, objectType: detection.label,
                confidence: detection.confidence, x: Int(detection.box.x1.rounded()), y: Int(detection.box.y1.rounded()),
                width: Int(detection.box.width.rounded()), height: Int(detection.box.height.rounded()),
                frameWidth: found.width, frameHeight: found.height,
                zoneIds: CameraZone.hit(by: detection.box, frameWidth: found.width, frameHeight: found.height, among: zones))
        }
        try await database.transaction {
            try await DetectionRepository($0, logger: logger).record(rows, capture: capture, analyzedAt: time)
        }
        return .object(["detections": .number(Double(rows.count)), "objects": .array(rows.map { .string($0.objectType) })])
    }
}
