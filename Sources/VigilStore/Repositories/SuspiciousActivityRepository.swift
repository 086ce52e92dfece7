import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of suspicious activities (seed 002 `suspicious_activity_events`).
public struct SuspiciousActivityRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Stores the findings of an event that were not reported since `since` (same camera, same
    /// key: one loiterer is one activity however many events it spans). Returns those stored.
    public func record(_ findings: [SuspiciousFinding], cameraId: UUID, eventId: UUID, imagePath: String?,
                       notReportedSince since: Date) async throws -> [SuspiciousActivity] {
        guard !findings.isEmpty else { return [] }
        struct Row: Encodable {
            var id: UUID
            var activity_type: String
            var zone_id: UUID?
            var confidence: Double
            var severity: String
            var details: JSONValue
            var dedup_key: String
            var timestamp: Date
        }
        let rows = findings.map { finding in
            var details = finding.details
            details["key"] = .string(finding.key)
            return Row(id: UUIDv7Generator(now: { finding.time }).next(), activity_type: finding.type.rawValue, zone_id: finding.zoneId,
                       confidence: min(max(finding.confidence, 0), 1), severity: finding.severity.rawValue, details: .object(details),
                       dedup_key: finding.key, timestamp: finding.time)
        }
        let inserted = try await connection.query("""
            WITH f AS (
                SELECT DISTINCT ON (dedup_key) * FROM jsonb_to_recordset(\(try rows.jsonText())::jsonb) AS f(
                    id uuid, activity_type text, zone_id uuid, confidence float8, severity text, details jsonb, dedup_key text,
                    timestamp timestamptz)
                ORDER BY dedup_key, timestamp
            )
            INSERT INTO suspicious_activity_events (id, camera_id, event_id, activity_type, zone_id, confidence, severity, details,
                                                    dedup_key, image_path, timestamp)
            SELECT f.id, \(cameraId), \(eventId), f.activity_type,
                   (SELECT z.id FROM camera_zones z WHERE z.id = f.zone_id), f.confidence, f.severity, f.details, f.dedup_key,
                   \(imagePath), f.timestamp
            FROM f
            WHERE NOT EXISTS (SELECT 1 FROM suspicious_activity_events s
                              WHERE s.camera_id = \(cameraId) AND s.dedup_key = f.dedup_key AND s.timestamp >= \(since))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        return try await decode(inserted)
    }

    private static let columns = """
        id, camera_id, event_id, activity_type, zone_id, confidence::float8, severity, details::text, timestamp, alert_sent
        """

    public func find(id: UUID) async throws -> SuspiciousActivity? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM suspicious_activity_events WHERE id = \(id)
            """, logger: logger)
        return try await decode(rows).first
    }

    /// The activities found in an event, oldest first.
    public func list(eventId: UUID, since: Date) async throws -> [SuspiciousActivity] {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM suspicious_activity_events
            WHERE event_id = \(eventId) AND timestamp >= \(since) ORDER BY timestamp, id
            """, logger: logger)
        return try await decode(rows)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [SuspiciousActivity] {
        var found: [SuspiciousActivity] = []
        for try await (id, camera, event, type, zone, confidence, severity, details, time, sent)
            in rows.decode((UUID, UUID, UUID?, String, UUID?, Double, String, String, Date, Bool).self) {
            guard let type = ActivityType(rawValue: type), let severity = Severity(rawValue: severity) else { continue }
            found.append(SuspiciousActivity(id: id, cameraId: camera, eventId: event, activityType: type, zoneId: zone,
                                            confidence: confidence, severity: severity, details: try JSONValue(jsonText: details),
                                            timestamp: time, alertSent: sent))
        }
        return found
    }
}
