import Crypto
import Foundation
import Logging
import NIOPosix
import VigilCore
import VigilStore
import VigilVision

/// Records events that are whole when they are made: something taken from or left in a watched
/// area (`stock_changed`), a camera covered (`camera_obstructed`) or turned (`scene_shifted`).
/// Their frames are kept, an annotated copy drawn, the row stored and the news sent, like any event.
struct SceneEvents: Sendable {
    let database: Database
    let media: any MediaStore
    let logger: Logger

    struct Draft: Sendable {
        var id: UUID
        var camera: Camera
        var type: EventType
        var startedAt: Date
        var endedAt: Date
        var confidence: Double
        var zoneIds: [UUID] = []
        var assessment: RiskAssessment
        /// Frames to keep, by role.
        var frames: [(EventImageRole, UUID?)]
        /// The kept frame to draw `marks` on (boxes in 0...1).
        var annotate: (role: EventImageRole, marks: [(box: PixelBox, label: String, confidence: Double)])?
        /// `details` beyond those every event has; `decision_trace` goes first in the trace.
        var details: [String: JSONValue] = [:]
        var trace: [String] = []
    }

    /// Stores the event; returns false when it was stored before (a retried job).
    @discardableResult
    func record(_ draft: Draft, at time: Date) async throws -> Bool {
        var frames = EventFrames(eventId: draft.id, cameraId: draft.camera.id, day: draft.startedAt)
        let promotion = FramePromotion(database: database, media: media, logger: logger)
        for (role, capture) in draft.frames {
            try await frames.keep(capture, as: role, promotion: promotion, at: time, logger: logger)
        }
        if let annotate = draft.annotate, let uri = frames.uris[annotate.role] {
            try await frames.annotate(uri, marks: annotate.marks, media: media, logger: logger)
        }
        var details = draft.details
        details["scorer"] = .string("rules")
        details["scores"] = .object(draft.assessment.scores.merging(details["scores"]?.objectValue ?? [:]) { _, given in given })
        details["thresholds"] = .object(draft.assessment.thresholds.merging(details["thresholds"]?.objectValue ?? [:]) { _, given in given })
        details["captures"] = .object(frames.captureIds.mapValues { .string($0.uuidString.lowercased()) })
        details["decision_trace"] = .array((draft.trace + frames.trace + draft.assessment.decisionTrace + ["event_emitted"]).map(JSONValue.string))
        let assessment = draft.assessment
        let event = EventRepository.Finished(
            id: draft.id, cameraId: draft.camera.id, type: draft.type, startedAt: draft.startedAt, endedAt: draft.endedAt,
            confidence: draft.confidence, zoneIds: draft.zoneIds,
            judgement: .init(riskScore: assessment.score, riskLevel: assessment.level, summary: assessment.summary,
                             reasoning: assessment.reasoning, details: .object(details), imagePath: frames.annotatedURI))
        let retention = FramePromotion.retention(of: draft.camera)
        let logger = self.logger
        let kept = frames
        return try await database.transaction { connection in
            let events = EventRepository(connection, logger: logger)
            guard try await events.insert(event, at: time) else { return false }
            try await kept.record(on: events, retention: retention, at: time)
            try await events.announce("event.created", id: event.id, cameraId: event.cameraId)
            try await AlertEvaluation.queue(eventId: event.id, on: connection, at: time, logger: logger)
            return true
        }
    }

    /// An id for an event derived from another: the same every time it is derived (so a retried
    /// job finds it made), ordered by `time` like every event id.
    static func derivedId(from source: UUID, _ salt: String, time: Date) -> UUID {
        UUIDv7Generator.uuid(at: time, filling: SHA256.hash(data: Data((source.uuidString + salt).utf8)))
    }

    /// After activity: compares the still frame before it with the one after it in each watched
    /// area of the camera, and records `stock_changed` where enough of the area changed.
    func checkWatchedAreas(after event: Event, camera: Camera, zones: [CameraZone], frames: EventFrames, settings: EventSettings,
                           schedule: WeeklySchedule, scorer: RiskScorer, at time: Date) async throws -> [UUID] {
        let watched = zones.filter { $0.zoneType == .watchArea && $0.enabled }
        guard !watched.isEmpty, let preURI = frames.uris[.pre], let postURI = frames.uris[.post],
              let preId = frames.captureIds["pre_capture_id"], let postId = frames.captureIds["post_capture_id"] else { return [] }
        let media = self.media
        let (before, after) = try await NIOThreadPool.singleton.runIfActive { () throws -> (GrayImage, GrayImage) in
            (try JPEGDecoder.decodeGray(try media.read(preURI), minimumWidth: 160),
             try JPEGDecoder.decodeGray(try media.read(postURI), minimumWidth: 160))
        }
        let endedAt = max(event.endedAt ?? event.startedAt, event.startedAt)
        var made: [UUID] = []
        for zone in watched {
            let measure = WatchAreaChange.measure(before: before, after: after, polygon: zone.polygon)
            let threshold = settings.activity.watchAreaThreshold
            guard measure.changedFraction >= threshold else { continue }
            let local = LocalTime(endedAt, in: schedule.timeZone)
            let percent = Int((measure.changedFraction * 100).rounded())
            let summary = "Something was taken or left in \(zone.name) at \(camera.name): \(percent)% of the watched area changed, \(local.clock)"
            let assessment = scorer.assessScene(.stockChanged, summary: summary, at: endedAt, schedule: schedule,
                                                zone: .init(name: zone.name, type: zone.zoneType, priority: zone.priority))
            let id = Self.derivedId(from: event.id, "stock:\(zone.id.uuidString)", time: event.startedAt)
            let draft = Draft(
                id: id, camera: camera, type: .stockChanged, startedAt: event.startedAt, endedAt: endedAt,
                confidence: min(1, 0.5 + 0.5 * (measure.changedFraction - threshold) / max(1 - threshold, 0.01)),
                zoneIds: [zone.id], assessment: assessment, frames: [(.pre, preId), (.post, postId)],
                annotate: measure.changedBox.map { (role: .post, marks: [($0, "changed", measure.changedFraction)]) },
                details: [
                    "roi_version": .string(LiveFeed.timestamp(zone.updatedAt)),
                    "zone_id": .string(zone.id.uuidString.lowercased()),
                    "source_event_id": .string(event.id.uuidString.lowercased()),
                    "thresholds": .object(["inventory_change_threshold": .number(threshold), "pixel_threshold": .number(30)]),
                    "scores": .object(["inventory_delta": .number((measure.changedFraction * 1000).rounded() / 1000),
                                       "brightness_ratio": .number((measure.brightnessRatio * 100).rounded() / 100)]),
                    "baseline": .object(["age_seconds": .number(endedAt.timeIntervalSince(event.startedAt).rounded())]),
                ],
                trace: ["interaction_start", "post_stable_found", "delta_exceeded_threshold"])
            if try await record(draft, at: time) { made.append(id) }
        }
        return made
    }
}
