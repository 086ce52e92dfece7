/// Events (seed 000 batches + seed 002 events + seed 004 activity events), their images, the
/// suspicious activities found in them, the cameras' activity baselines and operators' feedback.
///
/// `events` is partitioned by `started_at` (seed 002 partitions by `timestamp`; an aggregated
/// event's time is when it started). An event is open while `closed_at` is NULL: it still
/// collects its camera's detections. `place` keeps the camera and zone names as they were, so
/// full-text search finds "front door" even after a camera is renamed.
enum Migration0011Events {
    static let migration = Migration(version: 11, name: "events", statements: [
        // array_to_string is only STABLE (it formats any element type); for text it is immutable,
        // which a generated column needs.
        """
        CREATE FUNCTION fn_join_text(items TEXT[]) RETURNS TEXT
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(items, ' ') $$
        """,
        // What full-text search knows of where an event happened: the camera's name and location
        // and the names of the zones its objects stood in.
        """
        CREATE FUNCTION fn_event_place(camera UUID, zones UUID[]) RETURNS TEXT LANGUAGE sql STABLE AS $$
            SELECT concat_ws(' ', c.name, c.location, (SELECT string_agg(z.name, ' ' ORDER BY z.name)
                                                       FROM camera_zones z WHERE z.id = ANY(zones)))
            FROM cameras c WHERE c.id = camera
        $$
        """,
        """
        CREATE TABLE events (
            id              UUID NOT NULL,
            batch_id        UUID NOT NULL,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            event_type      VARCHAR(30) NOT NULL,
            started_at      TIMESTAMPTZ NOT NULL,
            ended_at        TIMESTAMPTZ,
            closed_at       TIMESTAMPTZ,
            risk_score      SMALLINT,
            risk_level      VARCHAR(10),
            summary         TEXT,
            reasoning       TEXT,
            detection_ids   UUID[] NOT NULL DEFAULT '{}',
            object_types    TEXT[] NOT NULL DEFAULT '{}',
            zone_ids        UUID[] NOT NULL DEFAULT '{}',
            track_ids       BIGINT[] NOT NULL DEFAULT '{}',
            reviewed        BOOLEAN NOT NULL DEFAULT FALSE,
            review_action   VARCHAR(20),
            notes           TEXT,
            is_fast_path    BOOLEAN NOT NULL DEFAULT FALSE,
            announced_at    TIMESTAMPTZ,
            clip_path       TEXT,
            person_id       UUID,
            cluster_id      UUID,
            confidence      REAL,
            bounding_box    JSONB,
            image_path      TEXT,
            frame_number    BIGINT,
            metadata        JSONB NOT NULL DEFAULT '{}',
            details         JSONB NOT NULL DEFAULT '{}',
            place           TEXT NOT NULL DEFAULT '',
            search_vector   TSVECTOR GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, place || ' ' || fn_join_text(object_types)), 'A')
                || setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'B')
                || setweight(to_tsvector('english'::regconfig, COALESCE(reasoning, '') || ' ' || COALESCE(notes, '')), 'C')
            ) STORED,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            PRIMARY KEY (id, started_at),
            CONSTRAINT ck_events_event_type CHECK (event_type IN (
                'human_detected', 'face_detected', 'person_recognized', 'motion_detected', 'object_detected',
                'interaction_detected', 'stock_changed', 'empty_confirmed', 'camera_obstructed', 'scene_shifted')),
            CONSTRAINT ck_events_risk_score CHECK (risk_score IS NULL OR risk_score BETWEEN 0 AND 100),
            CONSTRAINT ck_events_risk_level CHECK (risk_level IS NULL OR risk_level IN ('low', 'medium', 'high', 'critical')),
            CONSTRAINT ck_events_review_action CHECK (review_action IS NULL OR review_action IN
                ('confirm', 'reject', 'correct_name', 'merge', 'delete')),
            CONSTRAINT ck_events_confidence CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
            CONSTRAINT ck_events_times CHECK (ended_at IS NULL OR ended_at >= started_at),
            CONSTRAINT ck_events_details_object CHECK (jsonb_typeof(details) = 'object')
        ) PARTITION BY RANGE (started_at)
        """,
        "CREATE TABLE events_default PARTITION OF events DEFAULT",
        "CREATE INDEX idx_events_camera_started ON events (camera_id, started_at DESC, id DESC)",
        "CREATE INDEX idx_events_started_at ON events (started_at DESC, id DESC)",
        "CREATE INDEX idx_events_id ON events (id)",
        "CREATE INDEX idx_events_risk_score ON events (risk_score)",
        "CREATE INDEX idx_events_reviewed ON events (reviewed) WHERE reviewed = FALSE",
        "CREATE INDEX idx_events_batch_id ON events (batch_id)",
        "CREATE INDEX idx_events_event_type ON events (event_type)",
        "CREATE INDEX idx_events_person_id ON events (person_id) WHERE person_id IS NOT NULL",
        "CREATE INDEX idx_events_cluster_id ON events (cluster_id) WHERE cluster_id IS NOT NULL",
        "CREATE INDEX idx_events_open ON events (camera_id) WHERE closed_at IS NULL",
        "CREATE INDEX idx_events_search_vector ON events USING GIN (search_vector)",
        "CREATE INDEX idx_events_object_types ON events USING GIN (object_types)",
        "CREATE TRIGGER trg_events_updated_at BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "ALTER TABLE events ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY events_site_isolation ON events FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = events.camera_id))
        """,
        "COMMENT ON TABLE events IS 'Activity episodes aggregated from detections, with risk, summary and why they triggered'",

        // event_images (seed 004 §3.3): a capture (pre, during, post) or a derived file (annotated, thumb) per role.
        """
        CREATE TABLE event_images (
            id                  UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            event_id            UUID NOT NULL,
            camera_id           UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            role                VARCHAR(10) NOT NULL,
            capture_id          UUID,
            derived_storage_uri TEXT,
            created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_event_images_event_role UNIQUE (event_id, role),
            CONSTRAINT ck_event_images_role CHECK (role IN ('pre', 'post', 'during', 'annotated', 'thumb')),
            CONSTRAINT ck_event_images_source CHECK (capture_id IS NOT NULL OR derived_storage_uri IS NOT NULL)
        )
        """,
        "CREATE INDEX idx_event_images_capture ON event_images (capture_id) WHERE capture_id IS NOT NULL",
        "CREATE INDEX idx_event_images_created_at ON event_images (created_at)",
        "ALTER TABLE event_images ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY event_images_site_isolation ON event_images FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = event_images.camera_id))
        """,

