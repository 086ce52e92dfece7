import Foundation
import Hummingbird
import NIOCore
import VigilCore
import VigilStore

extension Request {
    /// Reads a JSON object body into a ``StrictInput``, refusing unknown members, and validates it.
    func decodeInput<Input: StrictInput>(_ type: Input.Type, context: VigilRequestContext) async throws -> Input {
        let object = try await jsonObjectBody(context: context)
        return try InputDecoding.decode(type, from: .object(object))
    }

    /// The body parsed as a JSON object: 415 for another media type, 413 past the size limit,
    /// 400 for text that is not a JSON object. PATCH bodies are merge patches, read the same way
    /// and applied with ``InputDecoding/patch(_:with:)``.
    func jsonObjectBody(context: VigilRequestContext) async throws -> [String: JSONValue] {
        try await optionalJSONObjectBody(context: context, required: true) ?? [:]
    }

    /// The body as a JSON object, or nil when there is no body (and `required` is false).
    func optionalJSONObjectBody(context: VigilRequestContext, required: Bool = false) async throws -> [String: JSONValue]? {
        if let contentType = headers[.contentType],
           !["application/json", "application/merge-patch+json"].contains(where: { contentType.lowercased().hasPrefix($0) }) {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "Send the body as application/json; got \(contentType).")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body_too_large",
                           message: "The body is larger than \(context.maxUploadSize) bytes.")
        }
        if !required, buffer.readableBytes == 0 { return nil }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer))
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body is not valid JSON.")
        }
        guard case .object(let object) = value else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be a JSON object.")
        }
        if let field = value.pathOfNULText() {
            throw APIError(.badRequest, code: "invalid_text", message: "Text may not contain the NUL character (\\u0000); \(field) does.",
                           details: [ValidationProblem(field: field, message: "contains the NUL character")])
        }
        return object
    }
}

/// Turns JSON objects into validated inputs, with messages that name the offending field.
extension Request {
    /// The body as `multipart/form-data`: 415 for another media type, 413 past `maximumBytes`,
    /// 400 for a malformed body.
    func multipartForm(maximumBytes: Int) async throws -> MultipartFormData {
        let contentType = headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "Send the photos as multipart/form-data.")
        }
        guard let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
            throw APIError(.badRequest, code: "invalid_multipart", message: "The multipart content type names no boundary.")
        }
        let body: ByteBuffer
        do {
            body = try await self.body.collect(upTo: maximumBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "too_large", message: "The body may be at most \(maximumBytes) bytes.")
        }
        do {
            return try MultipartFormData(body: Array(body.readableBytesView), boundary: boundary)
        } catch {
            throw APIError(.badRequest, code: "invalid_multipart", message: "The multipart body is malformed: \(error).")
        }
    }
}

enum InputDecoding {
    static func decode<Input: StrictInput>(_ type: Input.Type, from value: JSONValue) throws -> Input {
        try rejectUnknownFields(of: value, for: Input.self)
        let input: Input
        do {
            input = try APIJSON.decoder.decode(Input.self, from: try JSONEncoder().encode(value))
        } catch let error as DecodingError {
            let problem = describe(error)
            throw APIError(.badRequest, code: "invalid_field", message: "\(problem.field) \(problem.message).", details: [problem])
        }
        let report = input.validate()
        guard report.isValid else { throw APIError.validation(report) }
        return input
    }

    /// `current` with `patch` merged in (RFC 7396), decoded and validated like a new input.
    static func patch<Input: StrictInput>(_ current: Input, with patch: JSONValue) throws -> Input {
        try rejectUnknownFields(of: patch, for: Input.self)
        let currentValue = try JSONDecoder().decode(JSONValue.self, from: try APIJSON.encode(current))
        return try decode(Input.self, from: currentValue.merging(patch: patch))
    }

    /// A member the input type does not know is an error, so a misspelt field is never silently ignored.
    private static func rejectUnknownFields<Input: StrictInput>(of value: JSONValue, for type: Input.Type) throws {
        let allowed = Set(Input.fieldNames)
        let unknown = (value.objectValue ?? [:]).keys.filter { !allowed.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        throw APIError(.badRequest, code: "unknown_field",
                       message: "Unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); accepted fields are \(allowed.sorted().joined(separator: ", ")).",
                       details: unknown.map { ValidationProblem(field: $0, message: "is not a field of this resource") })
    }

    static func describe(_ error: DecodingError) -> ValidationProblem {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return ValidationProblem(field: path(context.codingPath), message: "must be \(typeName(type))")
        case .valueNotFound(let type, let context):
            return ValidationProblem(field: path(context.codingPath), message: "must be \(typeName(type)), not null")
        case .keyNotFound(let key, let context):
            return ValidationProblem(field: path(context.codingPath + [key]), message: "is required")
        case .dataCorrupted(let context):
            return ValidationProblem(field: path(context.codingPath), message: "has an invalid value (\(context.debugDescription))")
        @unknown default:
            return ValidationProblem(field: "body", message: "could not be read")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "a valid value"
        }
    }
}

extension VigilRequestContext {
    /// A path parameter that must be a UUID.
    func uuidParameter(_ name: String) throws -> UUID {
        let text = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: text) else {
            throw APIError.invalidParameter(name, "must be a UUID; got '\(text)'")
        }
        return id
    }
}

/// Query parameters read with errors that say which one is wrong.
struct QueryReader {
    let parameters: [String: String]

    init(_ request: Request) {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            values[String(key)] = String(value)
        }
        parameters = values
    }

    func uuid(_ name: String) throws -> UUID? {
        guard let text = parameters[name] else { return nil }
        guard let id = UUID(uuidString: text) else { throw APIError.invalidParameter(name, "must be a UUID; got '\(text)'") }
        return id
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = parameters[name] else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.invalidParameter(name, "must be true or false; got '\(text)'")
        }
    }

    func string(_ name: String) -> String? {
        parameters[name]
    }

    /// An ISO 8601 time such as `2026-01-31T22:00:00Z`.
    func date(_ name: String) throws -> Date? {
        guard let text = parameters[name] else { return nil }
        let json = Data("\"\(text)\"".utf8)
        guard let date = try? APIJSON.decoder.decode(Date.self, from: json) else {
            throw APIError.invalidParameter(name, "must be an ISO 8601 time such as 2026-01-31T22:00:00Z; got '\(text)'")
        }
        return date
    }

    func enumValue<Value: RawRepresentable & CaseIterable>(_ name: String, as type: Value.Type) throws -> Value?
    where Value.RawValue == String {
        guard let text = parameters[name] else { return nil }
        guard let value = Value(rawValue: text) else {
            throw APIError.invalidParameter(name, "must be one of \(Value.allowedValues); got '\(text)'")
        }
        return value
    }

    /// `after` (the cursor) and `limit` (1 to 500, default 50).
    func page() throws -> PageRequest {
        var limit = PageRequest.defaultLimit
        if let text = parameters["limit"] {
            guard let value = Int(text), (1...PageRequest.maximumLimit).contains(value) else {
                throw APIError.invalidParameter("limit", "must be a whole number from 1 to \(PageRequest.maximumLimit); got '\(text)'")
            }
            limit = value
        }
        return PageRequest(after: try uuid("after"), limit: limit)
    }
}
