import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/api-keys`: keys for machines (integrations, scripts, DeepStack clients). A key is in
/// the answer to its creation and nowhere else: Vigil keeps its hash. Its role must be one the
/// caller could give a user (``RoleGrant``); a key sees every site, so only a caller who does may
/// make or revoke one.
struct APIKeysController {
    let database: Database
    let ids: UUIDv7Generator
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/api-keys", .permission(.usersRead), use: list)
        routes.post("/api-keys", .permission(.usersWrite), use: create)
        routes.delete("/api-keys/{id}", .permission(.usersWrite), use: revoke)
    }

    /// Every key for those who see every site; a caller limited to some sites sees only keys it
    /// made itself, since the others reach sites it does not see.
    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<APIKey>> {
        let createdBy = context.visibleTo
        let keys = try await database.read(for: context) { try await APIKeyRepository($0, logger: context.logger).list(createdBy: createdBy) }
        return JSONResponse(ListBody(items: keys, nextCursor: nil))
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<WithSecret<APIKey>> {
        let principal = try requireEverySite(context)
        let input = try await request.decodeInput(APIKeyInput.self, context: context)
        try await database.read(for: context) { try await RoleGrant.check(role: input.role, context: context, on: $0) }
        let expiresAt = input.expiresInDays.map { now().addingTimeInterval(Double($0) * 86_400) }
        do {
            let made = try await Accounts.createAPIKey(name: input.name, roleName: input.role, expiresAt: expiresAt, actor: principal.actor,
                                                       createdBy: principal.kind == .user ? principal.id : nil, database: database,
                                                       ids: ids, logger: context.logger)
            return JSONResponse(WithSecret(resource: made.key, field: "key", secret: made.text), status: .created)
        } catch let problems as Accounts.Problems {
            throw APIError.validation(problems.report)
        }
    }

    @Sendable func revoke(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<APIKey> {
        let principal = try requireEverySite(context)
        let id = try context.uuidParameter("id")
        guard let key = try await Accounts.revokeAPIKey(reference: id.uuidString, actor: principal.actor, database: database,
                                                        ids: ids, logger: context.logger) else {
            throw APIError.notFound("api_key", id.uuidString.lowercased())
        }
        return JSONResponse(key)
    }

    private func requireEverySite(_ context: VigilRequestContext) throws -> Principal {
        guard let principal = context.principal else { throw AuthenticationMiddleware.invalidSession }
        guard principal.siteScope == .allSites else {
            throw APIError(.forbidden, code: "site_restricted",
                           message: "An API key reaches every site; only someone who can see every site may make or revoke one.")
        }
        return principal
    }
}
