import Foundation

/// How long a run of failed logins blocks further attempts, per account and per client address.
///
/// The first ``freeFailures`` failures cost nothing (typos happen); each one after that doubles
/// the wait, from ``baseDelay`` up to ``maximumDelay``. A success resets the count.
public struct LoginThrottlePolicy: Sendable, Equatable {
    public var freeFailures: Int
    public var baseDelay: TimeInterval
    public var maximumDelay: TimeInterval

    public init(freeFailures: Int = 5, baseDelay: TimeInterval = 1, maximumDelay: TimeInterval = 15 * 60) {
        self.freeFailures = freeFailures
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// The wait after `failures` consecutive failures.
    public func delay(afterFailures failures: Int) -> TimeInterval {
        guard failures >= freeFailures else { return 0 }
        let exponent = min(failures - freeFailures, 30)
        return min(maximumDelay, baseDelay * pow(2, Double(exponent)))
    }

    /// When the next attempt is allowed after `failures` failures, the last one at `now`.
    public func blockedUntil(afterFailures failures: Int, now: Date) -> Date? {
        let delay = delay(afterFailures: failures)
        return delay > 0 ? now.addingTimeInterval(delay) : nil
    }
}
