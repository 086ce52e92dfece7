import Foundation

/// A `multipart/form-data` body (RFC 7578) read whole from memory: the ingest endpoint's
/// bodies are bounded and small, so no streaming parser is needed.
public struct MultipartFormData: Sendable {
    public struct Part: Sendable, Equatable {
        public var name: String
        public var filename: String?
        public var contentType: String?
        public var body: [UInt8]

        public init(name: String, filename: String? = nil, contentType: String? = nil, body: [UInt8]) {
            self.name = name
            self.filename = filename
            self.contentType = contentType
            self.body = body
        }

        /// A plain text field.
        public static func field(_ name: String, _ value: String) -> Part {
            Part(name: name, body: Array(value.utf8))
        }
    }

    public enum Problem: Error, Equatable, Sendable {
        case missingBoundary
        case malformed(String)
    }

    public let parts: [Part]

    public func part(named name: String) -> Part? {
        parts.first { $0.name == name }
    }

    /// The text value of a field, if present, UTF-8 and free of U+0000 (which no text column stores).
    public func text(_ name: String) -> String? {
        part(named: name).flatMap { $0.body.contains(0) ? nil : String(validating: $0.body, as: UTF8.self) }
    }

    /// The boundary of a `multipart/form-data; boundary=...` content type.
    public static func boundary(fromContentType contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.count) ? value : nil
        }
        return nil
    }

    /// A body holding `parts` in order, for a request to send with `boundary`.
    public static func encode(_ parts: [Part], boundary: String) -> [UInt8] {
        var body: [UInt8] = []
        for part in parts {
            var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { header += "; filename=\"\(filename)\"" }
            if let contentType = part.contentType { header += "\r\nContent-Type: \(contentType)" }
            body += Array((header + "\r\n\r\n").utf8) + part.body + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    public init(parts: [Part]) {
        self.parts = parts
    }

    public init(body: [UInt8], boundary: String) throws(Problem) {
        self.parts = try Self.parse(body, boundary: boundary, prefixOnly: false)
    }

    /// The parts that lie whole within `prefix`, the first bytes of a longer body: what can be
    /// known of a form before the rest is read (a DeepStack client's `api_key`, sent before its image).
    public static func leadingParts(of prefix: [UInt8], boundary: String) -> [Part] {
        (try? parse(prefix, boundary: boundary, prefixOnly: true)) ?? []
    }

    /// The fields of an `application/x-www-form-urlencoded` body, as text parts.
    public static func urlEncoded(_ body: [UInt8]) -> MultipartFormData {
        let text = String(decoding: body, as: UTF8.self)
        var parts: [Part] = []
        for pair in text.split(separator: "&") {
            let items = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let name = items.first.map(decoded), !name.isEmpty else { continue }
            parts.append(.field(name, items.count == 2 ? decoded(items[1]) : ""))
        }
        return MultipartFormData(parts: parts)
    }

    /// The parts of `body`; with `prefixOnly`, those closed before the bytes end, without complaint.
    private static func parse(_ body: [UInt8], boundary: String, prefixOnly: Bool) throws(Problem) -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = Self.find(delimiter, in: body, from: 0) else { throw .malformed("no opening boundary") }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter closes the body.
            if position + 1 < body.count, body[position] == 0x2D, body[position + 1] == 0x2D { break }
            if prefixOnly && position + 1 >= body.count { break }
            guard position + 1 < body.count, body[position] == 0x0D, body[position + 1] == 0x0A else {
                throw .malformed("a boundary is not followed by a line break")
            }
            position += 2
            guard let headerEnd = Self.find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: position) else {
                if prefixOnly { break }
                throw .malformed("a part has no end of headers")
            }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = Self.find([0x0D, 0x0A] + delimiter, in: body, from: contentStart) else {
                if prefixOnly { break }
                throw .malformed("a part is not closed by a boundary")
            }
            parts.append(try Self.part(headers: headers, body: Array(body[contentStart..<next])))
            position = next + 2
        }
        return parts
    }

    private static func part(headers: String, body: [UInt8]) throws(Problem) -> Part {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in headers.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let field = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch field {
            case "content-disposition":
                for parameter in value.split(separator: ";").dropFirst() {
                    let item = parameter.split(separator: "=", maxSplits: 1)
                    guard item.count == 2 else { continue }
                    var text = item[1].trimmingCharacters(in: .whitespaces)
                    if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
                    switch item[0].trimmingCharacters(in: .whitespaces).lowercased() {
                    case "name": name = text
                    case "filename": filename = text
                    default: break
                    }
                }
            case "content-type":
                contentType = value
            default:
                break
            }
        }
        guard let name else { throw .malformed("a part has no name") }
        return Part(name: name, filename: filename, contentType: contentType, body: body)
    }

    /// The index where `needle` starts in `haystack` at or after `start`, in time linear in the
    /// haystack whatever the needle (Knuth–Morris–Pratt): a boundary chosen so that the body
    /// almost matches it everywhere costs no more than any other.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        // failure[i]: the length of the longest proper prefix of needle[0...i] that is also its suffix.
        var failure = [Int](repeating: 0, count: needle.count)
        var length = 0
        for index in 1..<max(needle.count, 1) {
            while length > 0 && needle[index] != needle[length] { length = failure[length - 1] }
            if needle[index] == needle[length] { length += 1 }
            failure[index] = length
        }
        return haystack.withUnsafeBufferPointer { text -> Int? in
            guard let base = text.baseAddress else { return nil }
            var matched = 0
            var index = start
            while index < text.count {
                if matched == 0 {
                    // Between candidates, skip straight to the next byte that could begin a match.
                    guard let next = memchr(base + index, Int32(needle[0]), text.count - index) else { return nil }
                    index = base.distance(to: next.assumingMemoryBound(to: UInt8.self))
                }
                let byte = text[index]
                while matched > 0 && byte != needle[matched] { matched = failure[matched - 1] }
                if byte == needle[matched] { matched += 1 }
                if matched == needle.count { return index - needle.count + 1 }
                index += 1
            }
            return nil
        }
    }
}
