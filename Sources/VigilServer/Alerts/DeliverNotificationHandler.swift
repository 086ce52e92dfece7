import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// The `deliver_notification` job: one alert on one channel. Every attempt is recorded in
/// `alert_deliveries`; failures that may pass are retried with back-off (or when the service
/// asked), the last failure or a refusal is final. A channel past its rate limit waits without
/// spending an attempt.
struct DeliverNotificationHandler: JobHandler {
    let database: Database
    let media: any MediaStore
    let secrets: SecretBox
    let now: @Sendable () -> Date
    /// Where links in notifications point (`VIGIL_PUBLIC_URL`).
    let linkBase: String
    var client: HTTPClient = Outbound.client
    var type: String { JobRepository.JobType.deliverNotification.rawValue }

    struct Refused: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    struct Failed: RetryAfterJobFailure, CustomStringConvertible {
        var description: String
        var retryAfter: TimeInterval?
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        guard let alertText = job.payload.objectValue?["alert_id"]?.stringValue, let alertId = UUID(uuidString: alertText),
              let channelText = job.payload.objectValue?["channel_id"]?.stringValue, let channelId = UUID(uuidString: channelText) else {
            throw Refused(description: "the job names no alert or channel")
        }
        let logger = context.logger
        let time = now()
        let loaded = try await database.read { connection -> (Alert, NotificationChannel, [UInt8]?, OutgoingNotification)? in
            guard let alert = try await AlertRepository(connection, logger: logger).find(id: alertId),
                  let (channel, sealed) = try await NotificationChannelRepository(connection, logger: logger).findForSending(id: channelId)
            else { return nil }
            let notification = try await AlertNotifications(linkBase: linkBase, media: media)
                .notification(for: alert, on: connection, logger: logger)
            return (alert, channel, sealed, notification)
        }
        guard let (alert, channel, sealed, notification) = loaded else {
            return .object(["skipped": .string("the alert or the channel no longer exists")])
        }
        var report = ValidationReport()
        guard channel.isActive, let settings = ChannelSettings.parse(channel.channelType, channel.config, report: &report) else {
            let reason = channel.isActive ? "the channel's settings are invalid: \(report.problems.map(\.description).joined(separator: "; "))"
                                          : "the channel is turned off"
            try await record(alert, channel, job: job, status: .failed, code: nil, error: reason, latency: 0, at: time, logger: logger)
            throw Refused(description: reason)
        }

        let window = try await database.read { try await AlertRepository($0, logger: logger).attempts(channelId: channel.id,
                                                                                                       since: time.addingTimeInterval(-60)) }
        if window.count >= settings.limits.rateLimitPerMinute {
            throw JobPostponed(until: (window.oldest ?? time).addingTimeInterval(60),
                               reason: "\(channel.name) sent \(window.count) notifications in the last minute (its limit)")
        }

