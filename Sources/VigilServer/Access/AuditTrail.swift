import Foundation
import Logging
import PostgresNIO
import Synchronization
import VigilCore
import VigilStore

/// Writes audit rows for a request: who (principal), from where (address, user agent), what.
struct AuditTrail: Sendable {
    let ids: UUIDv7Generator
    let now: @Sendable () -> Date
    /// Which repeated refusals get a row (``recordSampled(_:source:context:database:)``).
    let sampling = AuditSampling()

    /// Records `entry` on `connection`, inside the caller's transaction, filling in the caller's
    /// identity and address where the entry leaves them out.
    func record(_ entry: AuditEntry, context: VigilRequestContext, on connection: PostgresConnection) async throws {
        var entry = entry
        if let principal = context.principal {
            if entry.actor.isEmpty { entry.actor = principal.actor }
            switch principal.kind {
            case .user: entry.userId = entry.userId ?? principal.id
            case .apiKey: entry.apiKeyId = entry.apiKeyId ?? principal.id
            case .device, .network: break
            }
        }
        if entry.actor.isEmpty { entry.actor = "anonymous" }
        entry.ipAddress = entry.ipAddress ?? context.remoteAddress
        entry.userAgent = entry.userAgent ?? context.userAgent
        try await AuditRepository(connection, logger: context.logger).record(entry, id: ids.next(), at: now())
    }

    /// Records a refusal (or a key-less call) at most once a minute per source address and action,
    /// in a transaction of its own; the row's `details.count` says how many it stands for.
    func recordSampled(_ entry: AuditEntry, context: VigilRequestContext, database: Database, reason: String = "") async throws {
        // Not the resource: guesses that vary the key or the name must not each earn a row.
        let key = "\(context.remoteAddress ?? "-") \(entry.action) \(reason)"
        guard let count = sampling.record(key, at: now()) else { return }
        var entry = entry
        if case .object(var details) = entry.details {
            details["count"] = .number(Double(count))
            entry.details = .object(details)
        }
        let row = entry
        try await database.transaction { connection in
            try await record(row, context: context, on: connection)
        }
    }

    /// An entry about a change made by the caller: `camera_created` on `camera` `<id>`.
    static func change(_ action: String, _ resourceType: String, _ resourceId: String?, details: JSONValue = .object([:])) -> AuditEntry {
        AuditEntry(actor: "", action: action, resourceType: resourceType, resourceId: resourceId, details: details)
    }
}

extension StrictInput {
    /// The input as audit details; secret members are redacted when the row is written.
    func auditDetails() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try APIJSON.encode(self))
    }
}

extension JSONValue {
    /// The members a patch changed, as audit details (`{"changed": {...}}`); secrets are redacted when written.
    static func changedFields(_ patch: [String: JSONValue]) -> JSONValue {
        .object(["changed": .object(patch)])
    }
}

/// The one ``AuditSampler`` of a process, shared by the routes that audit refusals.
final class AuditSampling: Sendable {
    private let sampler = Mutex(AuditSampler())

    func record(_ key: String, at now: Date) -> Int? {
        sampler.withLock { $0.record(key, at: now) }
    }
}
