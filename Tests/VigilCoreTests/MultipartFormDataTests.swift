import Testing
@testable import VigilCore

@Suite("multipart/form-data")
struct MultipartFormDataTests {
    func body(_ parts: [(String, String?, [UInt8])], boundary: String = "XyZ") -> [UInt8] {
        var bytes: [UInt8] = Array("preamble is ignored\r\n".utf8)
        for (name, filename, content) in parts {
            var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\""
            if let filename { header += "; filename=\"\(filename)\"\r\nContent-Type: image/jpeg" }
            bytes += Array((header + "\r\n\r\n").utf8) + content + Array("\r\n".utf8)
        }
        return bytes + Array("--\(boundary)--\r\n".utf8)
    }

    @Test("fields and a binary file part, whose bytes may hold anything but the delimiter")
    func parts() throws {
        let image: [UInt8] = [0xFF, 0xD8, 0x0D, 0x0A, 0x2D, 0x2D, 0x00, 0xFF, 0xD9]
        let form = try MultipartFormData(body: body([("device_id", nil, Array("esp32-a".utf8)), ("image", "f.jpg", image),
                                                     ("device_seq", nil, Array("12".utf8))]), boundary: "XyZ")
        #expect(form.parts.map(\.name) == ["device_id", "image", "device_seq"])
        #expect(form.part(named: "image")?.body == image)
        #expect(form.part(named: "image")?.filename == "f.jpg")
        #expect(form.part(named: "image")?.contentType == "image/jpeg")
        #expect(form.text("device_id") == "esp32-a")
        #expect(form.text("device_seq") == "12")
    }

    @Test("the boundary comes from the content type, quoted or not", arguments: [
        ("multipart/form-data; boundary=abc123", "abc123"),
        ("multipart/form-data; charset=utf-8; boundary=\"a b\"", "a b"),
        ("multipart/form-data", nil),
    ])
    func boundaries(contentType: String, boundary: String?) {
        #expect(MultipartFormData.boundary(fromContentType: contentType) == boundary)
    }

    @Test("broken bodies are refused")
    func broken() {
        #expect(throws: MultipartFormData.Problem.self) { try MultipartFormData(body: Array("no boundary here".utf8), boundary: "XyZ") }
        let unclosed = Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue".utf8)
        #expect(throws: MultipartFormData.Problem.self) { try MultipartFormData(body: unclosed, boundary: "XyZ") }
        let nameless = Array("--XyZ\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--XyZ--".utf8)
        #expect(throws: MultipartFormData.Problem.malformed("a part has no name")) { try MultipartFormData(body: nameless, boundary: "XyZ") }
    }
}

@Suite("multipart/form-data: hostile shapes and the other encoding")
struct MultipartHostileTests {
    @Test("the search finds overlapping and repeated prefixes as a naive one would")
    func search() {
        #expect(MultipartFormData.find(Array("aab".utf8), in: Array("aaab".utf8), from: 0) == 1)
        #expect(MultipartFormData.find(Array("abab".utf8), in: Array("ababab".utf8), from: 1) == 2)
        #expect(MultipartFormData.find(Array("--x".utf8), in: Array("-----x".utf8), from: 0) == 3)
        #expect(MultipartFormData.find(Array("xyz".utf8), in: Array("xyxyxy".utf8), from: 0) == nil)
        #expect(MultipartFormData.find(Array("a".utf8), in: [], from: 0) == nil)
    }

    @Test("a body that almost matches its boundary everywhere is parsed (refused) in one pass")
    func nearMisses() {
        let boundary = String(repeating: "a", count: 70)
        let body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n".utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 1 << 20) + Array("\r\n--".utf8) + Array(repeating: UInt8(ascii: "a"), count: 69)
        #expect(throws: MultipartFormData.Problem.malformed("a part is not closed by a boundary")) {
            try MultipartFormData(body: body, boundary: boundary)
        }
    }

    @Test("what the first bytes of a long body tell: the whole fields before the image")
    func leadingParts() {
        let body = MultipartFormData.encode([.field("api_key", "vgl_key"), .field("min_confidence", "0.5"),
                                             MultipartFormData.Part(name: "image", filename: "f.jpg", body: Array(repeating: 7, count: 4096))],
                                            boundary: "B")
        let prefix = Array(body.prefix(300))
        #expect(MultipartFormData.leadingParts(of: prefix, boundary: "B").map(\.name) == ["api_key", "min_confidence"])
        #expect(MultipartFormData.leadingParts(of: Array(body.prefix(20)), boundary: "B").isEmpty)
    }

    @Test("application/x-www-form-urlencoded fields, decoded")
    func urlEncoded() {
        let form = MultipartFormData.urlEncoded(Array("api_key=vgl_a%2Bb&userid=Ada+Lovelace&empty=&=nameless".utf8))
        #expect(form.text("api_key") == "vgl_a+b" && form.text("userid") == "Ada Lovelace" && form.text("empty") == "")
        #expect(form.parts.count == 3)
    }
}
