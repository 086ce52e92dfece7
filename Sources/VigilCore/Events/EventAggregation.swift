import Foundation

/// How a camera's detections become events (seed 000's batch aggregation), what counts as
/// suspicious, and when activity is expected. Server-wide defaults, overridden per camera by the
/// camera's `config.events`.
public struct EventSettings: Sendable, Equatable {
    /// An event collects detections for at most this long after its first one...
    public var window: TimeInterval = 90
    /// ...and closes once the camera has seen nothing for this long.
    public var idle: TimeInterval = 30
    /// Detections that make an event at once instead of waiting for the window (nil: none do).
    public var fastPath: FastPathCondition? = FastPathCondition()
    public var activity = ActivityThresholds()
    /// When activity is expected; outside it is "after hours". Nil means the default
    /// (06:00-22:00 every day in the site's time zone).
    public var schedule: WeeklySchedule?
    /// Whether frames are watched for a covered or turned camera (`camera_obstructed`, `scene_shifted`).
    public var healthChecks = true

    public init() {}

    /// When activity is expected at a site in `timeZone` with no schedule of its own.
    public static func defaultSchedule(in timeZone: TimeZone) -> WeeklySchedule {
        WeeklySchedule(start: 6 * 60, end: 22 * 60, timeZone: timeZone)
    }

    public func schedule(defaultTimeZone: TimeZone) -> WeeklySchedule {
        schedule ?? Self.defaultSchedule(in: defaultTimeZone)
    }

