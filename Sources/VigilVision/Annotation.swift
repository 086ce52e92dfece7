import VigilCore

/// Draws detection boxes with their labels onto a frame (an event's `annotated` image).
public enum FrameAnnotator {
    public struct Mark: Sendable {
        public var box: PixelBox
        public var label: String
        public var confidence: Double

        public init(box: PixelBox, label: String, confidence: Double) {
            self.box = box
            self.label = label
            self.confidence = confidence
        }
    }

    /// The frame with each mark's box outlined and "PERSON 87%" written above it, in a colour
    /// per kind of object. Boxes are in the image's pixels.
    public static func annotate(_ image: BGRImage, marks: [Mark]) -> BGRImage {
        var canvas = image
        let thickness = max(2, min(image.width, image.height) / 240)
        let scale = max(1, min(image.width, image.height) / 240)
        for mark in marks {
            let colour = colour(for: mark.label)
            let box = mark.box.clamped(width: Double(image.width - 1), height: Double(image.height - 1))
            let x1 = Int(box.x1), y1 = Int(box.y1), x2 = Int(box.x2), y2 = Int(box.y2)
            fill(&canvas, x1, y1, x2, y1 + thickness - 1, colour)
            fill(&canvas, x1, y2 - thickness + 1, x2, y2, colour)
            fill(&canvas, x1, y1, x1 + thickness - 1, y2, colour)
            fill(&canvas, x2 - thickness + 1, y1, x2, y2, colour)
            let text = "\(mark.label.uppercased()) \(Int((mark.confidence * 100).rounded()))%"
            let textWidth = text.count * 6 * scale + 2 * scale
            let textHeight = 9 * scale
            let top = y1 - textHeight >= 0 ? y1 - textHeight : min(y1 + thickness, image.height - textHeight)
            fill(&canvas, x1, top, x1 + textWidth - 1, top + textHeight - 1, colour)
            write(&canvas, text, x: x1 + scale, y: top + scale, scale: scale, colour: (0, 0, 0))
        }
        return canvas
    }

    /// Blue, green, red order (the image's byte order).
    static func colour(for label: String) -> (UInt8, UInt8, UInt8) {
        switch label {
        case "person": (68, 68, 239)  // red
        case "car", "truck", "bus", "motorcycle", "bicycle": (246, 130, 59)  // blue
        case "dog", "cat", "bird", "horse": (94, 197, 34)  // green
        default: (21, 204, 250)  // yellow
        }
    }

    static func fill(_ image: inout BGRImage, _ x1: Int, _ y1: Int, _ x2: Int, _ y2: Int, _ colour: (UInt8, UInt8, UInt8)) {
        let left = max(0, x1), right = min(image.width - 1, x2), top = max(0, y1), bottom = min(image.height - 1, y2)
        guard left <= right, top <= bottom else { return }
        let width = image.width
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for y in top...bottom {
                var index = (y * width + left) * 3
                for _ in left...right {
                    pixels[index] = colour.0
                    pixels[index + 1] = colour.1
                    pixels[index + 2] = colour.2
                    index += 3
                }
            }
        }
    }

    static func write(_ image: inout BGRImage, _ text: String, x: Int, y: Int, scale: Int, colour: (UInt8, UInt8, UInt8)) {
        var left = x
        for character in text {
            if let rows = Glyphs.rows[character] {
                for (row, bits) in rows.enumerated() {
                    for column in 0..<5 where bits & (0x10 >> column) != 0 {
                        let px = left + column * scale, py = y + row * scale
                        fill(&image, px, py, px + scale - 1, py + scale - 1, colour)
                    }
                }
            }
            left += 6 * scale
        }
    }
}

/// A 5×7 bitmap font for labels: each glyph is seven rows, the five low bits of each a pixel.
enum Glyphs {
    static let rows: [Character: [UInt8]] = [
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03], ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], "_": [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
    ]
}
