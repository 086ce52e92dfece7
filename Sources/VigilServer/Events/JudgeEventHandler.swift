import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// Runs `judge_event` jobs: an event's suspicious activities, risk score, summary and decision
/// trace, and its images (`pre`, `during`, `post` frames kept from staging, an `annotated` copy
/// with boxes and labels, a `thumb`), then tells live clients (`event.created` the first time,
/// `event.updated` after). Judged once when a fast-path detection raises the event, and again
/// when it closes; each judgement replaces the previous one.
struct JudgeEventHandler: JobHandler {
    let type = JobRepository.JobType.judgeEvent.rawValue
    let database: Database
    let media: any MediaStore
    let now: @Sendable () -> Date
    /// Server-wide settings; each camera's `config.events` may override them.
    let defaults: EventSettings
    var scorer = RiskScorer()
    /// Scores closed events when `VIGIL_LLM_URL` is set; the rules' score stands when it fails.
    var languageModel: LanguageModelScorer?
    /// How far back an event's objects are followed (for loitering and dwell time).
    var lookBack: TimeInterval = 3600

    struct Unjudgeable: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    /// What judging an event reads from the database.
    struct Evidence: Sendable {
        var event: Event
        var camera: Camera
        var timeZone: TimeZone
        var zones: [CameraZone]
        var detections: [EventRepository.EventDetection]
        var tracks: [Int64: (stationarySince: Date?, lastSeenAt: Date)]
        var activity: BaselineComparison
        var classes: [String: BaselineComparison]
        /// Who its faces showed, and how many strangers (clusters) were seen.
        var persons: [RecognizedPerson] = []
        var unknownFaces = 0
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        let payload = job.payload.objectValue ?? [:]
        guard let eventId = payload["event_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw Unjudgeable(description: "the job names no event")
        }
        let stage = payload["stage"]?.stringValue.flatMap(EventFolding.Stage.init(rawValue:)) ?? .closed
        let logger = context.logger
        let time = now()
        context.report(step: "gathering evidence")
        guard let evidence = try await gather(eventId, at: time, logger: logger) else {
            // Deleted with its camera, or dropped by retention: nothing left to judge.
            return .object(["skipped": .string("the event no longer exists")])
        }
        let event = evidence.event
        var ignored = ValidationReport()
        let settings = defaults.applying(cameraConfig: evidence.camera.config, siteTimeZone: evidence.timeZone.identifier, report: &ignored)
        let schedule = settings.schedule(defaultTimeZone: evidence.timeZone)

        let own = Set(event.detectionIds)
        let ownDetections = evidence.detections.filter { own.contains($0.id) }
        let histories = Self.histories(evidence.detections, states: evidence.tracks)
        let detector = SuspiciousActivityDetector(thresholds: settings.activity, zones: evidence.zones, schedule: schedule)
        let findings = detector.findings(tracks: histories.filter { event.trackIds.contains($0.trackId) }, eventId: event.id, now: time)
        let factors = Self.factors(evidence, own: ownDetections, histories: histories, findings: findings, schedule: schedule)
        let assessment = scorer.assess(factors)

        context.report(step: "keeping its frames")
        var trace = ["detections_grouped:\(ownDetections.count)"]
        if event.isFastPath { trace.append("fast_path") }
        let frames = try await keepFrames(of: event, own: ownDetections, closed: stage == .closed, settings: settings, at: time,
                                          logger: logger)
        trace += frames.trace
        trace += assessment.decisionTrace

        // The model is asked once the event is whole; a fast-path event is raised on the rules' score at once.
        var verdict: (score: Int, level: RiskLevel, summary: String, reasoning: String) =
            (assessment.score, assessment.level, assessment.summary, assessment.reasoning)
        var scorerName = "rules"
        var modelReport: JSONValue = .null
        if stage == .closed, let languageModel {
            context.report(step: "asking the language model")
            let started = ContinuousClock.now
            let outcome = await languageModel.score(facts: factors.facts(endedAt: event.endedAt, rules: assessment),
                                                    image: frames.annotatedBytes)
            let latency = (ContinuousClock.now - started).milliseconds.rounded()
            switch outcome {
            case .scored(let answer):
                verdict = (answer.score, answer.level, answer.summary, answer.reasoning)
                scorerName = "llm"
                trace.append("llm_scored \(answer.score)")
                modelReport = .object(["model": .string(languageModel.settings.model), "latency_ms": .number(latency),
                                       "rules_score": .number(Double(assessment.score)), "level_corrected": .bool(answer.levelCorrected)])
            case .failed(let reason):
                trace.append("llm_fallback")
                logger.notice("the language model's score was not used", metadata: ["reason": "\(reason)"])
                modelReport = .object(["model": .string(languageModel.settings.model), "latency_ms": .number(latency),
                                       "error": .string(reason)])
            }
        }
        trace.append(stage == .closed ? "event_emitted" : "event_raised_early")

