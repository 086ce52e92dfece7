import Foundation

/// Where the detection models are found when `VIGIL_MODELS_DIR` does not say.
enum ModelLocation {
    static let objectDetector = "yolox_nano.onnx"
    static let faceDetector = "yunet_2023mar.onnx"
    static let faceRecognizer = "sface_2021dec.onnx"

    /// `.vendor/models` of the checkout the running binary was built in (`.build/<config>/vigil`),
    /// where `scripts/install-deps` puts them; else `.vendor/models` under the working folder.
    static var defaultDirectory: URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().standardizedFileURL
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent(".vendor/models")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(objectDetector).path) { return candidate }
            folder.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".vendor/models")
    }
}
