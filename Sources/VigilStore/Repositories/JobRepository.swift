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
        try await connection.query("""
            INSERT INTO jobs (id, job_type, queue_name, priority, payload, max_attempts)
            VALUES (\(id), \(type.rawValue), \(queue), \(priority), \(try payload.jsonText())::jsonb, \(maxAttempts))
            """, logger: logger)
        try await connection.query("""
            INSERT INTO job_transitions (job_id, from_status, to_status, triggered_by) VALUES (\(id), 'new', 'queued', 'system')
            """, logger: logger)
        try await connection.query("SELECT pg_notify('vigil_jobs', \(queue))", logger: logger)
    }
}
