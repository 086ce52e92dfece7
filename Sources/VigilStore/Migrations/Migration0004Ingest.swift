/// Frames in: per-camera device tokens, captures (seed 004), media files (seed 002 §10) and the
/// durable job tables (seed 001) that captures are queued for analysis in.
enum Migration0004Ingest {
    static let migration = Migration(version: 4, name: "ingest", statements: [
        "ALTER TABLE cameras ADD COLUMN device_token_hash CHAR(64)",
        "ALTER TABLE cameras ADD CONSTRAINT uq_cameras_device_token_hash UNIQUE (device_token_hash)",
        "COMMENT ON COLUMN cameras.device_token_hash IS 'SHA-256 of the token a pushing camera sends; the token is shown once'",

        // jobs (seed 001) with a payload and the lease the workers use
        """
        CREATE TABLE jobs (
            id                  UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            job_type            VARCHAR(50) NOT NULL,
            status              VARCHAR(20) NOT NULL DEFAULT 'queued',
            queue_name          VARCHAR(100),
            priority            INTEGER NOT NULL DEFAULT 2,
            payload             JSONB NOT NULL DEFAULT '{}',
            created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            started_at          TIMESTAMPTZ,
            completed_at        TIMESTAMPTZ,
            progress_percent    INTEGER NOT NULL DEFAULT 0,
            current_step        VARCHAR(255),
            result              JSONB,
            error_message       TEXT,
            error_traceback     TEXT,
            attempt_number      INTEGER NOT NULL DEFAULT 1,
            max_attempts        INTEGER NOT NULL DEFAULT 3,
            next_retry_at       TIMESTAMPTZ,
            locked_by           VARCHAR(100),
            lease_expires_at    TIMESTAMPTZ,
            CONSTRAINT ck_jobs_status CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
            CONSTRAINT ck_jobs_progress CHECK (progress_percent >= 0 AND progress_percent <= 100),
            CONSTRAINT ck_jobs_priority CHECK (priority >= 0 AND priority <= 4),
            CONSTRAINT ck_jobs_attempt_number CHECK (attempt_number >= 1),
            CONSTRAINT ck_jobs_max_attempts CHECK (max_attempts >= 1),
            CONSTRAINT ck_jobs_completed_at CHECK (completed_at IS NULL OR completed_at >= created_at),
            CONSTRAINT ck_jobs_started_at CHECK (started_at IS NULL OR started_at >= created_at)
        )
        """,
        "CREATE INDEX idx_jobs_status ON jobs (status)",
        "CREATE INDEX idx_jobs_job_type ON jobs (job_type)",
        "CREATE INDEX idx_jobs_created_at ON jobs (created_at)",
        "CREATE INDEX idx_jobs_queue_name ON jobs (queue_name)",
        "CREATE INDEX idx_jobs_priority ON jobs (priority)",
        "CREATE INDEX idx_jobs_status_created_at ON jobs (status, created_at)",
        "CREATE INDEX idx_jobs_job_type_status ON jobs (job_type, status)",
        "CREATE INDEX ix_jobs_created_at_brin ON jobs USING BRIN (created_at)",
        "CREATE INDEX idx_jobs_claimable ON jobs (queue_name, priority, created_at) WHERE status = 'queued'",
        """
        CREATE TABLE job_attempts (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            job_id          UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            attempt_number  INTEGER NOT NULL DEFAULT 1,
            started_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            ended_at        TIMESTAMPTZ,
            status          VARCHAR(20) NOT NULL DEFAULT 'started',
            worker_id       VARCHAR(100),
            error_message   TEXT,
            error_traceback TEXT,
            result          JSONB,
            CONSTRAINT ck_job_attempts_status CHECK (status IN ('started', 'succeeded', 'failed', 'cancelled')),
            CONSTRAINT ck_job_attempts_attempt_number CHECK (attempt_number >= 1),
            CONSTRAINT ck_job_attempts_ended_at CHECK (ended_at IS NULL OR ended_at >= started_at)
        )
        """,
        "CREATE INDEX idx_job_attempts_job_attempt ON job_attempts (job_id, attempt_number)",
        "CREATE INDEX idx_job_attempts_status ON job_attempts (status)",
        "CREATE INDEX ix_job_attempts_started_at_brin ON job_attempts USING BRIN (started_at)",
        """
        CREATE TABLE job_logs (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            job_id          UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            attempt_number  INTEGER NOT NULL DEFAULT 1,
            timestamp       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            level           VARCHAR(10) NOT NULL DEFAULT 'info',
            message         TEXT NOT NULL,
            context         JSONB,
            CONSTRAINT ck_job_logs_level CHECK (level IN ('debug', 'info', 'warning', 'error')),
            CONSTRAINT ck_job_logs_attempt_number CHECK (attempt_number >= 1)
        )
        """,
        "CREATE INDEX idx_job_logs_job_attempt ON job_logs (job_id, attempt_number)",
        "CREATE INDEX idx_job_logs_level ON job_logs (level)",
        "CREATE INDEX idx_job_logs_job_timestamp ON job_logs (job_id, timestamp)",
        """
        CREATE TABLE job_transitions (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            job_id          UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            from_status     VARCHAR(50) NOT NULL,
            to_status       VARCHAR(50) NOT NULL,
            transitioned_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            triggered_by    VARCHAR(50) NOT NULL DEFAULT 'worker',
            metadata_json   TEXT,
            CONSTRAINT ck_job_transitions_triggered_by CHECK (triggered_by IN ('worker', 'user', 'timeout', 'retry', 'system'))
        )
        """,
        "CREATE INDEX idx_job_transitions_job_id_transitioned_at ON job_transitions (job_id, transitioned_at)",
        "CREATE INDEX idx_job_transitions_transitioned_at ON job_transitions (transitioned_at)",

        // captures (seed 004): one row per frame received, monthly partitions by received_at
        """
        CREATE TABLE captures (
            id              UUID NOT NULL,
            received_at     TIMESTAMPTZ NOT NULL,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE,
            device_id       VARCHAR(100) NOT NULL,
            device_seq      BIGINT,
            captured_at     TIMESTAMPTZ,
            source          VARCHAR(20) NOT NULL,
            storage_uri     TEXT,
            storage_class   VARCHAR(20) NOT NULL DEFAULT 'staging',
            analysis_status VARCHAR(20) NOT NULL DEFAULT 'queued',
            analyzed_at     TIMESTAMPTZ,
            analysis_error  TEXT,
            sha256_hex      CHAR(64),
            byte_size       INTEGER,
            width           INTEGER,
            height          INTEGER,
            job_id          UUID,
            meta            JSONB NOT NULL DEFAULT '{}',
            PRIMARY KEY (id, received_at),
            CONSTRAINT ck_captures_storage_class CHECK (storage_class IN ('staging', 'event', 'debug', 'discarded')),
            CONSTRAINT ck_captures_analysis_status CHECK (analysis_status IN ('queued', 'processed', 'failed', 'skipped')),
            CONSTRAINT ck_captures_source CHECK (source IN ('http_push', 'ftp_folder', 'rtsp', 'http_snapshot', 'mjpeg', 'video_clip')),
            CONSTRAINT ck_captures_byte_size CHECK (byte_size IS NULL OR byte_size > 0)
        ) PARTITION BY RANGE (received_at)
        """,
        "CREATE TABLE captures_default PARTITION OF captures DEFAULT",
        "CREATE INDEX idx_captures_camera_received ON captures (camera_id, received_at DESC)",
        "CREATE INDEX idx_captures_camera_seq ON captures (camera_id, device_seq) WHERE device_seq IS NOT NULL",
        "CREATE INDEX idx_captures_camera_sha ON captures (camera_id, sha256_hex, received_at)",
        "CREATE INDEX idx_captures_staging ON captures (received_at) WHERE storage_class = 'staging'",

        // media_files (seed 002 §10), every stored file with its checksum and retention
        """
        CREATE TABLE media_files (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            file_type       VARCHAR(10) NOT NULL,
            storage_path    TEXT NOT NULL,
            file_size       BIGINT NOT NULL,
            checksum        VARCHAR(64) NOT NULL,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            event_id        UUID,
            capture_id      UUID,
            role            VARCHAR(20) NOT NULL DEFAULT 'staging',
            timestamp       TIMESTAMPTZ NOT NULL,
            retention_until TIMESTAMPTZ NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_media_files_storage_path UNIQUE (storage_path),
            CONSTRAINT ck_media_files_file_type CHECK (file_type IN ('image', 'video')),
            CONSTRAINT ck_media_files_role CHECK (role IN ('staging', 'event', 'thumb', 'annotated', 'clip', 'debug'))
        )
        """,
        "CREATE INDEX idx_media_files_camera_id ON media_files (camera_id)",
        "CREATE INDEX idx_media_files_timestamp ON media_files (timestamp DESC)",
        "CREATE INDEX idx_media_files_event_id ON media_files (event_id) WHERE event_id IS NOT NULL",
        "CREATE INDEX idx_media_files_capture_id ON media_files (capture_id) WHERE capture_id IS NOT NULL",
        "CREATE INDEX idx_media_files_retention ON media_files (retention_until)",

        // Site isolation follows the camera (migration 0003).
        "ALTER TABLE captures ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY captures_site_isolation ON captures FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = captures.camera_id))
        """,
        "ALTER TABLE media_files ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY media_site_isolation ON media_files FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = media_files.camera_id))
        """,
    ])
}
