import Foundation
import Testing
import VigilCore

/// 2026-03-02 (a Monday) at the given UTC time.
private func monday(_ hour: Int, _ minute: Int = 0, second: Double = 0) -> Date {
    Date(timeIntervalSince1970: 1_772_409_600 + Double(hour * 3600 + minute * 60) + second)
}

private let utc = TimeZone(identifier: "UTC")!

@Suite("Weekly schedules")
struct WeeklyScheduleTests {
    @Test("a window that crosses midnight belongs to the day it starts on")
    func crossingMidnight() throws {
        var report = ValidationReport()
        let schedule = try #require(WeeklySchedule.parse(
            .object(["days": .array([.string("mon")]), "start_time": .string("22:00"), "end_time": .string("06:00")]),
            defaultTimeZone: "UTC", field: "schedule", report: &report))
        #expect(report.isValid)
        #expect(schedule.contains(monday(23)))
        #expect(schedule.contains(monday(24 + 2)))  // Tuesday 02:00, still Monday's night
        #expect(!schedule.contains(monday(24 + 6)))  // Tuesday 06:00: the window has ended
        #expect(!schedule.contains(monday(2)))  // Monday 02:00 belongs to Sunday's night
        #expect(!schedule.contains(monday(21, 59)))
    }

    @Test("seed 002's numbered days (0 = Sunday) and an all-day window ending 23:59")
    func numberedDays() throws {
        var report = ValidationReport()
        let schedule = try #require(WeeklySchedule.parse(
            .object(["days": .array([.number(0)]), "start_time": .string("00:00"), "end_time": .string("23:59")]),
            defaultTimeZone: "UTC", field: "schedule", report: &report))
        #expect(schedule.contains(monday(-1)))  // Sunday 23:00
        #expect(schedule.contains(monday(-1, 59, second: 30)))
        #expect(!schedule.contains(monday(0)))
    }

    @Test("wall-clock times follow daylight saving: 08:00 in New York is 13:00 UTC in winter, 12:00 in summer")
    func daylightSaving() throws {
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        let schedule = WeeklySchedule(start: 8 * 60, end: 9 * 60, timeZone: newYork)
        #expect(schedule.contains(monday(13, 30)))  // 2 March: EST
        #expect(!schedule.contains(monday(12, 30)))
        let summer = monday(12, 30).addingTimeInterval(7 * 86_400 * 2)  // 16 March: EDT
        #expect(schedule.contains(summer))
    }

    @Test("bad schedules are explained field by field")
    func invalid() {
        var report = ValidationReport()
        let schedule = WeeklySchedule.parse(
            .object(["days": .array([.string("funday")]), "start_time": .string("25:00"), "timezone": .string("Mars/Base"),
                     "colour": .string("red")]),
            defaultTimeZone: "UTC", field: "schedule", report: &report)
        #expect(schedule == nil)
        let fields = Set(report.problems.map(\.field))
        #expect(fields == ["schedule.days", "schedule.start_time", "schedule.end_time", "schedule.timezone", "schedule.colour"])
    }
}

@Suite("Event aggregation")
struct EventAggregationTests {
    let settings = EventSettings()

    @Test("detections join the open event until the camera has been idle for 30 s")
    func idle() {
        let open = OpenEvent(id: UUID(), startedAt: monday(10), lastDetectionAt: monday(10, 0, second: 20), isFastPath: false)
        #expect(EventAggregator.place(frameAt: monday(10, 0, second: 50), open: open, settings: settings) == .join(open.id))
        #expect(EventAggregator.place(frameAt: monday(10, 0, second: 50.5), open: open, settings: settings) == .open(closing: open.id))
        #expect(open.closesAt(settings) == monday(10, 0, second: 50))
    }

    @Test("a busy camera still closes its event when the 90 s window ends")
    func window() {
        let open = OpenEvent(id: UUID(), startedAt: monday(10), lastDetectionAt: monday(10, 1, second: 29), isFastPath: false)
        #expect(EventAggregator.place(frameAt: monday(10, 1, second: 29.9), open: open, settings: settings) == .join(open.id))
        #expect(EventAggregator.place(frameAt: monday(10, 1, second: 30), open: open, settings: settings) == .open(closing: open.id))
        #expect(open.closesAt(settings) == monday(10, 1, second: 30))
    }

