import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of captures (seed 004) and the media file each one is stored as.
public struct CaptureRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public struct NewCapture: Sendable, Encodable {
        public var id: UUID
        public var receivedAt: Date
        public var cameraId: UUID
        public var deviceId: String
        public var deviceSeq: Int64?
        public var capturedAt: Date?
        public var source: CaptureSource
        public var storageURI: String
        public var sha256: String
        public var byteSize: Int
        public var width: Int
        public var height: Int
        public var jobId: UUID
        public var retentionUntil: Date
        /// Where the frame came from beyond its source: the clip and offset of a sampled frame, the file name of an upload.
        public var meta: JSONValue?

        enum CodingKeys: String, CodingKey {
            case id, source, sha256, width, height, meta
            case receivedAt = "received_at", cameraId = "camera_id", deviceId = "device_id", deviceSeq = "device_seq"
            case capturedAt = "captured_at", storageURI = "storage_uri", byteSize = "byte_size", jobId = "job_id"
            case retentionUntil = "retention_until"
        }

        public init(id: UUID, receivedAt: Date, cameraId: UUID, deviceId: String, deviceSeq: Int64?, capturedAt: Date?,
                    source: CaptureSource, storageURI: String, sha256: String, byteSize: Int, width: Int, height: Int,
                    jobId: UUID, retentionUntil: Date, meta: JSONValue? = nil) {
            self.id = id
            self.receivedAt = receivedAt
            self.cameraId = cameraId
            self.deviceId = deviceId
            self.deviceSeq = deviceSeq
            self.capturedAt = capturedAt
            self.source = source
            self.storageURI = storageURI
            self.sha256 = sha256
            self.byteSize = byteSize
            self.width = width
            self.height = height
            self.jobId = jobId
            self.retentionUntil = retentionUntil
            self.meta = meta
        }
    }

    /// Serializes ingest per camera until the transaction ends, so two copies of one frame
    /// arriving together (even through two Vigil processes) are stored once. Locks are taken in
    /// one order, so two batches never wait on each other in a cycle.
    public func lockCameras(_ cameraIds: some Collection<UUID>) async throws {
        let ordered = Set(cameraIds).map(\.uuidString).sorted()
        try await connection.query("""
            SELECT pg_advisory_xact_lock(hashtextextended(id, 42)) FROM unnest(\(ordered)::text[]) AS t(id) ORDER BY id
            """, logger: logger)
    }

    /// What makes a frame a repeat: the same device sequence number or the same bytes.
    public struct RepeatKey: Sendable, Codable {
        public var cameraId: UUID
        public var deviceSeq: Int64?
        public var sha256: String

        public init(cameraId: UUID, deviceSeq: Int64?, sha256: String) {
            self.cameraId = cameraId
            self.deviceSeq = deviceSeq
            self.sha256 = sha256
        }

        enum CodingKeys: String, CodingKey {
            case cameraId = "camera_id", deviceSeq = "device_seq", sha256
        }
    }

    /// For each key (by index), a capture already stored with the same device sequence number
    /// since `seqSince`, or the same bytes since `shaSince`. One statement for a whole batch.
    public func repeats(of keys: [RepeatKey], seqSince: Date, shaSince: Date) async throws -> [Int: UUID] {
        guard !keys.isEmpty else { return [:] }
        // Two lookups rather than one with OR, and no ORDER BY (a frame is stored once, so there
        // is one match at most): each uses its own index, (camera, seq) or (camera, sha, time),
        // instead of walking all of the camera's recent captures in time order. The hash is
        // read as char(64), the column's type: compared as text, the index could not be used.
        let rows = try await connection.query("""
            SELECT i, match FROM (
                SELECT k.i::int8 AS i, COALESCE(
                    (SELECT id FROM captures
                     WHERE k.device_seq IS NOT NULL AND camera_id = k.camera_id AND device_seq = k.device_seq
                       AND received_at >= \(seqSince)
                     LIMIT 1),
                    (SELECT id FROM captures
                     WHERE camera_id = k.camera_id AND sha256_hex = k.sha256 AND received_at >= \(shaSince)
                     LIMIT 1)) AS match
                FROM ROWS FROM (jsonb_to_recordset(\(try keys.jsonText())::jsonb) AS (camera_id uuid, device_seq int8, sha256 char(64)))
                    WITH ORDINALITY AS k(camera_id, device_seq, sha256, i)
            ) found
            WHERE match IS NOT NULL
            """, logger: logger)
        var found: [Int: UUID] = [:]
        for try await (ordinal, id) in rows.decode((Int64, UUID).self) { found[Int(ordinal) - 1] = id }
        return found
    }

    /// Inserts captures with their staging media files and marks their cameras seen (logging a
    /// camera that was offline as connected again), in one statement whatever the number of captures.
    public func insert(_ captures: [NewCapture]) async throws {
        guard !captures.isEmpty else { return }
        try await connection.query("""
            WITH f AS (
                SELECT * FROM jsonb_to_recordset(\(try captures.jsonText())::jsonb) AS f(
                    id uuid, received_at timestamptz, camera_id uuid, device_id text, device_seq int8, captured_at timestamptz,
                    source text, storage_uri text, sha256 text, byte_size int4, width int4, height int4, job_id uuid,
                    retention_until timestamptz, meta jsonb)
            ), new_captures AS (
                INSERT INTO captures (id, received_at, camera_id, device_id, device_seq, captured_at, source, storage_uri,
                                      sha256_hex, byte_size, width, height, job_id, meta)
                SELECT id, received_at, camera_id, device_id, device_seq, captured_at, source, storage_uri,
                       sha256, byte_size, width, height, job_id, COALESCE(meta, '{}') FROM f
            ), new_media AS (
                INSERT INTO media_files (file_type, storage_path, file_size, checksum, camera_id, capture_id, role, timestamp,
                                         retention_until)
                SELECT 'image', storage_uri, byte_size, sha256, camera_id, id, 'staging', received_at, retention_until FROM f
            ), seen AS (
                SELECT camera_id, max(received_at) AS seen FROM f GROUP BY camera_id
            ), back_online AS (
                -- Every part of one statement sees the rows as they were before it: these were offline.
                INSERT INTO device_connectivity_logs (device_type, device_id, event, details, timestamp)
                SELECT 'camera', c.id, 'connected', jsonb_build_object('reason', 'frames_resumed', 'last_seen_at', c.last_seen_at), s.seen
                FROM cameras c JOIN seen s ON s.camera_id = c.id
                WHERE c.status = 'offline'
            )
            UPDATE cameras c SET last_seen_at = GREATEST(COALESCE(c.last_seen_at, s.seen), s.seen),
                status = CASE WHEN c.status = 'maintenance' THEN c.status ELSE 'online' END
            FROM seen s
            WHERE c.id = s.camera_id
            """, logger: logger)
    }

    /// What promoting a capture needs to know about it.
    public struct Stored: Sendable, Equatable {
        public var id: UUID
        public var receivedAt: Date
        public var cameraId: UUID
        public var deviceId: String
        public var storageURI: String?
        public var storageClass: String
        /// When the camera says it took the frame, if it said.
        public var capturedAt: Date?
    }

    public func find(id: UUID, forUpdate: Bool = false) async throws -> Stored? {
        let rows = try await connection.query("""
            SELECT id, received_at, camera_id, device_id, storage_uri, storage_class, captured_at FROM captures WHERE id = \(id)
            \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """, logger: logger)
        for try await (id, receivedAt, cameraId, deviceId, uri, storageClass, capturedAt)
            in rows.decode((UUID, Date, UUID, String, String?, String, Date?).self) {
            return Stored(id: id, receivedAt: receivedAt, cameraId: cameraId, deviceId: deviceId, storageURI: uri,
                          storageClass: storageClass, capturedAt: capturedAt)
        }
        return nil
    }

    /// Points a capture and its media file (not the thumbnails cut from it) at the frame's event copy: the `event` storage class,
    /// the new path, the event and how long the frame is kept.
    public func promote(_ capture: Stored, to uri: String, eventId: UUID?, retentionUntil: Date) async throws {
        try await connection.query("""
            WITH moved AS (
                UPDATE captures SET storage_uri = \(uri), storage_class = 'event'
                WHERE id = \(capture.id) AND received_at = \(capture.receivedAt)
            )
            UPDATE media_files SET storage_path = \(uri), role = 'event', event_id = COALESCE(\(eventId), event_id),
                retention_until = \(retentionUntil)
            WHERE capture_id = \(capture.id) AND role = 'staging'
            """, logger: logger)
    }

    /// The newest capture of a camera that still has its file.
    public func latest(cameraId: UUID) async throws -> (id: UUID, storageURI: String)? {
        let rows = try await connection.query("""
            SELECT id, storage_uri FROM captures
            WHERE camera_id = \(cameraId) AND storage_uri IS NOT NULL AND storage_class <> 'discarded'
            ORDER BY received_at DESC LIMIT 1
            """, logger: logger)
        for try await (id, uri) in rows.decode((UUID, String).self) { return (id, uri) }
        return nil
    }
}
