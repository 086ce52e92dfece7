import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of API keys. Keys are looked up by their SHA-256; the key itself is never stored.
public struct APIKeyRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Lower-case hex SHA-256 of a key, as stored in `api_keys.key_hash`.
    public static func hash(_ key: String) -> String {
        Digest.sha256Hex(Data(key.utf8))
    }

    private static let columns = """
        k.id, k.name, k.key_prefix, r.name, k.is_active, k.created_at, k.last_used_at, k.expires_at
        """

    public func create(id: UUID, key: String, name: String, roleId: UUID, createdBy: UUID?, expiresAt: Date?) async throws -> APIKey {
        try await connection.query("""
            INSERT INTO api_keys (id, key_hash, key_prefix, name, role_id, created_by, expires_at)
            VALUES (\(id), \(Self.hash(key)), \(APIKeyToken.displayPrefix(key)), \(name), \(roleId), \(createdBy), \(expiresAt))
            """, logger: logger)
        guard let key = try await find(id: id) else { throw StoreError.missingReference(constraint: "api_keys") }
        return key
    }

    public func find(id: UUID) async throws -> APIKey? {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM api_keys k JOIN roles r ON r.id = k.role_id WHERE k.id = \(id)
            """, logger: logger)).first
    }

    /// The keys, oldest first; with `createdBy`, only those that user made.
    public func list(createdBy: UUID? = nil) async throws -> [APIKey] {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM api_keys k JOIN roles r ON r.id = k.role_id
            WHERE \(createdBy)::uuid IS NULL OR k.created_by = \(createdBy)
            ORDER BY k.created_at
            """, logger: logger))
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [APIKey] {
        var keys: [APIKey] = []
        for try await (id, name, prefix, role, isActive, createdAt, lastUsedAt, expiresAt)
            in rows.decode((UUID, String, String, String, Bool, Date, Date?, Date?).self) {
            keys.append(APIKey(id: id, name: name, keyPrefix: prefix, role: role, isActive: isActive, createdAt: createdAt,
                               lastUsedAt: lastUsedAt, expiresAt: expiresAt))
        }
        return keys
    }

    /// The key's principal when the key exists, is active and has not expired at `now`; marks it used.
    ///
    /// A key sees the sites of the user who created it (all of them for a super administrator);
    /// a key made on the command line, by the machine's administrator, sees every site. A key
    /// whose creator has been disabled stops working.
    public func authenticate(key: String, now: Date) async throws -> Principal? {
        let hash = Self.hash(key)
        let rows = try await connection.query("""
            SELECT k.id, k.name, r.name, r.permissions::text, k.created_by, cr.name, cu.is_active, k.last_used_at
            FROM api_keys k
            JOIN roles r ON r.id = k.role_id
            LEFT JOIN users cu ON cu.id = k.created_by
            LEFT JOIN roles cr ON cr.id = cu.role_id
            WHERE k.key_hash = \(hash) AND k.is_active AND (k.expires_at IS NULL OR k.expires_at > \(now))
            """, logger: logger)
        for try await (id, name, role, permissions, createdBy, creatorRole, creatorActive, lastUsedAt)
            in rows.decode((UUID, String, String, String, UUID?, String?, Bool?, Date?).self) {
            let scope: SiteScope
            if let createdBy {
                guard creatorActive == true else { return nil }
                scope = creatorRole == Role.superAdminName ? .allSites : .assignedTo(userId: createdBy)
            } else {
                scope = .allSites
            }
            // A busy key would otherwise write its row on every request; a minute's precision is enough.
            if lastUsedAt.map({ now.timeIntervalSince($0) >= Self.lastUsedPrecision }) ?? true {
                try await connection.query("UPDATE api_keys SET last_used_at = \(now) WHERE id = \(id)", logger: logger)
            }
            return Principal(kind: .apiKey, id: id, name: name, role: role,
                             permissions: PermissionMatrix(json: try JSONValue(jsonText: permissions)), siteScope: scope)
        }
        return nil
    }

    /// How stale `last_used_at` may be before a request refreshes it.
    static let lastUsedPrecision: TimeInterval = 60

    /// Revokes the key with this id or display prefix; returns the revoked key, or nil when none matches.
    public func revoke(reference: String, at time: Date) async throws -> APIKey? {
        let id = UUID(uuidString: reference)
        let rows = try await connection.query("""
            UPDATE api_keys SET is_active = FALSE, revoked_at = \(time)
            WHERE is_active AND (id = \(id) OR key_prefix = \(reference))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(UUID.self) { return try await find(id: id) }
        return nil
    }
}
