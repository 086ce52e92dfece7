import Foundation
import Testing
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Users, roles and own-account API")
struct UsersAPITests {
    func signIn(_ app: TestApp, _ login: String, _ password: String, code: String? = nil) async throws -> TestApp.Reply {
        let codePart = code.map { #","totp_code":"\#($0)""# } ?? ""
        return try await app.call(.post, "/api/v1/auth/login", json: #"{"login":"\#(login)","password":"\#(password)"\#(codePart)}"#,
                                  as: .anonymous)
    }

    @Test("administrators create, read, update and delete users, with sites; every step is audited")
    func lifecycle() async throws {
        try await TestApp.run { app in
            let site = try #require(try await app.call(.get, "/api/v1/sites").items.first?.objectValue?["id"])
            guard case .string(let siteId) = site else { return }
            let roles = try await app.call(.get, "/api/v1/roles")
            #expect(Set(roles.items.compactMap { $0.objectValue?["name"] }) ==
                    Set(["super_admin", "admin", "operator", "viewer", "api_client"].map(JSONValue.string)))

            let created = try await app.call(.post, "/api/v1/users", json: #"""
                {"username":"otto","email":"otto@example.test","password":"correct horse battery","role":"operator","site_ids":["\#(siteId)"]}
                """#)
            #expect(created.status == .created, "\(created.text)")
            #expect(created["site_ids"] == .array([.string(siteId)]))
            #expect(!created.text.contains("correct horse"))
            let id = try #require(created.string("id"))

            #expect(try await app.call(.get, "/api/v1/users").items.count == 2)
            let patched = try await app.call(.patch, "/api/v1/users/\(id)", json: #"{"email":"otto@example.org","role":"viewer"}"#)
            #expect(patched.string("email") == "otto@example.org")
            #expect(patched.string("role") == "viewer")
            #expect(try await app.call(.post, "/api/v1/users", json: #"{"username":"otto","email":"x@example.test","password":"correct horse battery","role":"viewer"}"#)
                .errorCode == "user_exists")
            #expect(try await app.call(.post, "/api/v1/users", json: #"{"username":"x","email":"nope","role":"viewer"}"#)
                .errorCode == "validation_failed")
            #expect(try await app.call(.delete, "/api/v1/users/\(id)").status == .noContent)
            #expect(try await app.call(.get, "/api/v1/users/\(id)").errorCode == "user_not_found")

            let audit = try await app.call(.get, "/api/v1/audit-logs?resource_type=user&resource_id=\(id)")
            let actions = audit.items.compactMap { item -> String? in
                if case .string(let action)? = item.objectValue?["action"] { return action } else { return nil }
            }
            #expect(actions == ["user_deleted", "user_updated", "user_created"])
            #expect(!audit.text.contains("correct horse"))
        }
    }

    @Test("nobody hands out more than they hold, nor reaches sites they cannot see")
    func noEscalation() async throws {
        try await TestApp.run { app in
            let siteB = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Hidden"}"#).string("id"))
            let admin = try await Accounts.createUser(username: "ada", email: "ada@example.test", password: "correct horse battery",
                                                      roleName: "admin", actor: "tests", database: app.database, logger: TestApp.logger)
            let token = try #require(try await signIn(app, "ada", "correct horse battery").string("token"))
            let caller = TestApp.Caller.bearer(token)
            let superAdmin = try await app.call(.post, "/api/v1/users", json: #"""
                {"username":"eve","email":"eve@example.test","password":"correct horse battery","role":"super_admin"}
                """#, as: caller)
            #expect(superAdmin.errorCode == "role_not_grantable")
            let hiddenSite = try await app.call(.post, "/api/v1/users", json: #"""
                {"username":"eve","email":"eve@example.test","password":"correct horse battery","role":"viewer","site_ids":["\#(siteB)"]}
                """#, as: caller)
            #expect(hiddenSite.errorCode == "validation_failed", "an admin assigned to no site sees site B as missing")
            // An admin of no site gives no site, and a user of no site would be out of their reach at once.
            let siteless = try await app.call(.post, "/api/v1/users", json: #"""
                {"username":"eve","email":"eve@example.test","password":"correct horse battery","role":"viewer"}
                """#, as: caller)
            #expect(siteless.status == .unprocessableContent && siteless.text.contains("site_ids"), "\(siteless.text)")

            // The seeded super administrator is out of an admin's reach.
            let root = try #require(try await app.call(.get, "/api/v1/users").items.first {
                $0.objectValue?["username"] == .string("root")
            }?.objectValue?["id"])
            guard case .string(let rootId) = root else { return }
            #expect(try await app.call(.patch, "/api/v1/users/\(rootId)", json: #"{"password":"taken over!!"}"#, as: caller)
                .errorCode == "user_not_found", "a super administrator is not among the users an admin manages")
            #expect(try await app.call(.patch, "/api/v1/users/\(admin.id)", json: #"{"role":"super_admin"}"#, as: caller)
                .errorCode == "role_not_grantable", "not even for oneself")
        }
    }

    @Test("the last super administrator can be neither disabled nor deleted")
    func lastSuperAdmin() async throws {
        try await TestApp.run { app in
            let root = try #require(try await app.call(.get, "/api/v1/users").items.first?.objectValue?["id"])
            guard case .string(let rootId) = root else { return }
            #expect(try await app.call(.patch, "/api/v1/users/\(rootId)", json: #"{"is_active":false}"#).errorCode == "last_super_admin")
            #expect(try await app.call(.delete, "/api/v1/users/\(rootId)").errorCode == "last_super_admin")
        }
    }

    @Test("disabling a user or setting their password ends their sessions at once")
    func sessionsEnd() async throws {
        try await TestApp.run { app in
            let user = try await Accounts.createUser(username: "sam", email: "sam@example.test", password: "correct horse battery",
                                                     roleName: "viewer", actor: "tests", database: app.database, logger: TestApp.logger)
            let first = try #require(try await signIn(app, "sam", "correct horse battery").string("token"))
            _ = try await app.call(.patch, "/api/v1/users/\(user.id)", json: #"{"password":"a brand new one"}"#)
            #expect(try await app.call(.get, "/api/v1/auth/me", as: .bearer(first)).errorCode == "session_expired")
            let second = try #require(try await signIn(app, "sam", "a brand new one").string("token"))
            let disabled = try await app.call(.patch, "/api/v1/users/\(user.id)", json: #"{"is_active":false}"#)
            #expect(disabled["is_active"] == .bool(false))
            #expect(try await app.call(.get, "/api/v1/auth/me", as: .bearer(second)).errorCode == "session_expired")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM sessions WHERE user_id = \(user.id)", as: Int.self) == 0)
        }
    }

    @Test("own password: the current one is required, and other sessions end")
    func ownPassword() async throws {
        try await TestApp.run { app in
            _ = try await Accounts.createUser(username: "pia", email: "pia@example.test", password: "correct horse battery",
                                              roleName: "viewer", actor: "tests", database: app.database, logger: TestApp.logger)
            let token = try #require(try await signIn(app, "pia", "correct horse battery").string("token"))
            let wrong = try await app.call(.post, "/api/v1/auth/password",
                                           json: #"{"current_password":"guess guess","new_password":"another long one"}"#, as: .bearer(token))
            #expect(wrong.errorCode == "wrong_password")
            let short = try await app.call(.post, "/api/v1/auth/password",
                                           json: #"{"current_password":"correct horse battery","new_password":"short"}"#, as: .bearer(token))
            #expect(short.errorCode == "validation_failed")
            let changed = try await app.call(.post, "/api/v1/auth/password",
                                             json: #"{"current_password":"correct horse battery","new_password":"another long one"}"#, as: .bearer(token))
            #expect(changed.status == .noContent)
            #expect(try await app.call(.get, "/api/v1/auth/me", as: .bearer(token)).errorCode == "session_expired")
            #expect(try await signIn(app, "pia", "another long one").status == .ok)
            #expect(try await app.call(.post, "/api/v1/auth/password",
                                       json: #"{"current_password":"x","new_password":"another long two"}"#).errorCode == "users_only",
                    "an API key has no password")
        }
    }

    @Test("two-factor sign-in: set up, proved with the password, required at sign-in, turned off with the password")
    func mfaEnrolment() async throws {
        try await TestApp.run { app in
            _ = try await Accounts.createUser(username: "max", email: "max@example.test", password: "correct horse battery",
                                              roleName: "operator", actor: "tests", database: app.database, logger: TestApp.logger)
            let token = try #require(try await signIn(app, "max", "correct horse battery").string("token"))
            let caller = TestApp.Caller.bearer(token)
            #expect(try await app.call(.post, "/api/v1/auth/mfa/enable", json: #"{"code":"123456","password":"correct horse battery"}"#,
                                       as: caller).errorCode == "mfa_not_set_up")
            let setup = try await app.call(.post, "/api/v1/auth/mfa/setup", as: caller)
            let secret = try #require(setup.string("secret"))
            #expect(setup.string("otpauth_url")?.hasPrefix("otpauth://totp/Vigil:max?secret=") == true)
            let stored = try await app.database.scalar("SELECT mfa_secret FROM users WHERE username = 'max'", as: String.self)
            #expect(stored != nil && stored?.contains(secret) == false, "the secret is stored sealed")

            let code = OneTimeCodes.code(secret: secret, at: app.clock.now)
            let wrong = String(format: "%06d", (Int(code)! + 1) % 1_000_000)
            #expect(try await app.call(.post, "/api/v1/auth/mfa/enable", json: #"{"code":"\#(code)"}"#, as: caller).errorCode == "wrong_password",
                    "turning it on asks for the password, as turning it off does")
            #expect(try await app.call(.post, "/api/v1/auth/mfa/enable", json: #"{"code":"\#(wrong)","password":"correct horse battery"}"#,
                                       as: caller).errorCode == "wrong_mfa_code")
            #expect(try await app.call(.post, "/api/v1/auth/mfa/enable", json: #"{"code":"\#(code)","password":"correct horse battery"}"#,
                                       as: caller).status == .noContent)

            #expect(try await signIn(app, "max", "correct horse battery").errorCode == "mfa_required")
            app.clock.advance(by: 300)
            let later = OneTimeCodes.code(secret: secret, at: app.clock.now)
            #expect(try await signIn(app, "max", "correct horse battery", code: later).status == .ok)
            #expect(try await app.call(.post, "/api/v1/auth/mfa/disable", json: #"{"password":"wrong one"}"#, as: caller)
                .errorCode == "wrong_password")
            #expect(try await app.call(.post, "/api/v1/auth/mfa/disable", json: #"{"password":"correct horse battery"}"#, as: caller)
                .status == .noContent)
            #expect(try await signIn(app, "max", "correct horse battery").status == .ok)
        }
    }

    @Test("API keys: made with a role the maker holds, shown once, listed by prefix only, working until revoked; audited")
    func apiKeys() async throws {
        try await TestApp.run { app in
            let made = try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"Home Assistant","role":"operator","expires_in_days":30}"#)
            #expect(made.status == .created, "\(made.text)")
            let key = try #require(made.string("key"))
            let id = try #require(made.string("id"))
            #expect(key.hasPrefix(APIKeyToken.prefix) && made.string("role") == "operator" && made["expires_at"] != nil)
            let listed = try await app.call(.get, "/api/v1/api-keys")
            #expect(listed.items.contains { $0.objectValue?["id"] == .string(id) })
            #expect(!listed.text.contains(key) && !listed.text.contains("key_hash"), "the key is never shown again")
            #expect(try await app.call(.get, "/api/v1/cameras", as: .apiKey(key)).status == .ok)
            #expect(try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"x","role":"viewer"}"#, as: .apiKey(key)).errorCode
                    == "permission_denied", "an operator makes no keys")

            #expect(try await app.call(.post, "/api/v1/api-keys", json: #"{"name":" ","role":"viewer","expires_in_days":0}"#)
                .errorCode == "validation_failed")
            #expect(try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"x","role":"viewer","scope":"all"}"#).status == .badRequest)
            #expect(try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"x","role":"no_such_role"}"#).errorCode == "validation_failed")
            #expect(try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"Front door ESP32","role":"api_client"}"#).status == .created,
                    "a super administrator gives any role, the machines' own included")

            // A site-restricted administrator would hand out every site through a key.
            _ = try await AccessControlTests().makeUser(app, username: "ada", role: "admin")
            let token = try #require(try await signIn(app, "ada", "correct horse battery").string("token"))
            #expect(try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"x","role":"viewer"}"#, as: .bearer(token))
                .errorCode == "site_restricted")

            let revoked = try await app.call(.delete, "/api/v1/api-keys/\(id)")
            #expect(revoked.status == .ok && revoked["is_active"] == .bool(false))
            #expect(try await app.call(.get, "/api/v1/cameras", as: .apiKey(key)).status == .unauthorized)
            #expect(try await app.call(.delete, "/api/v1/api-keys/\(id)").errorCode == "api_key_not_found")
            let audited = try await app.database.scalar(
                "SELECT string_agg(action, ',' ORDER BY timestamp) FROM audit_logs WHERE resource_type = 'api_key' AND resource_id = \(id.lowercased())",
                as: String.self)
            #expect(audited == "api_key_created,api_key_revoked")
        }
    }

}
