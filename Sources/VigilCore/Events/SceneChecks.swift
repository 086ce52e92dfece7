import Foundation

/// How much of a watched area changed between a still frame before activity and one after it
/// (seed 004's inventory delta, for any zone of type `watch_area`): something taken or left.
public enum WatchAreaChange {
    public struct Measure: Sendable, Equatable {
        /// The fraction of the area's pixels that changed.
        public var changedFraction: Double
        /// Where the change is, in 0...1 of the frame; nil when nothing changed.
        public var changedBox: PixelBox?
        /// Mean brightness after / before in the area: the change is measured after evening this out.
        public var brightnessRatio: Double
    }

    /// Compares `before` and `after` (grey, any size; both are resized to `width` across) inside
    /// `polygon` (0...1 coordinates). A pixel has changed when it differs by more than
    /// `pixelThreshold` after the overall brightness of the area is matched, so a cloud or a
    /// light going on is not a theft.
    public static func measure(before: GrayImage, after: GrayImage, polygon: ZonePolygon, width: Int = 160,
                               pixelThreshold: Int = 30) -> Measure {
        let height = max(1, before.height * width / max(before.width, 1))
        let a = before.resized(width: width, height: height), b = after.resized(width: width, height: height)
        var inside: [Int] = []
        for y in 0..<height {
            for x in 0..<width where polygon.contains(.init(x: (Double(x) + 0.5) / Double(width), y: (Double(y) + 0.5) / Double(height))) {
                inside.append(y * width + x)
            }
        }
        guard !inside.isEmpty else { return Measure(changedFraction: 0, changedBox: nil, brightnessRatio: 1) }
        let meanA = Double(inside.reduce(0) { $0 + Int(a.pixels[$1]) }) / Double(inside.count)
        let meanB = Double(inside.reduce(0) { $0 + Int(b.pixels[$1]) }) / Double(inside.count)
        let ratio = meanB > 0 ? meanA / meanB : 1
        var changed = 0
        var box: (x1: Int, y1: Int, x2: Int, y2: Int)?
        for index in inside {
            let matched = Double(b.pixels[index]) * ratio
            guard abs(matched - Double(a.pixels[index])) > Double(pixelThreshold) else { continue }
            changed += 1
            let x = index % width, y = index / width
            box = box.map { (min($0.x1, x), min($0.y1, y), max($0.x2, x), max($0.y2, y)) } ?? (x, y, x, y)
        }
        return Measure(changedFraction: Double(changed) / Double(inside.count),
                       changedBox: box.map { PixelBox(x1: Double($0.x1) / Double(width), y1: Double($0.y1) / Double(height),
                                                      x2: Double($0.x2 + 1) / Double(width), y2: Double($0.y2 + 1) / Double(height)) },
                       brightnessRatio: meanB > 0 ? meanB / max(meanA, 1) : 0)
    }
}

/// Whether a camera still sees its scene (seed 004's camera health): covered, blinded or turned
/// away. One per camera, fed every analysed frame in order.
public struct SceneHealth: Sendable {
    public struct Settings: Sendable, Equatable {
        /// A frame with less contrast than this (standard deviation, 0-255) shows nothing.
        public var minimumContrast = 6.0
        /// A frame darker than this (mean, 0-255) shows nothing.
        public var minimumBrightness = 12.0
        /// A frame less sharp than this fraction of the camera's usual sharpness is blurred (a smeared or fogged lens).
        public var blurFraction = 0.25
        /// How long a camera must stay blind before it is reported.
        public var obstructedAfter: TimeInterval = 20
        /// Below this correlation with the usual view, a frame shows another scene...
        public var shiftCorrelation = 0.4
        /// ...and when the frames since have agreed with each other this well...
        public var steadyCorrelation = 0.8
        /// ...for this long, the camera was turned.
        public var shiftedAfter: TimeInterval = 10

        public init() {}
    }

    public enum Finding: Sendable, Equatable {
        /// Blind since `since`; `reason` is `uniform`, `dark` or `blurred`.
        case obstructed(since: Date, reason: String, scores: [String: Double])
        /// The view changed since `since`; `correlation` with the old view.
        case shifted(since: Date, correlation: Double)
    }

