import Foundation
import Logging
import PostgresNIO
import Testing
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Site isolation: queries and row-level security")
struct SiteIsolationTests {
    struct World {
        var siteA: String
        var siteB: String
        var cameraA: String
        var cameraB: String
        var viewer: User
        var viewerToken: String
    }

    /// Two sites with a camera, a DVR and a zone each, and a viewer assigned to site A only.
    func makeWorld(_ app: TestApp) async throws -> World {
        let siteA = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Site A"}"#).string("id"))
        let siteB = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Site B"}"#).string("id"))
        let cameraA = try await app.createCamera(#"{"name":"Cam A","site_id":"\#(siteA)"}"#)
        let cameraB = try await app.createCamera(#"{"name":"Cam B","site_id":"\#(siteB)"}"#)
        for (site, camera) in [(siteA, cameraA), (siteB, cameraB)] {
            _ = try await app.call(.post, "/api/v1/dvrs", json: #"{"name":"NVR \#(site.prefix(4))","ip_address":"10.9.9.9","site_id":"\#(site)"}"#)
            _ = try await app.call(.post, "/api/v1/cameras/\(camera)/zones", json: #"{"name":"Z","coordinates":[[0,0],[1,0],[1,1],[0,1]]}"#)
        }
        let viewer = try await Accounts.createUser(username: "vera", email: "vera@example.test", password: "correct horse battery",
                                                   roleName: "viewer", actor: "tests", database: app.database, logger: TestApp.logger)
        try await app.database.transaction { connection in
            try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(viewer.id), \(UUID(uuidString: siteA)!))",
                                       logger: TestApp.logger)
        }
        let login = try await app.call(.post, "/api/v1/auth/login", json: #"{"login":"vera","password":"correct horse battery"}"#,
                                       as: .anonymous)
        return World(siteA: siteA, siteB: siteB, cameraA: cameraA, cameraB: cameraB, viewer: viewer,
                     viewerToken: try #require(login.string("token")))
    }

    func ids(_ reply: TestApp.Reply) -> Set<String> {
        Set(reply.items.compactMap { item in
            if case .string(let id)? = item.objectValue?["id"] { return id } else { return nil }
        })
    }

    @Test("an admin of site A cannot see or take over site B's admin, a user with more sites, or a super administrator")
    func noAccountTakeover() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            func user(_ name: String, _ role: String, sites: [String]) async throws -> User {
                let user = try await AccessControlTests().makeUser(app, username: name, role: role)
                try await app.database.transaction { connection in
                    for site in sites {
                        try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(user.id), \(UUID(uuidString: site)!))",
                                                   logger: TestApp.logger)
                    }
                }
                return user
            }
            _ = try await user("alma", "admin", sites: [world.siteA])
            let adminB = try await user("boris", "admin", sites: [world.siteB])
            let both = try await user("bea", "operator", sites: [world.siteA, world.siteB])
            let operatorA = try await user("otto", "operator", sites: [world.siteA])
            let superAdmin = try await user("sam", "super_admin", sites: [])
            let token = try #require(try await AccessControlTests().login(app, "alma", "correct horse battery").string("token"))
            let adminA = TestApp.Caller.bearer(token)

            let listed = Set(try await app.call(.get, "/api/v1/users", as: adminA).items.compactMap { $0.objectValue?["username"]?.stringValue })
            #expect(listed == ["alma", "otto", "vera"], "only users whose every site is one of hers: \(listed)")
            #expect(try await app.call(.get, "/api/v1/api-keys", as: adminA).items.isEmpty, "keys reach every site: none is listed to her")
            #expect(try await app.call(.get, "/api/v1/api-keys").items.count == 1, "the tests' own key, to a super administrator")
            for target in [adminB, both, superAdmin] {
                let id = target.id.uuidString.lowercased()
                #expect(try await app.call(.get, "/api/v1/users/\(id)", as: adminA).status == .notFound)
                let takeover = try await app.call(.patch, "/api/v1/users/\(id)", json: #"{"password":"taken over now!"}"#, as: adminA)
                #expect(takeover.status == .notFound, "\(target.username): \(takeover.status) \(takeover.text)")
                #expect([.forbidden, .notFound].contains(try await app.call(.delete, "/api/v1/users/\(id)", as: adminA).status))
                #expect(try await AccessControlTests().login(app, target.username, "taken over now!").status == .unauthorized)
            }
            // Her own site's operator she manages, but cannot hand site B.
            let operatorId = operatorA.id.uuidString.lowercased()
            let widened = try await app.call(.patch, "/api/v1/users/\(operatorId)", json: #"{"site_ids":["\#(world.siteA)","\#(world.siteB)"]}"#,
                                             as: adminA)
            #expect(widened.status == .unprocessableContent, "\(widened.text)")
            let reset = try await app.call(.patch, "/api/v1/users/\(operatorId)", json: #"{"password":"a new password here"}"#, as: adminA)
            #expect(reset.status == .ok, "\(reset.text)")
        }
    }

    @Test("alert rules and channels belong to a site: an admin of site A makes them there, never sees site B's, and cannot aim at site B")
    func rulesAndChannelsBySite() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            let alma = try await AccessControlTests().makeUser(app, username: "alma", role: "admin")
            try await app.database.transaction { connection in
                try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(alma.id), \(UUID(uuidString: world.siteA)!))",
                                           logger: TestApp.logger)
            }
            let token = try #require(try await AccessControlTests().login(app, "alma", "correct horse battery").string("token"))
            let adminA = TestApp.Caller.bearer(token)
            // Made by someone who sees every site: one for site B, one for every site.
            let ruleB = try #require(try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"B only","site_id":"\#(world.siteB)"}"#).string("id"))
            let everywhere = try #require(try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Everywhere"}"#).string("id"))
            let channelB = try #require(try await app.call(.post, "/api/v1/notification-channels", json: """
                {"name":"B hook","channel_type":"webhook","site_id":"\(world.siteB)","config":{"url":"http://127.0.0.1:9/b"}}
                """).string("id"))

            let mine = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Any person","object_types":["person"]}"#, as: adminA)
            #expect(mine.status == .created && mine.string("site_id") == world.siteA, "her only site, when she names none: \(mine.text)")
            let aimed = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Aimed","site_id":"\#(world.siteB)"}"#, as: adminA)
            #expect(aimed.status == .unprocessableContent, "\(aimed.text)")
            let foreignCamera = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Peek","camera_ids":["\#(world.cameraB)"]}"#,
                                                   as: adminA)
            #expect(foreignCamera.status == .unprocessableContent, "\(foreignCamera.text)")
            let foreignChannel = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Leak","channel_ids":["\#(channelB)"]}"#,
                                                    as: adminA)
            #expect(foreignChannel.status == .unprocessableContent, "a site-A rule cannot send through site B's channel")

            let listed = Set(try await app.call(.get, "/api/v1/alert-rules", as: adminA).items.compactMap { $0.objectValue?["name"]?.stringValue })
            #expect(listed.contains("Any person") && listed.contains("Everywhere") && !listed.contains("B only"), "\(listed)")
            #expect(try await app.call(.get, "/api/v1/alert-rules/\(ruleB)", as: adminA).status == .notFound)
            #expect(try await app.call(.patch, "/api/v1/alert-rules/\(ruleB)", json: #"{"enabled":false}"#, as: adminA).status == .notFound)
            #expect(try await app.call(.delete, "/api/v1/alert-rules/\(ruleB)", as: adminA).status == .notFound)
            #expect(try await app.call(.patch, "/api/v1/alert-rules/\(everywhere)", json: #"{"enabled":false}"#, as: adminA).status == .notFound,
                    "a rule for every site is changed only by someone who sees every site")
            #expect(try await app.call(.get, "/api/v1/notification-channels", as: adminA).items.isEmpty)
            #expect(try await app.call(.get, "/api/v1/notification-channels/\(channelB)", as: adminA).status == .notFound)
            let channelA = try await app.call(.post, "/api/v1/notification-channels", json: """
                {"name":"A hook","channel_type":"webhook","config":{"url":"http://127.0.0.1:9/a"}}
                """, as: adminA)
            #expect(channelA.status == .created && channelA.string("site_id") == world.siteA, "\(channelA.text)")

            // Plain SQL under her settings: site B's rules and channels do not exist.
            let scope = Database.AccessScope(userId: alma.id, role: "admin", allSites: false)
            let counts = try await app.database.transaction(scope: scope) { connection in
                var counts: [String: Int] = [:]
                for table in ["alert_rules", "notification_channels"] {
                    let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table) WHERE site_id = '\(world.siteB)'"),
                                                          logger: TestApp.logger)
                    for try await count in rows.decode(Int.self) { counts[table] = count }
                }
                return counts
            }
            #expect(counts == ["alert_rules": 0, "notification_channels": 0])
        }
    }

    @Test("through the API, a viewer of site A sees nothing of site B")
    func throughTheAPI() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            let viewer = TestApp.Caller.bearer(world.viewerToken)
            #expect(ids(try await app.call(.get, "/api/v1/sites", as: viewer)) == [world.siteA])
            #expect(ids(try await app.call(.get, "/api/v1/cameras", as: viewer)) == [world.cameraA])
            #expect(try await app.call(.get, "/api/v1/dvrs", as: viewer).items.count == 1)
            #expect(try await app.call(.get, "/api/v1/cameras/\(world.cameraB)", as: viewer).errorCode == "camera_not_found")
            #expect(try await app.call(.get, "/api/v1/cameras/cam_b", as: viewer).errorCode == "camera_not_found")
            #expect(try await app.call(.get, "/api/v1/cameras/\(world.cameraB)/zones", as: viewer).errorCode == "camera_not_found")
            #expect(try await app.call(.get, "/api/v1/sites/\(world.siteB)", as: viewer).errorCode == "site_not_found")
            #expect(try await app.call(.get, "/api/v1/cameras/\(world.cameraA)/zones", as: viewer).items.count == 1)

            // The super administrator sees both.
            #expect(ids(try await app.call(.get, "/api/v1/cameras")) == [world.cameraA, world.cameraB])
        }
    }

    @Test("an administrator limited to site A cannot reach into site B, nor move things there")
    func writesStayInside() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            let admin = try await Accounts.createUser(username: "adam", email: "adam@example.test", password: "correct horse battery",
                                                      roleName: "admin", actor: "tests", database: app.database, logger: TestApp.logger)
            try await app.database.transaction { connection in
                try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(admin.id), \(UUID(uuidString: world.siteA)!))",
                                           logger: TestApp.logger)
            }
            let token = try #require(try await app.call(.post, "/api/v1/auth/login",
                                                        json: #"{"login":"adam","password":"correct horse battery"}"#, as: .anonymous).string("token"))
            let caller = TestApp.Caller.bearer(token)
            #expect(try await app.call(.patch, "/api/v1/cameras/\(world.cameraB)", json: #"{"fps":1}"#, as: caller).errorCode == "camera_not_found")
            #expect(try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Sneaky","site_id":"\#(world.siteB)"}"#, as: caller)
                .errorCode == "site_not_found")
            let moved = try await app.call(.patch, "/api/v1/cameras/\(world.cameraA)", json: #"{"site_id":"\#(world.siteB)"}"#, as: caller)
            #expect(moved.status.code >= 400, "\(moved.text)")
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Allowed"}"#, as: caller)
            #expect(created.status == .created)
            #expect(created.string("site_id") == world.siteA, "the default site is the oldest site the caller can see")

            // A key this administrator creates sees what the administrator sees.
            let key = try await Accounts.createAPIKey(name: "adam-key", roleName: "viewer", expiresAt: nil, actor: "tests",
                                                      createdBy: admin.id, database: app.database, logger: TestApp.logger).text
            #expect(!ids(try await app.call(.get, "/api/v1/cameras", as: .apiKey(key))).contains(world.cameraB))
        }
    }

    @Test("the queries filter by site on their own, even on a connection that bypasses row-level security")
    func queriesFilterByThemselves() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            let viewerId = world.viewer.id
            let seen = try await app.database.read { connection in
                let logger = TestApp.logger
                let cameras = try await CameraRepository(connection, logger: logger, visibleTo: viewerId).list(.init(), page: .init())
                let sites = try await SiteRepository(connection, logger: logger, visibleTo: viewerId).list(nameContains: nil, page: .init())
                let dvrs = try await DVRRepository(connection, logger: logger, visibleTo: viewerId).list(.init(), page: .init())
                let hidden = try await CameraRepository(connection, logger: logger, visibleTo: viewerId).find(reference: "cam_b")
                let deleted = try await CameraRepository(connection, logger: logger, visibleTo: viewerId)
                    .delete(id: UUID(uuidString: world.cameraB)!)
                return (cameras.items.map { $0.id.uuidString.lowercased() }, sites.items.map { $0.id.uuidString.lowercased() }, dvrs.items.count, hidden == nil, deleted)
            }
            #expect(seen.0 == [world.cameraA])
            #expect(seen.1 == [world.siteA])
            #expect(seen.2 == 1)
            #expect(seen.3, "site B's camera is not found by slug")
            #expect(!seen.4, "nor deleted")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM cameras", as: Int.self) == 2)
        }
    }

    @Test("in plain SQL under the viewer's settings, site B's rows do not exist")
    func directSQL() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            let scope = Database.AccessScope(userId: world.viewer.id, role: "viewer", allSites: false)
            let counts = try await app.database.transaction(scope: scope) { connection in
                var counts: [String: Int] = [:]
                for table in ["sites", "cameras", "dvrs", "camera_zones"] {
                    let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table)"),
                                                          logger: TestApp.logger)
                    for try await count in rows.decode(Int.self) { counts[table] = count }
                }
                let updated = try await connection.query(
                    "UPDATE cameras SET fps = 1 WHERE id = \(UUID(uuidString: world.cameraB)!) RETURNING id", logger: TestApp.logger)
                var touched = 0
                for try await _ in updated.decode(UUID.self) { touched += 1 }
                counts["updated_b"] = touched
                return counts
            }
            #expect(counts == ["sites": 1, "cameras": 1, "dvrs": 1, "camera_zones": 1, "updated_b": 0])

            // Inserting into site B is refused by the policy itself.
            await #expect(throws: (any Error).self) {
                try await app.database.transaction(scope: scope) { connection in
                    try await connection.query("""
                        INSERT INTO cameras (site_id, slug, name) VALUES (\(UUID(uuidString: world.siteB)!), 'planted', 'Planted')
                        """, logger: TestApp.logger)
                }
            }
            // The owner's connection (background work) still sees everything.
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM cameras", as: Int.self) == 2)
            // A viewer reads only its own audit rows; nothing of the administrator's.
            let auditRows = try await app.database.transaction(scope: scope) { connection in
                var actors: Set<String> = []
                for try await actor in try await connection.query("SELECT actor FROM audit_logs", logger: TestApp.logger).decode(String.self) {
                    actors.insert(actor)
                }
                return actors
            }
            #expect(auditRows == ["user:vera"])
        }
    }
}