        // suspicious_activity_events (seed 002), each derived from an event; `dedup_key` reports one
        // activity of one object once, even when it spans several events.
        """
        CREATE TABLE suspicious_activity_events (
            id              UUID NOT NULL DEFAULT fn_uuid_v7(),
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            event_id        UUID,
            activity_type   VARCHAR(30) NOT NULL,
            zone_id         UUID REFERENCES camera_zones (id) ON DELETE SET NULL ON UPDATE CASCADE,
            confidence      DECIMAL(4,3) NOT NULL,
            severity        VARCHAR(10) NOT NULL,
            details         JSONB NOT NULL DEFAULT '{}',
            dedup_key       TEXT NOT NULL,
            image_path      TEXT,
            video_clip_path TEXT,
            timestamp       TIMESTAMPTZ NOT NULL,
            alert_sent      BOOLEAN NOT NULL DEFAULT FALSE,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            PRIMARY KEY (id, timestamp),
            CONSTRAINT chk_suspicious_confidence CHECK (confidence BETWEEN 0.0 AND 1.0),
            CONSTRAINT ck_suspicious_activity_type CHECK (activity_type IN ('intrusion', 'loitering', 'running', 'crowding',
                'fall', 'abandoned_object', 'after_hours', 'zone_breach', 'repeated_entry', 'dwell_time')),
            CONSTRAINT ck_suspicious_severity CHECK (severity IN ('low', 'medium', 'high', 'critical'))
        ) PARTITION BY RANGE (timestamp)
        """,
        "CREATE TABLE suspicious_activity_events_default PARTITION OF suspicious_activity_events DEFAULT",
        "CREATE INDEX idx_suspicious_camera_id ON suspicious_activity_events (camera_id, timestamp DESC)",
        "CREATE INDEX idx_suspicious_timestamp ON suspicious_activity_events (timestamp DESC)",
        "CREATE INDEX idx_suspicious_activity_type ON suspicious_activity_events (activity_type)",
        "CREATE INDEX idx_suspicious_severity ON suspicious_activity_events (severity)",
        "CREATE INDEX idx_suspicious_alert_sent ON suspicious_activity_events (alert_sent) WHERE alert_sent = FALSE",
        "CREATE INDEX idx_suspicious_zone_id ON suspicious_activity_events (zone_id) WHERE zone_id IS NOT NULL",
        "CREATE INDEX idx_suspicious_event_id ON suspicious_activity_events (event_id) WHERE event_id IS NOT NULL",
        "CREATE INDEX idx_suspicious_dedup ON suspicious_activity_events (camera_id, dedup_key)",
        "ALTER TABLE suspicious_activity_events ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY suspicious_site_isolation ON suspicious_activity_events FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = suspicious_activity_events.camera_id))
        """,

        // Baselines (seed 000): what a camera usually sees, by time slot.
        """
        CREATE TABLE activity_baselines (
            id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            hour            SMALLINT NOT NULL,
            day_of_week     SMALLINT NOT NULL,
            avg_count       DOUBLE PRECISION NOT NULL DEFAULT 0,
            sample_count    INTEGER NOT NULL DEFAULT 0,
            last_updated    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_activity_baselines_slot UNIQUE (camera_id, hour, day_of_week),
            CONSTRAINT ck_activity_baselines_hour CHECK (hour BETWEEN 0 AND 23),
            CONSTRAINT ck_activity_baselines_day CHECK (day_of_week BETWEEN 0 AND 6)
        )
        """,
        "CREATE INDEX idx_activity_baseline_camera ON activity_baselines (camera_id)",
        """
        CREATE TABLE class_baselines (
            id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            detection_class VARCHAR(50) NOT NULL,
            hour            SMALLINT NOT NULL,
            frequency       DOUBLE PRECISION NOT NULL DEFAULT 0,
            sample_count    INTEGER NOT NULL DEFAULT 0,
            last_updated    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_class_baselines_slot UNIQUE (camera_id, detection_class, hour),
            CONSTRAINT ck_class_baselines_hour CHECK (hour BETWEEN 0 AND 23)
        )
        """,
        "CREATE INDEX idx_class_baseline_camera ON class_baselines (camera_id)",
        "CREATE INDEX idx_class_baseline_class ON class_baselines (camera_id, detection_class)",
        // Which hours of each camera the baselines have already learnt from: each hour counts once.
        """
        CREATE TABLE baseline_progress (
            camera_id       UUID PRIMARY KEY REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            learnt_until    TIMESTAMPTZ NOT NULL
        )
        """,
        "ALTER TABLE activity_baselines ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY activity_baselines_site_isolation ON activity_baselines FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = activity_baselines.camera_id))
        """,
        "ALTER TABLE class_baselines ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY class_baselines_site_isolation ON class_baselines FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = class_baselines.camera_id))
        """,
        "ALTER TABLE baseline_progress ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY baseline_progress_site_isolation ON baseline_progress FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = baseline_progress.camera_id))
        """,

