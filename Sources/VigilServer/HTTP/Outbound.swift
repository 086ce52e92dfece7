import AsyncHTTPClient
import Foundation
import NIOPosix
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// How Vigil reaches services people configure through the API (webhooks, Telegram's and
/// WhatsApp's addresses, mail servers): never a link-local address (where cloud metadata services
/// answer) and never by a redirect, so a stored credential goes only where it was configured to go.
enum Outbound {
    /// Follows no redirect: a 3xx is an answer, and a failed delivery.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The first address `host` resolves to that Vigil never sends to, or `nil` when none does.
    /// Checked before each request; the name is resolved on the blocking pool. A name that cannot be
    /// checked (the pool is stopping) counts as forbidden: nothing is sent unchecked. A name that does
    /// not resolve is not forbidden: the request then fails to connect, saying so.
    static func forbiddenAddress(ofHost host: String) async -> String? {
        if IPNetwork.addressBytes(host) != nil { return IPNetwork.isForbiddenDestination(host) ? host : nil }
        let addresses: [String]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { resolve(host) }
        } catch {
            return host
        }
        return addresses.first(where: IPNetwork.isForbiddenDestination)
    }

    /// Every address `host` resolves to, as text.
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &results) == 0 else { return [] }
        defer { freeaddrinfo(results) }
        var addresses: [String] = []
        var entry = results
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}