    @Test("a frame delivered late joins the event it belongs to; one from long before does not")
    func outOfOrder() {
        let open = OpenEvent(id: UUID(), startedAt: monday(10), lastDetectionAt: monday(10, 0, second: 40), isFastPath: false)
        #expect(EventAggregator.place(frameAt: monday(9, 59, second: 50), open: open, settings: settings) == .join(open.id))
        #expect(EventAggregator.place(frameAt: monday(9, 58), open: open, settings: settings) == .open(closing: open.id))
        #expect(EventAggregator.place(frameAt: monday(10), open: nil, settings: settings) == .open(closing: nil))
    }

    @Test("the default fast path: a confident person in an entry point or restricted zone")
    func fastPath() {
        let condition = FastPathCondition()
        #expect(condition.matches(objectType: "person", confidence: 0.8, zoneTypes: [.entryPoint]))
        #expect(condition.matches(objectType: "person", confidence: 0.95, zoneTypes: [.yard, .restricted]))
        #expect(!condition.matches(objectType: "person", confidence: 0.79, zoneTypes: [.entryPoint]))
        #expect(!condition.matches(objectType: "person", confidence: 0.9, zoneTypes: [.yard]))
        #expect(!condition.matches(objectType: "car", confidence: 0.9, zoneTypes: [.restricted]))
    }

    @Test("a camera's config.events overrides the defaults, and what is wrong in it is reported")
    func cameraConfig() {
        var report = ValidationReport()
        let config: JSONValue = .object(["events": .object([
            "window_seconds": .number(60), "idle_seconds": .number(10), "crowd_size": .number(3),
            "fast_path": .object(["object_types": .array([.string("car")]), "zone_types": .array([]), "min_confidence": .number(0.5)]),
            "schedule": .object(["start_time": .string("08:00"), "end_time": .string("18:00")]),
        ])])
        let applied = EventSettings().applying(cameraConfig: config, siteTimeZone: "Europe/Paris", report: &report)
        #expect(report.isValid, "\(report.problems)")
        #expect(applied.window == 60 && applied.idle == 10 && applied.activity.crowdSize == 3)
        #expect(applied.fastPath?.matches(objectType: "car", confidence: 0.5, zoneTypes: []) == true)
        #expect(applied.schedule?.timeZone.identifier == "Europe/Paris")

        var bad = ValidationReport()
        let kept = EventSettings().applying(cameraConfig: .object(["events": .object([
            "window_seconds": .number(-1), "fast_path": .string("yes"), "crowd_size": .number(2.5), "speed": .number(1),
        ])]), siteTimeZone: "UTC", report: &bad)
        #expect(kept == EventSettings())
        #expect(Set(bad.problems.map(\.field)) == ["config.events.window_seconds", "config.events.fast_path",
                                                   "config.events.crowd_size", "config.events.speed"])
        var off = ValidationReport()
        #expect(EventSettings().applying(cameraConfig: .object(["events": .object(["fast_path": .bool(false)])]), siteTimeZone: "UTC",
                                         report: &off).fastPath == nil)
    }
}

@Suite("Baselines")
struct BaselineTests {
    @Test("the first samples are a plain mean, later ones weigh alpha")
    func ewma() {
        var baseline = EWMA()
        baseline = baseline.adding(4)
        #expect(baseline == EWMA(value: 4, samples: 1))
        baseline = baseline.adding(2)
        #expect(baseline == EWMA(value: 3, samples: 2))
        baseline = baseline.adding(6)
        #expect(baseline.value == 4 && baseline.samples == 3)
        // After ten samples each new one weighs 0.1.
        var steady = EWMA(value: 10, samples: 20)
        steady = steady.adding(20)
        #expect(abs(steady.value - 11) < 1e-9 && steady.samples == 21)
    }

    @Test("a quiet slot's usual is floored, so one event is not an extreme ratio")
    func ratioFloor() {
        #expect(BaselineComparison(observed: 1, usual: EWMA(value: 0.05, samples: 10)).ratio == 2)
        #expect(BaselineComparison(observed: 12, usual: EWMA(value: 2, samples: 10)).ratio == 6)
    }
}

