import Foundation
import VigilCore

/// YuNet (2023mar): faces and their five landmarks. The frame is letterboxed into the model's
/// 640 × 640 input (top-left, black padding, BGR, raw 0-255); each of the three strides gives a
/// score (√(class · objectness)), a box and landmarks per cell, and overlapping faces are merged.
public final class YuNetFaceDetector: Sendable {
    let session: InferenceSession
    public let minimumConfidence: Double
    static let side = 640
    static let strides = [8, 16, 32]

    public init(modelPath: String, threads: Int = 2, minimumConfidence: Double = 0.8) throws(VisionError) {
        session = try InferenceSession(modelPath: modelPath, threads: threads)
        guard session.inputShape == [1, 3, Int64(Self.side), Int64(Self.side)] else {
            throw .model("\(modelPath) does not take [1, 3, 640, 640] frames as YuNet does: \(session.inputShape)")
        }
        self.minimumConfidence = minimumConfidence
    }

    /// The faces in `image`, most confident first, in the image's pixels.
    public func detect(_ image: BGRImage) throws(VisionError) -> [DetectedFace] {
        let letterbox = Letterbox(width: image.width, height: image.height, inputWidth: Self.side, inputHeight: Self.side, placement: .topLeft)
        let input = ImagePlanes.letterboxed(image, letterbox: letterbox, bgr: true, scale: 1, pad: 0)
        let cells = Self.strides.map { (Self.side / $0) * (Self.side / $0) }
        let outputs = try session.runAll(input, shape: [1, 3, Int64(Self.side), Int64(Self.side)],
                                         outputCapacity: cells.reduce(0, +) * (1 + 1 + 4 + 10))
        guard outputs.count == 12 else { throw .model("YuNet gave \(outputs.count) outputs, not 12") }
        var faces: [DetectedFace] = []
        for (level, stride) in Self.strides.enumerated() {
            let classes = outputs[level], objects = outputs[3 + level], boxes = outputs[6 + level], points = outputs[9 + level]
            let columns = Self.side / stride
            guard classes.count == cells[level], objects.count == cells[level], boxes.count == cells[level] * 4,
                  points.count == cells[level] * 10 else { throw .model("YuNet's outputs are not shaped as expected") }
            let step = Double(stride), scale = letterbox.scale
            for cell in 0..<cells[level] {
                let score = (Double(min(max(classes[cell], 0), 1)) * Double(min(max(objects[cell], 0), 1))).squareRoot()
                guard score >= minimumConfidence else { continue }
                let column = Double(cell % columns), row = Double(cell / columns)
                let centreX = (column + Double(boxes[cell * 4])) * step, centreY = (row + Double(boxes[cell * 4 + 1])) * step
                let width = exp(Double(boxes[cell * 4 + 2])) * step, height = exp(Double(boxes[cell * 4 + 3])) * step
                let box = PixelBox(x1: (centreX - width / 2) / scale, y1: (centreY - height / 2) / scale,
                                   x2: (centreX + width / 2) / scale, y2: (centreY + height / 2) / scale)
                    .clamped(width: Double(image.width), height: Double(image.height))
                let landmarks = (0..<5).map { point in
                    FacePoint(x: (Double(points[cell * 10 + 2 * point]) + column) * step / scale,
                              y: (Double(points[cell * 10 + 2 * point + 1]) + row) * step / scale)
                }
                faces.append(DetectedFace(box: box, confidence: score, landmarks: landmarks))
            }
        }
        return DetectedFace.suppressingOverlaps(faces)
    }
}

/// A face turned upright and scaled to the recognizer's 112 × 112 input by the similarity that
/// takes its landmarks onto the template.
public struct AlignedFace: Sendable {
    public static let side = 112
    /// Interleaved B, G, R.
    public var pixels: [UInt8]

