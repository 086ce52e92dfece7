import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A digital or network video recorder (seed 002 `dvrs`) that cameras may hang off.
public struct DVR: Codable, Hashable, Sendable {
    public var id: UUID
    public var siteId: UUID
    public var name: String
    public var brand: String?
    public var model: String?
    public var ipAddress: String
    public var ports: [String: Int]
    public var firmwareVersion: String?
    public var status: DeviceStatus
    public var lastSeen: Date?
    /// Whether encrypted credentials are stored; the credentials themselves never leave the server.
    public var hasCredentials: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, siteId: UUID, name: String, brand: String?, model: String?, ipAddress: String,
                ports: [String: Int], firmwareVersion: String?, status: DeviceStatus, lastSeen: Date?,
                hasCredentials: Bool, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.brand = brand
        self.model = model
        self.ipAddress = ipAddress
        self.ports = ports
        self.firmwareVersion = firmwareVersion
        self.status = status
        self.lastSeen = lastSeen
        self.hasCredentials = hasCredentials
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, brand, model, ports, status
        case siteId = "site_id"
        case ipAddress = "ip_address"
        case firmwareVersion = "firmware_version"
        case lastSeen = "last_seen"
        case hasCredentials = "has_credentials"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// What a client may set on a DVR.
public struct DVRInput: Codable, Hashable, Sendable, StrictInput {
    public var siteId: UUID?
    public var name: String
    public var brand: String?
    public var model: String?
    public var ipAddress: String
    public var ports: [String: Int]?
    public var firmwareVersion: String?
    public var status: DeviceStatus?
    /// Write-only: stored encrypted, never returned. Omitted from a patch, the stored value stays.
    public var username: String?
    /// Write-only: stored encrypted, never returned. Omitted from a patch, the stored value stays.
    public var password: String?

    public init(siteId: UUID? = nil, name: String, brand: String? = nil, model: String? = nil, ipAddress: String,
                ports: [String: Int]? = nil, firmwareVersion: String? = nil, status: DeviceStatus? = nil,
                username: String? = nil, password: String? = nil) {
        self.siteId = siteId
        self.name = name
        self.brand = brand
        self.model = model
        self.ipAddress = ipAddress
        self.ports = ports
        self.firmwareVersion = firmwareVersion
        self.status = status
        self.username = username
        self.password = password
    }

    /// The DVR's settings as an input; credentials are left out (they are never read back).
    public init(_ dvr: DVR) {
        self.init(siteId: dvr.siteId, name: dvr.name, brand: dvr.brand, model: dvr.model, ipAddress: dvr.ipAddress,
                  ports: dvr.ports, firmwareVersion: dvr.firmwareVersion, status: dvr.status)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, brand, model, ports, status, username, password
        case siteId = "site_id"
        case ipAddress = "ip_address"
        case firmwareVersion = "firmware_version"
    }

    /// The credential fields, which a patch replaces only when it names them.
    public static let credentialFields: Set<String> = ["username", "password"]

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 100)
        report.check((brand?.storedLength ?? 0) <= 50, "brand", "must be at most 50 characters")
        report.check((model?.storedLength ?? 0) <= 100, "model", "must be at most 100 characters")
        report.check((firmwareVersion?.storedLength ?? 0) <= 50, "firmware_version", "must be at most 50 characters")
        report.check((username?.storedLength ?? 0) <= 255, "username", "must be at most 255 characters")
        report.check((password?.storedLength ?? 0) <= 255, "password", "must be at most 255 characters")
        report.check(IPAddress.isValid(ipAddress), "ip_address", "'\(ipAddress)' is not an IPv4 or IPv6 address")
        for (name, port) in (ports ?? [:]).sorted(by: { $0.key < $1.key }) {
            report.check((1...65535).contains(port), "ports.\(name)", "must be a port number from 1 to 65535; got \(port)")
        }
        return report
    }
}

public enum IPAddress {
    /// Whether `text` is a literal IPv4 or IPv6 address.
    public static func isValid(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
