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

    /// The latest time until which any of `keys` is blocked, if one is blocked at `now`.
    public func blockedUntil(keys: [String], now: Date) async throws -> Date? {
        let rows = try await connection.query("""
            SELECT max(blocked_until) FROM login_throttles WHERE key = ANY(\(keys)) AND blocked_until > \(now)
            """, logger: logger)
        for try await until in rows.decode(Date?.self) { return until }
        return nil
    }

    /// Counts one more failure on each key and blocks it as `policy` says.
    public func recordFailure(keys: [String], policy: LoginThrottlePolicy, now: Date) async throws {
        for key in keys {
            let rows = try await connection.query("""
                INSERT INTO login_throttles (key, failures, updated_at) VALUES (\(key), 1, \(now))
                ON CONFLICT (key) DO UPDATE SET failures = login_throttles.failures + 1, updated_at = EXCLUDED.updated_at
                RETURNING failures
                """, logger: logger)
            for try await failures in rows.decode(Int.self) {
                if let until = policy.blockedUntil(afterFailures: failures, now: now) {
                    try await connection.query(
                        "UPDATE login_throttles SET blocked_until = \(until) WHERE key = \(key)", logger: logger)
                }
            }
        }
    }

    public func reset(keys: [String]) async throws {
        try await connection.query("DELETE FROM login_throttles WHERE key = ANY(\(keys))", logger: logger)
    }
}