@Suite("Risk scoring")
struct RiskScoringTests {
    let scorer = RiskScorer()
    let daytime = WeeklySchedule(start: 6 * 60, end: 22 * 60, timeZone: utc)

    @Test("a person at a door in the daytime is medium, with its trace")
    func daytimeDoor() {
        let assessment = scorer.assess(RiskFactors(
            cameraName: "Front Door", objectCounts: ["person": 1],
            zones: [.init(name: "Front Step", type: .entryPoint, priority: 0)], startedAt: monday(14, 5), longestPresence: 12,
            schedule: daytime))
        #expect(assessment.score == 45 && assessment.level == .medium)
        #expect(assessment.decisionTrace == ["object_person +30", "zone_entry_point +15"])
        #expect(assessment.summary == "Person at Front Door, Front Step entry point, for 12 s at 14:05")
        #expect(assessment.reasoning.contains("It was in Front Step, an entry point."))
    }

    @Test("the same person at 02:13, staying 48 s, at 6× this hour's usual activity is critical, and says why")
    func night() {
        let assessment = scorer.assess(RiskFactors(
            cameraName: "Front Door", objectCounts: ["person": 1],
            zones: [.init(name: "Front Step", type: .entryPoint, priority: 3)], startedAt: monday(2, 13), longestPresence: 48,
            schedule: daytime, activity: BaselineComparison(observed: 3, usual: EWMA(value: 0.5, samples: 4))))
        #expect(assessment.decisionTrace == ["object_person +30", "zone_entry_point +15", "zone_priority +3", "after_hours +20",
                                             "dwell +5", "activity_above_baseline +15"])
        #expect(assessment.score == 88 && assessment.level == .critical)
        #expect(assessment.summary == "Person at Front Door, Front Step entry point, for 48 s at 02:13 (after hours), 6× this hour's usual activity")
        #expect(assessment.scores["after_hours"] == .number(20) && assessment.scores["risk_score"] == .number(88))
    }

    @Test("a baseline with too few samples is reported as learning and adds nothing")
    func learning() {
        let assessment = scorer.assess(RiskFactors(
            cameraName: "Yard", objectCounts: ["dog": 1], startedAt: monday(12), schedule: daytime,
            activity: BaselineComparison(observed: 10, usual: EWMA(value: 0.5, samples: 2)),
            classFrequency: ["dog": BaselineComparison(observed: 1, usual: EWMA(value: 0.01, samples: 6))]))
        #expect(assessment.decisionTrace == ["object_dog +5", "baseline_learning +0"])
        #expect(assessment.level == .low)
    }

    @Test("a parked car in the usual traffic scores less than nothing else would; the score never goes below 0")
    func parkedCar() {
        let assessment = scorer.assess(RiskFactors(
            cameraName: "Street", objectCounts: ["car": 2], zones: [.init(name: "Pavement", type: .sidewalk, priority: 0)],
            startedAt: monday(12), schedule: daytime, activity: BaselineComparison(observed: 2, usual: EWMA(value: 4, samples: 9)),
            allStationary: true))
        #expect(assessment.decisionTrace == ["object_car +15", "zone_sidewalk -5", "activity_usual -5", "stationary -15"])
        #expect(assessment.score == 0 && assessment.level == .low)
        #expect(assessment.summary == "2 cars at Street, Pavement sidewalk at 12:00")
    }

    @Test("rare classes, crowds and suspicious activities add their points, suspicious ones capped")
    func additions() {
        let assessment = scorer.assess(RiskFactors(
            cameraName: "Shop", objectCounts: ["person": 6, "horse": 1], peopleInOneFrame: 6, startedAt: monday(12), schedule: daytime,
            classFrequency: ["horse": BaselineComparison(observed: 1, usual: EWMA(value: 0.0, samples: 30))],
            suspicious: [.crowding: .medium, .intrusion: .critical, .loitering: .medium]))
        #expect(assessment.decisionTrace == ["object_person +30", "rare_horse +10", "people_count +15", "suspicious_crowding +8",
                                             "suspicious_intrusion +22"])
        #expect(assessment.score == 85 && assessment.level == .critical)
        #expect(assessment.summary.hasPrefix("6 people and horse at Shop"))
    }

    @Test("levels follow seed 000's bands")
    func levels() {
        #expect([0, 29, 30, 59, 60, 84, 85, 100].map { RiskLevel(score: $0) } == [.low, .low, .medium, .medium, .high, .high, .critical, .critical])
    }
}

