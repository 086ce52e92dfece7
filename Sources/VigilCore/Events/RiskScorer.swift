import Foundation

/// What the deterministic scorer knows about an event.
public struct RiskFactors: Sendable, Equatable {
    public struct Zone: Sendable, Equatable {
        public var name: String
        public var type: ZoneType
        public var priority: Int

        public init(name: String, type: ZoneType, priority: Int) {
            self.name = name
            self.type = type
            self.priority = priority
        }
    }

    public var cameraName: String
    /// Distinct tracked objects per class.
    public var objectCounts: [String: Int]
    /// The most people in one frame.
    public var peopleInOneFrame: Int
    /// The zones the objects stood in.
    public var zones: [Zone]
    public var startedAt: Date
    /// The longest any one object stayed, including before the event began.
    public var longestPresence: TimeInterval
    public var schedule: WeeklySchedule
    /// Events this hour against the usual number for this hour and day of week.
    public var activity: BaselineComparison?
    /// For each class seen, how often it is usually seen at this hour (events per hour).
    public var classFrequency: [String: BaselineComparison]
    /// Every object stood still (a parked car, a bin).
    public var allStationary: Bool
    public var suspicious: [ActivityType: Severity]
    /// The people recognized in the event.
    public var persons: [RecognizedPerson]
    /// Faces seen that nobody recognized.
    public var unknownFaces: Int

    public init(cameraName: String, objectCounts: [String: Int], peopleInOneFrame: Int = 0, zones: [Zone] = [], startedAt: Date,
                longestPresence: TimeInterval = 0, schedule: WeeklySchedule, activity: BaselineComparison? = nil,
                classFrequency: [String: BaselineComparison] = [:], allStationary: Bool = false,
                suspicious: [ActivityType: Severity] = [:], persons: [RecognizedPerson] = [], unknownFaces: Int = 0) {
        self.cameraName = cameraName
        self.objectCounts = objectCounts
        self.peopleInOneFrame = peopleInOneFrame
        self.zones = zones
        self.startedAt = startedAt
        self.longestPresence = longestPresence
        self.schedule = schedule
        self.activity = activity
        self.classFrequency = classFrequency
        self.allStationary = allStationary
        self.suspicious = suspicious
        self.persons = persons
        self.unknownFaces = unknownFaces
    }

    public var afterHours: Bool { !schedule.contains(startedAt) }
}

/// One reason the score moved: a short trace token, the points, and a sentence a person reads.
public struct RiskContribution: Sendable, Equatable, Codable {
    public var factor: String
    public var points: Int
    public var explanation: String

    public init(factor: String, points: Int, explanation: String) {
        self.factor = factor
        self.points = points
        self.explanation = explanation
    }
}

/// A scored event: seed 000's risk score, level, summary and reasoning, with seed 004's
/// decision trace.
public struct RiskAssessment: Sendable, Equatable {
    public var score: Int
    public var level: RiskLevel
    public var summary: String
    public var reasoning: String
    public var contributions: [RiskContribution]
    /// What the scorer compared against, for `details.thresholds`.
    public var thresholds: [String: JSONValue]

    /// `details.decision_trace`: each contribution as `factor +points`.
    public var decisionTrace: [String] {
        contributions.map { "\($0.factor) \($0.points >= 0 ? "+" : "")\($0.points)" }
    }

    /// `details.scores`: each factor's points.
    public var scores: [String: JSONValue] {
        var scores: [String: JSONValue] = [:]
        for contribution in contributions { scores[contribution.factor] = .number(Double(contribution.points)) }
        scores["risk_score"] = .number(Double(score))
        return scores
    }
}

