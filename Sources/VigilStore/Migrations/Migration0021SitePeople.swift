/// People, their faces and watchlists belong to a site; training and model versions to the
/// installation.
///
/// - A person enrolled at a site (`persons.site_id`) is seen by those who see that site, and only
///   that site's cameras recognize them; a person of every site (`site_id` NULL) is seen by all and
///   written only by those who see every site. Aliases, labels and faces follow their person.
/// - A cluster of unknown faces belongs to the site of the camera that saw them; strangers are
///   clustered within a site.
/// - Watchlists belong to a site or to every site, as alert rules do; an entry follows both its
///   watchlist and its person.
/// - Training datasets, training jobs and model versions are the installation's: only those who
///   see every site read or write them. The production model's threshold, which every recognition
///   needs, is read through `fn_production_model`, which holds nothing else.
enum Migration0021SitePeople {
    static let migration = Migration(version: 21, name: "site_people", statements: [
        "ALTER TABLE persons ADD COLUMN site_id UUID REFERENCES sites (id) ON DELETE CASCADE",
        "CREATE INDEX idx_persons_site ON persons (site_id)",
        "COMMENT ON COLUMN persons.site_id IS 'The site the person was enrolled at (only its cameras recognize them); NULL: every site'",
        "ALTER TABLE persons ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY persons_read ON persons FOR SELECT TO PUBLIC USING (site_id IS NULL OR fn_site_visible(site_id))",
        "CREATE POLICY persons_insert ON persons FOR INSERT TO PUBLIC WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY persons_update ON persons FOR UPDATE TO PUBLIC USING (fn_site_writable(site_id)) WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY persons_delete ON persons FOR DELETE TO PUBLIC USING (fn_site_writable(site_id))",

        "ALTER TABLE person_aliases ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY person_aliases_follow_person ON person_aliases FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM persons p WHERE p.id = person_aliases.person_id))
        """,
        "ALTER TABLE person_labels ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY person_labels_follow_person ON person_labels FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM persons p WHERE p.id = person_labels.person_id))
        """,

        "ALTER TABLE person_clusters ADD COLUMN site_id UUID REFERENCES sites (id) ON DELETE CASCADE",
        """
        UPDATE person_clusters c SET site_id = (
            SELECT cam.site_id FROM face_embeddings f JOIN cameras cam ON cam.id = f.camera_id
            WHERE f.cluster_id = c.id ORDER BY f.id LIMIT 1)
        """,
        "CREATE INDEX idx_clusters_site ON person_clusters (site_id)",
        "COMMENT ON COLUMN person_clusters.site_id IS 'The site whose cameras saw these faces; strangers are clustered within a site'",
        "ALTER TABLE person_clusters ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY person_clusters_site_isolation ON person_clusters FOR ALL TO PUBLIC USING (fn_site_writable(site_id))",

        "DROP POLICY face_embeddings_site_isolation ON face_embeddings",
        // A face seen by a camera is visible with the camera; an enrolled face with its person.
        """
        CREATE POLICY face_embeddings_site_isolation ON face_embeddings FOR ALL TO PUBLIC
            USING ((camera_id IS NULL OR EXISTS (SELECT 1 FROM cameras c WHERE c.id = face_embeddings.camera_id))
                   AND (person_id IS NULL OR EXISTS (SELECT 1 FROM persons p WHERE p.id = face_embeddings.person_id)))
        """,

        "ALTER TABLE watchlists ADD COLUMN site_id UUID REFERENCES sites (id) ON DELETE CASCADE",
        "CREATE INDEX idx_watchlists_site ON watchlists (site_id)",
        // Names are unique within a site (and among the lists of every site), so one site's list
        // names neither collide with nor reveal another's.
        "ALTER TABLE watchlists DROP CONSTRAINT uq_watchlists_name",
        "ALTER TABLE watchlists ADD CONSTRAINT uq_watchlists_name UNIQUE NULLS NOT DISTINCT (site_id, name)",
        "ALTER TABLE watchlists ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY watchlists_read ON watchlists FOR SELECT TO PUBLIC USING (site_id IS NULL OR fn_site_visible(site_id))",
        "CREATE POLICY watchlists_insert ON watchlists FOR INSERT TO PUBLIC WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY watchlists_update ON watchlists FOR UPDATE TO PUBLIC USING (fn_site_writable(site_id)) WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY watchlists_delete ON watchlists FOR DELETE TO PUBLIC USING (fn_site_writable(site_id))",
        "ALTER TABLE watchlist_entries ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY watchlist_entries_follow_list_and_person ON watchlist_entries FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM watchlists w WHERE w.id = watchlist_entries.watchlist_id)
                   AND EXISTS (SELECT 1 FROM persons p WHERE p.id = watchlist_entries.person_id))
        """,

        "ALTER TABLE training_datasets ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY training_datasets_installation ON training_datasets FOR ALL TO PUBLIC USING (fn_site_writable(NULL))",
        "ALTER TABLE training_jobs ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY training_jobs_installation ON training_jobs FOR ALL TO PUBLIC USING (fn_site_writable(NULL))",
        "ALTER TABLE model_versions ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY model_versions_installation ON model_versions FOR ALL TO PUBLIC USING (fn_site_writable(NULL))",
        """
        CREATE FUNCTION fn_production_model(model TEXT) RETURNS TABLE (id UUID, version_string TEXT, threshold FLOAT8) AS $$
            SELECT v.id, v.version_string::text, v.threshold::float8 FROM model_versions v
            WHERE v.is_production AND v.embedding_model = model
        $$ LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
        """,
        "COMMENT ON FUNCTION fn_production_model(TEXT) IS 'The production version of a recognition model and its threshold, for every recognition whoever asks'",
    ])
}
