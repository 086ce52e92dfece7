import Synchronization

/// Checks that bytes are a whole baseline or progressive JPEG and reads its size, before
/// anything is stored or decoded.
///
/// This is Vigil's one image-admission rule: every path that decodes an image (ingest, the
/// folder watcher, stream pullers, face routes, enrolment, analysis, annotation, DeepStack)
/// goes through it or through the decoder, which applies the same pixel limit to the header it
/// reads before making any buffer. A 1 KB file claiming 65,500 × 65,500 pixels is refused, not
/// decoded into 12 GB.
public enum JPEGInspector {
    public enum Problem: Error, Equatable, Sendable {
        /// Not a JPEG at all (no start-of-image marker, or no frame header before the image data).
        case notAJPEG
        /// Starts as a JPEG but ends early: a segment runs past the end or the end-of-image marker is missing.
        case truncated
        /// The frame header gives a width or height of zero.
        case invalidDimensions
        /// The frame header claims more pixels than ``maximumPixels``.
        case tooLarge(width: Int, height: Int, limit: Int)
        /// The image data is damaged: the decoder reported corrupt data while reading it.
        case corrupt

        /// A stable code for API answers, quarantine notes and logs.
        public var code: String {
            switch self {
            case .notAJPEG: "not_a_jpeg"
            case .truncated: "truncated_jpeg"
            case .invalidDimensions: "invalid_jpeg"
            case .tooLarge: "image_too_large"
            case .corrupt: "corrupt_jpeg"
            }
        }

        /// What a person is told.
        public var message: String {
            switch self {
            case .notAJPEG: "The image is not a JPEG."
            case .truncated: "The JPEG ends early; the upload was probably cut off."
            case .invalidDimensions: "The JPEG's frame header gives no size."
            case .tooLarge(let width, let height, let limit):
                "The JPEG claims \(width) × \(height) pixels; at most \(limit / 1_000_000) megapixels are accepted (VIGIL_MAX_PIXELS)."
            case .corrupt: "The JPEG's image data is damaged (the decoder found corrupt data)."
            }
        }
    }

    /// Vigil accepts images of at most this many pixels (40 MP unless `VIGIL_MAX_PIXELS` says otherwise).
    public static let defaultMaximumPixels = 40_000_000
    private static let pixelLimit = Atomic<Int>(defaultMaximumPixels)

    /// The limit in force: set once at start from the configuration.
    public static var maximumPixels: Int {
        get { pixelLimit.load(ordering: .relaxed) }
        set { pixelLimit.store(max(newValue, 1), ordering: .relaxed) }
    }

    /// Refuses a size above ``maximumPixels`` (zero sizes are refused too).
    public static func admit(width: Int, height: Int) throws(Problem) {
        guard width > 0, height > 0 else { throw .invalidDimensions }
        let limit = maximumPixels
        guard width.multipliedReportingOverflow(by: height).partialValue <= limit else {
            throw .tooLarge(width: width, height: height, limit: limit)
        }
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
                try admit(width: width, height: height)
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
