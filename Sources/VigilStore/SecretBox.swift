import Crypto
import Foundation

/// Encrypts secrets at rest (DVR credentials, TOTP secrets, notification credentials) with
/// AES-256-GCM under one master key.
///
/// The key comes from `VIGIL_SECRET_KEY` (64 hex digits or base64 of 32 bytes) or, by default, from
/// `<data dir>/secret.key`, created with mode 0600 on first use. A sealed value is
/// `version (1 byte) ‖ nonce ‖ ciphertext ‖ tag`, so the format can change later without
/// ambiguity.
///
/// - Important: Losing the key file makes every stored secret unreadable; back it up with the database.
public struct SecretBox: Sendable {
    /// The key's bytes: `SymmetricKey` is not `Sendable`, so one is made for each use.
    private let keyBytes: [UInt8]
    static let formatVersion: UInt8 = 1

    public init(key: SymmetricKey) throws(SecretBoxError) {
        guard key.bitCount == 256 else { throw .invalidKey("the key must be 32 bytes") }
        self.keyBytes = key.withUnsafeBytes { Array($0) }
    }

    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// The key from `VIGIL_SECRET_KEY`, else from the key file in `dataDirectory`, created if missing.
    public static func load(environmentValue: String?, dataDirectory: URL) throws -> SecretBox {
        if let text = environmentValue?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            return try SecretBox(key: try parseKey(text))
        }
        let file = dataDirectory.appendingPathComponent("secret.key")
        if FileManager.default.fileExists(atPath: file.path) {
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                throw SecretBoxError.invalidKey("\(file.path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
            }
            let text = try String(contentsOf: file, encoding: .utf8)
            return try SecretBox(key: try parseKey(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256)
        let hex = key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        // Created with mode 0600 from the start, never readable by others even briefly.
        guard FileManager.default.createFile(atPath: file.path, contents: Data((hex + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw SecretBoxError.invalidKey("cannot create \(file.path)")
        }
        return try SecretBox(key: key)
    }

    static func parseKey(_ text: String) throws(SecretBoxError) -> SymmetricKey {
        if text.count == 64, let bytes = hexBytes(text) {
            return SymmetricKey(data: bytes)
        }
        if let data = Data(base64Encoded: text), data.count == 32 {
            return SymmetricKey(data: data)
        }
        throw .invalidKey("VIGIL_SECRET_KEY must be 64 hex digits or the base64 of 32 bytes")
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    public func seal(_ plaintext: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw SecretBoxError.cannotOpen }
        return [Self.formatVersion] + Array(combined)
    }

    public func open(_ sealed: [UInt8]) throws(SecretBoxError) -> String {
        guard sealed.first == Self.formatVersion else { throw .cannotOpen }
        do {
            let box = try AES.GCM.SealedBox(combined: Data(sealed.dropFirst()))
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw .cannotOpen
        }
    }
}

public enum SecretBoxError: Error, CustomStringConvertible, Equatable {
    case invalidKey(String)
    /// Wrong key, or the value was altered: GCM authenticates as it decrypts.
    case cannotOpen

    public var description: String {
        switch self {
        case .invalidKey(let reason): "secret key: \(reason)"
        case .cannotOpen: "a stored secret cannot be decrypted with this key (wrong VIGIL_SECRET_KEY or secret.key?)"
        }
    }
}
