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

@Suite("Ids in one text form")
struct CanonicalIdsTests {
    func lowered(_ text: String) -> String {
        var bytes = Array(text.utf8)
        CanonicalIds.lowercasingQuotedUUIDs(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("a string that is a UUID is written in lower case; one that merely holds one, and escaped quotes, are left alone")
    func lowering() {
        let id = "01A24ADD-41BB-7C3E-8F00-0123456789AB"
        #expect(lowered(#"{"id":"\#(id)","camera_ids":["\#(id)"]}"#) == #"{"id":"\#(id.lowercased())","camera_ids":["\#(id.lowercased())"]}"#)
        #expect(lowered(#"{"message":"No camera '\#(id)' exists."}"#) == #"{"message":"No camera '\#(id)' exists."}"#)
        #expect(lowered(#"{"name":"a \"\#(id)\" b"}"#) == #"{"name":"a \"\#(id)\" b"}"#)
        #expect(lowered(#"{"id":"01A24ADD-41BB-7C3E-8F00-0123456789AG"}"#) == #"{"id":"01A24ADD-41BB-7C3E-8F00-0123456789AG"}"#)
        #expect(lowered(#"""#) == #"""#)
        #expect(CanonicalIds.text(UUID(uuidString: id)!) == id.lowercased())
    }
}
