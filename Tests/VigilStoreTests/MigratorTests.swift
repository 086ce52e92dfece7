import Foundation
import Logging
import PostgresNIO
import Testing
import VigilStore
import VigilTestSupport

@Suite("Migrations")
struct MigratorTests {
    let logger = Logger(label: "test")

    func withEmptyDatabase(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        try await TestDatabases.shared.withDatabase(empty: true) { location in
            let database = Database(location: location, maximumConnections: 4, logger: logger)
            try await database.withRunningClient { try await body(database) }
        }
    }

    @Test("from an empty database every migration applies, and a second run applies none")
    func fromEmpty() async throws {
        try await withEmptyDatabase { database in
            let migrator = Migrator(logger: logger)
            let before = try await migrator.status(database)
            #expect(before.applied.isEmpty)
            #expect(before.pending.map(\.version) == Migrations.all.map(\.version))

            let applied = try await migrator.migrate(database)
            #expect(applied.map(\.version) == Migrations.all.map(\.version))
            #expect(try await migrator.migrate(database).isEmpty)

            let after = try await migrator.status(database)
            #expect(after.isCurrent)
            #expect(after.applied.map(\.checksum) == Migrations.all.map(\.checksum))
            let tables = try await database.read { connection in
                var names: [String] = []
                let rows = try await connection.query("""
                    SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
                    """, logger: logger)
                for try await name in rows.decode(String.self) { names.append(name) }
                return names
            }
            #expect(tables == ["activity_baselines", "alert_deliveries", "alert_rule_matches", "alert_rules", "alerts", "api_keys", "audit_logs", "audit_logs_default", "baseline_progress", "camera_zones",
                               "cameras", "captures", "captures_default", "class_baselines", "detections", "detections_default",
                               "device_connectivity_logs", "device_connectivity_logs_default", "dvrs", "event_feedback", "event_images",
                               "events", "events_default", "face_embeddings", "job_attempts", "job_logs", "job_transitions", "jobs",
                               "login_throttles", "media_files", "model_versions", "notification_channels", "object_tracks", "permissions_matrix",
                               "person_aliases", "person_clusters", "person_labels", "persons", "review_actions", "roles",
                               "schema_migrations", "sessions", "sites", "suspicious_activity_events", "suspicious_activity_events_default",
                               "training_datasets", "training_jobs", "user_site_assignments", "users", "video_clips", "watchlist_entries", "watchlists"])
        }
    }

    @Test("extensions, the default site and the updated_at trigger are in place")
    func schemaCore() async throws {
        try await withEmptyDatabase { database in
            try await Migrator(logger: logger).migrate(database)
            let (extensions, sites, bumped) = try await database.read { connection in
                var extensions: [String] = []
                for try await name in try await connection.query(
                    "SELECT extname::text FROM pg_extension ORDER BY extname", logger: logger).decode(String.self) {
                    extensions.append(name)
                }
                var sites: [String] = []
                for try await name in try await connection.query("SELECT name FROM sites", logger: logger).decode(String.self) {
                    sites.append(name)
                }
                try await connection.query("UPDATE sites SET updated_at = '2000-01-01', address = 'x'", logger: logger)
                var bumped = false
                for try await value in try await connection.query(
                    "SELECT updated_at > now() - interval '1 minute' FROM sites", logger: logger).decode(Bool.self) {
                    bumped = value
                }
                return (extensions, sites, bumped)
            }
            #expect(extensions.contains("vector"))
            #expect(extensions.contains("pgcrypto"))
            #expect(sites == ["Default site"])
            #expect(bumped, "fn_update_updated_at must overwrite updated_at on every update")
        }
    }

    @Test("two migrators at once apply each migration exactly once")
    func concurrent() async throws {
        try await TestDatabases.shared.withDatabase(empty: true) { location in
            let first = Database(location: location, maximumConnections: 2, logger: logger)
            let second = Database(location: location, maximumConnections: 2, logger: logger)
            let logger = self.logger
            let counts = try await first.withRunningClient {
                try await second.withRunningClient {
                    async let a = Migrator(logger: logger).migrate(first)
                    async let b = Migrator(logger: logger).migrate(second)
                    return try await [a.count, b.count]
                }
            }
            #expect(counts.sorted() == [0, Migrations.all.count])
        }
    }

    @Test("a database migrated by a newer Vigil is refused, naming the migration")
    func unknownApplied() async throws {
        try await withEmptyDatabase { database in
            let newer = Migrations.all + [Migration(version: 999, name: "from_the_future", statements: ["SELECT 1"])]
            try await Migrator(migrations: newer, logger: logger).migrate(database)
            await #expect(throws: MigrationError.unknownApplied(version: 999, name: "from_the_future")) {
                try await Migrator(logger: logger).status(database)
            }
            await #expect(throws: MigrationError.unknownApplied(version: 999, name: "from_the_future")) {
                try await Migrator(logger: logger).migrate(database)
            }
        }
    }

    @Test("a migration edited after it was applied is refused, naming it")
    func changedSinceApplied() async throws {
        try await withEmptyDatabase { database in
            try await Migrator(logger: logger).migrate(database)
            var edited = Migrations.all
            edited[0] = Migration(version: 1, name: edited[0].name, statements: edited[0].statements + ["SELECT 1"])
            await #expect(throws: MigrationError.changedSinceApplied("0001_core")) {
                try await Migrator(migrations: edited, logger: logger).migrate(database)
            }
        }
    }

    @Test("a migration inserted below applied ones is refused")
    func outOfOrder() async throws {
        try await withEmptyDatabase { database in
            // Past Vigil's own migrations, whatever their number.
            let next = Migrations.all.last!.version + 1
            let withGap = Migrations.all + [Migration(version: next + 30, name: "later", statements: ["SELECT 1"])]
            try await Migrator(migrations: withGap, logger: logger).migrate(database)
            let inserted = Migrations.all + [Migration(version: next, name: "inserted", statements: ["SELECT 1"])] + [withGap.last!]
            await #expect(throws: MigrationError.outOfOrder(String(format: "%04d_inserted", next))) {
                try await Migrator(migrations: inserted, logger: logger).status(database)
            }
        }
    }

    @Test("two registered migrations with one version are refused by name")
    func duplicateVersions() async throws {
        try await withEmptyDatabase { database in
            let twice = Migrations.all + [Migration(version: 1, name: "again", statements: ["SELECT 1"])]
            await #expect(throws: MigrationError.duplicateVersion("0001_core", "0001_again")) {
                try await Migrator(migrations: twice, logger: logger).migrate(database)
            }
        }
    }

    @Test("a failing migration leaves nothing behind")
    func atomic() async throws {
        try await withEmptyDatabase { database in
            let broken = Migrations.all + [Migration(version: 900, name: "broken", statements: [
                "CREATE TABLE half_done (id int)", "SELECT * FROM no_such_table",
            ])]
            await #expect(throws: (any Error).self) { try await Migrator(migrations: broken, logger: logger).migrate(database) }
            let status = try await Migrator(logger: logger).status(database)
            #expect(status.applied.isEmpty, "the whole batch rolls back, the good migration too")
        }
    }
}
