import CVision
import Foundation

/// A decoded frame: 8-bit pixels, three channels in blue-green-red order, row after row.
public struct BGRImage: Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]
}

public enum VisionError: Error, CustomStringConvertible, Equatable {
    case undecodable(String)
    case model(String)

    public var description: String {
        switch self {
        case .undecodable(let reason): "the JPEG cannot be decoded: \(reason)"
        case .model(let reason): "inference failed: \(reason)"
        }
    }
}

/// JPEG decoding with libjpeg-turbo.
public enum JPEGDecoder {
    /// Decodes `bytes`. With `atLeast`, a large image is decoded straight to a smaller size by
    /// libjpeg-turbo's DCT scaling (1/2, 1/4, 1/8): the smallest whose longer side is still at
    /// least twice `atLeast`, so the resize that follows still averages enough pixels.
    public static func decode(_ bytes: [UInt8], atLeast side: Int? = nil) throws(VisionError) -> BGRImage {
        guard let handle = tjInitDecompress() else { throw .undecodable("libjpeg-turbo could not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { throw .undecodable(String(cString: tjGetErrorStr2(handle))) }
        var targetWidth = Int(width), targetHeight = Int(height)
        if let side {
            for denominator in [8, 4, 2] {
                let scaledWidth = (Int(width) + denominator - 1) / denominator
                let scaledHeight = (Int(height) + denominator - 1) / denominator
                if max(scaledWidth, scaledHeight) >= 2 * side {
                    targetWidth = scaledWidth
                    targetHeight = scaledHeight
                    break
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: targetWidth * targetHeight * 3)
        let status = bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { destination in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), destination.baseAddress, Int32(targetWidth), 0,
                              Int32(targetHeight), Int32(TJPF_BGR.rawValue), 0)
            }
        }
        // A warning (a damaged but readable stream) still gives an image; an error does not.
        if status != 0 && tjGetErrorCode(handle) == Int32(TJERR_FATAL.rawValue) {
            throw .undecodable(String(cString: tjGetErrorStr2(handle)))
        }
        return BGRImage(width: targetWidth, height: targetHeight, pixels: pixels)
    }
}