        let credential = try sealed.map { try secrets.open($0) }
        let notifier = Notifiers.make(settings, credential: credential, client: client, now: now)
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let receipt = try await notifier.deliver(notification)
            let latency = Self.milliseconds(clock.now - started)
            try await record(alert, channel, job: job, status: .sent, code: receipt.responseCode, error: nil, latency: latency, at: time,
                             logger: logger)
            let code: JSONValue = receipt.responseCode.map { .number(Double($0)) } ?? .null
            return .object(["channel": .string(channel.channelType.rawValue), "status": .string("sent"), "response_code": code,
                            "latency_ms": .number(Double(latency))])
        } catch {
            let latency = Self.milliseconds(clock.now - started)
            let failure = error as? NotificationFailure
                ?? NotificationFailure(message: "\(error)", retryable: true)
            let final = !failure.retryable || job.attempt >= job.maxAttempts
            try await record(alert, channel, job: job, status: final ? .failed : .retrying, code: failure.responseCode,
                             error: failure.message, latency: latency, at: time, logger: logger)
            if !failure.retryable { throw Refused(description: failure.message) }
            throw Failed(description: failure.message, retryAfter: failure.retryAfter)
        }
    }

    private func record(_ alert: Alert, _ channel: NotificationChannel, job: JobRepository.Claimed, status: AlertDelivery.Status, code: Int?,
                        error: String?, latency: Int, at time: Date, logger: Logger) async throws {
        try await database.transaction { connection in
            let alerts = AlertRepository(connection, logger: logger)
            let settled = try await alerts.record(AlertRepository.DeliveryAttempt(
                alertId: alert.id, channelId: channel.id, channelType: channel.channelType, jobId: job.id, attempt: job.attempt,
                status: status, responseCode: code, error: error, latencyMs: latency, attemptedAt: time))
            if settled {
                try await AuditRepository(connection, logger: logger).record(
                    AuditEntry(actor: "system:alerts", action: "alert_delivered", resourceType: "alert", resourceId: alert.id.uuidString.lowercased(),
                               details: .object(["last_channel": .string(channel.channelType.rawValue), "last_status": .string(status.rawValue)])),
                    id: UUIDv7Generator(now: { time }).next(), at: time)
                try await alerts.announce("alert.updated", id: alert.id)
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// An alert as channels receive it: the notice for templates, the JSON for webhooks, the frame.
struct AlertNotifications {
    let linkBase: String
    let media: any MediaStore

    func notification(for alert: Alert, on connection: PostgresConnection, logger: Logger) async throws -> OutgoingNotification {
        let event = try await EventRepository(connection, logger: logger).find(id: alert.eventId)
        var subjects = AlertSubjects(connection, logger: logger)
        let place = try await subjects.place(of: alert.cameraId)
        let zoneId = alert.metadata.objectValue?["zone_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        let images = try await EventRepository(connection, logger: logger).images(eventId: alert.eventId)
        let frame = images.first { $0.role == .annotated } ?? images.first { $0.role == .during }
        var snapshot: Data?
        if let frame, let bytes = try? media.read(frame.uri) { snapshot = Data(bytes) }
        let eventPath = "/events/\(alert.eventId.uuidString.lowercased())"
        let notice = AlertNotice(
            alertId: alert.id, eventId: alert.eventId, alertType: alert.alertType, severity: alert.severity, message: alert.message,
            cameraName: alert.cameraName, location: place?.camera.location, zoneName: zoneId.flatMap { place?.zones[$0] },
            siteName: place?.siteName ?? "", occurredAt: event?.startedAt ?? alert.createdAt, timeZone: place?.timeZone ?? .gmt,
            riskScore: event?.riskScore, riskLevel: event?.riskLevel,
            confidence: alert.metadata.objectValue?["confidence"]?.numberValue ?? event?.confidence,
            eventURL: linkBase + eventPath, repeatCount: alert.repeatCount)
        return OutgoingNotification(
            kind: "alert", notice: notice, alert: LiveFeed.json(alert), snapshot: snapshot,
            snapshotURL: frame.map { "\(linkBase)/api/v1\(eventPath)/images/\($0.role.rawValue)" })
    }

    /// What the channel test sends: a notice that says it is a test, with the time of sending.
    static func test(linkBase: String, at time: Date) -> OutgoingNotification {
        let notice = AlertNotice(
            alertId: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, eventId: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!,
            alertType: "test", severity: .low, message: "This is a test notification from Vigil: the channel works.",
            cameraName: "Vigil", location: nil, zoneName: nil, siteName: "Vigil", occurredAt: time, timeZone: .gmt, riskScore: nil,
            riskLevel: nil, confidence: nil, eventURL: linkBase, repeatCount: 0)
        return OutgoingNotification(kind: "test", notice: notice,
                                    alert: .object(["alert_type": .string("test"), "message": .string(notice.message)]),
                                    snapshot: nil, snapshotURL: nil)
    }
}
