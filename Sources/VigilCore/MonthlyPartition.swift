import Foundation

/// One month of a range-partitioned table: its name and its `[start, end)` bounds in UTC.
///
/// Partitions are named `<table>_pYYYYMM`. The name alone tells the month, so listing and
/// dropping old partitions needs no catalog parsing.
public struct MonthlyPartition: Hashable, Sendable {
    public let table: String
    public let year: Int
    public let month: Int

    public init(table: String, year: Int, month: Int) {
        precondition((1...12).contains(month), "month must be 1...12")
        self.table = table
        self.year = year
        self.month = month
    }

    /// The partition holding `date`.
    public init(table: String, containing date: Date) {
        let parts = Self.calendar.dateComponents([.year, .month], from: date)
        self.init(table: table, year: parts.year!, month: parts.month!)
    }

    /// Parses a partition name made by ``name``; `nil` for any other name (such as the DEFAULT partition).
    public init?(table: String, partitionName: String) {
        let prefix = "\(table)_p"
        guard partitionName.hasPrefix(prefix) else { return nil }
        let digits = partitionName.dropFirst(prefix.count)
        guard digits.count == 6, digits.allSatisfy(\.isASCII), let value = Int(digits) else { return nil }
        let year = value / 100
        let month = value % 100
        guard (1...12).contains(month) else { return nil }
        self.init(table: table, year: year, month: month)
    }

    public var name: String {
        "\(table)_p\(String(format: "%04d%02d", year, month))"
    }

    /// First instant of the month, UTC.
    public var start: Date {
        Self.calendar.date(from: DateComponents(year: year, month: month, day: 1))!
    }

    /// First instant of the next month, UTC (exclusive upper bound).
    public var end: Date {
        next.start
    }

    public var next: MonthlyPartition {
        month == 12
            ? MonthlyPartition(table: table, year: year + 1, month: 1)
            : MonthlyPartition(table: table, year: year, month: month + 1)
    }

    public var previous: MonthlyPartition {
        month == 1
            ? MonthlyPartition(table: table, year: year - 1, month: 12)
            : MonthlyPartition(table: table, year: year, month: month - 1)
    }

    /// The partitions from the month holding `date` through `monthsAhead` months after it.
    public static func window(table: String, from date: Date, monthsAhead: Int) -> [MonthlyPartition] {
        var partitions = [MonthlyPartition(table: table, containing: date)]
        for _ in 0..<max(0, monthsAhead) {
            partitions.append(partitions.last!.next)
        }
        return partitions
    }

    /// Whether every row this partition can hold is older than `cutoff`.
    public func isEntirelyBefore(_ cutoff: Date) -> Bool {
        end <= cutoff
    }

    /// The name of a table's DEFAULT partition, which catches rows outside every monthly range.
    public static func defaultPartitionName(table: String) -> String {
        "\(table)_default"
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
