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
                let detail = try await app.call(.get, "/api/v1/alerts/\(try #require(alert["id"]?.stringValue))")
                let statuses = detail["deliveries"]?.arrayValue?.compactMap { $0.objectValue?["status"]?.stringValue }
                #expect(statuses == ["sent", "sent"])
                #expect(detail["event"]?.objectValue?["id"] == alert["event_id"])
            }
        }
    }
}