        var details: [String: JSONValue] = [
            "stage": .string(stage.rawValue),
            "scorer": .string(scorerName),
            "thresholds": .object(assessment.thresholds.merging([
                "window_seconds": .number(settings.window), "idle_seconds": .number(settings.idle),
                "fast_path_min_confidence": settings.fastPath.map { .number($0.minConfidence) } ?? .null,
                "loiter_seconds": .number(settings.activity.loiterSeconds), "crowd_size": .number(Double(settings.activity.crowdSize)),
            ]) { first, _ in first }),
            "scores": .object(assessment.scores.merging(["max_confidence": .number(event.confidence ?? 0)]) { first, _ in first }),
            "captures": .object(frames.captureIds.mapValues { .string($0.uuidString.lowercased()) }),
            "baseline": .object([
                "activity_usual": .number(evidence.activity.usual.value), "activity_samples": .number(Double(evidence.activity.usual.samples)),
                "observed_last_hour": .number(evidence.activity.observed),
            ]),
            "contributions": .array(assessment.contributions.map { contribution in
                .object(["factor": .string(contribution.factor), "points": .number(Double(contribution.points)),
                         "explanation": .string(contribution.explanation)])
            }),
            "decision_trace": .array(trace.map(JSONValue.string)),
        ]
        details["schedule"] = schedule.jsonValue
        if modelReport != .null { details["llm"] = modelReport }
        let judgement = EventRepository.Judgement(riskScore: verdict.score, riskLevel: verdict.level, summary: verdict.summary,
                                                  reasoning: verdict.reasoning, details: .object(details),
                                                  imagePath: frames.annotatedURI)
        context.report(step: "recording")
        let retention = FramePromotion.retention(of: evidence.camera)
        let stored = try await database.transaction { connection -> (announced: Bool?, suspicious: [SuspiciousActivity]) in
            let events = EventRepository(connection, logger: logger)
            guard let announcedBefore = try await events.record(judgement, eventId: event.id, at: time) else { return (nil, []) }
            try await frames.record(on: events, retention: retention, at: time)
            let suspicious = try await SuspiciousActivityRepository(connection, logger: logger)
                .record(findings, cameraId: event.cameraId, eventId: event.id, imagePath: frames.annotatedURI,
                        notReportedSince: time.addingTimeInterval(-86_400))
            try await events.announce(announcedBefore ? "event.updated" : "event.created", id: event.id, cameraId: event.cameraId)
            try await AlertEvaluation.queue(eventId: event.id, on: connection, at: time, logger: logger)
            for activity in suspicious {
                try await events.announce("suspicious_activity.created", id: activity.id, cameraId: event.cameraId)
            }
            return (announcedBefore, suspicious)
        }
        guard stored.announced != nil else { return .object(["skipped": .string("the event no longer exists")]) }
        // With the scene before and after the activity in hand, the watched areas are compared.
        let changes = stage == .closed
            ? try await SceneEvents(database: database, media: media, logger: logger)
                .checkWatchedAreas(after: event, camera: evidence.camera, zones: evidence.zones, frames: frames, settings: settings,
                                   schedule: schedule, scorer: scorer, at: time)
            : []
        return .object([
            "event_id": .string(event.id.uuidString.lowercased()), "stage": .string(stage.rawValue),
            "risk_score": .number(Double(verdict.score)), "risk_level": .string(verdict.level.rawValue), "scorer": .string(scorerName),
            "images": .array(frames.images.map { .string($0.role) }),
            "suspicious": .array(stored.suspicious.map { .string($0.activityType.rawValue) }),
            "stock_changed": .array(changes.map { .string($0.uuidString.lowercased()) }),
        ])
    }

    // MARK: Evidence

    private func gather(_ eventId: UUID, at time: Date, logger: Logger) async throws -> Evidence? {
        try await database.read { connection -> Evidence? in
            let events = EventRepository(connection, logger: logger)
            guard let event = try await events.find(id: eventId),
                  let camera = try await CameraRepository(connection, logger: logger).find(id: event.cameraId) else { return nil }
            let site = try await SiteRepository(connection, logger: logger).find(id: camera.siteId)
            let timeZone = site.flatMap { TimeZone(identifier: $0.timezone) } ?? .gmt
            let zones = try await CameraZoneRepository(connection, logger: logger)
                .list(cameraId: camera.id, enabled: nil, page: PageRequest(limit: PageRequest.maximumLimit)).items
            let until = max(event.endedAt ?? event.startedAt, event.startedAt)
            let detections = try await events.detections(cameraId: camera.id, trackIds: event.trackIds, detectionIds: event.detectionIds,
                                                         since: event.startedAt.addingTimeInterval(-lookBack), until: until)
            let tracks = try await events.trackStates(event.trackIds)
            let local = LocalTime(event.startedAt, in: timeZone)
            let baselines = BaselineRepository(connection, logger: logger)
            let seen = try await events.activity(cameraId: camera.id, from: event.startedAt.addingTimeInterval(-3600),
                                                 to: event.startedAt.addingTimeInterval(0.001))
            let usual = try await baselines.activity(cameraId: camera.id, hour: local.hour, dayOfWeek: local.mondayBasedWeekday)
            let classBaselines = try await baselines.classes(cameraId: camera.id, hour: local.hour)
            var classes: [String: BaselineComparison] = [:]
            for name in event.objectTypes {
                classes[name] = BaselineComparison(observed: Double(seen.byClass[name] ?? 1), usual: classBaselines[name] ?? EWMA())
            }
            let faces = FaceRepository(connection, logger: logger)
            let persons = try await PersonRepository(connection, logger: logger)
                .profiles(of: try await faces.recognizedPersons(inEvent: event.id, filedUnder: event.personId), watchlists: .site(camera.siteId))
            let strangers = Set(try await faces.faces(ofEvent: event.id).filter { $0.personId == nil }.compactMap(\.clusterId))
            return Evidence(event: event, camera: camera, timeZone: timeZone, zones: zones, detections: detections, tracks: tracks,
                            activity: BaselineComparison(observed: Double(seen.events), usual: usual), classes: classes,
                            persons: persons, unknownFaces: strangers.count)
        }
    }

