import Foundation

/// An event as alert rules see it.
public struct AlertSubject: Sendable, Equatable {
    /// One detection of the event: object, confidence and the zones it was in.
    public struct Sighting: Sendable, Equatable {
        public var objectType: String?
        public var confidence: Double
        public var zoneIds: [UUID]

        public init(objectType: String?, confidence: Double, zoneIds: [UUID]) {
            self.objectType = objectType
            self.confidence = confidence
            self.zoneIds = zoneIds
        }
    }

    /// A suspicious activity found in the event.
    public struct Activity: Sendable, Equatable {
        public var type: ActivityType
        public var severity: Severity
        public var confidence: Double
        public var zoneId: UUID?
        public var objectType: String?

        public init(type: ActivityType, severity: Severity, confidence: Double, zoneId: UUID?, objectType: String?) {
            self.type = type
            self.severity = severity
            self.confidence = confidence
            self.zoneId = zoneId
            self.objectType = objectType
        }
    }

    public var eventId: UUID
    public var cameraId: UUID
    /// The camera's site: a rule of another site never judges the event.
    public var siteId: UUID?
    public var cameraName: String
    public var siteTimeZone: TimeZone
    public var eventType: EventType
    public var riskScore: Int?
    public var riskLevel: RiskLevel?
    /// When the event happened: schedules and quiet hours are read at this moment.
    public var occurredAt: Date
    public var personId: UUID?
    /// Everyone recognized in the event.
    public var persons: [RecognizedPerson]
    /// The event's detections; an event without any (a covered camera, a changed shelf) is one
    /// sighting of its own confidence and zones.
    public var sightings: [Sighting]
    public var activities: [Activity]
    public var zoneNames: [UUID: String]

    public init(eventId: UUID, cameraId: UUID, cameraName: String, siteTimeZone: TimeZone, eventType: EventType, riskScore: Int?,
                riskLevel: RiskLevel?, occurredAt: Date, personId: UUID? = nil, persons: [RecognizedPerson] = [], sightings: [Sighting],
                activities: [Activity] = [], zoneNames: [UUID: String] = [:], siteId: UUID? = nil) {
        self.eventId = eventId
        self.cameraId = cameraId
        self.siteId = siteId
        self.cameraName = cameraName
        self.siteTimeZone = siteTimeZone
        self.eventType = eventType
        self.riskScore = riskScore
        self.riskLevel = riskLevel
        self.occurredAt = occurredAt
        self.personId = personId
        self.persons = persons
        self.sightings = sightings
        self.activities = activities
        self.zoneNames = zoneNames
    }
}

/// A rule that matched an event: what the alert will say.
public struct RuleMatch: Sendable, Equatable {
    public var ruleId: UUID
    public var severity: Severity
    public var alertType: String
    public var message: String
    public var dedupKey: String
    public var objectType: String?
    public var zoneId: UUID?
    public var confidence: Double?
    public var activity: ActivityType?
    /// The recognized person the rule is about, when it targets people (else the event's).
    public var personId: UUID?
}

/// Seed 000's evaluation: every condition a rule sets must hold. A rule that does not match says
/// why, condition by condition (the dry run shows these).
public struct RuleEvaluator: Sendable {
    /// A rule with its schedule and quiet hours read once.
    public struct Compiled: Sendable {
        public let rule: AlertRule
        let schedule: WeeklySchedule?
        let scheduleNamesZone: Bool
        let quietHours: WeeklySchedule?
        let quietHoursNameZone: Bool

        public init(_ rule: AlertRule) {
            self.rule = rule
            var ignored = ValidationReport()
            schedule = rule.schedule.flatMap { $0 == .null ? nil : WeeklySchedule.parse($0, defaultTimeZone: "UTC", field: "schedule", report: &ignored) }
            scheduleNamesZone = rule.schedule?.objectValue?["timezone"] != nil
            quietHours = rule.quietHours.flatMap { $0 == .null ? nil : QuietHours.parse($0, defaultTimeZone: "UTC", field: "quiet_hours", report: &ignored) }
            // Quiet hours without a zone of their own follow the schedule's, else the site's.
            quietHoursNameZone = rule.quietHours?.objectValue?["timezone"] != nil
        }

