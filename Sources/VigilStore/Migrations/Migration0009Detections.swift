/// Detections (seed 000): one row per object found in a frame, with the frame's size, the zones
/// its foot point falls in, and the media fields of frames sampled from video. Monthly partitions
/// by `detected_at`.
enum Migration0009Detections {
    static let migration = Migration(version: 9, name: "detections", statements: [
        """
        CREATE TABLE detections (
            id              UUID NOT NULL DEFAULT fn_uuid_v7(),
            detected_at     TIMESTAMPTZ NOT NULL,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE,
            capture_id      UUID,
            file_path       TEXT NOT NULL,
            file_type       VARCHAR(50) DEFAULT 'image/jpeg',
            object_type     VARCHAR(50),
            confidence      REAL,
            bbox_x          INTEGER,
            bbox_y          INTEGER,
            bbox_width      INTEGER,
            bbox_height     INTEGER,
            frame_width     INTEGER,
            frame_height    INTEGER,
            zone_ids        UUID[] NOT NULL DEFAULT '{}',
            track_id        BIGINT,
            thumbnail_path  TEXT,
            media_type      VARCHAR(10) DEFAULT 'image',
            duration        REAL,
            video_codec     VARCHAR(30),
            video_width     INTEGER,
            video_height    INTEGER,
            PRIMARY KEY (id, detected_at),
            CONSTRAINT ck_detections_confidence CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
            CONSTRAINT ck_detections_media_type CHECK (media_type IN ('image', 'video'))
        ) PARTITION BY RANGE (detected_at)
        """,
        "CREATE TABLE detections_default PARTITION OF detections DEFAULT",
        "CREATE INDEX idx_detections_camera_id ON detections (camera_id)",
        "CREATE INDEX idx_detections_detected_at ON detections (detected_at)",
        "CREATE INDEX idx_detections_camera_time ON detections (camera_id, detected_at)",
        "CREATE INDEX idx_detections_capture ON detections (capture_id) WHERE capture_id IS NOT NULL",
        "ALTER TABLE detections ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY detections_site_isolation ON detections FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = detections.camera_id))
        """,
    ])
}
