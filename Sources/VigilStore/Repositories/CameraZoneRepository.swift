import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of camera zones.
public struct CameraZoneRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    private static let columns = """
        id, camera_id, name, zone_type, coordinates::text, shape, color, enabled, priority, created_at, updated_at
        """

    public func list(cameraId: UUID, enabled: Bool?, page: PageRequest) async throws -> Page<CameraZone> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM camera_zones
            WHERE camera_id = \(cameraId)
              AND (\(page.after)::uuid IS NULL OR id > \(page.after))
              AND (\(enabled)::bool IS NULL OR enabled = \(enabled))
            ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    public func find(id: UUID, cameraId: UUID, forUpdate: Bool = false) async throws -> CameraZone? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM camera_zones WHERE id = \(id) AND camera_id = \(cameraId)
            \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    public func create(id: UUID, cameraId: UUID, _ input: CameraZoneInput) async throws -> CameraZone {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO camera_zones (id, camera_id, name, zone_type, coordinates, shape, color, enabled, priority)
                VALUES (\(id), \(cameraId), \(input.name), \((input.zoneType ?? .other).rawValue),
                    \(try input.coordinates.jsonText())::jsonb, \(input.resolvedShape.rawValue),
                    \(input.color ?? CameraZoneInput.defaultColor), \(input.enabled ?? true), \(input.priority ?? 0))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    public func update(id: UUID, cameraId: UUID, _ input: CameraZoneInput) async throws -> CameraZone? {
        try await translatingErrors {
            let rows = try await connection.query("""
                UPDATE camera_zones SET name = \(input.name), zone_type = \((input.zoneType ?? .other).rawValue),
                    coordinates = \(try input.coordinates.jsonText())::jsonb, shape = \(input.resolvedShape.rawValue),
                    color = \(input.color ?? CameraZoneInput.defaultColor), enabled = \(input.enabled ?? true),
                    priority = \(input.priority ?? 0)
                WHERE id = \(id) AND camera_id = \(cameraId)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    public func delete(id: UUID, cameraId: UUID) async throws -> Bool {
        let rows = try await connection.query(
            "DELETE FROM camera_zones WHERE id = \(id) AND camera_id = \(cameraId) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [CameraZone] {
        var zones: [CameraZone] = []
        for try await (id, cameraId, name, zoneType, coordinates, shape, color, enabled, priority, createdAt, updatedAt)
            in rows.decode((UUID, UUID, String, String, String, String, String, Bool, Int, Date, Date).self) {
            zones.append(CameraZone(
                id: id, cameraId: cameraId, name: name, zoneType: ZoneType(rawValue: zoneType) ?? .other,
                coordinates: try [[Double]](jsonText: coordinates), shape: ZoneShape(rawValue: shape) ?? .rectangle,
                color: color, enabled: enabled, priority: priority, createdAt: createdAt, updatedAt: updatedAt))
        }
        return zones
    }
}
