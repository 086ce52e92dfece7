import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of users.
public struct UserRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// What signing in needs: the public user, the hash to check, the sealed TOTP secret, the role.
    public struct Credentials: Sendable {
        public var user: User
        public var passwordHash: String
        public var sealedMFASecret: String?
        public var permissions: PermissionMatrix
    }

    private static let columns = """
        u.id, u.username, u.email, r.name,
        ARRAY(SELECT usa.site_id FROM user_site_assignments usa WHERE usa.user_id = u.id ORDER BY usa.site_id),
        u.mfa_enabled, u.is_active, u.last_login, u.created_at, u.updated_at,
        u.password_hash, u.mfa_secret, r.permissions::text
        """

    public func exists() async throws -> Bool {
        let rows = try await connection.query("SELECT EXISTS (SELECT 1 FROM users)", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    public func create(id: UUID, username: String, email: String, passwordHash: String, roleId: UUID) async throws -> User {
        try await translatingErrors {
            try await connection.query("""
                INSERT INTO users (id, username, email, password_hash, role_id)
                VALUES (\(id), \(username), \(email), \(passwordHash), \(roleId))
                """, logger: logger)
            return try await credentials(id: id)!.user
        }
    }

    /// Finds a user by username or email, case-insensitively.
    public func credentials(login: String) async throws -> Credentials? {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM users u JOIN roles r ON r.id = u.role_id
            WHERE lower(u.username) = lower(\(login)) OR lower(u.email) = lower(\(login))
            LIMIT 1
            """, logger: logger)).first
    }

    public func credentials(id: UUID) async throws -> Credentials? {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM users u JOIN roles r ON r.id = u.role_id WHERE u.id = \(id)
            """, logger: logger)).first
    }

    /// Users in id order, one page, of those `viewer` may manage (``credentials(id:manageableBy:)``).
    public func list(page: PageRequest, manageableBy viewer: UUID?) async throws -> Page<User> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM users u JOIN roles r ON r.id = u.role_id
            WHERE (\(page.after)::uuid IS NULL OR u.id > \(page.after))
              AND (\(viewer)::uuid IS NULL OR u.id = \(viewer)
                   OR (r.name <> 'super_admin'
                       AND EXISTS (SELECT 1 FROM user_site_assignments usa WHERE usa.user_id = u.id)
                       AND NOT EXISTS (SELECT 1 FROM user_site_assignments usa
                                       WHERE usa.user_id = u.id AND NOT fn_user_sees_site(usa.site_id, \(viewer)))))
            ORDER BY u.id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows).map(\.user), limit: page.limit, id: \.id)
    }

    /// The user, if `viewer` may see and manage them: `nil` viewer (every site) may manage anyone;
    /// a viewer limited to some sites manages themselves and the users who are not super
    /// administrators and whose every site is one of the viewer's, never a user with more sites,
    /// nor one with none (whom only someone who sees every site may give sites to).
    public func credentials(id: UUID, manageableBy viewer: UUID?) async throws -> Credentials? {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM users u JOIN roles r ON r.id = u.role_id
            WHERE u.id = \(id)
              AND (\(viewer)::uuid IS NULL OR u.id = \(viewer)
                   OR (r.name <> 'super_admin'
                       AND EXISTS (SELECT 1 FROM user_site_assignments usa WHERE usa.user_id = u.id)
                       AND NOT EXISTS (SELECT 1 FROM user_site_assignments usa
                                       WHERE usa.user_id = u.id AND NOT fn_user_sees_site(usa.site_id, \(viewer)))))
            """, logger: logger)).first
    }

    /// Locks the user's row until the transaction ends, if `viewer` may manage them.
    public func lock(id: UUID, manageableBy viewer: UUID?) async throws -> Credentials? {
        try await connection.query("SELECT id FROM users WHERE id = \(id) FOR UPDATE", logger: logger)
        return try await credentials(id: id, manageableBy: viewer)
    }

    public func update(id: UUID, username: String, email: String, roleId: UUID, isActive: Bool) async throws {
        try await translatingErrors {
            try await connection.query("""
                UPDATE users SET username = \(username), email = \(email), role_id = \(roleId), is_active = \(isActive)
                WHERE id = \(id)
                """, logger: logger)
        }
    }

    /// Replaces the user's site assignments.
    /// The sites a user is assigned to.
    public func assignedSites(userId: UUID) async throws -> Set<UUID> {
        let rows = try await connection.query("SELECT site_id FROM user_site_assignments WHERE user_id = \(userId)", logger: logger)
        var sites: Set<UUID> = []
        for try await site in rows.decode(UUID.self) { sites.insert(site) }
        return sites
    }

    public func assignSites(userId: UUID, siteIds: [UUID]) async throws {
        try await translatingErrors {
            try await connection.query("DELETE FROM user_site_assignments WHERE user_id = \(userId)", logger: logger)
            for siteId in Set(siteIds) {
                try await connection.query(
                    "INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(userId), \(siteId))", logger: logger)
            }
        }
    }

    public func setPassword(id: UUID, hash: String) async throws {
        try await connection.query("UPDATE users SET password_hash = \(hash) WHERE id = \(id)", logger: logger)
    }

    /// Stores a sealed TOTP secret and whether sign-in requires it; `nil` clears both.
    public func setMFA(id: UUID, sealedSecret: String?, enabled: Bool) async throws {
        try await connection.query(
            "UPDATE users SET mfa_secret = \(sealedSecret), mfa_enabled = \(enabled) WHERE id = \(id)", logger: logger)
    }

    /// Records `step` as the user's last accepted two-factor step; false when a code of that step
    /// or a later one was already accepted (a replay).
    public func claimMFAStep(id: UUID, step: Int64) async throws -> Bool {
        let rows = try await connection.query("""
            UPDATE users SET mfa_last_step = \(step)
            WHERE id = \(id) AND (mfa_last_step IS NULL OR mfa_last_step < \(step))
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func delete(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM users WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// Active super administrators other than `excluding`, so the last one is never removed or disabled.
    public func otherActiveSuperAdmins(excluding id: UUID) async throws -> Int {
        let rows = try await connection.query("""
            SELECT count(*)::int8 FROM users u JOIN roles r ON r.id = u.role_id
            WHERE r.name = 'super_admin' AND u.is_active AND u.id <> \(id)
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    public func recordLogin(id: UUID, at time: Date) async throws {
        try await connection.query("UPDATE users SET last_login = \(time) WHERE id = \(id)", logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Credentials] {
        var users: [Credentials] = []
        for try await (id, username, email, role, siteIds, mfaEnabled, isActive, lastLogin, createdAt, updatedAt, hash, secret, permissions)
            in rows.decode((UUID, String, String, String, [UUID], Bool, Bool, Date?, Date, Date, String, String?, String).self) {
            users.append(Credentials(
                user: User(id: id, username: username, email: email, role: role, siteIds: siteIds, mfaEnabled: mfaEnabled,
                           isActive: isActive, lastLogin: lastLogin, createdAt: createdAt, updatedAt: updatedAt),
                passwordHash: hash, sealedMFASecret: secret,
                permissions: PermissionMatrix(json: try JSONValue(jsonText: permissions))))
        }
        return users
    }
}
