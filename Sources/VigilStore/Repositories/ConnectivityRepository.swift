import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of `device_connectivity_logs` (seed 002): when Vigil reached a camera, lost it, or
/// failed to reach it again.
public struct ConnectivityRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public enum Event: String, Sendable, Codable, CaseIterable {
        case connected, disconnected
        case reconnectFailed = "reconnect_failed"
    }

    public struct Entry: Sendable, Codable, Equatable {
        public var id: UUID
        public var deviceType: String
        public var deviceId: UUID
        public var event: Event
        public var details: JSONValue
        public var timestamp: Date

        enum CodingKeys: String, CodingKey {
            case id, event, details, timestamp
            case deviceType = "device_type"
            case deviceId = "device_id"
        }
    }

    public func record(cameraId: UUID, _ event: Event, details: JSONValue = .object([:]), at time: Date) async throws {
        try await connection.query("""
            INSERT INTO device_connectivity_logs (device_type, device_id, event, details, timestamp)
            VALUES ('camera', \(cameraId), \(event.rawValue), \(try details.jsonText())::jsonb, \(time))
            """, logger: logger)
    }

    /// A camera's history, newest first.
    public func list(cameraId: UUID, limit: Int = 100) async throws -> [Entry] {
        let rows = try await connection.query("""
            SELECT id, device_type, device_id, event, details::text, timestamp FROM device_connectivity_logs
            WHERE device_type = 'camera' AND device_id = \(cameraId)
            ORDER BY timestamp DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [Entry] = []
        for try await (id, type, device, event, details, timestamp) in rows.decode((UUID, String, UUID, String, String, Date).self) {
            entries.append(Entry(id: id, deviceType: type, deviceId: device, event: Event(rawValue: event) ?? .disconnected,
                                 details: try JSONValue(jsonText: details), timestamp: timestamp))
        }
        return entries
    }

    /// Marks cameras silent since `silentSince` offline, and logs each one's disconnection, in one
    /// statement. Returns the ids of the cameras marked.
    public func markSilentCamerasOffline(silentSince: Date, at time: Date) async throws -> [UUID] {
        let rows = try await connection.query("""
            WITH silent AS (
                UPDATE cameras SET status = 'offline'
                WHERE status = 'online' AND is_active AND last_seen_at < \(silentSince)
                RETURNING id, last_seen_at
            ), logged AS (
                INSERT INTO device_connectivity_logs (device_type, device_id, event, details, timestamp)
                SELECT 'camera', id, 'disconnected',
                       jsonb_build_object('reason', 'silent', 'last_seen_at', last_seen_at,
                                          'silent_seconds', floor(extract(epoch FROM \(time) - last_seen_at))),
                       \(time)
                FROM silent
            )
            SELECT id FROM silent
            """, logger: logger)
        var ids: [UUID] = []
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        return ids
    }
}
