import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of review actions (seed 002 §12): who said what an event shows, and when.
public struct ReviewRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    static let columns = "id, event_id, reviewer_id, action, from_person_id, to_person_id, face_embedding_id, notes, created_at"

    func decode(_ rows: PostgresRowSequence) async throws -> [ReviewRecord] {
        var found: [ReviewRecord] = []
        for try await (id, event, reviewer, action, from, to, face, notes, created)
            in rows.decode((UUID, UUID, UUID?, String, UUID?, UUID?, UUID?, String?, Date).self) {
            found.append(ReviewRecord(id: id, eventId: event, reviewerId: reviewer, action: ReviewAction(rawValue: action) ?? .confirm,
                                      fromPersonId: from, toPersonId: to, faceId: face, notes: notes, createdAt: created))
        }
        return found
    }

    public func record(id: UUID, eventId: UUID, cameraId: UUID, reviewerId: UUID?, action: ReviewAction, from: UUID?, to: UUID?,
                       faceId: UUID?, notes: String?, at time: Date) async throws -> ReviewRecord {
        let rows = try await connection.query("""
            INSERT INTO review_actions (id, event_id, camera_id, reviewer_id, action, from_person_id, to_person_id, face_embedding_id, notes,
                                        created_at)
            VALUES (\(id), \(eventId), \(cameraId), \(reviewerId), \(action.rawValue), \(from), \(to), \(faceId), \(notes), \(time))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        return try await decode(rows)[0]
    }

    public func list(eventId: UUID) async throws -> [ReviewRecord] {
        try await decode(try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM review_actions WHERE event_id = \(eventId) ORDER BY created_at, id", logger: logger))
    }
}
