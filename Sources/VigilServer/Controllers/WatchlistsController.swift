import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/watchlists`: lists of people to watch for (VIPs, a blacklist, suspects). A person on
/// an active blacklist or suspect list raises an event's risk and can be targeted by alert rules.
struct WatchlistsController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/watchlists", .permission(.personsRead), use: list)
        routes.post("/watchlists", .permission(.personsWrite), use: create)
        routes.get("/watchlists/{id}", .permission(.personsRead), use: get)
        routes.patch("/watchlists/{id}", .permission(.personsWrite), use: update)
        routes.delete("/watchlists/{id}", .permission(.personsDelete), use: delete)
        routes.get("/watchlists/{id}/entries", .permission(.personsRead), use: entries)
        routes.post("/watchlists/{id}/entries", .permission(.personsWrite), use: addEntry)
        routes.delete("/watchlists/{id}/entries/{personId}", .permission(.personsWrite), use: removeEntry)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Watchlist>> {
        let page = try QueryReader(request).page()
        let result = try await database.read(for: context) { try await PersonRepository($0, logger: context.logger).watchlists(page: page) }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Watchlist> {
        let id = try context.uuidParameter("id")
        guard let list = try await database.read(for: context, { try await PersonRepository($0, logger: context.logger).watchlist(id: id) }) else {
            throw APIError.notFound("watchlist", id.uuidString.lowercased())
        }
        return JSONResponse(list)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Watchlist> {
        let sent = try await request.decodeInput(WatchlistInput.self, context: context)
        let id = ids.next()
        let list = try await database.transaction(for: context) { connection in
            var input = sent
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            let list = try await PersonRepository(connection, logger: context.logger).createWatchlist(id: id, input, createdBy: context.userId)
            try await audit.record(AuditTrail.change("watchlist_created", "watchlist", id.uuidString, details: try input.auditDetails()),
                                   context: context, on: connection)
            return list
        }
        return JSONResponse(list, status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Watchlist> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let list = try await database.transaction(for: context) { connection in
            let persons = PersonRepository(connection, logger: context.logger)
            guard let current = try await persons.watchlist(id: id, forUpdate: true) else {
                throw APIError.notFound("watchlist", id.uuidString.lowercased())
            }
            var input = try InputDecoding.patch(WatchlistInput(current), with: .object(patch))
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            guard let updated = try await persons.updateWatchlist(id: id, input) else { throw APIError.notFound("watchlist", id.uuidString.lowercased()) }
            try await audit.record(AuditTrail.change("watchlist_updated", "watchlist", id.uuidString, details: .changedFields(patch)),
                                   context: context, on: connection)
            return updated
        }
        return JSONResponse(list)
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction(for: context) { connection in
            guard try await PersonRepository(connection, logger: context.logger).deleteWatchlist(id: id) else {
                throw APIError.notFound("watchlist", id.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("watchlist_deleted", "watchlist", id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    struct Entries: Encodable, Sendable {
        var items: [WatchlistEntry]
    }

    @Sendable func entries(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Entries> {
        let id = try context.uuidParameter("id")
        let entries = try await database.read(for: context) { connection in
            let persons = PersonRepository(connection, logger: context.logger)
            guard try await persons.watchlist(id: id) != nil else { throw APIError.notFound("watchlist", id.uuidString.lowercased()) }
            return try await persons.entries(of: id)
        }
        return JSONResponse(Entries(items: entries))
    }

    @Sendable func addEntry(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Entries> {
        let id = try context.uuidParameter("id")
        let input = try await request.decodeInput(WatchlistEntryInput.self, context: context)
        let entries = try await database.transaction(for: context) { connection in
            let persons = PersonRepository(connection, logger: context.logger)
            guard try await persons.watchlist(id: id, forUpdate: true) != nil else { throw APIError.notFound("watchlist", id.uuidString.lowercased()) }
            guard try await persons.find(id: input.personId) != nil else {
                throw APIError(.unprocessableContent, code: "person_not_found", message: "person_id names no existing person.")
            }
            try await persons.addEntry(to: id, input, addedBy: context.userId)
            try await audit.record(AuditTrail.change("watchlist_entry_added", "watchlist", id.uuidString, details: .object([
                "person_id": .string(input.personId.uuidString.lowercased()),
            ])), context: context, on: connection)
            return try await persons.entries(of: id)
        }
        return JSONResponse(Entries(items: entries), status: .created)
    }

    @Sendable func removeEntry(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        let personId = try context.uuidParameter("personId")
        try await database.transaction(for: context) { connection in
            let persons = PersonRepository(connection, logger: context.logger)
            // Locked as for any change: a list of every site is changed only by someone who sees every site.
            guard try await persons.watchlist(id: id, forUpdate: true) != nil else {
                throw APIError.notFound("watchlist", id.uuidString.lowercased())
            }
            guard try await persons.removeEntry(from: id, personId: personId) else {
                throw APIError.notFound("watchlist_entry", personId.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("watchlist_entry_removed", "watchlist", id.uuidString, details: .object([
                "person_id": .string(personId.uuidString.lowercased()),
            ])), context: context, on: connection)
        }
        return Response(status: .noContent)
    }
}
