import Foundation
import HummingbirdBcrypt
import HummingbirdOTP
import NIOPosix
import VigilCore

/// Password hashing and checking with bcrypt, run on NIO's blocking thread pool so a slow hash
/// never stalls the event loops.
public enum Passwords {
    /// Seed 002: bcrypt with cost 12 or more.
    public static let cost: UInt8 = 12

    /// A hash no password matches, checked when the account does not exist, so the answer takes
    /// as long either way and timing does not reveal which accounts exist.
    static let decoyHash = Bcrypt.hash("vigil-decoy-password", cost: cost)

    public static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public static func verify(_ password: String, hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }

}

/// Time-based one-time passwords (RFC 6238: 6 digits, 30 s steps, HMAC-SHA1), as authenticator apps use.
public enum OneTimeCodes {
    /// A new shared secret: 32 characters of letters and digits (about 190 bits).
    public static func makeSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet.randomElement(using: &generator)! })
    }

    /// The code for `date`, zero-padded to 6 digits.
    public static func code(secret: String, at date: Date) -> String {
        String(format: "%06d", TOTP(secret: secret).compute(date: date))
    }

    /// Accepts the code of the current step or one step either side (clock drift), compared in constant time.
    public static func verify(_ code: String, secret: String, at date: Date) -> Bool {
        acceptedStep(code, secret: secret, at: date) != nil
    }

    /// The 30-second step whose code `code` is (the current one or one either side), or `nil`.
    /// The caller records it so that a code, once accepted, is never accepted again.
    public static func acceptedStep(_ code: String, secret: String, at date: Date) -> Int64? {
        guard code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else { return nil }
        var accepted: Int64?
        for offset in [-30.0, 0, 30] {
            let moment = date.addingTimeInterval(offset)
            if constantTimeEquals(self.code(secret: secret, at: moment), code) {
                accepted = Int64((moment.timeIntervalSince1970 / 30).rounded(.down))
            }
        }
        return accepted
    }

    /// The `otpauth://` address an authenticator app scans.
    public static func enrolmentURL(secret: String, account: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "Vigil:\(account)", issuer: "Vigil")
    }
}

/// Compares two strings in time that depends only on their lengths.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let left = Array(a.utf8)
    let right = Array(b.utf8)
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}
