import Foundation

/// A small grayscale picture: one byte per pixel, row after row.
public struct GrayImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// This picture averaged down (or sampled up) to `width` × `height`, each output pixel the mean
    /// of the input pixels its area covers.
    public func resized(width outWidth: Int, height outHeight: Int) -> GrayImage {
        guard outWidth > 0, outHeight > 0, width > 0, height > 0 else { return GrayImage(width: 0, height: 0, pixels: []) }
        var output = [UInt8](repeating: 0, count: outWidth * outHeight)
        for y in 0..<outHeight {
            let top = y * height / outHeight, bottom = max(top + 1, (y + 1) * height / outHeight)
            for x in 0..<outWidth {
                let left = x * width / outWidth, right = max(left + 1, (x + 1) * width / outWidth)
                var sum = 0
                for row in top..<bottom {
                    for column in left..<right { sum += Int(pixels[row * width + column]) }
                }
                output[y * outWidth + x] = UInt8(sum / ((bottom - top) * (right - left)))
            }
        }
        return GrayImage(width: outWidth, height: outHeight, pixels: output)
    }
}

/// How motion is told apart from noise, per camera.
public struct MotionSettings: Sendable, Equatable {
    /// Whether frames without motion skip the object detector at all.
    public var enabled = true
    /// How much (0–255) a pixel must differ from the background to count as changed.
    public var pixelThreshold = 25
    /// The share of the picture that must change for a frame to hold motion.
    public var minimumArea = 0.002
    /// How fast the background follows the scene (0–1 per frame): slow enough that a person
    /// walking through is not absorbed, fast enough for clouds and shadows.
    public var backgroundRate = 0.05
    /// A frame is analysed at least this often even without motion, so tracked objects stay current.
    public var refreshInterval: TimeInterval = 60
    /// Above this share of changed picture the light changed (a lamp, IR switching at dusk),
    /// not the scene: the background is reset.
    public var lightingChangeArea = 0.8
    /// The width of the picture motion is measured on; the height keeps the frame's proportions.
    public var gridWidth = 128

    public init() {}
}

/// What the motion detector saw in one frame.
public struct MotionReport: Sendable, Equatable {
    /// The share of the picture that changed.
    public var changedArea: Double
    /// Regions of change, in the frame's normalised coordinates (0–1).
    public var regions: [PixelBox]
    /// True for the first frame (nothing to compare with) and after a change of frame size.
    public var isFirstFrame: Bool
    public var isLightingChange: Bool
    public var hasMotion: Bool

    public init(changedArea: Double, regions: [PixelBox], isFirstFrame: Bool, isLightingChange: Bool, hasMotion: Bool) {
        self.changedArea = changedArea
        self.regions = regions
        self.isFirstFrame = isFirstFrame
        self.isLightingChange = isLightingChange
        self.hasMotion = hasMotion
    }
}

/// Motion by background subtraction, as NVRs do it to spare the object detector: a running
/// average of the scene, downscaled and grey, and the pixels of a frame that stand out from it.
public struct MotionDetector: Sendable {
    public var settings: MotionSettings
    private var background: [Double] = []
    private var width = 0
    private var height = 0

    public init(settings: MotionSettings = MotionSettings()) {
        self.settings = settings
    }

    /// Compares `frame` with the background, then lets the background take in the frame.
    public mutating func observe(_ frame: GrayImage) -> MotionReport {
        let gridHeight = max(1, Int((Double(settings.gridWidth) * Double(frame.height) / Double(max(frame.width, 1))).rounded()))
        let grid = frame.resized(width: settings.gridWidth, height: gridHeight)
        guard grid.width == width, grid.height == height, background.count == grid.pixels.count else {
            width = grid.width
            height = grid.height
            background = grid.pixels.map(Double.init)
            return MotionReport(changedArea: 1, regions: [PixelBox(x1: 0, y1: 0, x2: 1, y2: 1)], isFirstFrame: true,
                                isLightingChange: false, hasMotion: true)
        }
        var mask = [Bool](repeating: false, count: grid.pixels.count)
        var changed = 0
        for index in grid.pixels.indices where abs(Double(grid.pixels[index]) - background[index]) > Double(settings.pixelThreshold) {
            mask[index] = true
            changed += 1
        }
        let area = Double(changed) / Double(grid.pixels.count)
        if area >= settings.lightingChangeArea {
            background = grid.pixels.map(Double.init)
            return MotionReport(changedArea: area, regions: [PixelBox(x1: 0, y1: 0, x2: 1, y2: 1)], isFirstFrame: false,
                                isLightingChange: true, hasMotion: true)
        }
        let rate = settings.backgroundRate
        for index in background.indices {
            background[index] += (Double(grid.pixels[index]) - background[index]) * rate
        }
        let minimumCells = max(1, Int((settings.minimumArea * Double(grid.pixels.count)).rounded(.up)))
        let regions = Self.regions(of: mask, width: width, height: height, minimumCells: minimumCells)
        return MotionReport(changedArea: area, regions: regions, isFirstFrame: false, isLightingChange: false,
                            hasMotion: !regions.isEmpty)
    }

    /// Bounding boxes (normalised) of the groups of changed cells, touching ones joined after
    /// growing each cell by one in every direction, keeping groups of at least `minimumCells` changed cells.
    static func regions(of mask: [Bool], width: Int, height: Int, minimumCells: Int) -> [PixelBox] {
        var grown = mask
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                for dy in -1...1 {
                    for dx in -1...1 {
                        let nx = x + dx, ny = y + dy
                        if nx >= 0, ny >= 0, nx < width, ny < height { grown[ny * width + nx] = true }
                    }
                }
            }
        }
        var seen = [Bool](repeating: false, count: mask.count)
        var regions: [PixelBox] = []
        for start in grown.indices where grown[start] && !seen[start] {
            var stack = [start]
            seen[start] = true
            var minX = width, minY = height, maxX = 0, maxY = 0, cells = 0
            while let cell = stack.popLast() {
                let x = cell % width, y = cell / width
                if mask[cell] { cells += 1 }
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let next = ny * width + nx
                    if grown[next] && !seen[next] {
                        seen[next] = true
                        stack.append(next)
                    }
                }
            }
            guard cells >= minimumCells else { continue }
            regions.append(PixelBox(x1: Double(minX) / Double(width), y1: Double(minY) / Double(height),
                                    x2: Double(maxX + 1) / Double(width), y2: Double(maxY + 1) / Double(height)))
        }
        return regions
    }
}

/// Whether a frame goes to the object detector: when it holds motion, or when the camera has not
/// been analysed for the refresh interval.
public enum MotionGate {
    public enum Decision: Sendable, Equatable {
        case analyse(reason: String)
        case skip(reason: String)
    }

    public static func decide(_ report: MotionReport, settings: MotionSettings, lastAnalysedAt: Date?, at time: Date) -> Decision {
        if report.isFirstFrame { return .analyse(reason: "first frame") }
        if report.isLightingChange { return .analyse(reason: "lighting change") }
        if report.hasMotion { return .analyse(reason: "motion") }
        if let lastAnalysedAt, time.timeIntervalSince(lastAnalysedAt) < settings.refreshInterval {
            let percent = (report.changedArea * 100).formatted(.number.precision(.fractionLength(2)))
            return .skip(reason: "no motion: \(percent)% of the picture changed")
        }
        return .analyse(reason: "periodic refresh")
    }
}
