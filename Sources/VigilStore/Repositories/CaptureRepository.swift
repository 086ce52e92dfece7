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

    public struct NewCapture: Sendable {
        public var id: UUID
        public var receivedAt: Date
        public var cameraId: UUID
        public var deviceId: String
        public var deviceSeq: Int64?
        public var capturedAt: Date?
        public var source: CameraSourceKind
        public var storageURI: String
        public var sha256: String
        public var byteSize: Int
        public var width: Int
        public var height: Int
        public var jobId: UUID
        public var retentionUntil: Date

        public init(id: UUID, receivedAt: Date, cameraId: UUID, deviceId: String, deviceSeq: Int64?, capturedAt: Date?,
                    source: CameraSourceKind, storageURI: String, sha256: String, byteSize: Int, width: Int, height: Int,
                    jobId: UUID, retentionUntil: Date) {
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
        }
    }

    /// Serializes ingest per camera until the transaction ends, so two copies of one frame
    /// arriving together are stored once.
    public func lockCamera(_ cameraId: UUID) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(cameraId.uuidString), 42))", logger: logger)
    }

    /// A capture of this camera already received with the same device sequence number since
    /// `seqSince`, or the same bytes since `shaSince`.
    public func duplicate(cameraId: UUID, deviceSeq: Int64?, sha256: String, seqSince: Date, shaSince: Date) async throws -> UUID? {
        let rows = try await connection.query("""
            SELECT id FROM captures
            WHERE camera_id = \(cameraId)
              AND ((\(deviceSeq)::int8 IS NOT NULL AND device_seq = \(deviceSeq) AND received_at >= \(seqSince))
                   OR (sha256_hex = \(sha256) AND received_at >= \(shaSince)))
            ORDER BY received_at LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    public func insert(_ capture: NewCapture) async throws {
        try await connection.query("""
            INSERT INTO captures (id, received_at, camera_id, device_id, device_seq, captured_at, source, storage_uri,
                                  sha256_hex, byte_size, width, height, job_id)
            VALUES (\(capture.id), \(capture.receivedAt), \(capture.cameraId), \(capture.deviceId), \(capture.deviceSeq),
                    \(capture.capturedAt), \(capture.source.rawValue), \(capture.storageURI), \(capture.sha256),
                    \(capture.byteSize), \(capture.width), \(capture.height), \(capture.jobId))
            """, logger: logger)
        try await connection.query("""
            INSERT INTO media_files (file_type, storage_path, file_size, checksum, camera_id, capture_id, role, timestamp, retention_until)
            VALUES ('image', \(capture.storageURI), \(capture.byteSize), \(capture.sha256), \(capture.cameraId), \(capture.id),
                    'staging', \(capture.receivedAt), \(capture.retentionUntil))
            """, logger: logger)
        try await connection.query("""
            UPDATE cameras SET last_seen_at = GREATEST(COALESCE(last_seen_at, \(capture.receivedAt)), \(capture.receivedAt)),
                status = CASE WHEN status = 'maintenance' THEN status ELSE 'online' END
            WHERE id = \(capture.cameraId)
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
