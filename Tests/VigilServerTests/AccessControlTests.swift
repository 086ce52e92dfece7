import Crypto
import Foundation
import HTTPTypes
import Logging
import NIOCore
import PostgresNIO
import Testing
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Access control: setup, roles, API keys, sign-in, audit")
struct AccessControlTests {
    /// A user who can sign in with `password`.
    func makeUser(_ app: TestApp, username: String, role: String, password: String = "correct horse battery") async throws -> User {
        try await Accounts.createUser(username: username, email: "\(username)@example.test", password: password, roleName: role,
                                      actor: "tests", database: app.database, logger: TestApp.logger)
    }

    func login(_ app: TestApp, _ login: String, _ password: String, code: String? = nil) async throws -> TestApp.Reply {
        var body: [String: JSONValue] = ["login": .string(login), "password": .string(password)]
        if let code { body["totp_code"] = .string(code) }
        let json = String(decoding: try JSONEncoder().encode(JSONValue.object(body)), as: UTF8.self)
        return try await app.call(.post, "/api/v1/auth/login", json: json, as: .anonymous)
    }

    @Test("before the first administrator exists, only health and sign-in answer")
    func setupRequired() async throws {
        try await TestApp.run(withAdministrator: false) { app in
            let cameras = try await app.call(.get, "/api/v1/cameras", as: .anonymous)
            #expect(cameras.status == .serviceUnavailable)
            #expect(cameras.errorCode == "setup_required")
            #expect(try await app.call(.get, "/health/live", as: .anonymous).status == .ok)
            #expect(try await app.call(.get, "/openapi.json", as: .anonymous).status == .ok)
            let signIn = try await login(app, "nobody", "whatever-password")
            #expect(signIn.errorCode == "invalid_credentials")
        }
    }

    @Test("no credentials: 401; a wrong key: 401 and one audit row a minute per address; a revoked key fails at once")
    func credentials() async throws {
        try await TestApp.run { app in
            let anonymous = try await app.call(.get, "/api/v1/cameras", as: .anonymous)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.errorCode == "authentication_required")

            let forged = APIKeyToken.generate()
            let wrong = try await app.call(.get, "/api/v1/cameras", as: .apiKey(forged))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "invalid_api_key")
            #expect(try await app.call(.get, "/api/v1/cameras", as: .apiKey("not-a-key")).errorCode == "invalid_api_key")
            let rejected = try await app.call(.get, "/api/v1/audit-logs?action=api_key_rejected")
            #expect(rejected.items.count == 1, "the second guess from the same address within a minute is counted, not written")

