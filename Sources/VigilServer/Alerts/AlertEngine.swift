import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

extension JobRepository.JobType {
    /// Matching a new or changed event against the alert rules.
    static let evaluateAlerts = JobRepository.JobType(rawValue: "evaluate_alerts")
    /// Sending one alert on one channel.
    static let deliverNotification = JobRepository.JobType(rawValue: "deliver_notification")
}

/// Reads events as alert rules see them, caching what several events of one camera share.
struct AlertSubjects {
    let connection: PostgresConnection
    let logger: Logger
    private var cameras: [UUID: (camera: Camera, timeZone: TimeZone, siteName: String, zones: [UUID: String])] = [:]

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// The camera, its site's time zone and name, and its zones' names.
    mutating func place(of cameraId: UUID) async throws -> (camera: Camera, timeZone: TimeZone, siteName: String, zones: [UUID: String])? {
        if let known = cameras[cameraId] { return known }
        guard let camera = try await CameraRepository(connection, logger: logger).find(id: cameraId) else { return nil }
        let site = try await SiteRepository(connection, logger: logger).find(id: camera.siteId)
        let zones = try await CameraZoneRepository(connection, logger: logger)
            .list(cameraId: cameraId, enabled: nil, page: PageRequest(limit: PageRequest.maximumLimit)).items
        let place = (camera, site.flatMap { TimeZone(identifier: $0.timezone) } ?? .gmt, site?.name ?? "",
                     Dictionary(zones.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first }))
        cameras[cameraId] = place
        return place
    }

    mutating func subject(of event: Event) async throws -> AlertSubject? {
        guard let place = try await place(of: event.cameraId) else { return nil }
        let events = EventRepository(connection, logger: logger)
        let until = max(event.endedAt ?? event.startedAt, event.startedAt)
        let detections = try await events.detections(cameraId: event.cameraId, trackIds: event.trackIds, detectionIds: event.detectionIds,
                                                     since: event.startedAt, until: until)
        var sightings = detections.map { AlertSubject.Sighting(objectType: $0.objectType, confidence: $0.confidence, zoneIds: $0.zoneIds) }
        if sightings.isEmpty {
            sightings = [AlertSubject.Sighting(objectType: event.objectTypes.first, confidence: event.confidence ?? 0, zoneIds: event.zoneIds)]
        }
        let activities = try await SuspiciousActivityRepository(connection, logger: logger)
            .list(eventId: event.id, since: event.startedAt.addingTimeInterval(-86_400))
            .map { AlertSubject.Activity(type: $0.activityType, severity: $0.severity, confidence: $0.confidence, zoneId: $0.zoneId,
                                         objectType: $0.details.objectValue?["object_type"]?.stringValue) }
        let persons = try await FaceRepository(connection, logger: logger).recognizedPersons(inEvent: event.id, filedUnder: event.personId)
        return AlertSubject(eventId: event.id, cameraId: event.cameraId, cameraName: place.camera.name, siteTimeZone: place.timeZone,
                            eventType: event.eventType, riskScore: event.riskScore, riskLevel: event.riskLevel, occurredAt: event.startedAt,
                            personId: event.personId,
                            persons: try await PersonRepository(connection, logger: logger).profiles(of: persons, watchlists: .site(place.camera.siteId)),
                            sightings: sightings, activities: activities,
                            zoneNames: place.zones, siteId: place.camera.siteId)
    }
}

/// Queues the evaluation of an event against the rules, in the caller's transaction: whoever
/// records or changes an event calls this beside announcing it.
enum AlertEvaluation {
    static func queue(eventId: UUID, on connection: PostgresConnection, at time: Date, logger: Logger) async throws {
        try await JobRepository(connection, logger: logger).enqueue(
            id: UUIDv7Generator(now: { time }).next(), type: .evaluateAlerts, queue: "alerts", priority: 1,
            payload: .object(["event_id": .string(eventId.uuidString.lowercased())]), maxAttempts: 5, at: time)
    }
}

