/// Extensions, shared functions, and the site → DVR → camera → zone hierarchy (seeds 000, 001, 002).
enum Migration0001Core {
    static let migration = Migration(version: 1, name: "core", statements: [
        "CREATE EXTENSION IF NOT EXISTS vector",
        "CREATE EXTENSION IF NOT EXISTS pgcrypto",

        // Time-ordered ids for rows created by SQL alone; the application makes its own UUIDv7s.
        """
        CREATE FUNCTION fn_uuid_v7() RETURNS uuid AS $$
            SELECT encode(
                set_bit(set_bit(
                    overlay(uuid_send(gen_random_uuid())
                            PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                            FROM 1 FOR 6),
                    52, 1), 53, 1),
                'hex')::uuid
        $$ LANGUAGE sql VOLATILE
        """,

        """
        CREATE FUNCTION fn_update_updated_at() RETURNS trigger AS $$
        BEGIN
            NEW.updated_at = NOW();
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """,
        "COMMENT ON FUNCTION fn_update_updated_at() IS 'Trigger function to auto-update updated_at timestamp'",

        // sites (seed 002 §3)
        """
        CREATE TABLE sites (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name            VARCHAR(100) NOT NULL,
            address         TEXT,
            timezone        VARCHAR(50) NOT NULL DEFAULT 'UTC',
            vpn_config      JSONB,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_sites_name UNIQUE (name),
            CONSTRAINT ck_sites_vpn_config_object CHECK (vpn_config IS NULL OR jsonb_typeof(vpn_config) = 'object')
        )
        """,
        "CREATE INDEX idx_sites_timezone ON sites (timezone)",
        "CREATE TRIGGER trg_sites_updated_at BEFORE UPDATE ON sites FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON TABLE sites IS 'Physical surveillance locations hosting cameras and DVR/NVR devices'",
        "INSERT INTO sites (name, timezone) VALUES ('Default site', 'UTC')",

        // dvrs (seed 002 §3)
        """
        CREATE TABLE dvrs (
            id                  UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            site_id             UUID NOT NULL,
            name                VARCHAR(100) NOT NULL,
            brand               VARCHAR(50),
            model               VARCHAR(100),
            ip_address          INET NOT NULL,
            ports               JSONB NOT NULL DEFAULT '{}',
            firmware_version    VARCHAR(50),
            username_encrypted  BYTEA,
            password_encrypted  BYTEA,
            status              TEXT NOT NULL DEFAULT 'unknown',
            last_seen           TIMESTAMPTZ,
            created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT fk_dvrs_site FOREIGN KEY (site_id) REFERENCES sites (id) ON DELETE CASCADE ON UPDATE CASCADE,
            CONSTRAINT uq_dvrs_id_site UNIQUE (id, site_id),
            CONSTRAINT ck_dvrs_status CHECK (status IN ('online', 'offline', 'degraded', 'unknown', 'maintenance')),
            CONSTRAINT ck_dvrs_ports_object CHECK (jsonb_typeof(ports) = 'object')
        )
        """,
        "CREATE INDEX idx_dvrs_site_id ON dvrs (site_id)",
        "CREATE INDEX idx_dvrs_ip_address ON dvrs (ip_address)",
        "CREATE INDEX idx_dvrs_status ON dvrs (status)",
        "CREATE INDEX idx_dvrs_last_seen ON dvrs (last_seen)",
        "CREATE TRIGGER trg_dvrs_updated_at BEFORE UPDATE ON dvrs FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON COLUMN dvrs.username_encrypted IS 'AES-256-GCM encrypted DVR username'",
        "COMMENT ON COLUMN dvrs.password_encrypted IS 'AES-256-GCM encrypted DVR password'",

        // cameras (seed 002 §3 + seed 000 + seed 004)
        """
        CREATE TABLE cameras (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            site_id         UUID NOT NULL,
            dvr_id          UUID,
            channel_number  INTEGER,
            slug            VARCHAR(100) NOT NULL,
            name            VARCHAR(100) NOT NULL,
            location        VARCHAR(200),
            source_kind     TEXT NOT NULL DEFAULT 'http_push',
            folder_path     TEXT,
            rtsp_url        TEXT,
            snapshot_url    TEXT,
            device_id       VARCHAR(100),
            resolution      VARCHAR(20),
            fps             INTEGER NOT NULL DEFAULT 25,
            status          TEXT NOT NULL DEFAULT 'unknown',
            is_active       BOOLEAN NOT NULL DEFAULT TRUE,
            last_seen_at    TIMESTAMPTZ,
            config          JSONB NOT NULL DEFAULT '{}',
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT fk_cameras_site FOREIGN KEY (site_id) REFERENCES sites (id) ON DELETE CASCADE ON UPDATE CASCADE,
            -- A camera on a DVR is at the DVR's site.
            CONSTRAINT fk_cameras_dvr FOREIGN KEY (dvr_id, site_id) REFERENCES dvrs (id, site_id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            CONSTRAINT uq_cameras_slug UNIQUE (slug),
            CONSTRAINT uq_cameras_dvr_channel UNIQUE (dvr_id, channel_number),
            CONSTRAINT uq_cameras_device_id UNIQUE (device_id),
            CONSTRAINT ck_cameras_channel_needs_dvr CHECK (channel_number IS NULL OR dvr_id IS NOT NULL),
            CONSTRAINT ck_cameras_channel_number CHECK (channel_number IS NULL OR channel_number >= 0),
            CONSTRAINT ck_cameras_slug CHECK (slug ~ '^[a-z0-9]+(_[a-z0-9]+)*$'),
            CONSTRAINT ck_cameras_source_kind CHECK (source_kind IN ('ftp_folder', 'http_push', 'rtsp', 'http_snapshot', 'mjpeg')),
            CONSTRAINT ck_cameras_status CHECK (status IN ('online', 'offline', 'degraded', 'unknown', 'maintenance')),
            CONSTRAINT ck_cameras_fps CHECK (fps BETWEEN 1 AND 120),
            CONSTRAINT ck_cameras_config_object CHECK (jsonb_typeof(config) = 'object')
        )
        """,
        "CREATE INDEX idx_cameras_site_id ON cameras (site_id)",
        "CREATE INDEX idx_cameras_dvr_id ON cameras (dvr_id)",
        "CREATE INDEX idx_cameras_status ON cameras (status)",
        "CREATE INDEX idx_cameras_is_active ON cameras (is_active) WHERE is_active = TRUE",
        "CREATE INDEX idx_cameras_config ON cameras USING GIN (config)",
        "CREATE TRIGGER trg_cameras_updated_at BEFORE UPDATE ON cameras FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON COLUMN cameras.slug IS 'Normalized camera name (seed 000): upload folder Front Door -> front_door'",
        "COMMENT ON COLUMN cameras.last_seen_at IS 'When the last frame was received'",

        // camera_zones (seed 001, types extended with seed 002 and watch_area)
        """
        CREATE TABLE camera_zones (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            camera_id       UUID NOT NULL,
            name            VARCHAR(255) NOT NULL,
            zone_type       TEXT NOT NULL DEFAULT 'other',
            coordinates     JSONB NOT NULL,
            shape           TEXT NOT NULL DEFAULT 'rectangle',
            color           VARCHAR(7) NOT NULL DEFAULT '#3B82F6',
            enabled         BOOLEAN NOT NULL DEFAULT TRUE,
            priority        INTEGER NOT NULL DEFAULT 0,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT fk_camera_zones_camera FOREIGN KEY (camera_id) REFERENCES cameras (id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            CONSTRAINT ck_camera_zones_zone_type CHECK (zone_type IN ('entry_point', 'driveway', 'sidewalk', 'yard',
                'restricted', 'interest', 'entry', 'exit', 'other', 'watch_area')),
            CONSTRAINT ck_camera_zones_shape CHECK (shape IN ('rectangle', 'polygon')),
            CONSTRAINT ck_camera_zones_priority CHECK (priority >= 0),
            CONSTRAINT ck_camera_zones_color CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
            CONSTRAINT ck_camera_zones_coordinates CHECK (jsonb_typeof(coordinates) = 'array')
        )
        """,
        "CREATE INDEX idx_camera_zones_camera_id ON camera_zones (camera_id)",
        "CREATE INDEX idx_camera_zones_enabled ON camera_zones (enabled)",
        "CREATE INDEX idx_camera_zones_camera_enabled ON camera_zones (camera_id, enabled)",
        "CREATE INDEX idx_camera_zones_zone_type ON camera_zones (zone_type)",
        """
        CREATE TRIGGER trg_camera_zones_updated_at BEFORE UPDATE ON camera_zones
            FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()
        """,
        "COMMENT ON COLUMN camera_zones.coordinates IS 'Normalized polygon [[x, y], ...], each in 0..1'",
    ])
}
