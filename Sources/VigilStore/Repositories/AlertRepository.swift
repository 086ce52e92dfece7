import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of alerts: raising them once per (event, rule), repeats within the cooldown, the
/// lifecycle with optimistic locking, and the deliveries of each.
public struct AlertRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    // MARK: Raising

    /// A rule's match on an event, to become an alert or a repeat of one.
    public struct Raising: Sendable {
        public var match: RuleMatch
        /// The new alert's id, if it comes to one.
        public var id: UUID
        public var channelIds: [UUID]
        public var cooldownSeconds: Int
        public var metadata: JSONValue

        public init(match: RuleMatch, id: UUID, channelIds: [UUID], cooldownSeconds: Int, metadata: JSONValue) {
            self.match = match
            self.id = id
            self.channelIds = channelIds
            self.cooldownSeconds = cooldownSeconds
            self.metadata = metadata
        }
    }

    public enum Raised: Sendable, Equatable {
        /// A new alert; its channels are to be notified.
        case created(UUID)
        /// The match fell within the cooldown of this alert, which counted it.
        case repeated(UUID)
    }

    /// What an event's matches become, in a few statements however many rules matched. Call
    /// inside a transaction. A rule that had already matched this event (another worker, an
    /// earlier evaluation) is left out: each (event, rule) is raised once. Alerts of one dedup key
    /// are raised one transaction at a time (advisory locks, taken in key order so two
    /// evaluations never wait on each other in a circle).
    public func raise(_ raisings: [Raising], eventId: UUID, cameraId: UUID, personId: UUID?, at time: Date) async throws -> [(Raising, Raised)] {
        guard !raisings.isEmpty else { return [] }
        struct Guard: Encodable {
            var rule_id: UUID
            var alert_id: UUID
        }
        let guarded = try await connection.query("""
            INSERT INTO alert_rule_matches (event_id, rule_id, alert_id, matched_at)
            SELECT \(eventId), g.rule_id, g.alert_id, \(time)
            FROM jsonb_to_recordset(\(try raisings.map { Guard(rule_id: $0.match.ruleId, alert_id: $0.id) }.jsonText())::jsonb)
                AS g(rule_id uuid, alert_id uuid)
            ON CONFLICT DO NOTHING RETURNING rule_id
            """, logger: logger)
        var fresh = Set<UUID>()
        for try await rule in guarded.decode(UUID.self) { fresh.insert(rule) }
        let raising = raisings.filter { fresh.contains($0.match.ruleId) }
        guard !raising.isEmpty else { return [] }

        let keys = Array(Set(raising.map(\.match.dedupKey))).sorted()
        try await connection.query("""
            SELECT pg_advisory_xact_lock(hashtextextended('alert:' || k, 0)) FROM unnest(\(keys)::text[]) AS k ORDER BY k
            """, logger: logger)
        let latest = try await connection.query("""
            SELECT DISTINCT ON (dedup_key) dedup_key, id, last_seen_at FROM alerts WHERE dedup_key = ANY(\(keys))
            ORDER BY dedup_key, last_seen_at DESC
            """, logger: logger)
        var last: [String: (id: UUID, seen: Date)] = [:]
        for try await (key, id, seen) in latest.decode((String, UUID, Date).self) { last[key] = (id, seen) }

        // Each match in turn: a repeat of the key's last alert within its cooldown, else a new alert
        // (which the next match of the same key may repeat).
        var outcomes: [(Raising, Raised)] = []
        var repeats: [UUID: Int] = [:]
        for item in raising {
            if let previous = last[item.match.dedupKey],
               Cooldown.absorbs(lastSeen: previous.seen, at: time, cooldownSeconds: item.cooldownSeconds) {
                repeats[previous.id, default: 0] += 1
                last[item.match.dedupKey] = (previous.id, max(previous.seen, time))
                outcomes.append((item, .repeated(previous.id)))
            } else {
                last[item.match.dedupKey] = (item.id, time)
                outcomes.append((item, .created(item.id)))
            }
        }

        struct NewAlert: Encodable {
            var id: UUID
            var rule_id: UUID
            var alert_type: String
            var severity: String
            var message: String
            var dedup_key: String
            var channel_ids: [UUID]
            var metadata: JSONValue
            var delivered: Bool
        }
        let created: [NewAlert] = outcomes.compactMap { item, raised in
            guard case .created = raised else { return nil }
            // With nothing to deliver, an alert is delivered as soon as it exists.
            return NewAlert(id: item.id, rule_id: item.match.ruleId, alert_type: item.match.alertType, severity: item.match.severity.rawValue,
                            message: item.match.message, dedup_key: item.match.dedupKey, channel_ids: item.channelIds,
                            metadata: item.metadata, delivered: item.channelIds.isEmpty)
        }
        if !created.isEmpty {
            try await connection.query("""
                INSERT INTO alerts (id, event_id, rule_id, camera_id, person_id, alert_type, severity, message, status, dedup_key,
                                    last_seen_at, channel_ids, metadata, delivered_at, created_at, updated_at)
                SELECT n.id, \(eventId), n.rule_id, \(cameraId), \(personId), n.alert_type, n.severity, n.message,
                       CASE WHEN n.delivered THEN 'delivered' ELSE 'pending' END, n.dedup_key, \(time), n.channel_ids, n.metadata,
                       CASE WHEN n.delivered THEN \(time)::timestamptz END, \(time), \(time)
                FROM jsonb_to_recordset(\(try created.jsonText())::jsonb) AS n(
                    id uuid, rule_id uuid, alert_type text, severity text, message text, dedup_key text, channel_ids uuid[],
                    metadata jsonb, delivered boolean)
                """, logger: logger)
        }
        if !repeats.isEmpty {
            struct Repeat: Encodable {
                var id: UUID
                var count: Int
            }
            try await connection.query("""
                UPDATE alerts a SET repeat_count = a.repeat_count + r.count, last_seen_at = GREATEST(a.last_seen_at, \(time))
                FROM jsonb_to_recordset(\(try repeats.map { Repeat(id: $0.key, count: $0.value) }.jsonText())::jsonb) AS r(id uuid, count int4)
                WHERE a.id = r.id
                """, logger: logger)
            let moved = outcomes.compactMap { item, raised -> Guard? in
                guard case .repeated(let alertId) = raised else { return nil }
                return Guard(rule_id: item.match.ruleId, alert_id: alertId)
            }
            try await connection.query("""
                UPDATE alert_rule_matches m SET alert_id = g.alert_id
                FROM jsonb_to_recordset(\(try moved.jsonText())::jsonb) AS g(rule_id uuid, alert_id uuid)
                WHERE m.event_id = \(eventId) AND m.rule_id = g.rule_id
                """, logger: logger)
        }
        let activities = Array(Set(outcomes.compactMap { item, raised -> String? in
            guard case .created = raised else { return nil }
            return item.match.activity?.rawValue
        }))
        if !activities.isEmpty {
            try await connection.query("""
                UPDATE suspicious_activity_events SET alert_sent = TRUE
                WHERE event_id = \(eventId) AND activity_type = ANY(\(activities)) AND NOT alert_sent
                """, logger: logger)
        }
        return outcomes
    }

    /// Tells live clients about alerts (`alert.created`, `alert.updated`) when the transaction commits.
    public func announce(_ kind: String, id: UUID) async throws {
        try await announce(kind, ids: [id])
    }

    public func announce(_ kind: String, ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query("""
            SELECT pg_notify('vigil_live', json_build_object('type', \(kind)::text, 'id', a.id, 'camera_id', a.camera_id,
                                                             'site_id', c.site_id)::text)
            FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE a.id = ANY(\(ids))
            """, logger: logger)
    }

    // MARK: Reading

    private static let columns = """
        a.id, a.event_id, a.rule_id, r.name, a.camera_id, c.name, c.site_id, a.person_id, a.alert_type, a.severity, a.message, a.status,
        a.dedup_key, a.repeat_count::int8, a.last_seen_at, a.channel_ids, a.metadata::text, a.version_id::int8, a.sent_at,
        a.delivered_at, a.acknowledged_by, a.acknowledged_at, a.resolved_by, a.resolved_at, a.dismissed_by, a.dismissed_at,
        a.created_at, a.updated_at
        """

    private static let source = """
        alerts a JOIN cameras c ON c.id = a.camera_id LEFT JOIN alert_rules r ON r.id = a.rule_id
        """

    public func find(id: UUID, forUpdate: Bool = false) async throws -> Alert? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM \(unescaped: Self.source) WHERE a.id = \(id)
            \(unescaped: forUpdate ? "FOR UPDATE OF a" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    public struct Filter: Sendable, Equatable {
        public var statuses: [AlertStatus] = []
        public var severities: [Severity] = []
        public var cameraIds: [UUID] = []
        public var ruleId: UUID?
        public var eventId: UUID?
        public var from: Date?
        public var to: Date?

        public init() {}
    }

    /// Alerts newest first, a page at a time (ids are time-ordered, so the id is the cursor).
    public func list(_ filter: Filter, page: PageRequest) async throws -> Page<Alert> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM \(unescaped: Self.source)
            WHERE (cardinality(\(filter.statuses.map(\.rawValue))::text[]) = 0 OR a.status = ANY(\(filter.statuses.map(\.rawValue))))
              AND (cardinality(\(filter.severities.map(\.rawValue))::text[]) = 0 OR a.severity = ANY(\(filter.severities.map(\.rawValue))))
              AND (cardinality(\(filter.cameraIds)::uuid[]) = 0 OR a.camera_id = ANY(\(filter.cameraIds)))
              AND (\(filter.ruleId)::uuid IS NULL OR a.rule_id = \(filter.ruleId))
              AND (\(filter.eventId)::uuid IS NULL OR a.event_id = \(filter.eventId))
              AND (\(filter.from)::timestamptz IS NULL OR a.created_at >= \(filter.from))
              AND (\(filter.to)::timestamptz IS NULL OR a.created_at < \(filter.to))
              AND (\(page.after)::uuid IS NULL OR a.id < \(page.after))
            ORDER BY a.id DESC LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    // MARK: Lifecycle

    public enum Transition: Sendable, Equatable {
        case done(Alert)
        case notFound
        /// Someone changed the alert since the client read it.
        case versionConflict(Alert)
        /// The action does not apply in the alert's status (acknowledging a resolved alert).
        case notApplicable(Alert)
    }

    /// Applies a person's action if the alert is still at `expectedVersion` (any version when nil).
    public func apply(_ action: AlertAction, to id: UUID, expectedVersion: Int?, by userId: UUID?, at time: Date) async throws -> Transition {
        guard let current = try await find(id: id, forUpdate: true) else { return .notFound }
        if let expectedVersion, current.versionId != expectedVersion { return .versionConflict(current) }
        guard action.applies(to: current.status) else { return .notApplicable(current) }
        let status = action.resultingStatus.rawValue
        try await connection.query("""
            UPDATE alerts SET status = \(status), version_id = version_id + 1,
                acknowledged_by = CASE WHEN \(status) = 'acknowledged' THEN \(userId) ELSE acknowledged_by END,
                acknowledged_at = CASE WHEN \(status) = 'acknowledged' THEN \(time) ELSE acknowledged_at END,
                resolved_by = CASE WHEN \(status) = 'resolved' THEN \(userId) ELSE resolved_by END,
                resolved_at = CASE WHEN \(status) = 'resolved' THEN \(time) ELSE resolved_at END,
                dismissed_by = CASE WHEN \(status) = 'dismissed' THEN \(userId) ELSE dismissed_by END,
                dismissed_at = CASE WHEN \(status) = 'dismissed' THEN \(time) ELSE dismissed_at END
            WHERE id = \(id)
            """, logger: logger)
        guard let updated = try await find(id: id) else { return .notFound }
        return .done(updated)
    }

    // MARK: Deliveries

    public struct DeliveryAttempt: Sendable {
        public var alertId: UUID
        public var channelId: UUID
        public var channelType: ChannelType
        public var jobId: UUID?
        public var attempt: Int
        public var status: AlertDelivery.Status
        public var responseCode: Int?
        public var error: String?
        public var latencyMs: Int
        public var attemptedAt: Date

        public init(alertId: UUID, channelId: UUID, channelType: ChannelType, jobId: UUID?, attempt: Int, status: AlertDelivery.Status,
                    responseCode: Int?, error: String?, latencyMs: Int, attemptedAt: Date) {
            self.alertId = alertId
            self.channelId = channelId
            self.channelType = channelType
            self.jobId = jobId
            self.attempt = attempt
            self.status = status
            self.responseCode = responseCode
            self.error = error
            self.latencyMs = latencyMs
            self.attemptedAt = attemptedAt
        }
    }

    /// Records an attempt; when every channel of the alert is done (sent or failed for good), a
    /// pending alert becomes delivered. Returns whether the alert changed.
    @discardableResult
    public func record(_ attempt: DeliveryAttempt) async throws -> Bool {
        try await connection.query("""
            INSERT INTO alert_deliveries (alert_id, channel_id, channel_type, job_id, attempt, status, response_code, error, latency_ms,
                                          attempted_at)
            VALUES (\(attempt.alertId), \(attempt.channelId), \(attempt.channelType.rawValue), \(attempt.jobId), \(attempt.attempt),
                    \(attempt.status.rawValue), \(attempt.responseCode), \(attempt.error.map { String($0.prefix(2000)) }),
                    \(attempt.latencyMs), \(attempt.attemptedAt))
            """, logger: logger)
        guard attempt.status != .retrying else { return false }
        if attempt.status == .sent {
            // Seed 002's sent_at: when the first notification went out.
            try await connection.query("""
                UPDATE alerts SET sent_at = COALESCE(sent_at, \(attempt.attemptedAt)) WHERE id = \(attempt.alertId)
                """, logger: logger)
        }
        // Delivered: every channel that still exists is done.
        let rows = try await connection.query("""
            UPDATE alerts a SET delivered_at = \(attempt.attemptedAt),
                status = CASE WHEN a.status = 'pending' THEN 'delivered' ELSE a.status END
            WHERE a.id = \(attempt.alertId) AND a.delivered_at IS NULL
              AND NOT EXISTS (
                  SELECT 1 FROM unnest(a.channel_ids) AS channel
                  WHERE EXISTS (SELECT 1 FROM notification_channels n WHERE n.id = channel)
                    AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.channel_id = channel
                                    AND d.status IN ('sent', 'failed')))
            RETURNING a.id
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// Attempts on a channel since `since`: what its rate limit counts.
    public func attempts(channelId: UUID, since: Date) async throws -> (count: Int, oldest: Date?) {
        let rows = try await connection.query("""
            SELECT count(*), min(attempted_at) FROM alert_deliveries WHERE channel_id = \(channelId) AND attempted_at >= \(since)
            """, logger: logger)
        for try await (count, oldest) in rows.decode((Int, Date?).self) { return (count, oldest) }
        return (0, nil)
    }

    public func deliveries(alertId: UUID) async throws -> [AlertDelivery] {
        let rows = try await connection.query("""
            SELECT id, alert_id, channel_id, channel_type, attempt::int8, status, response_code::int8, error, latency_ms::int8, attempted_at
            FROM alert_deliveries WHERE alert_id = \(alertId) ORDER BY attempted_at, id
            """, logger: logger)
        var found: [AlertDelivery] = []
        for try await (id, alert, channel, type, attempt, status, code, error, latency, time)
            in rows.decode((UUID, UUID, UUID?, String, Int64, String, Int64?, String?, Int64, Date).self) {
            guard let type = ChannelType(rawValue: type), let status = AlertDelivery.Status(rawValue: status) else { continue }
            found.append(AlertDelivery(id: id, alertId: alert, channelId: channel, channelType: type, attempt: Int(attempt), status: status,
                                       responseCode: code.map(Int.init), error: error, latencyMs: Int(latency), attemptedAt: time))
        }
        return found
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Alert] {
        var alerts: [Alert] = []
        for try await (id, event, rule, ruleName, camera, cameraName, site, person, type, severity, message, status, dedup, repeats,
                       lastSeen, channels, metadata, version, sent, delivered, ackBy, ackAt, resolvedBy, resolvedAt, dismissedBy,
                       dismissedAt, created, updated)
            in rows.decode((UUID, UUID, UUID?, String?, UUID, String, UUID, UUID?, String, String, String, String, String, Int64, Date,
                            [UUID], String, Int64, Date?, Date?, UUID?, Date?, UUID?, Date?, UUID?, Date?, Date, Date).self) {
            alerts.append(Alert(
                id: id, eventId: event, ruleId: rule, ruleName: ruleName, cameraId: camera, cameraName: cameraName, siteId: site,
                personId: person, alertType: type, severity: Severity(rawValue: severity) ?? .medium, message: message,
                status: AlertStatus(rawValue: status) ?? .pending, dedupKey: dedup, repeatCount: Int(repeats), lastSeenAt: lastSeen,
                channelIds: channels, metadata: try JSONValue(jsonText: metadata), versionId: Int(version), sentAt: sent,
                deliveredAt: delivered, acknowledgedBy: ackBy, acknowledgedAt: ackAt, resolvedBy: resolvedBy, resolvedAt: resolvedAt,
                dismissedBy: dismissedBy, dismissedAt: dismissedAt, createdAt: created, updatedAt: updated))
        }
        return alerts
    }
}
