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
        u.id, u.username, u.email, r.name, u.mfa_enabled, u.is_active, u.last_login, u.created_at, u.updated_at,
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

    public func recordLogin(id: UUID, at time: Date) async throws {
        try await connection.query("UPDATE users SET last_login = \(time) WHERE id = \(id)", logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Credentials] {
        var users: [Credentials] = []
        for try await (id, username, email, role, mfaEnabled, isActive, lastLogin, createdAt, updatedAt, hash, secret, permissions)
            in rows.decode((UUID, String, String, String, Bool, Bool, Date?, Date, Date, String, String?, String).self) {
            users.append(Credentials(
                user: User(id: id, username: username, email: email, role: role, mfaEnabled: mfaEnabled, isActive: isActive,
                           lastLogin: lastLogin, createdAt: createdAt, updatedAt: updatedAt),
                passwordHash: hash, sealedMFASecret: secret,
                permissions: PermissionMatrix(json: try JSONValue(jsonText: permissions))))
        }
        return users
    }
}
