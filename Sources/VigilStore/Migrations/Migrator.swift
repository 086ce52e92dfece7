import Foundation
import Logging
import PostgresNIO

/// Applies ``Migrations`` in one transaction under a PostgreSQL advisory lock, so two processes
/// migrating at once apply each migration exactly once.
public struct Migrator: Sendable {
    public let migrations: [Migration]
    private let logger: Logger

    /// Arbitrary constant that names Vigil's migration lock among advisory locks.
    static let lockKey: Int64 = 0x5649_4749_4C_4D49  // "VIGILMI"

    public init(migrations: [Migration] = Migrations.all, logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    public struct AppliedMigration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var checksum: String
        public var appliedAt: Date
    }

    public struct Status: Sendable {
        public var applied: [AppliedMigration]
        public var pending: [Migration]
        public var isCurrent: Bool { pending.isEmpty }
    }

    /// Applies every pending migration; returns the ones applied now.
    @discardableResult
    public func migrate(_ database: Database) async throws -> [Migration] {
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await Self.createLedger(on: connection, logger: logger)
            let status = try await status(on: connection)
            for migration in status.pending {
                logger.info("applying migration", metadata: ["migration": "\(migration.label)"])
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
            }
            return status.pending
        }
    }

    /// What is applied and what is pending, checking that the two agree.
    public func status(_ database: Database) async throws -> Status {
        try await database.read { connection in
            guard try await Self.ledgerExists(on: connection, logger: logger) else {
                return Status(applied: [], pending: migrations)
            }
            return try await status(on: connection)
        }
    }

    private func status(on connection: PostgresConnection) async throws -> Status {
        var applied: [AppliedMigration] = []
        let rows = try await connection.query(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version", logger: logger)
        for try await (version, name, checksum, appliedAt) in rows.decode((Int, String, String, Date).self) {
            applied.append(AppliedMigration(version: version, name: name, checksum: checksum, appliedAt: appliedAt))
        }
        let known = try Self.byVersion(migrations)
        for entry in applied {
            guard let migration = known[entry.version] else {
                throw MigrationError.unknownApplied(version: entry.version, name: entry.name)
            }
            guard migration.name == entry.name, migration.checksum == entry.checksum else {
                throw MigrationError.changedSinceApplied(migration.label)
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        let pending = migrations.filter { !appliedVersions.contains($0.version) }
        if let firstPending = pending.first, let lastApplied = applied.last, firstPending.version < lastApplied.version {
            throw MigrationError.outOfOrder(firstPending.label)
        }
        return Status(applied: applied, pending: pending)
    }

    /// The registered migrations by version; two with one version are a programming error, reported by name.
    static func byVersion(_ migrations: [Migration]) throws -> [Int: Migration] {
        var known: [Int: Migration] = [:]
        for migration in migrations {
            if let other = known[migration.version] {
                throw MigrationError.duplicateVersion(other.label, migration.label)
            }
            known[migration.version] = migration
        }
        return known
    }

    private static func createLedger(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER PRIMARY KEY,
                name        TEXT NOT NULL,
                checksum    TEXT NOT NULL,
                applied_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
            )
            """, logger: logger)
    }

    private static func ledgerExists(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case unknownApplied(version: Int, name: String)
    case changedSinceApplied(String)
    case outOfOrder(String)
    case pending([String])
    case duplicateVersion(String, String)

    public var description: String {
        switch self {
        case .unknownApplied(let version, let name):
            "the database has migration \(String(format: "%04d", version))_\(name), which this Vigil does not know: it was migrated by a newer Vigil"
        case .changedSinceApplied(let label):
            "migration \(label) differs from the one applied to the database: a released migration must never change"
        case .outOfOrder(let label):
            "migration \(label) is pending but later migrations are already applied: migrations must be appended, never inserted"
        case .duplicateVersion(let first, let second):
            "migrations \(first) and \(second) share a version number"
        case .pending(let labels):
            "the database schema is not current; pending: \(labels.joined(separator: ", ")) (run `vigil migrate`, or start without --no-migrate)"
        }
    }
}
