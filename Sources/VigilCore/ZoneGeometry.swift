/// A zone's outline in normalized frame coordinates: `[[x, y], ...]`, each in `[0, 1]`.
public struct ZonePolygon: Hashable, Sendable {
    public struct Point: Hashable, Sendable {
        public let x: Double
        public let y: Double

        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public let points: [Point]

    public init(points: [Point]) {
        self.points = points
    }

    /// Builds a polygon from the `[[x, y], ...]` JSON form; pairs of the wrong length are reported by ``validate(shape:)``.
    public init(pairs: [[Double]]) {
        self.points = pairs.map { pair in
            Point(x: pair.count > 0 ? pair[0] : .nan, y: pair.count > 1 ? pair[1] : .nan)
        }
        self.pairLengths = pairs.map(\.count)
    }

    private var pairLengths: [Int] = []

    public var pairs: [[Double]] { points.map { [$0.x, $0.y] } }

    /// Every problem with this outline for the given shape: too few points, a rectangle that is not
    /// four axis-aligned corners, or a coordinate outside `[0, 1]`.
    public func validate(shape: ZoneShape, field: String = "coordinates") -> ValidationReport {
        var report = ValidationReport()
        for (index, length) in pairLengths.enumerated() where length != 2 {
            report.add("\(field)[\(index)]", "must be a pair [x, y]; got \(length) numbers")
        }
        switch shape {
        case .polygon:
            report.check(points.count >= 3, field, "a polygon needs at least 3 points; got \(points.count)")
        case .rectangle:
            report.check(points.count == 4, field, "a rectangle needs exactly 4 points; got \(points.count)")
            if points.count == 4 && report.isValid && !isAxisAlignedRectangle {
                report.add(field, "a rectangle's 4 points must be the corners of an axis-aligned box")
            }
        }
        for (index, point) in points.enumerated() {
            for (axis, value) in [("x", point.x), ("y", point.y)] where !(0...1).contains(value) {
                report.add("\(field)[\(index)]", "\(axis) must be between 0 and 1; got \(value.isNaN ? "nothing" : "\(value)")")
            }
        }
        return report
    }

    private var isAxisAlignedRectangle: Bool {
        let xs = Set(points.map(\.x))
        let ys = Set(points.map(\.y))
        guard xs.count == 2, ys.count == 2 else { return false }
        return Set(points) == Set(xs.flatMap { x in ys.map { Point(x: x, y: $0) } })
    }

    /// Whether `point` lies inside the polygon (even-odd rule; points on an edge count as inside).
    public func contains(_ point: Point) -> Bool {
        guard points.count >= 3 else { return false }
        var inside = false
        var previous = points[points.count - 1]
        for current in points {
            if Self.isOnSegment(point, previous, current) { return true }
            if (current.y > point.y) != (previous.y > point.y) {
                let crossingX = (previous.x - current.x) * (point.y - current.y) / (previous.y - current.y) + current.x
                if point.x < crossingX { inside.toggle() }
            }
            previous = current
        }
        return inside
    }

    private static func isOnSegment(_ p: Point, _ a: Point, _ b: Point) -> Bool {
        let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
        guard abs(cross) < 1e-12 else { return false }
        return p.x >= min(a.x, b.x) - 1e-12 && p.x <= max(a.x, b.x) + 1e-12
            && p.y >= min(a.y, b.y) - 1e-12 && p.y <= max(a.y, b.y) + 1e-12
    }
}

/// Zone display colour: `#RRGGBB`, as seed 001's CHECK constraint requires.
public enum HexColor {
    public static func isValid(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars)
        guard scalars.count == 7, scalars[0] == "#" else { return false }
        return scalars.dropFirst().allSatisfy { $0.properties.isASCIIHexDigit }
    }
}
