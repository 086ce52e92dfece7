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
    let audit: AuditTrail

    /// Zones are part of a camera's configuration: the `cameras` permissions govern them.
    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/cameras/{camera}/zones", .permission(.camerasRead), use: list)
        routes.post("/cameras/{camera}/zones", .permission(.camerasWrite), use: create)
        routes.get("/cameras/{camera}/zones/{id}", .permission(.camerasRead), use: get)
        routes.patch("/cameras/{camera}/zones/{id}", .permission(.camerasWrite), use: update)
        routes.delete("/cameras/{camera}/zones/{id}", .permission(.camerasWrite), use: delete)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<CameraZone>> {
        let query = QueryReader(request)
        let page = try query.page()
        let enabled = try query.bool("enabled")
        let result = try await database.read(for: context) { connection in
            let camera = try await Self.camera(context, on: connection)
            return try await CameraZoneRepository(connection, logger: context.logger).list(cameraId: camera.id, enabled: enabled, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CameraZone> {
        let id = try context.uuidParameter("id")
        let zone = try await database.read(for: context) { connection in
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
        let zone = try await database.transaction(for: context) { connection in
            let camera = try await Self.camera(context, on: connection)
            let zone = try await CameraZoneRepository(connection, logger: context.logger).create(id: id, cameraId: camera.id, input)
            try await audit.record(AuditTrail.change("zone_created", "zone", id.uuidString, details: try input.auditDetails()),
                                   context: context, on: connection)
            return zone
        }
        return JSONResponse(zone, status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<CameraZone> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let zone = try await database.transaction(for: context) { connection in
            let camera = try await Self.camera(context, on: connection)
            let zones = CameraZoneRepository(connection, logger: context.logger)
            guard let current = try await zones.find(id: id, cameraId: camera.id, forUpdate: true) else {
                throw APIError.notFound("zone", id.uuidString)
            }
            let input = try InputDecoding.patch(CameraZoneInput(current), with: .object(patch))
            guard let updated = try await zones.update(id: id, cameraId: camera.id, input) else {
                throw APIError.notFound("zone", id.uuidString)
            }
            try await audit.record(AuditTrail.change("zone_updated", "zone", id.uuidString, details: .changedFields(patch)),
                                   context: context, on: connection)
            return updated
        }
        return JSONResponse(zone)
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        try await database.transaction(for: context) { connection in
            let camera = try await Self.camera(context, on: connection)
            guard try await CameraZoneRepository(connection, logger: context.logger).delete(id: id, cameraId: camera.id) else {
                throw APIError.notFound("zone", id.uuidString)
            }
            try await audit.record(AuditTrail.change("zone_deleted", "zone", id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    private static func camera(_ context: VigilRequestContext, on connection: PostgresConnection) async throws -> Camera {
        let reference = context.cameraReference
        guard let camera = try await CameraRepository(connection, logger: context.logger, visibleTo: context.visibleTo).find(reference: reference) else {
            throw APIError.notFound("camera", reference)
        }
        return camera
    }
}
