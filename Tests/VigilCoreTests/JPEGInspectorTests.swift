import Foundation
import Testing
@testable import VigilCore

@Suite("JPEG inspection")
struct JPEGInspectorTests {
    static let photos = "/usr/share/darknet/data"

    func photo(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "\(Self.photos)/\(name)")))
    }

    @Test("real photos give their size", arguments: [("dog.jpg", 768, 576), ("person.jpg", 640, 424), ("horses.jpg", 773, 512)])
    func realPhotos(name: String, width: Int, height: Int) throws {
        let info = try JPEGInspector.inspect(try photo(name))
        #expect(info.width == width)
        #expect(info.height == height)
    }

    @Test("a file cut short is truncated, wherever the cut")
    func truncated() throws {
        let bytes = try photo("dog.jpg")
        // The start-of-image plus whole header segments, cut at a segment boundary, is truncated too.
        let firstSegmentEnd = 4 + (Int(bytes[4]) << 8 | Int(bytes[5]))
        for cut in [bytes.count - 1, bytes.count / 2, 600, 20, firstSegmentEnd, 3] {
            #expect(throws: JPEGInspector.Problem.truncated) { try JPEGInspector.inspect(Array(bytes.prefix(cut))) }
        }
    }

    @Test("other content is not a JPEG")
    func notJPEG() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        #expect(throws: JPEGInspector.Problem.notAJPEG) { try JPEGInspector.inspect(png) }
        #expect(throws: JPEGInspector.Problem.notAJPEG) { try JPEGInspector.inspect(Array("hello, world".utf8)) }
        #expect(throws: JPEGInspector.Problem.notAJPEG) { try JPEGInspector.inspect([0xFF, 0xD8, 0xFF, 0xD9]) }
        #expect(throws: JPEGInspector.Problem.notAJPEG) { try JPEGInspector.inspect([]) }
    }

    @Test("a frame header with zero size is refused")
    func zeroSize() {
        // SOI, SOF0 (length 11, precision 8, height 0, width 16, 1 component), SOS, data, EOI
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x00, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00,
                              0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9]
        #expect(throws: JPEGInspector.Problem.invalidDimensions) { try JPEGInspector.inspect(bytes) }
    }

    @Test("a header claiming more pixels than the limit is refused before anything is decoded, with a code and a reason")
    func tooManyPixels() {
        // SOF0 claiming 65500 × 65500 in a file of a few bytes.
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0xFF, 0xDC, 0xFF, 0xDC, 0x01, 0x01, 0x11, 0x00,
                              0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9]
        let limit = JPEGInspector.defaultMaximumPixels
        #expect(throws: JPEGInspector.Problem.tooLarge(width: 65_500, height: 65_500, limit: limit)) { try JPEGInspector.inspect(bytes) }
        #expect(JPEGInspector.Problem.tooLarge(width: 65_500, height: 65_500, limit: limit).code == "image_too_large")
        #expect(JPEGInspector.Problem.tooLarge(width: 65_500, height: 65_500, limit: limit).message.contains("65500 × 65500"))
        #expect(throws: Never.self) { try JPEGInspector.admit(width: 8_000, height: 5_000) }
        #expect(throws: JPEGInspector.Problem.self) { try JPEGInspector.admit(width: 8_000, height: 5_001) }
    }

    @Test("zero padding after the end marker is accepted")
    func padding() throws {
        let padded = try photo("person.jpg") + [UInt8](repeating: 0, count: 32)
        #expect(try JPEGInspector.inspect(padded).width == 640)
    }
}