/// Points for each factor. The defaults put a lone person at a door in the daytime at medium,
/// the same person at 2 a.m. at high, and an intruder in a restricted area at night at critical.
public struct RiskWeights: Sendable {
    public var objectClass: [String: Int] = [
        "person": 30,
        "car": 15, "truck": 15, "bus": 15, "motorcycle": 15, "bicycle": 10,
        "backpack": 10, "handbag": 10, "suitcase": 10,
        "dog": 5, "cat": 3, "bird": 1, "horse": 5,
    ]
    public var otherClass = 5
    public var zoneType: [ZoneType: Int] = [
        .restricted: 25, .entryPoint: 15, .entry: 12, .exit: 5, .driveway: 8, .yard: 8, .interest: 5, .watchArea: 10,
        .sidewalk: -5, .other: 0,
    ]
    /// A zone's priority adds up to this much.
    public var zonePriorityCap = 10
    public var afterHoursWithPeople = 20
    public var afterHoursOtherwise = 8
    /// Staying at least this many seconds adds these points (the largest step reached counts).
    public var presence: [(seconds: TimeInterval, points: Int)] = [(30, 5), (60, 10), (180, 15)]
    /// Activity at least this many times the usual adds these points.
    public var unusualActivity: [(ratio: Double, points: Int)] = [(3, 10), (5, 15)]
    public var usualActivity = -5
    /// A class usually seen less than this often at this hour counts as rare.
    public var rareClassFrequency = 0.2
    public var rareClass = 10
    public var people: [(count: Int, points: Int)] = [(3, 8), (5, 15)]
    public var allStationary = -15
    public var suspicious: [Severity: Int] = [.low: 3, .medium: 8, .high: 15, .critical: 25]
    public var suspiciousCap = 30
    /// A blacklisted person, or one on a blacklist.
    public var blacklistedPerson = 45
    /// Someone on a suspect watchlist.
    public var suspectPerson = 30
    /// Someone on another active watchlist (custom, VIP lists add nothing).
    public var watchlistedPerson = 10
    /// Only people Vigil knows were recognized, nobody on a watchlist: the household, the staff.
    public var onlyKnownPeople = -15
    public var unknownFace = 5

    public init() {}
}

/// The deterministic risk scorer: every point it gives has a reason in the trace.
public struct RiskScorer: Sendable {
    public var weights: RiskWeights
    public var requirements: BaselineRequirements

    public init(weights: RiskWeights = RiskWeights(), requirements: BaselineRequirements = BaselineRequirements()) {
        self.weights = weights
        self.requirements = requirements
    }

