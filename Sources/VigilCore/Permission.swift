/// One thing a principal may do: `resource.action`, in seed 002's vocabulary (`cameras.write`,
/// `events.acknowledge`, `users.write`, ...).
public struct Permission: Hashable, Sendable, CustomStringConvertible, Codable {
    public let resource: String
    public let action: String

    public init(_ resource: String, _ action: String) {
        self.resource = resource
        self.action = action
    }

    /// Parses `resource.action`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(String(parts[0]), String(parts[1]))
    }

    public var description: String { "\(resource).\(action)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let permission = Permission(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected resource.action"))
        }
        self = permission
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // Seed 002's matrix, plus `ingest.write` for machines that push frames.
    public static let camerasRead = Permission("cameras", "read")
    public static let camerasWrite = Permission("cameras", "write")
    public static let camerasDelete = Permission("cameras", "delete")
    public static let sitesRead = Permission("sites", "read")
    public static let sitesWrite = Permission("sites", "write")
    public static let sitesDelete = Permission("sites", "delete")
    public static let usersRead = Permission("users", "read")
    public static let usersWrite = Permission("users", "write")
    public static let usersDelete = Permission("users", "delete")
    public static let auditRead = Permission("audit", "read")
    public static let systemRead = Permission("system", "read")
    public static let systemConfigure = Permission("system", "configure")
    public static let mediaRead = Permission("media", "read")
    public static let eventsRead = Permission("events", "read")
    /// Reviewing events: marking them reviewed, notes, feedback.
    public static let eventsAcknowledge = Permission("events", "acknowledge")
    public static let alertsRead = Permission("alerts", "read")
    /// Alert rules and notification channels.
    public static let alertsConfigure = Permission("alerts", "configure")
    /// The people gallery: persons, their faces, watchlists, and reviews of who an event shows.
    public static let personsRead = Permission("persons", "read")
    public static let personsWrite = Permission("persons", "write")
    public static let personsDelete = Permission("persons", "delete")
    /// Merging clusters of unknown faces and promoting them to persons.
    public static let personsMerge = Permission("persons", "merge")
    /// Recognition models: datasets and calibration runs (`trigger`), and putting a version in production (`approve`).
    public static let trainingRead = Permission("training", "read")
    public static let trainingTrigger = Permission("training", "trigger")
    public static let trainingApprove = Permission("training", "approve")
    /// Sending frames: cameras with their device token, and `api_client` keys.
    public static let ingestWrite = Permission("ingest", "write")
}

/// A role's permissions: seed 002's JSONB matrix `{"resource": {"action": true}}`.
public struct PermissionMatrix: Hashable, Sendable, Codable {
    public let granted: Set<Permission>

    public init(granted: Set<Permission>) {
        self.granted = granted
    }

    /// Reads the JSONB form; anything but `true` grants nothing.
    public init(json: JSONValue) {
        var granted = Set<Permission>()
        for (resource, actions) in json.objectValue ?? [:] {
            for (action, value) in actions.objectValue ?? [:] where value == .bool(true) {
                granted.insert(Permission(resource, action))
            }
        }
        self.granted = granted
    }

    public func allows(_ permission: Permission) -> Bool {
        granted.contains(permission)
    }

    /// Whether every permission of this matrix is also in `other`: a principal may hand out
    /// only a role it could act as itself.
    public func isSubset(of other: PermissionMatrix) -> Bool {
        granted.isSubset(of: other.granted)
    }

    public init(from decoder: any Decoder) throws {
        self.init(granted: Set(try decoder.singleValueContainer().decode([Permission].self)))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(granted.map(\.description).sorted())
    }
}
