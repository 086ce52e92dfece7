import CVision
import Foundation

/// A model loaded into ONNX Runtime, created once and reused for every frame. Runs may come from
/// several tasks at once: ONNX Runtime's `Run` is safe to call concurrently on one session.
public final class InferenceSession: @unchecked Sendable {
    private let session: OpaquePointer
    public let modelPath: String
    /// The shape of the model's input, e.g. `[1, 3, 416, 416]` (-1 where the model leaves a dimension open).
    public let inputShape: [Int64]
    /// The shape of the model's first output, as the model declares it.
    public let outputShape: [Int64]

    public static var runtimeVersion: String { String(cString: cv_runtime_version()) }

    public init(modelPath: String, threads: Int) throws(VisionError) {
        var error = [CChar](repeating: 0, count: 512)
        guard FileManager.default.isReadableFile(atPath: modelPath) else {
            throw .model("the model \(modelPath) is missing; scripts/install-deps fetches the default ones")
        }
        guard let session = cv_session_create(modelPath, Int32(max(threads, 1)), &error, error.count) else {
            throw .model(Self.text(error))
        }
        self.session = session
        self.modelPath = modelPath
        var dims = [Int64](repeating: 0, count: 8)
        let rank = cv_session_input_shape(session, &dims, dims.count)
        inputShape = rank > 0 ? Array(dims.prefix(Int(rank))) : []
        let outputRank = cv_session_output_shape(session, &dims, dims.count)
        outputShape = outputRank > 0 ? Array(dims.prefix(Int(outputRank))) : []
    }

    /// A value of the model's custom metadata, e.g. the class names an Ultralytics export keeps under `names`.
    public func metadata(_ key: String) -> String? {
        let length = cv_session_metadata(session, key, nil, 0)
        guard length >= 0 else { return nil }
        var value = [CChar](repeating: 0, count: Int(length) + 1)
        _ = cv_session_metadata(session, key, &value, value.count)
        return Self.text(value)
    }

    deinit {
        cv_session_destroy(session)
    }

    /// The text of a NUL-terminated C buffer.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs the model on `input` (shaped `shape`) and returns every output, in the model's order.
    public func runAll(_ input: [Float], shape: [Int64], outputCapacity: Int) throws(VisionError) -> [[Float]] {
        let outputs = cv_session_output_count(session)
        var output = [Float](repeating: 0, count: outputCapacity)
        var counts = [Int64](repeating: 0, count: outputs)
        var error = [CChar](repeating: 0, count: 512)
        let total = input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                cv_session_run_all(session, inputBuffer.baseAddress, shape, shape.count, outputBuffer.baseAddress, outputCapacity,
                                   &counts, outputs, &error, error.count)
            }
        }
        guard total >= 0 else { throw .model(Self.text(error)) }
        var start = 0
        return counts.map { count in
            defer { start += Int(count) }
            return Array(output[start..<start + Int(count)])
        }
    }

    /// Runs the model on `input` (shaped `shape`) and returns its first output and that output's shape.
    public func run(_ input: [Float], shape: [Int64], outputCapacity: Int) throws(VisionError) -> (values: [Float], shape: [Int64]) {
        var output = [Float](repeating: 0, count: outputCapacity)
        var outputDims = [Int64](repeating: 0, count: 8)
        var outputRank = outputDims.count
        var error = [CChar](repeating: 0, count: 512)
        let count = input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                cv_session_run(session, inputBuffer.baseAddress, shape, shape.count, outputBuffer.baseAddress, outputCapacity,
                               &outputDims, &outputRank, &error, error.count)
            }
        }
        guard count >= 0 else { throw .model(Self.text(error)) }
        return (Array(output.prefix(Int(count))), Array(outputDims.prefix(outputRank)))
    }
}