    public init?(_ face: DetectedFace, in image: BGRImage) {
        guard let transform = SimilarityTransform(from: face.landmarks, to: SimilarityTransform.faceTemplate) else { return nil }
        var pixels = [UInt8](repeating: 0, count: Self.side * Self.side * 3)
        image.pixels.withUnsafeBufferPointer { source in
            for y in 0..<Self.side {
                for x in 0..<Self.side {
                    let from = transform.inverse(FacePoint(x: Double(x), y: Double(y)))
                    guard from.x >= 0, from.y >= 0, from.x <= Double(image.width - 1), from.y <= Double(image.height - 1) else { continue }
                    let x0 = Int(from.x), y0 = Int(from.y)
                    let x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                    let fx = from.x - Double(x0), fy = from.y - Double(y0)
                    for channel in 0..<3 {
                        let a = Double(source[(y0 * image.width + x0) * 3 + channel]), b = Double(source[(y0 * image.width + x1) * 3 + channel])
                        let c = Double(source[(y1 * image.width + x0) * 3 + channel]), d = Double(source[(y1 * image.width + x1) * 3 + channel])
                        let value = (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy
                        pixels[(y * Self.side + x) * 3 + channel] = UInt8(min(max(value.rounded(), 0), 255))
                    }
                }
            }
        }
        self.pixels = pixels
    }

    /// Variance of the 4-neighbour Laplacian of the face's grey levels: low for a blurred face.
    public var sharpness: Double {
        let side = Self.side
        var grey = [Double](repeating: 0, count: side * side)
        for index in 0..<(side * side) {
            grey[index] = 0.114 * Double(pixels[index * 3]) + 0.587 * Double(pixels[index * 3 + 1]) + 0.299 * Double(pixels[index * 3 + 2])
        }
        var values: [Double] = []
        values.reserveCapacity((side - 2) * (side - 2))
        for y in 1..<(side - 1) {
            for x in 1..<(side - 1) {
                let centre = y * side + x
                values.append(grey[centre - 1] + grey[centre + 1] + grey[centre - side] + grey[centre + side] - 4 * grey[centre])
            }
        }
        let mean = values.reduce(0, +) / Double(values.count)
        return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    }

    public var image: BGRImage { BGRImage(width: Self.side, height: Self.side, pixels: pixels) }
}

/// A face recognizer: an ONNX model that takes an aligned 112 × 112 face and gives an embedding of
/// its own width, L2-normalised. SFace (2021dec, 128-d, RGB 0-255) is the default; an ArcFace
/// export (512-d, RGB scaled to -1...1) works the same way under its own `modelVersion`.
public final class FaceRecognizer: Sendable {
    /// How the model wants its pixels.
    public enum Input: String, Sendable, CaseIterable {
        /// RGB, 0 to 255 (SFace, OpenCV's model zoo).
        case raw
        /// RGB, (value - 127.5) / 127.5 (InsightFace's ArcFace exports).
        case centred
    }

    let session: InferenceSession
    /// Names the embeddings' model in `face_embeddings.model_version`: vectors of different models are never compared.
    public let modelVersion: String
    /// The embeddings' width.
    public let dimensions: Int
    public let input: Input

    public init(modelPath: String, threads: Int = 2, modelVersion: String = "sface_2021dec", input: Input = .raw) throws(VisionError) {
        session = try InferenceSession(modelPath: modelPath, threads: threads)
        let shape = session.inputShape
        guard shape.count == 4, shape[0] == 1 || shape[0] == -1, shape[1...] == [3, Int64(AlignedFace.side), Int64(AlignedFace.side)] else {
            throw .model("\(modelPath) does not take [1, 3, 112, 112] faces as SFace and ArcFace do: \(shape)")
        }
        guard let width = session.outputShape.last, width >= 2, width <= 2000 else {
            throw .model("\(modelPath) does not give an embedding of 2 to 2000 values: \(session.outputShape)")
        }
        self.modelVersion = modelVersion
        self.input = input
        dimensions = Int(width)
    }

    public func embedding(of face: AlignedFace) throws(VisionError) -> [Float] {
        let plane = AlignedFace.side * AlignedFace.side
        var values = [Float](repeating: 0, count: 3 * plane)
        let (scale, shift): (Float, Float) = input == .raw ? (1, 0) : (1 / 127.5, -1)
        for index in 0..<plane {
            // Interleaved B, G, R in; R, G, B planes out.
            values[index] = Float(face.pixels[index * 3 + 2]) * scale + shift
            values[plane + index] = Float(face.pixels[index * 3 + 1]) * scale + shift
            values[2 * plane + index] = Float(face.pixels[index * 3]) * scale + shift
        }
        let output = try session.run(values, shape: [1, 3, Int64(AlignedFace.side), Int64(AlignedFace.side)], outputCapacity: dimensions)
        guard output.values.count == dimensions else {
            throw .model("\(modelVersion) gave \(output.values.count) values, not \(dimensions)")
        }
        return FaceEmbedding.normalized(output.values)
    }
}

/// Faces in a frame with what recognition needs: the face, its quality, its embedding.
public struct FaceAnalysis: Sendable {
    public struct Face: Sendable {
        public var face: DetectedFace
        public var quality: FaceQuality
        public var embedding: [Float]
        public var aligned: AlignedFace
    }

    public let detector: YuNetFaceDetector
    public let recognizer: FaceRecognizer

    public init(detector: YuNetFaceDetector, recognizer: FaceRecognizer) {
        self.detector = detector
        self.recognizer = recognizer
    }

    /// Every face in `image` (or in `region` of it: the upper part of a person, for instance), described.
    public func faces(in image: BGRImage) throws(VisionError) -> [Face] {
        var found: [Face] = []
        for face in try detector.detect(image) {
            guard let aligned = AlignedFace(face, in: image) else { continue }
            found.append(Face(face: face, quality: FaceQuality(face: face, sharpness: aligned.sharpness),
                              embedding: try recognizer.embedding(of: aligned), aligned: aligned))
        }
        return found
    }
}
