import Foundation
import Hummingbird
import Logging
import VigilCore
import PostgresNIO
import VigilStore

/// `/api/v1/cameras/{camera}/zones`: regions of a camera's view.
struct CameraZonesController {
    let database: Database
    let ids: UUIDv7Generator

    func addRoutes(to group: RouterGroup<VigilRequestContext>) {
        group.get("/cameras/{camera}/zones", use: list)
        group.post("/cameras/{camera}/zones", use: create)
        group.get("/cameras/{camera}/zones/{id}", use: get)
        group.patch("/cameras/{camera}/zones/{id}", use: update)
        group.delete("/cameras/{camera}/zones/{id}", use: delete)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<CameraZone>> {
        let query = QueryReader(request)
        let page = try query.page()
        let enabled = try query.bool("enabled")
        let result = try await database.read { connection in
            let camera = try await Self.camera(context, on: connection)
            return try await CameraZoneRepository(connection, logger: context.logger).list(cameraId: camera.id, enabled: enabled, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CameraZone> {
        let id = try context.uuidParameter("id")
        let zone = try await database.read { connection in
            let camera = try await Self.camera(context, on: connection)
            guard let zone = try await CameraZoneRepository(connection, logger: context.logger).find(id: id, cameraId: camera.id) else {
                throw APIError.notFound("zone", id.uuidString)
            }
            return zone
        }
        return JSONResponse(zone)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CameraZone> {
        let input = try await request.decodeInput(CameraZoneInput.self, context: context)
        let id = ids.next()
        let zone = try await database.transaction { connection in
            let camera = try await Self.camera(context, on: connection)
            return try await CameraZoneRepository(connection, logger: context.logger).create(id: id, cameraId: camera.id, input)
        }
        return JSONResponse(zone, status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CameraZone> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let zone = try await database.transaction { connection in
            let camera = try await Self.camera(context, on: connection)
            let zones = CameraZoneRepository(connection, logger: context.logger)
            guard let current = try await zones.find(id: id, cameraId: camera.id, forUpdate: true) else {
                throw APIError.notFound("zone", id.uuidString)
            }
            let input = try InputDecoding.patch(CameraZoneInput(current), with: .object(patch))
            guard let updated = try await zones.update(id: id, cameraId: camera.id, input) else {
                throw APIError.notFound("zone", id.uuidString)
            }
            return updated
        }
        return JSONResponse(zone)
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction { connection in
            let camera = try await Self.camera(context, on: connection)
            guard try await CameraZoneRepository(connection, logger: context.logger).delete(id: id, cameraId: camera.id) else {
                throw APIError.notFound("zone", id.uuidString)
            }
        }
        return Response(status: .noContent)
    }

    private static func camera(_ context: VigilRequestContext, on connection: PostgresConnection) async throws -> Camera {
        let reference = context.cameraReference
        guard let camera = try await CameraRepository(connection, logger: context.logger).find(reference: reference) else {
            throw APIError.notFound("camera", reference)
        }
        return camera
    }
}
