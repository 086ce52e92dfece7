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
    static let inference: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    func handler(_ app: TestApp) -> AnalyzeCaptureHandler {
        AnalyzeCaptureHandler(detector: TestModels.objectDetector, database: app.database, media: app.media, now: { app.clock.now },
                              inference: Self.inference, classesOfInterest: AnalyzeCaptureHandler.defaultClasses, minimumConfidence: 0.4)
    }

    func worker(_ app: TestApp) -> JobWorker {
        JobWorker(settings: .init(workerId: "analysis-test"), handlers: [handler(app)], database: app.database,
                  now: { app.clock.now }, logger: TestApp.logger)
    }

    func push(_ app: TestApp, token: String, _ name: String) async throws -> String {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)")))
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
}
