import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import Testing
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Retention")
struct RetentionTests {
    func photo(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)")))
    }

    /// Sends `names` from a new pushing camera; returns the camera's id.
    func ingest(_ app: TestApp, _ names: [String]) async throws -> UUID {
        let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Retained"}"#)
        let token = try #require(created.string("device_token"))
        for name in names {
            let reply = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: try photo(name)),
                                           headers: [.contentType: "image/jpeg"], as: .deviceToken(token))
            #expect(reply.status == .created)
        }
        return UUID(uuidString: try #require(created.string("id")))!
    }

    /// An event frame file with its media row, kept until `retentionUntil`.
    func eventFrame(_ app: TestApp, camera: UUID, name: String, at time: Date, retentionUntil: Date) async throws -> String {
        let bytes = try photo("eagle.jpg")
        let uri = try app.media.write(bytes, at: "events/retained/\(name).jpg")
        try await app.database.transaction { connection in
            try await connection.query("""
                INSERT INTO media_files (file_type, storage_path, file_size, checksum, camera_id, role, timestamp, retention_until)
                VALUES ('image', \(uri), \(bytes.count), 'x', \(camera), 'event', \(time), \(retentionUntil))
                """, logger: TestApp.logger)
        }
        return uri
    }

    func run(_ app: TestApp, free: @escaping @Sendable () -> Double? = { 0.5 }) -> RetentionRun {
        RetentionRun(database: app.database, media: app.media, logger: TestApp.logger, freeDiskFraction: free)
    }

    @Test("eight days later: staging frames and expired event frames are gone, everything else stays")
    func eightDaysLater() async throws {
        try await TestApp.run { app in
            let start = app.clock.now
            let camera = try await ingest(app, ["dog.jpg", "person.jpg", "horses.jpg"])
            let expiring = try await eventFrame(app, camera: camera, name: "old", at: start, retentionUntil: start.addingTimeInterval(7 * 86_400))
            let kept = try await eventFrame(app, camera: camera, name: "kept", at: start, retentionUntil: start.addingTimeInterval(30 * 86_400))
            let stagingURIs = try await app.database.read { connection in
                var uris: [String] = []
                for try await uri in try await connection.query("SELECT storage_uri FROM captures", logger: TestApp.logger).decode(String.self) {
                    uris.append(uri)
                }
                return uris
            }
            #expect(stagingURIs.count == 3)

            // An hour later nothing is due yet: the frames await analysis, within the 24-hour cap.
            app.clock.advance(by: 3600)
            let early = try await run(app).perform(now: app.clock.now, dryRun: false)
            #expect(early.stagingFramesDiscarded == 0)
            #expect(early.expiredMediaDeleted == 0)

            app.clock.advance(by: 8 * 86_400)
            let preview = try await run(app).perform(now: app.clock.now, dryRun: true)
            #expect(preview.stagingFramesDiscarded == 3)
            #expect(preview.expiredMediaDeleted == 1)
            #expect(stagingURIs.allSatisfy(app.media.exists), "a dry run deletes nothing")

            let report = try await run(app).perform(now: app.clock.now, dryRun: false)
            #expect(report.stagingFramesDiscarded == 3)
            #expect(report.expiredMediaDeleted == 1)
            #expect(report.missingFiles == 0)
            #expect(report.bytesFreed > 300_000)
            #expect(!stagingURIs.contains(where: app.media.exists), "staging: 0")
            #expect(!app.media.exists(expiring))
            #expect(app.media.exists(kept))
            let states = try await app.database.scalar("""
                SELECT string_agg(DISTINCT storage_class || '/' || analysis_status || '/' || (storage_uri IS NULL)::text, ',') FROM captures
                """, as: String.self)
            #expect(states == "discarded/skipped/true", "the rows stay, marked: only files go")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM media_files", as: Int.self) == 1)
            let audit = try await app.call(.get, "/api/v1/audit-logs?action=retention_run")
            #expect(audit.items.count == 2)
            #expect(audit.text.contains("\"staging_frames_discarded\":3"))

            // Partitions exist ahead of the new date.
            let ahead = MonthlyPartition(table: "captures", containing: app.clock.now).next.next.name
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM pg_class WHERE relname = \(ahead)", as: Int.self) == 1)
        }
    }

    @Test("partitions past a table's retention are dropped; younger ones and other tables' stay")
    func partitions() async throws {
        try await TestApp.run { app in
            let old = app.clock.now.addingTimeInterval(-120 * 86_400)
            try await app.database.transaction { connection in
                for table in ["captures", "audit_logs"] {
                    try await PartitionManager(logger: TestApp.logger).ensurePartitions(of: table, around: old, monthsAhead: 0, on: connection)
                }
            }
            let report = try await run(app).perform(now: app.clock.now, dryRun: false)
            let oldName = MonthlyPartition(table: "captures", containing: old).name
            #expect(report.partitionsDropped == [oldName])
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM pg_class WHERE relname = \(oldName)", as: Int.self) == 0)
            let oldAudit = MonthlyPartition(table: "audit_logs", containing: old).name
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM pg_class WHERE relname = \(oldAudit)", as: Int.self) == 1,
                    "audit logs are kept 36 months")
        }
    }

    @Test("tracks past the detections' retention go once no detection names them; a named or recent one stays")
    func tracks() async throws {
        try await TestApp.run { app in
            let camera = try await ingest(app, [])
            let now = app.clock.now
            let old = now.addingTimeInterval(-400 * 86_400), recent = now.addingTimeInterval(-86_400)
            try await app.database.transaction { connection in
                for (id, seen) in [(1, old), (2, old), (3, recent)] {
                    try await connection.query("""
                        INSERT INTO object_tracks (id, camera_id, object_type, first_seen_at, last_seen_at, box, anchor_box, anchor_since,
                                                   best_confidence)
                        VALUES (\(Int64(id)), \(camera), 'car', \(seen), \(seen), '{0,0,10,10}', '{0,0,10,10}', \(seen), 0.9)
                        """, logger: TestApp.logger)
                }
                // Track 2 still has a detection (its month's partition is not gone yet).
                try await connection.query("""
                    INSERT INTO detections (detected_at, camera_id, file_path, object_type, confidence, track_id)
                    VALUES (\(old), \(camera), 'file:gone.jpg', 'car', 0.9, 2)
                    """, logger: TestApp.logger)
            }
            let dry = try await run(app).perform(now: now, dryRun: true)
            #expect(dry.tracksRemoved == 1)
            #expect(try await run(app).perform(now: now, dryRun: false).tracksRemoved == 1)
            #expect(try await app.database.scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM object_tracks", as: String.self) == "2,3")
        }
    }

    @Test("a rule's match on an event is forgotten with the event; the alert stays")
    func alertGuards() async throws {
        try await TestApp.run { app in
            let camera = try await ingest(app, [])
            let now = app.clock.now
            let rule = try #require(try await app.database.scalar("SELECT id FROM alert_rules LIMIT 1", as: UUID.self))
            try await app.database.transaction { connection in
                for (index, days) in [400.0, 2].enumerated() {
                    let alert = UUID(), time = now.addingTimeInterval(-days * 86_400)
                    try await connection.query("""
                        INSERT INTO alerts (id, event_id, rule_id, camera_id, alert_type, severity, message, dedup_key, last_seen_at, created_at)
                        VALUES (\(alert), \(UUID()), \(rule), \(camera), 'human_detected', 'high', 'Person', \("key-\(index)"), \(time), \(time))
                        """, logger: TestApp.logger)
                    try await connection.query("""
                        INSERT INTO alert_rule_matches (event_id, rule_id, alert_id, matched_at)
                        SELECT event_id, rule_id, id, created_at FROM alerts WHERE id = \(alert)
                        """, logger: TestApp.logger)
                }
            }
            #expect(try await run(app).perform(now: now, dryRun: true).alertGuardsRemoved == 1)
            #expect(try await run(app).perform(now: now, dryRun: false).alertGuardsRemoved == 1)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM alert_rule_matches", as: Int.self) == 1)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM alerts", as: Int.self) == 2)
        }
    }

    @Test("faces cameras saw go with their detections, with their files and emptied clusters; gallery faces stay")
    func sightingFaces() async throws {
        try await TestApp.run { app in
            let camera = try await ingest(app, [])
            let now = app.clock.now
            let person = UUID(), cluster = UUID()
            var written: [String: String] = [:]
            for name in ["old-stranger", "new-stranger", "old-gallery"] {
                written[name] = try app.media.write(Array("face".utf8), at: "faces/test/\(name).jpg")
            }
            let files = written
            try await app.database.transaction { connection in
                try await connection.query("INSERT INTO persons (id, name, status) VALUES (\(person), 'Ana', 'known')", logger: TestApp.logger)
                let old = now.addingTimeInterval(-400 * 86_400)
                try await connection.query("""
                    INSERT INTO person_clusters (id, cluster_label, model_version, sample_count, first_seen, last_seen)
                    VALUES (\(cluster), 'Unknown-001', 'sface_2021dec', 1, \(old), \(old))
                    """, logger: TestApp.logger)
                let vector = "[" + (0..<128).map { $0 == 0 ? "1" : "0" }.joined(separator: ",") + "]"
                for (name, source, time, owner, group) in [("old-stranger", "unknown", old, nil as UUID?, cluster as UUID?),
                                                           ("new-stranger", "unknown", now, nil, nil),
                                                           ("old-gallery", "enrolment", old, person, nil)] {
                    try await connection.query("""
                        INSERT INTO face_embeddings (person_id, cluster_id, camera_id, embedding, source_image_path, model_version, source, created_at)
                        VALUES (\(owner), \(group), \(camera), \(vector)::vector, \(files[name]!), 'sface_2021dec', \(source), \(time))
                        """, logger: TestApp.logger)
                }
            }
            #expect(try await run(app).perform(now: now, dryRun: true).sightingFacesRemoved == 1)
            #expect(app.media.exists(files["old-stranger"]!), "a dry run deletes nothing")
            let report = try await run(app).perform(now: now, dryRun: false)
            #expect(report.sightingFacesRemoved == 1 && report.orphanFilesRemoved == 0)
            #expect(!app.media.exists(files["old-stranger"]!) && app.media.exists(files["new-stranger"]!) && app.media.exists(files["old-gallery"]!))
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM face_embeddings", as: Int.self) == 2)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM person_clusters", as: Int.self) == 0, "the emptied cluster goes")
        }
    }

    @Test("when the disk runs short, the oldest media go first, only until there is room")
    func diskPressure() async throws {
        try await TestApp.run { app in
            let start = app.clock.now
            let camera = try await ingest(app, [])
            var uris: [String] = []
            for day in 0..<6 {
                uris.append(try await eventFrame(app, camera: camera, name: "day\(day)", at: start.addingTimeInterval(Double(day) * 86_400),
                                                 retentionUntil: start.addingTimeInterval(365 * 86_400)))
            }
            // Short of space until the oldest files have been deleted.
            let checks = Mutex(0)
            let free: @Sendable () -> Double? = {
                checks.withLock { count in
                    count += 1
                    return count == 1 ? 0.01 : 0.5
                }
            }
            let report = try await run(app, free: free).perform(now: start.addingTimeInterval(7 * 86_400), dryRun: false)
            #expect(report.diskPressureMediaDeleted == 6, "one batch of the oldest (all six fit in it)")
            #expect(!uris.contains(where: app.media.exists))
            let again = try await run(app, free: { 0.5 }).perform(now: start.addingTimeInterval(7 * 86_400), dryRun: false)
            #expect(again.diskPressureMediaDeleted == 0, "with room, nothing is deleted for space")
        }
    }
}
