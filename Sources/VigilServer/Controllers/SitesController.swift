import Foundation
import Hummingbird
import Logging
import VigilCore
import VigilStore

/// `/api/v1/sites`: the physical locations cameras belong to.
struct SitesController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/sites", .permission(.sitesRead), use: list)
        routes.post("/sites", .permission(.sitesWrite), use: create)
        routes.get("/sites/{id}", .permission(.sitesRead), use: get)
        routes.patch("/sites/{id}", .permission(.sitesWrite), use: update)
        routes.delete("/sites/{id}", .permission(.sitesDelete), use: delete)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Site>> {
        let query = QueryReader(request)
        let page = try query.page()
        let name = query.string("name")
        let result = try await database.read(for: context) { connection in
            try await SiteRepository(connection, logger: context.logger, visibleTo: context.visibleTo).list(nameContains: name, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Site> {
        let id = try context.uuidParameter("id")
        guard let site = try await database.read(for: context, { try await SiteRepository($0, logger: context.logger, visibleTo: context.visibleTo).find(id: id) }) else {
            throw APIError.notFound("site", id.uuidString)
        }
        return JSONResponse(site)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Site> {
        let input = try await request.decodeInput(SiteInput.self, context: context)
        let id = ids.next()
        let site = try await database.transaction(for: context) { connection in
            let site = try await SiteRepository(connection, logger: context.logger, visibleTo: context.visibleTo).create(id: id, input)
            try await audit.record(AuditTrail.change("site_created", "site", id.uuidString, details: try input.auditDetails()),
                                   context: context, on: connection)
            return site
        }
        return JSONResponse(site, status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Site> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let site = try await database.transaction(for: context) { connection in
            let sites = SiteRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let current = try await sites.find(id: id, forUpdate: true) else { throw APIError.notFound("site", id.uuidString) }
            let input = try InputDecoding.patch(SiteInput(current), with: .object(patch))
            guard let updated = try await sites.update(id: id, input) else { throw APIError.notFound("site", id.uuidString) }
            try await audit.record(AuditTrail.change("site_updated", "site", id.uuidString, details: .changedFields(patch)),
                                   context: context, on: connection)
            return updated
        }
        return JSONResponse(site)
    }

    /// Deletes the site with its DVRs, cameras and zones. The last site stays: cameras need one.
    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction(for: context) { connection in
            let sites = SiteRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard try await sites.find(id: id, forUpdate: true) != nil else { throw APIError.notFound("site", id.uuidString) }
            guard try await sites.countLockingAll() > 1 else {
                throw APIError(.conflict, code: "last_site", message: "The last site cannot be deleted; create another site first.")
            }
            _ = try await sites.delete(id: id)
            try await audit.record(AuditTrail.change("site_deleted", "site", id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }
}
