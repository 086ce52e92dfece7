import Foundation

/// Decides which of many like occurrences (a rejected key, a failed sign-in, a key-less DeepStack
/// call) gets an audit row: the first of each source and reason in a window, carrying the count of
/// those folded into it since the last row. A flood of guesses leaves a few rows a minute, not
/// one per guess, and nothing is lost from the count.
public struct AuditSampler: Sendable {
    public let window: TimeInterval
    /// Sources remembered at most; past it, the expired ones are forgotten first, then all.
    public let capacity: Int
    private var entries: [String: Entry] = [:]

    private struct Entry: Sendable {
        var lastRow: Date
        var folded: Int
    }

    public init(window: TimeInterval = 60, capacity: Int = 10_000) {
        self.window = window
        self.capacity = capacity
    }

    /// Records one occurrence of `key` at `now`. Returns how many occurrences the row to write now
    /// stands for (1 for the first, 1 + those folded since), or `nil` when this one is folded.
    public mutating func record(_ key: String, at now: Date) -> Int? {
        if var entry = entries[key] {
            if now.timeIntervalSince(entry.lastRow) < window {
                entry.folded += 1
                entries[key] = entry
                return nil
            }
            entries[key] = Entry(lastRow: now, folded: 0)
            return entry.folded + 1
        }
        if entries.count >= capacity {
            entries = entries.filter { now.timeIntervalSince($0.value.lastRow) < window }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[key] = Entry(lastRow: now, folded: 0)
        return 1
    }
}