@Suite("Suspicious activity")
struct SuspiciousActivityTests {
    let camera = UUID()
    let restricted = UUID(), door = UUID(), pavement = UUID()
    let event = UUID()

    var zones: [CameraZone] {
        [zone(restricted, "Loading Dock", .restricted), zone(door, "Front Door", .entryPoint), zone(pavement, "Pavement", .sidewalk)]
    }

    func zone(_ id: UUID, _ name: String, _ type: ZoneType) -> CameraZone {
        CameraZone(id: id, cameraId: camera, name: name, zoneType: type, coordinates: [[0, 0], [1, 1]], shape: .rectangle,
                   color: "#EF4444", enabled: true, priority: 0, createdAt: monday(0), updatedAt: monday(0))
    }

    func detector(_ change: (inout ActivityThresholds) -> Void = { _ in }) -> SuspiciousActivityDetector {
        var thresholds = ActivityThresholds()
        change(&thresholds)
        return SuspiciousActivityDetector(thresholds: thresholds, zones: zones,
                                          schedule: WeeklySchedule(start: 6 * 60, end: 22 * 60, timeZone: utc))
    }

    /// Sightings every `step` seconds from `start`, standing at x in the zones given.
    func track(_ id: Int64, _ type: String = "person", from start: Date, count: Int, step: TimeInterval = 5, x: Double = 0.5,
               dx: Double = 0, zones: [UUID] = []) -> TrackHistory {
        TrackHistory(trackId: id, objectType: type, sightings: (0..<count).map { index in
            let left = x + dx * Double(index)
            return Sighting(time: start.addingTimeInterval(Double(index) * step),
                            box: PixelBox(x1: left, y1: 0.4, x2: left + 0.1, y2: 0.8), confidence: 0.9, zoneIds: zones)
        })
    }

    func types(_ findings: [SuspiciousFinding]) -> [ActivityType] { findings.map(\.type) }

