import Foundation
import Logging
import VigilCore
import VigilStore

/// Keeps a staging frame as an event frame (seed 004): a move to `events/...` plus row updates.
///
/// The move is a hard link, then the rows, then removing the staging name: a crash after the
/// link leaves an extra name no row points at (the retention sweep removes it), and a crash after
/// the commit leaves the old name likewise; at no point does a row name a missing file, and the
/// two names never hold different bytes.
struct FramePromotion: Sendable {
    let database: Database
    let media: any MediaStore
    let logger: Logger

    /// Event frames are kept this long unless the camera's `config.event_retention_days` says otherwise.
    static let defaultRetention: TimeInterval = 7 * 86_400

    /// How long the camera's event frames are kept.
    static func retention(of camera: Camera?) -> TimeInterval {
        guard let days = camera?.config.objectValue?["event_retention_days"]?.numberValue, days > 0 else { return defaultRetention }
        return days * 86_400
    }

    enum Outcome: Equatable, Sendable {
        case promoted(uri: String)
        /// Already an event frame.
        case alreadyKept(uri: String)
    }

    enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownCapture(UUID)
        /// Retention already deleted the frame.
        case discarded(UUID)

        var description: String {
            switch self {
            case .unknownCapture(let id): "no capture \(id)"
            case .discarded(let id): "capture \(id) was discarded by retention; its frame is gone"
            }
        }
    }

    func promote(captureId: UUID, eventId: UUID?, now: Date) async throws -> Outcome {
        let logger = self.logger
        guard let capture = try await database.read({ try await CaptureRepository($0, logger: logger).find(id: captureId) }) else {
            throw Failure.unknownCapture(captureId)
        }
        guard let stagingURI = capture.storageURI, capture.storageClass != "discarded" else { throw Failure.discarded(captureId) }
        if capture.storageClass == "event" { return .alreadyKept(uri: stagingURI) }
        let eventURI = try media.link(stagingURI, to: FileSystemMediaStore.eventPath(device: capture.deviceId, day: capture.receivedAt,
                                                                                   captureId: captureId))
        do {
            try await database.transaction { connection in
                let captures = CaptureRepository(connection, logger: logger)
                // Retention may have discarded the frame meanwhile; its lock on the row settles who wins.
                guard let current = try await captures.find(id: captureId, forUpdate: true), current.storageClass == "staging" else {
                    throw Failure.discarded(captureId)
                }
                let camera = try await CameraRepository(connection, logger: logger).find(id: capture.cameraId)
                try await captures.promote(current, to: eventURI, eventId: eventId,
                                           retentionUntil: now.addingTimeInterval(Self.retention(of: camera)))
            }
        } catch {
            try? media.remove(eventURI)
            throw error
        }
        try? media.remove(stagingURI)
        return .promoted(uri: eventURI)
    }
}
