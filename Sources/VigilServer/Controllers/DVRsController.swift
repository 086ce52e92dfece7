import Foundation
import Hummingbird
import Logging
import VigilCore
import PostgresNIO
import VigilStore

/// `/api/v1/dvrs`: recorders that cameras may hang off.
struct DVRsController {
    let database: Database
    let ids: UUIDv7Generator
    let secrets: SecretBox
    let audit: AuditTrail

    /// DVRs are site infrastructure (seed 002 §3): the `sites` permissions govern them.
    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/dvrs", .permission(.sitesRead), use: list)
        routes.post("/dvrs", .permission(.sitesWrite), use: create)
        routes.get("/dvrs/{id}", .permission(.sitesRead), use: get)
        routes.patch("/dvrs/{id}", .permission(.sitesWrite), use: update)
        routes.delete("/dvrs/{id}", .permission(.sitesDelete), use: delete)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<DVR>> {
        let query = QueryReader(request)
        let page = try query.page()
        let filter = DVRRepository.Filter(siteId: try query.uuid("site_id"),
                                          status: try query.enumValue("status", as: DeviceStatus.self))
        let result = try await database.read(for: context) { try await DVRRepository($0, logger: context.logger, visibleTo: context.visibleTo).list(filter, page: page) }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<DVR> {
        let id = try context.uuidParameter("id")
        guard let dvr = try await database.read(for: context, { try await DVRRepository($0, logger: context.logger, visibleTo: context.visibleTo).find(id: id) }) else {
            throw APIError.notFound("dvr", id.uuidString)
        }
        return JSONResponse(dvr)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<DVR> {
        let input = try await request.decodeInput(DVRInput.self, context: context)
        let id = ids.next()
        let credentials = try seal(input)
        let dvr = try await database.transaction(for: context) { connection in
            let siteId = try await SiteResolution.siteId(input.siteId, on: connection, logger: context.logger, visibleTo: context.visibleTo)
            let dvr = try await DVRRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
                .create(id: id, siteId: siteId, input, credentials: credentials)
            try await audit.record(AuditTrail.change("dvr_created", "dvr", id.uuidString, details: try input.auditDetails()),
                                   context: context, on: connection)
            return dvr
        }
        return JSONResponse(dvr, status: .created)
    }

    /// Moving a DVR to another site moves its cameras with it (the schema cascades the site).
    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<DVR> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let dvr = try await database.transaction(for: context) { connection in
            let dvrs = DVRRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let current = try await dvrs.find(id: id, forUpdate: true) else { throw APIError.notFound("dvr", id.uuidString) }
            let input = try InputDecoding.patch(DVRInput(current), with: .object(patch))
            let siteId = try await SiteResolution.siteId(input.siteId, on: connection, logger: context.logger, visibleTo: context.visibleTo)
            // Credentials change only when the patch names them; they are never read back to merge.
            var credentials: DVRRepository.SealedCredentials?
            if !DVRInput.credentialFields.isDisjoint(with: patch.keys) {
                var stored = try await dvrs.sealedCredentials(id: id) ?? .init(username: nil, password: nil)
                if patch.keys.contains("username") { stored.username = try input.username.map(secrets.seal) }
                if patch.keys.contains("password") { stored.password = try input.password.map(secrets.seal) }
                credentials = stored
            }
            guard let updated = try await dvrs.update(id: id, siteId: siteId, input, credentials: credentials) else {
                throw APIError.notFound("dvr", id.uuidString)
            }
            try await audit.record(AuditTrail.change("dvr_updated", "dvr", id.uuidString, details: .changedFields(patch)),
                                   context: context, on: connection)
            return updated
        }
        return JSONResponse(dvr)
    }

    private func seal(_ input: DVRInput) throws -> DVRRepository.SealedCredentials {
        .init(username: try input.username.map(secrets.seal), password: try input.password.map(secrets.seal))
    }

    /// Deletes the DVR and the cameras on it, as seed 002 cascades.
    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction(for: context) { connection in
            guard try await DVRRepository(connection, logger: context.logger, visibleTo: context.visibleTo).delete(id: id) else {
                throw APIError.notFound("dvr", id.uuidString)
            }
            try await audit.record(AuditTrail.change("dvr_deleted", "dvr", id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }
}

/// The site a new or moved device belongs to: the one named, which must exist, or the default site.
enum SiteResolution {
    static func siteId(_ requested: UUID?, on connection: PostgresConnection, logger: Logger, visibleTo: UUID?) async throws -> UUID {
        let sites = SiteRepository(connection, logger: logger, visibleTo: visibleTo)
        if let requested {
            guard try await sites.find(id: requested) != nil else {
                throw APIError(.unprocessableContent, code: "site_not_found", message: "site_id names no existing site.",
                               details: [ValidationProblem(field: "site_id", message: "no site \(requested.uuidString)")])
            }
            return requested
        }
        guard let site = try await sites.defaultSite() else {
            throw APIError(.unprocessableContent, code: "site_not_found", message: "No site exists; create one first.")
        }
        return site.id
    }

    /// The site of something that may also belong to every site (an alert rule, a channel): the
    /// one asked for, if the caller sees it; when none is asked for, every site (`nil`) for a
    /// caller who sees them all, else the caller's only site. Someone who sees some sites never
    /// makes something for every site.
    static func scope(_ requested: UUID?, context: VigilRequestContext, on connection: PostgresConnection) async throws -> UUID? {
        let visibleTo = context.visibleTo
        if let requested {
            return try await siteId(requested, on: connection, logger: context.logger, visibleTo: visibleTo)
        }
        guard let visibleTo else { return nil }
        let sites = try await SiteRepository(connection, logger: context.logger, visibleTo: visibleTo)
            .list(nameContains: nil, page: PageRequest(limit: 2)).items
        guard sites.count == 1 else {
            throw APIError.validation(field: "site_id", "is required: you manage \(sites.isEmpty ? "no site" : "several sites"), "
                                        + "and only someone who sees every site makes one for all of them")
        }
        return sites[0].id
    }
}
