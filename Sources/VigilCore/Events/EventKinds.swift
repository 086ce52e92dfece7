import Foundation

/// What an event is about: the union of seed 002's `event_type_enum` and seed 004's activity events.
public enum EventType: String, Codable, CaseIterable, Sendable {
    case humanDetected = "human_detected"
    case faceDetected = "face_detected"
    case personRecognized = "person_recognized"
    case motionDetected = "motion_detected"
    case objectDetected = "object_detected"
    case interactionDetected = "interaction_detected"
    case stockChanged = "stock_changed"
    case emptyConfirmed = "empty_confirmed"
    case cameraObstructed = "camera_obstructed"
    case sceneShifted = "scene_shifted"

    /// The type of an episode of detections: a person makes it about people, anything else is an object.
    public static func forObjects(_ objectTypes: some Sequence<String>) -> EventType {
        objectTypes.contains("person") ? .humanDetected : .objectDetected
    }
}

/// Seed 000's risk bands.
public enum RiskLevel: String, Codable, CaseIterable, Sendable, Comparable {
    case low, medium, high, critical

    public init(score: Int) {
        switch score {
        case ..<30: self = .low
        case 30..<60: self = .medium
        case 60..<85: self = .high
        default: self = .critical
        }
    }

    /// The lowest score of the band.
    public var minimumScore: Int {
        switch self {
        case .low: 0
        case .medium: 30
        case .high: 60
        case .critical: 85
        }
    }

    public static func < (lhs: RiskLevel, rhs: RiskLevel) -> Bool { lhs.minimumScore < rhs.minimumScore }
}

/// Seed 002's `severity_enum`.
public typealias Severity = RiskLevel

/// Seed 002's `activity_type_enum`: what a suspicious activity is.
public enum ActivityType: String, Codable, CaseIterable, Sendable {
    case intrusion, loitering, running, crowding, fall
    case abandonedObject = "abandoned_object"
    case afterHours = "after_hours"
    case zoneBreach = "zone_breach"
    case repeatedEntry = "repeated_entry"
    case dwellTime = "dwell_time"
}

/// Seed 002's `review_action_enum`: an operator's verdict on who an event shows.
public enum ReviewAction: String, Codable, CaseIterable, Sendable {
    /// The recognized person is right: the event's faces join their gallery.
    case confirm
    /// "This is not X": the event's faces leave X's gallery and go back to the unknown faces.
    case reject
    /// It is someone else: the faces move to that person's gallery.
    case correctName = "correct_name"
    /// The event's unknown faces are this person: they (and their clusters) join the person.
    case merge
    /// The event's faces are forgotten.
    case delete
}

/// Seed 001's `event_feedback.feedback_type`.
public enum FeedbackType: String, Codable, CaseIterable, Sendable {
    case accurate, correct
    case falsePositive = "false_positive"
    case missedThreat = "missed_threat"
    case severityWrong = "severity_wrong"
}

/// Seed 004's `event_images.role`.
public enum EventImageRole: String, Codable, CaseIterable, Sendable {
    case pre, post, during, annotated, thumb
}
