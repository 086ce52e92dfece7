import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import Testing
import VigilCore
@testable import VigilServer
import VigilTestSupport

/// The web UI's delivery and first run: its files with caching and a strict Content-Security-
/// Policy, the first administrator created with the one-time setup token, and cookie sessions
/// that cannot be used by another site's page to change anything.
@Suite("Web UI: delivery, first run, cookie safety")
struct WebUITests {

    @Test("the UI's files come with a strict CSP, revalidation by ETag and their types; nothing outside Public is served")
    func delivery() async throws {
        try await TestApp.run { app in
            let page = try await app.call(.get, "/", as: .anonymous)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(page.headers[.cacheControl] == "no-cache, private")
            #expect(!page.text.contains("<script>") && !page.text.contains("style="), "no inline script or style for the CSP to refuse")
            let script = try await app.call(.get, "/app.js", as: .anonymous)
            #expect(script.headers[.contentType]?.contains("javascript") == true)
            let etag = try #require(script.headers[.eTag])
            let again = try await app.call(.get, "/app.js", headers: [.ifNoneMatch: etag], as: .anonymous)
            #expect(again.status == .notModified)
            for path in ["/../Package.swift", "/%2e%2e/Package.swift", "/..%2fPackage.swift"] {
                let outside = try await app.call(.get, path, as: .anonymous)
                #expect([.notFound, .badRequest].contains(outside.status) && !outside.text.contains("PackageDescription"), "\(path): \(outside.status) \(outside.text.prefix(80))")
            }
            // The API's answers carry the same protections.
            let api = try await app.call(.get, "/api/v1/cameras")
            #expect(api.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }

    @Test("the pages stay within their budget and put nothing into the page as HTML")
    func budget() throws {
        let folder = TestPaths.packageRoot.appendingPathComponent("Public")
        let files = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".js") || $0.hasSuffix(".css") }
        let bytes = try files.reduce(0) { $0 + (try Data(contentsOf: folder.appendingPathComponent($1)).count) }
        #expect(!files.isEmpty && bytes < 150_000, "all JS and CSS: \(bytes) bytes")
        for file in files where file.hasSuffix(".js") {
            let source = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                #expect(!source.contains(sink), "\(file) uses \(sink)")
            }
        }
    }

    @Test("the first administrator needs the setup token of the log; it works once; then setup is over")
    func firstRun() async throws {
        try await TestApp.run(withAdministrator: false) { app in
            #expect(app.setupToken.isIssued, "issued at start, while nobody exists")
            #expect(try await app.call(.get, "/api/v1/setup", as: .anonymous)["setup_required"] == .bool(true))
            #expect(try await app.call(.get, "/api/v1/cameras", as: .anonymous).errorCode == "setup_required")
            let token = app.setupToken.issue()
            func setUp(_ token: String, password: String = "correct horse battery") async throws -> TestApp.Reply {
                try await app.call(.post, "/api/v1/setup", json: """
                    {"setup_token":"\(token)","username":"owner","email":"owner@example.test","password":"\(password)"}
                    """, as: .anonymous)
            }
            let wrong = try await setUp("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            #expect(wrong.status == .forbidden && wrong.errorCode == "invalid_setup_token")
            #expect(try await setUp(token, password: "short").errorCode == "validation_failed", "a weak password keeps the token good")
            let created = try await setUp(token.lowercased())
            #expect(created.status == .created && created.string("role") == "super_admin", "\(created.text)")
            #expect(!created.text.contains("correct horse"))
            #expect(try await app.call(.get, "/api/v1/setup", as: .anonymous)["setup_required"] == .bool(false))
            #expect(try await setUp(token).errorCode == "setup_complete")
            let signedIn = try await AccessControlTests().login(app, "owner", "correct horse battery")
            #expect(signedIn.status == .ok)
            let audited = try await app.database.scalar("""
                SELECT count(*)::int8 FROM audit_logs WHERE action = 'user_created' AND actor LIKE 'setup:%'
                """, as: Int.self)
            #expect(audited == 1)
        }
    }

    @Test("a change signed in by cookie must come from Vigil's own page, named by the address the browser used (a LAN name over plain HTTP too); reading, bearer tokens and keys are not affected")
    func crossSiteRequests() async throws {
        try await TestApp.run(live: true) { app in
            _ = try await AccessControlTests().makeUser(app, username: "olivia", role: "super_admin")
            let token = try #require(try await AccessControlTests().login(app, "olivia", "correct horse battery").string("token"))
            let port = try #require(app.client.port)
            /// A camera made with the cookie over a real connection, whose Host header (the request's
            /// authority, as for a browser) and other headers are the test's.
            func create(_ name: String, _ headers: [String: String]) async throws -> (status: Int, body: String) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/cameras")
                request.method = .POST
                request.headers.add(name: "Cookie", value: "vigil_session=\(token)")
                request.headers.add(name: "Content-Type", value: "application/json")
                for (field, value) in headers { request.headers.replaceOrAdd(name: field, value: value) }
                request.body = .bytes(ByteBuffer(string: #"{"name":"\#(name)"}"#))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
            }
            let forged = try await create("Porch", ["Sec-Fetch-Site": "cross-site", "Origin": "http://nvr.lan:8080", "Host": "nvr.lan:8080"])
            #expect(forged.status == 403 && forged.body.contains("csrf_rejected"), "Sec-Fetch-Site, where sent, decides")
            let foreign = try await create("Porch", ["Origin": "https://evil.example", "Host": "vigil.home:8080"])
            #expect(foreign.body.contains("csrf_rejected"))
            let otherPort = try await create("Porch", ["Origin": "http://nvr.lan:9000", "Host": "nvr.lan:8080"])
            #expect(otherPort.body.contains("csrf_rejected"), "another service on the same box is another origin")
            let proxied = try await create("Porch", ["Origin": "https://evil.example", "Host": "nvr.lan:8080", "X-Forwarded-Host": "evil.example"])
            #expect(proxied.body.contains("csrf_rejected"), "X-Forwarded-Host counts only from a configured proxy")
            let bare = try await create("Porch", [:])
            #expect(bare.body.contains("csrf_rejected"), "no Origin, no Sec-Fetch-Site: not from a page of Vigil's")
            #expect(try await app.call(.get, "/api/v1/cameras", as: .headers([.cookie: "vigil_session=\(token)"])).status == .ok)
            // A plain-HTTP page on a LAN name sends Origin and no Sec-Fetch-Site (not a secure context).
            let lan = try await create("Porch", ["Origin": "http://nvr.lan:8080", "Host": "nvr.lan:8080"])
            #expect(lan.status == 201, "\(lan.body)")
            let defaultPort = try await create("Shed", ["Origin": "http://NVR.lan", "Host": "nvr.lan"])
            #expect(defaultPort.status == 201, "a port left out is the scheme's; names compare without case: \(defaultPort.body)")
            let fetched = try await create("Gate", ["Sec-Fetch-Site": "same-origin"])
            #expect(fetched.status == 201)
            #expect(try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Yard"}"#, as: .bearer(token)).status == .created)
        }
    }

    @Test("in a real browser: first run with the log's token; a frame reaches the live timeline; boxes, inbox, zones and faces work; HTML in a name stays text; a phone fits",
          .timeLimit(.minutes(5)))
    func browser() async throws {
        let data = try TestPaths.temporaryFolder("vigil-ui")
        defer { try? FileManager.default.removeItem(at: data) }
        let screenshots = TestPaths.packageRoot.appendingPathComponent(".build/ui-screenshots")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
        let port = try freeLocalPort()
        // Events close after 2 s without detections, so the frame's event is judged (and announced) at once.
        let server = try LaunchedProcess.launch(TestPaths.vigilExecutable, ["serve"], environment: [
            "VIGIL_DATA_DIR": data.path, "VIGIL_PORT": "\(port)", "VIGIL_EVENT_IDLE": "2", "VIGIL_INFERENCE_THREADS": "1",
        ])
        defer { server.signal(SIGKILL) }
        try await ProcessTests().waitUntilReady(port: port, server)
        let token = try #require(server.output.firstMatch(of: /setup token: ([A-Z2-7]+)/)?.1, "\(server.output)")
        let python = TestPaths.packageRoot.appendingPathComponent(".vendor/python/bin/python")
        let scripts = TestPaths.packageRoot.appendingPathComponent("Tests/VigilServerTests/Fixtures/ui")
        // A LAN name over plain HTTP, as a home user opens Vigil: not a secure context, so the
        // browser sends Origin and no Sec-Fetch-Site (chromium.py maps *.lan to this machine).
        let base = "http://vigil.lan:\(port)"

        let firstRun = try await LaunchedProcess.run(python, [scripts.appendingPathComponent("first_run.py").path, base, String(token),
                                                              screenshots.path], timeout: .seconds(150))
        let first = try Self.report(firstRun)
        #expect(first["wrong_token_error"]?.stringValue?.contains("setup token") == true, "\(first)")
        #expect(first["who"]?.stringValue?.hasPrefix("owner (super_admin)") == true)
        #expect(first["camera_created_status"] == .number(201), "a same-origin change made with the cookie is accepted")
        #expect(first["camera_names"] == .array([.string("<img src=x onerror=alert(1)>")]), "shown as text")
        #expect(first["injected_images"] == .number(0) && first["alert"] == .null, "and no script ran")
        #expect(first["headings"] == .array([.string("Overview")]))
        #expect(first["phone_scroll_width"] == first["phone_client_width"], "nothing wider than a phone: \(first)")
        #expect(first["console_errors"] == .array([]), "no CSP refusal or script error: \(first)")

        let day = try await LaunchedProcess.run(python, [
            scripts.appendingPathComponent("daily_use.py").path, base, "owner", "correct horse battery",
            "/usr/share/darknet/data/person.jpg", TestPaths.packageRoot.appendingPathComponent(".vendor/faces/Female_40_1_1_1.jpg").path,
            "/usr/share/darknet/data/horses.jpg", screenshots.path,
        ], timeout: .seconds(240))
        let seen = try Self.report(day)
        #expect(seen["device_token_shown"] == .bool(true) && seen["token_in_camera_json"] == .bool(false), "\(seen)")
        let rule = seen["rule"]?.objectValue ?? [:]
        #expect(rule["object_types"] == .array([.string("person")]) && rule["camera_ids"]?.arrayValue?.count == 1 && rule["severity"] == .string("high")
                && rule["risk_threshold"] == .number(0) && rule["schedule"] == .null && rule["cooldown_seconds"] == .number(300), "\(rule)")
        #expect(seen["ingest_status"] == .number(201))
        #expect(seen["no_reload"] == .bool(true), "the event reached the open page: \(seen)")
        #expect(seen["timeline_text"]?.stringValue?.contains("Front Door") == true)
        #expect(seen["camera_frame_width"] == .number(640), "the camera's card shows its latest frame")
        #expect(seen["detections"]?.numberValue ?? 0 >= 1 && seen["boxes"] == seen["detections"], "one box per detection: \(seen)")
        #expect(seen["trace_items"]?.numberValue ?? 0 >= 1, "the decision trace is listed")
        #expect(seen["alert_status_after_ack"] == .string("acknowledged"))
        #expect(seen["phone_scroll_width"] == seen["phone_client_width"] && seen["phone_button_inside"] == .bool(true), "\(seen)")
        #expect(seen["alert_status_after_resolve"] == .string("resolved"))
        #expect(seen["handles"] == .number(4) && seen["zone_name"] == .string("Porch"))
        #expect((seen["zone_error"]?.numberValue ?? 1) < 0.01, "stored where it was drawn: \(seen["zone_points"] ?? .null)")
        #expect(seen["refusal"]?.stringValue?.contains("No face") == true, "\(seen)")
        #expect(seen["faces_enrolled"] == .number(1))
        #expect(seen["dry_run"]?.stringValue?.hasPrefix("1 of the last") == true, "\(seen)")
        #expect(seen["api_key_works"] == .bool(true))
        #expect(seen["pages_failed"] == .array([]))
        #expect(seen["theme"] == .string("light"))
        #expect(seen["forged_logout"] == .string("sent") && seen["signed_in_after_forgery"] == .bool(true),
                "a change from another origin is refused: \(seen["forged_logout"] ?? .null)")
        #expect(seen["console_errors"] == .array([]), "no CSP refusal or script error: \(seen)")
        for name in ["setup", "overview", "overview-phone", "event", "events", "alerts", "alerts-phone", "zone-editor", "person", "admin"] {
            #expect(FileManager.default.fileExists(atPath: screenshots.appendingPathComponent("\(name).png").path), "\(name)")
        }
        server.signal(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))
    }

    /// The JSON a browser script printed last, once it exited cleanly.
    static func report(_ run: (status: Int32, output: String)) throws -> [String: JSONValue] {
        #expect(run.status == 0, "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(run.output)")
        return try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)).objectValue ?? [:]
    }
}
