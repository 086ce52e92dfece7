import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of alert rules.
public struct AlertRuleRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    private static let columns = """
        id, name, description, enabled, severity, risk_threshold::int8, event_types, object_types, camera_ids, zone_ids, activity_types,
        min_confidence::float8, schedule::text, quiet_hours::text, dedup_key_template, cooldown_seconds::int8, channel_ids, builtin,
        created_by, created_at, updated_at, person_ids, person_statuses, watchlist_ids, site_id
        """

    /// The rules, by name; only the enabled ones when `enabledOnly`.
    public func list(enabledOnly: Bool = false) async throws -> [AlertRule] {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM alert_rules WHERE (\(enabledOnly) = FALSE OR enabled) ORDER BY name, id
            """, logger: logger)
        return try await decode(rows)
    }

    public func find(id: UUID, forUpdate: Bool = false) async throws -> AlertRule? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM alert_rules WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    /// The ids among those an input names that do not exist (or that the caller cannot see), by
    /// field. A rule of one site names only that site's cameras and zones, and channels of that
    /// site or of every site.
    public func missingReferences(_ input: AlertRuleInput) async throws -> [String: [UUID]] {
        let rows = try await connection.query("""
            SELECT 'camera_ids'::text, wanted.id FROM unnest(\(input.cameraIds ?? [])::uuid[]) AS wanted(id)
                WHERE NOT EXISTS (SELECT 1 FROM cameras c WHERE c.id = wanted.id
                                  AND (\(input.siteId)::uuid IS NULL OR c.site_id = \(input.siteId)))
            UNION ALL
            SELECT 'zone_ids'::text, wanted.id FROM unnest(\(input.zoneIds ?? [])::uuid[]) AS wanted(id)
                WHERE NOT EXISTS (SELECT 1 FROM camera_zones z JOIN cameras c ON c.id = z.camera_id WHERE z.id = wanted.id
                                  AND (\(input.siteId)::uuid IS NULL OR c.site_id = \(input.siteId)))
            UNION ALL
            SELECT 'channel_ids'::text, wanted.id FROM unnest(\(input.channelIds ?? [])::uuid[]) AS wanted(id)
                WHERE NOT EXISTS (SELECT 1 FROM notification_channels n WHERE n.id = wanted.id
                                  AND (n.site_id IS NULL OR n.site_id = \(input.siteId)))
            UNION ALL
            SELECT 'person_ids'::text, wanted.id FROM unnest(\(input.personIds ?? [])::uuid[]) AS wanted(id)
                WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = wanted.id)
            UNION ALL
            SELECT 'watchlist_ids'::text, wanted.id FROM unnest(\(input.watchlistIds ?? [])::uuid[]) AS wanted(id)
                WHERE NOT EXISTS (SELECT 1 FROM watchlists w WHERE w.id = wanted.id)
            """, logger: logger)
        var missing: [String: [UUID]] = [:]
        for try await (field, id) in rows.decode((String, UUID).self) { missing[field, default: []].append(id) }
        return missing
    }

    /// Stores a new rule: `AlertRule(id:name:...).replacing(with: input)` with its author.
    public func create(_ rule: AlertRule) async throws -> AlertRule {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO alert_rules (id, name, description, enabled, severity, risk_threshold, event_types, object_types, camera_ids,
                                         zone_ids, activity_types, min_confidence, schedule, quiet_hours, dedup_key_template,
                                         cooldown_seconds, channel_ids, created_by, person_ids, person_statuses, watchlist_ids, site_id)
                VALUES (\(rule.id), \(rule.name), \(rule.description), \(rule.enabled), \(rule.severity?.rawValue), \(rule.riskThreshold),
                        \(rule.eventTypes.map(\.rawValue)), \(rule.objectTypes), \(rule.cameraIds), \(rule.zoneIds),
                        \(rule.activityTypes.map(\.rawValue)), \(rule.minConfidence), \(try Self.json(rule.schedule))::jsonb,
                        \(try Self.json(rule.quietHours))::jsonb, \(rule.dedupKeyTemplate), \(rule.cooldownSeconds), \(rule.channelIds),
                        \(rule.createdBy), \(rule.personIds), \(rule.personStatuses.map(\.rawValue)), \(rule.watchlistIds), \(rule.siteId))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    /// Writes every condition of `rule` over the stored one; nil when it does not exist.
    public func update(_ rule: AlertRule) async throws -> AlertRule? {
        try await translatingErrors {
            let rows = try await connection.query("""
                UPDATE alert_rules SET
                    name = \(rule.name), description = \(rule.description), enabled = \(rule.enabled), severity = \(rule.severity?.rawValue),
                    risk_threshold = \(rule.riskThreshold), event_types = \(rule.eventTypes.map(\.rawValue)), object_types = \(rule.objectTypes),
                    camera_ids = \(rule.cameraIds), zone_ids = \(rule.zoneIds), activity_types = \(rule.activityTypes.map(\.rawValue)),
                    min_confidence = \(rule.minConfidence), schedule = \(try Self.json(rule.schedule))::jsonb,
                    quiet_hours = \(try Self.json(rule.quietHours))::jsonb, dedup_key_template = \(rule.dedupKeyTemplate),
                    cooldown_seconds = \(rule.cooldownSeconds), channel_ids = \(rule.channelIds), person_ids = \(rule.personIds),
                    person_statuses = \(rule.personStatuses.map(\.rawValue)), watchlist_ids = \(rule.watchlistIds),
                    site_id = \(rule.siteId)
                WHERE id = \(rule.id)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    /// Deletes a rule Vigil did not install; false when there is no such rule.
    public func delete(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM alert_rules WHERE id = \(id) AND builtin IS NULL RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    private static func json(_ value: JSONValue?) throws -> String? {
        guard let value, value != .null else { return nil }
        return try value.jsonText()
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [AlertRule] {
        var rules: [AlertRule] = []
        for try await (id, name, description, enabled, severity, risk, eventTypes, objectTypes, cameras, zones, activities, confidence,
                       schedule, quiet, dedup, cooldown, channels, builtin, createdBy, created, updated, persons, statuses, watchlists, site)
            in rows.decode((UUID, String, String?, Bool, String?, Int64?, [String], [String], [UUID], [UUID], [String], Double?, String?,
                            String?, String, Int64, [UUID], String?, UUID?, Date, Date, [UUID], [String], [UUID], UUID?).self) {
            rules.append(AlertRule(
                id: id, siteId: site, name: name, description: description, enabled: enabled, severity: severity.flatMap(Severity.init(rawValue:)),
                riskThreshold: risk.map(Int.init), eventTypes: eventTypes.compactMap(EventType.init(rawValue:)), objectTypes: objectTypes,
                cameraIds: cameras, zoneIds: zones, activityTypes: activities.compactMap(ActivityType.init(rawValue:)),
                personIds: persons, personStatuses: statuses.compactMap(PersonStatus.init(rawValue:)), watchlistIds: watchlists,
                minConfidence: confidence.map { ($0 * 1000).rounded() / 1000 }, schedule: try schedule.map(JSONValue.init(jsonText:)),
                quietHours: try quiet.map(JSONValue.init(jsonText:)), dedupKeyTemplate: dedup, cooldownSeconds: Int(cooldown),
                channelIds: channels, builtin: builtin, createdBy: createdBy, createdAt: created, updatedAt: updated))
        }
        return rules
    }
}