    /// Each track's sightings, oldest first.
    static func histories(_ detections: [EventRepository.EventDetection],
                          states: [Int64: (stationarySince: Date?, lastSeenAt: Date)]) -> [TrackHistory] {
        Dictionary(grouping: detections.filter { $0.trackId != nil }, by: { $0.trackId! }).map { id, sightings in
            TrackHistory(trackId: id, objectType: sightings[0].objectType,
                         sightings: sightings.map { Sighting(time: $0.detectedAt, box: $0.normalizedBox, confidence: $0.confidence,
                                                             zoneIds: $0.zoneIds) },
                         stationarySince: states[id]?.stationarySince, lastSeenAt: states[id]?.lastSeenAt)
        }.sorted { $0.trackId < $1.trackId }
    }

    static func factors(_ evidence: Evidence, own: [EventRepository.EventDetection], histories: [TrackHistory],
                        findings: [SuspiciousFinding], schedule: WeeklySchedule) -> RiskFactors {
        let event = evidence.event
        let ownTracks = histories.filter { event.trackIds.contains($0.trackId) }
        var counts: [String: Int] = [:]
        for track in ownTracks { counts[track.objectType, default: 0] += 1 }
        for detection in own where detection.trackId == nil { counts[detection.objectType, default: 0] += 1 }
        let peoplePerFrame = Dictionary(grouping: own.filter { $0.objectType == "person" }, by: { $0.captureId ?? $0.id }).values.map(\.count)
        let zonesHit = Set(own.flatMap(\.zoneIds))
        let zones = evidence.zones.filter { zonesHit.contains($0.id) }
            .map { RiskFactors.Zone(name: $0.name, type: $0.zoneType, priority: $0.priority) }
        let presence = ownTracks.map { track in track.lastSeenAt.timeIntervalSince(track.sightings.first?.time ?? track.lastSeenAt) }.max() ?? 0
        var suspicious: [ActivityType: Severity] = [:]
        for finding in findings { suspicious[finding.type] = max(suspicious[finding.type] ?? .low, finding.severity) }
        return RiskFactors(cameraName: evidence.camera.name, objectCounts: counts, peopleInOneFrame: peoplePerFrame.max() ?? 0,
                           zones: zones, startedAt: event.startedAt, longestPresence: presence, schedule: schedule,
                           activity: evidence.activity, classFrequency: evidence.classes,
                           allStationary: !ownTracks.isEmpty && ownTracks.allSatisfy { $0.stationarySince != nil },
                           suspicious: suspicious, persons: evidence.persons, unknownFaces: evidence.unknownFaces)
    }

    // MARK: Frames

    /// Keeps the event's `pre`, `during` and (once it closed) `post` frames out of staging, and
    /// makes its `annotated` frame and `thumb` from the `during` one.
    private func keepFrames(of event: Event, own: [EventRepository.EventDetection], closed: Bool, settings: EventSettings, at time: Date,
                            logger: Logger) async throws -> EventFrames {
        var frames = EventFrames(eventId: event.id, cameraId: event.cameraId, day: event.startedAt)
        let promotion = FramePromotion(database: database, media: media, logger: logger)
        let best = own.max { $0.confidence < $1.confidence }
        let neighbours = try await database.read { connection -> (pre: UUID?, post: UUID?) in
            let events = EventRepository(connection, logger: logger)
            let pre = try await events.neighbouringCapture(cameraId: event.cameraId, time: event.startedAt, before: true,
                                                           within: settings.window)
            let post = closed ? try await events.neighbouringCapture(cameraId: event.cameraId, time: event.endedAt ?? event.startedAt,
                                                                     before: false, within: settings.idle + 30) : nil
            return (pre, post)
        }
        try await frames.keep(neighbours.pre, as: .pre, promotion: promotion, at: time, logger: logger)
        let duringURI = try await frames.keep(best?.captureId, as: .during, promotion: promotion, at: time, logger: logger)
        if closed { try await frames.keep(neighbours.post, as: .post, promotion: promotion, at: time, logger: logger) }
        if let duringURI, let captureId = best?.captureId {
            let marks = own.filter { $0.captureId == captureId }.map { ($0.normalizedBox, $0.objectType, $0.confidence) }
            try await frames.annotate(duringURI, marks: marks, media: media, logger: logger)
        }
        return frames
    }
}
