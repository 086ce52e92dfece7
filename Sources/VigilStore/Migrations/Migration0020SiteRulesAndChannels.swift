/// Alert rules and notification channels belong to a site, or to every site (`site_id` NULL).
///
/// Those who see a site read its rules and channels and the installation-wide ones; only those who
/// see every site write the installation-wide ones. Enforced by row-level security on `vigil_app`,
/// as the camera tables are: a request of an administrator of site A can neither read site B's
/// rules nor make a rule that would judge site B's events.
enum Migration0020SiteRulesAndChannels {
    static let migration = Migration(version: 20, name: "site_rules_and_channels", statements: [
        """
        CREATE FUNCTION fn_site_writable(site UUID) RETURNS boolean AS $$
            SELECT CASE WHEN site IS NULL THEN current_setting('app.all_sites', TRUE) = 'on' ELSE fn_site_visible(site) END
        $$ LANGUAGE sql STABLE
        """,
        "COMMENT ON FUNCTION fn_site_writable(UUID) IS 'Whether the current request may write rows of this site (NULL: every site, for those who see all)'",
        "ALTER TABLE alert_rules ADD COLUMN site_id UUID REFERENCES sites (id) ON DELETE CASCADE",
        "CREATE INDEX idx_alert_rules_site ON alert_rules (site_id)",
        "ALTER TABLE notification_channels ADD COLUMN site_id UUID REFERENCES sites (id) ON DELETE CASCADE",
        "CREATE INDEX idx_channels_site ON notification_channels (site_id)",
        "ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY alert_rules_read ON alert_rules FOR SELECT TO PUBLIC USING (site_id IS NULL OR fn_site_visible(site_id))",
        "CREATE POLICY alert_rules_insert ON alert_rules FOR INSERT TO PUBLIC WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY alert_rules_update ON alert_rules FOR UPDATE TO PUBLIC USING (fn_site_writable(site_id)) WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY alert_rules_delete ON alert_rules FOR DELETE TO PUBLIC USING (fn_site_writable(site_id))",
        "ALTER TABLE notification_channels ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY channels_read ON notification_channels FOR SELECT TO PUBLIC USING (site_id IS NULL OR fn_site_visible(site_id))",
        "CREATE POLICY channels_insert ON notification_channels FOR INSERT TO PUBLIC WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY channels_update ON notification_channels FOR UPDATE TO PUBLIC USING (fn_site_writable(site_id)) WITH CHECK (fn_site_writable(site_id))",
        "CREATE POLICY channels_delete ON notification_channels FOR DELETE TO PUBLIC USING (fn_site_writable(site_id))",
    ])
}
