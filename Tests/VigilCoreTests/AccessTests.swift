import Foundation
import Testing
@testable import VigilCore

@Suite("Permissions, API key tokens, login throttling")
struct AccessTests {
    @Test("a matrix grants exactly its true entries")
    func matrix() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(#"""
            {"cameras":{"read":true,"write":false},"events":{"read":true,"acknowledge":"yes"},"audit":true}
            """#.utf8))
        let matrix = PermissionMatrix(json: json)
        #expect(matrix.granted == [Permission("cameras", "read"), Permission("events", "read")])
        #expect(matrix.allows(.camerasRead))
        #expect(!matrix.allows(.camerasWrite))
        #expect(PermissionMatrix(granted: [.camerasRead]).isSubset(of: matrix))
        #expect(!PermissionMatrix(granted: [.camerasRead, .usersWrite]).isSubset(of: matrix))
    }

    @Test("permissions parse from resource.action only", arguments: [
        ("cameras.write", true), ("events.acknowledge", true), ("cameras", false), ("a.b.c", false), (".read", false),
    ])
    func parsing(text: String, valid: Bool) {
        #expect((Permission(text) != nil) == valid)
    }

    @Test("API keys have one shape and come out different each time")
    func tokens() {
        var generator = SystemRandomNumberGenerator()
        let keys = (0..<200).map { _ in APIKeyToken.generate(using: &generator) }
        #expect(Set(keys).count == 200)
        for key in keys {
            #expect(APIKeyToken.isWellFormed(key), "\(key)")
            #expect(key.count == 47)
        }
        #expect(APIKeyToken.displayPrefix(keys[0]).count == 8)
        #expect(!APIKeyToken.isWellFormed("vgl_short"))
        #expect(!APIKeyToken.isWellFormed("abc_" + String(repeating: "a", count: 43)))
        #expect(!APIKeyToken.isWellFormed("vgl_" + String(repeating: "-", count: 43)))
    }

    @Test("base62 keeps leading zero bytes' width and encodes the maximum")
    func base62() {
        #expect(APIKeyToken.base62([UInt8](repeating: 0, count: 32)) == String(repeating: "0", count: 43))
        #expect(APIKeyToken.base62([UInt8](repeating: 0, count: 31) + [61]) == String(repeating: "0", count: 42) + "z")
        #expect(APIKeyToken.base62([UInt8](repeating: 0, count: 31) + [62]) == String(repeating: "0", count: 41) + "10")
        #expect(APIKeyToken.base62([UInt8](repeating: 255, count: 32)).count == 43)
    }

    @Test("five failures are free, then the wait doubles up to the cap", arguments: [
        (0, 0.0), (4, 0.0), (5, 1.0), (6, 2.0), (7, 4.0), (14, 512.0), (15, 900.0), (60, 900.0),
    ])
    func throttle(failures: Int, delay: Double) {
        #expect(LoginThrottlePolicy().delay(afterFailures: failures) == delay)
    }
}
