import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of failed-login counters, keyed `account:<login>` and `address:<ip>`.
public struct LoginThrottleRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Reserves one attempt on every key before the password is checked, or says until when they
    /// are blocked. The reservation counts as a failure (a success resets it afterwards), and each
    /// key's row stays locked until the caller's transaction ends, so attempts made at once are
    /// counted one after the other: parallel guesses are throttled exactly like serial ones.
    public func reserve(keys: [String], policy: LoginThrottlePolicy, now: Date) async throws -> Date? {
        var blockedUntil: Date?
        var counted: [(key: String, failures: Int)] = []
        // Always in the same order, so two reservations never wait for each other's locks.
        for key in keys.sorted() {
            let rows = try await connection.query("""
                INSERT INTO login_throttles (key, failures, updated_at) VALUES (\(key), 0, \(now))
                ON CONFLICT (key) DO UPDATE SET updated_at = login_throttles.updated_at
                RETURNING failures, blocked_until
                """, logger: logger)
            for try await (failures, until) in rows.decode((Int, Date?).self) {
                counted.append((key, failures))
                if let until, until > now { blockedUntil = max(blockedUntil ?? until, until) }
            }
        }
        if let blockedUntil { return blockedUntil }
        // The rows are locked: count this attempt and block as the policy says, in one write each.
        for (key, failures) in counted {
            let until = policy.blockedUntil(afterFailures: failures + 1, now: now)
            try await connection.query("""
                UPDATE login_throttles SET failures = \(failures + 1), blocked_until = \(until), updated_at = \(now)
                WHERE key = \(key)
                """, logger: logger)
        }
        return nil
    }

    /// Forgets counters that block nothing any more and were last touched before `cutoff`.
    @discardableResult
    public func purge(before cutoff: Date, now: Date) async throws -> Int {
        let rows = try await connection.query("""
            DELETE FROM login_throttles WHERE updated_at < \(cutoff) AND (blocked_until IS NULL OR blocked_until < \(now))
            RETURNING 1
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    public func reset(keys: [String]) async throws {
        try await connection.query("DELETE FROM login_throttles WHERE key = ANY(\(keys))", logger: logger)
    }
}