    public func assess(_ factors: RiskFactors) -> RiskAssessment {
        var contributions: [RiskContribution] = []
        let local = LocalTime(factors.startedAt, in: factors.schedule.timeZone)
        let classes = factors.objectCounts.filter { $0.value > 0 }.keys.sorted()
        let people = factors.objectCounts["person"] ?? 0

        // The most worrying class sets the base.
        if let top = classes.max(by: { points(for: $0) < points(for: $1) || (points(for: $0) == points(for: $1) && $0 > $1) }) {
            contributions.append(RiskContribution(factor: "object_\(top)", points: points(for: top),
                                                  explanation: "\(Self.article(top).capitalizedFirst) \(top) was seen."))
        }
        if let zone = factors.zones.max(by: { zonePoints($0) < zonePoints($1) }) {
            let typePoints = weights.zoneType[zone.type] ?? 0
            if typePoints != 0 {
                contributions.append(RiskContribution(
                    factor: "zone_\(zone.type.rawValue)", points: typePoints,
                    explanation: "It was in \(zone.name), \(Self.article(zone.type.label)) \(zone.type.label)."))
            }
            let priority = min(max(zone.priority, 0), weights.zonePriorityCap)
            if priority > 0 {
                contributions.append(RiskContribution(factor: "zone_priority", points: priority,
                                                      explanation: "\(zone.name) has priority \(zone.priority)."))
            }
        }
        if factors.afterHours {
            contributions.append(RiskContribution(
                factor: "after_hours", points: people > 0 ? weights.afterHoursWithPeople : weights.afterHoursOtherwise,
                explanation: "It happened at \(local.clock), outside the usual hours (\(factors.schedule.hoursText))."))
        }
        if let step = weights.presence.last(where: { factors.longestPresence >= $0.seconds }) {
            contributions.append(RiskContribution(factor: "dwell", points: step.points,
                                                  explanation: "Something stayed for \(Self.duration(factors.longestPresence))."))
        }
        if let activity = factors.activity {
            if activity.usual.samples < requirements.activitySamples {
                contributions.append(RiskContribution(
                    factor: "baseline_learning", points: 0,
                    explanation: "The usual activity for this hour is still being learnt (\(activity.usual.samples) of \(requirements.activitySamples) weeks)."))
            } else if let step = weights.unusualActivity.last(where: { activity.ratio >= $0.ratio }) {
                contributions.append(RiskContribution(
                    factor: "activity_above_baseline", points: step.points,
                    explanation: "That is \(Self.times(activity.ratio)) this hour's usual activity (\(Self.decimal(activity.usual.value)) events)."))
            } else if activity.usual.value >= 1, activity.observed <= activity.usual.value {
                contributions.append(RiskContribution(factor: "activity_usual", points: weights.usualActivity,
                                                      explanation: "Activity is usual for this hour."))
            }
        }
        let rare = classes.filter { name in
            guard let frequency = factors.classFrequency[name], frequency.usual.samples >= requirements.classSamples else { return false }
            return frequency.usual.value < weights.rareClassFrequency
        }
        if let name = rare.max(by: { points(for: $0) < points(for: $1) }) {
            contributions.append(RiskContribution(factor: "rare_\(name)", points: weights.rareClass,
                                                  explanation: "\(Self.plural(name).capitalizedFirst) are rarely seen here at this hour."))
        }
        if let step = weights.people.last(where: { factors.peopleInOneFrame >= $0.count }) {
            contributions.append(RiskContribution(factor: "people_count", points: step.points,
                                                  explanation: "\(factors.peopleInOneFrame) people were in view at once."))
        }
        if factors.allStationary && !classes.isEmpty {
            contributions.append(RiskContribution(factor: "stationary", points: weights.allStationary,
                                                  explanation: "Nothing moved: the objects stood still."))
        }
        let suspicious = factors.suspicious.sorted { $0.key.rawValue < $1.key.rawValue }
        var suspiciousPoints = 0
        for (type, severity) in suspicious {
            let points = min(weights.suspicious[severity] ?? 0, weights.suspiciousCap - suspiciousPoints)
            guard points > 0 else { continue }
            suspiciousPoints += points
            contributions.append(RiskContribution(factor: "suspicious_\(type.rawValue)", points: points,
                                                  explanation: "Suspicious: \(type.label) (\(severity.rawValue))."))
        }

        contributions += personContributions(factors)

        let score = min(100, max(0, contributions.reduce(0) { $0 + $1.points }))
        let level = RiskLevel(score: score)
        let reasoning = (contributions.map(\.explanation) + ["Risk \(score) of 100: \(level.rawValue)."]).joined(separator: " ")
        let thresholds: [String: JSONValue] = [
            "levels": .object(Dictionary(uniqueKeysWithValues: RiskLevel.allCases.map { ($0.rawValue, .number(Double($0.minimumScore))) })),
            "baseline_min_samples": .object(["activity": .number(Double(requirements.activitySamples)),
                                             "class": .number(Double(requirements.classSamples))]),
            "rare_class_frequency": .number(weights.rareClassFrequency),
        ]
        return RiskAssessment(score: score, level: level, summary: summary(factors, local: local, classes: classes), reasoning: reasoning,
                              contributions: contributions, thresholds: thresholds)
    }

