import Foundation
import HTTPTypes
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// Every route the router has, called as every kind of caller, generated from the router itself:
/// a route added later is in this test without anyone writing it in.
@Suite("Every route × every caller")
struct RouteMatrixTests {
    @Test("anonymous callers get 401, roles without the route's permission 403, the others an answer of the route's; never a 5xx")
    func matrix() async throws {
        try await TestApp.run { app in
            let roles = try await app.database.read { try await RoleRepository($0, logger: TestApp.logger).list() }
            var callers: [(name: String, caller: TestApp.Caller, permissions: PermissionMatrix?)] = [("anonymous", .anonymous, nil)]
            for role in roles {
                callers.append((role.name, .apiKey(try await app.apiKey(role: role.name)), role.permissions))
            }
            let camera = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Door"}"#)
            let token = try #require(camera.string("device_token"))
            callers.append(("device", .deviceToken(token), PermissionMatrix(granted: [.ingestWrite])))

            let routes = app.policy.all.sorted { $0.key < $1.key }
            #expect(routes.count >= 100, "the router's routes: \(routes.count)")
            let stranger = UUIDv7Generator().next().uuidString.lowercased()
            var problems: [String] = []
            for (key, access) in routes {
                let parts = key.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                // Every path parameter names something that does not exist.
                let path = String(parts[1]).replacing(/\{[^}]+\}/, with: stranger)
                for (name, caller, permissions) in callers {
                    let body: String? = [.post, .patch].contains(method) ? "{}" : nil
                    let reply = try await app.call(method, path, json: body, as: caller)
                    let status = Int(reply.status.code)
                    if status >= 500 { problems.append("\(key) as \(name): \(status) \(reply.text.prefix(120))") }
                    switch access {
                    case .open:
                        break
                    case .authenticated:
                        if permissions == nil, status != 401 { problems.append("\(key) as anonymous: \(status), not 401") }
                    case .permission(let permission), .permissionWithKeyInForm(let permission):
                        guard let permissions else {
                            if status != 401 { problems.append("\(key) as anonymous: \(status), not 401") }
                            continue
                        }
                        let allowed = permissions.allows(permission)
                        if !allowed && status != 403 { problems.append("\(key) as \(name) without \(permission): \(status), not 403") }
                        if allowed && reply.errorCode == "permission_denied" { problems.append("\(key) as \(name) with \(permission): refused") }
                    }
                }
            }
            #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.joined(separator: "\n"))")
        }
    }

    /// What each path parameter of each route names, so the test can put a resource of either site in
    /// it. A route with parameters that is not here fails the test below.
    static let parameters: [String: [String: String]] = [
        "/api/v1/sites/{id}": ["id": "site"],
        "/api/v1/dvrs/{id}": ["id": "dvr"],
        "/api/v1/cameras/{camera}": ["camera": "camera"],
        "/api/v1/cameras/{camera}/zones": ["camera": "camera"],
        "/api/v1/cameras/{camera}/zones/{id}": ["camera": "camera", "id": "zone"],
        "/api/v1/cameras/{camera}/device-token": ["camera": "camera"],
        "/api/v1/cameras/{camera}/latest.jpg": ["camera": "camera"],
        "/api/v1/cameras/{camera}/snapshot": ["camera": "camera"],
        "/api/v1/users/{id}": ["id": "user"],
        "/api/v1/jobs/{id}": ["id": "job"],
        "/api/v1/jobs/{id}/cancel": ["id": "job"],
        "/api/v1/jobs/{id}/retry": ["id": "job"],
        "/api/v1/events/{id}": ["id": "event"],
        "/api/v1/events/{id}/images/{role}": ["id": "event", "role": "thumb"],
        "/api/v1/events/{id}/feedback": ["id": "event"],
        "/api/v1/events/{id}/faces": ["id": "event"],
        "/api/v1/events/{id}/reviews": ["id": "event"],
        "/api/v1/events/{id}/review": ["id": "event"],
        "/api/v1/alert-rules/{id}": ["id": "rule"],
        "/api/v1/alert-rules/{id}/test": ["id": "rule"],
        "/api/v1/alerts/{id}": ["id": "alert"],
        "/api/v1/notification-channels/{id}": ["id": "channel"],
        "/api/v1/notification-channels/{id}/test": ["id": "channel"],
        "/api/v1/persons/{id}": ["id": "person"],
        "/api/v1/persons/{id}/faces": ["id": "person"],
        "/api/v1/persons/{id}/faces/{faceId}": ["id": "person", "faceId": "face"],
        "/api/v1/faces/{id}/image": ["id": "face"],
        "/api/v1/face-clusters/{id}": ["id": "cluster"],
        "/api/v1/face-clusters/{id}/merge": ["id": "cluster"],
        "/api/v1/face-clusters/{id}/promote": ["id": "cluster"],
        "/api/v1/watchlists/{id}": ["id": "watchlist"],
        "/api/v1/watchlists/{id}/entries": ["id": "watchlist"],
        "/api/v1/watchlists/{id}/entries/{personId}": ["id": "watchlist", "personId": "person"],
        "/api/v1/training-jobs/{id}": ["id": "training_job"],
        "/api/v1/model-versions/{id}": ["id": "model_version"],
        "/api/v1/model-versions/{id}/approve": ["id": "model_version"],
        "/api/v1/api-keys/{id}": ["id": "api_key"],
    ]

    /// Things that belong to the installation, not to a site: a caller limited to some sites never reaches them.
    static let installationKinds: Set<String> = ["training_job", "model_version", "api_key"]

    /// One of everything at a site, made as its administrators and its cameras would, by someone who sees every site.
    func seedSite(_ app: TestApp, _ name: String) async throws -> [String: String] {
        var made: [String: String] = [:]
        let site = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"\#(name)"}"#).string("id"))
        made["site"] = site
        made["camera"] = try await app.createCamera(#"{"name":"\#(name) door","site_id":"\#(site)"}"#)
        made["zone"] = try await app.call(.post, "/api/v1/cameras/\(made["camera"]!)/zones",
                                          json: #"{"name":"Z","coordinates":[[0,0],[1,0],[1,1],[0,1]]}"#).string("id")
        made["dvr"] = try await app.call(.post, "/api/v1/dvrs", json: #"{"name":"\#(name) NVR","ip_address":"10.9.9.9","site_id":"\#(site)"}"#).string("id")
        made["rule"] = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"\#(name) rule","site_id":"\#(site)"}"#).string("id")
        made["channel"] = try await app.call(.post, "/api/v1/notification-channels", json: """
            {"name":"\(name) hook","channel_type":"webhook","site_id":"\(site)","config":{"url":"http://127.0.0.1:9/hook"}}
            """).string("id")
        made["person"] = try await app.call(.post, "/api/v1/persons", json: #"{"name":"\#(name) person","site_id":"\#(site)"}"#).string("id")
        made["watchlist"] = try await app.call(.post, "/api/v1/watchlists",
                                               json: #"{"name":"\#(name) list","watch_type":"vip","site_id":"\#(site)"}"#).string("id")
        let event = try await EventsAPITests().seed(app, camera: made["camera"]!, minutesAgo: 5).id
        made["event"] = event.uuidString.lowercased()
        let user = try await AccessControlTests().makeUser(app, username: "\(name.lowercased())_member", role: "viewer")
        made["user"] = user.id.uuidString.lowercased()
        let (alert, face, cluster, job) = (UUID(), UUID(), UUID(), UUID())
        let (camera, person, siteId) = (UUID(uuidString: made["camera"]!)!, UUID(uuidString: made["person"]!)!, UUID(uuidString: site)!)
        let faceImage = try app.media.write(try TestImages.photoBytes("person.jpg"), at: "faces/\(face.uuidString.lowercased()).jpg")
        try await app.database.transaction { connection in
            try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(user.id), \(siteId))", logger: TestApp.logger)
            try await connection.query("""
                INSERT INTO alerts (id, event_id, camera_id, alert_type, severity, message, dedup_key, last_seen_at)
                VALUES (\(alert), \(event), \(camera), 'rule', 'medium', 'Someone at the door', \(alert.uuidString), now())
                """, logger: TestApp.logger)
            try await connection.query("""
                INSERT INTO person_clusters (id, site_id, cluster_label, model_version, first_seen, last_seen)
                VALUES (\(cluster), \(siteId), \("Unknown-" + name), 'sface_2021dec', now(), now())
                """, logger: TestApp.logger)
            try await connection.query("""
                INSERT INTO face_embeddings (id, person_id, embedding, source_image_path, model_version, source)
                VALUES (\(face), \(person), array_fill(0.1, ARRAY[128])::vector, \(faceImage), 'sface_2021dec', 'enrolment')
                """, logger: TestApp.logger)
            try await connection.query("""
                INSERT INTO jobs (id, job_type, status, payload) VALUES (\(job), 'analyze_capture', 'failed', jsonb_build_object('camera_id', \(camera.uuidString)))
                """, logger: TestApp.logger)
        }
        made["alert"] = alert.uuidString.lowercased()
        made["face"] = face.uuidString.lowercased()
        made["cluster"] = cluster.uuidString.lowercased()
        made["job"] = job.uuidString.lowercased()
        return made
    }

    @Test("callers of site A, as each role: another site's resource is 404 on every route (never changed), their own is found; no answer of theirs names anything of site B")
    func ownSiteAndOtherSite() async throws {
        try await TestApp.run { app in
            var siteA = try await seedSite(app, "North")
            var siteB = try await seedSite(app, "South")
            // Of the installation: a training job and its model version, an API key.
            let (dataset, training, version) = (UUID(), UUID(), UUID())
            try await app.database.transaction { connection in
                try await connection.query("""
                    INSERT INTO training_datasets (id, name, embedding_model, version) VALUES (\(dataset), 'D', 'sface_2021dec', 'v1')
                    """, logger: TestApp.logger)
                try await connection.query("""
                    INSERT INTO training_jobs (id, dataset_id, model_version_to) VALUES (\(training), \(dataset), 'sface-matrix')
                    """, logger: TestApp.logger)
                try await connection.query("""
                    INSERT INTO model_versions (id, version_string, embedding_model, threshold) VALUES (\(version), 'sface-matrix', 'sface_2021dec', 0.5)
                    """, logger: TestApp.logger)
            }
            let keys = try await app.call(.get, "/api/v1/api-keys").items
            let installation = ["training_job": training.uuidString.lowercased(), "model_version": version.uuidString.lowercased(),
                                "api_key": try #require(keys.first?.objectValue?["id"]?.stringValue)]
            siteA.merge(installation) { $1 }
            siteB.merge(installation) { $1 }
            let siteBIds = Set(siteB.filter { !Self.installationKinds.contains($0.key) }.values)

            var callers: [(name: String, caller: TestApp.Caller)] = []
            for role in ["admin", "operator", "viewer"] {
                callers.append((role, try await SiteIsolationTests.member(app, "north_\(role)", role: role, sites: [siteA["site"]!]).caller))
            }

            var problems: [String] = []
            // Deletions last, so what they would remove is there for every other route.
            let routes = app.policy.all.keys.sorted { ($0.hasPrefix("DELETE") ? 1 : 0, $0) < ($1.hasPrefix("DELETE") ? 1 : 0, $1) }
            for key in routes {
                let parts = key.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                let template = String(parts[1])
                let names = template.matches(of: /\{([^}]+)\}/).map { String($0.1) }
                guard names.isEmpty || Self.parameters[template] != nil else {
                    problems.append("\(key): its parameters are not in RouteMatrixTests.parameters"); continue
                }
                func path(_ resources: [String: String]) -> String {
                    var path = template
                    for name in names {
                        let kind = Self.parameters[template]![name]!
                        path = path.replacingOccurrences(of: "{\(name)}", with: resources[kind] ?? kind)
                    }
                    return path
                }
                let kinds = Set(names.compactMap { Self.parameters[template]?[$0] })
                let installationOnly = !kinds.isDisjoint(with: Self.installationKinds)
                for (role, caller) in callers {
                    let body: String? = [.post, .patch].contains(method) ? "{}" : nil
                    if !names.isEmpty {
                        let other = try await app.call(method, path(siteB), json: body, as: caller)
                        let status = Int(other.status.code)
                        if status < 300 || status >= 500 { problems.append("\(key) as \(role) on site B's: \(status) \(other.text.prefix(100))") }
                        if [.get, .delete].contains(method), ![403, 404].contains(status) {
                            problems.append("\(key) as \(role) on site B's: \(status), not 404 \(other.text.prefix(100))")
                        }
                        // Refusing to say more than the role allows; the installation's things are refused as such.
                        if status == 403, other.errorCode != "permission_denied", !installationOnly {
                            problems.append("\(key) as \(role) on site B's: 403 \(other.errorCode ?? ""), which tells it exists")
                        }
                    }
                    guard method == .get else { continue }
                    let own = try await app.call(.get, path(siteA), as: caller)
                    let absent = Set(kinds.map { "\(["rule": "alert_rule", "channel": "notification_channel", "cluster": "face_cluster"][$0] ?? $0)_not_found" })
                    if !installationOnly, let code = own.errorCode, absent.contains(code) {
                        problems.append("\(key) as \(role) on its own site's: \(own.status.code) \(own.text.prefix(100))")
                    }
                    if let leaked = siteBIds.first(where: { own.text.contains($0) }) {
                        problems.append("\(key) as \(role): the answer names site B's \(siteB.first { $0.value == leaked }!.key) \(leaked)")
                    }
                }
            }
            // Nothing of site B's was changed or removed.
            for (kind, route) in [("camera", "/api/v1/cameras/"), ("person", "/api/v1/persons/"), ("rule", "/api/v1/alert-rules/"),
                                  ("watchlist", "/api/v1/watchlists/"), ("user", "/api/v1/users/"), ("event", "/api/v1/events/")] {
                let reply = try await app.call(.get, route + siteB[kind]!)
                if reply.status != .ok { problems.append("site B's \(kind) after the calls: \(reply.status.code)") }
            }
            #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.joined(separator: "\n"))")
        }
    }
}
