import Foundation

/// An exponentially weighted average with its sample count (seed 000's `activity_baselines.avg_count`
/// and `class_baselines.frequency`).
///
/// The first samples are averaged plainly (weight 1/n) until 1/n falls below `alpha`, so a young
/// baseline is not dominated by its very first observation; after that each sample weighs `alpha`.
public struct EWMA: Sendable, Equatable {
    public var value: Double
    public var samples: Int

    public init(value: Double = 0, samples: Int = 0) {
        self.value = value
        self.samples = samples
    }

    public static let defaultAlpha = 0.1

    public func adding(_ observation: Double, alpha: Double = defaultAlpha) -> EWMA {
        let weight = max(alpha, 1 / Double(samples + 1))
        return EWMA(value: value + weight * (observation - value), samples: samples + 1)
    }
}

/// What a camera usually sees at a time slot, set against what it sees now.
public struct BaselineComparison: Sendable, Equatable {
    public var observed: Double
    public var usual: EWMA

    public init(observed: Double, usual: EWMA) {
        self.observed = observed
        self.usual = usual
    }

    /// How many times the usual amount this is; the usual is floored so that a quiet slot
    /// (0.05 events an hour) does not turn one event into "20×".
    public var ratio: Double { observed / max(usual.value, 0.5) }
}

/// How many samples a baseline needs before it may influence risk: an (hour, day of week) slot
/// gets one sample a week, a class's hour one a day.
public struct BaselineRequirements: Sendable, Equatable {
    public var activitySamples = 3
    public var classSamples = 7

    public init() {}
}
