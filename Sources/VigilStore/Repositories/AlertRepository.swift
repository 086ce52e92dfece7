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

    public enum Raised: Sendable, Equatable {
        /// A new alert; its channels are to be notified.
        case created(UUID)
        /// The match fell within the cooldown of this alert, which counted it.
        case repeated(UUID)
        /// This rule had already matched this event (another worker, or an earlier evaluation).
        case alreadyMatched
    }

    /// What a match becomes. Call inside a transaction: the (event, rule) guard row, the cooldown
    /// look-up and the alert are written together, and alerts of one dedup key are raised one at a time.
    public func raise(_ match: RuleMatch, id: UUID, eventId: UUID, cameraId: UUID, personId: UUID?, channelIds: [UUID],
                      cooldownSeconds: Int, metadata: JSONValue, at time: Date) async throws -> Raised {
        let guarded = try await connection.query("""
            INSERT INTO alert_rule_matches (event_id, rule_id, alert_id, matched_at) VALUES (\(eventId), \(match.ruleId), \(id), \(time))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        var first = false
        for try await _ in guarded.decode(Int.self) { first = true }
        guard first else { return .alreadyMatched }

        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\("alert:" + match.dedupKey), 0))", logger: logger)
        let latest = try await connection.query("""
            SELECT id, last_seen_at FROM alerts WHERE dedup_key = \(match.dedupKey)
            ORDER BY last_seen_at DESC LIMIT 1 FOR UPDATE
            """, logger: logger)
        var previous: (id: UUID, lastSeen: Date)?
        for try await (existing, lastSeen) in latest.decode((UUID, Date).self) { previous = (existing, lastSeen) }
        if let previous, Cooldown.absorbs(lastSeen: previous.lastSeen, at: time, cooldownSeconds: cooldownSeconds) {
            try await connection.query("""
                UPDATE alerts SET repeat_count = repeat_count + 1, last_seen_at = GREATEST(last_seen_at, \(time)) WHERE id = \(previous.id)
                """, logger: logger)
            try await connection.query("""
                UPDATE alert_rule_matches SET alert_id = \(previous.id) WHERE event_id = \(eventId) AND rule_id = \(match.ruleId)
                """, logger: logger)
            return .repeated(previous.id)
        }
        // With nothing to deliver, an alert is delivered as soon as it exists.
        try await connection.query("""
            INSERT INTO alerts (id, event_id, rule_id, camera_id, person_id, alert_type, severity, message, status, dedup_key,
                                last_seen_at, channel_ids, metadata, delivered_at, created_at, updated_at)
            VALUES (\(id), \(eventId), \(match.ruleId), \(cameraId), \(personId), \(match.alertType), \(match.severity.rawValue),
                    \(match.message), \(channelIds.isEmpty ? "delivered" : "pending"), \(match.dedupKey), \(time), \(channelIds),
                    \(try metadata.jsonText())::jsonb, \(channelIds.isEmpty ? time : nil), \(time), \(time))
            """, logger: logger)
        if let activity = match.activity {
            try await connection.query("""
                UPDATE suspicious_activity_events SET alert_sent = TRUE
                WHERE event_id = \(eventId) AND activity_type = \(activity.rawValue) AND NOT alert_sent
                """, logger: logger)
        }
        return .created(id)
    }

    /// Tells live clients about an alert (`alert.created`, `alert.updated`) when the transaction commits.
    public func announce(_ kind: String, id: UUID) async throws {
        try await connection.query("""
            SELECT pg_notify('vigil_live', json_build_object('type', \(kind)::text, 'id', a.id, 'camera_id', a.camera_id,
                                                             'site_id', c.site_id)::text)
            FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE a.id = \(id)
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
