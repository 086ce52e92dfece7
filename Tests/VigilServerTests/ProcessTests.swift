import AsyncHTTPClient
import Foundation
import NIOCore
import PostgresNIO
import Testing
import VigilCore
import VigilStore
import VigilTestSupport

/// The `vigil` executable, run as a person or a service manager would run it.
@Suite("The vigil executable")
struct ProcessTests {
    let vigil = TestPaths.vigilExecutable

    func url(_ location: DatabaseLocation) -> String { Self.databaseURL(location) }

    /// `VIGIL_DATABASE_URL` for a test database reached through its unix socket.
    static func databaseURL(_ location: DatabaseLocation) -> String {
        guard case .unixSocket(let path) = location.endpoint else { return "" }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return "postgresql://\(location.username)@/\(location.database)?host=\(folder)"
    }

    func get(_ url: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.get(url: url).get()
        return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
    }

    /// Waits until `/health/ready` answers 200, or the process exits, or a minute passes.
    func waitUntilReady(port: Int, _ process: LaunchedProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let status = try await process.waitForExit(timeout: .milliseconds(1)) {
                throw LaunchError(message: "vigil exited with \(status):\n\(process.output)")
            }
            if let reply = try? await get("http://127.0.0.1:\(port)/health/ready"), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LaunchError(message: "vigil was not ready within a minute:\n\(process.output)")
    }

