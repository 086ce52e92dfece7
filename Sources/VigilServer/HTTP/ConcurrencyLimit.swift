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
}
