/// Clips and connectivity: uploaded video clips (seed 002 §10) and the connect/disconnect history
/// of cameras that Vigil pulls from or hears from (seed 002, `device_connectivity_logs`).
enum Migration0006Streams {
    static let migration = Migration(version: 6, name: "clips_and_connectivity", statements: [
        """
        CREATE TABLE video_clips (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            media_file_id   UUID NOT NULL REFERENCES media_files (id) ON DELETE CASCADE ON UPDATE CASCADE,
            duration        DECIMAL(8,2) NOT NULL,
            start_time      TIMESTAMPTZ NOT NULL,
            end_time        TIMESTAMPTZ NOT NULL,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            event_id        UUID,
            format          VARCHAR(10) NOT NULL DEFAULT 'mp4',
            codec           VARCHAR(30),
            width           INTEGER,
            height          INTEGER,
            frames_sampled  INTEGER NOT NULL DEFAULT 0,
            size_bytes      BIGINT NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT chk_clips_duration CHECK (duration > 0),
            CONSTRAINT chk_clips_time_range CHECK (end_time > start_time),
            CONSTRAINT ck_video_clips_format CHECK (format IN ('mp4', 'mkv', 'avi'))
        )
        """,
        "CREATE INDEX idx_video_clips_camera_id ON video_clips (camera_id)",
        "CREATE INDEX idx_video_clips_start_time ON video_clips (start_time DESC)",
        "CREATE INDEX idx_video_clips_event_id ON video_clips (event_id) WHERE event_id IS NOT NULL",
        "CREATE INDEX idx_video_clips_camera_time ON video_clips (camera_id, start_time DESC)",
        "CREATE INDEX idx_video_clips_media_file ON video_clips (media_file_id)",
        "COMMENT ON TABLE video_clips IS 'Video clip metadata for incident review'",

        """
        CREATE TABLE device_connectivity_logs (
            id              UUID NOT NULL DEFAULT fn_uuid_v7(),
            device_type     VARCHAR(20) NOT NULL,
            device_id       UUID NOT NULL,
            event           VARCHAR(20) NOT NULL,
            details         JSONB NOT NULL DEFAULT '{}',
            timestamp       TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (id, timestamp),
            CONSTRAINT ck_connectivity_device_type CHECK (device_type IN ('dvr', 'camera', 'edge')),
            CONSTRAINT ck_connectivity_event CHECK (event IN ('connected', 'disconnected', 'reconnect_failed'))
        ) PARTITION BY RANGE (timestamp)
        """,
        "CREATE TABLE device_connectivity_logs_default PARTITION OF device_connectivity_logs DEFAULT",
        "CREATE INDEX idx_connectivity_device_type ON device_connectivity_logs (device_type)",
        "CREATE INDEX idx_connectivity_device_time ON device_connectivity_logs (device_id, timestamp DESC)",
        "CREATE INDEX idx_connectivity_timestamp ON device_connectivity_logs (timestamp DESC)",
        "CREATE INDEX idx_connectivity_event ON device_connectivity_logs (event)",
        "COMMENT ON TABLE device_connectivity_logs IS 'Device connectivity events - 90 day TTL'",

        // Site isolation follows the camera (migration 0003); a DVR's rows follow the DVR.
        "ALTER TABLE video_clips ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY video_clips_site_isolation ON video_clips FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = video_clips.camera_id))
        """,
        "ALTER TABLE device_connectivity_logs ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY connectivity_site_isolation ON device_connectivity_logs FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = device_connectivity_logs.device_id)
                   OR EXISTS (SELECT 1 FROM dvrs d WHERE d.id = device_connectivity_logs.device_id))
        """,
    ])
}