        // event_feedback (seed 001): one verdict per event.
        """
        CREATE TABLE event_feedback (
            id                UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            event_id          UUID NOT NULL,
            camera_id         UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            feedback_type     VARCHAR(20) NOT NULL,
            notes             TEXT,
            expected_severity VARCHAR(10),
            created_by        UUID REFERENCES users (id) ON DELETE SET NULL,
            created_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_event_feedback_event UNIQUE (event_id),
            CONSTRAINT ck_event_feedback_type CHECK (feedback_type IN ('accurate', 'correct', 'false_positive', 'missed_threat', 'severity_wrong')),
            CONSTRAINT ck_event_feedback_severity CHECK (expected_severity IS NULL OR expected_severity IN ('low', 'medium', 'high', 'critical'))
        )
        """,
        "CREATE INDEX idx_event_feedback_type ON event_feedback (feedback_type)",
        "CREATE INDEX idx_event_feedback_created_at ON event_feedback (created_at)",
        "CREATE TRIGGER trg_event_feedback_updated_at BEFORE UPDATE ON event_feedback FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "ALTER TABLE event_feedback ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY event_feedback_site_isolation ON event_feedback FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = event_feedback.camera_id))
        """,

        // Seed 002's views on the merged schema. They run with the caller's rights
        // (security_invoker), so row-level security still decides what a caller sees.
        """
        CREATE VIEW vw_recent_events WITH (security_invoker = true) AS
        SELECT
            e.id AS event_id, e.event_type, e.confidence, e.bounding_box, e.image_path,
            e.started_at AS event_timestamp, e.ended_at, e.risk_score, e.risk_level, e.summary, e.object_types,
            e.is_fast_path, e.reviewed, e.review_action, e.metadata,
            c.id AS camera_id, c.name AS camera_name, c.location AS camera_location, c.resolution,
            d.name AS dvr_name, s.id AS site_id, s.name AS site_name, e.person_id, e.cluster_id
        FROM events e
        JOIN cameras c ON c.id = e.camera_id
        JOIN sites s ON s.id = c.site_id
        LEFT JOIN dvrs d ON d.id = c.dvr_id
        WHERE e.started_at >= NOW() - INTERVAL '24 hours'
        ORDER BY e.started_at DESC
        """,
        """
        CREATE VIEW vw_dashboard_stats WITH (security_invoker = true) AS
        WITH
            camera_stats AS (
                SELECT COUNT(*) AS total_cameras,
                       COUNT(*) FILTER (WHERE status = 'online') AS online_cameras,
                       COUNT(*) FILTER (WHERE status = 'offline') AS offline_cameras
                FROM cameras WHERE is_active = TRUE
            ),
            event_stats_today AS (
                SELECT COUNT(*) AS events_today,
                       COUNT(*) FILTER (WHERE event_type = 'person_recognized') AS recognized_today,
                       COUNT(*) FILTER (WHERE event_type = 'face_detected') AS faces_today,
                       COUNT(*) FILTER (WHERE event_type = 'human_detected') AS humans_today,
                       COUNT(*) FILTER (WHERE risk_level IN ('high', 'critical')) AS high_risk_today,
                       COUNT(*) FILTER (WHERE reviewed = FALSE) AS unreviewed_events
                FROM events WHERE started_at >= DATE_TRUNC('day', NOW())
            ),
            suspicious_stats AS (
                SELECT COUNT(*) AS suspicious_today,
                       COUNT(*) FILTER (WHERE severity = 'critical') AS critical_suspicious
                FROM suspicious_activity_events WHERE timestamp >= DATE_TRUNC('day', NOW())
            )
        SELECT cs.total_cameras, cs.online_cameras, cs.offline_cameras,
               ROUND(100.0 * cs.online_cameras / NULLIF(cs.total_cameras, 0), 1) AS camera_uptime_pct,
               es.events_today, es.recognized_today, es.faces_today, es.humans_today, es.high_risk_today,
               es.unreviewed_events, ss.suspicious_today, ss.critical_suspicious
        FROM camera_stats cs CROSS JOIN event_stats_today es CROSS JOIN suspicious_stats ss
        """,
    ])
}
