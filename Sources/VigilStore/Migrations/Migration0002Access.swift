/// Roles and their permission matrix, users, site assignments, API keys, sessions, login
/// throttling and the audit log (seeds 000, 001, 002).
enum Migration0002Access {
    /// Seed 002's matrices, verbatim, plus `api_client` for machines (cameras pushing frames, integrations).
    static let roleSeeds: [(name: String, description: String, permissions: String)] = [
        ("super_admin", "Full platform access", #"{"cameras":{"read":true,"write":true,"delete":true},"events":{"read":true,"acknowledge":true,"delete":true},"persons":{"read":true,"write":true,"delete":true,"merge":true},"alerts":{"read":true,"configure":true},"sites":{"read":true,"write":true,"delete":true},"system":{"read":true,"configure":true},"training":{"read":true,"trigger":true,"approve":true},"users":{"read":true,"write":true,"delete":true},"audit":{"read":true},"media":{"read":true,"delete":true}}"#),
        ("admin", "Administrative access", #"{"cameras":{"read":true,"write":true,"delete":false},"events":{"read":true,"acknowledge":true,"delete":false},"persons":{"read":true,"write":true,"delete":false,"merge":true},"alerts":{"read":true,"configure":true},"sites":{"read":true,"write":true,"delete":false},"system":{"read":true,"configure":false},"training":{"read":true,"trigger":true,"approve":false},"users":{"read":true,"write":true,"delete":false},"audit":{"read":true},"media":{"read":true,"delete":false}}"#),
        ("operator", "Day-to-day operations", #"{"cameras":{"read":true,"write":false,"delete":false},"events":{"read":true,"acknowledge":true,"delete":false},"persons":{"read":true,"write":true,"delete":false,"merge":false},"alerts":{"read":true,"configure":false},"sites":{"read":true,"write":false,"delete":false},"system":{"read":false,"configure":false},"training":{"read":true,"trigger":false,"approve":false},"users":{"read":false,"write":false,"delete":false},"audit":{"read":false},"media":{"read":true,"delete":false}}"#),
        ("viewer", "Read-only access", #"{"cameras":{"read":true,"write":false,"delete":false},"events":{"read":true,"acknowledge":false,"delete":false},"persons":{"read":true,"write":false,"delete":false,"merge":false},"alerts":{"read":true,"configure":false},"sites":{"read":true,"write":false,"delete":false},"system":{"read":false,"configure":false},"training":{"read":false,"trigger":false,"approve":false},"users":{"read":false,"write":false,"delete":false},"audit":{"read":false},"media":{"read":true,"delete":false}}"#),
        ("api_client", "Machine access: cameras pushing frames, detectors and integrations", #"{"cameras":{"read":true,"write":false,"delete":false},"events":{"read":true,"acknowledge":false,"delete":false},"persons":{"read":false,"write":false,"delete":false,"merge":false},"alerts":{"read":true,"configure":false},"sites":{"read":true,"write":false,"delete":false},"system":{"read":false,"configure":false},"training":{"read":false,"trigger":false,"approve":false},"users":{"read":false,"write":false,"delete":false},"audit":{"read":false},"media":{"read":true,"delete":false},"ingest":{"write":true}}"#),
    ]

    static let migration = Migration(version: 2, name: "access", statements: [
        // roles (seed 002 §2)
        """
        CREATE TABLE roles (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name            VARCHAR(50) NOT NULL,
            description     TEXT,
            permissions     JSONB NOT NULL DEFAULT '{}',
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_roles_name UNIQUE (name),
            CONSTRAINT ck_roles_permissions_object CHECK (jsonb_typeof(permissions) = 'object')
        )
        """,
        "COMMENT ON COLUMN roles.permissions IS 'JSONB permissions matrix: resource -> {action: boolean}'",

        // permissions_matrix, kept equal to roles.permissions by a trigger
        """
        CREATE TABLE permissions_matrix (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            role_id         UUID NOT NULL,
            resource        VARCHAR(50) NOT NULL,
            action          VARCHAR(50) NOT NULL,
            granted         BOOLEAN NOT NULL DEFAULT FALSE,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_permissions_role_resource_action UNIQUE (role_id, resource, action),
            CONSTRAINT fk_permissions_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE ON UPDATE CASCADE
        )
        """,
        "CREATE INDEX idx_permissions_matrix_resource ON permissions_matrix (resource)",
        """
        CREATE FUNCTION fn_sync_permissions_matrix() RETURNS trigger AS $$
        BEGIN
            DELETE FROM permissions_matrix WHERE role_id = NEW.id;
            INSERT INTO permissions_matrix (role_id, resource, action, granted)
            SELECT NEW.id, resource.key, action.key, action.value = 'true'::jsonb
            FROM jsonb_each(NEW.permissions) AS resource,
                 LATERAL jsonb_each(CASE WHEN jsonb_typeof(resource.value) = 'object' THEN resource.value ELSE '{}'::jsonb END) AS action;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER trg_roles_sync_permissions AFTER INSERT OR UPDATE OF permissions ON roles
            FOR EACH ROW EXECUTE FUNCTION fn_sync_permissions_matrix()
        """,
    ] + roleSeeds.map { role in
        "INSERT INTO roles (name, description, permissions) VALUES ('\(role.name)', '\(role.description)', '\(role.permissions)'::jsonb)"
    } + [
        // users (seed 002 §2) plus throttling state
        """
        CREATE TABLE users (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            username        VARCHAR(50) NOT NULL,
            email           VARCHAR(255) NOT NULL,
            password_hash   TEXT NOT NULL,
            role_id         UUID NOT NULL,
            mfa_enabled     BOOLEAN NOT NULL DEFAULT FALSE,
            mfa_secret      TEXT,
            is_active       BOOLEAN NOT NULL DEFAULT TRUE,
            last_login      TIMESTAMPTZ,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_users_username UNIQUE (username),
            CONSTRAINT uq_users_email UNIQUE (email),
            CONSTRAINT fk_users_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE RESTRICT ON UPDATE CASCADE,
            CONSTRAINT ck_users_mfa_secret CHECK (NOT mfa_enabled OR mfa_secret IS NOT NULL)
        )
        """,
        "CREATE UNIQUE INDEX uq_users_username_lower ON users (lower(username))",
        "CREATE UNIQUE INDEX uq_users_email_lower ON users (lower(email))",
        "CREATE INDEX idx_users_role_id ON users (role_id)",
        "CREATE INDEX idx_users_is_active ON users (is_active) WHERE is_active = TRUE",
        "CREATE INDEX idx_users_last_login ON users (last_login)",
        "CREATE TRIGGER trg_users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON COLUMN users.password_hash IS 'bcrypt hash, cost 12 or more'",
        "COMMENT ON COLUMN users.mfa_secret IS 'TOTP secret sealed with AES-256-GCM (base64)'",

        // user_site_assignments (seed 002 §18)
        """
        CREATE TABLE user_site_assignments (
            id          UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            user_id     UUID NOT NULL,
            site_id     UUID NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_user_site UNIQUE (user_id, site_id),
            CONSTRAINT fk_usa_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
            CONSTRAINT fk_usa_site FOREIGN KEY (site_id) REFERENCES sites (id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX idx_usa_site ON user_site_assignments (site_id)",

        // api_keys (seed 000: only the SHA-256 of the key is stored)
        """
        CREATE TABLE api_keys (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            key_hash        CHAR(64) NOT NULL,
            key_prefix      VARCHAR(12) NOT NULL,
            name            VARCHAR(100) NOT NULL,
            role_id         UUID NOT NULL,
            created_by      UUID,
            is_active       BOOLEAN NOT NULL DEFAULT TRUE,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            last_used_at    TIMESTAMPTZ,
            expires_at      TIMESTAMPTZ,
            revoked_at      TIMESTAMPTZ,
            CONSTRAINT uq_api_keys_key_hash UNIQUE (key_hash),
            CONSTRAINT fk_api_keys_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE RESTRICT,
            CONSTRAINT fk_api_keys_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
            CONSTRAINT ck_api_keys_key_hash CHECK (key_hash ~ '^[0-9a-f]{64}$')
        )
        """,
        "COMMENT ON COLUMN api_keys.key_hash IS 'SHA-256 of the key, hex; the key itself is shown once and never stored'",

        // sessions: the store behind the session middleware; ids are stored as SHA-256
        """
        CREATE TABLE sessions (
            id_hash         CHAR(64) PRIMARY KEY,
            data            JSONB NOT NULL,
            user_id         UUID GENERATED ALWAYS AS ((data ->> 'user_id')::uuid) STORED,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            expires_at      TIMESTAMPTZ,
            CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX idx_sessions_user_id ON sessions (user_id)",
        "CREATE INDEX idx_sessions_expires_at ON sessions (expires_at)",

        // Failed-login counters per account and per client address, shared by every node.
        """
        CREATE TABLE login_throttles (
            key             VARCHAR(300) PRIMARY KEY,
            failures        INTEGER NOT NULL DEFAULT 0,
            blocked_until   TIMESTAMPTZ,
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW()
        )
        """,

        // audit_logs (seed 002 §12 + seed 000/001 actor and status), monthly partitions
        """
        CREATE TABLE audit_logs (
            id              UUID NOT NULL,
            timestamp       TIMESTAMPTZ NOT NULL,
            user_id         UUID,
            api_key_id      UUID,
            actor           VARCHAR(100) NOT NULL,
            action          VARCHAR(100) NOT NULL,
            resource_type   VARCHAR(50) NOT NULL,
            resource_id     VARCHAR(255),
            details         JSONB NOT NULL DEFAULT '{}',
            ip_address      INET,
            user_agent      TEXT,
            status          VARCHAR(20) NOT NULL DEFAULT 'success',
            PRIMARY KEY (id, timestamp),
            CONSTRAINT fk_audit_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            CONSTRAINT ck_audit_logs_status CHECK (status IN ('success', 'failure'))
        ) PARTITION BY RANGE (timestamp)
        """,
        "CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT",
        "CREATE INDEX idx_audit_logs_user_id ON audit_logs (user_id) WHERE user_id IS NOT NULL",
        "CREATE INDEX idx_audit_logs_timestamp ON audit_logs (timestamp DESC)",
        "CREATE INDEX idx_audit_logs_action ON audit_logs (action)",
        "CREATE INDEX idx_audit_logs_resource ON audit_logs (resource_type, resource_id)",
        "CREATE INDEX idx_audit_logs_actor ON audit_logs (actor)",
        "CREATE INDEX idx_audit_logs_status ON audit_logs (status)",
        "CREATE INDEX idx_audit_logs_ip ON audit_logs (ip_address)",
        "COMMENT ON TABLE audit_logs IS 'Audit trail, partitioned monthly; written in the same transaction as the change it records'",
    ])
}
