/// Audit rows and jobs follow the site of what they are about.
///
/// `fn_resource_site` names the site of a resource from its kind and id, as audit rows name them
/// (`camera`, `event`, `alert_rule`...); a trigger files each new audit row and job under it, so no
/// writer has to remember, and rows written before this are filed the same way here.
///
/// - An administrator reads the audit rows of the sites they see; rows about the installation
///   (users, keys, training) or about something already deleted only if they see every site.
///   Everyone still reads their own rows.
/// - A rule's match on an event follows the alert it raised.
/// - A job is seen by those who see its site (its payload's camera, event or alert); jobs of the
///   installation (training) only by those who see every site. Attempts, logs and transitions
///   follow their job.
enum Migration0022SiteAuditAndJobs {
    static let migration = Migration(version: 22, name: "site_audit_and_jobs", statements: [
        """
        CREATE FUNCTION fn_resource_site(kind TEXT, reference TEXT) RETURNS UUID AS $$
        DECLARE
            rid UUID;
        BEGIN
            IF reference IS NULL OR reference !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
                RETURN NULL;
            END IF;
            rid := reference::uuid;
            RETURN CASE kind
                WHEN 'site' THEN (SELECT s.id FROM sites s WHERE s.id = rid)
                WHEN 'camera' THEN (SELECT c.site_id FROM cameras c WHERE c.id = rid)
                WHEN 'dvr' THEN (SELECT d.site_id FROM dvrs d WHERE d.id = rid)
                WHEN 'zone' THEN (SELECT c.site_id FROM camera_zones z JOIN cameras c ON c.id = z.camera_id WHERE z.id = rid)
                WHEN 'event' THEN (SELECT c.site_id FROM events e JOIN cameras c ON c.id = e.camera_id WHERE e.id = rid LIMIT 1)
                WHEN 'alert' THEN (SELECT c.site_id FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE a.id = rid)
                WHEN 'alert_rule' THEN (SELECT r.site_id FROM alert_rules r WHERE r.id = rid)
                WHEN 'notification_channel' THEN (SELECT n.site_id FROM notification_channels n WHERE n.id = rid)
                WHEN 'person' THEN (SELECT p.site_id FROM persons p WHERE p.id = rid)
                WHEN 'watchlist' THEN (SELECT w.site_id FROM watchlists w WHERE w.id = rid)
                WHEN 'face_cluster' THEN (SELECT pc.site_id FROM person_clusters pc WHERE pc.id = rid)
                WHEN 'job' THEN (SELECT j.site_id FROM jobs j WHERE j.id = rid)
                ELSE NULL
            END;
        END
        $$ LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
        """,
        "COMMENT ON FUNCTION fn_resource_site(TEXT, TEXT) IS 'The site of a resource named as audit rows name them (kind, id); NULL for the installation''s or a deleted one'",

        "ALTER TABLE audit_logs ADD COLUMN site_id UUID",
        "CREATE INDEX idx_audit_logs_site ON audit_logs (site_id, timestamp DESC)",
        "COMMENT ON COLUMN audit_logs.site_id IS 'The site of what the row is about (no key: the history outlives the site); NULL: the installation'",
        """
        CREATE FUNCTION fn_audit_logs_site() RETURNS trigger AS $$
        BEGIN
            IF NEW.site_id IS NULL THEN
                NEW.site_id := fn_resource_site(NEW.resource_type, NEW.resource_id);
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        "CREATE TRIGGER trg_audit_logs_site BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION fn_audit_logs_site()",
        "UPDATE audit_logs SET site_id = fn_resource_site(resource_type, resource_id)",
        "DROP POLICY audit_logs_user_access ON audit_logs",
        """
        CREATE POLICY audit_logs_user_access ON audit_logs FOR SELECT TO PUBLIC
            USING (user_id = NULLIF(current_setting('app.current_user_id', TRUE), '')::uuid
                   OR (current_setting('app.user_role', TRUE) IN ('super_admin', 'admin') AND fn_site_writable(site_id)))
        """,

        "ALTER TABLE jobs ADD COLUMN site_id UUID REFERENCES sites (id) ON DELETE CASCADE",
        "CREATE INDEX idx_jobs_site ON jobs (site_id)",
        "COMMENT ON COLUMN jobs.site_id IS 'The site of what the job works on (its payload''s camera, event or alert); NULL: the installation'",
        """
        CREATE FUNCTION fn_jobs_site() RETURNS trigger AS $$
        BEGIN
            IF NEW.site_id IS NULL THEN
                NEW.site_id := COALESCE(fn_resource_site('camera', NEW.payload ->> 'camera_id'),
                                        fn_resource_site('event', NEW.payload ->> 'event_id'),
                                        fn_resource_site('alert', NEW.payload ->> 'alert_id'));
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        "CREATE TRIGGER trg_jobs_site BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION fn_jobs_site()",
        """
        UPDATE jobs SET site_id = COALESCE(fn_resource_site('camera', payload ->> 'camera_id'), fn_resource_site('event', payload ->> 'event_id'),
                                           fn_resource_site('alert', payload ->> 'alert_id'))
        """,
        // A rule's match on an event is seen with the alert it raised (and so with its camera).
        "ALTER TABLE alert_rule_matches ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY alert_rule_matches_follow_alert ON alert_rule_matches FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM alerts a WHERE a.id = alert_rule_matches.alert_id))
        """,
        "ALTER TABLE jobs ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY jobs_site_isolation ON jobs FOR ALL TO PUBLIC USING (fn_site_writable(site_id))",
    ] + ["job_attempts", "job_logs", "job_transitions"].flatMap { table in
        // Read, changed and deleted with their job. Written by the code that queues or runs the job,
        // in the statement that inserts the job too, which a check against jobs would not yet see.
        let followsJob = "EXISTS (SELECT 1 FROM jobs j WHERE j.id = \(table).job_id)"
        return [
            "ALTER TABLE \(table) ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY \(table)_read ON \(table) FOR SELECT TO PUBLIC USING (\(followsJob))",
            "CREATE POLICY \(table)_insert ON \(table) FOR INSERT TO PUBLIC WITH CHECK (TRUE)",
            "CREATE POLICY \(table)_update ON \(table) FOR UPDATE TO PUBLIC USING (\(followsJob))",
            "CREATE POLICY \(table)_delete ON \(table) FOR DELETE TO PUBLIC USING (\(followsJob))",
        ]
    })
}
