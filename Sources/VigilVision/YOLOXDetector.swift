import Foundation
import VigilCore

/// Objects in a frame with YOLOX (the default: YOLOX-Nano trained on COCO), on the CPU.
///
/// The frame is letterboxed into the model's square input (scaled to fit, top left, padded with
/// grey 114), given as blue-green-red planes of raw 0–255 values, as YOLOX was trained; the grid
/// output is decoded and overlapping boxes of a class are merged.
public final class YOLOXDetector: Sendable {
    public let session: InferenceSession
    public let side: Int
    public let classes: [String]
    /// Detections below this score are dropped before suppression.
    public let minimumScore: Double

    public init(modelPath: String, threads: Int = 2, classes: [String] = YOLOXDecoder.cocoClasses, minimumScore: Double = 0.3)
        throws(VisionError) {
        session = try InferenceSession(modelPath: modelPath, threads: threads)
        guard session.inputShape.count == 4, session.inputShape[2] == session.inputShape[3], session.inputShape[2] > 0 else {
            throw .model("\(modelPath) does not take a square image input (its input is \(session.inputShape))")
        }
        side = Int(session.inputShape[2])
        self.classes = classes
        self.minimumScore = minimumScore
    }

    /// Where the time of one detection went.
    public struct Timings: Sendable, Equatable {
        public var decode: Duration = .zero
        public var preprocess: Duration = .zero
        public var inference: Duration = .zero
        public var postprocess: Duration = .zero

        public var total: Duration { decode + preprocess + inference + postprocess }
    }

    public struct Result: Sendable {
        public var detections: [ObjectDetection]
        public var width: Int
        public var height: Int
        public var timings: Timings
    }

    /// The objects in a JPEG frame, in the frame's own pixels.
    public func detect(jpeg bytes: [UInt8]) throws(VisionError) -> Result {
        let clock = ContinuousClock()
        var timings = Timings()
        var mark = clock.now
        func lap() -> Duration {
            let now = clock.now
            defer { mark = now }
            return now - mark
        }
        let image = try JPEGDecoder.decode(bytes, atLeast: side)
        // Boxes are given in the frame's full size even when it was decoded smaller.
        let fullSize = try JPEGSize.of(bytes)
        timings.decode = lap()
        let letterbox = Letterbox(width: image.width, height: image.height, side: side)
        let input = Self.planes(image, letterbox: letterbox)
        timings.preprocess = lap()
        let output = try infer(input)
        timings.inference = lap()
        let factor = Double(fullSize.width) / Double(image.width)
        let detections = decode(output, letterbox: letterbox, image: image).map { detection in
            var scaled = detection
            scaled.box = PixelBox(x1: detection.box.x1 * factor, y1: detection.box.y1 * factor,
                                  x2: detection.box.x2 * factor, y2: detection.box.y2 * factor)
            return scaled
        }
        timings.postprocess = lap()
        return Result(detections: detections, width: fullSize.width, height: fullSize.height, timings: timings)
    }

    /// Runs the model on letterboxed planes.
    public func infer(_ planes: [Float]) throws(VisionError) -> [Float] {
        let anchors = [8, 16, 32].reduce(0) { $0 + (side / $1) * (side / $1) }
        return try session.run(planes, shape: [1, 3, Int64(side), Int64(side)], outputCapacity: anchors * (5 + classes.count)).values
    }

    private func decode(_ output: [Float], letterbox: Letterbox, image: BGRImage) -> [ObjectDetection] {
        let found = output.withUnsafeBufferPointer { buffer in
            YOLOXDecoder.decode(buffer, inputSide: side, classes: classes, letterbox: letterbox, frameWidth: image.width,
                                frameHeight: image.height, minimumScore: minimumScore)
        }
        return NonMaximumSuppression.apply(found)
    }

    /// The letterboxed frame as three planes (B, G, R) of floats, resized bilinearly with pixel
    /// centres aligned (as OpenCV's `INTER_LINEAR` does), the rest 114.
    static func planes(_ image: BGRImage, letterbox: Letterbox) -> [Float] {
        let side = letterbox.side
        var planes = [Float](repeating: 114, count: 3 * side * side)
        let scaleX = Double(image.width) / Double(letterbox.scaledWidth)
        let scaleY = Double(image.height) / Double(letterbox.scaledHeight)
        image.pixels.withUnsafeBufferPointer { pixels in
            planes.withUnsafeMutableBufferPointer { output in
                for y in 0..<letterbox.scaledHeight {
                    let sourceY = max((Double(y) + 0.5) * scaleY - 0.5, 0)
                    let y0 = min(Int(sourceY), image.height - 1)
                    let y1 = min(y0 + 1, image.height - 1)
                    let fy = Float(sourceY - Double(y0))
                    for x in 0..<letterbox.scaledWidth {
                        let sourceX = max((Double(x) + 0.5) * scaleX - 0.5, 0)
                        let x0 = min(Int(sourceX), image.width - 1)
                        let x1 = min(x0 + 1, image.width - 1)
                        let fx = Float(sourceX - Double(x0))
                        for channel in 0..<3 {
                            let a = Float(pixels[(y0 * image.width + x0) * 3 + channel])
                            let b = Float(pixels[(y0 * image.width + x1) * 3 + channel])
                            let c = Float(pixels[(y1 * image.width + x0) * 3 + channel])
                            let d = Float(pixels[(y1 * image.width + x1) * 3 + channel])
                            let top = a + (b - a) * fx
                            let bottom = c + (d - c) * fx
                            output[channel * side * side + y * side + x] = top + (bottom - top) * fy
                        }
                    }
                }
            }
        }
        return planes
    }
}

/// A JPEG's size from its header, without decoding it.
enum JPEGSize {
    static func of(_ bytes: [UInt8]) throws(VisionError) -> (width: Int, height: Int) {
        do {
            let info = try JPEGInspector.inspect(bytes)
            return (info.width, info.height)
        } catch {
            throw .undecodable("\(error)")
        }
    }
}
