import Foundation
import Testing
import VigilCore
@testable import VigilVision

/// The default model, fetched by scripts/install-deps.
let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent(".vendor/models/yolox_nano.onnx").path

@Suite("Object detection with YOLOX-Nano", .serialized)
struct YOLOXDetectorTests {
    static let detector: YOLOXDetector = {
        do {
            return try YOLOXDetector(modelPath: modelPath, threads: 2)
        } catch {
            fatalError("the default model does not load: \(error)")
        }
    }()

    func photo(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)")))
    }

    func labels(_ detections: [ObjectDetection], minimum: Double = 0.5) -> Set<String> {
        Set(detections.filter { $0.confidence >= minimum }.map(\.label))
    }

    @Test("the runtime and the model load, with the input the model declares")
    func loads() {
        #expect(InferenceSession.runtimeVersion == "1.21.1")
        #expect(Self.detector.session.inputShape == [1, 3, 416, 416])
    }

    @Test("dog.jpg: a dog, a bicycle and a car or truck, each where it is in the photo")
    func dog() throws {
        let result = try Self.detector.detect(jpeg: try photo("dog.jpg"))
        #expect(result.width == 768 && result.height == 576)
        let found = labels(result.detections)
        #expect(found.isSuperset(of: ["dog", "bicycle"]))
        #expect(!found.isDisjoint(with: ["car", "truck"]))
        let dog = try #require(result.detections.first { $0.label == "dog" })
        // The dog sits in the lower left; the car is parked at the top right.
        #expect(dog.box.x1 < 200 && dog.box.y1 > 150 && dog.box.x2 < 400 && dog.box.y2 > 450)
        let vehicle = try #require(result.detections.first { $0.label == "car" || $0.label == "truck" })
        #expect(vehicle.box.x1 > 400 && vehicle.box.y2 < 200)
    }

    @Test("person.jpg: a person, a dog and a horse")
    func person() throws {
        let result = try Self.detector.detect(jpeg: try photo("person.jpg"))
        #expect(labels(result.detections).isSuperset(of: ["person", "dog", "horse"]))
        let horse = try #require(result.detections.first { $0.label == "horse" })
        #expect(horse.box.x1 > 300, "the horse stands on the right")
    }

    @Test("kite.jpg: several people")
    func kite() throws {
        let result = try Self.detector.detect(jpeg: try photo("kite.jpg"))
        #expect(result.detections.filter { $0.label == "person" && $0.confidence >= 0.4 }.count >= 3)
    }

    @Test("a corrupt JPEG is refused with a reason, and the detector goes on working")
    func corrupt() throws {
        var bytes = try photo("dog.jpg")
        bytes.replaceSubrange(200..<bytes.count, with: [UInt8](repeating: 0, count: 50))
        #expect(throws: VisionError.self) { try Self.detector.detect(jpeg: bytes) }
        #expect(labels(try Self.detector.detect(jpeg: try photo("dog.jpg")).detections).contains("dog"))
    }
}
