import Hummingbird
import Synchronization

/// At most `maximum` holders at once; the rest are refused at once instead of queued, so work
/// that holds a core (bcrypt, inference) answers a burst with 429 rather than a growing wait.
final class ConcurrencyLimit: Sendable {
    let maximum: Int
    private let holders = Mutex(0)

    init(maximum: Int) {
        self.maximum = max(maximum, 1)
    }

    func tryAcquire() -> Bool {
        holders.withLock { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func release() {
        holders.withLock { $0 = max($0 - 1, 0) }
    }

    /// `body` in a slot, or `429 too_busy` with `Retry-After: 1` when every slot is taken;
    /// `what` says what there is too much of ("photos being enrolled").
    func run<Value>(tooBusyWith what: String, _ body: () async throws -> Value) async throws -> Value {
        guard tryAcquire() else {
            throw APIError(.tooManyRequests, code: "too_busy", message: "Too many \(what) at once; try again in a second.", retryAfter: 1)
        }
        defer { release() }
        return try await body()
    }
}
