import Foundation
import Testing
import VigilCore

private let camera = UUID(uuidString: "0190F1A2-0000-7000-8000-000000000001")!
private let otherCamera = UUID(uuidString: "0190F1A2-0000-7000-8000-000000000002")!
private let entryZone = UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000E1")!
private let yardZone = UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000E2")!
private let ruleId = UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000A1")!
private let chicago = TimeZone(identifier: "America/Chicago")!

/// A moment given as a Chicago wall clock.
private func chicagoTime(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = chicago
    return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!
}

/// A person at 02:00 on Tuesday 2026-03-03 in the entry zone, risk 72.
private func subject(eventType: EventType = .humanDetected, risk: Int? = 72, at time: Date = chicagoTime(2026, 3, 3, 2),
                     sightings: [AlertSubject.Sighting] = [.init(objectType: "person", confidence: 0.91, zoneIds: [entryZone])],
                     activities: [AlertSubject.Activity] = []) -> AlertSubject {
    AlertSubject(eventId: UUID(), cameraId: camera, cameraName: "Front Door", siteTimeZone: chicago, eventType: eventType,
                 riskScore: risk, riskLevel: risk.map(RiskLevel.init(score:)), occurredAt: time, sightings: sightings,
                 activities: activities, zoneNames: [entryZone: "Porch", yardZone: "Yard"])
}

private func rule(_ change: (inout AlertRule) -> Void = { _ in }) -> RuleEvaluator.Compiled {
    var rule = AlertRule(id: ruleId, name: "Person at night", severity: .high)
    change(&rule)
    return RuleEvaluator.Compiled(rule)
}

private func night(_ days: [String] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], zone: String? = nil) -> JSONValue {
    var members: [String: JSONValue] = ["days": .array(days.map(JSONValue.string)), "start_time": .string("22:00"), "end_time": .string("06:00")]
    if let zone { members["timezone"] = .string(zone) }
    return .object(members)
}

