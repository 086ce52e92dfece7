import Foundation
import NIOCore
import NIOPosix
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport
import VigilVision

@Suite("Analysis of received frames")
struct AnalysisTests {
    func handler(_ app: TestApp, settings: DetectionSettings = DetectionSettings()) -> AnalyzeCaptureHandler {
        AnalyzeCaptureHandler(detector: TestModels.objectDetector, database: app.database, media: app.media, now: { app.clock.now },
                              defaults: settings, motion: MotionMemory())
    }

    func worker(_ app: TestApp) -> JobWorker {
        JobWorker(settings: .init(workerId: "analysis-test"), handlers: [handler(app)], database: app.database,
                  now: { app.clock.now }, logger: TestApp.logger)
    }

    func push(_ app: TestApp, token: String, _ name: String) async throws -> String {
        try await push(app, token: token, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)"))))
    }

    func push(_ app: TestApp, token: String, bytes: [UInt8]) async throws -> String {
        let reply = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: bytes), headers: [.contentType: "image/jpeg"],
                                       as: .deviceToken(token))
        return try #require(reply.string("capture_id"))
    }

    @Test("a received frame's objects become detections with the zones they stand in, and the capture is processed")
    func detections() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Yard"}"#)
            let cameraId = try #require(created.string("id"))
            let token = try #require(created.string("device_token"))
            let zone = try await app.call(.post, "/api/v1/cameras/\(cameraId)/zones", json: """
                {"name":"Left half","zone_type":"yard","shape":"polygon","coordinates":[[0,0],[0.5,0],[0.5,1],[0,1]]}
                """)
            let zoneId = try #require(zone.string("id")).lowercased()
            _ = try await push(app, token: token, "dog.jpg")
            let analysis = handler(app)
            #expect(try await worker(app).runNext(analysis))

            let rows = try await app.database.scalar("""
                SELECT string_agg(object_type || ' ' || frame_width || 'x' || frame_height || ' ' || array_to_string(zone_ids, ';'), ', '
                                  ORDER BY object_type)
                FROM detections
                """, as: String.self)
            #expect(rows == "bicycle 768x576 \(zoneId), car 768x576 , dog 768x576 \(zoneId)")
            let dogBox = try await app.database.scalar(
                "SELECT bbox_x || ',' || bbox_y || ',' || bbox_width || ',' || bbox_height FROM detections WHERE object_type = 'dog'",
                as: String.self)
            // Where the reference run of the model puts it: x 132, y 206, 193 × 337 pixels.
            let box = (dogBox ?? "").split(separator: ",").compactMap { Int($0) }
            #expect(box.count == 4 && zip(box, [132, 206, 193, 337]).allSatisfy { abs($0 - $1) <= 3 }, "\(dogBox ?? "")")
            #expect(try await app.database.scalar("SELECT analysis_status FROM captures", as: String.self) == "processed")
            #expect(try await app.database.scalar("SELECT status || ' ' || (result ->> 'detections') FROM jobs", as: String.self)
                    == "completed 3")
        }
    }

    @Test("an unreadable frame fails its job at once, with the reason on the capture, and the worker goes on")
    func unreadable() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Yard"}"#)
            let token = try #require(created.string("device_token"))
            let broken = try await push(app, token: token, "dog.jpg")
            _ = try await push(app, token: token, "person.jpg")
            // The stored frame is damaged after it was accepted (a failing disk, say).
            let uri = try #require(try await app.database.scalar(
                "SELECT storage_uri FROM captures WHERE id = \(UUID(uuidString: broken)!)", as: String.self))
            try Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x11, count: 500)).write(to: try app.media.path(of: uri))

            let worker = worker(app)
            let analysis = handler(app)
            while try await worker.runNext(analysis) {}
            let jobs = try await app.database.scalar(
                "SELECT string_agg(status || '/' || attempt_number, ',' ORDER BY created_at, id) FROM jobs", as: String.self)
            #expect(jobs == "failed/1,completed/1", "no retry for a frame that cannot be read")
            let failure = try await app.database.scalar(
                "SELECT analysis_status || ': ' || analysis_error FROM captures WHERE id = \(UUID(uuidString: broken)!)", as: String.self)
            #expect(failure?.hasPrefix("failed: the JPEG cannot be decoded") == true, "\(failure ?? "")")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM detections WHERE object_type = 'horse'", as: Int.self) == 1)
        }
    }

    /// dog.jpg encoded again at `quality`: the same scene as another camera frame of it, other bytes.
    static func dog(quality: Int, paintingOutTheDog: Bool = false) throws -> [UInt8] {
        var image = try JPEGDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/dog.jpg"))))
        if paintingOutTheDog {
            // The dog sits at x 130–330, y 200–545; grey it out as if it had not arrived yet.
            for y in 195..<550 {
                for x in 125..<335 {
                    for channel in 0..<3 { image.pixels[(y * image.width + x) * 3 + channel] = 128 }
                }
            }
        }
        return try JPEGEncoder.encode(image, quality: quality)
    }

    func camera(_ app: TestApp, config: String) async throws -> (id: String, token: String) {
        let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Drive","config":\#(config)}"#)
        return (try #require(created.string("id")), try #require(created.string("device_token")))
    }

    func capture(_ app: TestApp, _ id: String) async throws -> (status: String, meta: String) {
        let row = try await app.database.scalar(
            "SELECT analysis_status || '|' || meta::text FROM captures WHERE id = \(UUID(uuidString: id)!)", as: String.self)
        let parts = (row ?? "").split(separator: "|", maxSplits: 1).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
    }

    @Test("motion gating: a frame of the unchanged scene skips the detector with the reason; a changed one is analysed")
    func motionGate() async throws {
        try await TestApp.run { app in
            let camera = try await camera(app, config: "{}")
            let analysis = handler(app)
            let worker = worker(app)
            let empty = try await push(app, token: camera.token, bytes: try Self.dog(quality: 90, paintingOutTheDog: true))
            #expect(try await worker.runNext(analysis))
            #expect(try await capture(app, empty).status == "processed", "the first frame has nothing to be compared with")

            app.clock.advance(by: 2)
            let same = try await push(app, token: camera.token, bytes: try Self.dog(quality: 80, paintingOutTheDog: true))
            #expect(try await worker.runNext(analysis))
            let skipped = try await capture(app, same)
            #expect(skipped.status == "skipped")
            #expect(skipped.meta.contains(#""skip_reason": "no motion: "#), "\(skipped.meta)")

            app.clock.advance(by: 2)
            let arrived = try await push(app, token: camera.token, bytes: try Self.dog(quality: 85))
            #expect(try await worker.runNext(analysis))
            #expect(try await capture(app, arrived).status == "processed")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM detections WHERE capture_id = \(UUID(uuidString: arrived)!) AND object_type = 'dog'",
                                                  as: Int.self) == 1)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM detections WHERE capture_id = \(UUID(uuidString: same)!)",
                                                  as: Int.self) == 0)
        }
    }

    @Test("tracking: one track per object across frames, one thumbnail per track; a parked object turns stationary and stops adding detections")
    func stationary() async throws {
        try await TestApp.run { app in
            let camera = try await camera(app, config: #"{"motion":{"enabled":false},"detect":{"stationary_seconds":20}}"#)
            let analysis = handler(app)
            let worker = worker(app)
            var captures: [String] = []
            for (quality, wait) in [(90, 0.0), (85, 10), (80, 12)] {
                app.clock.advance(by: wait)
                captures.append(try await push(app, token: camera.token, bytes: try Self.dog(quality: quality)))
                #expect(try await worker.runNext(analysis))
            }
            var counts: [Int] = []
            for id in captures {
                counts.append(try await app.database.scalar("SELECT count(*)::int8 FROM detections WHERE capture_id = \(UUID(uuidString: id)!)",
                                                            as: Int.self) ?? -1)
            }
            #expect(counts == [3, 3, 0], "the dog, the bicycle and the car stand still for 22 s: recorded twice, then stationary")
            #expect(try await capture(app, captures[2]).meta.contains(#""stationary": 3"#))
            let tracks = try await app.database.scalar("""
                SELECT string_agg(object_type || ':' || sightings || ':' || stationary, ',' ORDER BY object_type) FROM object_tracks
                """, as: String.self)
            #expect(tracks == "bicycle:3:true,car:3:true,dog:3:true")
            #expect(try await app.database.scalar("SELECT count(DISTINCT track_id)::int8 FROM detections", as: Int.self) == 3)

            // One thumbnail per track (no later sighting was clearly better), named by every detection of the track.
            let thumbnails = try await app.database.scalar("SELECT string_agg(storage_path, ',') FROM media_files WHERE role = 'thumb'",
                                                           as: String.self)
            let uris = (thumbnails ?? "").split(separator: ",").map(String.init)
            #expect(uris.count == 3)
            for uri in uris {
                let bytes = try app.media.read(uri)
                #expect(bytes.starts(with: [0xFF, 0xD8]) && bytes.count > 1000, "\(uri) is a JPEG")
            }
            #expect(try await app.database.scalar("""
                SELECT count(*)::int8 FROM detections d JOIN media_files m ON m.storage_path = d.thumbnail_path AND m.role = 'thumb'
                """, as: Int.self) == 6)
        }
    }

    @Test("a new object counts only where the picture moved; an object already tracked is followed anywhere")
    func restrictedToMotion() async throws {
        try await TestApp.run { app in
            let camera = try await camera(app, config: #"{"detect":{"objects":["dog"]}}"#)
            let analysis = handler(app)
            let worker = worker(app)
            _ = try await push(app, token: camera.token, bytes: try Self.dog(quality: 90, paintingOutTheDog: true))
            #expect(try await worker.runNext(analysis))
            app.clock.advance(by: 1)
            _ = try await push(app, token: camera.token, bytes: try Self.dog(quality: 90))
            #expect(try await worker.runNext(analysis))
            // From now on the camera also looks for cars: the parked car is there, but nothing moved where it is.
            _ = try await app.call(.patch, "/api/v1/cameras/\(camera.id)", json: #"{"config":{"detect":{"objects":["dog","car"]}}}"#)
            app.clock.advance(by: 1)
            let third = try await push(app, token: camera.token, bytes: try Self.dog(quality: 85))
            #expect(try await worker.runNext(analysis))
            let result = try await app.database.scalar("SELECT result::text FROM jobs WHERE (payload ->> 'capture_id')::uuid = \(UUID(uuidString: third)!)", as: String.self)
            #expect(result?.contains(#""outside_motion": 1"#) == true, "\(result ?? "")")
            #expect(try await app.database.scalar("SELECT string_agg(object_type, ',') FROM detections WHERE capture_id = \(UUID(uuidString: third)!)",
                                                  as: String.self) == "dog")
        }
    }
}