/// The `evaluate_alerts` job: every enabled rule against one event. A match raises an alert, or
/// counts as a repeat of one within the rule's cooldown; each (event, rule) is matched once, however
/// many workers evaluate the event or how often it changes.
struct EvaluateAlertsHandler: JobHandler {
    let database: Database
    let now: @Sendable () -> Date
    var type: String { JobRepository.JobType.evaluateAlerts.rawValue }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        guard let text = job.payload.objectValue?["event_id"]?.stringValue, let eventId = UUID(uuidString: text) else {
            throw InvalidAlertJob(message: "the job names no event")
        }
        let time = now()
        let logger = context.logger
        let outcome = try await database.transaction { connection -> [String: JSONValue] in
            guard let event = try await EventRepository(connection, logger: logger).find(id: eventId) else {
                return ["skipped": .string("the event no longer exists")]
            }
            var subjects = AlertSubjects(connection, logger: logger)
            guard let subject = try await subjects.subject(of: event) else { return ["skipped": .string("the camera no longer exists")] }
            let rules = try await AlertRuleRepository(connection, logger: logger).list(enabledOnly: true)
            let channels = try await NotificationChannelRepository(connection, logger: logger).list().filter(\.isActive)
            return try await Self.raise(for: subject, event: event, rules: rules, channels: channels, on: connection, at: time, logger: logger)
        }
        return .object(outcome)
    }

    /// Evaluates `rules` and raises what matches; returns the alerts made and repeated.
    static func raise(for subject: AlertSubject, event: Event, rules: [AlertRule], channels: [NotificationChannel],
                      on connection: PostgresConnection, at time: Date, logger: Logger) async throws -> [String: JSONValue] {
        let evaluator = RuleEvaluator()
        let activeChannels = Dictionary(channels.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ids = UUIDv7Generator(now: { time })
        var raisings: [AlertRepository.Raising] = []
        for rule in rules {
            guard let match = evaluator.evaluate(RuleEvaluator.Compiled(rule), on: subject).match else { continue }
            let metadata: JSONValue = .object([
                "event_type": .string(event.eventType.rawValue), "object_type": match.objectType.map(JSONValue.string) ?? .null,
                "zone_id": match.zoneId.map { .string($0.uuidString.lowercased()) } ?? .null,
                "confidence": match.confidence.map(JSONValue.number) ?? .null,
                "risk_score": event.riskScore.map { .number(Double($0)) } ?? .null,
                "activity_type": match.activity.map { .string($0.rawValue) } ?? .null,
            ])
            raisings.append(AlertRepository.Raising(match: match, id: ids.next(), channelIds: rule.channelIds.filter { activeChannels[$0] != nil },
                                                    cooldownSeconds: rule.cooldownSeconds, metadata: metadata))
        }
        let alerts = AlertRepository(connection, logger: logger)
        let outcomes = try await alerts.raise(raisings, eventId: event.id, cameraId: event.cameraId, personId: event.personId, at: time)
        var created: [UUID] = []
        var repeated: [UUID] = []
        var deliveries: [JobRepository.NewJob] = []
        for (raising, raised) in outcomes {
            switch raised {
            case .created(let alertId):
                created.append(alertId)
                for channel in raising.channelIds.compactMap({ activeChannels[$0] }) {
                    var report = ValidationReport()
                    let retries = ChannelSettings.parse(channel.channelType, channel.config, report: &report)?.limits.retryCount ?? 3
                    deliveries.append(JobRepository.NewJob(
                        id: ids.next(), type: .deliverNotification, queue: "notifications", priority: 1,
                        payload: .object(["alert_id": .string(alertId.uuidString.lowercased()),
                                          "channel_id": .string(channel.id.uuidString.lowercased())]),
                        maxAttempts: retries + 1, createdAt: time))
                }
            case .repeated(let alertId):
                if !repeated.contains(alertId) { repeated.append(alertId) }
            }
        }
        // Vigil's own transitions are audited like people's: raised here, delivered when the channels are done.
        let audit = AuditRepository(connection, logger: logger)
        for (raising, raised) in outcomes {
            guard case .created(let alertId) = raised else { continue }
            try await audit.record(AuditEntry(actor: "system:alerts", action: "alert_created", resourceType: "alert",
                                              resourceId: alertId.uuidString.lowercased(),
                                              details: .object(["rule_id": .string(raising.match.ruleId.uuidString.lowercased()),
                                                                "event_id": .string(event.id.uuidString.lowercased()),
                                                                "severity": .string(raising.match.severity.rawValue)])),
                                   id: ids.next(), at: time)
        }
        try await alerts.announce("alert.created", ids: created)
        try await alerts.announce("alert.updated", ids: repeated.filter { !created.contains($0) })
        try await JobRepository(connection, logger: logger).enqueue(deliveries)
        func strings(_ ids: [UUID]) -> JSONValue { .array(ids.map { .string($0.uuidString.lowercased()) }) }
        return ["event_id": .string(event.id.uuidString.lowercased()), "rules": .number(Double(rules.count)),
                "created": strings(created), "repeated": strings(repeated)]
    }
}

struct InvalidAlertJob: PermanentJobFailure, CustomStringConvertible {
    var message: String
    var description: String { message }
}
