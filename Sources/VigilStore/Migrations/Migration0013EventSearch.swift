/// Full-text search that row-level security does not slow to a crawl.
///
/// Under row-level security PostgreSQL checks a row's visibility before any condition that is not
/// leak-proof, and the text-match operator is not: a search would test every event's camera
/// before looking at the text index. This function finds matching event ids with the index, as
/// the owner; the caller then reads those events under row-level security as usual, so nothing
/// it may not see reaches it (only ids leave the function).
enum Migration0013EventSearch {
    static let migration = Migration(version: 13, name: "event_search", statements: [
        """
        CREATE FUNCTION fn_event_text_matches(query tsquery, since timestamptz, before timestamptz, newest_first boolean, max_rows integer)
            RETURNS TABLE (id uuid, started_at timestamptz)
            LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
        BEGIN
            -- Planned for each call's values: newest first walks the time index (common words),
            -- otherwise the text index finds every match (rare words).
            RETURN QUERY EXECUTE format(
                'SELECT e.id, e.started_at FROM events e WHERE e.search_vector @@ $1 '
                || 'AND ($2 IS NULL OR e.started_at >= $2) AND ($3 IS NULL OR e.started_at < $3) %s LIMIT $4',
                CASE WHEN newest_first THEN 'ORDER BY e.started_at DESC, e.id DESC' ELSE '' END)
                USING query, since, before, max_rows;
        END
        $$
        """,
        "REVOKE ALL ON FUNCTION fn_event_text_matches(tsquery, timestamptz, timestamptz, boolean, integer) FROM PUBLIC",
        "GRANT EXECUTE ON FUNCTION fn_event_text_matches(tsquery, timestamptz, timestamptz, boolean, integer) TO vigil_app",
    ])
}
