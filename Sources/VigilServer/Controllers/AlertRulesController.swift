import Foundation
import Hummingbird
import PostgresNIO
import VigilCore
import VigilStore

/// `/api/v1/alert-rules`: what raises alerts, and a dry run against recent events.
struct AlertRulesController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/alert-rules", .permission(.alertsRead), use: list)
        routes.post("/alert-rules", .permission(.alertsConfigure), use: create)
        routes.get("/alert-rules/{id}", .permission(.alertsRead), use: get)
        routes.patch("/alert-rules/{id}", .permission(.alertsConfigure), use: update)
        routes.delete("/alert-rules/{id}", .permission(.alertsConfigure), use: delete)
        routes.post("/alert-rules/{id}/test", .permission(.alertsRead), use: test)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<AlertRule>> {
        let enabled = try QueryReader(request).bool("enabled")
        let rules = try await database.read(for: context) { try await AlertRuleRepository($0, logger: context.logger).list() }
        return JSONResponse(ListBody(items: rules.filter { enabled == nil || $0.enabled == enabled }, nextCursor: nil))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<AlertRule> {
        let id = try context.uuidParameter("id")
        let rule = try await database.read(for: context) { try await AlertRuleRepository($0, logger: context.logger).find(id: id) }
        guard let rule else { throw APIError.notFound("alert_rule", id.uuidString.lowercased()) }
        return JSONResponse(rule)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<AlertRule> {
        let sent = try await request.decodeInput(AlertRuleInput.self, context: context)
        let id = ids.next()
        let userId = context.userId
        let rule = try await database.transaction(for: context) { connection in
            let rules = AlertRuleRepository(connection, logger: context.logger)
            var input = sent
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            try await Self.checkReferences(input, rules)
            let rule = try await rules.create(AlertRule(id: id, name: input.name, createdBy: userId).replacing(with: input))
            try await audit.record(AuditTrail.change("alert_rule_created", "alert_rule", id.uuidString.lowercased(),
                                                     details: try input.auditDetails()), context: context, on: connection)
            return rule
        }
        return JSONResponse(rule, status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<AlertRule> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let rule = try await database.transaction(for: context) { connection in
            let rules = AlertRuleRepository(connection, logger: context.logger)
            guard let current = try await rules.find(id: id, forUpdate: true) else {
                throw APIError.notFound("alert_rule", id.uuidString.lowercased())
            }
            var input = try InputDecoding.patch(AlertRuleInput(current), with: .object(patch))
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            try await Self.checkReferences(input, rules)
            guard let updated = try await rules.update(current.replacing(with: input)) else {
                throw APIError.notFound("alert_rule", id.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("alert_rule_updated", "alert_rule", id.uuidString.lowercased(),
                                                     details: .changedFields(patch)), context: context, on: connection)
            return updated
        }
        return JSONResponse(rule)
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction(for: context) { connection in
            let rules = AlertRuleRepository(connection, logger: context.logger)
            guard let rule = try await rules.find(id: id, forUpdate: true) else { throw APIError.notFound("alert_rule", id.uuidString.lowercased()) }
            guard rule.builtin == nil else {
                throw APIError(.conflict, code: "alert_rule_builtin",
                               message: "'\(rule.name)' comes with Vigil and cannot be deleted; set enabled to false to turn it off.")
            }
            _ = try await rules.delete(id: id)
            try await audit.record(AuditTrail.change("alert_rule_deleted", "alert_rule", id.uuidString.lowercased()),
                                   context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    /// Cameras, zones and channels a rule names must exist (and be visible to the caller).
    private static func checkReferences(_ input: AlertRuleInput, _ rules: AlertRuleRepository) async throws {
        let missing = try await rules.missingReferences(input)
        guard !missing.isEmpty else { return }
        var report = ValidationReport()
        for (field, ids) in missing.sorted(by: { $0.key < $1.key }) {
            report.add(field, "names nothing that exists: \(ids.map { $0.uuidString.lowercased() }.joined(separator: ", "))")
        }
        throw APIError.validation(report)
    }

    /// One recent event judged by the rule.
    struct TrialResult: Encodable, Sendable {
        var eventId: UUID
        var cameraName: String
        var eventType: EventType
        var startedAt: Date
        var riskScore: Int?
        var matches: Bool
        var reasons: [String]
        var severity: Severity?
        var message: String?
        var dedupKey: String?

        enum CodingKeys: String, CodingKey {
            case matches, reasons, severity, message
            case eventId = "event_id", cameraName = "camera_name", eventType = "event_type", startedAt = "started_at"
            case riskScore = "risk_score", dedupKey = "dedup_key"
        }
    }

    struct Trial: Encodable, Sendable {
        var ruleId: UUID
        var evaluated: Int
        var matched: Int
        var results: [TrialResult]

        enum CodingKeys: String, CodingKey {
            case evaluated, matched, results
            case ruleId = "rule_id"
        }
    }

    /// Dry run: the rule (as stored, or with the body's changes applied) against the caller's most
    /// recent events (`limit`, default 50, within `hours`, default 168), saying for each whether it
    /// would match and, if not, every condition that failed. Nothing is raised.
    @Sendable func test(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Trial> {
        let id = try context.uuidParameter("id")
        let query = QueryReader(request)
        let limit = try query.int("limit", in: 1...200) ?? 50
        let hours = try query.int("hours", in: 1...24 * 90) ?? 168
        let patch = try await request.optionalJSONObjectBody(context: context)
        let time = now()
        let trial = try await database.read(for: context) { connection in
            guard var rule = try await AlertRuleRepository(connection, logger: context.logger).find(id: id) else {
                throw APIError.notFound("alert_rule", id.uuidString.lowercased())
            }
            if let patch, !patch.isEmpty {
                rule = rule.replacing(with: try InputDecoding.patch(AlertRuleInput(rule), with: .object(patch)))
            }
            var filter = EventRepository.Filter()
            filter.from = time.addingTimeInterval(-Double(hours) * 3600)
            let events = try await EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
                .list(filter, page: PageRequest(limit: limit)).items
            let compiled = RuleEvaluator.Compiled(rule)
            let evaluator = RuleEvaluator()
            var subjects = AlertSubjects(connection, logger: context.logger)
            var results: [TrialResult] = []
            for event in events {
                guard let subject = try await subjects.subject(of: event) else { continue }
                var result = TrialResult(eventId: event.id, cameraName: event.cameraName, eventType: event.eventType, startedAt: event.startedAt,
                                         riskScore: event.riskScore, matches: false, reasons: [])
                switch evaluator.evaluate(compiled, on: subject) {
                case .match(let match):
                    result.matches = true
                    result.severity = match.severity
                    result.message = match.message
                    result.dedupKey = match.dedupKey
                case .noMatch(let reasons):
                    result.reasons = reasons
                }
                results.append(result)
            }
            return Trial(ruleId: rule.id, evaluated: results.count, matched: results.filter(\.matches).count, results: results)
        }
        return JSONResponse(trial)
    }
}
