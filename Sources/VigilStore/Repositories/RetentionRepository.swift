import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of retention: which frames and media are due, and taking their rows away.
///
/// - Important: Callers commit the row changes before deleting files, so a crash can leave a
///   file without a row (swept later) but never a row pointing at a deleted file.
public struct RetentionRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public struct DueFile: Sendable, Equatable {
        public var mediaId: UUID?
        public var captureId: UUID?
        public var storageURI: String
        public var byteSize: Int64
    }

    /// Which of `uris` a row still names (a media file or a capture).
    public func referenced(_ uris: [String]) async throws -> Set<String> {
        guard !uris.isEmpty else { return [] }
        let rows = try await connection.query("""
            SELECT storage_path FROM media_files WHERE storage_path = ANY(\(uris))
            UNION SELECT storage_uri FROM captures WHERE storage_uri = ANY(\(uris))
            UNION SELECT source_image_path FROM face_embeddings WHERE source_image_path = ANY(\(uris))
            """, logger: logger)
        var found: Set<String> = []
        for try await uri in rows.decode(String.self) { found.insert(uri) }
        return found
    }

    /// Removes (or, dry, counts) up to `limit` object tracks last seen before `cutoff` that no
    /// detection names any more (their detections' partitions are gone); returns how many.
    public func removeEndedTracks(lastSeenBefore cutoff: Date, limit: Int, dryRun: Bool) async throws -> Int {
        let rows = try await connection.query(dryRun ? """
            SELECT count(*)::int8 FROM (
                SELECT 1 FROM object_tracks t WHERE last_seen_at < \(cutoff)
                  AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.track_id = t.id) LIMIT \(limit)) ended
            """ : """
            WITH gone AS (
                DELETE FROM object_tracks WHERE id IN (
                    SELECT id FROM object_tracks t WHERE last_seen_at < \(cutoff)
                      AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.track_id = t.id) LIMIT \(limit))
                RETURNING 1)
            SELECT count(*)::int8 FROM gone
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Removes (or, dry, counts) up to `limit` records of rules matching events, for matches before
    /// `cutoff` (their events are gone; the alerts stay). Returns how many.
    public func removeAlertGuards(matchedBefore cutoff: Date, limit: Int, dryRun: Bool) async throws -> Int {
        let rows = try await connection.query(dryRun ? """
            SELECT count(*)::int8 FROM (SELECT 1 FROM alert_rule_matches WHERE matched_at < \(cutoff) LIMIT \(limit)) old
            """ : """
            WITH gone AS (
                DELETE FROM alert_rule_matches WHERE (event_id, rule_id) IN (
                    SELECT event_id, rule_id FROM alert_rule_matches WHERE matched_at < \(cutoff) LIMIT \(limit))
                RETURNING 1)
            SELECT count(*)::int8 FROM gone
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Removes (or, dry, counts) up to `limit` faces that cameras saw before `cutoff` and that
    /// no gallery holds; the clusters they leave are recounted, and those left empty and unseen
    /// since `cutoff` go. Returns the faces' image files, for the caller to delete once committed.
    public func removeSightingFaces(seenBefore cutoff: Date, limit: Int, dryRun: Bool) async throws -> [String] {
        if dryRun {
            let rows = try await connection.query("""
                SELECT source_image_path FROM face_embeddings WHERE source <> 'enrolment' AND created_at < \(cutoff) LIMIT \(limit)
                """, logger: logger)
            var paths: [String] = []
            for try await path in rows.decode(String.self) { paths.append(path) }
            return paths
        }
        let rows = try await connection.query("""
            DELETE FROM face_embeddings WHERE id IN (
                SELECT id FROM face_embeddings WHERE source <> 'enrolment' AND created_at < \(cutoff) LIMIT \(limit))
            RETURNING source_image_path, cluster_id
            """, logger: logger)
        var paths: [String] = [], clusters = Set<UUID>()
        for try await (path, cluster) in rows.decode((String, UUID?).self) {
            paths.append(path)
            if let cluster { clusters.insert(cluster) }
        }
        let touched = clusters.sorted { $0.uuidString < $1.uuidString }
        try await FaceRepository(connection, logger: logger).recount(clusters: touched)
        try await connection.query("""
            DELETE FROM person_clusters c WHERE c.id = ANY(\(touched)) AND c.status = 'active' AND c.last_seen < \(cutoff)
              AND NOT EXISTS (SELECT 1 FROM face_embeddings f WHERE f.cluster_id = c.id)
            """, logger: logger)
        return paths
    }

    /// Staging frames analysed more than `afterAnalysis` ago, or received more than `hardCap` ago.
    public func dueStagingFrames(now: Date, afterAnalysis: TimeInterval, hardCap: TimeInterval, limit: Int) async throws -> [DueFile] {
        let rows = try await connection.query("""
            SELECT id, storage_uri, COALESCE(byte_size, 0)::int8 FROM captures
            WHERE storage_class = 'staging' AND storage_uri IS NOT NULL
              AND ((analysis_status <> 'queued' AND analyzed_at < \(now.addingTimeInterval(-afterAnalysis)))
                   OR received_at < \(now.addingTimeInterval(-hardCap)))
            ORDER BY received_at LIMIT \(limit)
            """, logger: logger)
        var files: [DueFile] = []
        for try await (id, uri, size) in rows.decode((UUID, String, Int64).self) {
            files.append(DueFile(mediaId: nil, captureId: id, storageURI: uri, byteSize: size))
        }
        return files
    }

    /// Marks frames discarded and removes their staging media rows. A frame never analysed is marked skipped.
    public func discardStagingFrames(_ captureIds: [UUID], now: Date) async throws {
        guard !captureIds.isEmpty else { return }
        try await connection.query("""
            UPDATE captures SET storage_class = 'discarded', storage_uri = NULL,
                analysis_status = CASE WHEN analysis_status = 'queued' THEN 'skipped' ELSE analysis_status END,
                analysis_error = CASE WHEN analysis_status = 'queued' THEN 'the staging frame expired before analysis'
                                      ELSE analysis_error END
            WHERE id = ANY(\(captureIds))
            """, logger: logger)
        try await connection.query(
            "DELETE FROM media_files WHERE capture_id = ANY(\(captureIds)) AND role = 'staging'", logger: logger)
    }

    /// Media (other than staging frames, which go with their capture) past `retention_until`.
    public func expiredMedia(now: Date, limit: Int) async throws -> [DueFile] {
        try await decodeMedia(try await connection.query("""
            SELECT id, capture_id, storage_path, file_size FROM media_files
            WHERE retention_until < \(now) AND role <> 'staging'
            ORDER BY timestamp, id LIMIT \(limit)
            """, logger: logger))
    }

    /// The oldest media of all, for when the disk runs short.
    public func oldestMedia(limit: Int) async throws -> [DueFile] {
        try await decodeMedia(try await connection.query("""
            SELECT id, capture_id, storage_path, file_size FROM media_files ORDER BY timestamp, id LIMIT \(limit)
            """, logger: logger))
    }

    /// Removes media rows; a capture whose file it was keeps its row, marked discarded.
    public func deleteMedia(_ mediaIds: [UUID]) async throws {
        guard !mediaIds.isEmpty else { return }
        try await connection.query("""
            WITH gone AS (DELETE FROM media_files WHERE id = ANY(\(mediaIds)) RETURNING capture_id, storage_path)
            UPDATE captures SET storage_class = 'discarded', storage_uri = NULL
            FROM gone WHERE captures.id = gone.capture_id AND captures.storage_uri = gone.storage_path
            """, logger: logger)
    }

    private func decodeMedia(_ rows: PostgresRowSequence) async throws -> [DueFile] {
        var files: [DueFile] = []
        for try await (id, captureId, path, size) in rows.decode((UUID, UUID?, String, Int64).self) {
            files.append(DueFile(mediaId: id, captureId: captureId, storageURI: path, byteSize: size))
        }
        return files
    }
}
