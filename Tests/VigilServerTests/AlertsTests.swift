import Foundation
import NIOCore
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// Rules, channels and alerts through the API, and alerts raised from real frames and delivered
/// to real local servers.
@Suite("Alert rules and notification channels")
struct AlertRulesAPITests {
    @Test("rules: seed defaults, every condition stored, validation with field names, references checked, built-ins kept, audited")
    func rules() async throws {
        try await TestApp.run { app in
            let builtins = try await app.call(.get, "/api/v1/alert-rules").items.compactMap(\.objectValue).filter { $0["builtin"] != nil }
            #expect(builtins.count == 9, "one per suspicious activity Vigil finds")
            #expect(builtins.allSatisfy { $0["enabled"] == .bool(true) && $0["severity"] == nil })

            let camera = try await app.createCamera(#"{"name":"Front Door"}"#)
            let zone = try #require(try await app.call(.post, "/api/v1/cameras/\(camera)/zones", json: """
                {"name":"Porch","zone_type":"entry_point","coordinates":[[0,0],[1,0],[1,1],[0,1]],"shape":"polygon"}
                """).string("id"))
            let hook = try await app.createChannel(name: "Hook", type: "webhook", config: #"{"url":"http://127.0.0.1:9/hook"}"#)
            let created = try await app.call(.post, "/api/v1/alert-rules", json: """
                {"name":"Person at night","severity":"high","risk_threshold":50,"object_types":["person"],"camera_ids":["\(camera)"],
                 "zone_ids":["\(zone)"],"event_types":["human_detected"],"min_confidence":0.7,
                 "schedule":{"days":["mon","tue","wed","thu","fri","sat","sun"],"start_time":"22:00","end_time":"06:00","timezone":"America/Chicago"},
                 "quiet_hours":{"start":"03:00","end":"03:30","enabled":true},
                 "dedup_key_template":"{camera_id}:{rule_id}:{object_type}","cooldown_seconds":600,"channel_ids":["\(hook)"]}
                """)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.string("id"))
            #expect(created["min_confidence"] == .number(0.7))
            #expect(created["schedule"]?.objectValue?["timezone"] == .string("America/Chicago"))
            #expect(created["channel_ids"] == .array([.string(hook.uppercased())]) || created["channel_ids"] == .array([.string(hook)]))

            let patched = try await app.call(.patch, "/api/v1/alert-rules/\(id)", json: #"{"cooldown_seconds":120,"enabled":false}"#)
            #expect(patched["cooldown_seconds"] == .number(120) && patched["enabled"] == .bool(false))
            #expect(patched["risk_threshold"] == .number(50), "fields left out stay")

            let invalid = try await app.call(.post, "/api/v1/alert-rules", json: """
                {"name":"Bad","risk_threshold":150,"min_confidence":2,"cooldown_seconds":-5,
                 "schedule":{"days":["mon"],"start_time":"24:00","end_time":"06:00","timezone":"Nowhere/City"},
                 "dedup_key_template":"{camera}"}
                """)
            #expect(invalid.status == .unprocessableContent)
            let fields = Set(invalid["error"]?.objectValue?["details"]?.arrayValue?.compactMap { $0.objectValue?["field"]?.stringValue } ?? [])
            #expect(fields == ["risk_threshold", "min_confidence", "cooldown_seconds", "schedule.start_time", "schedule.timezone",
                               "dedup_key_template"])
            let missing = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Ghost","camera_ids":["\#(UUID())"]}"#)
            #expect(missing.status == .unprocessableContent && missing.text.contains("camera_ids"))
            #expect(try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"Typo","risk_treshold":5}"#).errorCode == "unknown_field")

            let builtinId = try #require(builtins.first?["id"]?.stringValue)
            let kept = try await app.call(.delete, "/api/v1/alert-rules/\(builtinId)")
            #expect(kept.status == .conflict && kept.errorCode == "alert_rule_builtin")
            #expect(try await app.call(.patch, "/api/v1/alert-rules/\(builtinId)", json: #"{"enabled":false}"#)["enabled"] == .bool(false))
            #expect(try await app.call(.delete, "/api/v1/alert-rules/\(id)").status == .noContent)
            #expect(try await app.call(.get, "/api/v1/alert-rules/\(id)").status == .notFound)

            let viewer = try await app.apiKey(role: "viewer")
            #expect(try await app.call(.get, "/api/v1/alert-rules", as: .apiKey(viewer)).status == .ok)
            #expect(try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"x"}"#, as: .apiKey(viewer)).status == .forbidden)
            let audited = try await app.database.scalar("""
                SELECT string_agg(action, ',' ORDER BY id) FROM audit_logs WHERE resource_type = 'alert_rule'
                """, as: String.self)
            #expect(audited == "alert_rule_created,alert_rule_updated,alert_rule_updated,alert_rule_deleted")
        }
    }

    @Test("channels: credentials required where needed, sealed at rest, never shown or audited; header values redacted and kept")
    func channels() async throws {
        try await TestApp.run { app in
            let token = "123456:AAE-secret-bot-token"
            let noToken = try await app.call(.post, "/api/v1/notification-channels", json: """
                {"name":"Phone","channel_type":"telegram","config":{"chat_id":"-100123"}}
                """)
            #expect(noToken.status == .unprocessableContent && noToken.text.contains("bot token"))
            let telegram = try await app.call(.post, "/api/v1/notification-channels", json: """
                {"name":"Phone","channel_type":"telegram","config":{"chat_id":"-100123"},"credential":"\(token)"}
                """)
            #expect(telegram.status == .created, "\(telegram.text)")
            #expect(telegram["has_credential"] == .bool(true) && telegram["credential"] == nil && !telegram.text.contains(token))
            let sealed = try #require(try await app.database.scalar("SELECT encode(credential_encrypted, 'escape') FROM notification_channels", as: String.self))
            #expect(!sealed.contains(token) && !sealed.isEmpty)
            let audit = try await app.database.scalar("SELECT string_agg(details::text, ' ') FROM audit_logs", as: String.self) ?? ""
            #expect(!audit.contains(token))

            let duplicate = try await app.call(.post, "/api/v1/notification-channels", json: """
                {"name":"Phone","channel_type":"webhook","config":{"url":"https://example.org/x"}}
                """)
            #expect(duplicate.status == .conflict && duplicate.errorCode == "channel_name_taken")
            let hook = try await app.call(.post, "/api/v1/notification-channels", json: """
                {"name":"Hook","channel_type":"webhook","config":{"url":"https://example.org/x","headers":{"Authorization":"Bearer hunter2"}},
                 "credential":"hmac-secret"}
                """)
            let hookId = try #require(hook.string("id"))
            #expect(hook["config"]?.objectValue?["headers"] == .object(["Authorization": .string("[redacted]")]))
            // Sending back what was read keeps the stored header.
            let renamed = try await app.call(.patch, "/api/v1/notification-channels/\(hookId)", json: """
                {"name":"Door hook","config":\(try #require(hook["config"]).jsonText)}
                """)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(try await app.database.scalar("SELECT config -> 'headers' ->> 'Authorization' FROM notification_channels WHERE name = 'Door hook'",
                                                  as: String.self) == "Bearer hunter2")
            let bad = try await app.call(.patch, "/api/v1/notification-channels/\(hookId)", json: #"{"config":{"url":"gopher://x","snapshot":"gif"}}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(try await app.call(.delete, "/api/v1/notification-channels/\(hookId)").status == .noContent)
        }
    }
}

extension JSONValue {
    var jsonText: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self) }
}

@Suite("Alerts raised from events and delivered")
struct AlertDeliveryTests {
    let pushes = EventPipelineTests()

    /// A camera with an entry point over the whole view.
    func camera(_ app: TestApp) async throws -> (id: String, token: String, zone: String) {
        let camera = try await pushes.camera(app)
        let zone = try #require(try await app.call(.post, "/api/v1/cameras/\(camera.id)/zones", json: """
            {"name":"Porch","zone_type":"entry_point","coordinates":[[0,0],[1,0],[1,1],[0,1]],"shape":"polygon"}
            """).string("id"))
        return (camera.id, camera.token, zone)
    }

    @Test("a person at 02:00 site time raises one alert, one email and one webhook; ten more sightings in the cooldown raise none")
    func endToEnd() async throws {
        let mail = try await TestMailServer.start()
        defer { Task { await mail.stop() } }
        let services = FakeServices()
        try await services.run { port in
            try await TestApp.run { app in
                let site = try #require(try await app.call(.get, "/api/v1/sites").items.first?.objectValue?["id"]?.stringValue)
                #expect(try await app.call(.patch, "/api/v1/sites/\(site)", json: #"{"timezone":"America/Chicago"}"#).status == .ok)
                app.clock.advance(by: 75_200)  // 2026-11-19 08:00 UTC: 02:00 in Chicago
                let pipeline = AlertPipeline(app)
                let camera = try await camera(app)
                let email = try await app.createChannel(name: "Owner", type: "email", config: mail.channelConfig(),
                                                        credential: TestMailServer.password)
                let hook = try await app.createChannel(name: "Hook", type: "webhook",
                                                       config: #"{"url":"http://127.0.0.1:\#(port)/hook","snapshot":"base64"}"#,
                                                       credential: "whsec-test")
                _ = try await app.createRule("""
                    {"name":"Person at night","severity":"high","object_types":["person"],"zone_ids":["\(camera.zone)"],"min_confidence":0.7,
                     "schedule":{"days":["mon","tue","wed","thu","fri","sat","sun"],"start_time":"22:00","end_time":"06:00"},
                     "cooldown_seconds":600,"channel_ids":["\(email)","\(hook)"]}
                    """)
                try await pushes.push(app, token: camera.token, "person.jpg")
                try await pipeline.settle()

                // The built-in after-hours rule raises its own alert (it has no channels); the rule's is the one that notifies.
                let alerts = try await app.alerts().filter { $0["rule_name"] == .string("Person at night") }
                #expect(alerts.count == 1)
                let alert = try #require(alerts.first)
                #expect(alert["severity"] == .string("high") && alert["alert_type"] == .string("human_detected"))
                #expect(alert["status"] == .string("delivered"))
                #expect(alert["message"]?.stringValue?.contains("at 2026-11-19 02:00:00 CST") == true, "\(alert["message"] ?? .null)")

                let hooks = services.received("/hook")
                #expect(hooks.count == 1)
                let delivered = try #require(hooks.first)
                #expect(verifyWebhook(delivered, secret: "whsec-test"))
                #expect(delivered.headers["x-vigil-timestamp"] == String(Int(app.clock.now.timeIntervalSince1970)))
                #expect(delivered.json.objectValue?["alert"]?.objectValue?["id"] == alert["id"])
                let snapshot = try #require(delivered.json.objectValue?["snapshot"]?.objectValue?["base64"]?.stringValue)
                #expect(Data(base64Encoded: snapshot)?.starts(with: [0xFF, 0xD8]) == true, "the annotated frame, as JPEG")

                let messages = try mail.messages()
                #expect(messages.count == 1)
                let message = try #require(messages.first)
                #expect(message.contains("X-Test-TLS: True") && message.contains("X-Test-Authenticated: True"))
                #expect(message.contains("X-Test-Envelope-To: owner@home.test"))
                #expect(message.contains("Subject: [Vigil] high: human_detected on Front Door"))
                #expect(message.contains("Content-Type: text/html") && message.contains("Content-Type: image/jpeg"))
                #expect(message.contains("Content-Disposition: inline; filename=\"vigil-"))
                #expect(message.contains("X-Vigil-Alert-Id: \(try #require(alert["id"]?.stringValue).lowercased())"))

                // The same person, ten more times, each far enough apart to be an event of its own.
                for round in 1...10 {
                    app.clock.advance(by: 40)
                    try await pipeline.events.closer.closeDue(now: app.clock.now)
                    try await pushes.push(app, token: camera.token, "person.jpg", quality: 90 - round)
                    try await pipeline.settle()
                }
                app.clock.advance(by: 40)
                try await pipeline.events.closer.closeDue(now: app.clock.now)
                try await pipeline.settle()
                #expect(try await app.database.scalar("SELECT count(*)::int8 FROM events", as: Int.self) == 11)
                let after = try await app.alerts().filter { $0["rule_name"] == .string("Person at night") }
                #expect(after.count == 1)
                #expect(after.first?["repeat_count"] == .number(10))
                #expect(services.received("/hook").count == 1)
                #expect(try mail.messages().count == 1)
                let alertId = try #require(alert["id"]?.stringValue).lowercased()
                #expect(try await app.database.scalar("""
                    SELECT string_agg(action || ' ' || actor, ',' ORDER BY action) FROM audit_logs WHERE resource_id = \(alertId)
                    """, as: String.self) == "alert_created system:alerts,alert_delivered system:alerts")
                let detail = try await app.call(.get, "/api/v1/alerts/\(alertId)")
                let statuses = detail["deliveries"]?.arrayValue?.compactMap { $0.objectValue?["status"]?.stringValue }
                #expect(statuses == ["sent", "sent"])
                #expect(detail["event"]?.objectValue?["id"] == alert["event_id"])
            }
        }
    }
}

@Suite("Alert evaluation, lifecycle and failing deliveries")
struct AlertLifecycleTests {
    let pushes = EventPipelineTests()

    /// One closed, judged event from a real photo, with only the test's rules enabled.
    func oneEvent(_ app: TestApp, _ pipeline: AlertPipeline, photo: String = "dog.jpg") async throws -> String {
        try await app.database.execute("UPDATE alert_rules SET enabled = FALSE WHERE builtin IS NOT NULL")
        let camera = try await pushes.camera(app)
        try await pushes.push(app, token: camera.token, photo)
        try await pipeline.events.analyse()
        app.clock.advance(by: 40)
        try await pipeline.events.closer.closeDue(now: app.clock.now)
        try await pipeline.events.judgeAll()
        return try #require(try await app.call(.get, "/api/v1/events").items.first?.objectValue?["id"]?.stringValue)
    }

    @Test("two workers evaluating the same event at once raise one alert per rule")
    func exactlyOnce() async throws {
        try await TestApp.run { app in
            let pipeline = AlertPipeline(app)
            _ = try await app.createRule(#"{"name":"Anything","cooldown_seconds":0}"#)
            _ = try await app.createRule(#"{"name":"Dogs","object_types":["dog"],"cooldown_seconds":0}"#)
            let eventId = try #require(UUID(uuidString: try await oneEvent(app, pipeline)))
            let time = app.clock.now
            try await app.database.transaction { connection in
                for _ in 0..<6 { try await AlertEvaluation.queue(eventId: eventId, on: connection, at: time, logger: TestApp.logger) }
            }
            let second = JobWorker(settings: .init(workerId: "alerts-test-2"), handlers: [pipeline.evaluate], database: app.database,
                                   now: { app.clock.now }, logger: TestApp.logger)
            async let first: Int = pipeline.evaluateAll()
            async let other: Int = { var count = 0; while try await second.runNext(pipeline.evaluate) { count += 1 }; return count }()
            let ran = try await first + other
            #expect(ran == 7, "the judgement's evaluation and six more")
            let alerts = try await app.alerts()
            #expect(alerts.count == 2)
            #expect(Set(alerts.compactMap { $0["rule_name"]?.stringValue }) == ["Anything", "Dogs"])
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM alert_rule_matches", as: Int.self) == 2)
            #expect(alerts.allSatisfy { $0["repeat_count"] == .number(0) }, "an event matched again is not a repeat")
        }
    }

    @Test("acknowledge, resolve and dismiss with the user recorded, stale versions refused with 409, bulk acknowledge, audited and pushed live")
    func lifecycle() async throws {
        try await TestApp.run { app in
            let pipeline = AlertPipeline(app)
            let heard = Heard()
            let listener = Task { try await app.database.listen("vigil_live", onListening: { heard.listening() }) { heard.append($0) } }
            defer { listener.cancel() }
            try await eventually("listening") { heard.isListening }
            for name in ["First", "Second", "Third"] { _ = try await app.createRule(#"{"name":"\#(name)","severity":"high"}"#) }
            _ = try await oneEvent(app, pipeline)
            try await pipeline.evaluateAll()
            let alerts = try await app.alerts()
            #expect(alerts.count == 3)
            #expect(alerts.allSatisfy { $0["status"] == .string("delivered") && $0["version_id"] == .number(1) }, "no channels: nothing to wait for")

            // Operators see the alerts of the sites assigned to them, and only those.
            let olga = try await AccessControlTests().makeUser(app, username: "olga", role: "operator").id
            _ = try await AccessControlTests().makeUser(app, username: "otto", role: "operator")
            let site = try #require(alerts[0]["site_id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            try await app.database.execute("INSERT INTO user_site_assignments (user_id, site_id) VALUES (\(olga), \(site))")
            let token = try #require(try await AccessControlTests().login(app, "olga", "correct horse battery").string("token"))
            let outsider = try #require(try await AccessControlTests().login(app, "otto", "correct horse battery").string("token"))
            let id = try #require(alerts[0]["id"]?.stringValue)
            #expect(try await app.call(.get, "/api/v1/alerts", as: .bearer(outsider)).items.isEmpty)
            #expect(try await app.call(.get, "/api/v1/alerts/\(id)", as: .bearer(outsider)).errorCode == "alert_not_found")
            #expect(try await app.call(.get, "/api/v1/alerts", as: .bearer(token)).items.count == 3)

            let acknowledged = try await app.call(.patch, "/api/v1/alerts/\(id)", json: #"{"action":"acknowledge","version_id":1}"#, as: .bearer(token))
            #expect(acknowledged.status == .ok, "\(acknowledged.text)")
            #expect(acknowledged["status"] == .string("acknowledged") && acknowledged["version_id"] == .number(2))
            #expect(acknowledged.string("acknowledged_by")?.lowercased() == olga.uuidString.lowercased())
            let stale = try await app.call(.patch, "/api/v1/alerts/\(id)", json: #"{"action":"resolve","version_id":1}"#, as: .bearer(token))
            #expect(stale.status == .conflict && stale.errorCode == "alert_version_conflict")
            let resolved = try await app.call(.patch, "/api/v1/alerts/\(id)", json: #"{"action":"resolve","version_id":2}"#, as: .bearer(token))
            #expect(resolved["status"] == .string("resolved") && resolved.string("resolved_by")?.lowercased() == olga.uuidString.lowercased())
            let late = try await app.call(.patch, "/api/v1/alerts/\(id)", json: #"{"action":"dismiss","version_id":3}"#, as: .bearer(token))
            #expect(late.status == .conflict && late.errorCode == "alert_transition_invalid")
            let viewer = try await app.apiKey(role: "viewer")
            #expect(try await app.call(.patch, "/api/v1/alerts/\(id)", json: #"{"action":"dismiss","version_id":3}"#, as: .apiKey(viewer)).status == .forbidden)

            let ids = alerts.compactMap { $0["id"]?.stringValue }
            let bulk = try await app.call(.post, "/api/v1/alerts/acknowledge", json: #"{"alert_ids":["\#(ids.joined(separator: "\",\""))"]}"#,
                                          as: .bearer(token))
            #expect(bulk["acknowledged"]?.arrayValue?.count == 2)
            #expect(bulk["skipped"]?.arrayValue?.first?.objectValue?["reason"] == .string("already resolved"))
            let dismissed = try await app.call(.patch, "/api/v1/alerts/\(ids[1])", json: #"{"action":"dismiss","version_id":2}"#, as: .bearer(token))
            #expect(dismissed["status"] == .string("dismissed") && dismissed.string("dismissed_by") != nil)

            let active = try await app.call(.get, "/api/v1/alerts?active=true")
            #expect(active.items.count == 1)
            #expect(try await app.call(.get, "/api/v1/alerts?status=resolved,dismissed").items.count == 2)
            #expect(try await app.call(.get, "/api/v1/alerts?status=lost").errorCode == "invalid_parameter")

            let audited = try await app.database.scalar("""
                SELECT string_agg(action, ',' ORDER BY id) FROM audit_logs WHERE resource_type = 'alert' AND user_id = \(olga)
                """, as: String.self)
            #expect(audited == "alert_acknowledged,alert_resolved,alert_acknowledged,alert_acknowledged,alert_dismissed")
            try await eventually("pushed live") { heard.types.filter { $0 == "alert.updated" }.count == 5 }
            #expect(heard.types.filter { $0 == "alert.created" }.count == 3)
        }
    }

    @Test("429 waits as long as Telegram asks, failures are retried with back-off then failed, a silent webhook times out and is retried")
    func failingDeliveries() async throws {
        let services = FakeServices()
        services.script("/botTOKEN/", [.status(429, body: #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#)])
        services.script("/messages", Array(repeating: .status(500, body: #"{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2}}"#), count: 4))
        services.script("/hook", [.silence(.seconds(3))])
        try await services.run { port in
            try await TestApp.run { app in
                let pipeline = AlertPipeline(app)
                let telegram = try await app.createChannel(name: "Phone", type: "telegram",
                                                           config: #"{"chat_id":"-100123","base_url":"http://127.0.0.1:\#(port)"}"#, credential: "TOKEN")
                let whatsapp = try await app.createChannel(name: "WhatsApp", type: "whatsapp", config: """
                    {"phone_number_id":"1055","recipients":["+6591234567"],"base_url":"http://127.0.0.1:\(port)/v21.0","retry_count":3}
                    """, credential: "EAAG-token")
                let hook = try await app.createChannel(name: "Hook", type: "webhook",
                                                       config: #"{"url":"http://127.0.0.1:\#(port)/hook","timeout_seconds":1}"#)
                _ = try await app.createRule(#"{"name":"Anything","channel_ids":["\#(telegram)","\#(whatsapp)","\#(hook)"]}"#)
                _ = try await oneEvent(app, pipeline)
                try await pipeline.evaluateAll()
                #expect(try await pipeline.deliverDue() == 3)
                let retryAt = try await app.database.scalar("""
                    SELECT extract(epoch FROM next_retry_at)::float8 FROM jobs WHERE job_type = 'deliver_notification' AND payload ->> 'channel_id' = \(telegram.lowercased())
                    """, as: Double.self)
                #expect(retryAt == app.clock.now.timeIntervalSince1970 + 7, "Telegram's retry_after, not the usual back-off")

                for _ in 0..<4 {
                    app.clock.advance(by: 30)
                    try await pipeline.deliverDue()
                }
                let alertId = try #require(try await app.alerts().first?["id"]?.stringValue)
                let detail = try await app.call(.get, "/api/v1/alerts/\(alertId)")
                #expect(detail["status"] == .string("delivered"), "every channel is done, one of them failed")
                let deliveries = detail["deliveries"]?.arrayValue?.compactMap(\.objectValue) ?? []
                func attempts(_ type: String) -> [String] {
                    deliveries.filter { $0["channel_type"] == .string(type) }.compactMap { $0["status"]?.stringValue }
                }
                #expect(attempts("telegram") == ["retrying", "sent"])
                #expect(attempts("whatsapp") == ["retrying", "retrying", "retrying", "failed"])
                #expect(attempts("webhook") == ["retrying", "sent"])
                let failed = try #require(deliveries.last { $0["channel_type"] == .string("whatsapp") })
                #expect(failed["response_code"] == .number(500) && failed["error"]?.stringValue?.contains("WhatsApp answered 500") == true)
                let timedOut = try #require(deliveries.first { $0["channel_type"] == .string("webhook") })
                #expect(timedOut["error"]?.stringValue?.contains("did not answer within 1000 ms") == true, "\(timedOut)")
                #expect(try await app.database.scalar("SELECT status FROM jobs WHERE payload ->> 'channel_id' = \(whatsapp.lowercased())",
                                                      as: String.self) == "failed")

                // What the services received, in their own shapes.
                let photo = try #require(services.received("/botTOKEN/sendPhoto").last)
                #expect(photo.headers["content-type"]?.hasPrefix("multipart/form-data; boundary=") == true)
                #expect(photo.text.contains("name=\"chat_id\"\r\n\r\n-100123") && photo.text.contains("name=\"photo\"; filename=\"vigil-"))
                let message = try #require(services.received("/v21.0/1055/messages").first)
                #expect(message.headers["authorization"] == "Bearer EAAG-token")
                #expect(message.json.objectValue?["messaging_product"] == .string("whatsapp"))
                #expect(message.json.objectValue?["to"] == .string("+6591234567"))
                #expect(message.json.objectValue?["text"]?.objectValue?["body"]?.stringValue?.hasPrefix("*Alert*: object_detected at") == true)

                // Without a frame, Telegram gets sendMessage; a WhatsApp template carries the text as its parameter.
                #expect(try await app.call(.post, "/api/v1/notification-channels/\(telegram)/test").status == .ok)
                let text = try #require(services.received("/botTOKEN/sendMessage").first)
                #expect(text.json.objectValue?["chat_id"] == .string("-100123"))
                #expect(text.json.objectValue?["text"]?.stringValue?.hasPrefix("test: This is a test notification from Vigil") == true)
                let templated = try await app.createChannel(name: "Template", type: "whatsapp", config: """
                    {"phone_number_id":"2077","recipients":["+6591234567"],"base_url":"http://127.0.0.1:\(port)/v21.0","template_name":"vigil_alert","template_language":"en_GB"}
                    """, credential: "EAAG-token")
                #expect(try await app.call(.post, "/api/v1/notification-channels/\(templated)/test").status == .ok)
                let template = try #require(services.received("/v21.0/2077/messages").first?.json.objectValue)
                #expect(template["type"] == .string("template"))
                #expect(template["template"]?.objectValue?["name"] == .string("vigil_alert"))
                #expect(template["template"]?.objectValue?["language"] == .object(["code": .string("en_GB")]))
            }
        }
    }

    @Test("a channel past its rate limit waits without spending an attempt")
    func rateLimit() async throws {
        let services = FakeServices()
        try await services.run { port in
            try await TestApp.run { app in
                let pipeline = AlertPipeline(app)
                let hook = try await app.createChannel(name: "Hook", type: "webhook",
                                                       config: #"{"url":"http://127.0.0.1:\#(port)/hook","rate_limit_per_min":1}"#)
                for name in ["One", "Two"] { _ = try await app.createRule(#"{"name":"\#(name)","channel_ids":["\#(hook)"]}"#) }
                _ = try await oneEvent(app, pipeline)
                try await pipeline.evaluateAll()
                #expect(try await pipeline.deliverDue() == 2)
                #expect(services.received("/hook").count == 1)
                let waiting = try await app.database.scalar("""
                    SELECT status || ' ' || attempt_number || ' ' || (extract(epoch FROM next_retry_at) - \(app.clock.now.timeIntervalSince1970))::int
                    FROM jobs WHERE job_type = 'deliver_notification' AND status <> 'completed'
                    """, as: String.self)
                #expect(waiting == "queued 1 60")
                app.clock.advance(by: 61)
                #expect(try await pipeline.deliverDue() == 1)
                #expect(services.received("/hook").count == 2)
            }
        }
    }

    @Test("a channel test sends a real message and is audited, failed or not")
    func channelTest() async throws {
        let services = FakeServices()
        try await services.run { port in
            try await TestApp.run { app in
                let hook = try await app.createChannel(name: "Hook", type: "webhook", config: #"{"url":"http://127.0.0.1:\#(port)/hook"}"#,
                                                       credential: "whsec")
                let sent = try await app.call(.post, "/api/v1/notification-channels/\(hook)/test")
                #expect(sent.status == .ok && sent["status"] == .string("sent") && sent["response_code"] == .number(200))
                let received = try #require(services.received("/hook").first)
                #expect(verifyWebhook(received, secret: "whsec") && received.headers["x-vigil-event"] == "test")
                #expect(received.json.objectValue?["type"] == .string("test"))

                let closed = try freeLocalPort()
                let dead = try await app.createChannel(name: "Dead", type: "webhook", config: #"{"url":"http://127.0.0.1:\#(closed)/hook","timeout_seconds":2}"#)
                let failed = try await app.call(.post, "/api/v1/notification-channels/\(dead)/test")
                #expect(failed.status == .badGateway && failed.errorCode == "notification_test_failed")
                let audited = try await app.database.scalar("""
                    SELECT string_agg(status, ',' ORDER BY id) FROM audit_logs WHERE action = 'notification_test'
                    """, as: String.self)
                #expect(audited == "success,failure")
            }
        }
    }

    @Test("a channel never sends to a link-local address, follows no redirect, and reports a refusal without the remote body")
    func outboundLimits() async throws {
        let services = FakeServices()
        try await services.run { port in
            try await TestApp.run { app in
                let metadata = try await app.createChannel(name: "Metadata", type: "webhook",
                                                           config: #"{"url":"http://169.254.169.254/latest/meta-data","timeout_seconds":2}"#)
                let refused = try await app.call(.post, "/api/v1/notification-channels/\(metadata)/test")
                #expect(refused.status == .badGateway && refused.text.contains("link-local"), "\(refused.text)")
                let mail = try await app.createChannel(name: "Mail", type: "email", config: #"""
                    {"host":"169.254.10.1","port":25,"security":"none","from":"vigil@home.test","to":["owner@home.test"],"timeout_seconds":2}
                    """#)
                #expect(try await app.call(.post, "/api/v1/notification-channels/\(mail)/test").text.contains("link-local"))

                services.script("/moved", [.status(302, body: "", headers: ["Location": "http://127.0.0.1:\(port)/stolen"])])
                let redirecting = try await app.createChannel(name: "Moved", type: "webhook", config: #"{"url":"http://127.0.0.1:\#(port)/moved"}"#,
                                                              credential: "whsec")
                let redirected = try await app.call(.post, "/api/v1/notification-channels/\(redirecting)/test")
                #expect(redirected.status == .badGateway && redirected.text.contains("302"), "\(redirected.text)")
                #expect(services.received("/stolen").isEmpty, "the redirect is not followed")

                services.script("/echo", [.status(400, body: #"{"error":"bad token Bearer abc-echoed-secret"}"#)])
                let echo = try await app.createChannel(name: "Echo", type: "webhook", config: #"{"url":"http://127.0.0.1:\#(port)/echo"}"#)
                let rejected = try await app.call(.post, "/api/v1/notification-channels/\(echo)/test")
                #expect(rejected.text.contains("400") && !rejected.text.contains("abc-echoed-secret"), "\(rejected.text)")

                // A stored bot token does not follow a new address unless it is given again.
                let phone = try await app.createChannel(name: "Phone", type: "telegram",
                                                        config: #"{"chat_id":"-100123","base_url":"http://127.0.0.1:\#(port)"}"#,
                                                        credential: "123456:bot-token")
                let moved = try await app.call(.patch, "/api/v1/notification-channels/\(phone)",
                                               json: #"{"config":{"chat_id":"-100123","base_url":"https://collector.example"}}"#)
                #expect(moved.status == .unprocessableContent && moved.text.contains("credential"), "\(moved.text)")
                let renamed = try await app.call(.patch, "/api/v1/notification-channels/\(phone)", json: #"{"name":"Phone 2"}"#)
                #expect(renamed.status == .ok, "other changes need no credential: \(renamed.text)")
                let given = try await app.call(.patch, "/api/v1/notification-channels/\(phone)", json: #"""
                    {"config":{"chat_id":"-100123","base_url":"https://collector.example"},"credential":"654321:other-token"}
                    """#)
                #expect(given.status == .ok, "\(given.text)")
            }
        }
    }

    @Test("email over TLS from the first byte; a wrong password is refused for good, not retried")
    func emailOverTLS() async throws {
        let mail = try await TestMailServer.start(security: "ssl")
        defer { Task { await mail.stop() } }
        try await TestApp.run { app in
            let channel = try await app.createChannel(name: "Owner", type: "email", config: mail.channelConfig(), credential: TestMailServer.password)
            let sent = try await app.call(.post, "/api/v1/notification-channels/\(channel)/test")
            #expect(sent.status == .ok && sent["response_code"] == .number(250), "\(sent.text)")
            let message = try #require(try mail.messages().first)
            #expect(message.contains("X-Test-TLS: True") && message.contains("X-Test-Authenticated: True"))
            #expect(message.contains("Subject: [Vigil] low: test on Vigil"))

            let wrong = try await app.call(.patch, "/api/v1/notification-channels/\(channel)", json: #"{"credential":"not-the-password"}"#)
            #expect(wrong.status == .ok)
            let refused = try await app.call(.post, "/api/v1/notification-channels/\(channel)/test")
            #expect(refused.status == .badGateway && refused.text.contains("535"), "\(refused.text)")
            let untrusted = try await app.createChannel(name: "Untrusted", type: "email", config: """
                {"host":"localhost","port":\(mail.port),"security":"ssl","username":"vigil","from":"vigil@home.test","to":["a@home.test"],"timeout_seconds":5}
                """, credential: TestMailServer.password)
            let unverified = try await app.call(.post, "/api/v1/notification-channels/\(untrusted)/test")
            #expect(unverified.status == .badGateway, "a certificate nobody vouches for is not trusted: \(unverified.text)")
            #expect(try mail.messages().count == 1)
        }
    }

    @Test("the dry run says which recent events a rule would match, and why not the others")
    func dryRun() async throws {
        try await TestApp.run { app in
            let pipeline = AlertPipeline(app)
            let rule = try await app.createRule(#"{"name":"Horses","object_types":["horse"],"risk_threshold":95}"#)
            _ = try await oneEvent(app, pipeline)
            let trial = try await app.call(.post, "/api/v1/alert-rules/\(rule)/test")
            #expect(trial["evaluated"] == .number(1) && trial["matched"] == .number(0))
            let reasons = trial["results"]?.arrayValue?.first?.objectValue?["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(reasons.count == 2, "\(reasons)")
            #expect(reasons.contains { $0.hasPrefix("no detection horse (seen: ") && $0.contains("dog") })
            let changed = try await app.call(.post, "/api/v1/alert-rules/\(rule)/test", json: #"{"object_types":["dog"],"risk_threshold":null}"#)
            #expect(changed["matched"] == .number(1), "\(changed.text)")
            #expect(changed["results"]?.arrayValue?.first?.objectValue?["dedup_key"]?.stringValue?.hasSuffix(rule.lowercased()) == true)
            #expect(try await app.alerts().isEmpty, "a dry run raises nothing")
        }
    }
}
