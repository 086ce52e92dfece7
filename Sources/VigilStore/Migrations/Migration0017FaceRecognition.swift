/// Recognition on the people schema:
/// - each embedding model gets two HNSW cosine indexes, one over the gallery (a person's faces of
///   source `enrolment`: enrolled photos, confirmed or corrected sightings, promoted clusters) and
///   one over the unknown faces (faces in a cluster), so a nearest-neighbour search of either
///   never wades through the other; `fn_ensure_face_indexes` makes them for any model and width;
/// - a detection and a face record whom they showed and how near the match was;
/// - alert rules can target persons, person statuses and watchlists;
/// - seed 002 §11's training datasets, training jobs and model versions, where a "model" is an
///   embedding model with a calibrated threshold, approved by an admin before it is used.
enum Migration0017FaceRecognition {
    static let migration = Migration(version: 17, name: "face_recognition", statements: [
        "DROP INDEX idx_embeddings_hnsw_sface_2021dec",
        """
        CREATE FUNCTION fn_ensure_face_indexes(p_model_version TEXT, p_dimensions INTEGER) RETURNS VOID LANGUAGE plpgsql AS $$
        BEGIN
            IF p_model_version !~ '^[a-z0-9_]{1,40}$' THEN
                RAISE EXCEPTION 'model version % must be lower-case letters, digits and underscores', p_model_version;
            END IF;
            IF p_dimensions NOT BETWEEN 2 AND 2000 THEN
                RAISE EXCEPTION 'an HNSW index takes 2 to 2000 dimensions, not %', p_dimensions;
            END IF;
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON face_embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops) '
                           'WITH (m = 16, ef_construction = 64) WHERE model_version = %L AND person_id IS NOT NULL AND source = ''enrolment''',
                           'idx_faces_gallery_' || p_model_version, p_dimensions, p_model_version);
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON face_embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops) '
                           'WITH (m = 16, ef_construction = 64) WHERE model_version = %L AND person_id IS NULL AND cluster_id IS NOT NULL',
                           'idx_faces_unknown_' || p_model_version, p_dimensions, p_model_version);
        END
        $$
        """,
        "SELECT fn_ensure_face_indexes('sface_2021dec', 128)",
        "ALTER TABLE face_embeddings ADD COLUMN match_distance REAL",
        "ALTER TABLE face_embeddings ADD COLUMN matched_face_id UUID REFERENCES face_embeddings (id) ON DELETE SET NULL ON UPDATE CASCADE",
        "COMMENT ON COLUMN face_embeddings.match_distance IS 'Cosine distance to the gallery face it was recognized by (recognition faces)'",
        "COMMENT ON COLUMN face_embeddings.source IS 'enrolment: in the person''s gallery; recognition: a sighting matched to the person; unknown: a sighting in a cluster'",
        "ALTER TABLE face_embeddings ADD CONSTRAINT ck_embeddings_unknown_owner CHECK (source <> 'unknown' OR person_id IS NULL)",
        "CREATE INDEX idx_embeddings_matched_face ON face_embeddings (matched_face_id) WHERE matched_face_id IS NOT NULL",
        "CREATE INDEX idx_embeddings_detection ON face_embeddings (detection_id) WHERE detection_id IS NOT NULL",
        "CREATE INDEX idx_embeddings_created ON face_embeddings (created_at)",
        "ALTER TABLE detections ADD COLUMN person_id UUID",
        "CREATE INDEX idx_detections_person ON detections (person_id) WHERE person_id IS NOT NULL",

        "ALTER TABLE alert_rules ADD COLUMN person_ids UUID[] NOT NULL DEFAULT '{}'",
        "ALTER TABLE alert_rules ADD COLUMN person_statuses TEXT[] NOT NULL DEFAULT '{}'",
        "ALTER TABLE alert_rules ADD COLUMN watchlist_ids UUID[] NOT NULL DEFAULT '{}'",

        """
        CREATE TABLE training_datasets (
            id              UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            name            VARCHAR(200) NOT NULL,
            description     TEXT,
            person_ids      JSONB NOT NULL DEFAULT '[]',
            face_ids        UUID[] NOT NULL DEFAULT '{}',
            embedding_model VARCHAR(40) NOT NULL,
            sample_count    INTEGER NOT NULL DEFAULT 0,
            version         VARCHAR(20) NOT NULL,
            status          VARCHAR(10) NOT NULL DEFAULT 'building',
            created_by      UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT ck_datasets_status CHECK (status IN ('building', 'ready', 'training', 'archived')),
            CONSTRAINT ck_datasets_person_ids CHECK (jsonb_typeof(person_ids) = 'array')
        )
        """,
        "CREATE INDEX idx_datasets_status ON training_datasets (status)",
        "CREATE INDEX idx_datasets_created_by ON training_datasets (created_by)",
        "COMMENT ON COLUMN training_datasets.face_ids IS 'The confirmed gallery faces it was built from, frozen when built'",
        """
        CREATE TABLE training_jobs (
            id                  UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            dataset_id          UUID NOT NULL REFERENCES training_datasets (id) ON DELETE RESTRICT ON UPDATE CASCADE,
            model_version_from  VARCHAR(40),
            model_version_to    VARCHAR(40) NOT NULL,
            status              VARCHAR(10) NOT NULL DEFAULT 'queued',
            queue_job_id        UUID,
            started_at          TIMESTAMPTZ,
            completed_at        TIMESTAMPTZ,
            metrics             JSONB NOT NULL DEFAULT '{}',
            error               TEXT,
            approved_by         UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            approved_at         TIMESTAMPTZ,
            created_by          UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT ck_training_jobs_status CHECK (status IN ('queued', 'running', 'completed', 'failed', 'rollback'))
        )
        """,
        "CREATE INDEX idx_training_jobs_status ON training_jobs (status)",
        "CREATE INDEX idx_training_jobs_dataset_id ON training_jobs (dataset_id)",
        """
        CREATE TABLE model_versions (
            id                      UUID PRIMARY KEY DEFAULT fn_uuid_v7(),
            version_string          VARCHAR(40) NOT NULL,
            training_job_id         UUID REFERENCES training_jobs (id) ON DELETE SET NULL ON UPDATE CASCADE,
            embedding_model         VARCHAR(40) NOT NULL,
            threshold               REAL NOT NULL,
            metrics                 JSONB NOT NULL DEFAULT '{}',
            is_production           BOOLEAN NOT NULL DEFAULT FALSE,
            is_rollback_available   BOOLEAN NOT NULL DEFAULT TRUE,
            approved_by             UUID REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
            approved_at             TIMESTAMPTZ,
            replaced_version_id     UUID REFERENCES model_versions (id) ON DELETE SET NULL ON UPDATE CASCADE,
            deployed_at             TIMESTAMPTZ,
            created_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT uq_model_versions_string UNIQUE (version_string),
            CONSTRAINT ck_model_versions_threshold CHECK (threshold > 0 AND threshold < 2),
            CONSTRAINT ck_model_versions_production_approved CHECK (NOT is_production OR approved_at IS NOT NULL)
        )
        """,
        "CREATE INDEX idx_model_versions_production ON model_versions (is_production) WHERE is_production = TRUE",
        "CREATE INDEX idx_model_versions_rollback ON model_versions (is_rollback_available) WHERE is_rollback_available = TRUE",
        "CREATE UNIQUE INDEX idx_model_versions_one_production ON model_versions (is_production) WHERE is_production = TRUE",
        "COMMENT ON COLUMN model_versions.threshold IS 'Cosine distance at or below which a face matches the gallery, calibrated by the training job'",
        "COMMENT ON COLUMN model_versions.replaced_version_id IS 'The production version it replaced; rollback restores it'",
    ])
}