        func schedule(at subject: AlertSubject) -> WeeklySchedule? {
            guard var schedule else { return nil }
            if !scheduleNamesZone { schedule.timeZone = subject.siteTimeZone }
            return schedule
        }

        func quietHours(at subject: AlertSubject) -> WeeklySchedule? {
            guard var quietHours else { return nil }
            if !quietHoursNameZone { quietHours.timeZone = schedule(at: subject)?.timeZone ?? subject.siteTimeZone }
            return quietHours
        }
    }

    public enum Verdict: Sendable, Equatable {
        case match(RuleMatch)
        case noMatch(reasons: [String])

        public var match: RuleMatch? {
            if case .match(let match) = self { return match }
            return nil
        }
    }

    public init() {}

    public func evaluate(_ compiled: Compiled, on subject: AlertSubject) -> Verdict {
        let rule = compiled.rule
        var reasons: [String] = []
        if !rule.enabled { reasons.append("the rule is disabled") }
        if let site = rule.siteId, site != subject.siteId {
            reasons.append("camera \(subject.cameraName) is at another site than the rule's")
        }
        if !rule.cameraIds.isEmpty, !rule.cameraIds.contains(subject.cameraId) {
            reasons.append("camera \(subject.cameraName) is not one of the rule's cameras")
        }
        if !rule.eventTypes.isEmpty, !rule.eventTypes.contains(subject.eventType) {
            reasons.append("event type \(subject.eventType.rawValue) is not one of \(rule.eventTypes.map(\.rawValue).joined(separator: ", "))")
        }
        if let threshold = rule.riskThreshold {
            if let score = subject.riskScore {
                if score < threshold { reasons.append("risk \(score) is below the threshold \(threshold)") }
            } else {
                reasons.append("the event has no risk score yet (threshold \(threshold))")
            }
        }

        // Object, zone and confidence conditions must hold for one and the same detection.
        let sighting = bestSighting(for: rule, in: subject)
        if sighting == nil, hasSightingConditions(rule) {
            reasons.append(sightingReason(rule, subject))
        }

        var activity: AlertSubject.Activity?
        if !rule.activityTypes.isEmpty {
            activity = subject.activities.filter { rule.activityTypes.contains($0.type) }
                .max { ($0.severity, $0.confidence) < ($1.severity, $1.confidence) }
            if activity == nil {
                reasons.append("no \(rule.activityTypes.map(\.rawValue).joined(separator: " or ")) activity in the event")
            }
        }

        // Person, status and watchlist conditions must hold for one and the same person.
        var person: RecognizedPerson?
        if hasPersonConditions(rule) {
            person = subject.persons.filter { candidate in
                (rule.personIds.isEmpty || rule.personIds.contains(candidate.id))
                    && (rule.personStatuses.isEmpty || rule.personStatuses.contains(candidate.status))
                    && (rule.watchlistIds.isEmpty || candidate.watchlists.contains { rule.watchlistIds.contains($0.id) })
            }.max { $0.precedence < $1.precedence }
            if person == nil { reasons.append(personReason(rule, subject)) }
        }

        let local = LocalTime(subject.occurredAt, in: compiled.schedule(at: subject)?.timeZone ?? subject.siteTimeZone)
        if let schedule = compiled.schedule(at: subject), !schedule.contains(subject.occurredAt) {
            reasons.append("\(Self.dayName(local.weekday)) \(local.clock) (\(schedule.timeZone.identifier)) is outside the schedule "
                + "\(Self.describe(schedule))")
        }
        if let quiet = compiled.quietHours(at: subject), quiet.contains(subject.occurredAt) {
            let quietLocal = LocalTime(subject.occurredAt, in: quiet.timeZone)
            reasons.append("\(quietLocal.clock) (\(quiet.timeZone.identifier)) is in the quiet hours \(Self.describe(quiet, days: false))")
        }
        guard reasons.isEmpty else { return .noMatch(reasons: reasons) }

        let objectType = sighting?.objectType ?? activity?.objectType ?? subject.sightings.max { $0.confidence < $1.confidence }?.objectType
        let zoneId = activity?.zoneId ?? sighting.flatMap { zoneIn($0, rule: rule) }
        let severity = rule.severity ?? activity?.severity ?? subject.riskLevel ?? .medium
        let confidence = activity?.confidence ?? sighting?.confidence ?? subject.sightings.map(\.confidence).max()
        let key = DedupKeyTemplate.render(rule.dedupKeyTemplate, values: [
            "camera_id": subject.cameraId.uuidString.lowercased(), "rule_id": rule.id.uuidString.lowercased(),
            "object_type": objectType ?? "none", "zone_id": zoneId?.uuidString.lowercased() ?? "none",
            "person_id": (person?.id ?? subject.personId)?.uuidString.lowercased() ?? "none", "event_type": subject.eventType.rawValue,
            "activity_type": activity?.type.rawValue ?? "none",
        ])
        let match = RuleMatch(ruleId: rule.id, severity: severity,
                              alertType: activity.map { "suspicious_activity_\($0.type.rawValue)" } ?? subject.eventType.rawValue,
                              message: AlertMessage.compose(subject: subject, objectType: objectType, zoneId: zoneId, activity: activity,
                                                            person: person, severity: severity),
                              dedupKey: key, objectType: objectType, zoneId: zoneId, confidence: confidence, activity: activity?.type,
                              personId: person?.id ?? subject.personId)
        return .match(match)
    }

