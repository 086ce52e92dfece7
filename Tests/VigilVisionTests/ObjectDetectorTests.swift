import Foundation
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilVision

let packageRoot = TestPaths.packageRoot
/// The default model, fetched by scripts/install-deps.
let modelPath = packageRoot.appendingPathComponent(".vendor/models/yolox_nano.onnx").path

func photo(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)")))
}

@Suite("Object detection with YOLOX-Nano", .serialized)
struct YOLOXDetectorTests {
    static let detector: ONNXObjectDetector = {
        do {
            return try ONNXObjectDetector(modelPath: modelPath, format: .yolox, threads: 2)
        } catch {
            fatalError("the default model does not load: \(error)")
        }
    }()

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

@Suite("Object detection with a YOLOv8-layout model", .serialized)
struct YOLOv8DetectorTests {
    /// YOLOX-Nano's weights in the input and output layout of an Ultralytics export, built by
    /// scripts/install-deps (scripts/vision/yolov8_layout_from_yolox.py).
    static let detector: ONNXObjectDetector = {
        do {
            return try ONNXObjectDetector(modelPath: packageRoot.appendingPathComponent(".vendor/models/yolox_nano_yolov8_layout.onnx").path,
                                          format: .yolov8, threads: 2)
        } catch {
            fatalError("the YOLOv8-layout model does not load: \(error)")
        }
    }()

    @Test("the class names come from the model's metadata")
    func names() {
        #expect(Self.detector.classes.count == 80 && Self.detector.classes[16] == "dog")
        #expect(Self.detector.session.metadata("names")?.hasPrefix("{0: 'person', 1: 'bicycle'") == true)
    }

    @Test("dog.jpg and person.jpg: the same objects in the same places as with the YOLOX layout")
    func photos() throws {
        for name in ["dog.jpg", "person.jpg"] {
            let yolov8 = try Self.detector.detect(jpeg: try photo(name)).detections.filter { $0.confidence >= 0.5 }
            let yolox = try YOLOXDetectorTests.detector.detect(jpeg: try photo(name)).detections.filter { $0.confidence >= 0.5 }
            // The centred letterbox shifts the picture inside the model's input: boxes move a few pixels,
            // and the parked car at the top of dog.jpg, on the edge of car and truck, may swap between them.
            func kind(_ label: String) -> String { label == "truck" ? "car" : label }
            #expect(Set(yolov8.map { kind($0.label) }) == Set(yolox.map { kind($0.label) }), "\(name)")
            for detection in yolox {
                #expect(yolov8.contains { kind($0.label) == kind(detection.label) && $0.box.iou(detection.box) > 0.85 },
                        "\(name): \(detection)")
            }
        }
    }

    @Test("a model that is not in the layout asked for is refused with the reason")
    func wrongLayout() {
        #expect(throws: VisionError.self) { try ONNXObjectDetector(modelPath: modelPath, format: .yolov8) }
    }
}

/// What a reference script of scripts/vision prints, run in the Python environment scripts/install-deps makes.
func referenceRun(_ script: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = packageRoot.appendingPathComponent(".vendor/python/bin/python")
    process.arguments = [packageRoot.appendingPathComponent("scripts/vision/\(script)").path] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(script) failed")
    return data
}

/// The parity check: Vigil's detections for the darknet photos against the reference run of the
/// same model through Python's onnxruntime with YOLOX's official preprocessing and decoding
/// (scripts/vision/onnxruntime_reference.py, in the environment scripts/install-deps makes).
@Suite("Parity with the onnxruntime reference", .serialized)
struct ParityTests {
    struct Reference: Decodable {
        struct Detection: Decodable {
            var label: String
            var confidence: Double
            var box: [Double]
        }

        var image: String
        var detections: [Detection]
    }

    @Test("every photo: the same classes, boxes overlapping at IoU 0.95 or more, confidences within 0.02")
    func parity() throws {
        let photos = ["dog.jpg", "person.jpg", "kite.jpg", "horses.jpg", "eagle.jpg", "giraffe.jpg"].map { "/usr/share/darknet/data/\($0)" }
        let data = try referenceRun("onnxruntime_reference.py", ["detect", modelPath] + photos)
        let references = try JSONDecoder().decode([Reference].self, from: data)
        #expect(references.count == photos.count)
        // Both sides must agree on everything clearly above Vigil's floor of 0.3; an object near
        // the floor may fall on either side of it.
        let floor = 0.32
        var compared = 0
        for reference in references {
            let vigil = try YOLOXDetectorTests.detector.detect(jpeg: Array(try Data(contentsOf: URL(fileURLWithPath: reference.image))))
            let expected = reference.detections.filter { $0.confidence >= floor }
            for item in expected {
                let box = PixelBox(x1: item.box[0], y1: item.box[1], x2: item.box[2], y2: item.box[3])
                let match = vigil.detections.filter { $0.label == item.label }.max { $0.box.iou(box) < $1.box.iou(box) }
                #expect(match != nil && match!.box.iou(box) >= 0.95 && abs(match!.confidence - item.confidence) <= 0.02,
                        "\(reference.image): \(item.label) \(item.confidence) at \(item.box); Vigil: \(String(describing: match))")
                compared += 1
            }
            for detection in vigil.detections where detection.confidence >= floor {
                #expect(reference.detections.contains { $0.label == detection.label && abs($0.confidence - detection.confidence) <= 0.02 },
                        "\(reference.image): Vigil's \(detection) is not in the reference")
            }
        }
        #expect(compared >= 15, "the photos hold enough objects for the check to mean something")
    }
}
