import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport
import VigilVision

/// The live feed: WebSocket clients hear what any Vigil process on the database announces,
/// for the sites they may see; a client that cannot keep up is dropped.
@Suite("Live updates over WebSocket")
struct LiveUpdatesTests {
    /// Messages a client received.
    final class Inbox: Sendable {
        private let messages = Mutex<[JSONValue]>([])
        func append(_ message: JSONValue) { messages.withLock { $0.append(message) } }
        var all: [JSONValue] { messages.withLock { $0 } }
        var types: [String] { all.compactMap { $0.objectValue?["type"]?.stringValue } }
        func first(_ type: String) -> [String: JSONValue]? {
            all.first { $0.objectValue?["type"]?.stringValue == type }?.objectValue?["data"]?.objectValue
        }
    }

    /// Connects to `url` with `headers` and collects messages into `inbox` until `done` holds
    /// (then closes) or the server ends the connection. Returns the close frame.
    @discardableResult
    static func listen(_ url: String, headers: HTTPFields, inbox: Inbox, timeout: Duration = .seconds(60),
                       until done: @escaping @Sendable (Inbox) -> Bool) async throws -> WebSocketCloseFrame? {
        try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
            group.addTask {
                try await WebSocketClient.connect(url: url, configuration: .init(additionalHeaders: headers),
                                                  logger: Logger(label: "ws-test")) { inbound, outbound, _ in
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        inbox.append((try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null)
                        if done(inbox) {
                            try await outbound.close(.normalClosure, reason: nil)
                            return
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TestAppError("no such message within \(timeout): got \(inbox.types)")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    static func seedEvent(_ database: Database, camera: UUID, announce kind: String = "event.created") async throws -> UUID {
        let id = UUIDv7Generator().next()
        try await database.transaction { connection in
            try await connection.query("""
                INSERT INTO events (id, batch_id, camera_id, event_type, started_at, summary, place)
                VALUES (\(id), \(UUID()), \(camera), 'human_detected', now(), 'Person at the gate', '')
                """, logger: TestApp.logger)
            try await EventRepository(connection, logger: TestApp.logger).announce(kind, id: id, cameraId: camera)
        }
        return id
    }

    @Test("an announced event reaches a connected client with the event itself; a client without credentials is refused")
    func delivery() async throws {
        try await TestApp.run(live: true) { app in
            let port = try #require(app.client.port)
            let camera = UUID(uuidString: try await app.createCamera(#"{"name":"Gate"}"#))!
            let inbox = Inbox()
            async let closed = Self.listen("ws://localhost:\(port)/api/v1/ws", headers: [.xAPIKeyForTests: app.adminKey], inbox: inbox) {
                $0.types.contains("event.created")
            }
            try await eventually("the client is connected") { inbox.types.contains("hello") }
            let id = try await Self.seedEvent(app.database, camera: camera)
            _ = try await closed
            let data = try #require(inbox.first("event.created"))
            #expect(data["id"]?.stringValue?.lowercased() == id.uuidString.lowercased() && data["summary"] == .string("Person at the gate"))
            #expect(data["camera_name"] == .string("Gate"))

            await #expect(throws: (any Error).self) {
                try await Self.listen("ws://localhost:\(port)/api/v1/ws", headers: [:], inbox: Inbox(), timeout: .seconds(10)) { _ in true }
            }
            let plain = try await app.call(.get, "/api/v1/ws")
            #expect(plain.status.code == 426 && plain.errorCode == "upgrade_required")
        }
    }

    @Test("a WebSocket opened with the session cookie must come from Vigil's own page (Python's websockets library as the client); a bearer token needs no Origin")
    func webSocketOrigin() async throws {
        try await TestApp.run(live: true) { app in
            let port = try #require(app.client.port)
            _ = try await AccessControlTests().makeUser(app, username: "wendy", role: "viewer")
            let token = try #require(try await AccessControlTests().login(app, "wendy", "correct horse battery").string("token"))
            /// What a client of the `websockets` library sees when it opens the feed with `headers`
            /// and `origin` (none when empty): the first message's type, or the refusal's status.
            func open(origin: String, _ headers: [String: String]) async throws -> String {
                let script = """
                    import json, sys
                    from websockets.sync.client import connect
                    from websockets.exceptions import InvalidStatus
                    origin, headers = sys.argv[2] or None, json.loads(sys.argv[3])
                    try:
                        with connect(sys.argv[1], origin=origin, additional_headers=headers) as socket:
                            print("message", json.loads(socket.recv(timeout=10))["type"])
                    except InvalidStatus as refusal:
                        print("refused", refusal.response.status_code)
                    """
                let headerJSON = String(decoding: try JSONEncoder().encode(headers), as: UTF8.self)
                let run = try await LaunchedProcess.run(TestPaths.packageRoot.appendingPathComponent(".vendor/python/bin/python"),
                                                        ["-c", script, "ws://localhost:\(port)/api/v1/ws", origin, headerJSON], timeout: .seconds(60))
                return run.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let cookie = ["Cookie": "vigil_session=\(token)"]
            let evil = try await open(origin: "https://evil.example", cookie)
            // The upgrade library answers a refused upgrade with its own 4xx.
            #expect(evil.hasPrefix("refused 4"), "another site's page cannot listen with the visitor's cookie: \(evil)")
            let unnamed = try await open(origin: "", cookie)
            #expect(unnamed.hasPrefix("refused 4"), "nor can a request that names no origin: \(unnamed)")
            #expect(try await open(origin: "http://localhost:\(port)", cookie) == "message hello", "Vigil's own page can")
            #expect(try await open(origin: "", ["Authorization": "Bearer \(token)"]) == "message hello", "a token is no ambient credential")
        }
    }

    @Test("a live connection is closed by the server when its session ends, its key is revoked, or its user's sites change")
    func followsTheCredential() async throws {
        try await TestApp.run(live: true) { app in
            let port = try #require(app.client.port)
            let url = "ws://localhost:\(port)/api/v1/ws"
            let site = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Depot"}"#).string("id"))
            let user = try await AccessControlTests().makeUser(app, username: "sid", role: "viewer")
            try await app.database.execute("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(user.id), \(UUID(uuidString: site)!))")
            /// Opens the feed with `headers`, does `change` once it says hello, and waits for the
            /// server to close the connection (the client never does; a connection left open fails
            /// the test when `listen` gives up). The close frame's code.
            func closes(_ headers: HTTPFields, after change: @escaping @Sendable () async throws -> Void) async throws -> Bool {
                let inbox = Inbox()
                async let closed = Self.listen(url, headers: headers, inbox: inbox, timeout: .seconds(60)) { _ in false }
                try await eventually("the client is connected") { inbox.types.contains("hello") }
                try await change()
                return try await closed?.closeCode == .policyViolation
            }
            let token = try #require(try await AccessControlTests().login(app, "sid", "correct horse battery").string("token"))
            let signedOut = try await closes([.authorization: "Bearer \(token)"]) {
                let status = try await app.call(.post, "/api/v1/auth/logout", as: .bearer(token)).status
                #expect(status == .noContent)
            }
            #expect(signedOut, "signed out: closed as a policy violation (1008)")

            let again = try #require(try await AccessControlTests().login(app, "sid", "correct horse battery").string("token"))
            let moved = try await closes([.authorization: "Bearer \(again)"]) {
                try await app.database.execute("DELETE FROM user_site_assignments WHERE user_id = \(user.id)")
            }
            #expect(moved, "sites changed")

            let key = try await app.apiKey(role: "viewer", name: "dashboard")
            let revoked = try await closes([.xAPIKeyForTests: key]) {
                _ = try await Accounts.revokeAPIKey(reference: APIKeyToken.displayPrefix(key), actor: "tests", database: app.database,
                                                    logger: TestApp.logger)
            }
            #expect(revoked, "key revoked")
        }
    }

    @Test("a raised alert and its acknowledgement reach a connected client, with the alert itself")
    func alerts() async throws {
        try await TestApp.run(live: true) { app in
            let port = try #require(app.client.port)
            let camera = UUID(uuidString: try await app.createCamera(#"{"name":"Gate"}"#))!
            _ = try await app.createRule(#"{"name":"Anything at the gate","severity":"high"}"#)
            let inbox = Inbox()
            async let closed = Self.listen("ws://localhost:\(port)/api/v1/ws", headers: [.xAPIKeyForTests: app.adminKey], inbox: inbox) {
                $0.types.contains("alert.updated")
            }
            try await eventually("the client is connected") { inbox.types.contains("hello") }
            let eventId = try await Self.seedEvent(app.database, camera: camera)
            try await app.database.transaction { connection in
                try await AlertEvaluation.queue(eventId: eventId, on: connection, at: app.clock.now, logger: TestApp.logger)
            }
            let evaluate = EvaluateAlertsHandler(database: app.database, now: { app.clock.now })
            let worker = JobWorker(settings: .init(workerId: "live-alerts"), handlers: [evaluate], database: app.database,
                                   now: { app.clock.now }, logger: TestApp.logger)
            #expect(try await worker.runNext(evaluate))
            try await eventually("alert.created arrives") { inbox.types.contains("alert.created") }
            let created = try #require(inbox.first("alert.created"))
            #expect(created["rule_name"] == .string("Anything at the gate") && created["severity"] == .string("high"))
            #expect(created["camera_name"] == .string("Gate") && created["status"] == .string("delivered"))
            let id = try #require(created["id"]?.stringValue)
            #expect(try await app.call(.patch, "/api/v1/alerts/\(id)", json: #"{"action":"acknowledge","version_id":1}"#).status == .ok)
            _ = try await closed
            #expect(try #require(inbox.first("alert.updated"))["status"] == .string("acknowledged"))
        }
    }

    @Test("a viewer of site A hears site A's events and camera changes, and nothing of site B")
    func siteIsolation() async throws {
        try await TestApp.run(live: true) { app in
            let port = try #require(app.client.port)
            let siteA = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Site A"}"#).string("id"))
            let siteB = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Site B"}"#).string("id"))
            let cameraA = UUID(uuidString: try await app.createCamera(#"{"name":"Cam A","site_id":"\#(siteA)"}"#))!
            let cameraB = UUID(uuidString: try await app.createCamera(#"{"name":"Cam B","site_id":"\#(siteB)"}"#))!
            let viewer = try await Accounts.createUser(username: "vera", email: "vera@example.test", password: "correct horse battery",
                                                       roleName: "viewer", actor: "tests", database: app.database, logger: TestApp.logger)
            try await app.database.transaction { connection in
                try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(viewer.id), \(UUID(uuidString: siteA)!))",
                                           logger: TestApp.logger)
            }
            let token = try #require(try await app.call(.post, "/api/v1/auth/login",
                                                        json: #"{"login":"vera","password":"correct horse battery"}"#, as: .anonymous).string("token"))
            let inbox = Inbox()
            async let closed = Self.listen("ws://localhost:\(port)/api/v1/ws", headers: [.authorization: "Bearer \(token)"], inbox: inbox) {
                $0.types.filter { $0 != "hello" && $0 != "heartbeat" }.count >= 2
            }
            try await eventually("the client is connected") { inbox.types.contains("hello") }
            _ = try await Self.seedEvent(app.database, camera: cameraB)
            let seen = try await Self.seedEvent(app.database, camera: cameraA)
            try await app.call(.patch, "/api/v1/cameras/\(cameraB.uuidString)", json: #"{"status":"maintenance"}"#)
            try await app.call(.patch, "/api/v1/cameras/\(cameraA.uuidString)", json: #"{"status":"maintenance"}"#)
            _ = try await closed
            let heard = inbox.all.filter { !["hello", "heartbeat"].contains($0.objectValue?["type"]?.stringValue ?? "") }
            #expect(heard.compactMap { $0.objectValue?["type"]?.stringValue } == ["event.created", "camera.status"])
            #expect(inbox.first("event.created")?["id"]?.stringValue?.lowercased() == seen.uuidString.lowercased())
            #expect(inbox.first("camera.status")?["status"] == .string("maintenance"))
            #expect(inbox.first("camera.status")?["id"]?.stringValue?.lowercased() == cameraA.uuidString.lowercased())
        }
    }

    @Test("a client that stops reading is dropped once its queue is full; the others go on")
    func slowClient() async throws {
        var settings = LiveFeed.Settings()
        settings.queueLimit = 3
        try await TestDatabases.shared.withDatabase { location in
            let database = Database(location: location, maximumConnections: 2, logger: TestApp.logger)
            let feed = LiveFeed(database: database, settings: settings, logger: TestApp.logger)
            let stalled = feed.subscribe(.allSites)
            let reader = feed.subscribe(.allSites)
            let siteOnly = feed.subscribe(.sites([UUID()]))
            var received: [String] = []
            var iterator = reader.messages.makeAsyncIterator()
            for index in 0..<5 {
                feed.broadcast("m\(index)", site: UUID())
                received.append(await iterator.next() ?? "")
            }
            #expect(received == ["m0", "m1", "m2", "m3", "m4"])
            #expect(stalled.isOverflowed() && !reader.isOverflowed())
            var stalledMessages: [String] = []
            for await message in stalled.messages { stalledMessages.append(message) }
            #expect(stalledMessages == ["m0", "m1", "m2"], "what was queued is delivered, then the stream ends")
            #expect(feed.subscriberCount == 2)
            var other = siteOnly.messages.makeAsyncIterator()
            feed.broadcast("everyone", site: nil)
            #expect(await other.next() == "everyone", "a message for no site in particular (a heartbeat) goes to all")
        }
    }

    @Test("end to end across processes: a photo uploaded to an API process is analysed and judged by a worker process, and the event reaches the API process's WebSocket client")
    func acrossProcesses() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Front Door","config":{"motion":{"enabled":false}}}"#)
            let cameraId = try #require(created.string("id"))
            let token = try #require(created.string("device_token"))
            try await app.call(.post, "/api/v1/cameras/\(cameraId)/zones", json: """
                {"name":"Porch","zone_type":"entry_point","coordinates":[[0,0],[1,0],[1,1],[0,1]],"shape":"polygon"}
                """)
            let environment = ["VIGIL_DATABASE_URL": ProcessTests.databaseURL(app.database.location), "VIGIL_DATA_DIR": app.media.root.path,
                               "VIGIL_INFERENCE_THREADS": "1"]
            let apiPort = try freeLocalPort()
            let api = try LaunchedProcess.launch(TestPaths.vigilExecutable, ["serve", "--role", "api"],
                                                 environment: environment.merging(["VIGIL_PORT": "\(apiPort)"]) { $1 })
            let worker = try LaunchedProcess.launch(TestPaths.vigilExecutable, ["serve", "--role", "worker"],
                                                    environment: environment.merging(["VIGIL_PORT": "\(try freeLocalPort())"]) { $1 })
            defer {
                api.signal(SIGKILL)
                worker.signal(SIGKILL)
            }
            try await ProcessTests().waitUntilReady(port: apiPort, api)

            let inbox = Inbox()
            async let closed = Self.listen("ws://127.0.0.1:\(apiPort)/api/v1/ws", headers: [.xAPIKeyForTests: app.adminKey], inbox: inbox,
                                           timeout: .seconds(120)) { $0.types.contains("event.created") }
            try await eventually("the client is connected", timeout: .seconds(30)) { inbox.types.contains("hello") }
            var upload = HTTPClientRequest(url: "http://127.0.0.1:\(apiPort)/api/v1/ingest/frame")
            upload.method = .POST
            upload.headers.add(name: "Content-Type", value: "image/jpeg")
            upload.headers.add(name: "X-Device-Token", value: token)
            upload.body = .bytes(ByteBuffer(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/person.jpg")))))
            let accepted = try await HTTPClient.shared.execute(upload, timeout: .seconds(10))
            #expect(accepted.status.code == 202 || accepted.status.code == 201)
            _ = try await closed

            let event = try #require(inbox.first("event.created"))
            #expect(event["is_fast_path"] == .bool(true) && event["event_type"] == .string("human_detected"))
            #expect(event["summary"]?.stringValue?.hasPrefix("Person") == true, "\(event["summary"] ?? .null)")
            #expect(event["risk_score"]?.numberValue != nil && event["risk_level"] != nil)
            let id = try #require(event["id"]?.stringValue)
            var image = HTTPClientRequest(url: "http://127.0.0.1:\(apiPort)/api/v1/events/\(id)/images/annotated")
            image.headers.add(name: "X-API-Key", value: app.adminKey)
            let annotated = try await HTTPClient.shared.execute(image, timeout: .seconds(10))
            #expect(annotated.status.code == 200)
            let bytes = try await annotated.body.collect(upTo: 8 << 20)
            let decoded = try JPEGDecoder.decode(Array(buffer: bytes))
            #expect(decoded.width == 640 && decoded.height == 424)
        }
    }
}
