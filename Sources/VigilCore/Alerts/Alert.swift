import Foundation

/// Where an alert is in its life: raised (pending), every channel done (delivered), seen by a
/// person (acknowledged), closed (resolved), or judged not worth it (dismissed).
public enum AlertStatus: String, Codable, CaseIterable, Sendable {
    case pending, delivered, acknowledged, resolved, dismissed

    /// Open alerts are the ones an operator still has to deal with.
    public var isOpen: Bool { self == .pending || self == .delivered || self == .acknowledged }
}

/// What a person does to an alert.
public enum AlertAction: String, Codable, CaseIterable, Sendable {
    case acknowledge, resolve, dismiss

    public var resultingStatus: AlertStatus {
        switch self {
        case .acknowledge: .acknowledged
        case .resolve: .resolved
        case .dismiss: .dismissed
        }
    }

    /// Whether the action applies to an alert in `status`: acknowledging needs an alert nobody has
    /// taken yet; resolving and dismissing need an open one.
    public func applies(to status: AlertStatus) -> Bool {
        switch self {
        case .acknowledge: status == .pending || status == .delivered
        case .resolve, .dismiss: status.isOpen
        }
    }
}

/// An alert (seeds 000/001 and 002 merged).
public struct Alert: Codable, Sendable, Equatable {
    public var id: UUID
    public var eventId: UUID
    public var ruleId: UUID?
    public var ruleName: String?
    public var cameraId: UUID
    public var cameraName: String
    public var siteId: UUID
    public var personId: UUID?
    public var alertType: String
    public var severity: Severity
    public var message: String
    public var status: AlertStatus
    public var dedupKey: String
    /// Matches absorbed by this alert within its rule's cooldown.
    public var repeatCount: Int
    public var lastSeenAt: Date
    public var channelIds: [UUID]
    public var metadata: JSONValue
    /// Optimistic locking: a change names the version it read, and fails with 409 if another came first.
    public var versionId: Int
    public var sentAt: Date?
    public var deliveredAt: Date?
    public var acknowledgedBy: UUID?
    public var acknowledgedAt: Date?
    public var resolvedBy: UUID?
    public var resolvedAt: Date?
    public var dismissedBy: UUID?
    public var dismissedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, eventId: UUID, ruleId: UUID?, ruleName: String?, cameraId: UUID, cameraName: String, siteId: UUID,
                personId: UUID?, alertType: String, severity: Severity, message: String, status: AlertStatus, dedupKey: String,
                repeatCount: Int, lastSeenAt: Date, channelIds: [UUID], metadata: JSONValue, versionId: Int, sentAt: Date?,
                deliveredAt: Date?, acknowledgedBy: UUID?, acknowledgedAt: Date?, resolvedBy: UUID?, resolvedAt: Date?,
                dismissedBy: UUID?, dismissedAt: Date?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.eventId = eventId
        self.ruleId = ruleId
        self.ruleName = ruleName
        self.cameraId = cameraId
        self.cameraName = cameraName
        self.siteId = siteId
        self.personId = personId
        self.alertType = alertType
        self.severity = severity
        self.message = message
        self.status = status
        self.dedupKey = dedupKey
        self.repeatCount = repeatCount
        self.lastSeenAt = lastSeenAt
        self.channelIds = channelIds
        self.metadata = metadata
        self.versionId = versionId
        self.sentAt = sentAt
        self.deliveredAt = deliveredAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
        self.resolvedBy = resolvedBy
        self.resolvedAt = resolvedAt
        self.dismissedBy = dismissedBy
        self.dismissedAt = dismissedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, severity, message, status, metadata
        case eventId = "event_id", ruleId = "rule_id", ruleName = "rule_name", cameraId = "camera_id", cameraName = "camera_name"
        case siteId = "site_id", personId = "person_id", alertType = "alert_type", dedupKey = "dedup_key", repeatCount = "repeat_count"
        case lastSeenAt = "last_seen_at", channelIds = "channel_ids", versionId = "version_id", sentAt = "sent_at"
        case deliveredAt = "delivered_at", acknowledgedBy = "acknowledged_by", acknowledgedAt = "acknowledged_at"
        case resolvedBy = "resolved_by", resolvedAt = "resolved_at", dismissedBy = "dismissed_by", dismissedAt = "dismissed_at"
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// `PATCH /alerts/{id}`: an action, with the version the client read.
public struct AlertTransitionInput: Codable, Sendable, Equatable, StrictInput {
    public var action: AlertAction
    public var versionId: Int

    public init(action: AlertAction, versionId: Int) {
        self.action = action
        self.versionId = versionId
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case action
        case versionId = "version_id"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.check(versionId >= 1, "version_id", "must be the alert's version_id as last read (1 or more)")
        return report
    }
}

/// `POST /alerts/acknowledge`: several alerts at once.
public struct BulkAcknowledgeInput: Codable, Sendable, Equatable, StrictInput {
    public var alertIds: [UUID]

    public init(alertIds: [UUID]) {
        self.alertIds = alertIds
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case alertIds = "alert_ids"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.check(!alertIds.isEmpty, "alert_ids", "must name at least one alert")
        report.check(alertIds.count <= 500, "alert_ids", "must name at most 500 alerts at once")
        return report
    }
}

/// One attempt to deliver an alert on a channel.
public struct AlertDelivery: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// The channel accepted the message.
        case sent
        /// This attempt failed; another follows.
        case retrying
        /// The last attempt failed, or the failure cannot be fixed by trying again.
        case failed
    }

    public var id: UUID
    public var alertId: UUID
    public var channelId: UUID?
    public var channelType: ChannelType
    public var attempt: Int
    public var status: Status
    public var responseCode: Int?
    public var error: String?
    public var latencyMs: Int
    public var attemptedAt: Date

    public init(id: UUID, alertId: UUID, channelId: UUID?, channelType: ChannelType, attempt: Int, status: Status, responseCode: Int?,
                error: String?, latencyMs: Int, attemptedAt: Date) {
        self.id = id
        self.alertId = alertId
        self.channelId = channelId
        self.channelType = channelType
        self.attempt = attempt
        self.status = status
        self.responseCode = responseCode
        self.error = error
        self.latencyMs = latencyMs
        self.attemptedAt = attemptedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, attempt, status, error
        case alertId = "alert_id", channelId = "channel_id", channelType = "channel_type", responseCode = "response_code"
        case latencyMs = "latency_ms", attemptedAt = "attempted_at"
    }
}

/// Seed 000's cooldown: a match whose dedup key was last seen less than `cooldown` ago is a
/// repeat of that alert, not a new one. The window slides: a car parked all night keeps one
/// alert, with its repeats counted, instead of one every few minutes.
public enum Cooldown {
    public static func absorbs(lastSeen: Date, at time: Date, cooldownSeconds: Int) -> Bool {
        cooldownSeconds > 0 && time.timeIntervalSince(lastSeen) < Double(cooldownSeconds)
    }
}
