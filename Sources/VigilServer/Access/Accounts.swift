import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// Creating users and API keys, shared by the command line and the API; each is audited in the
/// same transaction as the row it creates.
public enum Accounts {
    public struct Problems: Error, CustomStringConvertible {
        public let report: ValidationReport
        public var description: String { report.problems.map(\.description).joined(separator: "\n") }
    }

    /// Creates a user from `input` (whose password is required), with its site assignments;
    /// fails with ``Problems`` or a duplicate ``StoreError``.
    public static func createUser(_ input: UserInput, actor: String, database: Database, ids: UUIDv7Generator = UUIDv7Generator(),
                                  logger: Logger) async throws -> User {
        var report = input.validate()
        report.check(input.password != nil, "password", "is required")
        guard report.isValid, let password = input.password else { throw Problems(report: report) }
        let hash = try await Passwords.hash(password)
        let id = ids.next()
        return try await database.transaction { connection in
            guard let role = try await RoleRepository(connection, logger: logger).find(name: input.role) else {
                var report = ValidationReport()
                report.add("role", "no role '\(input.role)'")
                throw Problems(report: report)
            }
            let users = UserRepository(connection, logger: logger)
            _ = try await users.create(id: id, username: input.username, email: input.email, passwordHash: hash, roleId: role.id)
            try await users.assignSites(userId: id, siteIds: input.siteIds ?? [])
            try await AuditRepository(connection, logger: logger).record(
                AuditEntry(actor: actor, action: "user_created", resourceType: "user", resourceId: id.uuidString,
                           details: try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(input))),
                id: ids.next(), at: Date())
            return try await users.credentials(id: id)!.user
        }
    }

    /// A user and its password, as the command line and tests make them.
    public static func createUser(username: String, email: String, password: String, roleName: String, actor: String,
                                  database: Database, logger: Logger) async throws -> User {
        try await createUser(UserInput(username: username, email: email, password: password, role: roleName),
                             actor: actor, database: database, logger: logger)
    }

    /// Creates an API key with `roleName`; returns it with its text, which exists nowhere else afterwards.
    public static func createAPIKey(name: String, roleName: String, expiresAt: Date?, actor: String, createdBy: UUID?,
                                    database: Database, ids: UUIDv7Generator = UUIDv7Generator(),
                                    logger: Logger) async throws -> (key: APIKey, text: String) {
        var report = ValidationReport()
        report.check(!name.trimmingCharacters(in: .whitespaces).isEmpty && name.count <= 100, "name", "must be 1 to 100 characters")
        guard report.isValid else { throw Problems(report: report) }
        let text = APIKeyToken.generate()
        let id = ids.next()
        let key = try await database.transaction { connection in
            guard let role = try await RoleRepository(connection, logger: logger).find(name: roleName) else {
                var report = ValidationReport()
                report.add("role", "no role '\(roleName)'")
                throw Problems(report: report)
            }
            let key = try await APIKeyRepository(connection, logger: logger)
                .create(id: id, key: text, name: name, roleId: role.id, createdBy: createdBy, expiresAt: expiresAt)
            try await AuditRepository(connection, logger: logger).record(
                AuditEntry(actor: actor, action: "api_key_created", resourceType: "api_key", resourceId: id.uuidString,
                           details: .object(["name": .string(name), "role": .string(roleName), "key_prefix": .string(key.keyPrefix)])),
                id: ids.next(), at: Date())
            return key
        }
        return (key, text)
    }

    /// Revokes the key with this id or prefix, audited; `nil` when there is no such active key.
    public static func revokeAPIKey(reference: String, actor: String, database: Database,
                                    ids: UUIDv7Generator = UUIDv7Generator(), logger: Logger) async throws -> APIKey? {
        try await database.transaction { connection in
            guard let key = try await APIKeyRepository(connection, logger: logger).revoke(reference: reference, at: Date()) else {
                return nil
            }
            try await AuditRepository(connection, logger: logger).record(
                AuditEntry(actor: actor, action: "api_key_revoked", resourceType: "api_key", resourceId: key.id.uuidString,
                           details: .object(["name": .string(key.name), "key_prefix": .string(key.keyPrefix)])),
                id: ids.next(), at: Date())
            return key
        }
    }
}