@Suite("Alert rule matching")
struct AlertRuleMatchingTests {
    let evaluator = RuleEvaluator()

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout AlertRule) -> Void
        var matches: Bool
        var reason: String? = nil
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "an empty rule matches anything", change: { _ in }, matches: true),
        Case(name: "disabled", change: { $0.enabled = false }, matches: false, reason: "disabled"),
        Case(name: "risk at the threshold", change: { $0.riskThreshold = 72 }, matches: true),
        Case(name: "risk below the threshold", change: { $0.riskThreshold = 73 }, matches: false, reason: "risk 72 is below the threshold 73"),
        Case(name: "event type listed", change: { $0.eventTypes = [.objectDetected, .humanDetected] }, matches: true),
        Case(name: "event type not listed", change: { $0.eventTypes = [.stockChanged] }, matches: false, reason: "event type human_detected"),
        Case(name: "object type listed", change: { $0.objectTypes = ["car", "person"] }, matches: true),
        Case(name: "object type not listed", change: { $0.objectTypes = ["car"] }, matches: false, reason: "no detection car"),
        Case(name: "camera listed", change: { $0.cameraIds = [otherCamera, camera] }, matches: true),
        Case(name: "camera not listed", change: { $0.cameraIds = [otherCamera] }, matches: false, reason: "camera Front Door"),
        Case(name: "zone listed", change: { $0.zoneIds = [entryZone] }, matches: true),
        Case(name: "zone not listed", change: { $0.zoneIds = [yardZone] }, matches: false, reason: "in Yard"),
        Case(name: "confidence at the minimum", change: { $0.minConfidence = 0.91 }, matches: true),
        Case(name: "confidence below the minimum", change: { $0.minConfidence = 0.95 }, matches: false, reason: "confidence ≥ 95%"),
        Case(name: "inside the schedule", change: { $0.schedule = night() }, matches: true),
        Case(name: "outside the schedule's days", change: { $0.schedule = night(["sat"]) }, matches: false, reason: "outside the schedule Sat 22:00-06:00"),
        Case(name: "schedule in another zone", change: { $0.schedule = night(zone: "Asia/Singapore") }, matches: false, reason: "(Asia/Singapore) is outside"),
        Case(name: "quiet hours", change: { $0.quietHours = .object(["start": .string("01:30"), "end": .string("02:30")]) },
             matches: false, reason: "quiet hours 01:30-02:30"),
        Case(name: "quiet hours turned off", change: {
            $0.quietHours = .object(["start": .string("01:30"), "end": .string("02:30"), "enabled": .bool(false)])
        }, matches: true),
        Case(name: "an activity the event lacks", change: { $0.activityTypes = [.loitering] }, matches: false, reason: "no loitering activity"),
    ]

    @Test("each condition, met and unmet", arguments: cases)
    func condition(_ testCase: Case) {
        let verdict = evaluator.evaluate(rule(testCase.change), on: subject())
        switch verdict {
        case .match:
            #expect(testCase.matches)
        case .noMatch(let reasons):
            #expect(!testCase.matches, "unexpected: \(reasons)")
            if let reason = testCase.reason {
                #expect(reasons.contains { $0.contains(reason) }, "\(reasons)")
            }
        }
    }

    @Test("object, zone and confidence must hold for the same detection")
    func sameDetection() {
        let split = subject(sightings: [.init(objectType: "person", confidence: 0.6, zoneIds: [entryZone]),
                                        .init(objectType: "car", confidence: 0.95, zoneIds: [entryZone])])
        let strict = rule { $0.objectTypes = ["person"]; $0.minConfidence = 0.9; $0.zoneIds = [entryZone] }
        #expect(evaluator.evaluate(strict, on: split).match == nil)
        let loose = rule { $0.objectTypes = ["person"]; $0.zoneIds = [entryZone] }
        let match = evaluator.evaluate(loose, on: split).match
        #expect(match?.objectType == "person")
        #expect(match?.zoneId == entryZone)
        #expect(match?.confidence == 0.6)
    }

    @Test("an event with no risk score yet does not pass a risk threshold, and says so")
    func unscored() {
        guard case .noMatch(let reasons) = evaluator.evaluate(rule { $0.riskThreshold = 10 }, on: subject(risk: nil)) else {
            Issue.record("matched an event without a score")
            return
        }
        #expect(reasons == ["the event has no risk score yet (threshold 10)"])
    }

    @Test("a rule of one site never judges another site's events, even without cameras; a rule for every site judges all")
    func sites() {
        let siteA = UUID(uuidString: "0190F1A2-0000-7000-8000-00000000AAAA")!, siteB = UUID(uuidString: "0190F1A2-0000-7000-8000-00000000BBBB")!
        var atB = subject()
        atB.siteId = siteB
        guard case .noMatch(let reasons) = evaluator.evaluate(rule { $0.siteId = siteA }, on: atB) else {
            Issue.record("a site-A rule matched a site-B event")
            return
        }
        #expect(reasons == ["camera Front Door is at another site than the rule's"])
        var atA = subject()
        atA.siteId = siteA
        if case .noMatch(let reasons) = evaluator.evaluate(rule { $0.siteId = siteA }, on: atA) { Issue.record("\(reasons)") }
        if case .noMatch(let reasons) = evaluator.evaluate(rule(), on: atB) { Issue.record("\(reasons)") }
    }

    @Test("every unmet condition is listed for the dry run")
    func allReasons() {
        guard case .noMatch(let reasons) = evaluator.evaluate(rule {
            $0.riskThreshold = 90
            $0.objectTypes = ["car"]
            $0.schedule = night(["sat"])
        }, on: subject()) else {
            Issue.record("matched")
            return
        }
        #expect(reasons.count == 3)
    }

    @Test("the match carries the rule's severity, the dedup key and a message in the site's time")
    func matchDetails() throws {
        let match = try #require(evaluator.evaluate(rule { $0.dedupKeyTemplate = "{camera_id}:{rule_id}:{object_type}:{zone_id}" },
                                                    on: subject()).match)
        #expect(match.severity == .high)
        #expect(match.alertType == "human_detected")
        #expect(match.dedupKey == "\(camera.uuidString.lowercased()):\(ruleId.uuidString.lowercased()):person:\(entryZone.uuidString.lowercased())")
        #expect(match.message == "Person detected on camera \"Front Door\" in zone \"Porch\" at 2026-03-03 02:00:00 CST (risk 72, high)")
    }

    @Test("a suspicious-activity rule takes the activity's severity and seed 002's message")
    func activityRule() throws {
        let loitering = AlertSubject.Activity(type: .loitering, severity: .critical, confidence: 0.875, zoneId: entryZone, objectType: "person")
        let compiled = rule { $0.severity = nil; $0.activityTypes = [.loitering]; $0.dedupKeyTemplate = "{camera_id}:{activity_type}" }
        let match = try #require(evaluator.evaluate(compiled, on: subject(activities: [loitering])).match)
        #expect(match.severity == .critical)
        #expect(match.alertType == "suspicious_activity_loitering")
        #expect(match.activity == .loitering)
        #expect(match.dedupKey == "\(camera.uuidString.lowercased()):loitering")
        #expect(match.message == "loitering detected on \"Front Door\" in zone \"Porch\" at 2026-03-03 02:00:00 CST. Confidence: 87.5%. Severity: critical")
    }

    @Test("a rule without severity follows the event's risk level")
    func severityFromRisk() {
        #expect(evaluator.evaluate(rule { $0.severity = nil }, on: subject(risk: 40)).match?.severity == .medium)
    }

    @Test("an event without detections is judged on its own confidence and zones")
    func sceneEvent() {
        let changed = subject(eventType: .stockChanged, sightings: [.init(objectType: nil, confidence: 0.8, zoneIds: [yardZone])])
        #expect(evaluator.evaluate(rule { $0.zoneIds = [yardZone] }, on: changed).match?.message.hasPrefix("A change in a watched area") == true)
        #expect(evaluator.evaluate(rule { $0.objectTypes = ["person"] }, on: changed).match == nil)
    }
}

