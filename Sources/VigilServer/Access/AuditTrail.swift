import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// Writes audit rows for a request: who (principal), from where (address, user agent), what.
struct AuditTrail: Sendable {
    let ids: UUIDv7Generator
    let now: @Sendable () -> Date

    /// Records `entry` on `connection`, inside the caller's transaction, filling in the caller's
    /// identity and address where the entry leaves them out.
    func record(_ entry: AuditEntry, context: VigilRequestContext, on connection: PostgresConnection) async throws {
        var entry = entry
        if let principal = context.principal {
            if entry.actor.isEmpty { entry.actor = principal.actor }
            switch principal.kind {
            case .user: entry.userId = entry.userId ?? principal.id
            case .apiKey: entry.apiKeyId = entry.apiKeyId ?? principal.id
            case .device: break
            }
        }
        if entry.actor.isEmpty { entry.actor = "anonymous" }
        entry.ipAddress = entry.ipAddress ?? context.remoteAddress
        entry.userAgent = entry.userAgent ?? context.userAgent
        try await AuditRepository(connection, logger: context.logger).record(entry, id: ids.next(), at: now())
    }

    /// An entry about a change made by the caller: `camera_created` on `camera` `<id>`.
    static func change(_ action: String, _ resourceType: String, _ resourceId: String?, details: JSONValue = .object([:])) -> AuditEntry {
        AuditEntry(actor: "", action: action, resourceType: resourceType, resourceId: resourceId, details: details)
    }
}

extension StrictInput {
    /// The input as audit details; secret members are redacted when the row is written.
    func auditDetails() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try APIJSON.encoder.encode(self))
    }
}

extension JSONValue {
    /// The members a patch changed, as audit details (`{"changed": {...}}`); secrets are redacted when written.
    static func changedFields(_ patch: [String: JSONValue]) -> JSONValue {
        .object(["changed": .object(patch)])
    }
}
