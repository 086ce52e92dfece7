/// Row-level security (seed 002 §18): a request sees only the sites its principal may see.
///
/// Requests run as the `vigil_app` role, which bypasses nothing, with per-transaction settings:
/// `app.current_user_id` (the user, or the creator of an API key), `app.user_role` (the role's
/// name) and `app.all_sites` (`on` for super administrators and keys made on the command line).
/// Background work and the command line keep the owner's connection and see everything.
enum Migration0003SiteIsolation {
    static let migration = Migration(version: 3, name: "site_isolation", statements: [
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
                CREATE ROLE vigil_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END
        $$
        """,
        "GRANT vigil_app TO CURRENT_USER",
        "GRANT USAGE ON SCHEMA public TO vigil_app",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_app",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vigil_app",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO vigil_app",

        """
        CREATE FUNCTION fn_site_visible(site UUID) RETURNS boolean AS $$
            SELECT current_setting('app.all_sites', TRUE) = 'on'
                OR EXISTS (
                    SELECT 1 FROM user_site_assignments usa
                    WHERE usa.site_id = site
                      AND usa.user_id = NULLIF(current_setting('app.current_user_id', TRUE), '')::uuid
                )
        $$ LANGUAGE sql STABLE
        """,
        "COMMENT ON FUNCTION fn_site_visible(UUID) IS 'Whether the current request may see rows of this site'",

        "ALTER TABLE sites ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY sites_site_isolation ON sites FOR ALL TO PUBLIC USING (fn_site_visible(id))",
        "ALTER TABLE dvrs ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY dvrs_site_isolation ON dvrs FOR ALL TO PUBLIC USING (fn_site_visible(site_id))",
        "ALTER TABLE cameras ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY cameras_site_isolation ON cameras FOR ALL TO PUBLIC USING (fn_site_visible(site_id))",
        "ALTER TABLE camera_zones ENABLE ROW LEVEL SECURITY",
        // Zones follow their camera, which is itself filtered by its policy.
        """
        CREATE POLICY camera_zones_site_isolation ON camera_zones FOR ALL TO PUBLIC
            USING (EXISTS (SELECT 1 FROM cameras c WHERE c.id = camera_zones.camera_id))
        """,

        // Seed 002: users read their own audit rows; administrators read all. Anyone may append.
        "ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY",
        """
        CREATE POLICY audit_logs_user_access ON audit_logs FOR SELECT TO PUBLIC
            USING (user_id = NULLIF(current_setting('app.current_user_id', TRUE), '')::uuid
                   OR current_setting('app.user_role', TRUE) IN ('super_admin', 'admin'))
        """,
        "CREATE POLICY audit_logs_append ON audit_logs FOR INSERT TO PUBLIC WITH CHECK (TRUE)",
    ])
}
