import Testing
@testable import VigilServer

@Suite("Limits on heavy work")
struct ConcurrencyLimitTests {
    @Test("at most the limit hold a slot at once; a released slot is taken again; a burst from many tasks never exceeds it")
    func slots() async {
        let limit = ConcurrencyLimit(maximum: 4)
        #expect((0..<4).allSatisfy { _ in limit.tryAcquire() })
        #expect(!limit.tryAcquire(), "the fifth is refused")
        limit.release()
        #expect(limit.tryAcquire())
        (0..<4).forEach { _ in limit.release() }
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 { group.addTask { limit.tryAcquire() } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 4, "100 tasks at once: exactly the four free slots")
    }

    @Test("run answers 429 too_busy with Retry-After when every slot is taken, and frees its slot when the work throws")
    func run() async throws {
        let limit = ConcurrencyLimit(maximum: 1)
        #expect(limit.tryAcquire())
        let refusal = await #expect(throws: APIError.self) { try await limit.run(tooBusyWith: "photos being enrolled") { 1 } }
        #expect(refusal?.status == .tooManyRequests && refusal?.code == "too_busy" && refusal?.retryAfter == 1)
        #expect(refusal?.message.contains("photos being enrolled") == true)
        limit.release()
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await limit.run(tooBusyWith: "frames") { throw Failed() } }
        #expect(try await limit.run(tooBusyWith: "frames") { 2 } == 2, "the failed work gave its slot back")
    }
}
