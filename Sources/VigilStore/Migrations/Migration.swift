import Crypto
import Foundation

/// One forward-only schema change. Statements run in order inside the migration transaction;
/// each is a single SQL statement (PostgreSQL's extended protocol takes one at a time).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// SHA-256 of the statements: an applied migration whose text later changed is caught.
    public var checksum: String {
        let digest = SHA256.hash(data: Data(statements.joined(separator: "\n;\n").utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    public var label: String { String(format: "%04d_%@", version, name) }
}

/// Every migration Vigil knows, in order. A new migration is appended here, never inserted.
public enum Migrations {
    public static let all: [Migration] = [
        Migration0001Core.migration,
        Migration0002Access.migration,
        Migration0003SiteIsolation.migration,
        Migration0004Ingest.migration,
        Migration0005SiteVisibility.migration,
        Migration0006Streams.migration,
        Migration0007JobIndexes.migration,
        Migration0008OrderedIds.migration,
        Migration0009Detections.migration,
        Migration0010ObjectTracks.migration,
        Migration0011Events.migration,
        Migration0012LiveUpdates.migration,
        Migration0013EventSearch.migration,
        Migration0014Alerts.migration,
        Migration0015EventSearchByMonth.migration,
        Migration0016People.migration,
        Migration0017FaceRecognition.migration,
        Migration0018SignInHardening.migration,
        Migration0019SealedStreams.migration,
        Migration0020SiteRulesAndChannels.migration,
        Migration0021SitePeople.migration,
        Migration0022SiteAuditAndJobs.migration,
        Migration0023GalleryWrites.migration,
    ]

    /// The range-partitioned tables, whose monthly partitions are kept ahead of time.
    public static let partitionedTables = [
        "audit_logs", "captures", "detections", "device_connectivity_logs", "events", "suspicious_activity_events",
    ]
}
