import Foundation
import Logging
import PostgresNIO
import VigilCore

/// Keeps monthly range partitions of time-series tables: creates them ahead of time, plus a
/// DEFAULT partition that catches anything outside them, and drops those past retention.
///
/// Works without pg_partman. Partitions are named `<table>_pYYYYMM` (``MonthlyPartition``).
public struct PartitionManager: Sendable {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Creates the DEFAULT partition and the monthly partitions from the month holding `date`
    /// through `monthsAhead` months later, where missing. Returns the names created.
    ///
    /// Rows that already sit in the DEFAULT partition for a month being created are moved into
    /// the new partition in the same transaction, so creation never fails on them.
    @discardableResult
    public func ensurePartitions(of table: String, around date: Date, monthsAhead: Int = 3,
                                 on connection: PostgresConnection) async throws -> [String] {
        try await serialize(on: connection)
        let key = try await partitionKey(of: table, on: connection)
        let existing = Set(try await partitionNames(of: table, on: connection))
        var created: [String] = []
        let defaultName = MonthlyPartition.defaultPartitionName(table: table)
        if !existing.contains(defaultName) {
            try await execute("CREATE TABLE \(quoted(defaultName)) PARTITION OF \(quoted(table)) DEFAULT", on: connection)
            created.append(defaultName)
        }
        for partition in MonthlyPartition.window(table: table, from: date, monthsAhead: monthsAhead)
        where !existing.contains(partition.name) {
            try await createPartition(partition, key: key, defaultName: defaultName, on: connection)
            created.append(partition.name)
        }
        if !created.isEmpty {
            logger.info("created partitions", metadata: ["table": "\(table)", "partitions": "\(created)"])
        }
        return created
    }

    /// The monthly partitions of `table`, oldest first (the DEFAULT partition is not listed).
    public func monthlyPartitions(of table: String, on connection: PostgresConnection) async throws -> [MonthlyPartition] {
        try await partitionNames(of: table, on: connection)
            .compactMap { MonthlyPartition(table: table, partitionName: $0) }
            .sorted { ($0.year, $0.month) < ($1.year, $1.month) }
    }

    /// Drops every monthly partition whose whole month lies before `cutoff`. Returns the names dropped.
    @discardableResult
    public func dropPartitions(of table: String, olderThan cutoff: Date,
                               on connection: PostgresConnection) async throws -> [String] {
        try await serialize(on: connection)
        var dropped: [String] = []
        for partition in try await monthlyPartitions(of: table, on: connection) where partition.isEntirelyBefore(cutoff) {
            try await execute("DROP TABLE \(quoted(partition.name))", on: connection)
            dropped.append(partition.name)
        }
        if !dropped.isEmpty {
            logger.info("dropped partitions", metadata: ["table": "\(table)", "partitions": "\(dropped)"])
        }
        return dropped
    }

    // MARK: -

    /// Arbitrary constant naming the partition-maintenance lock among advisory locks.
    static let lockKey: Int64 = 0x5649_4749_4C_5041  // "VIGILPA"

    /// One partition change at a time across every Vigil process (start-up, retention, other
    /// nodes), until the caller's transaction ends: two runners never wait on each other's DDL.
    private func serialize(on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
    }

    private func createPartition(_ partition: MonthlyPartition, key: String, defaultName: String,
                                 on connection: PostgresConnection) async throws {
        let from = Self.timestampLiteral(partition.start)
        let to = Self.timestampLiteral(partition.end)
        let strayRows = try await count(
            "SELECT count(*) FROM \(quoted(defaultName)) WHERE \(quoted(key)) >= '\(from)' AND \(quoted(key)) < '\(to)'",
            on: connection)
        if strayRows == 0 {
            try await execute("""
                CREATE TABLE \(quoted(partition.name)) PARTITION OF \(quoted(partition.table))
                FOR VALUES FROM ('\(from)') TO ('\(to)')
                """, on: connection)
            return
        }
        // PostgreSQL refuses to add a partition whose range has rows in DEFAULT: move them first.
        try await execute("""
            CREATE TABLE \(quoted(partition.name)) (LIKE \(quoted(partition.table)) INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
            """, on: connection)
        try await execute("""
            WITH moved AS (
                DELETE FROM \(quoted(defaultName)) WHERE \(quoted(key)) >= '\(from)' AND \(quoted(key)) < '\(to)' RETURNING *
            )
            INSERT INTO \(quoted(partition.name)) SELECT * FROM moved
            """, on: connection)
        try await execute("""
            ALTER TABLE \(quoted(partition.table)) ATTACH PARTITION \(quoted(partition.name))
            FOR VALUES FROM ('\(from)') TO ('\(to)')
            """, on: connection)
        logger.info("moved rows out of the default partition",
                    metadata: ["partition": "\(partition.name)", "rows": "\(strayRows)"])
    }

    private func partitionNames(of table: String, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT child.relname::text
            FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            JOIN pg_namespace ns ON ns.oid = parent.relnamespace
            WHERE parent.relname = \(table) AND ns.nspname = current_schema()
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    /// The single column a table is range-partitioned by.
    private func partitionKey(of table: String, on connection: PostgresConnection) async throws -> String {
        let rows = try await connection.query("""
            SELECT a.attname::text
            FROM pg_partitioned_table pt
            JOIN pg_class c ON c.oid = pt.partrelid
            JOIN pg_namespace ns ON ns.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
            WHERE c.relname = \(table) AND ns.nspname = current_schema() AND pt.partstrat = 'r' AND pt.partnatts = 1
            """, logger: logger)
        for try await key in rows.decode(String.self) { return key }
        throw PartitionError.notRangePartitioned(table)
    }

    private func count(_ sql: String, on connection: PostgresConnection) async throws -> Int {
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) {
            return value
        }
        return 0
    }

    private func execute(_ sql: String, on connection: PostgresConnection) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Identifiers come from Vigil's own table names, never from input; quoting still keeps them whole.
    private func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func timestampLiteral(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

public enum PartitionError: Error, CustomStringConvertible {
    case notRangePartitioned(String)

    public var description: String {
        switch self {
        case .notRangePartitioned(let table): "\(table) is not range-partitioned on a single column"
        }
    }
}
