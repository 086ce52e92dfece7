import Foundation
import Testing
@testable import VigilCore

@Suite("Splitting JPEG streams")
struct JPEGStreamSplitterTests {
    func photo(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)")))
    }

    @Test("back-to-back photos with multipart headers between them come out whole, whatever the chunk size",
          arguments: [1, 7, 1000, 1 << 20])
    func wholeFrames(chunk: Int) throws {
        let photos = [try photo("dog.jpg"), try photo("person.jpg"), try photo("horses.jpg")]
        var stream: [UInt8] = []
        for photo in photos {
            stream += Array("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: \(photo.count)\r\n\r\n".utf8)
            stream += photo
            stream += Array("\r\n".utf8)
        }
        var splitter = JPEGStreamSplitter()
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            frames += splitter.append(stream[offset..<min(offset + chunk, stream.count)])
            offset += chunk
        }
        #expect(frames == photos)
    }

    @Test("an end marker inside a header segment (an embedded thumbnail) does not cut the frame")
    func endMarkerInSegment() throws {
        let dog = try photo("dog.jpg")
        // An APP1 segment carrying bytes that look like an end of image.
        let payload: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00, 0xFF, 0xD8, 0xFF, 0xD9]
        let segment: [UInt8] = [0xFF, 0xE1, 0x00, UInt8(payload.count + 2)] + payload
        let framed = Array(dog[0..<2]) + segment + Array(dog[2...])
        var splitter = JPEGStreamSplitter()
        let frames = splitter.append(framed)
        #expect(frames == [framed])
        #expect(try JPEGInspector.inspect(framed).width == 768)
    }

    @Test("a frame larger than the limit is dropped and the next one still comes through")
    func oversized() throws {
        let person = try photo("person.jpg")
        var splitter = JPEGStreamSplitter(maximumFrameBytes: person.count / 2)
        let none = splitter.append(person.prefix(person.count / 2 + 10))
        #expect(none.isEmpty)
        #expect(splitter.droppedFrames == 1)
        let small: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x11, 0x22, 0xFF, 0xD9]
        let after = splitter.append(Array(person.suffix(person.count / 2 - 10)) + small)
        #expect(after == [small])
    }
}

@Suite("FTP uploads")
struct FolderUploadTests {
    @Test("the first folder names the camera, by its slug; the extension says what the file is", arguments: [
        ("Front Door/snap/MDAlarm_20260101-120000.JPG", "front_door", FolderUpload.Kind.image),
        ("back-yard/record/clip.mp4", "back_yard", .video),
        ("Garage/clip.MKV", "garage", .video),
        ("Garage/.clip.mkv", "garage", .partial),
        ("Garage/upload.jpg.part", "garage", .partial),
        ("Garage/notes.txt", "garage", .other),
        ("Garage/README", "garage", .other),
    ])
    func classify(path: String, slug: String, kind: FolderUpload.Kind) {
        let upload = FolderUpload(relativePath: path)
        #expect(upload.cameraSlug == slug)
        #expect(upload.kind == kind)
    }

    @Test("a file directly in the root, or in a folder whose name has no letters or digits, has no camera")
    func noCamera() {
        #expect(FolderUpload(relativePath: "loose.jpg").cameraFolder == nil)
        #expect(FolderUpload(relativePath: "loose.jpg").cameraSlug == nil)
        #expect(FolderUpload(relativePath: "---/x.jpg").cameraSlug == nil)
    }

    @Test("a scanned file is whole once size and time stood still for the settle time")
    func settling() {
        var tracker = SettleTracker(settle: 2)
        let start = Date(timeIntervalSince1970: 1_000)
        let growing = SettleTracker.Observation(size: 10, modified: start)
        let grown = SettleTracker.Observation(size: 20, modified: start.addingTimeInterval(1))
        let looks = [
            tracker.observe("a", growing, at: start),
            tracker.observe("a", grown, at: start.addingTimeInterval(1)),
            tracker.observe("a", grown, at: start.addingTimeInterval(2)),  // unchanged, but not yet for 2 s
            tracker.observe("a", grown, at: start.addingTimeInterval(3.5)),
        ]
        #expect(looks == [false, false, false, true])
        tracker.retain(only: [])
        let afterForgetting = tracker.observe("a", grown, at: start.addingTimeInterval(4))
        #expect(!afterForgetting, "forgotten files start over")
    }
}

@Suite("Reconnect back-off")
struct ReconnectBackoffTests {
    @Test("doubles from the first wait up to the longest")
    func doubling() {
        let backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(30))
        #expect((0...7).map { backoff.delay(afterFailures: $0) }
                == [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        #expect(backoff.delay(afterFailures: 10_000) == .seconds(30))
    }
}

@Suite("Job retry back-off")
struct JobRetryPolicyTests {
    @Test("doubles per attempt up to the maximum, spread by the jitter")
    func backoff() {
        let policy = JobRetryPolicy(base: 5, maximum: 60, jitter: 0.2)
        #expect((1...6).map { policy.delay(afterAttempt: $0, unit: 0.5) } == [5, 10, 20, 40, 60, 60])
        #expect(abs(policy.delay(afterAttempt: 1, unit: 0) - 4) < 1e-9)
        #expect(abs(policy.delay(afterAttempt: 1, unit: 1) - 6) < 1e-9)
        #expect(abs(policy.delay(afterAttempt: 3, unit: 0.25) - 18) < 1e-9)
    }
}
