import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of sign-in sessions. Session ids are stored as their SHA-256, so a copy of the
/// database holds no session that could be replayed.
public struct SessionRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    static func hash(_ id: String) -> String {
        Digest.sha256Hex(Data(id.utf8))
    }

    /// Stores (or replaces) the session; `insertOnly` fails with ``StoreError/duplicate(constraint:)`` when it exists.
    public func store(id: String, data: String, expiresAt: Date?, insertOnly: Bool) async throws {
        try await translatingErrors {
            if insertOnly {
                try await connection.query("""
                    INSERT INTO sessions (id_hash, data, expires_at) VALUES (\(Self.hash(id)), \(data)::jsonb, \(expiresAt))
                    """, logger: logger)
            } else {
                try await connection.query("""
                    INSERT INTO sessions (id_hash, data, expires_at) VALUES (\(Self.hash(id)), \(data)::jsonb, \(expiresAt))
                    ON CONFLICT (id_hash) DO UPDATE SET data = EXCLUDED.data,
                        expires_at = COALESCE(EXCLUDED.expires_at, sessions.expires_at)
                    """, logger: logger)
            }
        }
    }

    /// The session's data and expiry, unless it has expired at `now`.
    public func load(id: String, now: Date) async throws -> (data: String, expiresAt: Date?)? {
        let rows = try await connection.query("""
            SELECT data::text, expires_at FROM sessions
            WHERE id_hash = \(Self.hash(id)) AND (expires_at IS NULL OR expires_at > \(now))
            """, logger: logger)
        for try await (data, expiresAt) in rows.decode((String, Date?).self) { return (data, expiresAt) }
        return nil
    }

    public func delete(id: String) async throws {
        try await connection.query("DELETE FROM sessions WHERE id_hash = \(Self.hash(id))", logger: logger)
    }

    /// Ends every session of a user (disabled, password changed).
    @discardableResult
    public func deleteAll(userId: UUID) async throws -> Int {
        let rows = try await connection.query("DELETE FROM sessions WHERE user_id = \(userId) RETURNING 1", logger: logger)
        var count = 0
        for try await _ in rows.decode(Int.self) { count += 1 }
        return count
    }

    public func deleteExpired(now: Date) async throws {
        try await connection.query("DELETE FROM sessions WHERE expires_at <= \(now)", logger: logger)
    }
}
