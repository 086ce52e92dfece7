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

/// How a frame is fitted into a model's input: scaled to fit without distortion, then placed at
/// the top left (YOLOX's training) or in the centre (Ultralytics' exports), the rest padded.
public struct Letterbox: Sendable, Equatable {
    public enum Placement: Sendable, Equatable {
        case topLeft, centre
    }

    public var inputWidth: Int
    public var inputHeight: Int
    public var scale: Double
    public var scaledWidth: Int
    public var scaledHeight: Int
    /// Where the scaled frame's top-left corner sits in the input.
    public var offsetX: Int
    public var offsetY: Int

    public init(width: Int, height: Int, inputWidth: Int, inputHeight: Int, placement: Placement) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        scale = min(Double(inputWidth) / Double(width), Double(inputHeight) / Double(height))
        // Each family sizes the scaled frame as its own training code did: YOLOX's `preproc`
        // truncates (`int()`), Ultralytics' `LetterBox` rounds; one pixel apart moves confidences.
        let rule: FloatingPointRoundingRule = placement == .topLeft ? .towardZero : .toNearestOrAwayFromZero
        scaledWidth = min(inputWidth, max(1, Int((Double(width) * scale).rounded(rule))))
        scaledHeight = min(inputHeight, max(1, Int((Double(height) * scale).rounded(rule))))
        switch placement {
        case .topLeft:
            offsetX = 0
            offsetY = 0
        case .centre:
            // Ultralytics rounds half the padding this way, so boxes land where its own code puts them.
            offsetX = Int((Double(inputWidth - scaledWidth) / 2 - 0.1).rounded())
            offsetY = Int((Double(inputHeight - scaledHeight) / 2 - 0.1).rounded())
        }
    }

    /// A box in the model's input pixels taken back to the frame's pixels.
    public func frameBox(centerX: Double, centerY: Double, width: Double, height: Double) -> PixelBox {
        PixelBox(x1: (centerX - width / 2 - Double(offsetX)) / scale, y1: (centerY - height / 2 - Double(offsetY)) / scale,
                 x2: (centerX + width / 2 - Double(offsetX)) / scale, y2: (centerY + height / 2 - Double(offsetY)) / scale)
    }
}

/// The dataset the default models were trained on.
public enum COCO {
    /// The 80 COCO classes, in the order the COCO-trained models output them.
    public static let classes = [
        "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light", "fire hydrant",
        "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
        "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
        "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
        "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
        "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
    ]
}

/// Reads YOLOX's output (`[1, anchors, 5 + classes]`): for each grid cell of strides 8, 16 and 32,
/// `x, y, log w, log h, objectness, class scores`, in input pixels before the letterbox is undone.
public enum YOLOXDecoder {
    /// The number of output rows for an input of `width` × `height`.
    public static func anchors(width: Int, height: Int, strides: [Int] = [8, 16, 32]) -> Int {
        strides.reduce(0) { $0 + (width / $1) * (height / $1) }
    }

    public static func decode(_ output: UnsafeBufferPointer<Float>, classes: [String], letterbox: Letterbox,
                              frameWidth: Int, frameHeight: Int, minimumScore: Double,
                              strides: [Int] = [8, 16, 32]) -> [ObjectDetection] {
        let stride = 5 + classes.count
        var detections: [ObjectDetection] = []
        var row = 0
        for step in strides {
            for gridY in 0..<(letterbox.inputHeight / step) {
                for gridX in 0..<(letterbox.inputWidth / step) {
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
                    let box = letterbox.frameBox(centerX: (Double(output[base]) + Double(gridX)) * Double(step),
                                                 centerY: (Double(output[base + 1]) + Double(gridY)) * Double(step),
                                                 width: exp(Double(output[base + 2])) * Double(step),
                                                 height: exp(Double(output[base + 3])) * Double(step))
                    detections.append(ObjectDetection(label: classes[best], confidence: score,
                                                      box: box.clamped(width: Double(frameWidth), height: Double(frameHeight))))
                }
            }
        }
        return detections
    }
}

/// Reads an Ultralytics YOLOv8-style export's output (`[1, 4 + classes, anchors]`): per anchor,
/// column-wise, the box centre and size in input pixels, then one score per class (no objectness).
public enum YOLOv8Decoder {
    public static func decode(_ output: UnsafeBufferPointer<Float>, anchors: Int, classes: [String], letterbox: Letterbox,
                              frameWidth: Int, frameHeight: Int, minimumScore: Double) -> [ObjectDetection] {
        guard output.count >= (4 + classes.count) * anchors else { return [] }
        var detections: [ObjectDetection] = []
        for anchor in 0..<anchors {
            var best = 0
            var bestScore: Float = -1
            for index in 0..<classes.count where output[(4 + index) * anchors + anchor] > bestScore {
                bestScore = output[(4 + index) * anchors + anchor]
                best = index
            }
            guard Double(bestScore) >= minimumScore else { continue }
            let box = letterbox.frameBox(centerX: Double(output[anchor]), centerY: Double(output[anchors + anchor]),
                                         width: Double(output[2 * anchors + anchor]), height: Double(output[3 * anchors + anchor]))
            detections.append(ObjectDetection(label: classes[best], confidence: Double(bestScore),
                                              box: box.clamped(width: Double(frameWidth), height: Double(frameHeight))))
        }
        return detections
    }

    /// The class names Ultralytics writes into an export's metadata (`names`), a Python dict
    /// literal such as `{0: 'person', 1: 'bicycle'}`, in index order; nil when unreadable.
    public static func classNames(fromMetadata text: String) -> [String]? {
        var names: [Int: String] = [:]
        let pattern = /(\d+)\s*:\s*(?:'([^']*)'|"([^"]*)")/
        for match in text.matches(of: pattern) {
            guard let index = Int(match.output.1) else { continue }
            names[index] = String(match.output.2 ?? match.output.3 ?? "")
        }
        guard !names.isEmpty, names.keys.sorted() == Array(0..<names.count) else { return nil }
        return (0..<names.count).map { names[$0]! }
    }
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

extension PixelBox {
    /// Whether the two boxes share any area.
    public func intersects(_ other: PixelBox) -> Bool {
        max(x1, other.x1) < min(x2, other.x2) && max(y1, other.y1) < min(y2, other.y2)
    }
}

extension Duration {
    /// This duration in milliseconds, fractions kept.
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// The time a frame shows, for tracking and for its detections.
public enum CaptureTime {
    /// The camera's own time when it is believable (up to a day before Vigil received the frame,
    /// as for clips uploaded later, and not in the future); the receipt time otherwise, as cameras
    /// without a time source start in 1970.
    public static func frameTime(capturedAt: Date?, receivedAt: Date) -> Date {
        guard let capturedAt, capturedAt <= receivedAt.addingTimeInterval(300),
              capturedAt >= receivedAt.addingTimeInterval(-86_400) else { return receivedAt }
        return capturedAt
    }
}
