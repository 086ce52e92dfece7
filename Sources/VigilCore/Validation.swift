/// One thing wrong with an input, named by the field it concerns.
public struct ValidationProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Collects every problem of an input before reporting, so a person fixes them all in one go.
public struct ValidationReport: Sendable {
    public private(set) var problems: [ValidationProblem] = []

    public init() {}

    public var isValid: Bool { problems.isEmpty }

    public mutating func add(_ field: String, _ message: String) {
        problems.append(ValidationProblem(field: field, message: message))
    }

    public mutating func check(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) {
        if !condition { add(field, message()) }
    }

    public mutating func merge(_ other: ValidationReport) {
        problems.append(contentsOf: other.problems)
    }
}

extension StringProtocol {
    /// The length PostgreSQL gives this text (Unicode code points), which is what a column's limit
    /// counts. One Swift `Character` may be several code points (an `e` and a combining accent), so
    /// `count` would let text through that the column then refuses.
    public var storedLength: Int { unicodeScalars.count }
}