    @Test("a person in a restricted zone is an intrusion (critical at night); a car there is a zone breach")
    func restrictedZone() {
        let day = detector().findings(tracks: [track(1, from: monday(12), count: 2, zones: [restricted]),
                                               track(2, "car", from: monday(12), count: 1, zones: [restricted])],
                                      eventId: event, now: monday(12, 1))
        #expect(types(day) == [.intrusion, .zoneBreach])
        #expect(day.map(\.severity) == [.high, .medium])
        #expect(day[0].details["zone_name"] == .string("Loading Dock") && day[0].zoneId == restricted)
        let night = detector().findings(tracks: [track(1, from: monday(23), count: 1, zones: [restricted])], eventId: event, now: monday(23, 1))
        #expect(night.first { $0.type == .intrusion }?.severity == .critical)
        #expect(types(detector().findings(tracks: [track(1, from: monday(12), count: 3, zones: [door])], eventId: event,
                                          now: monday(12, 1))).isEmpty)
        #expect(detector().findings(tracks: [track(3, "dog", from: monday(12), count: 2, zones: [restricted])], eventId: event,
                                    now: monday(12, 1)).isEmpty, "an animal is no breach")
    }

    @Test("loitering fires at the threshold, not below it; a gap makes two visits; a pavement is no place to loiter")
    func loitering() {
        let at60 = detector().findings(tracks: [track(1, from: monday(12), count: 13, zones: [door])], eventId: event, now: monday(12, 2))
        #expect(types(at60) == [.loitering])
        #expect(at60[0].details["duration_seconds"] == .number(60))
        let at55 = detector().findings(tracks: [track(1, from: monday(12), count: 12, zones: [door])], eventId: event, now: monday(12, 2))
        #expect(at55.isEmpty)
        // Two 40 s visits separated by 40 s away are not one 120 s stay.
        let split = TrackHistory(trackId: 1, objectType: "person",
                                 sightings: track(1, from: monday(12), count: 9, zones: [door]).sightings
                                     + track(1, from: monday(12, 1, second: 20), count: 9, zones: [door]).sightings)
        #expect(detector().findings(tracks: [split], eventId: event, now: monday(12, 3)).isEmpty)
        #expect(detector().findings(tracks: [track(1, from: monday(12), count: 30, zones: [pavement])], eventId: event,
                                    now: monday(12, 3)).isEmpty)
    }

    @Test("a vehicle exceeds its dwell time at 300 s")
    func dwell() {
        let parked = detector().findings(tracks: [track(7, "car", from: monday(12), count: 61, zones: [door])], eventId: event,
                                         now: monday(12, 6))
        #expect(types(parked) == [.dwellTime])
        #expect(detector().findings(tracks: [track(7, "car", from: monday(12), count: 60, zones: [door])], eventId: event,
                                    now: monday(12, 6)).isEmpty)
    }

    @Test("crowding fires at the crowd size")
    func crowding() {
        let five = (1...5).map { track(Int64($0), from: monday(12), count: 1, x: Double($0) / 10) }
        let found = detector().findings(tracks: five, eventId: event, now: monday(12, 1))
        #expect(types(found) == [.crowding])
        #expect(found[0].details["person_count"] == .number(5))
        #expect(detector().findings(tracks: Array(five.prefix(4)), eventId: event, now: monday(12, 1)).isEmpty)
    }

    @Test("people and vehicles after hours; animals are not")
    func afterHours() {
        let found = detector().findings(tracks: [track(1, from: monday(22, 30), count: 1)], eventId: event, now: monday(22, 31))
        #expect(types(found) == [.afterHours])
        #expect(found[0].details["local_time"] == .string("22:30"))
        #expect(detector().findings(tracks: [track(1, "cat", from: monday(23), count: 1)], eventId: event, now: monday(23, 1)).isEmpty)
        #expect(detector().findings(tracks: [track(1, from: monday(21, 59), count: 1)], eventId: event, now: monday(22)).isEmpty)
    }

    @Test("repeated entry: the third entry into one zone within ten minutes")
    func repeatedEntry() {
        func visits(_ count: Int) -> TrackHistory {
            var sightings: [Sighting] = []
            for visit in 0..<count {
                let start = monday(12).addingTimeInterval(Double(visit) * 60)
                sightings += track(3, from: start, count: 2, zones: [door]).sightings
                sightings += track(3, from: start.addingTimeInterval(15), count: 1, zones: []).sightings
            }
            return TrackHistory(trackId: 3, objectType: "person", sightings: sightings)
        }
        #expect(types(detector().findings(tracks: [visits(3)], eventId: event, now: monday(12, 5))) == [.repeatedEntry])
        #expect(detector().findings(tracks: [visits(2)], eventId: event, now: monday(12, 5)).isEmpty)
        #expect(detector { $0.repeatedEntryWindow = 100 }.findings(tracks: [visits(3)], eventId: event, now: monday(12, 5)).isEmpty)
    }

    @Test("running: two fast steps in a row; walking is not running")
    func running() {
        let fast = detector().findings(tracks: [track(4, from: monday(12), count: 3, step: 1, x: 0, dx: 0.5)], eventId: event,
                                       now: monday(12, 1))
        #expect(types(fast) == [.running])
        #expect(detector().findings(tracks: [track(4, from: monday(12), count: 3, step: 1, x: 0, dx: 0.45)], eventId: event,
                                    now: monday(12, 1)).isEmpty)
    }

    @Test("a bag left standing with nobody near is abandoned; one whose owner stays beside it is not")
    func abandoned() {
        var bag = track(9, "suitcase", from: monday(12), count: 2, x: 0.5)
        bag.stationarySince = monday(12)
        #expect(types(detector().findings(tracks: [bag], eventId: event, now: monday(12, 1))) == [.abandonedObject])
        #expect(detector().findings(tracks: [bag], eventId: event, now: monday(12, 0, second: 59)).isEmpty)
        let owner = track(10, from: monday(12, 0, second: 30), count: 1, x: 0.55)
        #expect(detector().findings(tracks: [bag, owner], eventId: event, now: monday(12, 1)).isEmpty)
    }
}

