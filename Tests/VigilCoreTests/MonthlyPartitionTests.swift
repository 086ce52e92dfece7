import Foundation
import Testing
import VigilCore

@Suite("Monthly partitions")
struct MonthlyPartitionTests {
    func date(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    @Test("names and bounds are UTC months")
    func bounds() {
        let partition = MonthlyPartition(table: "events", containing: date("2026-02-28T23:59:59Z"))
        #expect(partition.name == "events_p202602")
        #expect(partition.start == date("2026-02-01T00:00:00Z"))
        #expect(partition.end == date("2026-03-01T00:00:00Z"))
    }

    @Test("the window crosses the year")
    func window() {
        let names = MonthlyPartition.window(table: "t", from: date("2026-11-21T12:00:00Z"), monthsAhead: 3).map(\.name)
        #expect(names == ["t_p202611", "t_p202612", "t_p202701", "t_p202702"])
    }

    @Test("names parse back; the default partition and strangers do not")
    func parsing() {
        #expect(MonthlyPartition(table: "events", partitionName: "events_p202412") == MonthlyPartition(table: "events", year: 2024, month: 12))
        #expect(MonthlyPartition(table: "events", partitionName: "events_default") == nil)
        #expect(MonthlyPartition(table: "events", partitionName: "events_p202413") == nil)
        #expect(MonthlyPartition(table: "events", partitionName: "audit_events_p202401") == nil)
        #expect(MonthlyPartition(table: "events", partitionName: "events_p2024011") == nil)
    }

    @Test("a partition is old only when its whole month is before the cut-off")
    func age() {
        let january = MonthlyPartition(table: "t", year: 2026, month: 1)
        #expect(january.isEntirelyBefore(date("2026-02-01T00:00:00Z")))
        #expect(!january.isEntirelyBefore(date("2026-01-31T23:00:00Z")))
    }
}
