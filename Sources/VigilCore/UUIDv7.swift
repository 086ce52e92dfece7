import Foundation

/// Generates time-ordered UUIDs (RFC 9562 version 7), so ids sort by creation time and
/// B-tree indexes stay append-friendly.
public struct UUIDv7Generator: Sendable {
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func next() -> UUID {
        var random = SystemRandomNumberGenerator()
        return Self.uuid(at: now(), filling: (0..<10).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    /// A version 7 UUID for `date` whose other 74 bits come from `bytes` (the first 10 used): random
    /// ones for a new id, a hash for an id that must come out the same each time it is made.
    public static func uuid(at date: Date, filling bytes: some Sequence<UInt8>) -> UUID {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var value = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            value[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index)))
        }
        for (index, byte) in zip(6..<16, bytes) { value[index] = byte }
        value[6] = (value[6] & 0x0F) | 0x70  // version 7
        value[8] = (value[8] & 0x3F) | 0x80  // RFC 9562 variant
        return UUID(uuid: (
            value[0], value[1], value[2], value[3], value[4], value[5], value[6], value[7],
            value[8], value[9], value[10], value[11], value[12], value[13], value[14], value[15]
        ))
    }
}
