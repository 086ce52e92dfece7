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

        public init(detectedAt: Date, cameraId: UUID, captureId: UUID?, filePath: String, objectType: String, confidence: Double,
                    x: Int, y: Int, width: Int, height: Int, frameWidth: Int, frameHeight: Int, zoneIds: [UUID]) {
            self.detectedAt = detectedAt
            self.cameraId = cameraId
            self.captureId = captureId
            self.filePath = filePath
            self.objectType = objectType
            self.confidence = confidence
            self.x = x
            self.y = y
            self.width = width
            self.height = height
            self.frameWidth = frameWidth
            self.frameHeight = frameHeight
            self.zoneIds = zoneIds
        }

        enum CodingKeys: String, CodingKey {
            case confidence, x, y, width, height
            case detectedAt = "detected_at", cameraId = "camera_id", captureId = "capture_id", filePath = "file_path"
            case objectType = "object_type", frameWidth = "frame_width", frameHeight = "frame_height", zoneIds = "zone_ids"
        }
    }

    /// Stores a frame's detections and marks its capture processed, in one statement.
    public func record(_ detections: [NewDetection], capture: CaptureRepository.Stored, analyzedAt: Date) async throws {
        try await connection.query("""
            WITH found AS (
                INSERT INTO detections (detected_at, camera_id, capture_id, file_path, object_type, confidence, bbox_x, bbox_y,
                                        bbox_width, bbox_height, frame_width, frame_height, zone_ids)
                SELECT detected_at, camera_id, capture_id, file_path, object_type, confidence, x, y, width, height,
                       frame_width, frame_height, ARRAY(SELECT jsonb_array_elements_text(zone_ids)::uuid)
                FROM jsonb_to_recordset(\(try detections.jsonText())::jsonb) AS f(
                    detected_at timestamptz, camera_id uuid, capture_id uuid, file_path text, object_type text, confidence float8,
                    x int4, y int4, width int4, height int4, frame_width int4, frame_height int4, zone_ids jsonb)
            )
            UPDATE captures SET analysis_status = 'processed', analyzed_at = \(analyzedAt), analysis_error = NULL,
                meta = meta || jsonb_build_object('detections', \(detections.count))
            WHERE id = \(capture.id) AND received_at = \(capture.receivedAt)
            """, logger: logger)
    }

    /// Marks a capture whose frame could not be analysed.
    public func recordFailure(_ capture: CaptureRepository.Stored, error: String, at time: Date) async throws {
        try await connection.query("""
            UPDATE captures SET analysis_status = 'failed', analyzed_at = \(time), analysis_error = \(error)
            WHERE id = \(capture.id) AND received_at = \(capture.receivedAt)
            """, logger: logger)
    }
}
