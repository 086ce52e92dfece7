import Foundation
import VigilCore

/// The output layouts of the object-detection models Vigil runs itself.
public enum ModelFormat: String, Sendable, CaseIterable {
    /// YOLOX (the default: YOLOX-Nano trained on COCO): BGR planes of raw 0–255 values letterboxed
    /// to the top left; output `[1, anchors, 5 + classes]` on grids of strides 8, 16 and 32.
    case yolox
    /// An Ultralytics YOLOv8 export: RGB planes scaled to 0–1 letterboxed in the centre; output
    /// `[1, 4 + classes, anchors]` of boxes and class scores.
    case yolov8

    var placement: Letterbox.Placement { self == .yolox ? .topLeft : .centre }
    var pixelScale: Float { self == .yolox ? 1 : 1 / 255 }
    var isBGR: Bool { self == .yolox }
    /// The input side assumed when the model leaves it open (Ultralytics exports with dynamic axes).
    var defaultSide: Int { self == .yolox ? 416 : 640 }
}

/// Objects in a frame found by an ONNX model on the CPU: the frame is letterboxed into the model's
/// input the way the model was trained, the output decoded, and overlapping boxes of a class merged.
public final class ONNXObjectDetector: Sendable {
    public let session: InferenceSession
    public let format: ModelFormat
    public let inputWidth: Int
    public let inputHeight: Int
    public let classes: [String]
    /// Detections below this score are dropped before suppression.
    public let minimumScore: Double
    /// How many floats the model's output holds: as declared, or for a dynamic output, one row
    /// per cell of the stride 8, 16 and 32 grids.
    private let outputCount: Int

    public init(modelPath: String, format: ModelFormat = .yolox, threads: Int = 2, minimumScore: Double = 0.3) throws(VisionError) {
        session = try InferenceSession(modelPath: modelPath, threads: threads)
        self.format = format
        self.minimumScore = minimumScore
        let input = session.inputShape
        guard input.count == 4, input[1] == 3 || input[1] <= 0 else {
            throw .model("\(modelPath) does not take one colour image as input (its input is \(input))")
        }
        inputHeight = input[2] > 0 ? Int(input[2]) : format.defaultSide
        inputWidth = input[3] > 0 ? Int(input[3]) : format.defaultSide
        let output = session.outputShape
        guard output.count == 3 else {
            throw .model("\(modelPath) does not give one table of boxes (its output is \(output)); is it a \(format.rawValue) model?")
        }
        let named = session.metadata("names").flatMap(YOLOv8Decoder.classNames(fromMetadata:))
        let classCount: Int
        switch format {
        case .yolox:
            guard output[2] > 5 else { throw .model("\(modelPath) has an output of \(output), not YOLOX's [1, anchors, 5 + classes]") }
            classCount = Int(output[2]) - 5
        case .yolov8:
            guard output[1] > 4 else { throw .model("\(modelPath) has an output of \(output), not YOLOv8's [1, 4 + classes, anchors]") }
            classCount = Int(output[1]) - 4
        }
        if let named, named.count == classCount {
            classes = named
        } else if classCount == COCO.classes.count {
            classes = COCO.classes
        } else {
            throw .model("\(modelPath) tells \(classCount) classes apart but does not name them in its metadata ('names')")
        }
        outputCount = output.allSatisfy { $0 > 0 } ? Int(output.reduce(1, *))
            : YOLOXDecoder.anchors(width: inputWidth, height: inputHeight) * (classCount + 5)
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
        /// The frame's full size; boxes are in its pixels.
        public var width: Int
        public var height: Int
        /// The frame as decoded for the model (possibly smaller than its full size), kept for crops.
        public var image: BGRImage
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
        let image = try JPEGDecoder.decode(bytes, atLeast: max(inputWidth, inputHeight))
        // Boxes are given in the frame's full size even when it was decoded smaller.
        let fullSize = try JPEGSize.of(bytes)
        timings.decode = lap()
        let letterbox = Letterbox(width: image.width, height: image.height, inputWidth: inputWidth, inputHeight: inputHeight,
                                  placement: format.placement)
        let input = planes(image, letterbox: letterbox)
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
        return Result(detections: detections, width: fullSize.width, height: fullSize.height, image: image, timings: timings)
    }

    /// Runs the model on letterboxed planes.
    public func infer(_ planes: [Float]) throws(VisionError) -> [Float] {
        try session.run(planes, shape: [1, 3, Int64(inputHeight), Int64(inputWidth)],
                        outputCapacity: outputCount).values
    }

    private func decode(_ output: [Float], letterbox: Letterbox, image: BGRImage) -> [ObjectDetection] {
        let found = output.withUnsafeBufferPointer { buffer in
            switch format {
            case .yolox:
                YOLOXDecoder.decode(buffer, classes: classes, letterbox: letterbox, frameWidth: image.width,
                                    frameHeight: image.height, minimumScore: minimumScore)
            case .yolov8:
                YOLOv8Decoder.decode(buffer, anchors: buffer.count / (4 + classes.count), classes: classes, letterbox: letterbox,
                                     frameWidth: image.width, frameHeight: image.height, minimumScore: minimumScore)
            }
        }
        return NonMaximumSuppression.apply(found)
    }

    /// The letterboxed frame as three planes in the model's channel order and pixel scale, padded with grey 114.
    public func planes(_ image: BGRImage, letterbox: Letterbox) -> [Float] {
        ImagePlanes.letterboxed(image, letterbox: letterbox, bgr: format.isBGR, scale: format.pixelScale, pad: 114)
    }
}

/// Model inputs made from frames.
public enum ImagePlanes {
    /// `image` resized into `letterbox` as three planes (B, G, R when `bgr`, else R, G, B), each
    /// value times `scale`, the rest `pad`. Resized bilinearly with pixel centres aligned (as
    /// OpenCV's `INTER_LINEAR` does).
    public static func letterboxed(_ image: BGRImage, letterbox: Letterbox, bgr: Bool, scale: Float, pad: Float) -> [Float] {
        let plane = letterbox.inputWidth * letterbox.inputHeight
        var planes = [Float](repeating: pad * scale, count: 3 * plane)
        // Source channel c (B, G, R in memory) goes to plane c for BGR models, to plane 2 - c for RGB ones.
        let destination = bgr ? [0, 1, 2] : [2, 1, 0]
        let scaleX = Double(image.width) / Double(letterbox.scaledWidth)
        let scaleY = Double(image.height) / Double(letterbox.scaledHeight)
        image.pixels.withUnsafeBufferPointer { pixels in
            planes.withUnsafeMutableBufferPointer { output in
                for y in 0..<letterbox.scaledHeight {
                    let sourceY = max((Double(y) + 0.5) * scaleY - 0.5, 0)
                    let y0 = min(Int(sourceY), image.height - 1)
                    let y1 = min(y0 + 1, image.height - 1)
                    let fy = Float(sourceY - Double(y0))
                    let row = (y + letterbox.offsetY) * letterbox.inputWidth + letterbox.offsetX
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
                            output[destination[channel] * plane + row + x] = (top + (bottom - top) * fy) * scale
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
