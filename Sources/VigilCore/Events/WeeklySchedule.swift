import Foundation

/// A weekly window of wall-clock time in a time zone: seed 000's
/// `{"days": ["mon", ...], "start_time": "22:00", "end_time": "06:00", "timezone": "America/Chicago"}`
/// and seed 002's `{"days": [0, 1, ...], ...}` (0 = Sunday). A window whose end is before its start
/// crosses midnight and belongs to the day it starts on: Monday 22:00-06:00 covers Tuesday 02:00.
/// Times are wall-clock times, so the window follows daylight-saving changes.
public struct WeeklySchedule: Sendable, Equatable {
    /// Days the window starts on, 0 = Sunday ... 6 = Saturday.
    public var days: Set<Int>
    /// Minutes after midnight.
    public var start: Int
    /// Minutes after midnight; 23:59 means the end of the day.
    public var end: Int
    public var timeZone: TimeZone

    public init(days: Set<Int> = Set(0...6), start: Int, end: Int, timeZone: TimeZone) {
        self.days = days
        self.start = start
        self.end = end
        self.timeZone = timeZone
    }

    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Whether `date` falls inside the window.
    public func contains(_ date: Date) -> Bool {
        let local = LocalTime(date, in: timeZone)
        let minute = local.minuteOfDay
        let endOfWindow = end == 23 * 60 + 59 ? 24 * 60 : end
        if start == endOfWindow || (start == 0 && endOfWindow == 24 * 60) { return days.contains(local.weekday) }
        if start < endOfWindow { return days.contains(local.weekday) && minute >= start && minute < endOfWindow }
        let yesterday = (local.weekday + 6) % 7
        return (days.contains(local.weekday) && minute >= start) || (days.contains(yesterday) && minute < endOfWindow)
    }

    /// Reads a schedule object; problems go to `report` under `field` and give nil.
    public static func parse(_ value: JSONValue, defaultTimeZone: String, field: String,
                             report: inout ValidationReport) -> WeeklySchedule? {
        guard let members = value.objectValue else {
            report.add(field, "must be an object like {\"days\": [\"mon\"], \"start_time\": \"22:00\", \"end_time\": \"06:00\"}")
            return nil
        }
        var problems = ValidationReport()
        let known: Set = ["days", "start_time", "end_time", "timezone"]
        for key in members.keys.sorted() where !known.contains(key) {
            problems.add("\(field).\(key)", "is not a schedule field (days, start_time, end_time, timezone)")
        }
        var days = Set(0...6)
        if let listed = members["days"] {
            days = []
            if case .array(let items) = listed, !items.isEmpty {
                for item in items {
                    switch item {
                    case .string(let name):
                        if let index = dayNames.firstIndex(of: String(name.lowercased().prefix(3))), name.count >= 3 {
                            days.insert(index)
                        } else {
                            problems.add("\(field).days", "'\(name)' is not a day (use mon, tue, ... or 0-6 with 0 = Sunday)")
                        }
                    case .number(let number) where number == number.rounded() && (0...6).contains(number):
                        days.insert(Int(number))
                    default:
                        problems.add("\(field).days", "must list days as mon...sun or 0-6 (0 = Sunday)")
                    }
                }
            } else {
                problems.add("\(field).days", "must be a non-empty list of days")
            }
        }
        let start = clockTime(members["start_time"], field: "\(field).start_time", report: &problems)
        let end = clockTime(members["end_time"], field: "\(field).end_time", report: &problems)
        var zoneName = defaultTimeZone
        if let given = members["timezone"] {
            if case .string(let name) = given { zoneName = name } else { problems.add("\(field).timezone", "must be a time zone name") }
        }
        let timeZone = TimeZone(identifier: zoneName)
        if timeZone == nil { problems.add("\(field).timezone", "'\(zoneName)' is not a known IANA time zone (for example Europe/London)") }
        report.merge(problems)
        guard problems.isValid, let start, let end, let timeZone else { return nil }
        return WeeklySchedule(days: days, start: start, end: end, timeZone: timeZone)
    }

    /// Reads "HH:MM" (24-hour clock) as minutes after midnight.
    public static func minutes(of text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        return hour * 60 + minute
    }

    private static func clockTime(_ value: JSONValue?, field: String, report: inout ValidationReport) -> Int? {
        guard let value else {
            report.add(field, "is required, as HH:MM")
            return nil
        }
        guard case .string(let text) = value, let minutes = minutes(of: text) else {
            report.add(field, "must be a time as HH:MM on a 24-hour clock, like 06:30")
            return nil
        }
        return minutes
    }

    public var jsonValue: JSONValue {
        func clock(_ minutes: Int) -> JSONValue { .string(String(format: "%02d:%02d", minutes / 60, minutes % 60)) }
        return .object([
            "days": .array(days.sorted().map { .string(Self.dayNames[$0]) }),
            "start_time": clock(start), "end_time": clock(end), "timezone": .string(timeZone.identifier),
        ])
    }
}

/// A moment as a wall clock in a time zone shows it.
public struct LocalTime: Sendable, Equatable {
    /// 0 = Sunday ... 6 = Saturday.
    public var weekday: Int
    public var hour: Int
    public var minute: Int

    public init(_ date: Date, in timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        weekday = (parts.weekday ?? 1) - 1
        hour = parts.hour ?? 0
        minute = parts.minute ?? 0
    }

    public var minuteOfDay: Int { hour * 60 + minute }
    /// Seed 000's `day_of_week`: 0 = Monday ... 6 = Sunday.
    public var mondayBasedWeekday: Int { (weekday + 6) % 7 }
    /// "02:13".
    public var clock: String { String(format: "%02d:%02d", hour, minute) }
}
