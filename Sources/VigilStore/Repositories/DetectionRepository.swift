import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of detections (seed 000) and of marking a capture analysed.
public struct DetectionRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public struct NewDetection: Sendable, Encodable {
        /// Made here (time-ordered, from the frame's time) so that the event the detection joins can name it.
        public var id: UUID
        public var detectedAt: Date
        public var cameraId: UUID
        public var captureId: UUID?
        public var filePath: String
        public var objectType: String
        public var confidence: Double
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int
        public var frameWidth: Int
        public var frameHeight: Int
        public var zoneIds: [UUID]
        public var trackId: Int64?
        public var thumbnailPath: String?

        public init(detectedAt: Date, cameraId: UUID, captureId: UUID?, filePath: String, objectType: String, confidence: Double,
                    box: PixelBox, frameWidth: Int, frameHeight: Int, zoneIds: [UUID], trackId: Int64? = nil,
                    thumbnailPath: String? = nil) {
            id = UUIDv7Generator(now: { detectedAt }).next()
            self.detectedAt = detectedAt
            self.cameraId = cameraId
            self.captureId = captureId
            self.filePath = filePath
            self.objectType = objectType
            self.confidence = confidence
            x = Int(box.x1.rounded())
            y = Int(box.y1.rounded())
            width = Int(box.width.rounded())
            height = Int(box.height.rounded())
            self.frameWidth = frameWidth
            self.frameHeight = frameHeight
            self.zoneIds = zoneIds
            self.trackId = trackId
            self.thumbnailPath = thumbnailPath
        }

