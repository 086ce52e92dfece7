import Foundation
import Testing
import VigilCore

@Suite("UUIDv7 ids")
struct UUIDv7Tests {
    @Test("version 7, RFC variant, and the injected time in the first 48 bits")
    func layout() {
        let instant = Date(timeIntervalSince1970: 1_767_225_600.123)  // 2026-01-01T00:00:00.123Z
        let id = UUIDv7Generator(now: { instant }).next()
        let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 7)
        #expect(bytes[8] >> 6 == 0b10)
        let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(milliseconds == 1_767_225_600_123)
    }

    @Test("ids from later instants sort after earlier ones")
    func ordering() {
        var clock = Date(timeIntervalSince1970: 1_767_225_600)
        var ids: [String] = []
        for _ in 0..<50 {
            let now = clock
            ids.append(UUIDv7Generator(now: { now }).next().uuidString)
            clock.addTimeInterval(0.001)
        }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
    }
}
