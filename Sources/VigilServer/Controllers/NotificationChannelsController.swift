import AsyncHTTPClient
import Foundation
import Hummingbird
import PostgresNIO
import VigilCore
import VigilStore

/// `/api/v1/notification-channels`: where alerts are sent. Credentials are write-only: sealed
/// with the secret key on the way in, never returned.
struct NotificationChannelsController {
    let database: Database
    let ids: UUIDv7Generator
    let secrets: SecretBox
    let audit: AuditTrail
    let now: @Sendable () -> Date
    let linkBase: String
    var client: HTTPClient = Outbound.client

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/notification-channels", .permission(.alertsRead), use: list)
        routes.post("/notification-channels", .permission(.alertsConfigure), use: create)
        routes.get("/notification-channels/{id}", .permission(.alertsRead), use: get)
        routes.patch("/notification-channels/{id}", .permission(.alertsConfigure), use: update)
        routes.delete("/notification-channels/{id}", .permission(.alertsConfigure), use: delete)
        routes.post("/notification-channels/{id}/test", .permission(.alertsConfigure), use: test)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<NotificationChannel>> {
        let channels = try await database.read(for: context) { try await NotificationChannelRepository($0, logger: context.logger).list() }
        return JSONResponse(ListBody(items: channels.map { Self.shown($0, to: context) }, nextCursor: nil))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<NotificationChannel> {
        let id = try context.uuidParameter("id")
        let channel = try await database.read(for: context) { try await NotificationChannelRepository($0, logger: context.logger).find(id: id) }
        guard let channel else { throw APIError.notFound("notification_channel", id.uuidString.lowercased()) }
        return JSONResponse(Self.shown(channel, to: context))
    }

    /// A channel as the caller may see it: whole (headers redacted) for those who may configure
    /// alerts, without the webhook's address for those who may only read them.
    static func shown(_ channel: NotificationChannel, to context: VigilRequestContext) -> NotificationChannel {
        context.principal?.allows(.alertsConfigure) == true ? channel.redacted() : channel.redactedForReaders()
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<NotificationChannel> {
        let sent = try await request.decodeInput(NotificationChannelInput.self, context: context)
        try requireCredential(sent, stored: false)
        let sealed = try sent.credential.map { try secrets.seal($0) }
        let id = ids.next()
        let userId = context.userId
        let channel = try await database.transaction(for: context) { connection in
            var input = sent
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            let channel = try await NotificationChannelRepository(connection, logger: context.logger)
                .create(id: id, input, sealedCredential: sealed, createdBy: userId)
            try await audit.record(AuditTrail.change("notification_channel_created", "notification_channel", id.uuidString.lowercased(),
                                                     details: Self.auditDetails(input)), context: context, on: connection)
            return channel
        }
        return JSONResponse(channel.redacted(), status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<NotificationChannel> {
        let id = try context.uuidParameter("id")
        var patch = try await request.jsonObjectBody(context: context)
        // The stored credential is not part of what a client read, so it is not patched: a given one replaces it.
        let credential = patch.removeValue(forKey: "credential")
        let changes = patch
        let channel = try await database.transaction(for: context) { connection in
            let channels = NotificationChannelRepository(connection, logger: context.logger)
            guard let current = try await channels.find(id: id, forUpdate: true) else {
                throw APIError.notFound("notification_channel", id.uuidString.lowercased())
            }
            var base = NotificationChannelInput(name: current.name, channelType: current.channelType, config: current.config,
                                                isActive: current.isActive, siteId: current.siteId)
            base.config = NotificationChannel.redactingHeaders(current.config)
            var input = try InputDecoding.patch(base, with: .object(changes))
            input.config = input.config.map { NotificationChannel.restoringHeaders($0, from: current.config) }
            if let credential {
                guard case .string(let text) = credential else {
                    throw APIError.validation({ var report = ValidationReport(); report.add("credential", "must be text"); return report }())
                }
                input.credential = text
                let report = input.validate()
                if !report.isValid { throw APIError.validation(report) }
            }
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            try requireCredential(input, stored: current.hasCredential)
            if current.hasCredential, credential == nil,
               try Self.destination(current.channelType, current.config) != Self.destination(input.channelType, input.config ?? .object([:])) {
                throw APIError.validation(field: "credential",
                                          "is required again when the channel's destination changes, so a stored secret never goes somewhere new")
            }
            guard let updated = try await channels.update(id: id, input, sealedCredential: try input.credential.map { try secrets.seal($0) })
            else { throw APIError.notFound("notification_channel", id.uuidString.lowercased()) }
            var changed = changes
            if credential != nil { changed["credential"] = .string("replaced") }
            try await audit.record(AuditTrail.change("notification_channel_updated", "notification_channel", id.uuidString.lowercased(),
                                                     details: .changedFields(changed.mapValues(NotificationChannel.redactingHeaders))),
                                   context: context, on: connection)
            return updated
        }
        return JSONResponse(channel.redacted())
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction(for: context) { connection in
            guard try await NotificationChannelRepository(connection, logger: context.logger).delete(id: id) else {
                throw APIError.notFound("notification_channel", id.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("notification_channel_deleted", "notification_channel", id.uuidString.lowercased()),
                                   context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    struct TestResult: Encodable, Sendable {
        var status: String
        var responseCode: Int?
        var latencyMs: Int

        enum CodingKeys: String, CodingKey {
            case status
            case responseCode = "response_code", latencyMs = "latency_ms"
        }
    }

    /// Sends a test message now, through the channel's own settings and credential; audited as
    /// `notification_test`, failed or not. A refusal or an unreachable service is a 502 that says why.
    @Sendable func test(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<TestResult> {
        let id = try context.uuidParameter("id")
        let found = try await database.read(for: context) {
            try await NotificationChannelRepository($0, logger: context.logger).findForSending(id: id)
        }
        guard let (channel, sealed) = found else { throw APIError.notFound("notification_channel", id.uuidString.lowercased()) }
        var report = ValidationReport()
        guard let settings = ChannelSettings.parse(channel.channelType, channel.config, report: &report) else {
            throw APIError.validation(report)
        }
        let notifier = Notifiers.make(settings, credential: try sealed.map { try secrets.open($0) }, client: client, now: now)
        let clock = ContinuousClock()
        let started = clock.now
        var failure: NotificationFailure?
        var receipt: DeliveryReceipt?
        do {
            receipt = try await notifier.deliver(AlertNotifications.test(linkBase: linkBase, at: now()))
        } catch {
            failure = error as? NotificationFailure ?? NotificationFailure(message: "\(error)", retryable: true)
        }
        let latency = DeliverNotificationHandler.milliseconds(clock.now - started)
        var details: [String: JSONValue] = ["channel_type": .string(channel.channelType.rawValue), "latency_ms": .number(Double(latency))]
        if let failure { details["error"] = .string(failure.message) }
        var entry = AuditTrail.change("notification_test", "notification_channel", id.uuidString.lowercased(), details: .object(details))
        entry.status = failure == nil ? .success : .failure
        let audited = entry
        try await database.transaction(for: context) { connection in
            try await audit.record(audited, context: context, on: connection)
        }
        if let failure {
            throw APIError(.badGateway, code: "notification_test_failed", message: "The test message was not delivered: \(failure.message)")
        }
        return JSONResponse(TestResult(status: "sent", responseCode: receipt?.responseCode, latencyMs: latency))
    }

    private func requireCredential(_ input: NotificationChannelInput, stored: Bool) throws {
        var report = ValidationReport()
        guard let settings = ChannelSettings.parse(input.channelType, input.config ?? .object([:]), report: &report) else {
            throw APIError.validation(report)
        }
        if ChannelSettings.needsCredential(input.channelType, config: settings), input.credential == nil, !stored {
            report.add("credential", "is required: \(input.channelType.credentialName)")
            throw APIError.validation(report)
        }
    }

    /// Where a channel of this type and config delivers (``ChannelSettings/destination``).
    private static func destination(_ type: ChannelType, _ config: JSONValue) throws -> String {
        var report = ValidationReport()
        guard let settings = ChannelSettings.parse(type, config, report: &report) else { throw APIError.validation(report) }
        return settings.destination
    }

    private static func auditDetails(_ input: NotificationChannelInput) -> JSONValue {
        var details: [String: JSONValue] = ["name": .string(input.name), "channel_type": .string(input.channelType.rawValue),
                                            "config": NotificationChannel.redactingHeaders(input.config ?? .object([:]))]
        if input.credential != nil { details["credential"] = .string("set") }
        return .object(details)
    }
}
