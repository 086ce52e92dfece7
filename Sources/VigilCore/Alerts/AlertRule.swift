import Foundation

/// An alert rule as stored and shown (seeds 000/001 `alert_rules` merged with seed 002's): every
/// condition that is set must hold for an event to raise an alert; an empty list or a missing
/// value matches anything.
public struct AlertRule: Codable, Sendable, Equatable {
    public var id: UUID
    /// The site whose events the rule judges; `nil`: every site (made only by someone who sees all).
    public var siteId: UUID?
    public var name: String
    public var description: String?
    public var enabled: Bool
    /// The alerts' severity; nil follows the event (a suspicious activity's severity, else the risk level).
    public var severity: Severity?
    public var riskThreshold: Int?
    public var eventTypes: [EventType]
    public var objectTypes: [String]
    public var cameraIds: [UUID]
    public var zoneIds: [UUID]
    /// Suspicious activities the event must show (seed 002's activity alerts).
    public var activityTypes: [ActivityType]
    /// A recognized person of the event must be one of these (seed 002's person targeting)...
    public var personIds: [UUID]
    /// ...of one of these statuses...
    public var personStatuses: [PersonStatus]
    /// ...and on one of these watchlists; the three hold for one and the same person.
    public var watchlistIds: [UUID]
    public var minConfidence: Double?
    /// `{days, start_time, end_time, timezone}`; without a time zone, the camera's site's.
    public var schedule: JSONValue?
    /// `{start, end, enabled, timezone}`: a daily window in which the rule stays silent.
    public var quietHours: JSONValue?
    public var dedupKeyTemplate: String
    public var cooldownSeconds: Int
    public var channelIds: [UUID]
    /// Set on the rules Vigil installs (one per suspicious activity); they can be edited and disabled, not deleted.
    public var builtin: String?
    public var createdBy: UUID?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, siteId: UUID? = nil, name: String, description: String? = nil, enabled: Bool = true, severity: Severity? = .medium,
                riskThreshold: Int? = nil, eventTypes: [EventType] = [], objectTypes: [String] = [], cameraIds: [UUID] = [],
                zoneIds: [UUID] = [], activityTypes: [ActivityType] = [], personIds: [UUID] = [], personStatuses: [PersonStatus] = [],
                watchlistIds: [UUID] = [], minConfidence: Double? = nil, schedule: JSONValue? = nil,
                quietHours: JSONValue? = nil, dedupKeyTemplate: String = DedupKeyTemplate.default, cooldownSeconds: Int = 300,
                channelIds: [UUID] = [], builtin: String? = nil, createdBy: UUID? = nil, createdAt: Date = Date(timeIntervalSince1970: 0),
                updatedAt: Date = Date(timeIntervalSince1970: 0)) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.description = description
        self.enabled = enabled
        self.severity = severity
        self.riskThreshold = riskThreshold
        self.eventTypes = eventTypes
        self.objectTypes = objectTypes
        self.cameraIds = cameraIds
        self.zoneIds = zoneIds
        self.activityTypes = activityTypes
        self.personIds = personIds
        self.personStatuses = personStatuses
        self.watchlistIds = watchlistIds
        self.minConfidence = minConfidence
        self.schedule = schedule
        self.quietHours = quietHours
        self.dedupKeyTemplate = dedupKeyTemplate
        self.cooldownSeconds = cooldownSeconds
        self.channelIds = channelIds
        self.builtin = builtin
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The rule with every field an input sets, and seed 000's defaults for the rest; identity,
    /// authorship and times stay.
    public func replacing(with input: AlertRuleInput) -> AlertRule {
        var rule = self
        rule.siteId = input.siteId
        rule.name = input.name
        rule.description = input.description
        rule.enabled = input.enabled ?? true
        rule.severity = input.severity
        rule.riskThreshold = input.riskThreshold
        rule.eventTypes = input.eventTypes ?? []
        rule.objectTypes = input.objectTypes ?? []
        rule.cameraIds = input.cameraIds ?? []
        rule.zoneIds = input.zoneIds ?? []
        rule.activityTypes = input.activityTypes ?? []
        rule.personIds = input.personIds ?? []
        rule.personStatuses = input.personStatuses ?? []
        rule.watchlistIds = input.watchlistIds ?? []
        rule.minConfidence = input.minConfidence
        rule.schedule = input.schedule == .null ? nil : input.schedule
        rule.quietHours = input.quietHours == .null ? nil : input.quietHours
        rule.dedupKeyTemplate = input.dedupKeyTemplate ?? DedupKeyTemplate.default
        rule.cooldownSeconds = input.cooldownSeconds ?? 300
        rule.channelIds = input.channelIds ?? []
        return rule
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, enabled, severity, schedule, builtin
        case siteId = "site_id"
        case riskThreshold = "risk_threshold", eventTypes = "event_types", objectTypes = "object_types", cameraIds = "camera_ids"
        case zoneIds = "zone_ids", activityTypes = "activity_types", minConfidence = "min_confidence", quietHours = "quiet_hours"
        case dedupKeyTemplate = "dedup_key_template", cooldownSeconds = "cooldown_seconds", channelIds = "channel_ids"
        case personIds = "person_ids", personStatuses = "person_statuses", watchlistIds = "watchlist_ids"
        case createdBy = "created_by", createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// What a client sends to create or replace a rule. Fields left out take the defaults of seed 000.
public struct AlertRuleInput: Codable, Sendable, Equatable, StrictInput {
    public var siteId: UUID?
    public var name: String
    public var description: String?
    public var enabled: Bool?
    public var severity: Severity?
    public var riskThreshold: Int?
    public var eventTypes: [EventType]?
    public var objectTypes: [String]?
    public var cameraIds: [UUID]?
    public var zoneIds: [UUID]?
    public var activityTypes: [ActivityType]?
    public var personIds: [UUID]?
    public var personStatuses: [PersonStatus]?
    public var watchlistIds: [UUID]?
    public var minConfidence: Double?
    public var schedule: JSONValue?
    public var quietHours: JSONValue?
    public var dedupKeyTemplate: String?
    public var cooldownSeconds: Int?
    public var channelIds: [UUID]?

    public init(name: String, description: String? = nil, enabled: Bool? = nil, severity: Severity? = nil, riskThreshold: Int? = nil,
                eventTypes: [EventType]? = nil, objectTypes: [String]? = nil, cameraIds: [UUID]? = nil, zoneIds: [UUID]? = nil,
                activityTypes: [ActivityType]? = nil, personIds: [UUID]? = nil, personStatuses: [PersonStatus]? = nil,
                watchlistIds: [UUID]? = nil, minConfidence: Double? = nil, schedule: JSONValue? = nil,
                quietHours: JSONValue? = nil, dedupKeyTemplate: String? = nil, cooldownSeconds: Int? = nil, channelIds: [UUID]? = nil,
                siteId: UUID? = nil) {
        self.siteId = siteId
        self.name = name
        self.description = description
        self.enabled = enabled
        self.severity = severity
        self.riskThreshold = riskThreshold
        self.eventTypes = eventTypes
        self.objectTypes = objectTypes
        self.cameraIds = cameraIds
        self.zoneIds = zoneIds
        self.activityTypes = activityTypes
        self.personIds = personIds
        self.personStatuses = personStatuses
        self.watchlistIds = watchlistIds
        self.minConfidence = minConfidence
        self.schedule = schedule
        self.quietHours = quietHours
        self.dedupKeyTemplate = dedupKeyTemplate
        self.cooldownSeconds = cooldownSeconds
        self.channelIds = channelIds
    }

    /// The input that would recreate `rule` (the base a partial update is applied to).
    public init(_ rule: AlertRule) {
        self.init(name: rule.name, description: rule.description, enabled: rule.enabled, severity: rule.severity,
                  riskThreshold: rule.riskThreshold, eventTypes: rule.eventTypes, objectTypes: rule.objectTypes, cameraIds: rule.cameraIds,
                  zoneIds: rule.zoneIds, activityTypes: rule.activityTypes, personIds: rule.personIds, personStatuses: rule.personStatuses,
                  watchlistIds: rule.watchlistIds, minConfidence: rule.minConfidence, schedule: rule.schedule,
                  quietHours: rule.quietHours, dedupKeyTemplate: rule.dedupKeyTemplate, cooldownSeconds: rule.cooldownSeconds,
                  channelIds: rule.channelIds, siteId: rule.siteId)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, enabled, severity, schedule
        case siteId = "site_id"
        case riskThreshold = "risk_threshold", eventTypes = "event_types", objectTypes = "object_types", cameraIds = "camera_ids"
        case zoneIds = "zone_ids", activityTypes = "activity_types", minConfidence = "min_confidence", quietHours = "quiet_hours"
        case dedupKeyTemplate = "dedup_key_template", cooldownSeconds = "cooldown_seconds", channelIds = "channel_ids"
        case personIds = "person_ids", personStatuses = "person_statuses", watchlistIds = "watchlist_ids"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// Seed 000's CHECK constraints, the schedule and quiet-hours formats, and the dedup template's placeholders.
    /// Whether the cameras, zones and channels named exist is the store's to say.
    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 255)
        if let riskThreshold {
            report.check((0...100).contains(riskThreshold), "risk_threshold", "must be between 0 and 100; got \(riskThreshold)")
        }
        if let minConfidence {
            report.check((0...1).contains(minConfidence), "min_confidence", "must be between 0.0 and 1.0; got \(minConfidence)")
        }
        if let cooldownSeconds {
            report.check(cooldownSeconds >= 0, "cooldown_seconds", "must be 0 or more; got \(cooldownSeconds)")
            report.check(cooldownSeconds <= 7 * 86_400, "cooldown_seconds", "must be at most a week (604800); got \(cooldownSeconds)")
        }
        for objectType in objectTypes ?? [] {
            report.check(!objectType.isEmpty && objectType.storedLength <= 50, "object_types", "must be names like person or car")
        }
        if let description { report.check(description.storedLength <= 2000, "description", "must be at most 2000 characters") }
        if let schedule, schedule != .null {
            _ = WeeklySchedule.parse(schedule, defaultTimeZone: "UTC", field: "schedule", report: &report)
        }
        if let quietHours, quietHours != .null {
            _ = QuietHours.parse(quietHours, defaultTimeZone: "UTC", field: "quiet_hours", report: &report)
        }
        if let dedupKeyTemplate { DedupKeyTemplate.validate(dedupKeyTemplate, field: "dedup_key_template", report: &report) }
        for (field, ids) in [("camera_ids", cameraIds), ("zone_ids", zoneIds), ("channel_ids", channelIds), ("person_ids", personIds),
                             ("watchlist_ids", watchlistIds)] {
            let ids = ids ?? []
            report.check(Set(ids).count == ids.count, field, "must not name the same id twice")
            report.check(ids.count <= 500, field, "must list at most 500 ids")
        }
        return report
    }
}

