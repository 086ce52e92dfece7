import Foundation

/// When a failed job runs again (seed 001's `next_retry_at`): exponential back-off with jitter,
/// so jobs that failed together (a database restart, a camera down) do not all retry together.
public struct JobRetryPolicy: Sendable, Equatable {
    /// The wait after the first failure.
    public var base: TimeInterval
    /// The longest wait.
    public var maximum: TimeInterval
    /// Each wait is spread over ±`jitter` of itself (0.2: from 80 % to 120 %).
    public var jitter: Double

    public init(base: TimeInterval = 5, maximum: TimeInterval = 600, jitter: Double = 0.2) {
        self.base = base
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The wait after attempt `attempt` (1-based) failed; `unit` is a random number in 0..<1.
    public func delay(afterAttempt attempt: Int, unit: Double) -> TimeInterval {
        let exponent = Double(max(attempt, 1) - 1)
        let plain = min(base * pow(2, exponent), maximum)
        return plain * (1 - jitter + 2 * jitter * min(max(unit, 0), 1))
    }
}

/// A job's lifecycle (seed 001 `jobs.status`).
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, completed, failed, cancelled

    /// Finished for good (until a person retries it).
    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}
