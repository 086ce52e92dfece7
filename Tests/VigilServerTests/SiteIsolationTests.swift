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

    /// A user of `role` assigned `sites`, signed in: their session is the caller.
    static func member(_ app: TestApp, _ username: String, role: String, sites: [String]) async throws -> (user: User, caller: TestApp.Caller) {
        let user = try await AccessControlTests().makeUser(app, username: username, role: role)
        try await app.database.transaction { connection in
            for site in sites {
                try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(user.id), \(UUID(uuidString: site)!))",
                                           logger: TestApp.logger)
            }
        }
        let token = try #require(try await AccessControlTests().login(app, username, "correct horse battery").string("token"))
        return (user, .bearer(token))
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
            let siteless = try await user("nadia", "viewer", sites: [])
            let token = try #require(try await AccessControlTests().login(app, "alma", "correct horse battery").string("token"))
            let adminA = TestApp.Caller.bearer(token)

            let listed = Set(try await app.call(.get, "/api/v1/users", as: adminA).items.compactMap { $0.objectValue?["username"]?.stringValue })
            #expect(listed == ["alma", "otto", "vera"], "only users whose every site is one of hers: \(listed)")
            #expect(try await app.call(.get, "/api/v1/api-keys", as: adminA).items.isEmpty, "keys reach every site: none is listed to her")
            #expect(try await app.call(.get, "/api/v1/api-keys").items.count == 1, "the tests' own key, to a super administrator")
            for target in [adminB, both, superAdmin, siteless] {
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
            let (alma, adminA) = try await Self.member(app, "alma", role: "admin", sites: [world.siteA])
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

    @Test("people, watchlists, audit rows and jobs belong to a site; training and model versions to those who see every site")
    func peopleBySite() async throws {
        try await TestApp.run { app in
            let world = try await makeWorld(app)
            let (alma, adminA) = try await Self.member(app, "alma", role: "admin", sites: [world.siteA])
            // Made by someone who sees every site.
            let personB = try await app.call(.post, "/api/v1/persons", json: #"{"name":"Bea","site_id":"\#(world.siteB)"}"#)
            #expect(personB.status == .created && personB.string("site_id") == world.siteB, "\(personB.text)")
            let everyone = try await app.call(.post, "/api/v1/persons", json: #"{"name":"Courier"}"#)
            #expect(everyone.status == .created && everyone.string("site_id") == nil, "a person of every site: \(everyone.text)")
            let listB = try #require(try await app.call(.post, "/api/v1/watchlists", json: #"{"name":"Banned","watch_type":"blacklist","site_id":"\#(world.siteB)"}"#).string("id"))

            let mine = try await app.call(.post, "/api/v1/persons", json: #"{"name":"Ada"}"#, as: adminA)
            #expect(mine.status == .created && mine.string("site_id") == world.siteA, "her only site, when she names none: \(mine.text)")
            let aimed = try await app.call(.post, "/api/v1/persons", json: #"{"name":"Eve","site_id":"\#(world.siteB)"}"#, as: adminA)
            #expect(aimed.status == .unprocessableContent && aimed.errorCode == "site_not_found", "\(aimed.text)")
            let names = Set(try await app.call(.get, "/api/v1/persons", as: adminA).items.compactMap { $0.objectValue?["name"]?.stringValue })
            #expect(names == ["Ada", "Courier"], "\(names)")
            let bea = try #require(personB.string("id")), courier = try #require(everyone.string("id"))
            #expect(try await app.call(.get, "/api/v1/persons/\(bea)", as: adminA).status == .notFound)
            #expect(try await app.call(.patch, "/api/v1/persons/\(bea)", json: #"{"status":"vip"}"#, as: adminA).status == .notFound)
            #expect(try await app.call(.get, "/api/v1/persons/\(courier)", as: adminA).status == .ok)
            #expect(try await app.call(.patch, "/api/v1/persons/\(courier)", json: #"{"status":"vip"}"#, as: adminA).status == .notFound,
                    "a person of every site is changed only by someone who sees every site")
            #expect(try await app.call(.delete, "/api/v1/persons/\(courier)", as: adminA).status == .forbidden, "an admin deletes no one")

            // The gallery of a person of every site is taught only by someone who sees every site: a face she enrols
            // for her site's person is kept, one for the courier (recognized at every site) is refused by the database.
            let scope = Database.AccessScope(userId: alma.id, role: "admin", allSites: false)
            func enrol(_ person: String) async throws {
                try await app.database.transaction(scope: scope) { connection in
                    try await connection.query("""
                        INSERT INTO face_embeddings (person_id, embedding, source_image_path, model_version, source)
                        VALUES (\(UUID(uuidString: person)!), array_fill(0.1, ARRAY[128])::vector, 'faces/f.jpg', 'sface_2021dec', 'enrolment')
                        """, logger: TestApp.logger)
                }
            }
            try await enrol(try #require(mine.string("id")))
            await #expect(throws: (any Error).self) { try await enrol(courier) }
            #expect(try await app.call(.get, "/api/v1/persons/\(courier)")["face_count"] == .number(0))

            // The courier's face in the gallery (recognized everywhere): she cannot remove it, and its picture stays.
            let courierFace = UUID()
            let picture = try app.media.write(try TestImages.photoBytes("person.jpg"), at: "faces/\(courierFace.uuidString.lowercased()).jpg")
            try await app.database.transaction { connection in
                try await connection.query("""
                    INSERT INTO face_embeddings (id, person_id, embedding, source_image_path, model_version, source)
                    VALUES (\(courierFace), \(UUID(uuidString: courier)!), array_fill(0.2, ARRAY[128])::vector, \(picture), 'sface_2021dec', 'enrolment')
                    """, logger: TestApp.logger)
            }
            let trimmed = try await app.call(.delete, "/api/v1/persons/\(courier)/faces/\(courierFace.uuidString.lowercased())", as: adminA)
            #expect(trimmed.status == .notFound, "\(trimmed.text)")
            #expect((try? app.media.read(picture)) != nil, "the picture of a face that stays is not removed")

            // A list of every site is changed only by someone who sees every site: its entries too.
            let everywhere = try #require(try await app.call(.post, "/api/v1/watchlists", json: #"{"name":"Banned everywhere","watch_type":"blacklist"}"#).string("id"))
            #expect(try await app.call(.post, "/api/v1/watchlists/\(everywhere)/entries", json: #"{"person_id":"\#(courier)"}"#).status == .created)
            #expect(try await app.call(.delete, "/api/v1/watchlists/\(everywhere)/entries/\(courier)", as: adminA).status == .notFound)
            #expect(try await app.call(.get, "/api/v1/watchlists/\(everywhere)/entries").items.count == 1)
            // Site B's list with the courier on it judges only site B's events: site A's risk and alerts never hear of it.
            #expect(try await app.call(.post, "/api/v1/watchlists/\(listB)/entries", json: #"{"person_id":"\#(courier)"}"#).status == .created)
            let courierId = UUID(uuidString: courier)!
            let (atA, atB) = try await app.database.transaction { connection in
                let persons = PersonRepository(connection, logger: TestApp.logger)
                return (try await persons.profiles(of: [courierId], watchlists: .site(UUID(uuidString: world.siteA)!)),
                        try await persons.profiles(of: [courierId], watchlists: .site(UUID(uuidString: world.siteB)!)))
            }
            #expect(atA.first?.watchlists.map(\.name) == ["Banned everywhere"], "\(atA)")
            #expect(Set(atB.first?.watchlists.map(\.name) ?? []) == ["Banned everywhere", "Banned"], "\(atB)")

            // A list of the same name at her site: names are unique within a site, and say nothing of other sites'.
            let listA = try await app.call(.post, "/api/v1/watchlists", json: #"{"name":"Banned","watch_type":"blacklist"}"#, as: adminA)
            #expect(listA.status == .created && listA.string("site_id") == world.siteA, "\(listA.text)")
            let lists = Set(try await app.call(.get, "/api/v1/watchlists", as: adminA).items.compactMap { $0.objectValue?["site_id"]?.stringValue ?? "every site" })
            #expect(lists == [world.siteA, "every site"], "hers and every site's, never site B's: \(lists)")
            #expect(try await app.call(.get, "/api/v1/watchlists/\(listB)", as: adminA).status == .notFound)
            let entry = try await app.call(.post, "/api/v1/watchlists/\(try #require(listA.string("id")))/entries",
                                           json: #"{"person_id":"\#(bea)"}"#, as: adminA)
            #expect(entry.status == .unprocessableContent, "site B's person cannot be put on her list: \(entry.text)")

            // Audit rows about site B, the installation's training and model versions: none of hers to read.
            let audited = try await app.call(.get, "/api/v1/audit-logs?limit=500", as: adminA).items
            let resources = Set(audited.compactMap { $0.objectValue?["resource_id"]?.stringValue })
            #expect(resources.contains(try #require(mine.string("id"))), "her own site's rows")
            #expect(!resources.contains(bea) && !resources.contains(world.cameraB) && !resources.contains(world.siteB), "\(resources)")
            #expect(try await app.call(.get, "/api/v1/audit-logs?limit=500").items.count > audited.count)
            #expect(try await app.call(.get, "/api/v1/training-datasets", as: adminA).items.isEmpty)
            #expect(try await app.call(.get, "/api/v1/model-versions", as: adminA).items.isEmpty)
            let jobs = try await app.call(.get, "/api/v1/jobs?limit=500", as: adminA)
            #expect(jobs.status == .ok && jobs.items.isEmpty, "no job of hers: \(jobs.text)")
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

    /// Tables that hold no site's data, each with why; every other table must be under row-level security.
    static let installationTables: [String: String] = [
        "api_keys": "keys carry their creator's sites; listed by creator (APIKeyRepository.list(createdBy:))",
        "login_throttles": "counters of failed sign-ins per account and address",
        "permissions_matrix": "what each role may do",
        "roles": "the roles",
        "schema_migrations": "which migrations ran",
        "sessions": "a user's own sign-ins",
        "user_site_assignments": "who sees which site: what row-level security reads",
        "users": "accounts, managed by whom their sites allow (UserRepository.list(manageableBy:))",
    ]

    @Test("every table of site data is under row-level security, and in plain SQL as site A's administrator none of site B's rows exists in any of them")
    func everySiteDataTable() async throws {
        try await TestApp.run { app in
            let fixture = TestPaths.packageRoot.appendingPathComponent("Tests/VigilServerTests/Fixtures/site_b_rows.sql")
            let statements = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n")
                .filter { !$0.hasPrefix("--") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            let siteA = UUID()
            let admin = try await AccessControlTests().makeUser(app, username: "alma", role: "admin")
            try await app.database.transaction { connection in
                try await connection.query("INSERT INTO sites (id, name) VALUES (\(siteA), 'Site A')", logger: TestApp.logger)
                try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(admin.id), \(siteA))",
                                           logger: TestApp.logger)
            }

            var tables: [String: Bool] = [:]
            for try await (name, secured) in try await app.database.transaction({ connection in
                try await connection.query("""
                    SELECT c.relname::text, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                    """, logger: TestApp.logger)
            }).decode((String, Bool).self) { tables[name] = secured }
            #expect(Set(Self.installationTables.keys).isSubset(of: Set(tables.keys)), "installation tables that no longer exist")
            let siteData = tables.keys.filter { Self.installationTables[$0] == nil }.sorted()
            #expect(siteData.count >= 35)
            let unsecured = siteData.filter { tables[$0] != true }
            #expect(unsecured.isEmpty, "tables of site data without row-level security: \(unsecured)")

            func counts(_ scope: Database.AccessScope?) async throws -> [String: Int] {
                let count: @Sendable (PostgresConnection) async throws -> [String: Int] = { connection in
                    var counts: [String: Int] = [:]
                    for table in siteData {
                        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table)"), logger: TestApp.logger)
                        for try await count in rows.decode(Int.self) { counts[table] = count }
                    }
                    return counts
                }
                if let scope { return try await app.database.transaction(scope: scope, count) }
                return try await app.database.transaction(count)
            }
            // What she sees before site B has any row (the built-in rules of every site, her own site), and after.
            let scopeA = Database.AccessScope(userId: admin.id, role: "admin", allSites: false)
            let (everythingBefore, seenBefore) = (try await counts(nil), try await counts(scopeA))
            try await app.database.transaction { connection in
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: String(statement.dropLast(statement.hasSuffix(";") ? 1 : 0))),
                                               logger: TestApp.logger)
                }
            }
            let everything = try await counts(nil)
            let unseeded = siteData.filter { (everything[$0] ?? 0) <= (everythingBefore[$0] ?? 0) }
            #expect(unseeded.isEmpty, "tables given no row of site B, so unchecked; add one to site_b_rows.sql: \(unseeded)")
            let seenAfter = try await counts(scopeA)
            let leaked = siteData.filter { seenAfter[$0] != seenBefore[$0] }.map { "\($0): \(seenBefore[$0] ?? -1) → \(seenAfter[$0] ?? -1)" }
            #expect(leaked.isEmpty, "tables where site A's administrator sees site B's rows: \(leaked)")
            #expect(seenAfter["sites"] == 1 && seenAfter["cameras"] == 0 && seenAfter["jobs"] == 0 && seenAfter["training_jobs"] == 0)
        }
    }
}
