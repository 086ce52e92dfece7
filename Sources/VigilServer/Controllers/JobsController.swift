import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/jobs`: the background work queue (seed 001), to watch it and to cancel or retry a job.
struct JobsController {
    let database: Database
    let audit: AuditTrail
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/jobs", .permission(.systemRead), use: list)
        routes.get("/jobs/{id}", .permission(.systemRead), use: get)
        routes.post("/jobs/{id}/cancel", .permission(.systemConfigure), use: cancel)
        routes.post("/jobs/{id}/retry", .permission(.systemConfigure), use: retry)
    }

    /// A job with its attempts, status changes and log.
    struct Detail: Encodable, Sendable {
        var job: Job
        var attempts: [JobAttempt]
        var transitions: [JobTransition]
        var logs: [JobLogLine]

        enum CodingKeys: String, CodingKey {
            case attempts, transitions, logs
        }

        func encode(to encoder: any Encoder) throws {
            try job.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(transitions, forKey: .transitions)
            try container.encode(logs, forKey: .logs)
        }
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Job>> {
        let query = QueryReader(request)
        let page = try query.page()
        let status = try query.enumValue("status", as: JobStatus.self)
        let type = query.string("job_type")
        let result = try await database.read(for: context) {
            try await JobRepository($0, logger: context.logger).list(status: status, type: type, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let detail = try await database.read(for: context) { connection -> Detail? in
            let jobs = JobRepository(connection, logger: context.logger)
            guard let job = try await jobs.find(id: id) else { return nil }
            return Detail(job: job, attempts: try await jobs.attempts(of: id), transitions: try await jobs.transitions(of: id),
                          logs: try await jobs.logs(of: id))
        }
        guard let detail else { throw APIError.notFound("job", id.uuidString.lowercased()) }
        return JSONResponse(detail)
    }

    /// Cancels a queued or running job; a running one stops at its worker's next heartbeat.
    @Sendable func cancel(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let actor = context.principal?.actor
        let time = now()
        let previous = try await database.transaction(for: context) { connection -> JobStatus? in
            let previous = try await JobRepository(connection, logger: context.logger).cancel(id: id, now: time, by: actor)
            if let previous, !previous.isFinal {
                try await audit.record(AuditTrail.change("job_cancelled", "job", id.uuidString.lowercased(),
                                                         details: .object(["was": .string(previous.rawValue)])),
                                       context: context, on: connection)
            }
            return previous
        }
        guard let previous else { throw APIError.notFound("job", id.uuidString.lowercased()) }
        guard !previous.isFinal else {
            throw APIError(.conflict, code: "job_finished", message: "The job has already ended (\(previous.rawValue)); it cannot be cancelled.")
        }
        return try await get(request, context: context)
    }

    /// Queues a failed or cancelled job again, with one more attempt.
    @Sendable func retry(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let actor = context.principal?.actor
        let time = now()
        let previous = try await database.transaction(for: context) { connection -> JobStatus? in
            let previous = try await JobRepository(connection, logger: context.logger).retry(id: id, now: time, by: actor)
            if previous == .failed || previous == .cancelled {
                try await audit.record(AuditTrail.change("job_retried", "job", id.uuidString.lowercased()), context: context, on: connection)
            }
            return previous
        }
        guard let previous else { throw APIError.notFound("job", id.uuidString.lowercased()) }
        guard previous == .failed || previous == .cancelled else {
            throw APIError(.conflict, code: "job_not_retryable",
                           message: "Only a failed or cancelled job can be retried; this one is \(previous.rawValue).")
        }
        return try await get(request, context: context)
    }
}
