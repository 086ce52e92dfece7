import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `GET /api/v1/audit-logs`: who changed what, newest first.
struct AuditLogsController {
    let database: Database

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/audit-logs", .permission(.auditRead), use: list)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<AuditRepository.Row>> {
        let query = QueryReader(request)
        let page = try query.page()
        let filter = AuditRepository.Filter(
            actor: query.string("actor"), action: query.string("action"), resourceType: query.string("resource_type"),
            resourceId: query.string("resource_id"), from: try query.date("from"), until: try query.date("until"))
        let result = try await database.read(for: context) {
            try await AuditRepository($0, logger: context.logger).list(filter, before: page.after, limit: page.limit)
        }
        return JSONResponse(ListBody(result))
    }
}
