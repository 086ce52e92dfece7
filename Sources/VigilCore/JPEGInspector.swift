/// Checks that bytes are a whole baseline or progressive JPEG and reads its size, before
/// anything is stored.
public enum JPEGInspector {
    public enum Problem: Error, Equatable, Sendable {
        /// Not a JPEG at all (no start-of-image marker, or no frame header before the image data).
        case notAJPEG
        /// Starts as a JPEG but ends early: a segment runs past the end or the end-of-image marker is missing.
        case truncated
        /// The frame header gives a width or height of zero.
        case invalidDimensions
    }

    public struct Info: Equatable, Sendable {
        public var width: Int
        public var height: Int
        /// Progressive frames decode in several passes; detectors may prefer baseline.
        public var isProgressive: Bool
    }

    public static func inspect(_ bytes: [UInt8]) throws(Problem) -> Info {
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw .notAJPEG }
        var index = 2
        var frame: Info?
        while index < bytes.count {
            guard bytes[index] == 0xFF else { throw frame == nil ? .notAJPEG : .truncated }
            // Any number of 0xFF fill bytes may precede a marker.
            while index < bytes.count && bytes[index] == 0xFF { index += 1 }
            guard index < bytes.count else { throw .truncated }
            let marker = bytes[index]
            index += 1
            switch marker {
            case 0xD8, 0x00:
                throw .notAJPEG
            case 0xD9:
                throw frame == nil ? .notAJPEG : .truncated
            case 0x01, 0xD0...0xD7:
                continue  // standalone markers carry no length
            default:
                break
            }
            guard index + 1 < bytes.count else { throw .truncated }
            let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
            guard length >= 2 else { throw .notAJPEG }
            guard index + length <= bytes.count else { throw .truncated }
            if isStartOfFrame(marker) {
                guard length >= 8 else { throw .notAJPEG }
                let height = Int(bytes[index + 3]) << 8 | Int(bytes[index + 4])
                let width = Int(bytes[index + 5]) << 8 | Int(bytes[index + 6])
                guard width > 0, height > 0 else { throw .invalidDimensions }
                frame = Info(width: width, height: height, isProgressive: marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE)
            }
            if marker == 0xDA {
                // Entropy-coded data follows the scan header; a whole file ends with end-of-image.
                guard let frame else { throw .notAJPEG }
                guard endsWithEndOfImage(bytes) else { throw .truncated }
                return frame
            }
            index += length
        }
        // It began as a JPEG and the bytes ran out before the image data.
        throw .truncated
    }

    /// SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    static func isStartOfFrame(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    /// The last marker is EOI, allowing the zero padding some cameras append.
    static func endsWithEndOfImage(_ bytes: [UInt8]) -> Bool {
        var end = bytes.count
        while end > 0 && bytes[end - 1] == 0x00 && bytes.count - end < 4096 { end -= 1 }
        return end >= 2 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9
    }
}