@Suite("Language model answers")
struct LanguageModelAnswerTests {
    @Test("a strict JSON answer is read; the level follows the score when they disagree")
    func valid() throws {
        let verdict = try LanguageModelScoring.verdict(fromContent: """
            {"risk_score": 72, "risk_level": "medium", "summary": "Unknown person at the door at night", "reasoning": "Late, lingering."}
            """)
        #expect(verdict.score == 72 && verdict.level == .high && verdict.levelCorrected)
        #expect(verdict.summary == "Unknown person at the door at night")
    }

    @Test("a fenced JSON block is accepted")
    func fenced() throws {
        let verdict = try LanguageModelScoring.verdict(fromContent: "```json\n{\"risk_score\": 10, \"risk_level\": \"low\", \"summary\": \"Cat\", \"reasoning\": \"A cat.\"}\n```")
        #expect(verdict.score == 10 && verdict.level == .low && !verdict.levelCorrected)
    }

    @Test("prose, a score out of range, a fraction or a missing summary is refused, saying why")
    func invalid() {
        func rejection(_ content: String) -> LanguageModelScoring.Rejection? {
            do {
                _ = try LanguageModelScoring.verdict(fromContent: content)
                return nil
            } catch {
                return error
            }
        }
        #expect(rejection("The risk is high because a person is there.") == .notJSON)
        #expect(rejection(#"{"risk_score": 150, "summary": "x", "reasoning": "y"}"#) == .outOfRange("risk_score must be a whole number from 0 to 100; got 150.0"))
        #expect(rejection(#"{"risk_score": 42.5, "summary": "x", "reasoning": "y"}"#) != nil)
        #expect(rejection(#"{"risk_score": 42, "reasoning": "y"}"#) == .missing("summary"))
        #expect(rejection(#"{"risk_score": "high", "summary": "x", "reasoning": "y"}"#) == .missing("risk_score"))
        #expect(throws: LanguageModelScoring.Rejection.missing("choices[0].message.content")) {
            try LanguageModelScoring.verdict(fromResponse: .object(["error": .string("model not loaded")]))
        }
    }

    @Test("the request carries the facts as JSON, asks for a JSON object, and the frame only when given")
    func request() throws {
        let facts: JSONValue = .object(["camera": .string("Front Door")])
        let plain = LanguageModelScoring.request(model: "llava", facts: facts, image: nil)
        let messages = try #require(plain.objectValue?["messages"]?.arrayValue)
        #expect(messages.count == 2 && plain.objectValue?["response_format"] == .object(["type": .string("json_object")]))
        #expect(messages[1].objectValue?["content"]?.stringValue?.contains(#""camera":"Front Door""#) == true)
        let withImage = LanguageModelScoring.request(model: "llava", facts: facts, image: [0xFF, 0xD8])
        let parts = try #require(withImage.objectValue?["messages"]?.arrayValue?[1].objectValue?["content"]?.arrayValue)
        #expect(parts[1].objectValue?["image_url"]?.objectValue?["url"] == .string("data:image/jpeg;base64,/9g="))
    }
}

@Suite("Watched areas and camera health")
struct SceneCheckTests {
    /// A 320×240 scene with structure: blocks of different greys plus a gradient; `seed` moves the blocks.
    static func scene(seed: Int = 0, brightness: Double = 1, block: (x: Int, y: Int, value: UInt8)? = nil) -> GrayImage {
        var pixels = [UInt8](repeating: 0, count: 320 * 240)
        for y in 0..<240 {
            for x in 0..<320 {
                var value = 40 + x / 4 + ((x / 40 + y / 30 + seed) % 3) * 40
                if let block, (block.x..<block.x + 40).contains(x), (block.y..<block.y + 40).contains(y) { value = Int(block.value) }
                pixels[y * 320 + x] = UInt8(clamping: Int(Double(value) * brightness))
            }
        }
        return GrayImage(width: 320, height: 240, pixels: pixels)
    }

    /// A box blur: what a fogged or smeared lens does.
    static func blurred(_ image: GrayImage, radius: Int) -> GrayImage {
        var pixels = image.pixels
        for pass in 0..<2 {
            let source = pixels
            for y in 0..<image.height {
                for x in 0..<image.width {
                    var sum = 0, count = 0
                    for d in -radius...radius {
                        let (sx, sy) = pass == 0 ? (x + d, y) : (x, y + d)
                        guard sx >= 0, sx < image.width, sy >= 0, sy < image.height else { continue }
                        sum += Int(source[sy * image.width + sx])
                        count += 1
                    }
                    pixels[y * image.width + x] = UInt8(sum / count)
                }
            }
        }
        return GrayImage(width: image.width, height: image.height, pixels: pixels)
    }

