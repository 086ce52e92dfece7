import ArgumentParser
import Foundation
import VigilCore
import VigilServer
import VigilVision

/// `vigil faces`: finds the faces in JPEG files with the models Vigil recognizes with, prints
/// each with its quality, and with `--repeat`, what a face costs (the figures `make bench` records).
struct FacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces",
        abstract: "Find faces in JPEG files with Vigil's face models (VIGIL_FACE_DETECTOR_MODEL and VIGIL_FACE_RECOGNIZER_MODEL).",
        discussion: "With --repeat N each file is analysed N times and the median and p99 of each step are printed: detection per frame, alignment and embedding per face.")

    @Argument(help: "JPEG files.")
    var files: [String]

    @Option(help: "Analyse each file this many times and report timings.")
    var `repeat`: Int = 1

    @Option(help: "Inference threads (overrides VIGIL_INFERENCE_THREADS).")
    var threads: Int?

    func run() async throws {
        var configuration = try ServerConfiguration.load()
        if let threads { configuration.inferenceThreads = threads }
        let models = configuration.faceModels
        let detector = try YuNetFaceDetector(modelPath: models.detector.path, threads: configuration.inferenceThreads)
        let recognizer = try FaceRecognizer(modelPath: models.recognizer.path, threads: configuration.inferenceThreads,
                                            modelVersion: configuration.resolvedFaceModelVersion, input: configuration.faceRecognizerInput)
        let clock = ContinuousClock()
        for file in files {
            let image = try JPEGDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            var detect: [Duration] = [], align: [Duration] = [], embed: [Duration] = [], perFace: [Duration] = []
            var found: [(DetectedFace, FaceQuality)] = []
            for _ in 0..<max(`repeat`, 1) {
                var start = clock.now
                let faces = try detector.detect(image)
                let detection = clock.now - start
                detect.append(detection)
                found = []
                for face in faces {
                    start = clock.now
                    guard let aligned = AlignedFace(face, in: image) else { continue }
                    let quality = FaceQuality(face: face, sharpness: aligned.sharpness)
                    let aligning = clock.now - start
                    start = clock.now
                    _ = try recognizer.embedding(of: aligned)
                    let embedding = clock.now - start
                    align.append(aligning)
                    embed.append(embedding)
                    // A frame's detection shared among its faces, and each face's own steps.
                    perFace.append(detection / faces.count + aligning + embedding)
                    found.append((face, quality))
                }
            }
            print("\(file): \(image.width)x\(image.height), \(found.count) face(s)")
            for (face, quality) in found {
                print(String(format: "  face %.3f  %.0f,%.0f - %.0f,%.0f  quality %.3f (size %.0f, sharpness %.0f, yaw %.2f)%@",
                             face.confidence, face.box.x1, face.box.y1, face.box.x2, face.box.y2, quality.score, quality.size,
                             quality.sharpness, quality.yaw, quality.enrolmentProblem.map { "  refused for enrolment: \($0)" } ?? ""))
            }
            if `repeat` > 1 {
                for (step, values) in [("detect", detect), ("align", align), ("embed", embed), ("per_face", perFace)] where !values.isEmpty {
                    print("  " + TimingSummary.line(step, values))
                }
            }
        }
    }
}

/// `stage_ms median 1.23 p99 4.56`: how the benchmarks read the commands' timings.
enum TimingSummary {
    static func line(_ stage: String, _ values: [Duration]) -> String {
        let sorted = values.map(\.milliseconds).sorted()
        let median = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        return String(format: "%@_ms median %.2f p99 %.2f", stage, median, p99)
    }
}
