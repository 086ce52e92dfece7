import Foundation

/// A box in pixels of the frame: left, top, right, bottom.
public struct PixelBox: Codable, Sendable, Equatable {
    public var x1: Double
    public var y1: Double
    public var x2: Double
    public var y2: Double

    public init(x1: Double, y1: Double, x2: Double, y2: Double) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
    }

    public var width: Double { max(0, x2 - x1) }
    public var height: Double { max(0, y2 - y1) }
    public var area: Double { width * height }

    /// Intersection over union, 0 for boxes that do not overlap.
    public func iou(_ other: PixelBox) -> Double {
        let overlap = PixelBox(x1: max(x1, other.x1), y1: max(y1, other.y1), x2: min(x2, other.x2), y2: min(y2, other.y2)).area
        let union = area + other.area - overlap
        return union > 0 ? overlap / union : 0
    }

    /// The box kept inside a `width` × `height` frame.
    public func clamped(width: Double, height: Double) -> PixelBox {
        PixelBox(x1: min(max(x1, 0), width), y1: min(max(y1, 0), height), x2: min(max(x2, 0), width), y2: min(max(y2, 0), height))
    }
}

/// One object found in a frame.
public struct ObjectDetection: Codable, Sendable, Equatable {
    public var label: String
    public var confidence: Double
    public var box: PixelBox

    public init(label: String, confidence: Double, box: PixelBox) {
        self.label = label
        self.confidence = confidence
        self.box = box
    }
}

/// Keeps the most confident of overlapping boxes of one class (class-wise non-maximum suppression).
public enum NonMaximumSuppression {
    public static func apply(_ detections: [ObjectDetection], iouThreshold: Double = 0.45) -> [ObjectDetection] {
        var kept: [ObjectDetection] = []
        for candidate in detections.sorted(by: { $0.confidence > $1.confidence }) {
            let overlaps = kept.contains { $0.label == candidate.label && $0.box.iou(candidate.box) > iouThreshold }
            if !overlaps { kept.append(candidate) }
        }
        return kept
    }
}

/// How a frame is fitted into a square model input: scaled to fit, placed at the top left, the rest padded.
public struct Letterbox: Sendable, Equatable {
    public var side: Int
    public var scale: Double
    public var scaledWidth: Int
    public var scaledHeight: Int

    public init(width: Int, height: Int, side: Int) {
        self.side = side
        scale = min(Double(side) / Double(width), Double(side) / Double(height))
        scaledWidth = min(side, Int((Double(width) * scale).rounded()))
        scaledHeight = min(side, Int((Double(height) * scale).rounded()))
    }
}

/// Reads YOLOX's output (`[1, anchors, 5 + classes]`): for each grid cell of strides 8, 16 and 32,
/// `x, y, log w, log h, objectness, class scores`, in input pixels before the letterbox is undone.
public enum YOLOXDecoder {
    public static func decode(_ output: UnsafeBufferPointer<Float>, inputSide: Int, classes: [String], letterbox: Letterbox,
                              frameWidth: Int, frameHeight: Int, minimumScore: Double,
                              strides: [Int] = [8, 16, 32]) -> [ObjectDetection] {
        let stride = 5 + classes.count
        var detections: [ObjectDetection] = []
        var row = 0
        for step in strides {
            let cells = inputSide / step
            for gridY in 0..<cells {
                for gridX in 0..<cells {
                    defer { row += 1 }
                    let base = row * stride
                    guard base + stride <= output.count else { return detections }
                    let objectness = Double(output[base + 4])
                    guard objectness >= minimumScore else { continue }
                    var best = 0
                    var bestScore: Float = -1
                    for index in 0..<classes.count where output[base + 5 + index] > bestScore {
                        bestScore = output[base + 5 + index]
                        best = index
                    }
                    let score = objectness * Double(bestScore)
                    guard score >= minimumScore else { continue }
                    let centerX = (Double(output[base]) + Double(gridX)) * Double(step)
                    let centerY = (Double(output[base + 1]) + Double(gridY)) * Double(step)
                    let width = exp(Double(output[base + 2])) * Double(step)
                    let height = exp(Double(output[base + 3])) * Double(step)
                    let box = PixelBox(x1: (centerX - width / 2) / letterbox.scale, y1: (centerY - height / 2) / letterbox.scale,
                                       x2: (centerX + width / 2) / letterbox.scale, y2: (centerY + height / 2) / letterbox.scale)
                    detections.append(ObjectDetection(label: classes[best], confidence: score,
                                                      box: box.clamped(width: Double(frameWidth), height: Double(frameHeight))))
                }
            }
        }
        return detections
    }

    /// The 80 COCO classes, in the order the COCO-trained models output them.
    public static let cocoClasses = [
        "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light", "fire hydrant",
        "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
        "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
        "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
        "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
        "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
    ]
}

extension CameraZone {
    /// The zones an object stands in: those holding the bottom centre of its box (where a
    /// person's feet or a car's wheels touch the ground), in the frame's normalised coordinates.
    public static func hit(by box: PixelBox, frameWidth: Int, frameHeight: Int, among zones: [CameraZone]) -> [UUID] {
        guard frameWidth > 0, frameHeight > 0 else { return [] }
        let foot = ZonePolygon.Point(x: (box.x1 + box.x2) / 2 / Double(frameWidth), y: box.y2 / Double(frameHeight))
        return zones.filter { $0.polygon.contains(foot) }.map(\.id)
    }
}