    static let porch = ZonePolygon(pairs: [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]])

    @Test("a parcel taken from a watched area changes it; a brighter light or a change elsewhere does not")
    func watchArea() {
        let withParcel = Self.scene(block: (200, 160, 250))
        let taken = WatchAreaChange.measure(before: withParcel, after: Self.scene(), polygon: Self.porch)
        #expect(taken.changedFraction > 0.05 && taken.changedFraction < 0.15, "\(taken.changedFraction)")
        let box = taken.changedBox
        #expect(box.map { abs($0.x1 - 0.625) < 0.02 && abs($0.y1 - 0.667) < 0.02 } == true, "\(String(describing: box))")
        #expect(WatchAreaChange.measure(before: Self.scene(), after: Self.scene(brightness: 1.2), polygon: Self.porch).changedFraction < 0.01)
        #expect(WatchAreaChange.measure(before: Self.scene(), after: Self.scene(block: (20, 20, 250)), polygon: Self.porch).changedFraction == 0)
    }

    func feed(_ health: inout SceneHealth, _ frames: [(GrayImage, TimeInterval)]) -> [SceneHealth.Finding] {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return frames.compactMap { health.observe($0.0, at: start.addingTimeInterval($0.1)).finding }
    }

    @Test("a covered camera is reported once it has shown nothing for 20 s, once, and again after it cleared")
    func obstructed() {
        var health = SceneHealth()
        let covered = GrayImage(width: 320, height: 240, pixels: [UInt8](repeating: 90, count: 320 * 240))
        let before = feed(&health, [(Self.scene(), 0), (covered, 5), (covered, 10), (covered, 20)])
        #expect(before.isEmpty, "15 s is not yet a while")
        let found = feed(&health, [(covered, 25), (covered, 30)])
        #expect(found.count == 1)
        if case .obstructed(let since, let reason, _)? = found.first {
            #expect(reason == "uniform" && since == Date(timeIntervalSince1970: 1_800_000_005))
        } else {
            Issue.record("not reported as obstructed: \(found)")
        }
        #expect(feed(&health, [(Self.scene(), 40), (covered, 45), (covered, 70)]).count == 1, "a new episode after it cleared")
    }

    @Test("a dark camera and a smeared lens count as obstructed too")
    func darkAndBlurred() {
        var dark = SceneHealth()
        let night = Self.scene(brightness: 0.05)
        #expect(feed(&dark, [(Self.scene(), 0), (night, 5), (night, 30)]).count == 1)
        var smeared = SceneHealth()
        let blurred = Self.blurred(Self.scene(), radius: 24)
        let findings = feed(&smeared, [(Self.scene(), 0), (Self.scene(), 5), (blurred, 10), (blurred, 35)])
        if case .obstructed(_, let reason, _)? = findings.first { #expect(reason == "blurred") } else {
            Issue.record("\(findings) \(SceneHealth.stats(of: Self.scene())) \(SceneHealth.stats(of: blurred))")
        }
    }

    @Test("a camera turned to another view that holds is reported as shifted; lighting and a passer-by are not")
    func shifted() {
        var health = SceneHealth()
        #expect(feed(&health, [(Self.scene(), 0), (Self.scene(brightness: 1.4), 5), (Self.scene(), 10)]).isEmpty, "lighting")
        #expect(feed(&health, [(Self.scene(seed: 1), 15), (Self.scene(), 20), (Self.scene(seed: 2), 25), (Self.scene(), 30)]).isEmpty,
                "views that come and go are something in front of the lens")
        let turned = feed(&health, [(Self.scene(seed: 1), 40), (Self.scene(seed: 1), 45), (Self.scene(seed: 1), 50)])
        #expect(turned.count == 1)
        if case .shifted(let since, let correlation)? = turned.first {
            #expect(since == Date(timeIntervalSince1970: 1_800_000_040) && correlation < 0.4)
        }
        #expect(feed(&health, [(Self.scene(seed: 1), 55), (Self.scene(seed: 1), 60)]).isEmpty, "the new view is the usual one now")
    }
}