@Suite("Alert schedules across midnight and daylight-saving changes")
struct AlertScheduleTests {
    let evaluator = RuleEvaluator()

    func matches(_ schedule: JSONValue, at time: Date) -> Bool {
        evaluator.evaluate(rule { $0.schedule = schedule }, on: subject(at: time)).match != nil
    }

    @Test("a Friday-night window covers Saturday 02:00 but not Saturday 22:00")
    func crossingMidnight() {
        // 2026-03-06 is a Friday.
        #expect(matches(night(["fri"]), at: chicagoTime(2026, 3, 6, 23)))
        #expect(matches(night(["fri"]), at: chicagoTime(2026, 3, 7, 2)))
        #expect(!matches(night(["fri"]), at: chicagoTime(2026, 3, 7, 22)))
        #expect(!matches(night(["fri"]), at: chicagoTime(2026, 3, 7, 6)))
    }

    @Test("the window follows the wall clock when the clocks go forward")
    func springForward() {
        // Chicago skips 02:00-03:00 on Sunday 2026-03-08; 22:00-06:00 stays 22:00-06:00 local, seven hours long.
        let schedule = night(["sat"])
        let start = chicagoTime(2026, 3, 7, 22)
        #expect(matches(schedule, at: start))
        #expect(matches(schedule, at: start.addingTimeInterval(6 * 3600 + 59 * 60)))  // 05:59 CDT
        #expect(!matches(schedule, at: start.addingTimeInterval(7 * 3600)))  // 06:00 CDT: over after seven real hours
        #expect(!matches(schedule, at: start.addingTimeInterval(-60)))
    }

    @Test("the window follows the wall clock when the clocks go back")
    func fallBack() {
        // Chicago repeats 01:00-02:00 on Sunday 2026-11-01; the night is nine real hours.
        let schedule = night(["sat"])
        let start = chicagoTime(2026, 10, 31, 22)
        #expect(matches(schedule, at: start.addingTimeInterval(8 * 3600 + 30 * 60)))  // 05:30 CST
        #expect(!matches(schedule, at: start.addingTimeInterval(9 * 3600)))  // 06:00 CST
    }

    @Test("without a time zone of its own, a schedule is read in the camera's site's")
    func siteZone() {
        // 02:00 in Chicago is 08:00 UTC: inside a night in Chicago, outside one in UTC.
        #expect(matches(night(), at: chicagoTime(2026, 3, 3, 2)))
        #expect(!matches(night(zone: "UTC"), at: chicagoTime(2026, 3, 3, 2)))
    }
}

@Suite("Alert rule input")
struct AlertRuleInputTests {
    func problems(_ input: AlertRuleInput) -> [String] { input.validate().problems.map { "\($0.field): \($0.message)" } }

    @Test("seed 000's CHECK constraints")
    func checks() {
        #expect(problems(AlertRuleInput(name: "ok", riskThreshold: 100, minConfidence: 0, cooldownSeconds: 0)).isEmpty)
        #expect(problems(AlertRuleInput(name: "x", riskThreshold: 101)).first?.hasPrefix("risk_threshold") == true)
        #expect(problems(AlertRuleInput(name: "x", minConfidence: 1.2)).first?.hasPrefix("min_confidence") == true)
        #expect(problems(AlertRuleInput(name: "x", cooldownSeconds: -1)).first?.hasPrefix("cooldown_seconds") == true)
        #expect(problems(AlertRuleInput(name: " ")).first?.hasPrefix("name") == true)
    }

    @Test("schedules with bad times, unknown zones and unknown days are refused with the field named")
    func schedules() {
        let bad = AlertRuleInput(name: "x", schedule: .object(["days": .array([.string("funday")]), "start_time": .string("25:00"),
                                                               "end_time": .string("06:00"), "timezone": .string("Mars/Olympus")]))
        let fields = Set(bad.validate().problems.map(\.field))
        #expect(fields == ["schedule.days", "schedule.start_time", "schedule.timezone"])
        let quiet = AlertRuleInput(name: "x", quietHours: .object(["start": .string("1pm"), "end": .string("13:00")]))
        #expect(quiet.validate().problems.map(\.field) == ["quiet_hours.start"])
    }

