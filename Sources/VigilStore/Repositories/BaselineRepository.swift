import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of the cameras' activity baselines (seed 000 `activity_baselines`, `class_baselines`).
public struct BaselineRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Holds the camera's baselines until the transaction ends: each hour is learnt once even
    /// with several worker processes.
    public func lock(cameraId: UUID) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('baselines:' || \(cameraId.uuidString), 0))",
                                   logger: logger)
    }

    /// The hour up to which the camera's baselines have learnt, if they started.
    public func learntUntil(cameraId: UUID) async throws -> Date? {
        let rows = try await connection.query("SELECT learnt_until FROM baseline_progress WHERE camera_id = \(cameraId)", logger: logger)
        for try await time in rows.decode(Date.self) { return time }
        return nil
    }

    public func setLearntUntil(_ time: Date, cameraId: UUID) async throws {
        try await connection.query("""
            INSERT INTO baseline_progress (camera_id, learnt_until) VALUES (\(cameraId), \(time))
            ON CONFLICT (camera_id) DO UPDATE SET learnt_until = EXCLUDED.learnt_until
            """, logger: logger)
    }

    /// The starts of the hours in [from, to) in which the camera sent frames: only those are samples
    /// (an hour the camera was off says nothing about how busy the place is).
    public func hoursWithFrames(cameraId: UUID, from: Date, to: Date) async throws -> [Date] {
        let rows = try await connection.query("""
            SELECT DISTINCT date_trunc('hour', received_at) AS hour FROM captures
            WHERE camera_id = \(cameraId) AND received_at >= \(from) AND received_at < \(to) ORDER BY hour
            """, logger: logger)
        var hours: [Date] = []
        for try await hour in rows.decode(Date.self) { hours.append(hour) }
        return hours
    }

    public func activity(cameraId: UUID, hour: Int, dayOfWeek: Int) async throws -> EWMA {
        let rows = try await connection.query("""
            SELECT avg_count, sample_count FROM activity_baselines
            WHERE camera_id = \(cameraId) AND hour = \(hour) AND day_of_week = \(dayOfWeek)
            """, logger: logger)
        for try await (value, samples) in rows.decode((Double, Int).self) { return EWMA(value: value, samples: samples) }
        return EWMA()
    }

    /// Every class the camera has a baseline for, at this hour (classes known at other hours only come with no samples).
    public func classes(cameraId: UUID, hour: Int) async throws -> [String: EWMA] {
        let rows = try await connection.query("""
            SELECT detection_class, bool_or(hour = \(hour)), max(frequency) FILTER (WHERE hour = \(hour)),
                   max(sample_count) FILTER (WHERE hour = \(hour))
            FROM class_baselines WHERE camera_id = \(cameraId) GROUP BY detection_class
            """, logger: logger)
        var found: [String: EWMA] = [:]
        for try await (name, present, value, samples) in rows.decode((String, Bool, Double?, Int?).self) {
            found[name] = present ? EWMA(value: value ?? 0, samples: samples ?? 0) : EWMA()
        }
        return found
    }

    public func saveActivity(_ baseline: EWMA, cameraId: UUID, hour: Int, dayOfWeek: Int, at time: Date) async throws {
        try await connection.query("""
            INSERT INTO activity_baselines (camera_id, hour, day_of_week, avg_count, sample_count, last_updated)
            VALUES (\(cameraId), \(hour), \(dayOfWeek), \(baseline.value), \(baseline.samples), \(time))
            ON CONFLICT (camera_id, hour, day_of_week) DO UPDATE SET avg_count = EXCLUDED.avg_count,
                sample_count = EXCLUDED.sample_count, last_updated = EXCLUDED.last_updated
            """, logger: logger)
    }

    public func saveClasses(_ baselines: [String: EWMA], cameraId: UUID, hour: Int, at time: Date) async throws {
        guard !baselines.isEmpty else { return }
        let names = baselines.keys.sorted()
        try await connection.query("""
            INSERT INTO class_baselines (camera_id, detection_class, hour, frequency, sample_count, last_updated)
            SELECT \(cameraId), name, \(hour), frequency, samples, \(time)
            FROM unnest(\(names)::text[], \(names.map { baselines[$0]!.value })::float8[], \(names.map { baselines[$0]!.samples })::int4[])
                AS b(name, frequency, samples)
            ON CONFLICT (camera_id, detection_class, hour) DO UPDATE SET frequency = EXCLUDED.frequency,
                sample_count = EXCLUDED.sample_count, last_updated = EXCLUDED.last_updated
            """, logger: logger)
    }
}
