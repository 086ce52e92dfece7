import Foundation

/// How long things are kept (seed 004 §4, seed 002 §17). Every limit is configurable.
public struct RetentionPolicy: Sendable, Equatable {
    /// A staging frame goes this long after its analysis finished...
    public var stagingAfterAnalysis: TimeInterval = 15 * 60
    /// ...and at the latest this long after it arrived, analysed or not.
    public var stagingHardCap: TimeInterval = 24 * 3600
    /// Whole monthly partitions older than this are dropped, per table.
    public var partitionRetention: [String: TimeInterval] = [
        "captures": 30 * 86_400,
        "audit_logs": 3 * 365 * 86_400,
        "device_connectivity_logs": 90 * 86_400,
        // As long as the events they make up.
        "detections": 365 * 86_400,
        "events": 365 * 86_400,
        "suspicious_activity_events": 2 * 365 * 86_400,
    ]
    /// Partitions are created this many months ahead.
    public var monthsAhead = 3
    /// Below this fraction of free disk space, the oldest media are deleted until it is back above.
    public var minimumFreeDiskFraction = 0.05
    /// A stored file no row names is removed once it is this old: younger ones may belong to a
    /// frame whose transaction is still under way.
    public var orphanGrace: TimeInterval = 10 * 60
    /// The media folders swept for files no row names.
    public static let sweptFolders = ["staging", "clips", "events", "thumbs", "faces"]

    public init() {}

    /// When a partition of `table` becomes droppable, if the table has a retention.
    public func partitionCutoff(for table: String, now: Date) -> Date? {
        partitionRetention[table].map { now.addingTimeInterval(-$0) }
    }
}

/// What one retention run did (or, dry, would do).
public struct RetentionReport: Codable, Sendable, Equatable {
    public var dryRun: Bool
    public var stagingFramesDiscarded = 0
    public var expiredMediaDeleted = 0
    public var diskPressureMediaDeleted = 0
    public var bytesFreed: Int64 = 0
    public var partitionsCreated: [String] = []
    public var partitionsDropped: [String] = []
    public var missingFiles = 0
    /// Files no row named (left by a crash between writing a file and committing its row).
    public var orphanFilesRemoved = 0
    /// Object tracks last seen before the detections' retention that no detection names any more.
    public var tracksRemoved = 0
    /// Records that a rule matched an event, for events past their retention.
    public var alertGuardsRemoved = 0
    /// Faces cameras saw (recognized or not), past the detections' retention; gallery faces stay.
    public var sightingFacesRemoved = 0

    public init(dryRun: Bool) {
        self.dryRun = dryRun
    }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run"
        case stagingFramesDiscarded = "staging_frames_discarded"
        case expiredMediaDeleted = "expired_media_deleted"
        case diskPressureMediaDeleted = "disk_pressure_media_deleted"
        case bytesFreed = "bytes_freed"
        case partitionsCreated = "partitions_created"
        case partitionsDropped = "partitions_dropped"
        case missingFiles = "missing_files"
        case orphanFilesRemoved = "orphan_files_removed"
        case tracksRemoved = "tracks_removed"
        case alertGuardsRemoved = "alert_guards_removed"
        case sightingFacesRemoved = "sighting_faces_removed"
    }
}