    /// Who was recognized: a watched person raises the risk by their list's weight; people Vigil
    /// knows, and nobody else, lower it; a face nobody knows adds a little.
    func personContributions(_ factors: RiskFactors) -> [RiskContribution] {
        var contributions: [RiskContribution] = []
        for person in factors.persons.sorted(by: { $0.precedence > $1.precedence || ($0.precedence == $1.precedence && $0.id.uuidString < $1.id.uuidString) }) {
            let blacklist = person.watchlists.first { $0.type == .blacklist }
            let suspect = person.watchlists.first { $0.type == .suspect }
            let custom = person.watchlists.first { $0.type == .custom }
            if person.status == .blacklisted || blacklist != nil {
                let reason = blacklist.map { "on the watchlist \($0.name)" } ?? "blacklisted"
                contributions.append(RiskContribution(factor: "person_blacklisted", points: weights.blacklistedPerson,
                                                      explanation: "\(person.displayName.capitalizedFirst), \(reason), was recognized."))
            } else if let suspect {
                contributions.append(RiskContribution(factor: "person_suspect", points: weights.suspectPerson,
                                                      explanation: "\(person.displayName.capitalizedFirst), on the suspect watchlist \(suspect.name), was recognized."))
            } else if let custom {
                contributions.append(RiskContribution(factor: "person_watchlisted", points: weights.watchlistedPerson,
                                                      explanation: "\(person.displayName.capitalizedFirst), on the watchlist \(custom.name), was recognized."))
            } else if person.status == .vip || person.watchlists.contains(where: { $0.type == .vip }) {
                contributions.append(RiskContribution(factor: "person_vip", points: 0,
                                                      explanation: "\(person.displayName.capitalizedFirst), a VIP, was recognized."))
            }
        }
        let known = factors.persons.filter { $0.precedence == 1 }
        if !known.isEmpty, known.count == factors.persons.count, factors.unknownFaces == 0 {
            contributions.append(RiskContribution(factor: "person_known", points: weights.onlyKnownPeople,
                                                  explanation: "Only known people were recognized: \(Self.list(known.map(\.displayName)))."))
        }
        if factors.unknownFaces > 0 {
            contributions.append(RiskContribution(factor: "face_unknown", points: weights.unknownFace,
                                                  explanation: factors.unknownFaces == 1 ? "A face nobody knows was seen."
                                                      : "\(factors.unknownFaces) faces nobody knows were seen."))
        }
        return contributions
    }

    /// "Person at Front Door, Front Step entry point, for 48 s at 02:13, 6× this hour's usual activity".
    func summary(_ factors: RiskFactors, local: LocalTime, classes: [String]) -> String {
        let byImportance = classes.sorted { points(for: $0) > points(for: $1) || (points(for: $0) == points(for: $1) && $0 < $1) }
        let things = byImportance.prefix(3).map { name -> String in
            // People recognized are named: "Ana Ruiz (blacklisted) at Front Door".
            if name == "person", !factors.persons.isEmpty {
                return Self.list(factors.persons.sorted { $0.precedence > $1.precedence }.prefix(3).map { person in
                    person.precedence >= 2 ? "\(person.displayName) (\(person.isWatched ? "watched" : person.status.rawValue))" : person.displayName
                })
            }
            let count = factors.objectCounts[name] ?? 1
            return count > 1 ? "\(count) \(Self.plural(name))" : name
        }
        var text = Self.list(things).capitalizedFirst
        if text.isEmpty { text = "Activity" }
        text += " at \(factors.cameraName)"
        if let zone = factors.zones.max(by: { zonePoints($0) < zonePoints($1) }) {
            text += ", \(zone.name) \(zone.type.label)"
        }
        if factors.longestPresence >= 1 { text += ", for \(Self.duration(factors.longestPresence))" }
        text += " at \(local.clock)"
        if factors.afterHours { text += " (after hours)" }
        if let activity = factors.activity, activity.usual.samples >= requirements.activitySamples,
           activity.ratio >= (weights.unusualActivity.first?.ratio ?? 3) {
            text += ", \(Self.times(activity.ratio)) this hour's usual activity"
        }
        return text
    }

    private func points(for objectClass: String) -> Int { weights.objectClass[objectClass] ?? weights.otherClass }

    private func zonePoints(_ zone: RiskFactors.Zone) -> Int {
        (weights.zoneType[zone.type] ?? 0) * 100 + min(max(zone.priority, 0), weights.zonePriorityCap)
    }