/// Seed 002's `quiet_hours`: `{"start": "12:00", "end": "13:00", "enabled": true}`, every day, in
/// the rule's time zone unless it names its own; may cross midnight.
public enum QuietHours {
    public static func parse(_ value: JSONValue, defaultTimeZone: String, field: String,
                             report: inout ValidationReport) -> WeeklySchedule? {
        guard var members = value.objectValue else {
            report.add(field, "must be an object like {\"start\": \"12:00\", \"end\": \"13:00\", \"enabled\": true}")
            return nil
        }
        var enabled = true
        if let flag = members.removeValue(forKey: "enabled") {
            guard case .bool(let on) = flag else {
                report.add("\(field).enabled", "must be true or false")
                return nil
            }
            enabled = on
        }
        var window: [String: JSONValue] = [:]
        for (key, item) in members {
            switch key {
            case "start": window["start_time"] = item
            case "end": window["end_time"] = item
            case "days", "timezone": window[key] = item
            default: report.add("\(field).\(key)", "is not a quiet-hours field (start, end, enabled, days, timezone)")
            }
        }
        var problems = ValidationReport()
        let schedule = WeeklySchedule.parse(.object(window), defaultTimeZone: defaultTimeZone, field: field, report: &problems)
        // The underlying names are start_time/end_time; say them as the client wrote them.
        for problem in problems.problems {
            report.add(problem.field.replacingOccurrences(of: "start_time", with: "start").replacingOccurrences(of: "end_time", with: "end"),
                       problem.message)
        }
        return enabled ? schedule : nil
    }
}

