import Crypto
import Foundation
import Synchronization
import VigilCore

/// The one-time token that lets the first administrator be created from the browser: made at
/// start while no user exists and printed in the log (only someone who can read the server's log
/// can claim a fresh install), used once. Only its hash is kept.
public final class SetupToken: Sendable {
    private let hash = Mutex<[UInt8]?>(nil)

    public init() {}

    /// A new token (24 random bytes, base32 for reading off a log); any earlier one stops working.
    public func issue() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let token = Self.base32(bytes)
        hash.withLock { $0 = Array(SHA256.hash(data: Data(token.utf8))) }
        return token
    }

    public var isIssued: Bool { hash.withLock { $0 != nil } }

    /// Whether `candidate` is the token; a match uses it up, so two requests cannot both succeed.
    func consume(_ candidate: String) -> Bool {
        let offered = Array(SHA256.hash(data: Data(candidate.trimmingCharacters(in: .whitespaces).uppercased().utf8)))
        return hash.withLock { stored in
            guard let expected = stored, expected.count == offered.count else { return false }
            // Compared in constant time: how far a guess matches must not show in the answer's timing.
            guard zip(expected, offered).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return false }
            stored = nil
            return true
        }
    }

    /// Puts a consumed token back (the administrator could not be created after all).
    func restore(_ token: String) {
        hash.withLock { $0 = Array(SHA256.hash(data: Data(token.trimmingCharacters(in: .whitespaces).uppercased().utf8))) }
    }

    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var output = "", buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return output
    }
}

/// `POST /api/v1/setup`: the first administrator, created with the setup token.
public struct SetupInput: Codable, Sendable, StrictInput {
    public var setupToken: String
    public var username: String
    public var email: String
    public var password: String

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case username, email, password
        case setupToken = "setup_token"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public var user: UserInput { UserInput(username: username, email: email, password: password, role: "super_admin") }

    public func validate() -> ValidationReport {
        var report = user.validate()
        report.check(!setupToken.isEmpty && setupToken.count <= 100, "setup_token", "is required: Vigil printed it in its log at start")
        return report
    }
}
