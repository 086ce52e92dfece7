/// The text of an API key: `vgl_` followed by 32 random bytes in base62 (43 characters).
///
/// Only its SHA-256 is stored; the key is shown once when created. Camera device tokens have the
/// same shape with ``deviceTokenPrefix``.
public enum APIKeyToken {
    public static let prefix = "vgl_"
    /// Device tokens: what an ESP32 camera sends with each frame.
    public static let deviceTokenPrefix = "vgd_"
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    static let encodedLength = 43  // ceil(256 / log2(62))

    /// A new key from 32 bytes of `generator`, which must be cryptographically secure outside tests.
    public static func generate<Generator: RandomNumberGenerator>(prefix: String = prefix, using generator: inout Generator) -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + base62(bytes)
    }

    public static func generate(prefix: String = prefix) -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(prefix: prefix, using: &generator)
    }

    /// Whether `text` has the shape of a key (checked before any database look-up).
    public static func isWellFormed(_ text: String, prefix: String = prefix) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let body = text.dropFirst(prefix.count)
        return body.count == encodedLength && body.allSatisfy { alphabet.contains($0) }
    }

    /// The first characters, safe to show so a person can tell keys apart (`vgl_3fK9`).
    public static func displayPrefix(_ key: String) -> String {
        String(key.prefix(prefix.count + 4))
    }

    /// Big-endian base62, left-padded to a fixed length so every key has the same shape.
    static func base62(_ bytes: [UInt8]) -> String {
        var digits: [UInt8] = bytes
        var output: [Character] = []
        while digits.contains(where: { $0 != 0 }) {
            var remainder = 0
            var quotient: [UInt8] = []
            for digit in digits {
                let accumulator = remainder * 256 + Int(digit)
                let q = accumulator / 62
                remainder = accumulator % 62
                if !quotient.isEmpty || q != 0 { quotient.append(UInt8(q)) }
            }
            output.append(alphabet[remainder])
            digits = quotient
        }
        while output.count < encodedLength { output.append(alphabet[0]) }
        return String(output.reversed())
    }
}
