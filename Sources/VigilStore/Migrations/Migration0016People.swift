/// People and faces (seed 002 §4, §5, §8, §12, §14): persons with aliases and labels, face
/// embeddings in pgvector, clusters of unknown faces, watchlists, review actions.
///
/// Embeddings keep the width their model gives (SFace 128, an ArcFace model 512): the column is an
/// unsized `vector`, every embedding names its `model_version`, and vectors are only compared
/// within one. Each model has its own HNSW cosine index, a partial index on the embeddings of that
/// version cast to its width; the default model's is made here, another model's when it is first
/// configured.
enum Migration0016People {
    static let migration = Migration(version: 16, name: "people", statements: [
        """
        CREATE TABLE persons (
            id                          UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name                        VARCHAR(200),
            status                      VARCHAR(12) NOT NULL DEFAULT 'unknown',
            role                        VARCHAR(100),
            department                  VARCHAR(100),
            company                     VARCHAR(200),
            notes                       TEXT,
            primary_face_embedding_id   UUID,
            created_by                  UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at                  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at                  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT ck_persons_status CHECK (status IN ('known', 'unknown', 'blacklisted', 'vip'))
        )
        """,
        "CREATE INDEX idx_persons_name ON persons (name) WHERE name IS NOT NULL",
        "CREATE INDEX idx_persons_name_lower ON persons (lower(name) text_pattern_ops) WHERE name IS NOT NULL",
        "CREATE INDEX idx_persons_status ON persons (status)",
        "CREATE INDEX idx_persons_role ON persons (role) WHERE role IS NOT NULL",
        "CREATE INDEX idx_persons_created_by ON persons (created_by)",
        "CREATE INDEX idx_persons_status_name ON persons (status, name)",
        "CREATE TRIGGER trg_persons_updated_at BEFORE UPDATE ON persons FOR EACH ROW EXECUTE FUNCTION fn_update_updated_at()",
        "COMMENT ON COLUMN persons.status IS 'known/unknown/blacklisted/vip - drives alert behavior'",

        """
        CREATE TABLE person_aliases (
            id          UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            person_id   UUID NOT NULL REFERENCES persons (id) ON DELETE CASCADE ON UPDATE CASCADE,
            alias_name  VARCHAR(200) NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_aliases_person_name UNIQUE (person_id, alias_name)
        )
        """,
        "CREATE INDEX idx_aliases_alias_name ON person_aliases (lower(alias_name) text_pattern_ops)",

        """
        CREATE TABLE person_labels (
            id          UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            person_id   UUID NOT NULL REFERENCES persons (id) ON DELETE CASCADE ON UPDATE CASCADE,
            label       VARCHAR(20) NOT NULL,
            created_by  UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_labels_person_label UNIQUE (person_id, label),
            CONSTRAINT ck_labels_label CHECK (label IN ('employee', 'visitor', 'vendor', 'driver', 'staff', 'contractor',
                                                        'blacklisted', 'vip', 'custom'))
        )
        """,
        "CREATE INDEX idx_labels_label ON person_labels (label)",

        // Clusters come before embeddings: an unknown face belongs to a cluster, and a cluster
        // names its best face (the key is added once both tables exist).
        """
        CREATE TABLE person_clusters (
            id                          UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            cluster_label               VARCHAR(50) NOT NULL,
            representative_embedding_id UUID,
            model_version               VARCHAR(40) NOT NULL,
            sample_count                INTEGER NOT NULL DEFAULT 0,
            first_seen                  TIMESTAMPTZ NOT NULL,
            last_seen                   TIMESTAMPTZ NOT NULL,
            status                      VARCHAR(10) NOT NULL DEFAULT 'active',
            merged_into_cluster_id      UUID REFERENCES person_clusters (id) ON DELETE SET NULL ON UPDATE CASCADE,
            promoted_to_person_id       UUID REFERENCES persons (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at                  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_clusters_label UNIQUE (cluster_label),
            CONSTRAINT ck_clusters_status CHECK (status IN ('active', 'merged', 'reviewed')),
            CONSTRAINT ck_clusters_samples CHECK (sample_count >= 0),
            CONSTRAINT ck_clusters_seen CHECK (last_seen >= first_seen)
        )
        """,
        "CREATE INDEX idx_clusters_status ON person_clusters (status)",
        "CREATE INDEX idx_clusters_merged_into ON person_clusters (merged_into_cluster_id) WHERE merged_into_cluster_id IS NOT NULL",
        "CREATE INDEX idx_clusters_first_seen ON person_clusters (first_seen)",
        "CREATE INDEX idx_clusters_last_seen ON person_clusters (last_seen)",
        "CREATE SEQUENCE person_cluster_numbers",
        "COMMENT ON SEQUENCE person_cluster_numbers IS 'Numbers the Unknown-NNN labels of new clusters'",

        """
        CREATE TABLE face_embeddings (
            id                  UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            person_id           UUID REFERENCES persons (id) ON DELETE CASCADE ON UPDATE CASCADE,
            cluster_id          UUID REFERENCES person_clusters (id) ON DELETE SET NULL ON UPDATE CASCADE,
            camera_id           UUID REFERENCES cameras (id) ON DELETE SET NULL ON UPDATE CASCADE,
            capture_id          UUID,
            detection_id        UUID,
            event_id            UUID,
            embedding           vector NOT NULL,
            source_image_path   TEXT NOT NULL,
            face_quality        DECIMAL(4,3) NOT NULL DEFAULT 0.0,
            confidence          DECIMAL(4,3) NOT NULL DEFAULT 0.0,
            bounding_box        JSONB,
            landmarks           JSONB,
            model_version       VARCHAR(40) NOT NULL,
            source              VARCHAR(12) NOT NULL,
            is_primary          BOOLEAN NOT NULL DEFAULT FALSE,
            created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT chk_embedding_quality CHECK (face_quality BETWEEN 0.0 AND 1.0),
            CONSTRAINT chk_embedding_confidence CHECK (confidence BETWEEN 0.0 AND 1.0),
            CONSTRAINT ck_embeddings_source CHECK (source IN ('enrolment', 'recognition', 'unknown')),
            CONSTRAINT ck_embeddings_owner CHECK (source <> 'enrolment' OR person_id IS NOT NULL)
        )
        """,
        "CREATE INDEX idx_embeddings_person_id ON face_embeddings (person_id) WHERE person_id IS NOT NULL",
        "CREATE INDEX idx_embeddings_cluster_id ON face_embeddings (cluster_id) WHERE cluster_id IS NOT NULL",
        "CREATE INDEX idx_embeddings_primary ON face_embeddings (person_id) WHERE is_primary = TRUE",
        "CREATE INDEX idx_embeddings_model ON face_embeddings (model_version)",
        "CREATE INDEX idx_embeddings_event ON face_embeddings (event_id) WHERE event_id IS NOT NULL",
        """
        CREATE INDEX idx_embeddings_hnsw_sface_2021dec ON face_embeddings
            USING hnsw ((embedding::vector(128)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
            WHERE model_version = 'sface_2021dec'
        """,
        "ALTER TABLE face_embeddings ENABLE ROW LEVEL SECURITY",
        // Enrolled faces belong to no camera; a face seen by a camera is visible with that camera.
        """
        CREATE POLICY face_embeddings_site_isolation ON face_embeddings FOR ALL TO PUBLIC
            USING (camera_id IS NULL OR EXISTS (SELECT 1 FROM cameras c WHERE c.id = face_embeddings.camera_id))
        """,
        """
        ALTER TABLE persons ADD CONSTRAINT fk_persons_primary_embedding FOREIGN KEY (primary_face_embedding_id)
            REFERENCES face_embeddings (id) ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
        """,
        """
        ALTER TABLE person_clusters ADD CONSTRAINT fk_clusters_representative FOREIGN KEY (representative_embedding_id)
            REFERENCES face_embeddings (id) ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
        """,
        "COMMENT ON COLUMN face_embeddings.embedding IS 'Face descriptor of model_version''s width; compared (<=> cosine) only within one model_version'",

        """
        CREATE TABLE watchlists (
            id          UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name        VARCHAR(100) NOT NULL,
            description TEXT,
            watch_type  VARCHAR(10) NOT NULL,
            is_active   BOOLEAN NOT NULL DEFAULT TRUE,
            created_by  UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_watchlists_name UNIQUE (name),
            CONSTRAINT ck_watchlists_type CHECK (watch_type IN ('vip', 'blacklist', 'suspect', 'custom'))
        )
        """,
        "CREATE INDEX idx_watchlists_watch_type ON watchlists (watch_type)",
        "CREATE INDEX idx_watchlists_is_active ON watchlists (is_active) WHERE is_active = TRUE",
        """
        CREATE TABLE watchlist_entries (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            watchlist_id    UUID NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE ON UPDATE CASCADE,
            person_id       UUID NOT NULL REFERENCES persons (id) ON DELETE CASCADE ON UPDATE CASCADE,
            added_by        UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            added_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            notes           TEXT,
            CONSTRAINT uq_watchlist_entry UNIQUE (watchlist_id, person_id)
        )
        """,
        "CREATE INDEX idx_watchlist_entries_person_id ON watchlist_entries (person_id)",

        """
        CREATE TABLE review_actions (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            event_id        UUID NOT NULL,
            camera_id       UUID REFERENCES cameras (id) ON DELETE CASCADE ON UPDATE CASCADE,
            reviewer_id     UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            action          VARCHAR(20) NOT NULL,
            from_person_id  UUID REFERENCES persons (id) ON DELETE SET NULL ON UPDATE CASCADE,
            to_person_id    UUID REFERENCES persons (id) ON DELETE SET NULL ON UPDATE CASCADE,
            face_embedding_id UUID REFERENCES face_embeddings (id) ON DELETE SET NULL ON UPDATE CASCADE,
            notes           TEXT,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT ck_review_actions_action CHECK (action IN ('confirm', 'reject', 'correct_name', 'merge', 'delete'))
        )
        """,
        "CREATE INDEX idx_review_actions_event_id ON review_actions (event_id)",
        "CREATE INDEX idx_review_actions_reviewer ON review_actions (reviewer_id)",
        "CREATE INDEX idx_review_actions_created ON review_actions (created_at DESC)",
        "ALTER TABLE review_actions ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY review_actions_site_isolation ON review_actions FOR ALL TO PUBLIC
            USING (camera_id IS NULL OR EXISTS (SELECT 1 FROM cameras c WHERE c.id = review_actions.camera_id))
        """,

        // Seed 002's views on the merged schema, with the caller's rights.
        """
        CREATE VIEW vw_person_recognition_summary WITH (security_invoker = true) AS
        SELECT
            p.id AS person_id, p.name, p.status, p.role, p.company,
            COUNT(e.id) AS total_detections,
            COUNT(e.id) FILTER (WHERE e.started_at >= NOW() - INTERVAL '7 days') AS detections_last_7d,
            COUNT(e.id) FILTER (WHERE e.started_at >= NOW() - INTERVAL '24 hours') AS detections_last_24h,
            ROUND(AVG(e.confidence)::NUMERIC, 3) AS avg_confidence,
            MIN(e.started_at) AS first_seen, MAX(e.started_at) AS last_seen,
            COUNT(DISTINCT e.camera_id) AS cameras_seen_on,
            (SELECT ARRAY_AGG(l.label ORDER BY l.label) FROM person_labels l WHERE l.person_id = p.id) AS labels,
            EXISTS (SELECT 1 FROM face_embeddings f WHERE f.person_id = p.id AND f.is_primary) AS has_embedding
        FROM persons p
        LEFT JOIN events e ON e.person_id = p.id AND e.event_type = 'person_recognized'
        GROUP BY p.id
        ORDER BY last_seen DESC NULLS LAST
        """,
        """
        CREATE VIEW vw_unknown_clusters_for_review WITH (security_invoker = true) AS
        SELECT
            pc.id AS cluster_id, pc.cluster_label, pc.sample_count, pc.first_seen, pc.last_seen,
            EXTRACT(EPOCH FROM (pc.last_seen - pc.first_seen)) / 3600 AS span_hours, pc.status,
            fe.source_image_path AS representative_face, fe.face_quality AS representative_quality,
            COUNT(e.id) AS total_events,
            ARRAY_AGG(DISTINCT c.name) FILTER (WHERE c.name IS NOT NULL) AS seen_on_cameras,
            ARRAY_AGG(DISTINCT s.name) FILTER (WHERE s.name IS NOT NULL) AS seen_at_sites
        FROM person_clusters pc
        LEFT JOIN face_embeddings fe ON fe.id = pc.representative_embedding_id
        LEFT JOIN events e ON e.cluster_id = pc.id
        LEFT JOIN cameras c ON c.id = e.camera_id
        LEFT JOIN sites s ON s.id = c.site_id
        WHERE pc.status = 'active'
        GROUP BY pc.id, fe.source_image_path, fe.face_quality
        ORDER BY pc.sample_count DESC, pc.last_seen DESC
        """,
    ])
}
