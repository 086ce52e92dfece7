import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VigilCore
import VigilTestSupport

/// Vigil as a released server meets what it did not write: hostile files sent to every route that
/// takes an image, the DeepStack client library from PyPI, and schemathesis reading its API
/// document, on a `vigil serve` process whose memory is measured from outside. One at a time: each
/// is a whole server with its own database, and together they would starve the other tests.
@Suite("Against a running server: hostile files, real DeepStack clients, the API document", .serialized)
struct HostileInputTests {
    /// Files no camera should send, each with what it is.
    static func corpus() throws -> [(name: String, bytes: [UInt8])] {
        let photo = try TestImages.photoBytes("person.jpg")
        let scan = try #require((2..<photo.count - 1).first { photo[$0] == 0xFF && photo[$0 + 1] == 0xDA }, "start of scan")
        func withSize(_ width: Int, _ height: Int) -> [UInt8] {
            var bytes = photo
            let frame = try! #require((2..<bytes.count - 9).first { bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2) })
            bytes[frame + 5] = UInt8(height >> 8); bytes[frame + 6] = UInt8(height & 0xFF)
            bytes[frame + 7] = UInt8(width >> 8); bytes[frame + 8] = UInt8(width & 0xFF)
            return bytes
        }
        var corrupted = photo
        for index in (scan + 2_000)..<(scan + 4_000) { corrupted[index] = ~corrupted[index] }
        // A whole 1×1 PNG.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1,
                            8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0, 1, 0, 0,
                            5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]
        var noise = SystemRandomNumberGenerator()
        let randomBytes = (0..<(40 << 20) / 8).flatMap { _ in withUnsafeBytes(of: noise.next() as UInt64) { Array($0) } }
        return [
            ("a 1 KB-ish header claiming 65500 × 65500 pixels", Array(withSize(65_500, 65_500))),
            ("a header claiming 20000 × 20000 pixels", withSize(20_000, 20_000)),
            ("zero dimensions", withSize(0, 0)),
            ("truncated halfway", Array(photo.prefix(photo.count / 2))),
            ("entropy data corrupted in the middle", corrupted),
            ("a PNG named .jpg", png),
            ("40 MB of noise", randomBytes),
            ("an empty body", []),
        ]
    }

    @Test("every route that takes an image answers a hostile file with a 4xx; the server stays ready under 400 MiB; a trickled header is cut off",
          .timeLimit(.minutes(6)))
    func hostileFiles() async throws {
        let server = try await RunningServer.start(["VIGIL_HTTP_IDLE_TIMEOUT": "3"])
        defer { server.process.signal(SIGKILL) }
        let camera = try await server.send(.POST, "/api/v1/cameras", body: Array(#"{"name":"Porch"}"#.utf8),
                                           headers: [("X-API-Key", server.operatorKey), ("Content-Type", "application/json")])
        // An operator may not add cameras; the detector key's camera comes from the CLI instead.
        #expect(camera.status == 403)
        let added = try await LaunchedProcess.run(TestPaths.vigilExecutable, ["camera", "add", "--name", "Porch"],
                                                  environment: ["VIGIL_DATA_DIR": server.data.path])
        #expect(added.status == 0, "\(added.output)")
        let person = try await server.send(.POST, "/api/v1/persons", body: Array(#"{"name":"Ada"}"#.utf8),
                                           headers: [("X-API-Key", server.operatorKey), ("Content-Type", "application/json")])
        let personId = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(person.body.utf8)).objectValue?["id"]?.stringValue,
                                    "\(person.body)")
        let boundary = "hostile-corpus"
        func form(_ image: [UInt8], fields: [String: String] = [:]) -> [UInt8] {
            MultipartFormData.encode(fields.map { .field($0.key, $0.value) }
                                     + [MultipartFormData.Part(name: "image", filename: "frame.jpg", contentType: "image/jpeg", body: image)],
                                     boundary: boundary)
        }
        let multipart = ("Content-Type", "multipart/form-data; boundary=\(boundary)")
        for (name, bytes) in try Self.corpus() {
            let answers: [(String, (status: Int, body: String))] = [
                ("ingest", try await server.send(.POST, "/api/v1/ingest/frame", body: bytes, headers: [
                    ("X-API-Key", server.detectorKey), ("X-Device-Id", "porch"), ("Content-Type", "image/jpeg")])),
                ("detection", try await server.send(.POST, "/v1/vision/detection", body: form(bytes),
                                                    headers: [("X-API-Key", server.detectorKey), multipart])),
                ("face", try await server.send(.POST, "/v1/vision/face", body: form(bytes), headers: [("X-API-Key", server.operatorKey), multipart])),
                ("recognize", try await server.send(.POST, "/v1/vision/face/recognize", body: form(bytes),
                                                    headers: [("X-API-Key", server.operatorKey), multipart])),
                ("register", try await server.send(.POST, "/v1/vision/face/register", body: form(bytes, fields: ["userid": "ada"]),
                                                   headers: [("X-API-Key", server.operatorKey), multipart])),
                ("enrolment", try await server.send(.POST, "/api/v1/persons/\(personId)/faces", body: form(bytes),
                                                    headers: [("X-API-Key", server.operatorKey), multipart])),
            ]
            for (route, answer) in answers {
                #expect((400..<500).contains(answer.status), "\(name) to \(route): \(answer.status) \(answer.body.prefix(200))")
            }
        }
        let bomb = try await server.send(.POST, "/v1/vision/face", body: form(try Self.corpus()[0].bytes),
                                         headers: [("X-API-Key", server.operatorKey), multipart])
        #expect(bomb.status == 413 && bomb.body.contains("65500"), "\(bomb.body)")
        let corrupt = try await server.send(.POST, "/api/v1/ingest/frame", body: try Self.corpus()[4].bytes, headers: [
            ("X-API-Key", server.detectorKey), ("X-Device-Id", "porch"), ("Content-Type", "image/jpeg")])
        #expect(corrupt.body.contains("corrupt_jpeg"), "\(corrupt.body)")
        // The same person, whole, is still taken: refusing is not all the server does.
        let good = try await server.send(.POST, "/api/v1/ingest/frame", body: try TestImages.photoBytes("person.jpg"), headers: [
            ("X-API-Key", server.detectorKey), ("X-Device-Id", "porch"), ("Content-Type", "image/jpeg")])
        #expect(good.status == 201, "\(good.body)")
        #expect(try await server.send(.GET, "/health/ready").status == 200)
        // Half a request header, then nothing: the connection is closed once it has been idle.
        let trickle = try await LaunchedProcess.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", """
            import socket
            s = socket.create_connection(("127.0.0.1", \(server.port)))
            s.sendall(b"GET /health/live HTTP/1.1\\r\\nHo")
            s.settimeout(60)
            print("closed" if s.recv(100) == b"" else "answered")
            """], timeout: .seconds(90))
        #expect(trickle.output.contains("closed"), "\(trickle.output)")
        let peak = server.peakResidentBytes
        #expect(peak > 0 && peak < 400 << 20, "peak resident memory \(peak >> 20) MiB")
        try await server.stop()
    }

    @Test("a camera's stream password appears in no log line of the server, at debug level, while it fails to connect and is changed",
          .timeLimit(.minutes(3)))
    func streamSecretsStayOutOfTheLog() async throws {
        let server = try await RunningServer.start(["VIGIL_LOG_LEVEL": "debug"])
        defer { server.process.signal(SIGKILL) }
        let json = [("X-API-Key", try await server.key(role: "admin")), ("Content-Type", "application/json")]
        let (rtspPort, snapshotPort) = (try freeLocalPort(), try freeLocalPort())
        let rtsp = try await server.send(.POST, "/api/v1/cameras", body: Array("""
            {"name":"Gate","source_kind":"rtsp","rtsp_url":"rtsp://admin:S3cretPw@127.0.0.1:\(rtspPort)/live"}
            """.utf8), headers: json)
        #expect(rtsp.status == 201, "\(rtsp.body)")
        let snapshot = try await server.send(.POST, "/api/v1/cameras", body: Array("""
            {"name":"Till","source_kind":"http_snapshot","snapshot_url":"http://127.0.0.1:\(snapshotPort)/snap.cgi?usr=admin&pwd=S3cretQ"}
            """.utf8), headers: json)
        let snapshotId = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(snapshot.body.utf8)).objectValue?["id"]?.stringValue)
        let rtspId = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(rtsp.body.utf8)).objectValue?["id"]?.stringValue)
        let changed = try await server.send(.PATCH, "/api/v1/cameras/\(rtspId)", body: Array("""
            {"rtsp_url":"rtsp://admin:N3wSecret@127.0.0.1:\(rtspPort)/live"}
            """.utf8), headers: json)
        #expect(changed.status == 200, "\(changed.body)")
        #expect(try await server.send(.GET, "/api/v1/cameras/\(snapshotId)/snapshot", headers: json).status == 502)
        try await eventually("both cameras' failures to connect are logged", timeout: .seconds(90), interval: .milliseconds(500)) {
            let log = server.process.output
            return log.contains("camera unreachable") && log.contains(rtspId) && log.contains(snapshotId)
        }
        let log = server.process.output
        for secret in ["S3cretPw", "N3wSecret", "S3cretQ"] {
            #expect(!log.contains(secret), "\(secret) is in the log:\n\(log.split(separator: "\n").filter { $0.contains(secret) }.prefix(3).joined(separator: "\n"))")
        }
        try await server.stop()
    }

    @Test("the DeepStack client library from PyPI registers, lists (urlencoded) and recognizes faces; key-less clients from an open network are served",
          .timeLimit(.minutes(6)))
    func realDeepStackClient() async throws {
        let server = try await RunningServer.start(["VIGIL_DEEPSTACK_OPEN_TO": "127.0.0.1/32,::1/128"])
        defer { server.process.signal(SIGKILL) }
        let python = TestPaths.packageRoot.appendingPathComponent(".vendor/python/bin/python")
        let script = TestPaths.packageRoot.appendingPathComponent("Tests/VigilServerTests/Fixtures/deepstack_client.py")
        let run = try await LaunchedProcess.run(python, [
            script.path, "127.0.0.1", "\(server.port)", server.detectorKey, server.operatorKey,
            "/usr/share/darknet/data/person.jpg", TestPaths.packageRoot.appendingPathComponent(".vendor/faces/Female_40_1_1_1.jpg").path,
        ], timeout: .seconds(240))
        let seen = try WebUITests.report(run)
        #expect(seen["object_labels"]?.arrayValue?.contains(.string("person")) == true, "\(seen)")
        #expect(seen["register"] == .string("face added"))
        #expect(seen["registered"] == .array([.string("ada")]), "listed with an urlencoded api_key: \(seen)")
        #expect(seen["recognized"] == .array([.string("ada")]))
        #expect(seen["wrong_key"] == .string("refused"), "a key that is sent is checked")
        #expect(seen["keyless_registered"] == .array([.string("ada")]))
        #expect(seen["keyless_detection_status"] == .number(200) && seen["keyless_detection_success"] == .bool(true))
        try await server.stop()
    }
}
