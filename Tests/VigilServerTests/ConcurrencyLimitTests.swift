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
}
