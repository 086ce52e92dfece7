import Foundation
import NIOCore
import Synchronization
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport
import VigilVision

/// Detections becoming events: aggregation with an injected clock, the fast path, restarts,
/// judgement (risk, trace, images) and the events API over what the pipeline made.
@Suite("Events from detections")
struct EventPipelineTests {
    /// The analysis and judgement of one Vigil process; a new one is what a restart gives.
    struct Pipeline {
        let app: TestApp
        let worker: JobWorker
        let analysis: AnalyzeCaptureHandler
        let judge: JudgeEventHandler
        let health: CameraHealthHandler
        let closer: EventCloser

        init(_ app: TestApp, events: EventSettings = EventSettings(), languageModel: LanguageModelScorer? = nil,
             faces: FaceEngine? = nil) {
            self.app = app
            var analysis = AnalyzeCaptureHandler(detector: TestModels.objectDetector, database: app.database, media: app.media,
                                                 now: { app.clock.now }, defaults: DetectionSettings(), motion: MotionMemory(), events: events)
            analysis.faces = faces
            self.analysis = analysis
            var judge = JudgeEventHandler(database: app.database, media: app.media, now: { app.clock.now }, defaults: events)
            judge.languageModel = languageModel
            self.judge = judge
            health = CameraHealthHandler(database: app.database, media: app.media, now: { app.clock.now }, defaults: events)
            worker = JobWorker(settings: .init(workerId: "events-test"), handlers: [analysis, judge, health], database: app.database,
                               now: { app.clock.now }, logger: TestApp.logger)
            closer = EventCloser(database: app.database, defaults: events, logger: TestApp.logger)
        }

        /// Analyses every queued frame.
        func analyse() async throws {
            while try await worker.runNext(analysis) {}
        }

        /// Runs every queued judgement; returns how many ran.
        @discardableResult
        func judgeAll() async throws -> Int {
            var count = 0
            while try await worker.runNext(judge) { count += 1 }
            return count
        }
    }

    /// A camera that analyses every frame and never calls a still object stationary, so scripted
    /// repeats of one photo keep adding detections.
    static let steadyCamera = #"{"motion":{"enabled":false},"detect":{"stationary_seconds":86400,"track_max_age_seconds":60}}"#

