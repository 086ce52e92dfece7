import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of video clips (seed 002 §10): a clip is a media file plus its time range and encoding.
public struct VideoClipRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public struct NewClip: Sendable {
        public var id: UUID
        public var cameraId: UUID
        public var storageURI: String
        public var sha256: String
        public var sizeBytes: Int64
        public var format: String
        public var probe: VideoProbe
        public var startTime: Date
        public var retentionUntil: Date

        public init(id: UUID, cameraId: UUID, storageURI: String, sha256: String, sizeBytes: Int64, format: String,
                    probe: VideoProbe, startTime: Date, retentionUntil: Date) {
            self.id = id
            self.cameraId = cameraId
            self.storageURI = storageURI
            self.sha256 = sha256
            self.sizeBytes = sizeBytes
            self.format = format
            self.probe = probe
            self.startTime = startTime
            self.retentionUntil = retentionUntil
        }
    }

    /// Registers the clip's file and the clip in one statement.
    public func insert(_ clip: NewClip) async throws {
        let endTime = clip.startTime.addingTimeInterval(clip.probe.duration)
        try await connection.query("""
            WITH media AS (
                INSERT INTO media_files (file_type, storage_path, file_size, checksum, camera_id, role, timestamp, retention_until)
                VALUES ('video', \(clip.storageURI), \(clip.sizeBytes), \(clip.sha256), \(clip.cameraId), 'clip', \(clip.startTime),
                        \(clip.retentionUntil))
                RETURNING id
            )
            INSERT INTO video_clips (id, media_file_id, duration, start_time, end_time, camera_id, format, codec, width, height, size_bytes)
            SELECT \(clip.id), media.id, round(\(clip.probe.duration)::numeric, 2), \(clip.startTime), \(endTime), \(clip.cameraId),
                   \(clip.format), \(clip.probe.codec), \(clip.probe.width), \(clip.probe.height), \(clip.sizeBytes)
            FROM media
            """, logger: logger)
    }

    public func recordSampledFrames(clipId: UUID, count: Int) async throws {
        try await connection.query("UPDATE video_clips SET frames_sampled = \(count) WHERE id = \(clipId)", logger: logger)
    }
}