        enum CodingKeys: String, CodingKey {
            case id, confidence, x, y, width, height
            case detectedAt = "detected_at", cameraId = "camera_id", captureId = "capture_id", filePath = "file_path"
            case objectType = "object_type", frameWidth = "frame_width", frameHeight = "frame_height", zoneIds = "zone_ids"
            case trackId = "track_id", thumbnailPath = "thumbnail_path"
        }
    }

    /// A thumbnail written for a detection: a crop of the object, kept as a media file.
    public struct NewThumbnail: Sendable, Encodable {
        public var uri: String
        public var byteSize: Int
        public var checksum: String
        public var retentionUntil: Date

        public init(uri: String, byteSize: Int, checksum: String, retentionUntil: Date) {
            self.uri = uri
            self.byteSize = byteSize
            self.checksum = checksum
            self.retentionUntil = retentionUntil
        }

        enum CodingKeys: String, CodingKey {
            case uri, checksum
            case byteSize = "byte_size", retentionUntil = "retention_until"
        }
    }

    /// A live track of a camera as stored, with the thumbnail of its best sighting.
    public struct StoredTrack: Sendable, Equatable {
        public var track: TrackedObject
        public var thumbnailPath: String?

        public init(track: TrackedObject, thumbnailPath: String?) {
            self.track = track
            self.thumbnailPath = thumbnailPath
        }
    }

    /// Holds a camera's tracks for the rest of the transaction, so frames of one camera analysed
    /// at once (by one worker or several) are folded into its tracks one after the other.
    public func lockTracks(of cameraId: UUID) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('object_tracks:' || \(cameraId.uuidString), 0))",
                                   logger: logger)
    }

    /// The camera's tracks seen at or after `since`.
    public func liveTracks(of cameraId: UUID, seenSince since: Date) async throws -> [StoredTrack] {
        let rows = try await connection.query("""
            SELECT id, object_type, box, first_seen_at, last_seen_at, anchor_box, anchor_since, stationary, best_confidence,
                   thumbnail_path
            FROM object_tracks WHERE camera_id = \(cameraId) AND last_seen_at >= \(since) ORDER BY id
            """, logger: logger)
        var tracks: [StoredTrack] = []
        for try await (id, label, box, first, last, anchor, anchorSince, stationary, best, thumbnail)
            in rows.decode((Int64, String, [Float], Date, Date, [Float], Date, Bool, Float, String?).self) {
            guard let box = Self.box(box), let anchor = Self.box(anchor) else { continue }
            tracks.append(StoredTrack(track: TrackedObject(id: id, label: label, box: box, firstSeenAt: first, lastSeenAt: last,
                                                           anchorBox: anchor, anchorSince: anchorSince, isStationary: stationary,
                                                           bestConfidence: Double(best)),
                                      thumbnailPath: thumbnail))
        }
        return tracks
    }

    /// Numbers for tracks about to be stored.
    public func newTrackIds(_ count: Int) async throws -> [Int64] {
        guard count > 0 else { return [] }
        let rows = try await connection.query("""
            SELECT nextval(pg_get_serial_sequence('object_tracks', 'id')) FROM generate_series(1, \(count))
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids
    }

    /// Writes the tracks a frame touched (each with its id): new ones inserted, others updated,
    /// each counted as sighted once more.
    public func saveTracks(_ tracks: [StoredTrack], cameraId: UUID) async throws {
        struct Row: Encodable {
            var id: Int64
            var object_type: String
            var box: [Double]
            var first_seen_at: Date
            var last_seen_at: Date
            var anchor_box: [Double]
            var anchor_since: Date
            var stationary: Bool
            var best_confidence: Double
            var thumbnail_path: String?
        }
        let rows = tracks.compactMap { stored -> Row? in
            let track = stored.track
            guard let id = track.id else { return nil }
            return Row(id: id, object_type: track.label, box: Self.values(track.box), first_seen_at: track.firstSeenAt,
                       last_seen_at: track.lastSeenAt, anchor_box: Self.values(track.anchorBox), anchor_since: track.anchorSince,
                       stationary: track.isStationary, best_confidence: track.bestConfidence, thumbnail_path: stored.thumbnailPath)
        }
        guard !rows.isEmpty else { return }
        try await connection.query("""
            INSERT INTO object_tracks AS t (id, camera_id, object_type, first_seen_at, last_seen_at, box, anchor_box, anchor_since,
                                            stationary, best_confidence, thumbnail_path)
            SELECT id, \(cameraId), object_type, first_seen_at, last_seen_at,
                   ARRAY(SELECT jsonb_array_elements_text(box)::real), ARRAY(SELECT jsonb_array_elements_text(anchor_box)::real),
                   anchor_since, stationary, best_confidence, thumbnail_path
            FROM jsonb_to_recordset(\(try rows.jsonText())::jsonb) AS r(
                id int8, object_type text, box jsonb, first_seen_at timestamptz, last_seen_at timestamptz, anchor_box jsonb,
                anchor_since timestamptz, stationary bool, best_confidence float8, thumbnail_path text)
            ON CONFLICT (id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, box = EXCLUDED.box, anchor_box = EXCLUDED.anchor_box,
                anchor_since = EXCLUDED.anchor_since, stationary = EXCLUDED.stationary, best_confidence = EXCLUDED.best_confidence,
                thumbnail_path = EXCLUDED.thumbnail_path, sightings = t.sightings + 1
            WHERE t.camera_id = EXCLUDED.camera_id
            """, logger: logger)
    }

    /// Stores a frame's detections and their new thumbnails, and marks the capture processed
    /// with what the analysis found (`meta.analysis`).
    public func record(_ detections: [NewDetection], thumbnails: [NewThumbnail], capture: CaptureRepository.Stored,
                       analysis: JSONValue, analyzedAt: Date) async throws {
        try await connection.query("""
            WITH found AS (
                INSERT INTO detections (id, detected_at, camera_id, capture_id, file_path, object_type, confidence, bbox_x, bbox_y,
                                        bbox_width, bbox_height, frame_width, frame_height, zone_ids, track_id, thumbnail_path)
                SELECT id, detected_at, camera_id, capture_id, file_path, object_type, confidence, x, y, width, height,
                       frame_width, frame_height, ARRAY(SELECT jsonb_array_elements_text(zone_ids)::uuid), track_id, thumbnail_path
                FROM jsonb_to_recordset(\(try detections.jsonText())::jsonb) AS f(
                    id uuid, detected_at timestamptz, camera_id uuid, capture_id uuid, file_path text, object_type text, confidence float8,
                    x int4, y int4, width int4, height int4, frame_width int4, frame_height int4, zone_ids jsonb, track_id int8,
                    thumbnail_path text)
            ), thumbs AS (
                INSERT INTO media_files (file_type, storage_path, file_size, checksum, camera_id, capture_id, role, timestamp,
                                         retention_until)
                SELECT 'image', uri, byte_size, checksum, \(capture.cameraId), \(capture.id), 'thumb', \(analyzedAt), retention_until
                FROM jsonb_to_recordset(\(try thumbnails.jsonText())::jsonb) AS t(
                    uri text, byte_size int8, checksum text, retention_until timestamptz)
            )
            UPDATE captures SET analysis_status = 'processed', analyzed_at = \(analyzedAt), analysis_error = NULL,
                meta = meta || jsonb_build_object('detections', \(detections.count), 'analysis', \(try analysis.jsonText())::jsonb)
            WHERE id = \(capture.id) AND received_at = \(capture.receivedAt)
            """, logger: logger)
    }

    /// Marks a capture the motion gate kept from the detector, with the reason.
    public func recordSkip(_ capture: CaptureRepository.Stored, reason: String, at time: Date) async throws {
        try await connection.query("""
            UPDATE captures SET analysis_status = 'skipped', analyzed_at = \(time), analysis_error = NULL,
                meta = meta || jsonb_build_object('skip_reason', \(reason)::text)
            WHERE id = \(capture.id) AND received_at = \(capture.receivedAt)
            """, logger: logger)
    }

    /// Names the person detections showed (nil: nobody known). `detectedAt`, when the caller
    /// knows it, spares the search of the other partitions.
    public func setPerson(_ personId: UUID?, on detectionIds: [UUID], detectedAt time: Date? = nil) async throws {
        guard !detectionIds.isEmpty else { return }
        try await connection.query("""
            UPDATE detections SET person_id = \(personId)
            WHERE id = ANY(\(detectionIds)) AND (\(time)::timestamptz IS NULL OR detected_at = \(time))
            """, logger: logger)
    }

    /// Marks a capture whose frame could not be analysed.
    public func recordFailure(_ capture: CaptureRepository.Stored, error: String, at time: Date) async throws {
        try await connection.query("""
            UPDATE captures SET analysis_status = 'failed', analyzed_at = \(time), analysis_error = \(error)
            WHERE id = \(capture.id) AND received_at = \(capture.receivedAt)
            """, logger: logger)
    }

    private static func values(_ box: PixelBox) -> [Double] { [box.x1, box.y1, box.x2, box.y2] }

    private static func box(_ values: [Float]) -> PixelBox? {
        guard values.count == 4 else { return nil }
        return PixelBox(x1: Double(values[0]), y1: Double(values[1]), x2: Double(values[2]), y2: Double(values[3]))
    }
}
