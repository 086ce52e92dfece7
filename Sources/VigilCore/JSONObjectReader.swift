import Foundation

/// Reads the members of a JSON settings object one typed field at a time, reporting every
/// problem (wrong type, out of range, unknown member) under its dotted field name.
public struct JSONObjectReader {
    public let members: [String: JSONValue]
    public let field: String
    private var read: Set<String> = []

    /// Nil (with the problem reported) when `value` is not an object.
    public init?(_ value: JSONValue, field: String, report: inout ValidationReport) {
        guard let members = value.objectValue else {
            report.add(field, "must be an object")
            return nil
        }
        self.members = members
        self.field = field
    }

    private func path(_ key: String) -> String { field.isEmpty ? key : "\(field).\(key)" }

    private mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    public mutating func string(_ key: String, report: inout ValidationReport, maxLength: Int = 2000) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else {
            report.add(path(key), "must be text")
            return nil
        }
        guard text.storedLength <= maxLength else {
            report.add(path(key), "must be at most \(maxLength) characters")
            return nil
        }
        return text
    }

    public mutating func requiredString(_ key: String, report: inout ValidationReport, maxLength: Int = 2000) -> String? {
        let text = string(key, report: &report, maxLength: maxLength)
        if members[key] == nil || members[key] == .null { report.add(path(key), "is required") }
        if let text, text.trimmingCharacters(in: .whitespaces).isEmpty { report.add(path(key), "must not be empty") }
        return text
    }

    public mutating func bool(_ key: String, report: inout ValidationReport) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            report.add(path(key), "must be true or false")
            return nil
        }
        return flag
    }

    public mutating func number(_ key: String, in range: ClosedRange<Double>, report: inout ValidationReport) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.numberValue, range.contains(number) else {
            report.add(path(key), "must be a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
            return nil
        }
        return number
    }

    public mutating func integer(_ key: String, in range: ClosedRange<Int>, report: inout ValidationReport) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.numberValue, number == number.rounded(), range.contains(Int(number)) else {
            report.add(path(key), "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(number)
    }

    public mutating func strings(_ key: String, report: inout ValidationReport, maxCount: Int = 100) -> [String]? {
        guard let value = value(key) else { return nil }
        guard let items = value.arrayValue, items.count <= maxCount,
              case let texts = items.compactMap(\.stringValue), texts.count == items.count else {
            report.add(path(key), "must be a list of at most \(maxCount) texts")
            return nil
        }
        return texts
    }

    public mutating func stringMap(_ key: String, report: inout ValidationReport) -> [String: String]? {
        guard let value = value(key) else { return nil }
        guard let object = value.objectValue, case let pairs = object.compactMapValues(\.stringValue), pairs.count == object.count else {
            report.add(path(key), "must be an object of text values")
            return nil
        }
        return pairs
    }

    public mutating func choice<T: RawRepresentable>(_ key: String, report: inout ValidationReport) -> T?
        where T: CaseIterable, T.RawValue == String {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue, let choice = T(rawValue: text) else {
            report.add(path(key), "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return choice
    }

    /// Reports the members no read asked for: a misspelt setting is an error, not silently ignored.
    public func reportUnknown(_ report: inout ValidationReport) {
        for key in members.keys.sorted() where !read.contains(key) {
            report.add(path(key), "is not a setting here (known: \(read.sorted().joined(separator: ", ")))")
        }
    }

    private static func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }
}
