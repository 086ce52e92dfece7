import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of the durable job queue (seed 001).
public struct JobRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Job types Vigil queues.
    public enum JobType: String, Sendable {
        case analyzeCapture = "analyze_capture"
    }

    /// Queues a job in the caller's transaction, with its first transition recorded.
    public func enqueue(id: UUID, type: JobType, queue: String, priority: Int = 2, payload: JSONValue,
                        maxAttempts: Int = 3) async throws {
        try await enqueue([NewJob(id: id, type: type, queue: queue, priority: priority, payload: payload, maxAttempts: maxAttempts)])
    }

    /// A job to queue with others in one statement.
    public struct NewJob: Sendable, Encodable {
        public var id: UUID
        public var type: String
        public var queue: String
        public var priority: Int
        public var payload: JSONValue
        public var maxAttempts: Int

        public init(id: UUID, type: JobType, queue: String, priority: Int = 2, payload: JSONValue, maxAttempts: Int = 3) {
            self.id = id
            self.type = type.rawValue
            self.queue = queue
            self.priority = priority
            self.payload = payload
            self.maxAttempts = maxAttempts
        }

        enum CodingKeys: String, CodingKey {
            case id, type, queue, priority, payload, maxAttempts = "max_attempts"
        }
    }

    /// Queues jobs in the caller's transaction, each with its first transition recorded, and wakes
    /// the workers of each queue once.
    public func enqueue(_ jobs: [NewJob]) async throws {
        guard !jobs.isEmpty else { return }
        try await connection.query("""
            WITH f AS (
                SELECT * FROM jsonb_to_recordset(\(try jobs.jsonText())::jsonb)
                    AS f(id uuid, type text, queue text, priority int4, payload jsonb, max_attempts int4)
            ), new_jobs AS (
                INSERT INTO jobs (id, job_type, queue_name, priority, payload, max_attempts)
                SELECT id, type, queue, priority, payload, max_attempts FROM f
            ), new_transitions AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, triggered_by)
                SELECT id, 'new', 'queued', 'system' FROM f
            )
            SELECT pg_notify('vigil_jobs', queue) FROM (SELECT DISTINCT queue FROM f) q
            """, logger: logger)
    }
}