            let key = try await app.apiKey(role: "viewer", name: "doomed")
            #expect(try await app.call(.get, "/api/v1/cameras", as: .bearer(key)).status == .ok, "a key works as a bearer token too")
            let revoked = try await Accounts.revokeAPIKey(reference: APIKeyToken.displayPrefix(key), actor: "tests",
                                                          database: app.database, logger: TestApp.logger)
            #expect(revoked?.name == "doomed")
            #expect(try await app.call(.get, "/api/v1/cameras", as: .apiKey(key)).errorCode == "invalid_api_key")
        }
    }

    @Test("only the key's hash is stored; the key appears nowhere in the database")
    func keyHashing() async throws {
        try await TestApp.run { app in
            let key = try await app.apiKey(role: "operator", name: "hashing")
            _ = try await app.call(.get, "/api/v1/cameras", as: .apiKey(key))
            let stored = try await app.database.scalar(
                "SELECT count(*)::int8 FROM api_keys WHERE key_hash = encode(sha256(\(key)::bytea), 'hex')", as: Int.self)
            #expect(stored == 1)
            for table in ["api_keys", "audit_logs", "sessions", "users"] {
                let leaks = try await app.database.scalar(
                    PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table) t WHERE t::text LIKE '%' || $1 || '%'",
                                  binds: { var binds = PostgresBindings(); binds.append(String(key.dropFirst(4))); return binds }()),
                    as: Int.self)
                #expect(leaks == 0, "the key's text is in \(table)")
            }
        }
    }

    @Test("each seeded role is allowed and denied what seed 002's matrix says", arguments: [
        ("viewer", [("GET", "/api/v1/cameras", 200), ("POST", "/api/v1/cameras", 403), ("GET", "/api/v1/sites", 200),
                    ("POST", "/api/v1/sites", 403), ("GET", "/api/v1/audit-logs", 403), ("GET", "/metrics", 403)]),
        ("operator", [("GET", "/api/v1/cameras", 200), ("POST", "/api/v1/cameras", 403), ("PATCH", "/api/v1/cameras/yard", 403),
                      ("GET", "/api/v1/audit-logs", 403)]),
        ("admin", [("POST", "/api/v1/cameras", 201), ("PATCH", "/api/v1/cameras/yard", 200), ("DELETE", "/api/v1/cameras/yard", 403),
                   ("POST", "/api/v1/sites", 201), ("GET", "/api/v1/audit-logs", 200), ("GET", "/metrics", 200),
                   ("DELETE", "/api/v1/sites/{site}", 403)]),
        ("super_admin", [("DELETE", "/api/v1/cameras/yard", 204), ("DELETE", "/api/v1/sites/{site}", 204)]),
        ("api_client", [("GET", "/api/v1/cameras", 200), ("POST", "/api/v1/cameras", 403), ("GET", "/api/v1/dvrs", 200)]),
    ])
    func roles(role: String, expectations: [(String, String, Int)]) async throws {
        try await TestApp.run { app in
            _ = try await app.createCamera(#"{"name":"Yard"}"#)
            let site = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Spare"}"#).string("id"))
            let key = try await app.apiKey(role: role)
            for (index, (method, path, status)) in expectations.enumerated() {
                let body: String? = switch method {
                case "POST" where path.hasSuffix("cameras"): #"{"name":"New \#(index)"}"#
                case "POST": #"{"name":"Site \#(index)"}"#
                case "PATCH": #"{"location":"north"}"#
                default: nil
                }
                let reply = try await app.call(HTTPRequest.Method(method)!, path.replacingOccurrences(of: "{site}", with: site),
                                               json: body, as: .apiKey(key))
                #expect(reply.status.code == status, "\(role) \(method) \(path): \(reply.text)")
                if status == 403 { #expect(reply.errorCode == "permission_denied") }
            }
        }
    }

    @Test("sign in with a password: a token, a strict HttpOnly cookie, /auth/me, sign out")
    func signIn() async throws {
        try await TestApp.run { app in
            _ = try await makeUser(app, username: "olivia", role: "operator")
            let wrong = try await login(app, "olivia", "wrong password!")
            let unknown = try await login(app, "nobody", "wrong password!")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text == unknown.text, "the answer does not tell whether the account exists")

            let reply = try await login(app, "OLIVIA@example.test", "correct horse battery")
            #expect(reply.status == .ok, "\(reply.text)")
            let token = try #require(reply.string("token"))
            let cookie = try #require(reply.headers[.setCookie])
            #expect(cookie.contains("vigil_session=\(token)"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(!cookie.contains("Secure"), "plain HTTP on loopback")
            let proxied = try await app.call(.post, "/api/v1/auth/login", json: #"{"login":"olivia","password":"correct horse battery"}"#,
                                             as: .headers([.init("X-Forwarded-Proto")!: "https"]))
            #expect(proxied.headers[.setCookie]?.contains("Secure") == true, "behind a TLS proxy the cookie is Secure")
            #expect(!reply.text.contains("password"))

            let me = try await app.call(.get, "/api/v1/auth/me", as: .bearer(token))
            #expect(me.string("name") == "olivia")
            #expect(me.string("role") == "operator")
            let viaCookie = try await app.call(.get, "/api/v1/auth/me", as: .headers([.cookie: "vigil_session=\(token)"]))
            #expect(viaCookie.string("kind") == "user")
            #expect(try await app.call(.post, "/api/v1/cameras", json: #"{"name":"X"}"#, as: .bearer(token)).status == .forbidden)

            let stored = try await app.database.scalar("SELECT count(*)::int8 FROM sessions WHERE id_hash = encode(sha256(\("session." + token)::bytea), 'hex')", as: Int.self)
            #expect(stored == 1, "sessions are stored by hash")

            #expect(try await app.call(.post, "/api/v1/auth/logout", as: .bearer(token)).status == .noContent)
            #expect(try await app.call(.get, "/api/v1/auth/me", as: .bearer(token)).errorCode == "session_expired")

            let actions = try await app.call(.get, "/api/v1/audit-logs?resource_type=user").items.compactMap {
                if case .string(let action)? = $0.objectValue?["action"] { return action } else { return nil }
            }
            #expect(actions.filter { $0 == "login_failed" }.count == 2)
            #expect(actions.contains("login"))
            #expect(actions.contains("logout"))
        }
    }

    @Test("failed sign-ins back off per account, with Retry-After; time lifts the block")
    func throttling() async throws {
        try await TestApp.run(loginThrottle: LoginThrottlePolicy(freeFailures: 3, baseDelay: 60, maximumDelay: 600)) { app in
            _ = try await makeUser(app, username: "mallory", role: "viewer")
            for _ in 0..<3 { #expect(try await login(app, "mallory", "guess guess guess").errorCode == "invalid_credentials") }
            let blocked = try await login(app, "mallory", "correct horse battery")
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.errorCode == "too_many_attempts")
            #expect(blocked.headers[.retryAfterForTests] == "60")

            app.clock.advance(by: 61)
            #expect(try await login(app, "mallory", "correct horse battery").status == .ok, "the right password after the wait")
            #expect(try await login(app, "mallory", "guess guess guess").errorCode == "invalid_credentials",
                    "a success resets the count")
        }
    }

    @Test("40 wrong passwords sent at once for one account: at most 6 are checked, the rest are refused 429 with Retry-After")
    func parallelGuesses() async throws {
        try await TestApp.run { app in
            _ = try await makeUser(app, username: "petra", role: "viewer")
            let replies = try await withThrowingTaskGroup(of: TestApp.Reply.self) { group in
                for attempt in 0..<40 { group.addTask { try await login(app, "petra", "guess number \(attempt)") } }
                return try await group.reduce(into: [TestApp.Reply]()) { $0.append($1) }
            }
            let checked = replies.filter { $0.errorCode == "invalid_credentials" }.count
            let refused = replies.filter { $0.status == .tooManyRequests }
            #expect(checked >= 1 && checked <= 6, "passwords checked: \(checked)")
            #expect(checked + refused.count == 40 && refused.allSatisfy { $0.headers[.retryAfterForTests] != nil })
            #expect(try await login(app, "petra", "correct horse battery").status == .tooManyRequests, "the right password waits too")
        }
    }

    @Test("an account's username and email share one counter of failures")
    func oneCounterPerAccount() async throws {
        try await TestApp.run(loginThrottle: LoginThrottlePolicy(freeFailures: 3, baseDelay: 60, maximumDelay: 600)) { app in
            _ = try await makeUser(app, username: "quinn", role: "viewer")
            #expect(try await login(app, "quinn", "guess guess guess").errorCode == "invalid_credentials")
            #expect(try await login(app, "QUINN@example.test", "guess guess guess").errorCode == "invalid_credentials")
            #expect(try await login(app, "quinn@example.test", "guess guess guess").errorCode == "invalid_credentials")
            #expect(try await login(app, "quinn", "correct horse battery").errorCode == "too_many_attempts")
        }
    }

    @Test("with MFA on, the one-time code of the moment is required, once")
    func totp() async throws {
        try await TestApp.run { app in
            let user = try await makeUser(app, username: "tess", role: "admin")
            let secret = OneTimeCodes.makeSecret()
            let sealed = Data(try app.secrets.seal(secret)).base64EncodedString()
            try await app.database.transaction { connection in
                try await connection.query("UPDATE users SET mfa_enabled = TRUE, mfa_secret = \(sealed) WHERE id = \(user.id)",
                                           logger: TestApp.logger)
            }
            let missing = try await login(app, "tess", "correct horse battery")
            #expect(missing.errorCode == "mfa_required")
            let now = app.clock.now
            let right = OneTimeCodes.code(secret: secret, at: now)
            let wrong = String(format: "%06d", (Int(right)! + 1) % 1_000_000)
            #expect(try await login(app, "tess", "correct horse battery", code: wrong).errorCode == "invalid_credentials")
            #expect(try await login(app, "tess", "correct horse battery", code: "12345").errorCode == "invalid_credentials")
            let good = try await login(app, "tess", "correct horse battery", code: OneTimeCodes.code(secret: secret, at: now))
            #expect(good.status == .ok, "\(good.text)")
            let replayed = try await login(app, "tess", "correct horse battery", code: OneTimeCodes.code(secret: secret, at: now))
            #expect(replayed.errorCode == "invalid_credentials", "a code works once")
            let earlier = try await login(app, "tess", "correct horse battery", code: OneTimeCodes.code(secret: secret, at: now.addingTimeInterval(-30)))
            #expect(earlier.errorCode == "invalid_credentials", "so does an older one, within the drift allowed")
            app.clock.advance(by: 30)
            #expect(try await login(app, "tess", "correct horse battery", code: OneTimeCodes.code(secret: secret, at: app.clock.now)).status == .ok)
            #expect(OneTimeCodes.verify(OneTimeCodes.code(secret: secret, at: now.addingTimeInterval(30)), secret: secret, at: now),
                    "one step of clock drift is tolerated")
        }
    }

    @Test("a disabled user's session stops working at once")
    func disabledUser() async throws {
        try await TestApp.run { app in
            let user = try await makeUser(app, username: "dave", role: "viewer")
            let token = try #require(try await login(app, "dave", "correct horse battery").string("token"))
            #expect(try await app.call(.get, "/api/v1/cameras", as: .bearer(token)).status == .ok)
            try await app.database.transaction { connection in
                try await connection.query("UPDATE users SET is_active = FALSE WHERE id = \(user.id)", logger: TestApp.logger)
            }
            #expect(try await app.call(.get, "/api/v1/cameras", as: .bearer(token)).errorCode == "session_expired")
            #expect(try await login(app, "dave", "correct horse battery").errorCode == "invalid_credentials")
        }
    }

    @Test("every change is audited with its actor, in the same transaction, secrets redacted")
    func auditTrail() async throws {
        try await TestApp.run { app in
            let key = try await app.apiKey(role: "admin", name: "auditor")
            let camera = try #require(try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Porch","rtsp_url":"rtsp://u:pw123@h/s"}"#,
                                                         as: .apiKey(key)).string("id"))
            _ = try await app.call(.patch, "/api/v1/cameras/\(camera)", json: #"{"fps":5}"#, as: .apiKey(key))
            _ = try await app.call(.post, "/api/v1/dvrs", json: #"{"name":"NVR","ip_address":"10.0.0.7","password":"s3cret-pw"}"#,
                                   as: .apiKey(key))
            _ = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Porch"}"#, as: .apiKey(key))  // refused: duplicate

            let rows = try await app.call(.get, "/api/v1/audit-logs?actor=api_key:auditor")
            let actions = rows.items.compactMap { item -> String? in
                if case .string(let action)? = item.objectValue?["action"] { return action } else { return nil }
            }
            #expect(actions == ["dvr_created", "camera_updated", "camera_created"], "newest first; the refused change left no row")
            #expect(!rows.text.contains("pw123"))
            #expect(!rows.text.contains("s3cret-pw"))
            #expect(rows.text.contains("[redacted]"))
            let first = try #require(rows.items.last?.objectValue)
            #expect(first["resource_id"] == .string(camera.lowercased()), "ids in audit rows are in lower case, as RFC 9562 writes them")
            #expect(first["status"] == .string("success"))
            #expect(first["api_key_id"] != nil)

            let filtered = try await app.call(.get, "/api/v1/audit-logs?resource_type=camera&resource_id=\(camera)&limit=1")
            #expect(filtered.items.count == 1)
            #expect(filtered["next_cursor"] != .null)
            #expect(try await app.call(.get, "/api/v1/audit-logs?from=yesterday").errorCode == "invalid_parameter")
        }
    }
}

extension HTTPField.Name {
    static let retryAfterForTests = Self("Retry-After")!
}
