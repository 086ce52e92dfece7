import Crypto
import Foundation
import Testing
import VigilStore
import VigilTestSupport

@Suite("Secrets at rest")
struct SecretBoxTests {
    @Test("sealed values open with the same key, never with another, and never after tampering")
    func roundTrip() throws {
        let box = try SecretBox(key: SymmetricKey(size: .bits256))
        let sealed = try box.seal("hunter2")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("hunter2"))
        #expect(try box.open(sealed) == "hunter2")
        #expect(try box.seal("hunter2") != sealed, "a fresh nonce every time")

        let other = try SecretBox(key: SymmetricKey(size: .bits256))
        #expect(throws: SecretBoxError.cannotOpen) { try other.open(sealed) }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 0x01
        #expect(throws: SecretBoxError.cannotOpen) { try box.open(tampered) }
        #expect(throws: SecretBoxError.cannotOpen) { try box.open([]) }
    }

    @Test("the key file is created once with mode 0600 and reused")
    func keyFile() throws {
        let folder = try TestPaths.temporaryFolder("vigil-secret")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try SecretBox.load(environmentValue: nil, dataDirectory: folder)
        let file = folder.appendingPathComponent("secret.key").path
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let sealed = try first.seal("camera password")
        let second = try SecretBox.load(environmentValue: nil, dataDirectory: folder)
        #expect(try second.open(sealed) == "camera password")

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        #expect(throws: SecretBoxError.self) { try SecretBox.load(environmentValue: nil, dataDirectory: folder) }
    }

    @Test("VIGIL_SECRET_KEY in hex or base64 wins over the file; anything else is refused")
    func environmentKey() throws {
        let folder = try TestPaths.temporaryFolder("vigil-secret")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hex = String(repeating: "ab", count: 32)
        let fromHex = try SecretBox.load(environmentValue: hex, dataDirectory: folder)
        let base64 = Data(repeating: 0xab, count: 32).base64EncodedString()
        let fromBase64 = try SecretBox.load(environmentValue: base64, dataDirectory: folder)
        #expect(try fromBase64.open(try fromHex.seal("x")) == "x")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("secret.key").path))
        #expect(throws: SecretBoxError.self) { try SecretBox.load(environmentValue: "too-short", dataDirectory: folder) }
    }
}
