/// Cuts a byte stream of back-to-back JPEG images (ffmpeg's `image2pipe`, the parts of an MJPEG
/// stream) into whole images, whatever the chunks it arrives in.
///
/// It follows the segment structure rather than searching for an end-of-image marker, so an
/// embedded thumbnail's end marker inside an APP segment does not cut a frame short. Bytes
/// between images (multipart boundaries and headers) are skipped.
public struct JPEGStreamSplitter: Sendable {
    /// A frame growing past this is dropped and the splitter looks for the next start.
    public let maximumFrameBytes: Int
    private var buffer: [UInt8] = []
    /// Where scanning resumes within `buffer`, so each byte is examined once.
    private var cursor = 0
    private var state = State.seekingStart
    /// Frames dropped for exceeding the size limit.
    public private(set) var droppedFrames = 0

    private enum State: Equatable, Sendable {
        case seekingStart
        /// Inside the headers: at `cursor` there is a marker.
        case segments
        /// Inside entropy-coded data, looking for the marker that ends it.
        case entropy
    }

    public init(maximumFrameBytes: Int = 16 << 20) {
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// Adds bytes and returns every image they complete.
    public mutating func append(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        while let frame = nextFrame() { frames.append(frame) }
        if buffer.count > maximumFrameBytes {
            droppedFrames += 1
            buffer.removeAll(keepingCapacity: true)
            cursor = 0
            state = .seekingStart
        }
        return frames
    }

    private mutating func nextFrame() -> [UInt8]? {
        while true {
            switch state {
            case .seekingStart:
                guard let start = findStart() else {
                    // Keep a trailing 0xFF: it may be the first half of the next start marker.
                    let keep = buffer.last == 0xFF ? 1 : 0
                    buffer.removeFirst(buffer.count - keep)
                    cursor = 0
                    return nil
                }
                buffer.removeFirst(start)
                cursor = 2
                state = .segments
            case .segments:
                guard cursor + 1 < buffer.count else { return nil }
                guard buffer[cursor] == 0xFF else { return restart() }
                let marker = buffer[cursor + 1]
                if marker == 0xFF { cursor += 1; continue }  // fill byte
                if marker == 0xD8 || marker == 0x00 { return restart() }
                if marker == 0xD9 { return finish(at: cursor + 2) }
                if marker == 0x01 || (0xD0...0xD7).contains(marker) { cursor += 2; continue }
                guard cursor + 3 < buffer.count else { return nil }
                let length = Int(buffer[cursor + 2]) << 8 | Int(buffer[cursor + 3])
                guard length >= 2 else { return restart() }
                guard cursor + 2 + length <= buffer.count else { return nil }
                cursor += 2 + length
                if marker == 0xDA { state = .entropy }
            case .entropy:
                while cursor + 1 < buffer.count {
                    if buffer[cursor] == 0xFF {
                        let next = buffer[cursor + 1]
                        if next == 0x00 || next == 0xFF || (0xD0...0xD7).contains(next) {
                            cursor += next == 0xFF ? 1 : 2
                            continue
                        }
                        // Another marker: the end of the image, or the next scan of a progressive one.
                        if next == 0xD9 { return finish(at: cursor + 2) }
                        state = .segments
                        break
                    }
                    cursor += 1
                }
                if state == .entropy { return nil }
            }
        }
    }

    private func findStart() -> Int? {
        var index = 0
        while index + 1 < buffer.count {
            if buffer[index] == 0xFF && buffer[index + 1] == 0xD8 { return index }
            index += 1
        }
        return nil
    }

    private mutating func finish(at end: Int) -> [UInt8] {
        let frame = Array(buffer[..<end])
        buffer.removeFirst(end)
        cursor = 0
        state = .seekingStart
        return frame
    }

    /// The bytes stopped looking like a JPEG: skip past this start and look for the next.
    private mutating func restart() -> [UInt8]? {
        buffer.removeFirst(min(2, buffer.count))
        cursor = 0
        state = .seekingStart
        return nextFrame()
    }
}
