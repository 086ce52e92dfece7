import Foundation
import Hummingbird
import Logging
import VigilStore

/// Liveness and readiness, for process supervisors and load balancers.
struct HealthController {
    let database: Database
    let migrator: Migrator
    /// How long readiness waits for the database before calling it unreachable.
    let databaseTimeout: Duration

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/health/live", .open, use: live)
        routes.get("/health/ready", .open, use: ready)
    }

    struct Status: Codable, Sendable {
        var status: String
        var checks: [String: String]?
    }

    @Sendable func live(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Status> {
        JSONResponse(Status(status: "alive"))
    }

    /// Ready when the database answers and its schema is current; 503 otherwise, saying which check failed.
    @Sendable func ready(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Status> {
        var checks: [String: String] = [:]
        do {
            let status = try await withTimeout(databaseTimeout) { try await migrator.status(database) }
            checks["database"] = "ok"
            checks["migrations"] = status.isCurrent
                ? "ok" : "pending: \(status.pending.map(\.label).joined(separator: ", "))"
        } catch let error as MigrationError {
            checks["database"] = "ok"
            checks["migrations"] = error.description
        } catch {
            context.logger.warning("readiness: database check failed", metadata: ["error": .error(error)])
            checks["database"] = error is TimeoutError ? "unreachable: no answer in time" : "unreachable"
            checks["migrations"] = "unknown"
        }
        let ready = checks.values.allSatisfy { $0 == "ok" }
        return JSONResponse(Status(status: ready ? "ready" : "not_ready", checks: checks),
                            status: ready ? .ok : .serviceUnavailable)
    }
}

struct TimeoutError: Error {}

/// Runs `body`, cancelling it and throwing ``TimeoutError`` when it takes longer than `limit`.
func withTimeout<Result: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