    /// What one frame looks like, for the report.
    public struct FrameStats: Sendable, Equatable {
        public var brightness: Double
        public var contrast: Double
        public var sharpness: Double
    }

    public var settings: Settings
    /// The camera's usual view (small, grey), kept up to date slowly while the view holds.
    private var reference: [Double]?
    private var usualSharpness: Double?
    private var blindSince: Date?
    private var reportedBlind = false
    private var shiftSince: Date?
    private var shiftFrames: [[Double]] = []
    private var lastTime: Date?

    static let side = (width: 32, height: 24)

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    public static func stats(of frame: GrayImage) -> FrameStats {
        let small = frame.resized(width: 160, height: 120)
        let values = small.pixels.map(Double.init)
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count, 1))
        // Squared gradients: a blur spreads an edge over many pixels, which keeps its total rise
        // but divides its energy.
        var energy = 0.0
        for y in 0..<small.height - 1 {
            for x in 0..<small.width - 1 {
                let here = values[y * small.width + x]
                let dx = values[y * small.width + x + 1] - here, dy = values[(y + 1) * small.width + x] - here
                energy += dx * dx + dy * dy
            }
        }
        return FrameStats(brightness: mean, contrast: variance.squareRoot(),
                          sharpness: energy / Double(max((small.width - 1) * (small.height - 1), 1)))
    }

    /// Takes the next frame; returns a finding the first time a condition has lasted long enough.
    public mutating func observe(_ frame: GrayImage, at time: Date) -> (stats: FrameStats, finding: Finding?) {
        if let lastTime, time < lastTime { return (Self.stats(of: frame), nil) }  // a late frame says nothing new
        lastTime = time
        let stats = Self.stats(of: frame)
        let reason: String? = if stats.contrast < settings.minimumContrast { "uniform" }
            else if stats.brightness < settings.minimumBrightness { "dark" }
            else if let usual = usualSharpness, stats.sharpness < usual * settings.blurFraction { "blurred" }
            else { nil }
        if let reason {
            // A blind frame teaches nothing about the view.
            let since = blindSince ?? time
            blindSince = since
            shiftSince = nil
            shiftFrames = []
            if !reportedBlind, time.timeIntervalSince(since) >= settings.obstructedAfter {
                reportedBlind = true
                return (stats, .obstructed(since: since, reason: reason,
                                           scores: ["brightness": stats.brightness, "contrast": stats.contrast, "sharpness": stats.sharpness,
                                                    "usual_sharpness": usualSharpness ?? 0]))
            }
            return (stats, nil)
        }
        blindSince = nil
        reportedBlind = false
        usualSharpness = usualSharpness.map { $0 * 0.95 + stats.sharpness * 0.05 } ?? stats.sharpness

        let view = Self.normalised(frame)
        guard let current = reference else {
            reference = view
            return (stats, nil)
        }
        let correlation = Self.correlation(view, current)
        if correlation >= settings.shiftCorrelation {
            shiftSince = nil
            shiftFrames = []
            if correlation >= settings.steadyCorrelation {
                reference = zip(current, view).map { $0 * 0.95 + $1 * 0.05 }
            }
            return (stats, nil)
        }
        // Another view: someone passing close to the lens, or the camera turned. Only a new view
        // that holds still is a turn.
        if let last = shiftFrames.last, Self.correlation(view, last) < settings.steadyCorrelation {
            shiftSince = time
            shiftFrames = [view]
            return (stats, nil)
        }
        let since = shiftSince ?? time
        shiftSince = since
        shiftFrames.append(view)
        if time.timeIntervalSince(since) >= settings.shiftedAfter && shiftFrames.count >= 3 {
            reference = view
            shiftSince = nil
            shiftFrames = []
            return (stats, .shifted(since: since, correlation: (correlation * 1000).rounded() / 1000))
        }
        return (stats, nil)
    }

    /// The frame small, with its mean taken out and its spread made 1: lighting changes cancel.
    static func normalised(_ frame: GrayImage) -> [Double] {
        let values = frame.resized(width: side.width, height: side.height).pixels.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let spread = max((values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot(), 1)
        return values.map { ($0 - mean) / spread }
    }

    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / Double(max(a.count, 1))
    }
}
