import Foundation

/// An activity episode on a camera (seed 000 + 002 + 004), as the API shows it.
public struct Event: Codable, Sendable, Equatable {
    public var id: UUID
    public var batchId: UUID
    public var cameraId: UUID
    public var cameraName: String
    public var siteId: UUID
    public var eventType: EventType
    public var startedAt: Date
    public var endedAt: Date?
    /// When it stopped collecting detections; nil while it is open.
    public var closedAt: Date?
    public var riskScore: Int?
    public var riskLevel: RiskLevel?
    public var summary: String?
    public var reasoning: String?
    public var detectionIds: [UUID]
    public var objectTypes: [String]
    public var zoneIds: [UUID]
    public var trackIds: [Int64]
    public var reviewed: Bool
    public var reviewAction: ReviewAction?
    public var notes: String?
    public var isFastPath: Bool
    public var personId: UUID?
    public var clusterId: UUID?
    public var confidence: Double?
    public var boundingBox: JSONValue?
    public var metadata: JSONValue
    /// Seed 004's "why it triggered": thresholds, scores, captures, baseline, decision trace.
    public var details: JSONValue
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, batchId: UUID, cameraId: UUID, cameraName: String, siteId: UUID, eventType: EventType, startedAt: Date,
                endedAt: Date?, closedAt: Date?, riskScore: Int?, riskLevel: RiskLevel?, summary: String?, reasoning: String?,
                detectionIds: [UUID], objectTypes: [String], zoneIds: [UUID], trackIds: [Int64], reviewed: Bool,
                reviewAction: ReviewAction?, notes: String?, isFastPath: Bool, personId: UUID?, clusterId: UUID?, confidence: Double?,
                boundingBox: JSONValue?, metadata: JSONValue, details: JSONValue, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.batchId = batchId
        self.cameraId = cameraId
        self.cameraName = cameraName
        self.siteId = siteId
        self.eventType = eventType
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.closedAt = closedAt
        self.riskScore = riskScore
        self.riskLevel = riskLevel
        self.summary = summary
        self.reasoning = reasoning
        self.detectionIds = detectionIds
        self.objectTypes = objectTypes
        self.zoneIds = zoneIds
        self.trackIds = trackIds
        self.reviewed = reviewed
        self.reviewAction = reviewAction
        self.notes = notes
        self.isFastPath = isFastPath
        self.personId = personId
        self.clusterId = clusterId
        self.confidence = confidence
        self.boundingBox = boundingBox
        self.metadata = metadata
        self.details = details
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var isOpen: Bool { closedAt == nil }

    enum CodingKeys: String, CodingKey {
        case id, summary, reasoning, reviewed, notes, confidence, metadata, details
        case batchId = "batch_id", cameraId = "camera_id", cameraName = "camera_name", siteId = "site_id", eventType = "event_type"
        case startedAt = "started_at", endedAt = "ended_at", closedAt = "closed_at", riskScore = "risk_score", riskLevel = "risk_level"
        case detectionIds = "detection_ids", objectTypes = "object_types", zoneIds = "zone_ids", trackIds = "track_ids"
        case reviewAction = "review_action", isFastPath = "is_fast_path", personId = "person_id", clusterId = "cluster_id"
        case boundingBox = "bounding_box", createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// What an operator may change on an event (`PATCH /api/v1/events/{id}`).
public struct EventPatch: Codable, Sendable, Equatable, StrictInput {
    public var reviewed: Bool?
    public var notes: String??
    public var reviewAction: ReviewAction??

    public init(reviewed: Bool? = nil, notes: String?? = nil, reviewAction: ReviewAction?? = nil) {
        self.reviewed = reviewed
        self.notes = notes
        self.reviewAction = reviewAction
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case reviewed, notes
        case reviewAction = "review_action"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reviewed = try container.decodeIfPresent(Bool.self, forKey: .reviewed)
        // A member given as null clears the field; a member left out keeps it.
        notes = container.contains(.notes) ? .some(try container.decodeIfPresent(String.self, forKey: .notes)) : nil
        reviewAction = container.contains(.reviewAction)
            ? .some(try container.decodeIfPresent(ReviewAction.self, forKey: .reviewAction)) : nil
    }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.check(reviewed != nil || notes != nil || reviewAction != nil, "body", "must set reviewed, notes or review_action")
        if case .some(.some(let text)) = notes {
            report.check(text.storedLength <= 10_000, "notes", "must be at most 10000 characters")
        }
        return report
    }
}

/// An operator's verdict on an event (seed 001 `event_feedback`).
public struct EventFeedbackInput: Codable, Sendable, Equatable, StrictInput {
    public var feedbackType: FeedbackType
    public var notes: String?
    public var expectedSeverity: Severity?

    public init(feedbackType: FeedbackType, notes: String? = nil, expectedSeverity: Severity? = nil) {
        self.feedbackType = feedbackType
        self.notes = notes
        self.expectedSeverity = expectedSeverity
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case notes
        case feedbackType = "feedback_type", expectedSeverity = "expected_severity"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.check((notes?.storedLength ?? 0) <= 10_000, "notes", "must be at most 10000 characters")
        report.check(feedbackType == .severityWrong || expectedSeverity == nil || feedbackType == .missedThreat, "expected_severity",
                     "is only given with severity_wrong or missed_threat feedback")
        report.check(feedbackType != .severityWrong || expectedSeverity != nil, "expected_severity",
                     "is required with severity_wrong feedback: say what the severity should have been")
        return report
    }
}

public struct EventFeedback: Codable, Sendable, Equatable {
    public var id: UUID
    public var eventId: UUID
    public var feedbackType: FeedbackType
    public var notes: String?
    public var expectedSeverity: Severity?
    public var createdBy: UUID?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, eventId: UUID, feedbackType: FeedbackType, notes: String?, expectedSeverity: Severity?, createdBy: UUID?,
                createdAt: Date, updatedAt: Date) {
        self.id = id
        self.eventId = eventId
        self.feedbackType = feedbackType
        self.notes = notes
        self.expectedSeverity = expectedSeverity
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, notes
        case eventId = "event_id", feedbackType = "feedback_type", expectedSeverity = "expected_severity", createdBy = "created_by"
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// A stored suspicious activity (seed 002 `suspicious_activity_events`).
public struct SuspiciousActivity: Codable, Sendable, Equatable {
    public var id: UUID
    public var cameraId: UUID
    public var eventId: UUID?
    public var activityType: ActivityType
    public var zoneId: UUID?
    public var confidence: Double
    public var severity: Severity
    public var details: JSONValue
    public var timestamp: Date
    public var alertSent: Bool

    public init(id: UUID, cameraId: UUID, eventId: UUID?, activityType: ActivityType, zoneId: UUID?, confidence: Double,
                severity: Severity, details: JSONValue, timestamp: Date, alertSent: Bool) {
        self.id = id
        self.cameraId = cameraId
        self.eventId = eventId
        self.activityType = activityType
        self.zoneId = zoneId
        self.confidence = confidence
        self.severity = severity
        self.details = details
        self.timestamp = timestamp
        self.alertSent = alertSent
    }

    enum CodingKeys: String, CodingKey {
        case id, confidence, severity, details, timestamp
        case cameraId = "camera_id", eventId = "event_id", activityType = "activity_type", zoneId = "zone_id", alertSent = "alert_sent"
    }
}
