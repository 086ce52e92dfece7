import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// Folds a frame's detections into its camera's events (seed 000's batch aggregation), inside the
/// analysis transaction. That transaction holds the camera's track lock, so one camera's frames
/// fold one at a time even across worker processes, and an event's state is only ever in the
/// database: a restart loses nothing.
enum EventFolding {
    /// Why an event is being judged.
    enum Stage: String, Sendable {
        /// A fast-path detection raised it: judge it now, while it is still open.
        case fastPath = "fast_path"
        /// It closed: judge it with all its detections and its `post` frame.
        case closed
    }

    struct Outcome: Sendable, Equatable {
        var eventId: UUID
        var opened: Bool
        var fastPath: Bool
    }

    static func fold(_ detections: [DetectionRepository.NewDetection], cameraId: UUID, zones: [CameraZone], settings: EventSettings,
                     frameTime: Date, now: Date, connection: PostgresConnection, logger: Logger) async throws -> Outcome? {
        guard let best = detections.max(by: { $0.confidence < $1.confidence }) else { return nil }
        let zoneTypes = Dictionary(zones.map { ($0.id, $0.zoneType) }) { first, _ in first }
        let fastPath = settings.fastPath.map { condition in
            detections.contains { condition.matches(objectType: $0.objectType, confidence: $0.confidence,
                                                    zoneTypes: $0.zoneIds.compactMap { zoneTypes[$0] }) }
        } ?? false
        let addition = EventRepository.Addition(
            time: frameTime, detectionIds: detections.map(\.id), objectTypes: detections.map(\.objectType),
            zoneIds: detections.flatMap(\.zoneIds), trackIds: detections.compactMap(\.trackId), confidence: best.confidence,
            boundingBox: .object(["x": .number(Double(best.x)), "y": .number(Double(best.y)), "width": .number(Double(best.width)),
                                  "height": .number(Double(best.height)), "frame_width": .number(Double(best.frameWidth)),
                                  "frame_height": .number(Double(best.frameHeight))]),
            isFastPath: fastPath)

        let events = EventRepository(connection, logger: logger)
        let jobs = JobRepository(connection, logger: logger)
        let open = try await events.openEvent(cameraId: cameraId)
        switch EventAggregator.place(frameAt: frameTime, open: open?.event, settings: settings) {
        case .join(let id):
            try await events.join(id, with: addition)
            // The first fast-path detection of an event not yet told about gets it judged at once.
            if fastPath, open?.event.isFastPath == false, open?.announced == false {
                try await enqueueJudgement(of: id, stage: .fastPath, jobs: jobs, now: now)
            }
            return Outcome(eventId: id, opened: false, fastPath: fastPath)
        case .open(let closing):
            if let closing, try await events.close(closing, at: now) {
                try await enqueueJudgement(of: closing, stage: .closed, jobs: jobs, now: now)
            }
            let id = UUIDv7Generator(now: { frameTime }).next()
            try await events.open(id: id, cameraId: cameraId, with: addition)
            if fastPath { try await enqueueJudgement(of: id, stage: .fastPath, jobs: jobs, now: now) }
            return Outcome(eventId: id, opened: true, fastPath: fastPath)
        }
    }

    static func enqueueJudgement(of eventId: UUID, stage: Stage, jobs: JobRepository, now: Date) async throws {
        // Fast-path judgements go first: someone may be at the door.
        try await jobs.enqueue(id: UUIDv7Generator(now: { now }).next(), type: .judgeEvent, queue: "events",
                               priority: stage == .fastPath ? 0 : 2,
                               payload: .object(["event_id": .string(eventId.uuidString.lowercased()), "stage": .string(stage.rawValue)]),
                               maxAttempts: 5, at: now)
    }
}
