import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IP network written as `address/prefix` (`192.168.1.0/24`, `fe80::/10`) or a single address.
///
/// Used for the operator's lists (trusted proxies, networks open to DeepStack clients) and for the
/// addresses outbound requests must never reach. An IPv4 address written as IPv6
/// (`::ffff:192.168.1.7`, as a dual-stack socket reports it) is matched as IPv4.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let bytes = Self.addressBytes(String(parts[0])) else { return nil }
        let width = bytes.count * 8
        var prefix = width
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...width).contains(length), parts[1].allSatisfy(\.isASCII) else { return nil }
            prefix = length
        }
        self.bytes = Self.masked(bytes, prefix: prefix)
        self.prefixLength = prefix
    }

    /// A comma-separated list, or the first entry that is not a network.
    public static func list(_ text: String) -> Result<[IPNetwork], ListError> {
        var networks: [IPNetwork] = []
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let network = IPNetwork(String(item)) else { return .failure(ListError(entry: String(item))) }
            networks.append(network)
        }
        return .success(networks)
    }

    public struct ListError: Error, Equatable {
        public let entry: String

        public init(entry: String) {
            self.entry = entry
        }
    }

    /// Whether `address` (text, as a socket reports it) lies in this network.
    public func contains(_ address: String) -> Bool {
        guard let candidate = Self.addressBytes(address) else { return false }
        return contains(bytes: candidate)
    }

    public func contains(bytes candidate: [UInt8]) -> Bool {
        candidate.count == bytes.count && Self.masked(candidate, prefix: prefixLength) == bytes
    }

    public var description: String {
        var storage = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let text = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &storage, socklen_t(storage.count)) != nil }
            ? String(decoding: storage.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        return "\(text)/\(prefixLength)"
    }

    /// The address's bytes: 4 for IPv4 (also when written IPv4-mapped in IPv6), else 16.
    public static func addressBytes(_ text: String) -> [UInt8]? {
        var address = text
        if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        // A zone (`fe80::1%eth0`) names an interface, not part of the address.
        if let percent = address.firstIndex(of: "%") { address = String(address[..<percent]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return Array(bytes[12...]) }
        return bytes
    }

    private static func masked(_ bytes: [UInt8], prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsKept = min(max(prefix - index * 8, 0), 8)
            return bitsKept == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xff << (8 - bitsKept))
        }
    }

    /// Addresses an outbound request (webhook, remote detector, language model) must never reach:
    /// link-local, where cloud metadata services answer, and the unspecified addresses.
    public static let forbiddenDestinations: [IPNetwork] = ["169.254.0.0/16", "fe80::/10", "0.0.0.0/32", "::/128"]
        .compactMap(IPNetwork.init)

    public static func isForbiddenDestination(_ address: String) -> Bool {
        guard let bytes = addressBytes(address) else { return false }
        return forbiddenDestinations.contains { $0.contains(bytes: bytes) }
    }
}

/// Whether a browser's `Origin` names the site a request was sent to: the same host and port
/// (a port left out is the scheme's default). Vigil itself speaks plain HTTP; behind a TLS proxy
/// the browser's `https` origin meets the proxy's address, so schemes are not compared.
public enum OriginCheck {
    public static func isSameOrigin(origin: String, authority: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound].lowercased()
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        guard let defaultPort, let theirs = hostAndPort(String(origin[schemeEnd.upperBound...]), defaultPort: defaultPort),
              let ours = hostAndPort(authority, defaultPort: defaultPort) else { return false }
        return theirs.host == ours.host && theirs.port == ours.port
    }

    /// `host[:port]` (IPv6 in brackets) in lower case with its port; `nil` when malformed.
    static func hostAndPort(_ text: String, defaultPort: Int) -> (host: String, port: Int)? {
        guard !text.isEmpty, !text.contains("/"), !text.contains("@") else { return nil }
        var host = Substring(text)
        var port = defaultPort
        if let bracket = text.lastIndex(of: "]") {
            guard text.hasPrefix("[") else { return nil }
            host = text[...bracket]
            let rest = text[text.index(after: bracket)...]
            if !rest.isEmpty {
                guard rest.first == ":", let number = Int(rest.dropFirst()) else { return nil }
                port = number
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            guard let number = Int(text[text.index(after: colon)...]) else { return nil }
            port = number
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
        return (host.lowercased(), port)
    }
}
