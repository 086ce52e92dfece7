import Crypto
import Foundation

/// SHA-256 as lowercase hex: how Vigil stores checksums of media and hashes of tokens.
public enum Digest {
    public static func sha256Hex(_ bytes: some DataProtocol) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
