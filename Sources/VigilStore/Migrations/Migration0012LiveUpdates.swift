/// Camera status changes reach live clients: whatever changes a camera's status (frames resuming,
/// a silent camera marked offline, an operator setting maintenance), the change is announced on
/// `vigil_live` when its transaction commits.
enum Migration0012LiveUpdates {
    static let migration = Migration(version: 12, name: "live_updates", statements: [
        """
        CREATE FUNCTION fn_announce_camera_status() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('vigil_live', json_build_object('type', 'camera.status', 'id', NEW.id, 'camera_id', NEW.id,
                                                              'site_id', NEW.site_id)::text);
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER trg_cameras_announce_status AFTER UPDATE OF status ON cameras
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION fn_announce_camera_status()
        """,
    ])
}
