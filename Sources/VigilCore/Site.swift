import Foundation

/// A physical location (seed 002 `sites`). Its time zone decides what "after hours" means there.
public struct Site: Codable, Hashable, Sendable {
    public var id: UUID
    public var name: String
    public var address: String?
    public var timezone: String
    public var vpnConfig: JSONValue?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, name: String, address: String?, timezone: String, vpnConfig: JSONValue?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.address = address
        self.timezone = timezone
        self.vpnConfig = vpnConfig
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, address, timezone
        case vpnConfig = "vpn_config"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// What a client may set on a site.
public struct SiteInput: Codable, Hashable, Sendable, StrictInput {
    public var name: String
    public var address: String?
    public var timezone: String?
    public var vpnConfig: JSONValue?

    public init(name: String, address: String? = nil, timezone: String? = nil, vpnConfig: JSONValue? = nil) {
        self.name = name
        self.address = address
        self.timezone = timezone
        self.vpnConfig = vpnConfig
    }

    public init(_ site: Site) {
        self.init(name: site.name, address: site.address, timezone: site.timezone, vpnConfig: site.vpnConfig)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, address, timezone
        case vpnConfig = "vpn_config"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public var resolvedTimezone: String { timezone ?? "UTC" }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 100)
        report.check((address?.storedLength ?? 0) <= 2000, "address", "must be at most 2000 characters")
        report.check(TimeZone(identifier: resolvedTimezone) != nil, "timezone",
                     "'\(resolvedTimezone)' is not a known IANA time zone (for example Europe/London)")
        if let vpnConfig {
            report.check(vpnConfig.objectValue != nil, "vpn_config", "must be a JSON object")
        }
        return report
    }
}

/// An input type that rejects members it does not know, so a misspelt field is an error, not a silent no-op.
public protocol StrictInput: Codable, Sendable {
    static var fieldNames: [String] { get }
    func validate() -> ValidationReport
}

extension ValidationReport {
    mutating func checkName(_ name: String, field: String, maxLength: Int) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        check(!trimmed.isEmpty, field, "must not be empty")
        check(name.storedLength <= maxLength, field, "must be at most \(maxLength) characters")
        check(trimmed == name, field, "must not start or end with spaces")
    }
}
