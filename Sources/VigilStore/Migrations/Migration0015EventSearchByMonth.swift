/// Event search in one call: the newest matches month by month (a month is a partition), ranked
/// where they are read.
///
/// Replaces `fn_event_text_matches`, which the application called several times per search (the
/// whole year, then the oldest event, then month by month), each call planning the partitions
/// again, and whose matches the application then read once more to rank them. Here the month walk
/// runs inside the database: a month with few matches is read once through the text index, a
/// month full of them is walked newest first (planned for its own values, so the planner can see
/// how common the words are), and the rank is computed on the rows already read. Like the function
/// it replaces it runs as the owner (row-level security would otherwise defeat the text index) and
/// lets only ids, times and ranks out; the caller reads the events themselves under row-level
/// security.
enum Migration0015EventSearchByMonth {
    static let migration = Migration(version: 15, name: "event_search_by_month", statements: [
        "DROP FUNCTION fn_event_text_matches(tsquery, timestamptz, timestamptz, boolean, integer)",
        """
        CREATE FUNCTION fn_event_text_search(query tsquery, since timestamptz, before timestamptz, max_rows integer)
            RETURNS TABLE (id uuid, started_at timestamptz, rank real)
            LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public SET plan_cache_mode = force_generic_plan AS $$
        DECLARE
            oldest timestamptz;
            newest timestamptz;
            month_start timestamptz;
            low timestamptz;
            high timestamptz;
            ids uuid[];
            times timestamptz[];
            ranks real[];
            remaining integer := max_rows;
            cap integer := max_rows + max_rows / 4;
        BEGIN
            -- Generic plans (kept for the session) for everything but the newest-first walk: the
            -- bounds prune partitions when the plan runs, not when it is made.
            SELECT min(e.started_at), max(e.started_at) INTO oldest, newest FROM events e;
            IF oldest IS NULL THEN RETURN; END IF;
            oldest := greatest(oldest, since);
            newest := least(newest, before - interval '1 microsecond');
            IF newest IS NULL OR oldest > newest THEN RETURN; END IF;
            month_start := date_trunc('month', newest AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            LOOP
                low := greatest(month_start, oldest);
                high := least(month_start + interval '1 month', newest + interval '1 microsecond');
                SELECT array_agg(m.id ORDER BY m.started_at DESC, m.id DESC), array_agg(m.started_at ORDER BY m.started_at DESC, m.id DESC),
                       array_agg(m.rank ORDER BY m.started_at DESC, m.id DESC)
                INTO ids, times, ranks
                FROM (SELECT e.id, e.started_at, ts_rank(e.search_vector, query) AS rank FROM events e
                      WHERE e.search_vector @@ query AND e.started_at >= low AND e.started_at < high LIMIT cap) m;
                IF coalesce(cardinality(ids), 0) < cap THEN
                    RETURN QUERY SELECT * FROM unnest(ids[1:remaining], times[1:remaining], ranks[1:remaining]);
                ELSE
                    -- A month full of matches: its newest are found by walking it newest first.
                    RETURN QUERY EXECUTE
                        'SELECT e.id, e.started_at, ts_rank(e.search_vector, $1) FROM events e '
                        || 'WHERE e.search_vector @@ $1 AND e.started_at >= $2 AND e.started_at < $3 '
                        || 'ORDER BY e.started_at DESC, e.id DESC LIMIT $4'
                        USING query, low, high, remaining;
                END IF;
                remaining := remaining - least(coalesce(cardinality(ids), 0), remaining);
                EXIT WHEN remaining <= 0 OR month_start <= oldest;
                month_start := month_start - interval '1 month';
            END LOOP;
        END
        $$
        """,
        "REVOKE ALL ON FUNCTION fn_event_text_search(tsquery, timestamptz, timestamptz, integer) FROM PUBLIC",
        "GRANT EXECUTE ON FUNCTION fn_event_text_search(tsquery, timestamptz, timestamptz, integer) TO vigil_app",
    ])
}
