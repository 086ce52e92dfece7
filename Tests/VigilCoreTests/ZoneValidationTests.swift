import Testing
import VigilCore

@Suite("Zone validation and geometry")
struct ZoneValidationTests {
    let square: [[Double]] = [[0.1, 0.2], [0.3, 0.2], [0.3, 0.8], [0.1, 0.8]]

    @Test("a seed-000 rectangle is valid")
    func validRectangle() {
        let input = CameraZoneInput(name: "Entry Point", zoneType: .entryPoint, coordinates: square, shape: .rectangle,
                                    color: "#EF4444", priority: 10)
        #expect(input.validate().isValid)
    }

    @Test("a triangle is a valid polygon but not a rectangle")
    func triangle() {
        let triangle: [[Double]] = [[0, 0], [1, 0], [0.5, 1]]
        #expect(ZonePolygon(pairs: triangle).validate(shape: .polygon).isValid)
        let report = ZonePolygon(pairs: triangle).validate(shape: .rectangle)
        #expect(report.problems == [ValidationProblem(field: "coordinates", message: "a rectangle needs exactly 4 points; got 3")])
    }

    @Test("two points are too few for a polygon")
    func tooFewPoints() {
        let report = ZonePolygon(pairs: [[0, 0], [1, 1]]).validate(shape: .polygon)
        #expect(report.problems.map(\.field) == ["coordinates"])
    }

    @Test("four points that are not an axis-aligned box are not a rectangle")
    func skewedRectangle() {
        let report = ZonePolygon(pairs: [[0.1, 0.1], [0.5, 0.2], [0.5, 0.8], [0.1, 0.8]]).validate(shape: .rectangle)
        #expect(!report.isValid)
        #expect(ZonePolygon(pairs: [[0.1, 0.1], [0.5, 0.2], [0.5, 0.8], [0.1, 0.8]]).validate(shape: .polygon).isValid)
    }

    @Test("every coordinate outside [0, 1] is reported, by index and axis")
    func outOfRange() {
        let report = ZonePolygon(pairs: [[-0.1, 0.5], [0.5, 1.2], [0.5, 0.5]]).validate(shape: .polygon)
        #expect(report.problems == [
            ValidationProblem(field: "coordinates[0]", message: "x must be between 0 and 1; got -0.1"),
            ValidationProblem(field: "coordinates[1]", message: "y must be between 0 and 1; got 1.2"),
        ])
    }

    @Test("a point that is not a pair is reported")
    func notAPair() {
        let report = ZonePolygon(pairs: [[0.1], [0.5, 0.5, 0.5], [0.2, 0.2], [0.3, 0.1]]).validate(shape: .polygon)
        #expect(report.problems.contains(ValidationProblem(field: "coordinates[0]", message: "must be a pair [x, y]; got 1 numbers")))
        #expect(report.problems.contains(ValidationProblem(field: "coordinates[1]", message: "must be a pair [x, y]; got 3 numbers")))
    }

    @Test("colours must be #RRGGBB", arguments: [
        ("#3B82F6", true), ("#ef4444", true), ("#000000", true),
        ("red", false), ("#FFF", false), ("#GGGGGG", false), ("3B82F6", false), ("#3B82F6 ", false), ("#3B82F60", false),
    ])
    func colours(value: String, valid: Bool) {
        #expect(HexColor.isValid(value) == valid)
    }

    @Test("negative priority and bad colour are reported together with bad points")
    func everyProblemAtOnce() {
        let input = CameraZoneInput(name: " ", coordinates: [[2, 0]], shape: .polygon, color: "blue", priority: -1)
        let fields = Set(input.validate().problems.map(\.field))
        #expect(fields == ["name", "coordinates", "coordinates[0]", "color", "priority"])
    }

    @Test("point in polygon, edges included", arguments: [
        (0.2, 0.5, true), (0.1, 0.5, true), (0.3, 0.8, true), (0.05, 0.5, false), (0.2, 0.9, false), (0.31, 0.5, false),
    ])
    func contains(x: Double, y: Double, inside: Bool) {
        #expect(ZonePolygon(pairs: square).contains(.init(x: x, y: y)) == inside)
    }

    @Test("a concave polygon excludes its notch")
    func concave() {
        // An L shape: the top-right quarter is outside.
        let shape = ZonePolygon(pairs: [[0, 0], [0.5, 0], [0.5, 0.5], [1, 0.5], [1, 1], [0, 1]])
        #expect(shape.contains(.init(x: 0.25, y: 0.25)))
        #expect(!shape.contains(.init(x: 0.75, y: 0.25)))
        #expect(shape.contains(.init(x: 0.75, y: 0.75)))
    }
}
