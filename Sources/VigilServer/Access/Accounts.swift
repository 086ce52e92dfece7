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

    /// Every problem with a new user's fields.
    public static func validate(username: String, email: String, password: String) -> ValidationReport {
        var report = ValidationReport()
        let usernameCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        report.check((3...50).contains(username.count) && username.unicodeScalars.allSatisfy { $0.isASCII && usernameCharacters.contains($0) },
                     "username", "must be 3 to 50 letters, digits, '.', '_' or '-'")
        let at = email.firstIndex(of: "@")
        report.check(email.count <= 255 && at != nil && email[email.index(after: at!)...].contains(".") && !email.hasPrefix("@")
                     && !email.contains(" "), "email", "must be an email address")
        for problem in Passwords.problems(with: password) { report.add("password", problem) }
        return report
    }

    /// Creates a user with `roleName`; fails with ``Problems`` or a duplicate ``StoreError``.
    public static func createUser(username: String, email: String, password: String, roleName: String, actor: String,
                                  database: Database, ids: UUIDv7Generator = UUIDv7Generator(), logger: Logger) async throws -> User {
        let report = validate(username: username, email: email, password: password)
        guard report.isValid else { throw Problems(report: report) }
        let hash = try await Passwords.hash(password)
        let id = ids.next()
        return try await database.transaction { connection in
            guard let role = try await RoleRepository(connection, logger: logger).find(name: roleName) else {
                var report = ValidationReport()
                report.add("role", "no role '\(roleName)'")
                throw Problems(report: report)
            }
            let user = try await UserRepository(connection, logger: logger)
                .create(id: id, username: username, email: email, passwordHash: hash, roleId: role.id)
            try await AuditRepository(connection, logger: logger).record(
                AuditEntry(actor: actor, action: "user_created", resourceType: "user", resourceId: id.uuidString,
                           details: .object(["username": .string(username), "email": .string(email), "role": .string(roleName)])),
                id: ids.next(), at: Date())
            return user
        }
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