    @Test("dedup templates accept the known placeholders only")
    func dedup() {
        #expect(problems(AlertRuleInput(name: "x", dedupKeyTemplate: "{camera_id}:{rule_id}:{object_type}:{zone_id}:{person_id}")).isEmpty)
        #expect(problems(AlertRuleInput(name: "x", dedupKeyTemplate: "{camera}:{rule_id}")).first?.contains("{camera} is not a placeholder") == true)
    }
}

@Suite("Cooldown, alert actions and templates")
struct AlertLifecycleLogicTests {
    @Test("the cooldown slides with the last repeat")
    func cooldown() {
        let seen = Date(timeIntervalSince1970: 1_000_000)
        #expect(Cooldown.absorbs(lastSeen: seen, at: seen.addingTimeInterval(599), cooldownSeconds: 600))
        #expect(!Cooldown.absorbs(lastSeen: seen, at: seen.addingTimeInterval(600), cooldownSeconds: 600))
        #expect(!Cooldown.absorbs(lastSeen: seen, at: seen, cooldownSeconds: 0))
    }

    @Test("which actions apply in which status")
    func actions() {
        #expect(AlertAction.acknowledge.applies(to: .pending))
        #expect(AlertAction.acknowledge.applies(to: .delivered))
        #expect(!AlertAction.acknowledge.applies(to: .acknowledged))
        #expect(AlertAction.resolve.applies(to: .acknowledged))
        #expect(!AlertAction.resolve.applies(to: .resolved))
        #expect(!AlertAction.dismiss.applies(to: .resolved))
        #expect(AlertAction.dismiss.applies(to: .pending))
    }

    @Test("seed 002's templates fill in the site's time, the zone and the confidence")
    func templates() {
        let notice = AlertNotice(alertId: UUID(), eventId: UUID(), alertType: "human_detected", severity: .high, message: "Person detected",
                                 cameraName: "Front Door", location: "North side", zoneName: "Porch", siteName: "Home",
                                 occurredAt: chicagoTime(2026, 3, 3, 2), timeZone: chicago, riskScore: 72, riskLevel: .high,
                                 confidence: 0.914, eventURL: "http://vigil.local/events/1", repeatCount: 0)
        #expect(notice.render(ChannelSettings.defaultTemplate(for: .telegram))
            == "human_detected: Person detected at 2026-03-03 02:00:00 CST. Camera: Front Door")
        #expect(notice.render(ChannelSettings.defaultTemplate(for: .whatsapp))
            == "*Alert*: human_detected at Porch, North side. Time: 2026-03-03 02:00:00 CST. Confidence: 91%")
        var report = ValidationReport()
        MessageTemplate.validate("{{camera}} {{ risk_score }}", field: "t", report: &report)
        #expect(report.problems.count == 1)
    }

    @Test("channel settings are checked per type, and misspelt settings are refused")
    func channelSettings() throws {
        var report = ValidationReport()
        let webhook = try #require(ChannelSettings.parse(.webhook, .object(["url": .string("https://example.org/hook"),
                                                                             "headers": .object(["X-Team": .string("night")]),
                                                                             "snapshot": .string("base64"), "retry_count": .number(5)]),
                                                         report: &report))
        #expect(report.isValid)
        #expect(webhook.limits.retryCount == 5)
        guard case .webhook(let hook) = webhook.kind else { Issue.record("not a webhook"); return }
        #expect(hook.snapshot == .base64)

        report = ValidationReport()
        #expect(ChannelSettings.parse(.email, .object(["host": .string("mail"), "from": .string("vigil@home.lan"),
                                                        "to": .array([.string("not-an-address")]), "prot": .number(25)]),
                                      report: &report) == nil)
        #expect(Set(report.problems.map(\.field)) == ["config.to", "config.prot"])

        report = ValidationReport()
        #expect(ChannelSettings.parse(.whatsapp, .object(["phone_number_id": .string("123"), "recipients": .array([.string("+65 9123")])]),
                                      report: &report) == nil)
        #expect(report.problems.map(\.field) == ["config.recipients"])

        report = ValidationReport()
        #expect(ChannelSettings.parse(.webhook, .object(["url": .string("ftp://x"), "headers": .object(["X-Vigil-Signature": .string("x")])]),
                                      report: &report) == nil)
        #expect(report.problems.count == 2)
    }
}

