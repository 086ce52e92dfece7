import Foundation

/// Ids in one text form everywhere: a UUID in lower case, as RFC 9562 writes it. Foundation writes
/// `UUID` in upper case and offers no way to change that per encoder, so JSON that Vigil sends is
/// put through ``lowercasingQuotedUUIDs(_:)`` once, at the one place it is encoded.
public enum CanonicalIds {
    /// Lowers the hex letters of every JSON string whose whole value is a UUID
    /// (`"01A24ADD-41BB-7C3E-8F00-0123456789AB"`), in one pass. Strings that merely contain a UUID
    /// among other text are left alone, and so is everything outside strings. A quote escaped
    /// inside a string (`\"`) never starts a match: a match must end with an unescaped quote 37
    /// bytes on, and an escaped one is preceded by a backslash, which is not a UUID character.
    public static func lowercasingQuotedUUIDs(_ bytes: inout [UInt8]) {
        let length = 38
        guard bytes.count >= length else { return }
        var index = 0
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            while index <= buffer.count - length {
                guard let quote = memchr(base + index, Int32(UInt8(ascii: "\"")), buffer.count - index) else { return }
                let start = base.distance(to: quote.assumingMemoryBound(to: UInt8.self))
                guard start <= buffer.count - length else { return }
                if buffer[start + length - 1] == UInt8(ascii: "\""), isUUID(buffer, from: start + 1) {
                    for offset in (start + 1)..<(start + length - 1) where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(buffer[offset]) {
                        buffer[offset] += 32
                    }
                    index = start + length
                } else {
                    index = start + 1
                }
            }
        }
    }

    /// The id as Vigil writes it: lower case.
    public static func text(_ id: UUID) -> String {
        id.uuidString.lowercased()
    }

    private static func isUUID(_ buffer: UnsafeMutableBufferPointer<UInt8>, from start: Int) -> Bool {
        for offset in 0..<36 {
            let byte = buffer[start + offset]
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
                        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) else { return false }
            }
        }
        return true
    }
}