    private func hasPersonConditions(_ rule: AlertRule) -> Bool {
        !rule.personIds.isEmpty || !rule.personStatuses.isEmpty || !rule.watchlistIds.isEmpty
    }

    /// Says which person the rule wanted and whom the event showed.
    private func personReason(_ rule: AlertRule, _ subject: AlertSubject) -> String {
        var wanted: [String] = []
        if !rule.personIds.isEmpty { wanted.append(rule.personIds.count == 1 ? "the chosen person" : "one of \(rule.personIds.count) chosen people") }
        if !rule.personStatuses.isEmpty { wanted.append(rule.personStatuses.map(\.rawValue).joined(separator: " or ")) }
        if !rule.watchlistIds.isEmpty { wanted.append("on a chosen watchlist") }
        let seen = subject.persons.isEmpty ? "nobody recognized" : subject.persons.prefix(5).map { person in
            "\(person.displayName) (\(person.status.rawValue))"
        }.joined(separator: ", ")
        return "no recognized person \(wanted.joined(separator: ", ")) (seen: \(seen))"
    }

    private func hasSightingConditions(_ rule: AlertRule) -> Bool {
        !rule.objectTypes.isEmpty || !rule.zoneIds.isEmpty || rule.minConfidence != nil
    }

    /// The most confident detection that satisfies the rule's object, zone and confidence conditions.
    private func bestSighting(for rule: AlertRule, in subject: AlertSubject) -> AlertSubject.Sighting? {
        subject.sightings.filter { sighting in
            (rule.objectTypes.isEmpty || sighting.objectType.map(rule.objectTypes.contains) == true)
                && (rule.zoneIds.isEmpty || sighting.zoneIds.contains(where: rule.zoneIds.contains))
                && (rule.minConfidence.map { sighting.confidence >= $0 } ?? true)
        }.max { $0.confidence < $1.confidence }
    }

    private func zoneIn(_ sighting: AlertSubject.Sighting, rule: AlertRule) -> UUID? {
        rule.zoneIds.isEmpty ? sighting.zoneIds.first : sighting.zoneIds.first(where: rule.zoneIds.contains)
    }

