import Foundation
import Testing
import VigilCore

@Suite("Networks, origins and sampled audit rows")
struct NetworkTests {
    @Test("networks hold their addresses, IPv4 written as IPv6 included; bad entries are named")
    func networks() throws {
        let lan = try #require(IPNetwork("192.168.1.0/24"))
        #expect(lan.contains("192.168.1.77") && lan.contains("::ffff:192.168.1.77"))
        #expect(!lan.contains("192.168.2.1") && !lan.contains("not an address") && !lan.contains("fe80::1"))
        #expect(IPNetwork("10.1.2.3")?.contains("10.1.2.3") == true && IPNetwork("10.1.2.3")?.contains("10.1.2.4") == false)
        #expect(IPNetwork("fe80::/10")?.contains("fe80::1%eth0") == true)
        #expect(IPNetwork("192.168.1.0/33") == nil && IPNetwork("192.168.1.0/") == nil && IPNetwork("lan") == nil)
        #expect(IPNetwork("192.168.1.9/24")?.description == "192.168.1.0/24")
        #expect(try IPNetwork.list("127.0.0.1/32, ::1/128").get().count == 2)
        #expect(throws: IPNetwork.ListError(entry: " lan")) { try IPNetwork.list("127.0.0.1, lan").get() }
        for address in ["169.254.169.254", "fe80::1", "0.0.0.0", "::ffff:169.254.169.254"] {
            #expect(IPNetwork.isForbiddenDestination(address), "\(address)")
        }
        #expect(!IPNetwork.isForbiddenDestination("192.168.1.10") && !IPNetwork.isForbiddenDestination("127.0.0.1"))
    }

    @Test("an origin matches the address the request was sent to: host without case, the scheme's default port")
    func origins() {
        #expect(OriginCheck.isSameOrigin(origin: "http://nvr.lan:8080", authority: "nvr.lan:8080"))
        #expect(OriginCheck.isSameOrigin(origin: "http://NVR.lan", authority: "nvr.lan:80"))
        #expect(OriginCheck.isSameOrigin(origin: "https://vigil.example", authority: "vigil.example"))
        #expect(OriginCheck.isSameOrigin(origin: "http://[::1]:8080", authority: "[::1]:8080"))
        #expect(!OriginCheck.isSameOrigin(origin: "http://nvr.lan:9000", authority: "nvr.lan:8080"))
        #expect(!OriginCheck.isSameOrigin(origin: "https://evil.example", authority: "nvr.lan:8080"))
        #expect(!OriginCheck.isSameOrigin(origin: "null", authority: "nvr.lan:8080"))
        #expect(!OriginCheck.isSameOrigin(origin: "http://nvr.lan:8080", authority: "user@nvr.lan:8080"))
        #expect(!OriginCheck.isSameOrigin(origin: "http://nvr.lan:8080", authority: ""))
    }

    @Test("repeated refusals from one source get one row a window, which then counts those folded into it")
    func sampling() {
        var sampler = AuditSampler(window: 60, capacity: 3)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(sampler.record("10.0.0.9 api_key_rejected", at: start) == 1)
        for second in 1...39 {
            #expect(sampler.record("10.0.0.9 api_key_rejected", at: start.addingTimeInterval(Double(second))) == nil)
        }
        #expect(sampler.record("10.0.0.8 api_key_rejected", at: start) == 1, "another source has its own row")
        #expect(sampler.record("10.0.0.9 api_key_rejected", at: start.addingTimeInterval(61)) == 40, "this row and the 39 folded")
        // Past its capacity the sampler forgets sources rather than grow: a forgotten one starts afresh.
        for index in 0..<10 { #expect(sampler.record("source \(index)", at: start.addingTimeInterval(200)) == 1) }
    }
}