    @Test("serve on the embedded cluster: data survives a restart, SIGTERM stops the cluster, a second server is refused")
    func lifecycle() async throws {
        let data = try TestPaths.temporaryFolder("vigil-serve")
        defer { try? FileManager.default.removeItem(at: data) }
        let port = try freeLocalPort()
        let environment = ["VIGIL_DATA_DIR": data.path, "VIGIL_PORT": "\(port)", "VIGIL_LOG_FORMAT": "json"]

        let first = try LaunchedProcess.launch(vigil, ["serve"], environment: environment)
        defer { first.signal(SIGKILL) }
        try await waitUntilReady(port: port, first)

        // A fresh install answers only health until its first administrator exists.
        let beforeSetup = try await get("http://127.0.0.1:\(port)/api/v1/cameras")
        #expect(beforeSetup.status == 503)
        #expect(beforeSetup.body.contains("setup_required"))

        // The commands join the running server's database.
        let passwordFile = data.appendingPathComponent("password.txt")
        try "correct horse battery".write(to: passwordFile, atomically: true, encoding: .utf8)
        let admin = try await LaunchedProcess.run(vigil, ["user", "create", "--admin", "--username", "alice", "--email",
                                                          "alice@example.test", "--password-file", passwordFile.path],
                                                  environment: environment)
        #expect(admin.status == 0, "\(admin.output)")
        #expect(admin.output.contains("created super_admin alice"))
        let keyRun = try await LaunchedProcess.run(vigil, ["apikey", "create", "--name", "lifecycle", "--role", "admin"],
                                                   environment: environment)
        #expect(keyRun.status == 0, "\(keyRun.output)")
        let apiKey = try #require(keyRun.output.split(separator: "\n").map(String.init).first { $0.hasPrefix("vgl_") })

        let anonymous = try await get("http://127.0.0.1:\(port)/api/v1/cameras")
        #expect(anonymous.status == 401)

        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/cameras")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: apiKey)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Request-Id", value: "lifecycle-test-1")
        request.body = .bytes(ByteBuffer(string: #"{"name":"Front Door"}"#))
        let created = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(created.status == .created)

        // A simulated ESP32 registers itself and sends the darknet photos through the real endpoint.
        let simulated = try await LaunchedProcess.run(vigil, [
            "simulate", "--camera", "Porch Cam", "--images", "/usr/share/darknet/data", "--register",
            "--api-key", apiKey, "--url", "http://127.0.0.1:\(port)", "--fps", "50",
        ])
        #expect(simulated.status == 0, "\(simulated.output)")
        #expect(simulated.output.contains("registered camera porch_cam"))
        #expect(simulated.output.contains("sent 7 frames: 7 stored"), "\(simulated.output)")
        var latest = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/cameras/porch_cam/latest.jpg")
        latest.headers.add(name: "X-API-Key", value: apiKey)
        let frame = try await HTTPClient.shared.execute(latest, timeout: .seconds(10))
        #expect(frame.status == .ok)
        #expect(frame.headers.first(name: "Content-Type") == "image/jpeg")
        let stored = try FileManager.default.subpathsOfDirectory(atPath: data.appendingPathComponent("staging/porch_cam").path)
            .filter { $0.hasSuffix(".jpg") }
        #expect(stored.count == 7, "seed 004's layout: staging/<device>/<day>/<capture>.jpg")

        // The same data folder cannot be served twice.
        let second = try await LaunchedProcess.run(vigil, ["serve"],
                                                   environment: environment.merging(["VIGIL_PORT": "\(try freeLocalPort())"]) { $1 })
        #expect(second.status != 0)
        #expect(second.output.contains("another Vigil is already using the data folder"))

        first.signal(SIGTERM)
        let status = try await first.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "\(first.output)")
        let pidFile = data.appendingPathComponent("postgres/postmaster.pid").path
        #expect(!FileManager.default.fileExists(atPath: pidFile), "graceful shutdown stops the embedded database")

        // Every log line is JSON; the request line carries the request id and timing.
        let lines = first.output.split(separator: "\n")
        #expect(!lines.isEmpty)
        let objects = lines.compactMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
        #expect(objects.count == lines.count, "non-JSON log lines: \(lines.filter { (try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))) == nil })")
        let requestLine = objects.first { $0["request_id"] == "lifecycle-test-1" }
        #expect(requestLine?["method"] == "POST")
        #expect(requestLine?["path"] == "/api/v1/cameras")
        #expect(requestLine?["status"] == "201")
        #expect(requestLine?["duration_ms"] != nil)
        #expect(!first.output.contains(apiKey), "the API key never reaches the log")
        #expect(!first.output.contains("correct horse battery"))

        // Restarted, it still has the camera.
        let restarted = try LaunchedProcess.launch(vigil, ["serve"], environment: environment)
        defer { restarted.signal(SIGKILL) }
        try await waitUntilReady(port: port, restarted)
        var read = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/cameras/front_door")
        read.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        let response = try await HTTPClient.shared.execute(read, timeout: .seconds(10))
        let camera = (status: Int(response.status.code), body: String(buffer: try await response.body.collect(upTo: 1 << 20)))
        #expect(camera.status == 200)
        #expect(camera.body.contains(#""slug":"front_door""#))
        restarted.signal(SIGINT)
        #expect(try await restarted.waitForExit(timeout: .seconds(60)) == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }

    @Test("every configuration problem is reported at once")
    func configurationErrors() async throws {
        let result = try await LaunchedProcess.run(vigil, ["serve"], environment: [
            "VIGIL_PORT": "eighty", "VIGIL_LOG_FORMAT": "xml", "VIGIL_ROLE": "boss", "VIGIL_DB_MAX_CONNECTIONS": "0",
            "VIGIL_LLM_URL": "ftp://models.local", "VIGIL_EVENT_IDLE": "1",
        ])
        #expect(result.status == 78)
        for mention in ["VIGIL_PORT", "VIGIL_LOG_FORMAT", "role", "VIGIL_DB_MAX_CONNECTIONS", "VIGIL_LLM_URL", "VIGIL_EVENT_IDLE", "6 problems"] {
            #expect(result.output.contains(mention), "\(mention) missing from: \(result.output)")
        }
    }

    @Test("vigil detect finds the objects of a photo and reports where the time goes")
    func detect() async throws {
        let result = try await LaunchedProcess.run(vigil, ["detect", "/usr/share/darknet/data/dog.jpg", "--repeat", "3"])
        #expect(result.status == 0, "\(result.output)")
        for expected in ["768x576", "dog 0.85", "bicycle 0.80", "car 0.79", "inference_ms median"] {
            #expect(result.output.contains(expected), "\(expected) missing from: \(result.output)")
        }
        let missing = try await LaunchedProcess.run(vigil, ["detect", "/nonexistent.jpg"])
        #expect(missing.status != 0)
    }

    @Test("--help reads well")
    func help() async throws {
        let result = try await LaunchedProcess.run(vigil, ["--help"])
        #expect(result.status == 0)
        for word in ["serve", "migrate", "camera", "VIGIL_DATABASE_URL", "VIGIL_DATA_DIR"] {
            #expect(result.output.contains(word))
        }
    }

    @Test("two migrate processes at once apply each migration once; --status lists them; --no-migrate refuses a pending schema")
    func concurrentMigrate() async throws {
        try await TestDatabases.shared.withDatabase(empty: true) { location in
            let data = try TestPaths.temporaryFolder("vigil-migrate")
            defer { try? FileManager.default.removeItem(at: data) }
            // The data folder holds the key file `serve` creates; never the checkout's own ./data.
            let environment = ["VIGIL_DATABASE_URL": url(location), "VIGIL_DATA_DIR": data.path]

            let refused = try await LaunchedProcess.run(vigil, ["serve", "--no-migrate", "--port", "\(try freeLocalPort())"],
                                                        environment: environment, timeout: .seconds(30))
            #expect(refused.status != 0)
            #expect(refused.output.contains("0001_core"), "\(refused.output)")

            async let a = LaunchedProcess.run(vigil, ["migrate"], environment: environment)
            async let b = LaunchedProcess.run(vigil, ["migrate"], environment: environment)
            let results = try await [a, b]
            #expect(results.map(\.status) == [0, 0], "\(results.map(\.output))")
            let appliedLines = results.flatMap { $0.output.split(separator: "\n") }.filter { $0.hasPrefix("applied  0001_core") }
            #expect(appliedLines.count == 1, "exactly one process applies the migration")

            let status = try await LaunchedProcess.run(vigil, ["migrate", "--status"], environment: environment)
            #expect(status.status == 0)
            #expect(status.output.contains("applied  0001_core"))
            #expect(!status.output.contains("pending"))
        }
    }

    @Test("camera add, list and rm talk to the database directly")
    func cameraCommands() async throws {
        try await TestDatabases.shared.withDatabase { location in
            let data = try TestPaths.temporaryFolder("vigil-camera-cli")
            defer { try? FileManager.default.removeItem(at: data) }
            let environment = ["VIGIL_DATABASE_URL": url(location), "VIGIL_DATA_DIR": data.path]

            let added = try await LaunchedProcess.run(vigil, ["camera", "add", "--name", "Back Yard", "--rtsp-url",
                                                              "rtsp://admin:pw@10.1.1.1/s1"], environment: environment)
            #expect(added.status == 0, "\(added.output)")
            #expect(added.output.contains("back_yard  rtsp"))

            let duplicate = try await LaunchedProcess.run(vigil, ["camera", "add", "--name", "back-yard"], environment: environment)
            #expect(duplicate.status != 0)
            #expect(duplicate.output.contains("already exists"))

            let invalid = try await LaunchedProcess.run(vigil, ["camera", "add", "--name", "X", "--kind", "rtsp", "--fps", "0"],
                                                        environment: environment)
            #expect(invalid.status == 2)
            #expect(invalid.output.contains("rtsp_url"))
            #expect(invalid.output.contains("fps"))

            let listed = try await LaunchedProcess.run(vigil, ["camera", "list"], environment: environment)
            #expect(listed.output.contains("back_yard"))
            #expect(listed.output.contains("rtsp://admin:***@10.1.1.1/s1"))
            #expect(!listed.output.contains(":pw@"))

            let removed = try await LaunchedProcess.run(vigil, ["camera", "rm", "back_yard"], environment: environment)
            #expect(removed.status == 0)
            let gone = try await LaunchedProcess.run(vigil, ["camera", "rm", "back_yard"], environment: environment)
            #expect(gone.status != 0)
            #expect(gone.output.contains("no camera 'back_yard'"))
        }
    }
}