    /// Says which of the detection conditions nothing in the event met.
    private func sightingReason(_ rule: AlertRule, _ subject: AlertSubject) -> String {
        var wanted: [String] = []
        if !rule.objectTypes.isEmpty { wanted.append(rule.objectTypes.joined(separator: " or ")) }
        if !rule.zoneIds.isEmpty {
            let names = rule.zoneIds.map { subject.zoneNames[$0] ?? "a chosen zone" }
            wanted.append("in \(Array(Set(names)).sorted().joined(separator: " or "))")
        }
        if let minimum = rule.minConfidence { wanted.append("with confidence ≥ \(Self.percent(minimum))") }
        let seen = subject.sightings.isEmpty ? "nothing" : subject.sightings.prefix(5).map { sighting in
            var text = "\(sighting.objectType ?? "activity") \(Self.percent(sighting.confidence))"
            let zones = sighting.zoneIds.compactMap { subject.zoneNames[$0] }
            if !zones.isEmpty { text += " in \(zones.joined(separator: ", "))" }
            return text
        }.joined(separator: "; ")
        return "no detection \(wanted.joined(separator: " ")) (seen: \(seen))"
    }

    static func percent(_ value: Double) -> String { "\(Int((value * 100).rounded()))%" }

    static func dayName(_ weekday: Int) -> String { ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][weekday] }

    static func describe(_ schedule: WeeklySchedule, days: Bool = true) -> String {
        func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }
        let window = "\(clock(schedule.start))-\(clock(schedule.end))"
        guard days, schedule.days.count < 7 else { return window }
        return "\(schedule.days.sorted().map(dayName).joined(separator: ",")) \(window)"
    }
}

/// Alert messages in the seeds' words.
public enum AlertMessage {
    public static func compose(subject: AlertSubject, objectType: String?, zoneId: UUID?, activity: AlertSubject.Activity?,
                               person: RecognizedPerson? = nil, severity: Severity) -> String {
        let local = Self.localTime(subject.occurredAt, in: subject.siteTimeZone)
        let zone = zoneId.flatMap { subject.zoneNames[$0] }.map { " in zone \"\($0)\"" } ?? ""
        if let activity {
            // Seed 002's fn_generate_alert_from_suspicious_activity.
            return "\(activity.type.rawValue) detected on \"\(subject.cameraName)\"\(zone) at \(local). "
                + "Confidence: \(String(format: "%.1f", activity.confidence * 100))%. Severity: \(activity.severity.rawValue)"
        }
        let what: String
        switch subject.eventType {
        case .humanDetected, .objectDetected, .faceDetected, .personRecognized, .interactionDetected:
            what = (objectType ?? "Activity").capitalizedFirst
        case .stockChanged: what = "A change in a watched area"
        case .cameraObstructed: what = "An obstructed view"
        case .sceneShifted: what = "A moved camera"
        case .motionDetected: what = "Motion"
        case .emptyConfirmed: what = "An empty shelf"
        }
        var text = "\(what) detected on camera \"\(subject.cameraName)\"\(zone) at \(local)"
        // Seed 002's recognition alerts name the person and why they matter.
        if let person = person ?? subject.persons.max(by: { $0.precedence < $1.precedence }) {
            let lists = person.watchlists.map(\.name)
            text = "\(person.displayName) (\(person.status.rawValue)\(lists.isEmpty ? "" : ", on \(lists.joined(separator: ", "))")) "
                + "recognized on camera \"\(subject.cameraName)\"\(zone) at \(local)"
        }
        if let score = subject.riskScore { text += " (risk \(score), \(subject.riskLevel?.rawValue ?? severity.rawValue))" }
        return text
    }

    /// "2026-11-22 02:00:05 CET": the site's wall clock, with the zone so nobody guesses.
    public static func localTime(_ date: Date, in timeZone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
        return formatter.string(from: date)
    }
}