    func camera(_ app: TestApp, name: String = "Front Door", config: String = steadyCamera) async throws -> (id: String, token: String) {
        let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"\#(name)","config":\#(config)}"#)
        return (try #require(created.string("id")), try #require(created.string("device_token")))
    }

    /// Pushes a darknet photo, re-encoded at `quality` so that repeats are new frames, not duplicates.
    @discardableResult
    func push(_ app: TestApp, token: String, _ name: String = "dog.jpg", quality: Int = 90) async throws -> String {
        let image = try JPEGDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)"))))
        let reply = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: try JPEGEncoder.encode(image, quality: quality)),
                                       headers: [.contentType: "image/jpeg"], as: .deviceToken(token))
        return try #require(reply.string("capture_id"), "\(reply.status) \(reply.text)")
    }

    /// A frame with nothing in it: a plain gradient, with a pale box (a parcel) where `parcel` says
    /// (x, y of its corner), or all one grey (a covered lens).
    func pushEmpty(_ app: TestApp, token: String, parcel: (x: Int, y: Int)? = nil, uniform: UInt8? = nil, shade: Int = 0) async throws {
        var pixels = [UInt8](repeating: 0, count: 768 * 576 * 3)
        for index in 0..<pixels.count {
            let x = index / 3 % 768, y = index / 3 / 768
            var value = uniform ?? UInt8(truncatingIfNeeded: 60 + shade + x / 8 + (y / 96 % 2) * 30)
            if let parcel, (parcel.x..<parcel.x + 200).contains(x), (parcel.y..<parcel.y + 150).contains(y) { value = 235 }
            pixels[index] = value
        }
        let bytes = try JPEGEncoder.encode(BGRImage(width: 768, height: 576, pixels: pixels))
        let reply = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: bytes), headers: [.contentType: "image/jpeg"],
                                       as: .deviceToken(token))
        #expect(reply.status == .accepted || reply.status == .created, "\(reply.text)")
    }

    func events(_ app: TestApp) async throws -> [String] {
        let text = try await app.database.scalar("""
            SELECT string_agg(cardinality(detection_ids) || ' ' || (closed_at IS NULL)::text || ' ' || is_fast_path::text, ',' ORDER BY started_at)
            FROM events
            """, as: String.self)
        return text.map { $0.split(separator: ",").map(String.init) } ?? []
    }

    @Test("detections join the camera's open event until it has been idle 30 s; then it closes and is judged")
    func idleClosing() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app)
            try await push(app, token: camera.token, quality: 90)
            try await pipeline.analyse()
            #expect(try await events(app) == ["3 true false"], "dog, bicycle and car in one new open event")
            app.clock.advance(by: 10)
            try await push(app, token: camera.token, quality: 85)
            try await pipeline.analyse()
            #expect(try await events(app) == ["6 true false"])

            #expect(try await pipeline.closer.closeDue(now: app.clock.now.addingTimeInterval(29.9)).isEmpty)
            app.clock.advance(by: 30)
            #expect(try await pipeline.closer.closeDue(now: app.clock.now).count == 1)
            #expect(try await events(app) == ["6 false false"])
            #expect(try await pipeline.judgeAll() == 1)

            let list = try await app.call(.get, "/api/v1/events")
            let event = try #require(list.items.first?.objectValue)
            #expect(event["event_type"] == .string("object_detected"))
            #expect(event["object_types"] == .array([.string("bicycle"), .string("car"), .string("dog")]))
            #expect(event["risk_level"] == .string("medium") || event["risk_level"] == .string("low"))
            let summary = try #require(event["summary"]?.stringValue)
            #expect(summary.hasPrefix("Car, bicycle and dog at Front Door"), "\(summary)")
            let trace = event["details"]?.objectValue?["decision_trace"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(trace.first == "detections_grouped:6" && trace.contains("pre_frame_missing") && trace.last == "event_emitted", "\(trace)")
            #expect(trace.contains("object_car +15"))

            // Fifty seconds later, the next detection starts another event.
            app.clock.advance(by: 20)
            try await push(app, token: camera.token, quality: 80)
            try await pipeline.analyse()
            #expect(try await events(app) == ["6 false false", "3 true false"])
        }
    }

    @Test("a busy camera's event closes when its 90 s window ends, and the next frame opens the next one")
    func windowClosing() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app)
            for (index, quality) in [90, 85, 80, 75, 70].enumerated() {
                if index > 0 { app.clock.advance(by: 20) }
                try await push(app, token: camera.token, quality: quality)
                try await pipeline.analyse()
            }
            #expect(try await events(app) == ["15 true false"], "frames at 0, 20, 40, 60 and 80 s")
            app.clock.advance(by: 10)  // 90 s after the first detection
            try await push(app, token: camera.token, quality: 65)
            try await pipeline.analyse()
            #expect(try await events(app) == ["15 false false", "3 true false"])
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM jobs WHERE job_type = 'judge_event'", as: Int.self) == 1,
                    "the closed one waits for its judgement")
        }
    }

    @Test("a confident person at an entry point raises the event at once, judged before it closes; closing judges it again")
    func fastPath() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app)
            try await app.call(.post, "/api/v1/cameras/\(camera.id)/zones", json: """
                {"name":"Porch","zone_type":"entry_point","coordinates":[[0,0],[1,0],[1,1],[0,1]],"shape":"polygon"}
                """)
            try await push(app, token: camera.token, "person.jpg")
            try await pipeline.analyse()
            #expect(try await events(app) == ["3 true true"])
            #expect(try await app.database.scalar(
                "SELECT priority || ' ' || (payload ->> 'stage') FROM jobs WHERE job_type = 'judge_event'", as: String.self) == "0 fast_path")
            #expect(try await pipeline.judgeAll() == 1)
            let raised = try await app.call(.get, "/api/v1/events")
            let event = try #require(raised.items.first?.objectValue)
            #expect(event["closed_at"] == nil && event["is_fast_path"] == .bool(true))
            #expect(event["event_type"] == .string("human_detected"))
            #expect((event["risk_score"]?.numberValue ?? 0) >= 45, "person at an entry point: \(event["risk_score"] ?? .null)")
            let summary = event["summary"]?.stringValue ?? ""
            #expect(summary.contains("at Front Door, Porch entry point"), "\(summary)")

            // More of the same person joins the event without judging it again until it closes.
            app.clock.advance(by: 5)
            try await push(app, token: camera.token, "person.jpg", quality: 80)
            try await pipeline.analyse()
            #expect(try await pipeline.judgeAll() == 0)
            app.clock.advance(by: 30)
            try await pipeline.closer.closeDue(now: app.clock.now)
            #expect(try await pipeline.judgeAll() == 1)
            let detail = try await app.call(.get, "/api/v1/events/\(try #require(event["id"]?.stringValue))")
            #expect(detail["details"]?.objectValue?["stage"] == .string("closed"))
            #expect(detail["detections"]?.arrayValue?.count == 6)
            let roles = Set(detail["images"]?.arrayValue?.compactMap { $0.objectValue?["role"]?.stringValue } ?? [])
            #expect(roles == ["during", "annotated", "thumb"], "no frame came before the person or after the last detection")
        }
    }

    @Test("an open event survives a restart: the next process's frame joins it, or its closer closes it")
    func restart() async throws {
        try await TestApp.run { app in
            let camera = try await camera(app)
            try await push(app, token: camera.token)
            try await Pipeline(app).analyse()
            // Another process (nothing kept in memory) goes on where the first stopped.
            app.clock.advance(by: 20)
            try await push(app, token: camera.token, quality: 85)
            try await Pipeline(app).analyse()
            #expect(try await events(app) == ["6 true false"])
            // Down for a minute: at start-up the event is past its idle time and is closed.
            app.clock.advance(by: 60)
            let restarted = Pipeline(app)
            #expect(try await restarted.closer.closeDue(now: app.clock.now).count == 1)
            #expect(try await restarted.judgeAll() == 1)
            #expect(try await events(app) == ["6 false false"])
        }
    }

    @Test("the judged event's images: the best frame kept out of staging, an annotated copy with its boxes, a thumbnail")
    func images() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app)
            try await push(app, token: camera.token, quality: 95)  // before anything: becomes `pre` of the next event
            try await pipeline.analyse()
            app.clock.advance(by: 31)
            try await pipeline.closer.closeDue(now: app.clock.now)
            try await pipeline.judgeAll()
            app.clock.advance(by: 20)
            try await push(app, token: camera.token, quality: 90)
            try await pipeline.analyse()
            app.clock.advance(by: 10)
            try await pushEmpty(app, token: camera.token)  // `post`: the scene after the last detection
            try await pipeline.analyse()
            app.clock.advance(by: 40)
            try await pipeline.closer.closeDue(now: app.clock.now)
            try await pipeline.judgeAll()

            let list = try await app.call(.get, "/api/v1/events?limit=1")
            let id = try #require(list.items.first?.objectValue?["id"]?.stringValue)
            let detail = try await app.call(.get, "/api/v1/events/\(id)")
            let images = detail["images"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(Set(images.compactMap { $0["role"]?.stringValue }) == ["pre", "during", "post", "annotated", "thumb"],
                    "\(detail["details"]?.objectValue?["decision_trace"] ?? .null)")
            #expect(try await app.database.scalar("""
                SELECT string_agg(DISTINCT storage_class, ',') FROM captures WHERE id IN (SELECT capture_id FROM event_images WHERE capture_id IS NOT NULL)
                """, as: String.self) == "event")

            let during = try await app.call(.get, "/api/v1/events/\(id)/images/during")
            let annotated = try await app.call(.get, "/api/v1/events/\(id)/images/annotated")
            #expect(annotated.status == .ok && annotated.headers[.contentType] == "image/jpeg")
            let plain = try JPEGDecoder.decode(during.bytes), drawn = try JPEGDecoder.decode(annotated.bytes)
            #expect(plain.width == drawn.width && plain.height == drawn.height)
            // The dog's box (x 132-325, y 206-543) is outlined in its colour: the left edge is green now.
            let edge = (300 * drawn.width + 133) * 3
            #expect(drawn.pixels[edge + 1] > 150 && drawn.pixels[edge + 2] < 100, "BGR \(drawn.pixels[edge..<edge + 3])")
            #expect(abs(Int(plain.pixels[edge + 1]) - Int(drawn.pixels[edge + 1])) > 40)
            let thumb = try JPEGDecoder.decode(try await app.call(.get, "/api/v1/events/\(id)/images/thumb").bytes)
            #expect(max(thumb.width, thumb.height) <= 320)
            #expect(try await app.call(.get, "/api/v1/events/\(id)/images/selfie").errorCode == "invalid_parameter")
        }
    }

    @Test("a person in a restricted zone is an intrusion, stored once with its event and announced to listeners")
    func intrusion() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app, name: "Loading Bay")
            try await app.call(.post, "/api/v1/cameras/\(camera.id)/zones", json: """
                {"name":"Dock","zone_type":"restricted","coordinates":[[0,0],[1,0],[1,1],[0,1]],"shape":"polygon"}
                """)
            let heard = Heard()
            let listener = Task {
                try await app.database.listen("vigil_live", onListening: { heard.listening() }) { heard.append($0) }
            }
            defer { listener.cancel() }
            try await eventually("listening") { heard.isListening }
            try await push(app, token: camera.token, "person.jpg")
            try await pipeline.analyse()
            try await pipeline.judgeAll()  // the fast path: a person in a restricted zone
            app.clock.advance(by: 40)
            try await pipeline.closer.closeDue(now: app.clock.now)
            try await pipeline.judgeAll()  // closed: the intrusion is not reported twice
            let stored = try await app.database.scalar("""
                SELECT string_agg(activity_type || ' ' || severity || ' ' || (details ->> 'zone_name'), ',') FROM suspicious_activity_events
                WHERE event_id IS NOT NULL
                """, as: String.self)
            #expect(stored == "intrusion high Dock")
            try await eventually("the news reached the listener") { heard.types.filter { $0 != "camera.status" }.count >= 3 }
            #expect(heard.types.filter { $0 != "camera.status" } == ["event.created", "suspicious_activity.created", "event.updated"],
                    "the camera coming online is news too")
            let event = try #require(try await app.call(.get, "/api/v1/events").items.first?.objectValue)
            #expect(event["details"]?.objectValue?["decision_trace"]?.arrayValue?.contains(.string("suspicious_intrusion +15")) == true)
            #expect(event["risk_score"] == .number(70) && event["risk_level"] == .string("high"),
                    "person +30, restricted area +25, intrusion (high) +15: \(event["risk_score"] ?? .null)")
        }
    }

    @Test("baselines learn each whole hour with frames once: events per hour and day of week, and per class")
    func baselines() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app, name: "Gate")
            let cameraId = UUID(uuidString: camera.id)!
            // The test clock starts on Wednesday 18 November 2026 at 11:06 UTC.
            app.clock.advance(by: 3600)  // 12:06
            try await pushEmpty(app, token: camera.token)
            for objects in [["person"], ["car", "person"]] {
                try await app.database.transaction { connection in
                    try await connection.query("""
                        INSERT INTO events (id, batch_id, camera_id, event_type, started_at, object_types)
                        VALUES (\(UUID()), \(UUID()), \(cameraId), 'human_detected', \(app.clock.now), \(objects))
                        """, logger: TestApp.logger)
                }
            }
            app.clock.advance(by: 3600)  // 13:06: frames, nothing happening
            try await pushEmpty(app, token: camera.token)
            app.clock.advance(by: 3600)  // 14:06: hours 12 and 13 are whole; 11 had no frames
            try await pipeline.closer.learnBaselines(now: app.clock.now)
            try await pipeline.closer.learnBaselines(now: app.clock.now.addingTimeInterval(600))  // nothing new: nothing counted twice
            let activity = try await app.database.scalar("""
                SELECT string_agg(hour || '/' || day_of_week || ' ' || avg_count || ' ' || sample_count, ', ' ORDER BY hour)
                FROM activity_baselines
                """, as: String.self)
            #expect(activity == "12/2 2 1, 13/2 0 1")
            let classes = try await app.database.scalar("""
                SELECT string_agg(detection_class || ' ' || hour || ' ' || frequency || ' ' || sample_count, ', ' ORDER BY detection_class, hour)
                FROM class_baselines
                """, as: String.self)
            #expect(classes == "car 12 1 1, car 13 0 1, person 12 2 1, person 13 0 1")
        }
    }

    @Test("a parcel gone from a watched area after someone came by is stock_changed, with the frames before and after")
    func watchedArea() async throws {
        for taken in [true, false] {
            try await TestApp.run { app in
                let pipeline = Pipeline(app)
                let camera = try await camera(app, name: "Porch")
                try await app.call(.post, "/api/v1/cameras/\(camera.id)/zones", json: """
                    {"name":"Doormat","zone_type":"watch_area","coordinates":[[0.5,0.5],[1,0.5],[1,1],[0.5,1]],"shape":"polygon"}
                    """)
                try await pushEmpty(app, token: camera.token, parcel: (450, 350))
                try await pipeline.analyse()
                app.clock.advance(by: 5)
                try await push(app, token: camera.token, "person.jpg")
                try await pipeline.analyse()
                app.clock.advance(by: 5)
                try await pushEmpty(app, token: camera.token, parcel: taken ? nil : (450, 350), shade: 3)
                try await pipeline.analyse()
                app.clock.advance(by: 40)
                try await pipeline.closer.closeDue(now: app.clock.now)
                try await pipeline.judgeAll()

                let changed = try await app.call(.get, "/api/v1/events?event_type=stock_changed").items.compactMap(\.objectValue)
                guard taken else {
                    #expect(changed.isEmpty, "the parcel is still there")
                    return
                }
                let event = try #require(changed.first)
                #expect(changed.count == 1)
                #expect(event["summary"]?.stringValue?.hasPrefix("Something was taken or left in Doormat at Porch") == true)
                let details = try #require(event["details"]?.objectValue)
                let delta = try #require(details["scores"]?.objectValue?["inventory_delta"]?.numberValue)
                #expect(delta >= 0.22, "the parcel covers about a quarter of the watched area: \(delta)")
                #expect(details["thresholds"]?.objectValue?["inventory_change_threshold"] == .number(0.22))
                #expect(details["decision_trace"]?.arrayValue?.contains(.string("delta_exceeded_threshold")) == true)
                #expect(details["roi_version"]?.stringValue != nil && details["source_event_id"]?.stringValue != nil)
                let roles = try await app.call(.get, "/api/v1/events/\(try #require(event["id"]?.stringValue))")["images"]?.arrayValue?
                    .compactMap { $0.objectValue?["role"]?.stringValue }
                #expect(Set(roles ?? []) == ["pre", "post", "annotated", "thumb"])
            }
        }
    }

    @Test("a camera showing nothing for 20 s is reported obstructed once, with the frame before; a turned camera is scene_shifted")
    func cameraHealth() async throws {
        try await TestApp.run { app in
            let pipeline = Pipeline(app)
            let camera = try await camera(app, name: "Garage")
            try await pushEmpty(app, token: camera.token)
            try await pipeline.analyse()
            for step in 1...5 {
                app.clock.advance(by: 5)
                try await pushEmpty(app, token: camera.token, uniform: UInt8(80 + step))  // covered: one grey
                try await pipeline.analyse()
            }
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM jobs WHERE job_type = 'record_camera_health'", as: Int.self) == 1)
            while try await pipeline.worker.runNext(pipeline.health) {}
            let events = try await app.call(.get, "/api/v1/events?event_type=camera_obstructed").items.compactMap(\.objectValue)
            let event = try #require(events.first)
            #expect(events.count == 1)
            #expect(event["summary"]?.stringValue == "Garage camera obstructed for 20 s: the picture shows nothing")
            #expect(event["risk_level"] == .string("medium"))
            let detail = try await app.call(.get, "/api/v1/events/\(try #require(event["id"]?.stringValue))")
            #expect(Set(detail["images"]?.arrayValue?.compactMap { $0.objectValue?["role"]?.stringValue } ?? []) == ["pre", "during"])

            // A second report of the same episode (another worker's) is not a second event.
            let payload = try #require(try await app.database.scalar(
                "SELECT payload::text FROM jobs WHERE job_type = 'record_camera_health'", as: String.self))
            try await app.database.transaction { connection in
                try await JobRepository(connection, logger: TestApp.logger).enqueue(
                    id: UUID(), type: .recordCameraHealth, queue: "events", payload: try JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)), at: app.clock.now)
            }
            while try await pipeline.worker.runNext(pipeline.health) {}
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM events WHERE event_type = 'camera_obstructed'", as: Int.self) == 1)

            // Uncovered, then turned to face another scene for good.
            for step in 0..<6 {
                app.clock.advance(by: 5)
                if step == 0 { try await pushEmpty(app, token: camera.token, parcel: (0, 0)) } else { try await push(app, token: camera.token, "horses.jpg", quality: 90 - step) }
                try await pipeline.analyse()
            }
            while try await pipeline.worker.runNext(pipeline.health) {}
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM events WHERE event_type = 'scene_shifted'", as: Int.self) == 1)
        }
    }
}

/// Notifications a test listened to.
final class Heard: Sendable {
    private let state = Mutex<(listening: Bool, payloads: [String])>((false, []))

    func listening() { state.withLock { $0.listening = true } }
    func append(_ payload: String) { state.withLock { $0.payloads.append(payload) } }
    var isListening: Bool { state.withLock { $0.listening } }
    var payloads: [String] { state.withLock { $0.payloads } }

    /// The `type` of each JSON payload.
    var types: [String] {
        payloads.compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)).objectValue?["type"]?.stringValue }
    }
}
