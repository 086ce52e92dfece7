import Foundation
import Hummingbird
import PostgresNIO
import VigilCore
import VigilStore

/// `/api/v1/alerts`: the alerts inbox and what people do with alerts.
struct AlertsController {
    let database: Database
    let audit: AuditTrail
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/alerts", .permission(.alertsRead), use: list)
        routes.post("/alerts/acknowledge", .permission(.eventsAcknowledge), use: acknowledgeMany)
        routes.get("/alerts/{id}", .permission(.alertsRead), use: get)
        routes.patch("/alerts/{id}", .permission(.eventsAcknowledge), use: update)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Alert>> {
        let query = QueryReader(request)
        let page = try query.page()
        var filter = AlertRepository.Filter()
        filter.statuses = try query.enumValues("status", as: AlertStatus.self)
        if query.string("active").map({ ["true", "1"].contains($0) }) == true {
            filter.statuses = AlertStatus.allCases.filter(\.isOpen)
        }
        filter.severities = try query.enumValues("severity", as: Severity.self)
        filter.cameraIds = try query.uuids("camera_id")
        filter.ruleId = try query.uuid("rule_id")
        filter.eventId = try query.uuid("event_id")
        filter.from = try query.date("from")
        filter.to = try query.date("to")
        let chosen = filter
        let result = try await database.read(for: context) { try await AlertRepository($0, logger: context.logger).list(chosen, page: page) }
        return JSONResponse(ListBody(result))
    }

    /// An alert with its event and every delivery attempt.
    struct Detail: Encodable, Sendable {
        var alert: Alert
        var event: Event?
        var deliveries: [AlertDelivery]

        enum CodingKeys: String, CodingKey {
            case event, deliveries
        }

        func encode(to encoder: any Encoder) throws {
            try alert.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(event, forKey: .event)
            try container.encode(deliveries, forKey: .deliveries)
        }
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let detail = try await database.read(for: context) { connection -> Detail? in
            let alerts = AlertRepository(connection, logger: context.logger)
            guard let alert = try await alerts.find(id: id) else { return nil }
            let event = try await EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo).find(id: alert.eventId)
            return Detail(alert: alert, event: event, deliveries: try await alerts.deliveries(alertId: id))
        }
        guard let detail else { throw APIError.notFound("alert", id.uuidString.lowercased()) }
        return JSONResponse(detail)
    }

    /// Acknowledge, resolve or dismiss, naming the `version_id` read: a change someone else made
    /// in between is a 409, never silently overwritten.
    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Alert> {
        let id = try context.uuidParameter("id")
        let input = try await request.decodeInput(AlertTransitionInput.self, context: context)
        let userId = context.userId
        let time = now()
        let outcome = try await database.transaction(for: context) { connection in
            let alerts = AlertRepository(connection, logger: context.logger)
            let outcome = try await alerts.apply(input.action, to: id, expectedVersion: input.versionId, by: userId, at: time)
            if case .done(let alert) = outcome {
                try await record(input.action, alert, context: context, on: connection)
                try await alerts.announce("alert.updated", id: id)
            }
            return outcome
        }
        switch outcome {
        case .done(let alert):
            return JSONResponse(alert)
        case .notFound:
            throw APIError.notFound("alert", id.uuidString.lowercased())
        case .versionConflict(let current):
            throw APIError(.conflict, code: "alert_version_conflict",
                           message: "The alert changed since version \(input.versionId) was read (it is now version \(current.versionId), "
                               + "\(current.status.rawValue)); read it again and retry.")
        case .notApplicable(let current):
            throw APIError(.conflict, code: "alert_transition_invalid",
                           message: "An alert that is \(current.status.rawValue) cannot be \(input.action.resultingStatus.rawValue).")
        }
    }

    struct BulkResult: Encodable, Sendable {
        struct Skipped: Encodable, Sendable {
            var id: UUID
            var reason: String
        }

        var acknowledged: [Alert]
        var skipped: [Skipped]
    }

    /// Acknowledges every listed alert that is still waiting for someone; says why the others were left.
    @Sendable func acknowledgeMany(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<BulkResult> {
        let input = try await request.decodeInput(BulkAcknowledgeInput.self, context: context)
        let userId = context.userId
        let time = now()
        let result = try await database.transaction(for: context) { connection in
            let alerts = AlertRepository(connection, logger: context.logger)
            var result = BulkResult(acknowledged: [], skipped: [])
            for id in Array(Set(input.alertIds)).sorted(by: { $0.uuidString < $1.uuidString }) {
                switch try await alerts.apply(.acknowledge, to: id, expectedVersion: nil, by: userId, at: time) {
                case .done(let alert):
                    try await record(.acknowledge, alert, context: context, on: connection)
                    try await alerts.announce("alert.updated", id: id)
                    result.acknowledged.append(alert)
                case .notFound:
                    result.skipped.append(.init(id: id, reason: "no such alert"))
                case .notApplicable(let alert), .versionConflict(let alert):
                    result.skipped.append(.init(id: id, reason: "already \(alert.status.rawValue)"))
                }
            }
            return result
        }
        return JSONResponse(result)
    }

    private func record(_ action: AlertAction, _ alert: Alert, context: VigilRequestContext, on connection: PostgresConnection) async throws {
        try await audit.record(AuditTrail.change("alert_\(action.resultingStatus.rawValue)", "alert", alert.id.uuidString.lowercased(),
                                                 details: .object(["status": .string(alert.status.rawValue),
                                                                   "version_id": .number(Double(alert.versionId))])),
                               context: context, on: connection)
    }
}
