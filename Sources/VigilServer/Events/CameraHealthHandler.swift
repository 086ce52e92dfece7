import Foundation
import Logging
import VigilCore
import VigilStore

/// Runs `record_camera_health` jobs: a camera found covered, blinded or turned becomes an event
/// (`camera_obstructed`, `scene_shifted`, seed 004) with the frame before and the frame that
/// showed it, once per episode however many worker processes noticed.
struct CameraHealthHandler: JobHandler {
    let type = JobRepository.JobType.recordCameraHealth.rawValue
    let database: Database
    let media: any MediaStore
    let now: @Sendable () -> Date
    let defaults: EventSettings
    var scorer = RiskScorer()

    struct Unrecordable: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        let payload = job.payload.objectValue ?? [:]
        guard let cameraId = payload["camera_id"]?.stringValue.flatMap(UUID.init(uuidString:)),
              let captureId = payload["capture_id"]?.stringValue.flatMap(UUID.init(uuidString:)),
              let kind = payload["kind"]?.stringValue.flatMap(EventType.init(rawValue:)),
              let since = payload["since"]?.numberValue.map(Date.init(timeIntervalSince1970:)),
              let at = payload["at"]?.numberValue.map(Date.init(timeIntervalSince1970:)) else {
            throw Unrecordable(description: "the job does not describe a camera health finding")
        }
        let logger = context.logger
        let time = now()
        let found = try await database.read { connection -> (Camera, String, UUID?, Bool)? in
            guard let camera = try await CameraRepository(connection, logger: logger).find(id: cameraId) else { return nil }
            let timezone = try await SiteRepository(connection, logger: logger).find(id: camera.siteId)?.timezone ?? "UTC"
            let events = EventRepository(connection, logger: logger)
            // Another worker may have reported the same episode from its own frames.
            let reported = try await events.exists(cameraId: cameraId, type: kind, since: since.addingTimeInterval(-60))
            let before = try await events.neighbouringCapture(cameraId: cameraId, time: since, before: true, within: 3600)
            return (camera, timezone, before, reported)
        }
        guard let (camera, timezone, before, reported) = found else { return .object(["skipped": .string("the camera no longer exists")]) }
        if reported { return .object(["skipped": .string("already reported")]) }
        var ignored = ValidationReport()
        let settings = defaults.applying(cameraConfig: camera.config, siteTimeZone: timezone, report: &ignored)
        let schedule = settings.schedule(defaultTimeZone: TimeZone(identifier: timezone) ?? .gmt)
        let seconds = RiskScorer.duration(at.timeIntervalSince(since))
        let scores = payload["scores"]?.objectValue ?? [:]
        let summary: String
        var trace: [String]
        switch kind {
        case .cameraObstructed:
            let reason = payload["reason"]?.stringValue ?? "uniform"
            let what = ["dark": "the picture is black", "blurred": "the picture is blurred", "uniform": "the picture shows nothing"][reason]
                ?? "the picture shows nothing"
            summary = "\(camera.name) camera obstructed for \(seconds): \(what)"
            trace = ["obstruction_start", "\(reason)_for:\(Int(at.timeIntervalSince(since).rounded()))s"]
        default:
            summary = "\(camera.name) camera turned: its view changed \(seconds) ago and stayed so"
            trace = ["view_changed", "new_view_steady"]
        }
        let draft = SceneEvents.Draft(
            id: SceneEvents.derivedId(from: cameraId, "\(kind.rawValue):\(since.timeIntervalSince1970)", time: since),
            camera: camera, type: kind, startedAt: since, endedAt: at, confidence: 0.9,
            assessment: scorer.assessScene(kind, summary: summary, at: since, schedule: schedule),
            frames: [(.pre, before), (.during, captureId)], annotate: nil,
            details: ["scores": .object(scores), "thresholds": .object(Self.thresholds(SceneHealth.Settings()))], trace: trace)
        let recorded = try await SceneEvents(database: database, media: media, logger: logger).record(draft, at: time)
        return .object(["event_id": .string(draft.id.uuidString.lowercased()), "recorded": .bool(recorded), "kind": .string(kind.rawValue)])
    }

    static func thresholds(_ settings: SceneHealth.Settings) -> [String: JSONValue] {
        ["minimum_contrast": .number(settings.minimumContrast), "minimum_brightness": .number(settings.minimumBrightness),
         "blur_fraction": .number(settings.blurFraction), "obstructed_after_seconds": .number(settings.obstructedAfter),
         "shift_correlation": .number(settings.shiftCorrelation), "shifted_after_seconds": .number(settings.shiftedAfter)]
    }
}
