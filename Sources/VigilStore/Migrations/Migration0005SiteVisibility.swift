/// One definition of "this user may see this site", used by the repositories' queries and by the
/// row-level-security policies alike, so the two enforcements cannot drift apart.
enum Migration0005SiteVisibility {
    static let migration = Migration(version: 5, name: "site_visibility", statements: [
        """
        CREATE FUNCTION fn_user_sees_site(site UUID, viewer UUID) RETURNS boolean AS $$
            SELECT viewer IS NULL
                OR EXISTS (SELECT 1 FROM user_site_assignments usa WHERE usa.site_id = site AND usa.user_id = viewer)
        $$ LANGUAGE sql STABLE
        """,
        "COMMENT ON FUNCTION fn_user_sees_site(UUID, UUID) IS 'Whether the viewer (NULL: every site) may see rows of this site'",
        """
        CREATE OR REPLACE FUNCTION fn_site_visible(site UUID) RETURNS boolean AS $$
            SELECT current_setting('app.all_sites', TRUE) = 'on'
                OR (NULLIF(current_setting('app.current_user_id', TRUE), '') IS NOT NULL
                    AND fn_user_sees_site(site, NULLIF(current_setting('app.current_user_id', TRUE), '')::uuid))
        $$ LANGUAGE sql STABLE
        """,
    ])
}
