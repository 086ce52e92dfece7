import Foundation

/// What `ffprobe -print_format json -show_format -show_streams -select_streams v:0` says about a clip.
public struct VideoProbe: Equatable, Sendable {
    public var duration: Double
    public var codec: String
    public var width: Int
    public var height: Int
    /// The container as ffprobe names it, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `avi`.
    public var container: String

    public enum Problem: Error, Equatable, Sendable {
        /// ffprobe's output is not the JSON it writes.
        case unreadable
        /// The file has no video stream.
        case noVideo
        /// Neither the stream nor the container gives a positive duration.
        case noDuration
    }

    private struct Output: Decodable {
        struct Stream: Decodable {
            var codec_type: String?
            var codec_name: String?
            var width: Int?
            var height: Int?
            var duration: String?
        }
        struct Format: Decodable {
            var format_name: String?
            var duration: String?
        }
        var streams: [Stream]?
        var format: Format?
    }

    public init(ffprobeJSON: [UInt8]) throws(Problem) {
        let output: Output
        do {
            output = try JSONDecoder().decode(Output.self, from: Data(ffprobeJSON))
        } catch {
            throw .unreadable
        }
        guard let video = output.streams?.first(where: { $0.codec_type == "video" }),
              let width = video.width, let height = video.height, width > 0, height > 0 else { throw .noVideo }
        // Matroska keeps the duration on the container only.
        guard let duration = (video.duration ?? output.format?.duration).flatMap(Double.init), duration > 0, duration.isFinite else {
            throw .noDuration
        }
        self.duration = duration
        self.codec = video.codec_name ?? "unknown"
        self.width = width
        self.height = height
        self.container = output.format?.format_name ?? "unknown"
    }

    /// Seconds a decoder may take to sample the whole clip: a minute plus twice its length, at most
    /// half an hour. A clip that takes longer is not a clip a camera sent.
    public var decodingTimeLimit: Double {
        min(60 + 2 * max(duration, 0), 1_800)
    }

    /// The seconds into the clip of each frame sampled at `fps`: ffmpeg's fps filter emits the
    /// frame nearest each multiple of 1/fps.
    public static func sampleOffsets(duration: Double, fps: Double) -> [Double] {
        guard fps > 0, duration > 0 else { return [] }
        let count = Int((duration * fps).rounded(.up))
        return (0..<count).map { Double($0) / fps }
    }
}
