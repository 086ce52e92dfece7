import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Health, metrics, request ids, errors, OpenAPI")
struct PlatformTests {
    @Test("liveness and readiness with a healthy database")
    func health() async throws {
        try await TestApp.run { app in
            let live = try await app.call(.get, "/health/live")
            #expect(live.status == .ok)
            #expect(live.string("status") == "alive")
            let ready = try await app.call(.get, "/health/ready")
            #expect(ready.status == .ok)
            #expect(ready.string("status") == "ready")
            #expect(ready["checks"] == .object(["database": .string("ok"), "migrations": .string("ok")]))
        }
    }

    @Test("readiness says not ready when the database is down; liveness stays up")
    func databaseDown() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let nowhere = DatabaseLocation(endpoint: .unixSocket(path: "/tmp/vigil-no-such-server/.s.PGSQL.5432"),
                                       username: "vigil", password: nil, database: "vigil", tls: .disable)
        let database = Database(location: nowhere, maximumConnections: 1, acquireTimeout: .milliseconds(500), logger: logger)
        let services = AppServices(database: database, secrets: try SecretBox(key: SymmetricKey(size: .bits256)),
                                   media: FileSystemMediaStore(root: URL(fileURLWithPath: "/nonexistent")))
        let router = VigilApplication.buildRouter(services, logger: logger).router
        let app = Application(router: router, services: [database.client], logger: logger)
        try await app.test(.router) { client in
            let ready = try await client.execute(uri: "/health/ready", method: .get)
            #expect(ready.status == .serviceUnavailable)
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: ready.body))
            #expect(body.objectValue?["status"] == .string("not_ready"))
            guard case .string(let check)? = body.objectValue?["checks"]?.objectValue?["database"] else {
                Issue.record("no database check"); return
            }
            #expect(check.hasPrefix("unreachable"))
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)

            let cameras = try await client.execute(uri: "/api/v1/cameras", method: .get)
            #expect(cameras.status == .serviceUnavailable)
            #expect(String(buffer: cameras.body).contains("database_unavailable"))
        }
    }

    @Test("every response carries a request id; a sane client id is echoed, a hostile one replaced")
    func requestIds() async throws {
        try await TestApp.run { app in
            let generated = try await app.call(.get, "/health/live")
            #expect(UUID(uuidString: generated.headers[.xRequestIdForTests] ?? "") != nil)
            let echoed = try await app.call(.get, "/health/live", headers: [.xRequestIdForTests: "trace-42.a_b"])
            #expect(echoed.headers[.xRequestIdForTests] == "trace-42.a_b")
            let hostile = try await app.call(.get, "/health/live", headers: [.xRequestIdForTests: "x\" level=critical"])
            #expect(hostile.headers[.xRequestIdForTests] != "x\" level=critical")
            let failing = try await app.call(.get, "/api/v1/cameras/nope")
            #expect(failing.headers[.xRequestIdForTests] != nil, "errors carry the id too")
        }
    }

    @Test("unknown routes and methods answer in the error shape")
    func unknownRoutes() async throws {
        try await TestApp.run { app in
            let missing = try await app.call(.get, "/api/v1/nothing-here")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "route_not_found")
            let wrongMethod = try await app.call(.put, "/api/v1/cameras")
            #expect(wrongMethod.status.code == 404 || wrongMethod.status.code == 405)
            #expect(wrongMethod.errorCode != nil)
        }
    }

    @Test("metrics count requests by route pattern and status, and show the pool")
    func metrics() async throws {
        try await TestApp.run { app in
            _ = try await app.createCamera(#"{"name":"Metered"}"#)
            _ = try await app.call(.get, "/api/v1/cameras/metered")
            _ = try await app.call(.get, "/api/v1/cameras/unmetered")
            let reply = try await app.call(.get, "/metrics")
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = reply.text
            #expect(text.contains(#"vigil_http_requests_total{method="GET",route="/api/v1/cameras/{camera}",status="200"} 1"#))
            #expect(text.contains(#"vigil_http_requests_total{method="GET",route="/api/v1/cameras/{camera}",status="404"} 1"#))
            #expect(text.contains(#"vigil_http_requests_total{method="POST",route="/api/v1/cameras",status="201"} 1"#))
            #expect(text.contains("vigil_http_request_duration_seconds_bucket"))
            #expect(text.contains("vigil_db_pool_max_connections 4"))
            #expect(text.contains("vigil_db_pool_acquired_total"))
            #expect(!text.contains("/api/v1/cameras/metered"), "raw paths never become labels")
        }
    }

    @Test("the OpenAPI document and the router list exactly the same routes")
    func openAPIParity() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let database = Database(location: DatabaseLocation(endpoint: .unixSocket(path: "/nonexistent"), username: "x",
                                                           password: nil, database: "x", tls: .disable), logger: logger)
        let services = AppServices(database: database, secrets: try SecretBox(key: SymmetricKey(size: .bits256)),
                                   media: FileSystemMediaStore(root: URL(fileURLWithPath: "/nonexistent")))
        let (router, policy) = VigilApplication.buildRouter(services, logger: logger)
        let routed = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })

        let app = Application(router: router, logger: logger)
        let served = try await app.test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get)
        }
        #expect(served.status == .ok)
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: served.body))
        #expect(document.objectValue?["openapi"] == .string("3.1.0"))
        var documented = Set<String>()
        for (path, item) in document.objectValue?["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        #expect(routed.subtracting(documented).isEmpty, "routes missing from openapi.json: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented routes that do not exist: \(documented.subtracting(routed).sorted())")
        #expect(routed.count >= 28)

        // Deny by default: every route declares who may call it, and nothing is declared that is not routed.
        let declared = Set(policy.all.keys)
        #expect(routed.subtracting(declared).isEmpty, "routes without an access declaration: \(routed.subtracting(declared).sorted())")
        #expect(declared.subtracting(routed).isEmpty, "declarations without a route: \(declared.subtracting(routed).sorted())")
        let open = policy.all.filter { $0.value == .open }.keys.sorted()
        #expect(open == ["GET /api/v1/setup", "GET /health/live", "GET /health/ready", "GET /openapi.json", "POST /api/v1/auth/login",
                         "POST /api/v1/setup"],
                "routes open to anonymous callers are exactly these")
    }
}

extension HTTPField.Name {
    static let xRequestIdForTests = Self("X-Request-Id")!
}
