import Foundation
import Logging
import PostgresNIO
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// A stand-in IP camera: GStreamer's RTSP server playing a test pattern (Fixtures/rtsp-camera.py).
func startRTSPCamera(port: Int) async throws -> TestServer {
    let script = TestPaths.packageRoot.appendingPathComponent("Tests/VigilServerTests/Fixtures/rtsp-camera.py").path
    return try await TestServer("/usr/bin/python3", [script, "\(port)", "5"], port: port)
}

@Suite("Cameras Vigil pulls from")
struct StreamPullerTests {
    func connectivity(_ app: TestApp, _ cameraId: String) async throws -> [String] {
        let text = try await app.database.scalar("""
            SELECT coalesce(string_agg(event, ',' ORDER BY timestamp, id), '') FROM device_connectivity_logs
            WHERE device_id = \(UUID(uuidString: cameraId)!)
            """, as: String.self)
        return text?.split(separator: ",").map(String.init) ?? []
    }

    func captures(_ app: TestApp, _ cameraId: String) async throws -> Int {
        try await app.database.scalar("SELECT count(*)::int8 FROM captures WHERE camera_id = \(UUID(uuidString: cameraId)!)",
                                      as: Int.self) ?? 0
    }

    @Test("an RTSP camera's frames become captures; losing it and getting it back is logged; its password never shows")
    func rtsp() async throws {
        try await TestApp.run { app in
            let port = try freeLocalPort()
            var camera = try await startRTSPCamera(port: port)
            let created = try await app.call(.post, "/api/v1/cameras", json: """
                {"name":"Gate","source_kind":"rtsp","rtsp_url":"rtsp://viewer:s3cret-pass@127.0.0.1:\(port)/live","fps":2}
                """)
            let cameraId = try #require(created.string("id"))
            try await withPullers(app) {
                try await eventually("frames arrive") { try await captures(app, cameraId) >= 3 }
                #expect(try await connectivity(app, cameraId) == ["connected"])
                let source = try await app.database.scalar(
                    "SELECT source || ' ' || width || 'x' || height FROM captures LIMIT 1", as: String.self)
                #expect(source == "rtsp 320x240")
                #expect(try await app.call(.get, "/api/v1/cameras/\(cameraId)")["status"] == .string("online"))

                // The camera goes away: the loss and the failed attempts to reach it again are logged.
                await camera.stop()
                try await eventually("the loss and a failed reconnect are logged") {
                    try await connectivity(app, cameraId).starts(with: ["connected", "disconnected", "reconnect_failed"])
                }
                // It comes back on the same address.
                let before = try await captures(app, cameraId)
                camera = try await startRTSPCamera(port: port)
                try await eventually("the camera is reached again", timeout: .seconds(45)) {
                    try await connectivity(app, cameraId).last == "connected"
                }
                try await eventually("frames arrive again") { try await captures(app, cameraId) > before }

                let details = try await app.database.scalar(
                    "SELECT string_agg(details::text, ' ') FROM device_connectivity_logs", as: String.self) ?? ""
                #expect(!details.contains("s3cret-pass"), "\(details)")
                #expect(details.contains("retry_count"))

                // A snapshot on demand: a fresh frame, kept as a capture too.
                let snapshot = try await app.call(.get, "/api/v1/cameras/\(cameraId)/snapshot")
                #expect(snapshot.status == .ok)
                #expect(snapshot.headers[.contentType] == "image/jpeg")
                let frame = try JPEGInspector.inspect(snapshot.bytes)
                #expect(frame.width == 320)
                let captureId = try #require(snapshot.headers[.init("X-Capture-Id")!])
                #expect(try await app.database.scalar(
                    "SELECT count(*)::int8 FROM captures WHERE id = \(UUID(uuidString: captureId)!)", as: Int.self) == 1)
            }
            await camera.stop()
        }
    }

    /// Runs the stream supervisor, quick to retry, while `body` runs.
    func withPullers(_ app: TestApp, _ body: () async throws -> Void) async throws {
        let supervisor = StreamSupervisor(writer: app.captureWriter(), database: app.database, secrets: app.secrets,
                                          backoff: ReconnectBackoff(initial: .milliseconds(200), maximum: .seconds(1)),
                                          refreshInterval: .milliseconds(300), now: { app.clock.now }, logger: TestApp.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await supervisor.run() }
            defer { group.cancelAll() }
            try await body()
        }
    }

    @Test("an MJPEG stream over HTTP (ffmpeg serving one) is read at the camera's rate")
    func mjpeg() async throws {
        try await TestApp.run { app in
            let port = try freeLocalPort()
            let server = try await TestServer("/usr/bin/ffmpeg", [
                "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=5", "-c:v", "mjpeg", "-q:v", "5",
                "-f", "mpjpeg", "-listen", "1", "http://127.0.0.1:\(port)/stream.mjpg",
            ], port: port)
            defer { Task { await server.stop() } }
            let cameraId = try await app.createCamera("""
                {"name":"Yard","source_kind":"mjpeg","snapshot_url":"http://127.0.0.1:\(port)/stream.mjpg","fps":2}
                """)
            try await withPullers(app) {
                try await eventually("frames arrive") { try await captures(app, cameraId) >= 3 }
            }
            #expect(try await app.database.scalar("SELECT min(source) || ' ' || min(width) FROM captures", as: String.self) == "mjpeg 320")
            #expect(try await connectivity(app, cameraId).first == "connected")
        }
    }

    @Test("a snapshot URL is fetched; the same picture twice is stored once")
    func httpSnapshot() async throws {
        try await TestApp.run { app in
            let folder = try TestPaths.temporaryFolder("vigil-snapshots")
            defer { try? FileManager.default.removeItem(at: folder) }
            try FileManager.default.copyItem(atPath: "/usr/share/darknet/data/dog.jpg", toPath: folder.appendingPathComponent("snap.jpg").path)
            let port = try freeLocalPort()
            let server = try await TestServer("/usr/bin/python3", ["-m", "http.server", "\(port)", "--bind", "127.0.0.1",
                                                                   "--directory", folder.path], port: port)
            defer { Task { await server.stop() } }
            let cameraId = try await app.createCamera("""
                {"name":"Shed","source_kind":"http_snapshot","snapshot_url":"http://127.0.0.1:\(port)/snap.jpg","fps":5}
                """)
            try await withPullers(app) {
                try await eventually("the picture is a capture") { try await captures(app, cameraId) == 1 }
                let snapshot = try await app.call(.get, "/api/v1/cameras/\(cameraId)/snapshot")
                #expect(snapshot.bytes == Array(try Data(contentsOf: folder.appendingPathComponent("snap.jpg"))))
            }
            #expect(try await captures(app, cameraId) == 1, "an unchanged picture is one capture")
            #expect(try await connectivity(app, cameraId) == ["connected"])
        }
    }

    @Test("stream credentials are sealed at rest and used to connect, and appear in no response, audit row or connectivity row")
    func sealedCredentials() async throws {
        try await TestApp.run { app in
            // A camera whose snapshot address answers only with its password in the query, as many do.
            let port = try freeLocalPort()
            let server = try await TestServer("/usr/bin/python3", ["-c", """
                import http.server, sys
                class Camera(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        if "pwd=S3cretQ" not in self.path:
                            self.send_response(401); self.end_headers(); return
                        body = open("/usr/share/darknet/data/dog.jpg", "rb").read()
                        self.send_response(200); self.send_header("Content-Type", "image/jpeg")
                        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                    def log_message(self, *args): pass
                http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Camera).serve_forever()
                """, "\(port)"], port: port)
            defer { Task { await server.stop() } }
            let created = try await app.call(.post, "/api/v1/cameras", json: """
                {"name":"Till","source_kind":"http_snapshot","snapshot_url":"http://127.0.0.1:\(port)/snap.cgi?usr=admin&pwd=S3cretQ","fps":5}
                """)
            let cameraId = try #require(created.string("id"))
            #expect(created.string("snapshot_url") == "http://127.0.0.1:\(port)/snap.cgi?usr=admin&pwd=***", "\(created.text)")
            // Renamed, with the address sent back as it was shown: the stored password stays.
            let renamed = try await app.call(.patch, "/api/v1/cameras/\(cameraId)", json: """
                {"name":"Till 2","snapshot_url":"http://127.0.0.1:\(port)/snap.cgi?usr=admin&pwd=***"}
                """)
            #expect(renamed.status == .ok, "\(renamed.text)")
            try await withPullers(app) {
                try await eventually("the camera, reached with its sealed password, gives a frame") { try await captures(app, cameraId) == 1 }
            }
            let snapshot = try await app.call(.get, "/api/v1/cameras/\(cameraId)/snapshot")
            #expect(snapshot.status == .ok, "the on-demand snapshot connects with it too")

            let rtsp = try await app.call(.post, "/api/v1/cameras", json: """
                {"name":"Gate","source_kind":"rtsp","rtsp_url":"rtsp://admin:S3cretPw@127.0.0.1:\(try freeLocalPort())/live"}
                """)
            let rtspId = try #require(rtsp.string("id"))
            _ = try await app.call(.patch, "/api/v1/cameras/\(rtspId)", json: #"{"rtsp_url":"rtsp://admin:N3wSecret@127.0.0.1:1/live"}"#)
            try await withPullers(app) {
                try await eventually("the unreachable camera's failure is logged") { try await connectivity(app, rtspId).contains("reconnect_failed") }
            }
            var seen = [created.text, renamed.text, "\(snapshot.headers)"]
            for path in ["/api/v1/cameras", "/api/v1/cameras/\(cameraId)", "/api/v1/cameras/\(rtspId)", "/api/v1/audit-logs?resource_type=camera"] {
                seen.append(try await app.call(.get, path).text)
            }
            let queries: [PostgresQuery] = [
                "SELECT coalesce(string_agg(details::text, ' '), '') FROM audit_logs",
                "SELECT coalesce(string_agg(details::text, ' '), '') FROM device_connectivity_logs",
                "SELECT coalesce(string_agg(coalesce(rtsp_url, '') || ' ' || coalesce(snapshot_url, ''), ' '), '') FROM cameras",
                "SELECT coalesce(string_agg(encode(stream_credentials, 'escape'), ' '), '') FROM cameras",
            ]
            for query in queries { seen.append(try await app.database.scalar(query, as: String.self) ?? "") }
            for secret in ["S3cretQ", "S3cretPw", "N3wSecret"] {
                #expect(!seen.contains { $0.contains(secret) }, "\(secret) shows somewhere")
            }
        }
    }

    @Test("a snapshot of a camera that pushes its own frames, or of one that is down, is refused with a reason")
    func snapshotRefused() async throws {
        try await TestApp.run { app in
            let pushing = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Porch"}"#)
            let refused = try await app.call(.get, "/api/v1/cameras/\(try #require(pushing.string("id")))/snapshot")
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "snapshot_unavailable")

            let port = try freeLocalPort()
            let down = try await app.call(.post, "/api/v1/cameras", json: """
                {"name":"Shed","source_kind":"http_snapshot","snapshot_url":"http://admin:hunter22@127.0.0.1:\(port)/snap.jpg"}
                """)
            let unreachable = try await app.call(.get, "/api/v1/cameras/\(try #require(down.string("id")))/snapshot")
            #expect(unreachable.status == .badGateway)
            #expect(unreachable.errorCode == "camera_unreachable")
            #expect(!unreachable.text.contains("hunter22"))
        }
    }

    @Test("a camera silent for longer than the limit goes offline, logged; its next frame brings it back, logged")
    func presence() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Porch"}"#)
            let cameraId = try #require(created.string("id"))
            let token = try #require(created.string("device_token"))
            let photo = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/dog.jpg")))
            func push(_ bytes: [UInt8]) async throws -> TestApp.Reply {
                try await app.send(.post, "/api/v1/ingest/frame", body: .init(bytes: bytes), headers: [.contentType: "image/jpeg"],
                                   as: .deviceToken(token))
            }
            #expect(try await push(photo).status == .created)
            let monitor = CameraPresenceMonitor(database: app.database, offlineAfter: 120, interval: .seconds(30),
                                                now: { app.clock.now }, logger: TestApp.logger)
            app.clock.advance(by: 60)
            #expect(try await monitor.sweep().isEmpty, "a minute of silence is not yet offline")
            app.clock.advance(by: 61)
            #expect(try await monitor.sweep().map { $0.uuidString.lowercased() } == [cameraId])
            #expect(try await app.call(.get, "/api/v1/cameras/\(cameraId)")["status"] == .string("offline"))
            #expect(try await monitor.sweep().isEmpty, "marked once")

            #expect(try await push(Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/horses.jpg")))).status == .created)
            #expect(try await app.call(.get, "/api/v1/cameras/\(cameraId)")["status"] == .string("online"))
            #expect(try await connectivity(app, cameraId) == ["disconnected", "connected"])
            let reasons = try await app.database.scalar(
                "SELECT string_agg(details ->> 'reason', ',' ORDER BY timestamp) FROM device_connectivity_logs", as: String.self)
            #expect(reasons == "silent,frames_resumed")
        }
    }
}
