import Foundation
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// The events API over events written straight into the database.
@Suite("Events API: filters, search, pages, review")
struct EventsAPITests {
    struct Seeded {
        var id: UUID
        var started: Date
    }

    @Test("a query parameter the route does not take is refused like an unknown field, naming what it takes; ids come in lower case")
    func unknownParameters() async throws {
        try await TestApp.run { app in
            let camera = try await app.createCamera(#"{"name":"Gate"}"#)
            #expect(camera == camera.lowercased(), "ids are written as RFC 9562 writes them")
            let typo = try await app.call(.get, "/api/v1/events?start=yesterday")
            #expect(typo.status == .badRequest && typo.errorCode == "unknown_parameter", "\(typo.text)")
            #expect(typo.text.contains("from") && typo.text.contains("start"))
            #expect(try await app.call(.get, "/api/v1/events?from=2026-01-01T00:00:00Z&limit=5").status == .ok)
            #expect(try await app.call(.get, "/api/v1/cameras/\(camera)?verbose=1").errorCode == "unknown_parameter")
            #expect(try await app.call(.get, "/api/v1/cameras/\(camera.uppercased())").string("id") == camera, "any case is accepted on input")
            // The page's cache-busting parameter is declared, so the frame route does not refuse it.
            #expect(try await app.call(.get, "/api/v1/cameras/\(camera)/latest.jpg?at=1").errorCode != "unknown_parameter")
        }
    }

    @Test("text no column can store is refused with a 4xx naming it, never a 500: NUL in a body or a query (a path is not decoded); a name longer in code points than in characters")
    func textTheDatabaseCannotStore() async throws {
        try await TestApp.run { app in
            let nul = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Gate","location":"by the \u0000 door"}"#)
            #expect(nul.status == .badRequest && nul.errorCode == "invalid_text" && nul.text.contains("location"), "\(nul.text)")
            let key = try await app.call(.post, "/api/v1/api-keys", json: #"{"name":"cam","role":"operator\u0000"}"#)
            #expect(key.status == .badRequest && key.errorCode == "invalid_text", "\(key.text)")
            let query = try await app.call(.get, "/api/v1/persons?search=a%00b")
            #expect(query.status == .badRequest && query.errorCode == "invalid_parameter", "\(query.text)")
            let path = try await app.call(.get, "/api/v1/cameras/gate%00")
            #expect(path.status == .notFound && path.errorCode == "camera_not_found", "a path is not decoded: \(path.text)")
            // 100 characters, 200 code points: an e and a combining acute accent each.
            let accented = String(repeating: "e\u{301}", count: 100)
            #expect(accented.count == 100)
            let long = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Gate","location":"\#(String(repeating: accented, count: 2))"}"#)
            #expect(long.status == .unprocessableContent && long.text.contains("location"), "\(long.text)")
            #expect(try await app.call(.get, "/api/v1/cameras").status == .ok)
        }
    }

    /// Inserts an event of `camera` that started `minutesAgo` before the test clock's now.
    @discardableResult
    func seed(_ app: TestApp, camera: String, minutesAgo: Double, type: String = "human_detected", risk: Int = 40,
              objects: [String] = ["person"], summary: String = "Person at the gate", reviewed: Bool = false) async throws -> Seeded {
        let started = app.clock.now.addingTimeInterval(-minutesAgo * 60)
        let id = UUIDv7Generator(now: { started }).next()
        let cameraId = UUID(uuidString: camera)!
        let level = RiskLevel(score: risk).rawValue
        try await app.database.transaction { connection in
            try await connection.query("""
                INSERT INTO events (id, batch_id, camera_id, event_type, started_at, ended_at, closed_at, risk_score, risk_level, summary,
                                    reasoning, object_types, reviewed, place)
                VALUES (\(id), \(UUID()), \(cameraId), \(type), \(started), \(started.addingTimeInterval(20)), \(started.addingTimeInterval(50)),
                        \(risk), \(level), \(summary), 'Scored by the rules.', \(objects), \(reviewed), fn_event_place(\(cameraId), '{}'))
                """, logger: TestApp.logger)
        }
        return Seeded(id: id, started: started)
    }

    func ids(_ reply: TestApp.Reply) -> [String] {
        reply.items.compactMap { $0.objectValue?["id"]?.stringValue }
    }

    @Test("newest first, a page at a time: every event once, in order, whatever the page size")
    func keysetPages() async throws {
        try await TestApp.run { app in
            let camera = try await app.createCamera(#"{"name":"Gate"}"#)
            var seeded: [Seeded] = []
            for minutes in [50.0, 40, 30, 30, 20, 10, 5] { seeded.append(try await seed(app, camera: camera, minutesAgo: minutes)) }
            // Two events started at the same moment are ordered by id.
            let expected = seeded.sorted { ($0.started, $0.id.uuidString) > ($1.started, $1.id.uuidString) }
                .map { $0.id.uuidString.lowercased() }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let reply = try await app.call(.get, "/api/v1/events?limit=3" + (cursor.map { "&after=\($0)" } ?? ""))
                #expect(reply.status == .ok)
                seen += ids(reply)
                cursor = reply["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(seen.map { $0.lowercased() } == expected)
            #expect(try await app.call(.get, "/api/v1/events?limit=0").errorCode == "invalid_parameter")
        }
    }

    @Test("filters: camera, time, type, risk, reviewed, object types, suspicious activity")
    func filters() async throws {
        try await TestApp.run { app in
            let gate = try await app.createCamera(#"{"name":"Gate"}"#)
            let yard = try await app.createCamera(#"{"name":"Yard"}"#)
            let person = try await seed(app, camera: gate, minutesAgo: 120, risk: 70)
            let car = try await seed(app, camera: gate, minutesAgo: 30, type: "object_detected", risk: 35, objects: ["car"],
                                     summary: "Car at Gate", reviewed: true)
            let dog = try await seed(app, camera: yard, minutesAgo: 10, type: "object_detected", risk: 5, objects: ["dog"], summary: "Dog at Yard")
            try await app.database.transaction { connection in
                try await connection.query("""
                    INSERT INTO suspicious_activity_events (camera_id, event_id, activity_type, confidence, severity, dedup_key, timestamp)
                    VALUES (\(UUID(uuidString: gate)!), \(person.id), 'loitering', 0.9, 'medium', 'k', \(person.started.addingTimeInterval(5)))
                    """, logger: TestApp.logger)
            }
            func found(_ query: String) async throws -> Set<UUID> {
                let reply = try await app.call(.get, "/api/v1/events?\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.text)")
                return Set(ids(reply).compactMap(UUID.init(uuidString:)))
            }
            #expect(try await found("camera_id=\(gate)") == [person.id, car.id])
            #expect(try await found("camera_id=\(gate),\(yard)") == [person.id, car.id, dog.id])
            let hourAgo = ISO8601DateFormatter().string(from: app.clock.now.addingTimeInterval(-3600))
            #expect(try await found("from=\(hourAgo)") == [car.id, dog.id])
            #expect(try await found("to=\(hourAgo)") == [person.id])
            #expect(try await found("event_type=human_detected") == [person.id])
            #expect(try await found("risk_level=high,low") == [person.id, dog.id])
            #expect(try await found("min_risk=20&max_risk=69") == [car.id])
            #expect(try await found("reviewed=false") == [person.id, dog.id])
            #expect(try await found("object_type=dog,car") == [car.id, dog.id])
            #expect(try await found("has_suspicious=true") == [person.id])
            #expect(try await found("has_suspicious=false") == [car.id, dog.id])
            for bad in ["risk_level=extreme", "camera_id=nope", "min_risk=101", "from=yesterday", "event_type=party",
                        "from=\(hourAgo)&to=\(hourAgo)"] {
                let reply = try await app.call(.get, "/api/v1/events?\(bad)")
                #expect(reply.status == .badRequest && reply.errorCode == "invalid_parameter", "\(bad): \(reply.text)")
            }
        }
    }

    @Test("full-text search finds summaries, object types and camera names, best match first")
    func search() async throws {
        try await TestApp.run { app in
            let door = try await app.createCamera(#"{"name":"Front Door","location":"Porch"}"#)
            let yard = try await app.createCamera(#"{"name":"Back Yard"}"#)
            let atDoor = try await seed(app, camera: door, minutesAgo: 30, summary: "Person at Front Door, Porch entry point, for 48 s")
            let passing = try await seed(app, camera: yard, minutesAgo: 20, summary: "Person walking by the fence")
            let parcel = try await seed(app, camera: yard, minutesAgo: 10, type: "object_detected", objects: ["suitcase"],
                                        summary: "Suitcase left near the door of the shed")
            func found(_ q: String) async throws -> [UUID] {
                let escaped = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
                return ids(try await app.call(.get, "/api/v1/events?q=\(escaped)")).compactMap(UUID.init(uuidString:))
            }
            #expect(try await found("front door").first == atDoor.id)
            let door1 = try await found("door")
            #expect(door1.first == atDoor.id && Set(door1) == [atDoor.id, parcel.id], "the camera's name weighs more than a word of a summary")
            #expect(Set(try await found("person")) == [atDoor.id, passing.id])
            #expect(try await found("suitcase") == [parcel.id], "object types are searched")
            #expect(try await found("porch") == [atDoor.id], "a camera's location is searched")
            #expect(try await found("\"front door\" -suitcase") == [atDoor.id])
            #expect(try await found("giraffe").isEmpty)
            // Pages of a search follow its ranking.
            let first = try await app.call(.get, "/api/v1/events?q=door&limit=1")
            let cursor = try #require(first["next_cursor"]?.stringValue)
            let second = try await app.call(.get, "/api/v1/events?q=door&limit=1&after=\(cursor)")
            #expect((ids(first) + ids(second)).map { $0.lowercased() } == door1.map { $0.uuidString.lowercased() })
            #expect(second["next_cursor"] == nil || second["next_cursor"] == .null)
        }
    }

    @Test("review: reviewed, notes and review action are saved and audited; bad changes are refused")
    func review() async throws {
        try await TestApp.run { app in
            let camera = try await app.createCamera(#"{"name":"Gate"}"#)
            let event = try await seed(app, camera: camera, minutesAgo: 5)
            let id = event.id.uuidString.lowercased()
            let updated = try await app.call(.patch, "/api/v1/events/\(id)", json: #"{"notes":"the postman","reviewed":true}"#)
            #expect(updated.status == .ok && updated["reviewed"] == .bool(true) && updated["notes"] == .string("the postman"))
            let confirmed = try await app.call(.patch, "/api/v1/events/\(id)", json: #"{"review_action":"confirm"}"#)
            #expect(confirmed["review_action"] == .string("confirm") && confirmed["notes"] == .string("the postman"))
            let cleared = try await app.call(.patch, "/api/v1/events/\(id)", json: #"{"notes":null}"#)
            #expect(cleared["notes"] == nil && cleared["review_action"] == .string("confirm"))
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM audit_logs WHERE action = 'event_reviewed'", as: Int.self) == 3)

            #expect(try await app.call(.patch, "/api/v1/events/\(id)", json: #"{"review_action":"shrug"}"#).status == .badRequest)
            #expect(try await app.call(.patch, "/api/v1/events/\(id)", json: #"{"reviewd":true}"#).status == .badRequest)
            #expect(try await app.call(.patch, "/api/v1/events/\(id)", json: #"{}"#).errorCode == "validation_failed")
            #expect(try await app.call(.patch, "/api/v1/events/\(UUID().uuidString)", json: #"{"reviewed":true}"#).errorCode == "event_not_found")
            // A viewer may look but not review.
            let viewer = try await app.apiKey(role: "viewer")
            #expect(try await app.call(.get, "/api/v1/events/\(id)", as: .apiKey(viewer)).status == .ok)
            #expect(try await app.call(.patch, "/api/v1/events/\(id)", json: #"{"reviewed":false}"#, as: .apiKey(viewer)).status == .forbidden)
        }
    }

    @Test("feedback: one verdict per event, replaced when given again; a wrong severity needs the expected one")
    func feedback() async throws {
        try await TestApp.run { app in
            let camera = try await app.createCamera(#"{"name":"Gate"}"#)
            let id = try await seed(app, camera: camera, minutesAgo: 5).id.uuidString.lowercased()
            let first = try await app.call(.post, "/api/v1/events/\(id)/feedback", json: #"{"feedback_type":"false_positive","notes":"a shadow"}"#)
            #expect(first.status == .created && first["feedback_type"] == .string("false_positive"))
            let missing = try await app.call(.post, "/api/v1/events/\(id)/feedback", json: #"{"feedback_type":"severity_wrong"}"#)
            #expect(missing.status == .unprocessableContent && missing.errorCode == "validation_failed", "\(missing.text)")
            let second = try await app.call(.post, "/api/v1/events/\(id)/feedback",
                                            json: #"{"feedback_type":"severity_wrong","expected_severity":"high"}"#)
            #expect(second.status == .created && second["id"] == first["id"])
            let detail = try await app.call(.get, "/api/v1/events/\(id)")
            #expect(detail["feedback"]?.objectValue?["expected_severity"] == .string("high"))
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM event_feedback", as: Int.self) == 1)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM audit_logs WHERE action = 'event_feedback'", as: Int.self) == 2)
        }
    }

    @Test("dashboard figures count today's events and suspicious activity of the caller's sites")
    func dashboard() async throws {
        try await TestApp.run { app in
            let camera = try await app.createCamera(#"{"name":"Gate"}"#)
            try await seed(app, camera: camera, minutesAgo: 1, risk: 90)
            try await seed(app, camera: camera, minutesAgo: 2, type: "object_detected", risk: 10, objects: ["car"], reviewed: true)
            let stats = try await app.call(.get, "/api/v1/stats/dashboard")
            #expect(stats.status == .ok)
            // The seeded events are on the test clock's day; "today" is the database's.
            let today = try #require(try await app.database.scalar(
                "SELECT count(*)::int8 FROM events WHERE started_at >= date_trunc('day', now())", as: Int.self))
            #expect(stats["events_today"] == .number(Double(today)))
            #expect(stats["total_cameras"] == .number(1))
        }
    }

    @Test("a viewer of site A sees only site A's events, in lists, details, images and figures")
    func siteIsolation() async throws {
        try await TestApp.run { app in
            let siteA = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Site A"}"#).string("id"))
            let siteB = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Site B"}"#).string("id"))
            let cameraA = try await app.createCamera(#"{"name":"Cam A","site_id":"\#(siteA)"}"#)
            let cameraB = try await app.createCamera(#"{"name":"Cam B","site_id":"\#(siteB)"}"#)
            let eventA = try await seed(app, camera: cameraA, minutesAgo: 3)
            let eventB = try await seed(app, camera: cameraB, minutesAgo: 2)
            let viewer = try await Accounts.createUser(username: "vera", email: "vera@example.test", password: "correct horse battery",
                                                       roleName: "viewer", actor: "tests", database: app.database, logger: TestApp.logger)
            try await app.database.transaction { connection in
                try await connection.query("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(viewer.id), \(UUID(uuidString: siteA)!))",
                                           logger: TestApp.logger)
            }
            let login = try await app.call(.post, "/api/v1/auth/login", json: #"{"login":"vera","password":"correct horse battery"}"#,
                                           as: .anonymous)
            let caller = TestApp.Caller.bearer(try #require(login.string("token")))
            #expect(ids(try await app.call(.get, "/api/v1/events", as: caller)).map { $0.lowercased() } == [eventA.id.uuidString.lowercased()])
            #expect(ids(try await app.call(.get, "/api/v1/events?site_id=\(siteB)", as: caller)).isEmpty)
            #expect(try await app.call(.get, "/api/v1/events/\(eventB.id.uuidString)", as: caller).errorCode == "event_not_found")
            #expect(try await app.call(.get, "/api/v1/events/\(eventB.id.uuidString)/images/during", as: caller).errorCode == "event_not_found")
            #expect(try await app.call(.get, "/api/v1/stats/dashboard", as: caller)["total_cameras"] == .number(1))
            #expect(ids(try await app.call(.get, "/api/v1/events")).count == 2, "the administrator sees both")
        }
    }

    @Test("a common word: the newest 1,000 of its matches are ranked and paged, month by month back; older ones are left out")
    func searchWindow() async throws {
        try await TestApp.run { app in
            let camera = UUID(uuidString: try await app.createCamera(#"{"name":"Gate"}"#))!
            // 1,300 matches a day apart (over three months and more), newest first by number.
            try await app.database.transaction { connection in
                try await connection.query("""
                    INSERT INTO events (id, batch_id, camera_id, event_type, started_at, summary, object_types, place)
                    SELECT gen_random_uuid(), gen_random_uuid(), \(camera), 'human_detected', \(app.clock.now) - n * interval '2 hours',
                           'Person number ' || n, '{person}', 'Gate'
                    FROM generate_series(1, 1300) AS n
                    """, logger: TestApp.logger)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let reply = try await app.call(.get, "/api/v1/events?q=person&limit=200" + (cursor.map { "&after=\($0)" } ?? ""))
                #expect(reply.status == .ok)
                seen += reply.items.compactMap { $0.objectValue?["summary"]?.stringValue }
                cursor = reply["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(seen.count == EventRepository.searchWindow && Set(seen).count == seen.count)
            let numbers = seen.compactMap { Int($0.split(separator: " ").last ?? "") }
            #expect(numbers.max() == 1000 && numbers.min() == 1, "the newest 1,000: \(numbers.min() ?? 0)...\(numbers.max() ?? 0)")
        }
    }
}