/// `dedup_key_template` (seed 000): `{camera_id}:{rule_id}` by default; alerts with the same key
/// within a rule's cooldown are one alert with repeats.
public enum DedupKeyTemplate {
    public static let `default` = "{camera_id}:{rule_id}"
    public static let placeholders = ["camera_id", "rule_id", "object_type", "zone_id", "person_id", "event_type", "activity_type"]

    public static func validate(_ template: String, field: String, report: inout ValidationReport) {
        report.check(!template.isEmpty && template.storedLength <= 255, field, "must be 1 to 255 characters")
        for name in PlaceholderText.names(in: template, opening: "{", closing: "}") where !placeholders.contains(name) {
            report.add(field, "{\(name)} is not a placeholder; use \(placeholders.map { "{\($0)}" }.joined(separator: ", "))")
        }
    }

    /// The key for one match; a value the event lacks reads `none`.
    public static func render(_ template: String, values: [String: String]) -> String {
        String(PlaceholderText.fill(template, opening: "{", closing: "}") { values[$0] ?? "none" }.prefix(255))
    }
}

/// Text with `{name}` (dedup keys) or `{{name}}` (message templates) placeholders.
public enum PlaceholderText {
    /// The names between `opening` and `closing`, in order.
    public static func names(in text: String, opening: String, closing: String) -> [String] {
        var names: [String] = []
        _ = fill(text, opening: opening, closing: closing) { name in
            names.append(name)
            return ""
        }
        return names
    }

    /// `text` with each placeholder replaced by `value(name)`; an unclosed opening stays as written.
    public static func fill(_ text: String, opening: String, closing: String, value: (String) -> String) -> String {
        var output = ""
        var rest = text[...]
        while let open = rest.range(of: opening) {
            guard let close = rest[open.upperBound...].range(of: closing) else { break }
            output += rest[..<open.lowerBound]
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            output += value(name)
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}
