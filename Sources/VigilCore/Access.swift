import Foundation

/// A role (seed 002 `roles`) with its permission matrix.
public struct Role: Codable, Hashable, Sendable {
    public var id: UUID
    public var name: String
    public var description: String?
    public var permissions: PermissionMatrix

    public init(id: UUID, name: String, description: String?, permissions: PermissionMatrix) {
        self.id = id
        self.name = name
        self.description = description
        self.permissions = permissions
    }

    /// Sees every site; the others see only the sites assigned to them.
    public static let superAdminName = "super_admin"
}

/// A person who signs in. The password hash and TOTP secret never leave the store.
public struct User: Codable, Hashable, Sendable {
    public var id: UUID
    public var username: String
    public var email: String
    public var role: String
    /// The sites the user may see; ignored for super administrators, who see all.
    public var siteIds: [UUID]
    public var mfaEnabled: Bool
    public var isActive: Bool
    public var lastLogin: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, username: String, email: String, role: String, siteIds: [UUID] = [], mfaEnabled: Bool, isActive: Bool,
                lastLogin: Date?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.username = username
        self.email = email
        self.role = role
        self.siteIds = siteIds
        self.mfaEnabled = mfaEnabled
        self.isActive = isActive
        self.lastLogin = lastLogin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, username, email, role
        case siteIds = "site_ids"
        case mfaEnabled = "mfa_enabled"
        case isActive = "is_active"
        case lastLogin = "last_login"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// An API key as listed: never the key itself, only the prefix that tells keys apart.
public struct APIKey: Codable, Hashable, Sendable {
    public var id: UUID
    public var name: String
    public var keyPrefix: String
    public var role: String
    public var isActive: Bool
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var expiresAt: Date?

    public init(id: UUID, name: String, keyPrefix: String, role: String, isActive: Bool, createdAt: Date,
                lastUsedAt: Date?, expiresAt: Date?) {
        self.id = id
        self.name = name
        self.keyPrefix = keyPrefix
        self.role = role
        self.isActive = isActive
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role
        case keyPrefix = "key_prefix"
        case isActive = "is_active"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case expiresAt = "expires_at"
    }
}

/// Which sites a principal may see.
public enum SiteScope: Hashable, Sendable {
    case allSites
    /// The sites assigned to this user (for an API key: to the user who created it).
    case assignedTo(userId: UUID)
}

/// Who is making a request: a signed-in user or an API key, with what its role allows.
public struct Principal: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case user
        case apiKey = "api_key"
        /// A camera pushing frames with its device token; it may only send frames of its own.
        case device
        /// A DeepStack or CodeProject.AI client with no key, from a network the operator opened
        /// to them (`VIGIL_DEEPSTACK_OPEN_TO`); it reaches the vision routes only.
        case network
    }

    public var kind: Kind
    public var id: UUID
    /// Username or key name, for audit lines.
    public var name: String
    public var role: String
    public var permissions: PermissionMatrix
    public var siteScope: SiteScope

    public init(kind: Kind, id: UUID, name: String, role: String, permissions: PermissionMatrix, siteScope: SiteScope) {
        self.kind = kind
        self.id = id
        self.name = name
        self.role = role
        self.permissions = permissions
        self.siteScope = siteScope
    }

    /// The `actor` of an audit row: `user:alice`, `api_key:front-door-esp32`.
    public var actor: String { "\(kind.rawValue):\(name)" }

    public func allows(_ permission: Permission) -> Bool {
        permissions.allows(permission)
    }
}

/// One audit row (seed 002 §12 plus seed 000's `actor` and `status`).
public struct AuditEntry: Hashable, Sendable {
    public enum Status: String, Codable, Sendable {
        case success, failure
    }

    public var actor: String
    public var userId: UUID?
    public var apiKeyId: UUID?
    public var action: String
    public var resourceType: String
    public var resourceId: String?
    public var details: JSONValue
    public var ipAddress: String?
    public var userAgent: String?
    public var status: Status

    public init(actor: String, userId: UUID? = nil, apiKeyId: UUID? = nil, action: String, resourceType: String,
                resourceId: String? = nil, details: JSONValue = .object([:]), ipAddress: String? = nil,
                userAgent: String? = nil, status: Status = .success) {
        self.actor = actor
        self.userId = userId
        self.apiKeyId = apiKeyId
        self.action = action
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.details = details
        self.ipAddress = ipAddress
        self.userAgent = userAgent
        self.status = status
    }

    /// Members whose values must never be written to the audit log.
    public static let redactedFields: Set<String> = [
        "password", "password_hash", "mfa_secret", "totp_code", "username_encrypted", "password_encrypted",
        "token", "key", "api_key", "secret", "credential",
    ]

    /// Members holding an address that may carry credentials (a camera's stream, a webhook):
    /// kept, with those credentials replaced by `***`.
    static let addressFields: Set<String> = ["rtsp_url", "snapshot_url", "url", "base_url"]

    /// `value` with every secret member (at any depth) replaced by `"[redacted]"`, and the
    /// credentials inside addresses by `***`.
    public static func redacting(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                if redactedFields.contains(key) {
                    result[key] = .string("[redacted]")
                } else if addressFields.contains(key), case .string(let address) = member {
                    result[key] = .string(StreamURL.redactingCredentials(address))
                } else {
                    result[key] = redacting(member)
                }
            }
            return .object(result)
        case .array(let items):
            return .array(items.map(redacting))
        default:
            return value
        }
    }
}

/// What an administrator may set on a user. The password is write-only.
public struct UserInput: Codable, Hashable, Sendable, StrictInput {
    public var username: String
    public var email: String
    public var password: String?
    public var role: String
    public var siteIds: [UUID]?
    public var isActive: Bool?

    public init(username: String, email: String, password: String? = nil, role: String, siteIds: [UUID]? = nil, isActive: Bool? = nil) {
        self.username = username
        self.email = email
        self.password = password
        self.role = role
        self.siteIds = siteIds
        self.isActive = isActive
    }

    /// The user's settings as an input; the password is left out (it is never read back).
    public init(_ user: User) {
        self.init(username: user.username, email: user.email, role: user.role, siteIds: user.siteIds, isActive: user.isActive)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case username, email, password, role
        case siteIds = "site_ids"
        case isActive = "is_active"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        report.check((3...50).contains(username.count) && username.allSatisfy { allowed.contains($0) },
                     "username", "must be 3 to 50 letters, digits, '.', '_' or '-'")
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        report.check(email.storedLength <= 255 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !email.contains(" "),
                     "email", "must be an email address")
        if let password {
            for problem in Self.passwordProblems(password) { report.add("password", problem) }
        }
        return report
    }

    /// What is wrong with a new password, if anything.
    public static func passwordProblems(_ password: String) -> [String] {
        var problems: [String] = []
        if password.count < 10 { problems.append("must be at least 10 characters") }
        if password.utf8.count > 72 { problems.append("must be at most 72 bytes (bcrypt reads no further)") }
        return problems
    }
}

/// What makes an API key: a name, the role it acts with, and how many days it lasts (none: until
/// it is revoked).
public struct APIKeyInput: StrictInput {
    public var name: String
    public var role: String
    public var expiresInDays: Int?

    public init(name: String, role: String, expiresInDays: Int? = nil) {
        self.name = name
        self.role = role
        self.expiresInDays = expiresInDays
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, role
        case expiresInDays = "expires_in_days"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 100)
        report.check(!role.isEmpty, "role", "is required")
        if let days = expiresInDays { report.check((1...3_650).contains(days), "expires_in_days", "must be from 1 to 3650") }
        return report
    }
}
