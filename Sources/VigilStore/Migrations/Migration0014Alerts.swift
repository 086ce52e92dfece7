import VigilCore

/// Alert rules, alerts, notification channels and their deliveries (seeds 000/001 and 002 §7, §9).
enum Migration0014Alerts {
    static let migration = Migration(version: 14, name: "alerts", statements: [
        """
        CREATE TABLE notification_channels (
            id                      UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name                    VARCHAR(100) NOT NULL,
            channel_type            VARCHAR(10) NOT NULL,
            config                  JSONB NOT NULL DEFAULT '{}',
            credential_encrypted    BYTEA,
            is_active               BOOLEAN NOT NULL DEFAULT TRUE,
            created_by              UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_notification_channels_name UNIQUE (name),
            CONSTRAINT ck_notification_channels_type CHECK (channel_type IN ('telegram', 'whatsapp', 'email', 'webhook')),
            CONSTRAINT ck_notification_channels_config CHECK (jsonb_typeof(config) = 'object')
        )
        """,
        "CREATE INDEX idx_channels_channel_type ON notification_channels (channel_type)",
        "CREATE INDEX idx_channels_is_active ON notification_channels (is_active) WHERE is_active = TRUE",
        "CREATE TRIGGER trg_notification_channels_updated_at BEFORE UPDATE ON notification_channels FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON COLUMN notification_channels.credential_encrypted IS 'Bot token, API token, SMTP password or HMAC secret, sealed with the secret key (AES-256-GCM)'",

        """
        CREATE TABLE alert_rules (
            id                  UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name                VARCHAR(255) NOT NULL,
            description         TEXT,
            enabled             BOOLEAN NOT NULL DEFAULT TRUE,
            severity            VARCHAR(10),
            risk_threshold      SMALLINT,
            event_types         TEXT[] NOT NULL DEFAULT '{}',
            object_types        TEXT[] NOT NULL DEFAULT '{}',
            camera_ids          UUID[] NOT NULL DEFAULT '{}',
            zone_ids            UUID[] NOT NULL DEFAULT '{}',
            activity_types      TEXT[] NOT NULL DEFAULT '{}',
            min_confidence      REAL,
            schedule            JSONB,
            quiet_hours         JSONB,
            dedup_key_template  VARCHAR(255) NOT NULL DEFAULT '{camera_id}:{rule_id}',
            cooldown_seconds    INTEGER NOT NULL DEFAULT 300,
            channel_ids         UUID[] NOT NULL DEFAULT '{}',
            builtin             VARCHAR(40),
            created_by          UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_alert_rules_builtin UNIQUE (builtin),
            CONSTRAINT ck_alert_rules_severity CHECK (severity IS NULL OR severity IN ('low', 'medium', 'high', 'critical')),
            CONSTRAINT ck_alert_rules_risk_threshold CHECK (risk_threshold IS NULL OR (risk_threshold >= 0 AND risk_threshold <= 100)),
            CONSTRAINT ck_alert_rules_min_confidence CHECK (min_confidence IS NULL OR (min_confidence >= 0.0 AND min_confidence <= 1.0)),
            CONSTRAINT ck_alert_rules_cooldown CHECK (cooldown_seconds >= 0)
        )
        """,
        "CREATE INDEX idx_alert_rules_name ON alert_rules (name)",
        "CREATE INDEX idx_alert_rules_enabled ON alert_rules (enabled) WHERE enabled = TRUE",
        "CREATE INDEX idx_alert_rules_severity ON alert_rules (severity)",
        "CREATE TRIGGER trg_alert_rules_updated_at BEFORE UPDATE ON alert_rules FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON COLUMN alert_rules.schedule IS 'Active schedule: days (0=Sunday or mon..sun), start/end times, timezone (default: the site''s)'",
        "COMMENT ON COLUMN alert_rules.quiet_hours IS 'Suppression window to prevent alert fatigue'",
        // Seed 002's suspicious-activity alerts, as rules an admin can tune or turn off.
        """
        INSERT INTO alert_rules (name, description, severity, activity_types, dedup_key_template, builtin)
        SELECT 'Suspicious activity: ' || replace(kind, '_', ' '),
               'Raised for every ' || replace(kind, '_', ' ') || ' found in an event, with the activity''s severity',
               NULL, ARRAY[kind], '{camera_id}:{rule_id}:{zone_id}', 'suspicious_activity_' || kind
        FROM unnest(ARRAY[\(ActivityType.allCases.filter { $0 != .fall }.map { "'\($0.rawValue)'" }.joined(separator: ", "))]) AS kind
        """,

        """
        CREATE TABLE alerts (
            id              UUID PRIMARY KEY,
            event_id        UUID NOT NULL,
            rule_id         UUID REFERENCES alert_rules (id) ON DELETE SET NULL ON UPDATE CASCADE,
            camera_id       UUID NOT NULL REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            person_id       UUID,
            alert_type      VARCHAR(60) NOT NULL,
            severity        VARCHAR(10) NOT NULL,
            message         TEXT NOT NULL,
            status          VARCHAR(12) NOT NULL DEFAULT 'pending',
            dedup_key       VARCHAR(255) NOT NULL,
            repeat_count    INTEGER NOT NULL DEFAULT 0,
            last_seen_at    TIMESTAMPTZ NOT NULL,
            channel_ids     UUID[] NOT NULL DEFAULT '{}',
            metadata        JSONB NOT NULL DEFAULT '{}',
            version_id      INTEGER NOT NULL DEFAULT 1,
            sent_at         TIMESTAMPTZ,
            delivered_at    TIMESTAMPTZ,
            acknowledged_by UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            acknowledged_at TIMESTAMPTZ,
            resolved_by     UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            resolved_at     TIMESTAMPTZ,
            dismissed_by    UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            dismissed_at    TIMESTAMPTZ,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT ck_alerts_severity CHECK (severity IN ('low', 'medium', 'high', 'critical')),
            CONSTRAINT ck_alerts_status CHECK (status IN ('pending', 'delivered', 'acknowledged', 'resolved', 'dismissed')),
            CONSTRAINT ck_alerts_repeat_count CHECK (repeat_count >= 0),
            CONSTRAINT ck_alerts_version CHECK (version_id >= 1)
        )
        """,
        "CREATE INDEX idx_alerts_event_id ON alerts (event_id)",
        "CREATE INDEX idx_alerts_rule_id ON alerts (rule_id) WHERE rule_id IS NOT NULL",
        "CREATE INDEX idx_alerts_camera_id ON alerts (camera_id)",
        "CREATE INDEX idx_alerts_severity ON alerts (severity)",
        "CREATE INDEX idx_alerts_created_at ON alerts (created_at DESC, id DESC)",
        "CREATE INDEX idx_alerts_status_created ON alerts (status, created_at DESC)",
        "CREATE INDEX idx_alerts_dedup_key_seen ON alerts (dedup_key, last_seen_at DESC)",
        "CREATE INDEX idx_alerts_person_id ON alerts (person_id) WHERE person_id IS NOT NULL",
        "CREATE TRIGGER trg_alerts_updated_at BEFORE UPDATE ON alerts FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "ALTER TABLE alerts ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY alerts_site_isolation ON alerts FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = alerts.camera_id))
        """,
        "COMMENT ON TABLE alerts IS 'Alerts raised by rules, with their lifecycle; repeats within the cooldown are counted on the alert'",

        // One row per (event, rule) that matched: the guard that makes evaluation happen once,
        // whichever worker gets there first. It is written before the alert it names, which the
        // deferred key lets the same transaction add.
        """
        CREATE TABLE alert_rule_matches (
            event_id    UUID NOT NULL,
            rule_id     UUID NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE ON UPDATE CASCADE,
            alert_id    UUID NOT NULL REFERENCES alerts (id) ON DELETE CASCADE ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
            matched_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (event_id, rule_id)
        )
        """,
        "CREATE INDEX idx_alert_rule_matches_alert ON alert_rule_matches (alert_id)",

        """
        CREATE TABLE alert_deliveries (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            alert_id        UUID NOT NULL REFERENCES alerts (id) ON DELETE CASCADE ON UPDATE CASCADE,
            channel_id      UUID REFERENCES notification_channels (id) ON DELETE SET NULL ON UPDATE CASCADE,
            channel_type    VARCHAR(10) NOT NULL,
            job_id          UUID,
            attempt         INTEGER NOT NULL,
            status          VARCHAR(10) NOT NULL,
            response_code   INTEGER,
            error           TEXT,
            latency_ms      INTEGER NOT NULL DEFAULT 0,
            attempted_at    TIMESTAMPTZ NOT NULL,
            CONSTRAINT ck_alert_deliveries_status CHECK (status IN ('sent', 'retrying', 'failed')),
            CONSTRAINT ck_alert_deliveries_attempt CHECK (attempt >= 1)
        )
        """,
        "CREATE INDEX idx_alert_deliveries_alert ON alert_deliveries (alert_id, attempted_at)",
        "CREATE INDEX idx_alert_deliveries_channel_time ON alert_deliveries (channel_id, attempted_at DESC)",
        "ALTER TABLE alert_deliveries ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY alert_deliveries_site_isolation ON alert_deliveries FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM alerts a WHERE a.id = alert_deliveries.alert_id))
        """,

        // Seed 002's view on the merged schema, with the caller's rights.
        """
        CREATE VIEW vw_active_alerts WITH (security_invoker = true) AS
        SELECT
            a.id AS alert_id, a.event_id, a.alert_type, a.severity, a.message, a.status, a.created_at, a.last_seen_at,
            a.repeat_count, a.version_id, a.acknowledged_at, ack.username AS acknowledged_by_username,
            c.id AS camera_id, c.name AS camera_name, c.location AS camera_location, s.id AS site_id, s.name AS site_name,
            a.person_id, ar.id AS rule_id, ar.name AS rule_name
        FROM alerts a
        JOIN cameras c ON c.id = a.camera_id
        JOIN sites s ON s.id = c.site_id
        LEFT JOIN alert_rules ar ON ar.id = a.rule_id
        LEFT JOIN users ack ON ack.id = a.acknowledged_by
        WHERE a.status IN ('pending', 'delivered', 'acknowledged')
        ORDER BY
            CASE a.severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
            a.created_at DESC
        """,
    ])
}
