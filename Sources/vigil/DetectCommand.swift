import ArgumentParser
import Foundation
import VigilCore
import VigilServer
import VigilVision

/// `vigil detect`: runs the object detector on JPEG files and prints what it finds, and with
/// `--repeat`, where the time goes (the figures `make bench` records).
struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find objects in JPEG files with the model Vigil runs (VIGIL_DETECTOR and VIGIL_DETECTOR_MODEL, or the options).",
        discussion: "With --repeat N each file is detected N times and the median and p99 times of each stage are printed.")

    @Argument(help: "JPEG files.")
    var files: [String]

    @Option(help: "Detect each file this many times and report timings.")
    var `repeat`: Int = 1

    @Option(help: "The model's ONNX file (overrides VIGIL_DETECTOR_MODEL; by default YOLOX-Nano).")
    var model: String?

    @Option(help: "The model's layout: yolox or yolov8 (overrides VIGIL_DETECTOR).")
    var format: String?

    @Option(help: "Inference threads (overrides VIGIL_INFERENCE_THREADS).")
    var threads: Int?

    @Option(name: .customLong("min-confidence"), help: "Print objects at this confidence or more.")
    var minimumConfidence: Double = 0.3

    func run() async throws {
        var configuration = try ServerConfiguration.load()
        if let threads { configuration.inferenceThreads = threads }
        let kind = format ?? (configuration.detector.kind == .deepstack ? ModelFormat.yolox.rawValue : configuration.detector.kind.rawValue)
        guard let modelFormat = ModelFormat(rawValue: kind) else {
            throw ValidationError("--format must be one of \(ModelFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let modelPath = model ?? (configuration.detector.model ?? configuration.defaultObjectModel).path
        let detector = try ONNXObjectDetector(modelPath: modelPath, format: modelFormat, threads: configuration.inferenceThreads)
        for file in files {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            var runs: [ONNXObjectDetector.Timings] = []
            var last: ONNXObjectDetector.Result?
            for _ in 0..<max(`repeat`, 1) {
                let result = try detector.detect(jpeg: bytes)
                runs.append(result.timings)
                last = result
            }
            guard let last else { continue }
            print("\(file): \(last.width)x\(last.height)")
            for detection in last.detections where detection.confidence >= minimumConfidence {
                let box = detection.box
                print(String(format: "  %@ %.3f  %.0f,%.0f - %.0f,%.0f", detection.label, detection.confidence, box.x1, box.y1, box.x2, box.y2))
            }
            if `repeat` > 1 {
                let stages: [(String, [Duration])] = [
                    ("decode", runs.map { $0.decode }), ("preprocess", runs.map { $0.preprocess }),
                    ("inference", runs.map { $0.inference }), ("postprocess", runs.map { $0.postprocess }), ("total", runs.map { $0.total }),
                ]
                for (stage, values) in stages { print("  " + TimingSummary.line(stage, values)) }
            }
        }
    }
}