    /// These settings with a camera's `config.events` applied (problems go to `report` and keep
    /// the setting as it was). `siteTimeZone` is where a schedule without a time zone is read.
    public func applying(cameraConfig config: JSONValue, siteTimeZone: String, report: inout ValidationReport) -> EventSettings {
        var settings = self
        guard let given = config.objectValue?["events"] else { return settings }
        guard let members = given.objectValue else {
            report.add("config.events", "must be a JSON object")
            return settings
        }
        func seconds(_ key: String, _ range: ClosedRange<Double>) -> Double? {
            guard let value = members[key] else { return nil }
            guard case .number(let number) = value, range.contains(number) else {
                report.add("config.events.\(key)", "must be a number of seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
                return nil
            }
            return number
        }
        func count(_ key: String, _ range: ClosedRange<Int>) -> Int? {
            guard let value = members[key] else { return nil }
            guard case .number(let number) = value, number == number.rounded(), range.contains(Int(number)) else {
                report.add("config.events.\(key)", "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return Int(number)
        }
        let known: Set = ["window_seconds", "idle_seconds", "fast_path", "schedule", "loiter_seconds", "dwell_seconds",
                          "crowd_size", "repeated_entries", "repeated_entry_window_seconds", "running_speed",
                          "abandoned_seconds", "watch_area_threshold", "health_checks"]
        for key in members.keys.sorted() where !known.contains(key) {
            report.add("config.events.\(key)", "is not an event setting (\(known.sorted().joined(separator: ", ")))")
        }
        if let window = seconds("window_seconds", 5...3600) { settings.window = window }
        if let idle = seconds("idle_seconds", 2...3600) { settings.idle = idle }
        if let loiter = seconds("loiter_seconds", 5...86_400) { settings.activity.loiterSeconds = loiter }
        if let dwell = seconds("dwell_seconds", 5...86_400) { settings.activity.dwellSeconds = dwell }
        if let abandoned = seconds("abandoned_seconds", 5...86_400) { settings.activity.abandonedSeconds = abandoned }
        if let window = seconds("repeated_entry_window_seconds", 10...86_400) { settings.activity.repeatedEntryWindow = window }
        if let crowd = count("crowd_size", 2...1000) { settings.activity.crowdSize = crowd }
        if let entries = count("repeated_entries", 2...1000) { settings.activity.repeatedEntries = entries }
        if let value = members["running_speed"] {
            if case .number(let speed) = value, speed > 0, speed <= 100 { settings.activity.runningSpeed = speed } else {
                report.add("config.events.running_speed", "must be a speed in frame widths per second, above 0")
            }
        }
        if let value = members["watch_area_threshold"] {
            if case .number(let threshold) = value, threshold > 0, threshold < 1 { settings.activity.watchAreaThreshold = threshold } else {
                report.add("config.events.watch_area_threshold", "must be a fraction of the area, above 0 and below 1")
            }
        }
        if let value = members["health_checks"] {
            if case .bool(let enabled) = value { settings.healthChecks = enabled } else {
                report.add("config.events.health_checks", "must be true or false")
            }
        }
        if let value = members["fast_path"] {
            switch value {
            case .bool(false), .null: settings.fastPath = nil
            case .object:
                if let condition = FastPathCondition.parse(value, report: &report) { settings.fastPath = condition }
            default: report.add("config.events.fast_path", "must be false or an object {object_types, zone_types, min_confidence}")
            }
        }
        if let value = members["schedule"] {
            if let schedule = WeeklySchedule.parse(value, defaultTimeZone: siteTimeZone, field: "config.events.schedule", report: &report) {
                settings.schedule = schedule
            }
        }
        return settings
    }
}

/// A detection that matters enough to raise its event at once (seed 000's fast path): by
/// default a person in an entry point or restricted zone, seen with confidence 0.8 or more.
public struct FastPathCondition: Sendable, Equatable {
    public var objectTypes: Set<String> = ["person"]
    /// The detection must stand in a zone of one of these types; empty means anywhere.
    public var zoneTypes: Set<ZoneType> = [.entryPoint, .restricted]
    public var minConfidence = 0.8

    public init() {}

    public func matches(objectType: String, confidence: Double, zoneTypes hit: some Sequence<ZoneType>) -> Bool {
        guard objectTypes.contains(objectType), confidence >= minConfidence else { return false }
        return zoneTypes.isEmpty || hit.contains { zoneTypes.contains($0) }
    }

    static func parse(_ value: JSONValue, report: inout ValidationReport) -> FastPathCondition? {
        var condition = FastPathCondition()
        let members = value.objectValue ?? [:]
        var problems = ValidationReport()
        for key in members.keys.sorted() where !["object_types", "zone_types", "min_confidence"].contains(key) {
            problems.add("config.events.fast_path.\(key)", "is not a fast-path field (object_types, zone_types, min_confidence)")
        }
        if let given = members["object_types"] {
            let names = given.arrayValue?.compactMap(\.stringValue) ?? []
            if names.isEmpty || names.count != given.arrayValue?.count {
                problems.add("config.events.fast_path.object_types", "must list object class names")
            } else {
                condition.objectTypes = Set(names)
            }
        }
        if let given = members["zone_types"] {
            let names = given.arrayValue?.compactMap(\.stringValue) ?? []
            let types = names.compactMap(ZoneType.init(rawValue:))
            if types.count != names.count || names.count != given.arrayValue?.count {
                problems.add("config.events.fast_path.zone_types", "must list zone types among \(ZoneType.allowedValues)")
            } else {
                condition.zoneTypes = Set(types)
            }
        }
        if let given = members["min_confidence"] {
            if case .number(let confidence) = given, (0...1).contains(confidence) { condition.minConfidence = confidence } else {
                problems.add("config.events.fast_path.min_confidence", "must be from 0 to 1")
            }
        }
        report.merge(problems)
        return problems.isValid ? condition : nil
    }
}

/// The state of a camera's open event that aggregation needs.
public struct OpenEvent: Sendable, Equatable {
    public var id: UUID
    public var startedAt: Date
    /// The time of its newest detection (seed 000's `ended_at` while it is open).
    public var lastDetectionAt: Date
    public var isFastPath: Bool

    public init(id: UUID, startedAt: Date, lastDetectionAt: Date, isFastPath: Bool) {
        self.id = id
        self.startedAt = startedAt
        self.lastDetectionAt = lastDetectionAt
        self.isFastPath = isFastPath
    }

    /// When the event closes if nothing more joins it: its window ends or the camera goes idle.
    public func closesAt(_ settings: EventSettings) -> Date {
        min(startedAt.addingTimeInterval(settings.window), lastDetectionAt.addingTimeInterval(settings.idle))
    }
}

/// Where a frame's detections go (seed 000's BatchAggregator, one camera at a time).
public enum EventPlacement: Sendable, Equatable {
    /// Into the open event.
    case join(UUID)
    /// Into a new event; the open one, if any, closes first.
    case open(closing: UUID?)
}

public enum EventAggregator {
    /// Where detections of a frame taken at `time` go, given the camera's open event.
    ///
    /// A frame joins the open event while the event's window and idle time still hold at the
    /// frame's time; a late frame (older than the newest detection) joins it too when it falls
    /// inside the window, so out-of-order delivery never splits an episode.
    public static func place(frameAt time: Date, open: OpenEvent?, settings: EventSettings) -> EventPlacement {
        guard let open else { return .open(closing: nil) }
        let insideWindow = time < open.startedAt.addingTimeInterval(settings.window) && time >= open.startedAt.addingTimeInterval(-settings.idle)
        let notIdle = time <= open.lastDetectionAt.addingTimeInterval(settings.idle)
        return insideWindow && notIdle ? .join(open.id) : .open(closing: open.id)
    }
}
