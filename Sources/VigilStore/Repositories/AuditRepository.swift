import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of the audit log. Rows are written on the caller's connection, so a change and its
/// audit row commit or roll back together.
public struct AuditRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public struct Row: Codable, Sendable, Hashable {
        public var id: UUID
        public var timestamp: Date
        public var actor: String
        public var userId: UUID?
        public var apiKeyId: UUID?
        public var action: String
        public var resourceType: String
        public var resourceId: String?
        public var details: JSONValue
        public var ipAddress: String?
        public var userAgent: String?
        public var status: String

        enum CodingKeys: String, CodingKey {
            case id, timestamp, actor, action, details, status
            case userId = "user_id"
            case apiKeyId = "api_key_id"
            case resourceType = "resource_type"
            case resourceId = "resource_id"
            case ipAddress = "ip_address"
            case userAgent = "user_agent"
        }
    }

    public struct Filter: Sendable {
        public var actor: String?
        public var action: String?
        public var resourceType: String?
        public var resourceId: String?
        public var from: Date?
        public var until: Date?

        public init(actor: String? = nil, action: String? = nil, resourceType: String? = nil, resourceId: String? = nil,
                    from: Date? = nil, until: Date? = nil) {
            self.actor = actor
            self.action = action
            self.resourceType = resourceType
            self.resourceId = resourceId
            self.from = from
            self.until = until
        }
    }

    /// Writes `entry` with secrets in its details redacted.
    public func record(_ entry: AuditEntry, id: UUID, at time: Date) async throws {
        let details = try AuditEntry.redacting(entry.details).jsonText()
        try await connection.query("""
            INSERT INTO audit_logs (id, timestamp, user_id, api_key_id, actor, action, resource_type, resource_id, details,
                                    ip_address, user_agent, status)
            VALUES (\(id), \(time), \(entry.userId), \(entry.apiKeyId), \(String(entry.actor.prefix(100))), \(entry.action),
                    \(entry.resourceType), \(entry.resourceId.map(Self.canonicalId)), \(details)::jsonb, \(entry.ipAddress)::inet,
                    \(entry.userAgent.map { String($0.prefix(1000)) }), \(entry.status.rawValue))
            """, logger: logger)
    }

    /// A resource id as rows keep it: a UUID in lower case (RFC 9562's form), whatever case it was
    /// written or asked for in; any other reference (a key prefix, a slug) as it is.
    static func canonicalId(_ reference: String) -> String {
        UUID(uuidString: reference) != nil ? reference.lowercased() : reference
    }

    /// Newest first; the cursor is the last row's id (UUIDv7, so time-ordered).
    public func list(_ filter: Filter, before cursor: UUID?, limit: Int) async throws -> Page<Row> {
        let rows = try await connection.query("""
            SELECT id, timestamp, actor, user_id, api_key_id, action, resource_type, resource_id, details::text,
                   host(ip_address), user_agent, status
            FROM audit_logs
            WHERE (\(cursor)::uuid IS NULL OR id < \(cursor))
              AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor))
              AND (\(filter.action)::text IS NULL OR action = \(filter.action))
              AND (\(filter.resourceType)::text IS NULL OR resource_type = \(filter.resourceType))
              AND (\(filter.resourceId)::text IS NULL OR resource_id = \(filter.resourceId.map(Self.canonicalId)))
              AND (\(filter.from)::timestamptz IS NULL OR timestamp >= \(filter.from))
              AND (\(filter.until)::timestamptz IS NULL OR timestamp < \(filter.until))
            ORDER BY id DESC LIMIT \(limit + 1)
            """, logger: logger)
        var result: [Row] = []
        for try await (id, timestamp, actor, userId, apiKeyId, action, resourceType, resourceId, details, ip, agent, status)
            in rows.decode((UUID, Date, String, UUID?, UUID?, String, String, String?, String, String?, String?, String).self) {
            result.append(Row(id: id, timestamp: timestamp, actor: actor, userId: userId, apiKeyId: apiKeyId, action: action,
                              resourceType: resourceType, resourceId: resourceId, details: try JSONValue(jsonText: details),
                              ipAddress: ip, userAgent: agent, status: status))
        }
        return Page(rows: result, limit: limit, id: \.id)
    }
}
