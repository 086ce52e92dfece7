/// What belongs to a person or a list is written only by those who may write the person or the list.
///
/// A face is read with its camera and its person (as migration 21 made it), but an enrolled face
/// (`source = 'enrolment'`, the gallery recognition compares with) is written, moved or removed
/// only by someone who may write its person: a person of every site is recognized at every site, so
/// a caller limited to site A must not teach it new faces (confirming a recognition, enrolling a
/// photo) nor take faces from it. Sightings (a camera's faces) stay with their camera.
///
/// Likewise a person's aliases and labels, and a watchlist's entries: read with their person (and
/// list), written only by those who may write the person (the list).
enum Migration0023GalleryWrites {
    static let migration = Migration(version: 23, name: "gallery_writes", statements: [
        "DROP POLICY face_embeddings_site_isolation ON face_embeddings",
        """
        CREATE FUNCTION fn_face_writable(camera UUID, person UUID, source TEXT) RETURNS boolean AS $$
            SELECT (camera IS NULL OR EXISTS (SELECT 1 FROM cameras c WHERE c.id = camera))
                AND (person IS NULL OR EXISTS (SELECT 1 FROM persons p WHERE p.id = person
                                                AND (source <> 'enrolment' OR fn_site_writable(p.site_id))))
        $$ LANGUAGE sql STABLE
        """,
        "COMMENT ON FUNCTION fn_face_writable(UUID, UUID, TEXT) IS 'Whether the current request may write this face: its camera seen, its person seen, and a gallery face only if its person may be written'",
        """
        CREATE POLICY face_embeddings_read ON face_embeddings FOR SELECT TO PUBLIC
            USING ((camera_id IS NULL OR EXISTS (SELECT 1 FROM cameras c WHERE c.id = face_embeddings.camera_id))
                   AND (person_id IS NULL OR EXISTS (SELECT 1 FROM persons p WHERE p.id = face_embeddings.person_id)))
        """,
        "CREATE POLICY face_embeddings_insert ON face_embeddings FOR INSERT TO PUBLIC WITH CHECK (fn_face_writable(camera_id, person_id, source))",
        """
        CREATE POLICY face_embeddings_update ON face_embeddings FOR UPDATE TO PUBLIC
            USING (fn_face_writable(camera_id, person_id, source)) WITH CHECK (fn_face_writable(camera_id, person_id, source))
        """,
        "CREATE POLICY face_embeddings_delete ON face_embeddings FOR DELETE TO PUBLIC USING (fn_face_writable(camera_id, person_id, source))",
        "DROP POLICY person_aliases_follow_person ON person_aliases",
        "DROP POLICY person_labels_follow_person ON person_labels",
        "DROP POLICY watchlist_entries_follow_list_and_person ON watchlist_entries",
    ] + policies("person_aliases", read: "EXISTS (SELECT 1 FROM persons p WHERE p.id = person_aliases.person_id)",
                 write: "EXISTS (SELECT 1 FROM persons p WHERE p.id = person_aliases.person_id AND fn_site_writable(p.site_id))")
      + policies("person_labels", read: "EXISTS (SELECT 1 FROM persons p WHERE p.id = person_labels.person_id)",
                 write: "EXISTS (SELECT 1 FROM persons p WHERE p.id = person_labels.person_id AND fn_site_writable(p.site_id))")
      + policies("watchlist_entries",
                 read: """
                     EXISTS (SELECT 1 FROM watchlists w WHERE w.id = watchlist_entries.watchlist_id)
                     AND EXISTS (SELECT 1 FROM persons p WHERE p.id = watchlist_entries.person_id)
                     """,
                 write: """
                     EXISTS (SELECT 1 FROM watchlists w WHERE w.id = watchlist_entries.watchlist_id AND fn_site_writable(w.site_id))
                     AND EXISTS (SELECT 1 FROM persons p WHERE p.id = watchlist_entries.person_id)
                     """))

    /// A table's rows read where `read` holds and inserted, changed or deleted where `write` does.
    static func policies(_ table: String, read: String, write: String) -> [String] {
        [
            "CREATE POLICY \(table)_read ON \(table) FOR SELECT TO PUBLIC USING (\(read))",
            "CREATE POLICY \(table)_insert ON \(table) FOR INSERT TO PUBLIC WITH CHECK (\(write))",
            "CREATE POLICY \(table)_update ON \(table) FOR UPDATE TO PUBLIC USING (\(write)) WITH CHECK (\(write))",
            "CREATE POLICY \(table)_delete ON \(table) FOR DELETE TO PUBLIC USING (\(write))",
        ]
    }
}
