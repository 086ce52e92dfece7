import CVision
import Foundation
import VigilCore

/// A decoded frame: 8-bit pixels, three channels in blue-green-red order, row after row.
public struct BGRImage: Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

public enum VisionError: Error, CustomStringConvertible, Equatable {
    case undecodable(String)
    /// Refused by the image-admission rule: too many pixels, or corrupt image data.
    case refused(JPEGInspector.Problem)
    case model(String)

    public var description: String {
        switch self {
        case .undecodable(let reason): "the JPEG cannot be decoded: \(reason)"
        case .refused(let problem): "the JPEG is refused: \(problem.message)"
        case .model(let reason): "inference failed: \(reason)"
        }
    }

    /// The admission problem to tell the sender of an image this decoder could not use (`nil`
    /// for a failure of the model, which is the server's, not the image's).
    public var imageProblem: JPEGInspector.Problem? {
        switch self {
        case .undecodable: .notAJPEG
        case .refused(let problem): problem
        case .model: nil
        }
    }
}

/// JPEG decoding with libjpeg-turbo.
public enum JPEGDecoder {
    /// Decodes `bytes`. With `atLeast`, a large image is decoded straight to a smaller size by
    /// libjpeg-turbo's DCT scaling (1/2, 1/4, 1/8): the smallest whose longer side is still at
    /// least twice `atLeast`, so the resize that follows still averages enough pixels.
    public static func decode(_ bytes: [UInt8], atLeast side: Int? = nil) throws(VisionError) -> BGRImage {
        let (width, height, pixels) = try decompress(bytes, format: TJPF_BGR, channels: 3) { width, height in
            guard let side else { return 1 }
            return [8, 4, 2].first { max((width + $0 - 1) / $0, (height + $0 - 1) / $0) >= 2 * side } ?? 1
        }
        return BGRImage(width: width, height: height, pixels: pixels)
    }

    /// Decodes `bytes` to grey, as small as libjpeg-turbo's DCT scaling allows while keeping at
    /// least `minimumWidth` pixels across: at 1/8 only the DC coefficients are read, which is fast
    /// and averages out sensor noise, all motion detection wants.
    public static func decodeGray(_ bytes: [UInt8], minimumWidth: Int) throws(VisionError) -> GrayImage {
        let (width, height, pixels) = try decompress(bytes, format: TJPF_GRAY, channels: 1) { width, _ in
            [8, 4, 2].first { (width + $0 - 1) / $0 >= minimumWidth } ?? 1
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// Checks that `bytes` decode without a warning of corrupt data, reading every coefficient
    /// but drawing only 1/8 of the picture (cheap: no inverse DCT at full size).
    public static func verify(_ bytes: [UInt8]) throws(JPEGInspector.Problem) {
        do {
            _ = try decompress(bytes, format: TJPF_GRAY, channels: 1) { _, _ in 8 }
        } catch {
            throw error.imageProblem ?? .notAJPEG
        }
    }

    /// Decompresses at 1/`denominator(width, height)` of the full size into `format`, after the
    /// header's size passed the image-admission rule; a warning of corrupt data refuses the image.
    private static func decompress(_ bytes: [UInt8], format: TJPF, channels: Int,
                                   denominator: (Int, Int) -> Int) throws(VisionError) -> (Int, Int, [UInt8]) {
        guard let handle = tjInitDecompress() else { throw .undecodable("libjpeg-turbo could not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { throw .undecodable(String(cString: tjGetErrorStr2(handle))) }
        do {
            try JPEGInspector.admit(width: Int(width), height: Int(height))
        } catch {
            throw .refused(error)
        }
        let scale = denominator(Int(width), Int(height))
        let targetWidth = (Int(width) + scale - 1) / scale, targetHeight = (Int(height) + scale - 1) / scale
        var pixels = [UInt8](repeating: 0, count: targetWidth * targetHeight * channels)
        let status = bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { destination in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), destination.baseAddress, Int32(targetWidth), 0,
                              Int32(targetHeight), Int32(format.rawValue), TJFLAG_STOPONWARNING)
            }
        }
        if status != 0 {
            // A warning is libjpeg's "corrupt data": the picture would be partly garbage.
            if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) { throw .refused(.corrupt) }
            throw .undecodable(String(cString: tjGetErrorStr2(handle)))
        }
        return (targetWidth, targetHeight, pixels)
    }
}

/// JPEG encoding with libjpeg-turbo.
public enum JPEGEncoder {
    public static func encode(_ image: BGRImage, quality: Int = 85) throws(VisionError) -> [UInt8] {
        guard image.width > 0, image.height > 0, image.pixels.count >= image.width * image.height * 3 else {
            throw .undecodable("an empty image cannot be encoded")
        }
        guard let handle = tjInitCompress() else { throw .undecodable("libjpeg-turbo could not start") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(handle, pixels.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(TJPF_BGR.rawValue), &output,
                        &size, Int32(TJSAMP_420.rawValue), Int32(min(max(quality, 1), 100)), 0)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else { throw .undecodable(String(cString: tjGetErrorStr2(handle))) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

extension BGRImage {
    /// The part of the image inside `box` (in this image's pixels) widened by `margin` of its size
    /// on each side, shrunk by whole-pixel averaging so its longer side is at most `maxSide`.
    public func crop(_ box: PixelBox, margin: Double = 0.1, maxSide: Int = 320) -> BGRImage? {
        let padX = box.width * margin, padY = box.height * margin
        let left = max(0, Int((box.x1 - padX).rounded(.down))), top = max(0, Int((box.y1 - padY).rounded(.down)))
        let right = min(width, Int((box.x2 + padX).rounded(.up))), bottom = min(height, Int((box.y2 + padY).rounded(.up)))
        guard right > left, bottom > top else { return nil }
        let cropWidth = right - left, cropHeight = bottom - top
        // An integer factor keeps every output pixel the plain mean of a block of input pixels.
        let factor = max(1, (max(cropWidth, cropHeight) + maxSide - 1) / maxSide)
        let outWidth = max(1, cropWidth / factor), outHeight = max(1, cropHeight / factor)
        var output = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        pixels.withUnsafeBufferPointer { source in
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    for channel in 0..<3 {
                        var sum = 0
                        for dy in 0..<factor {
                            let row = (top + y * factor + dy) * width
                            for dx in 0..<factor { sum += Int(source[(row + left + x * factor + dx) * 3 + channel]) }
                        }
                        output[(y * outWidth + x) * 3 + channel] = UInt8(sum / (factor * factor))
                    }
                }
            }
        }
        return BGRImage(width: outWidth, height: outHeight, pixels: output)
    }
}