    static func article(_ word: String) -> String { "aeiou".contains(word.first ?? "x") ? "an" : "a" }

    static func plural(_ name: String) -> String {
        switch name {
        case "person": "people"
        case "bus": "buses"
        default: name.hasSuffix("s") ? name : name + "s"
        }
    }

    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        default: items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    /// "48 s", "3 min 5 s", "2 h 10 min".
    public static func duration(_ seconds: TimeInterval) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total) s" }
        if total < 3600 { return total % 60 == 0 ? "\(total / 60) min" : "\(total / 60) min \(total % 60) s" }
        return "\(total / 3600) h \(total % 3600 / 60) min"
    }

    static func times(_ ratio: Double) -> String { "\(decimal(ratio))×" }

    static func decimal(_ value: Double) -> String {
        value >= 10 || value == value.rounded() ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }
}

extension WeeklySchedule {
    /// "06:00-22:00" or "Mon-Fri 08:00-18:00".
    public var hoursText: String {
        let clock = { (minutes: Int) in String(format: "%02d:%02d", minutes / 60, minutes % 60) }
        let hours = "\(clock(start))-\(clock(end))"
        if days.count == 7 { return hours }
        let names = days.sorted { ($0 + 6) % 7 < ($1 + 6) % 7 }.map { Self.dayNames[$0].capitalizedFirst }
        return names.joined(separator: ", ") + " " + hours
    }
}

extension ZoneType {
    /// "entry point", "restricted area".
    public var label: String {
        switch self {
        case .entryPoint: "entry point"
        case .restricted: "restricted area"
        case .watchArea: "watched area"
        case .interest: "area of interest"
        case .other: "zone"
        default: rawValue
        }
    }
}

extension ActivityType {
    public var label: String { rawValue.replacingOccurrences(of: "_", with: " ") }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension RiskScorer {
    /// The risk of an event about the scene rather than objects in it: something taken or left
    /// in a watched area, a camera covered or turned. `summary` is what happened, in words.
    public func assessScene(_ type: EventType, summary: String, at time: Date, schedule: WeeklySchedule,
                            zone: RiskFactors.Zone? = nil) -> RiskAssessment {
        var contributions: [RiskContribution] = []
        switch type {
        case .stockChanged:
            contributions.append(RiskContribution(factor: "watched_area_changed", points: 45,
                                                  explanation: "Something was taken from or left in a watched area."))
        case .cameraObstructed:
            contributions.append(RiskContribution(factor: "camera_obstructed", points: 55,
                                                  explanation: "The camera stopped seeing its scene: covered, blinded or fogged."))
        case .sceneShifted:
            contributions.append(RiskContribution(factor: "scene_shifted", points: 40, explanation: "The camera now looks somewhere else."))
        default:
            contributions.append(RiskContribution(factor: type.rawValue, points: 20, explanation: "The scene changed."))
        }
        if let zone, zone.priority > 0 {
            let points = min(zone.priority, weights.zonePriorityCap)
            contributions.append(RiskContribution(factor: "zone_priority", points: points, explanation: "\(zone.name) has priority \(zone.priority)."))
        }
        if !schedule.contains(time) {
            let local = LocalTime(time, in: schedule.timeZone)
            contributions.append(RiskContribution(factor: "after_hours", points: weights.afterHoursWithPeople,
                                                  explanation: "It happened at \(local.clock), outside the usual hours (\(schedule.hoursText))."))
        }
        let score = min(100, max(0, contributions.reduce(0) { $0 + $1.points }))
        let level = RiskLevel(score: score)
        return RiskAssessment(score: score, level: level, summary: summary,
                              reasoning: (contributions.map(\.explanation) + ["Risk \(score) of 100: \(level.rawValue)."]).joined(separator: " "),
                              contributions: contributions,
                              thresholds: ["levels": .object(Dictionary(uniqueKeysWithValues: RiskLevel.allCases.map {
                                  ($0.rawValue, .number(Double($0.minimumScore)))
                              }))])
    }
}
