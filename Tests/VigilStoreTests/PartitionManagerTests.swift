import Foundation
import Logging
import PostgresNIO
import Testing
import VigilCore
import VigilStore
import VigilTestSupport

@Suite("Monthly partition machinery")
struct PartitionManagerTests {
    let logger = Logger(label: "test")

    func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    func withPartitionedTable(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        try await TestDatabases.shared.withDatabase { location in
            let database = Database(location: location, maximumConnections: 2, logger: logger)
            try await database.withRunningClient {
                try await database.read { connection in
                    try await connection.query("""
                        CREATE TABLE readings (id bigserial, recorded_at timestamptz NOT NULL, value int,
                                               PRIMARY KEY (id, recorded_at)) PARTITION BY RANGE (recorded_at)
                        """, logger: logger)
                }
                try await body(database)
            }
        }
    }

    func names(_ database: Database, _ manager: PartitionManager) async throws -> [String] {
        try await database.read { try await manager.monthlyPartitions(of: "readings", on: $0).map(\.name) }
    }

    func rows(in partition: String, _ database: Database) async throws -> Int {
        try await database.read { connection in
            for try await count in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM ONLY \(partition)"), logger: logger).decode(Int.self) {
                return count
            }
            return 0
        }
    }

    @Test("creates the months ahead and a default partition, once")
    func createsAhead() async throws {
        try await withPartitionedTable { database in
            let manager = PartitionManager(logger: logger)
            let created = try await database.transaction {
                try await manager.ensurePartitions(of: "readings", around: date("2026-11-21T10:00:00Z"), monthsAhead: 2, on: $0)
            }
            #expect(created == ["readings_default", "readings_p202611", "readings_p202612", "readings_p202701"])
            let again = try await database.transaction {
                try await manager.ensurePartitions(of: "readings", around: date("2026-11-21T10:00:00Z"), monthsAhead: 2, on: $0)
            }
            #expect(again.isEmpty)
            try await database.read { connection in
                try await connection.query("""
                    INSERT INTO readings (recorded_at, value) VALUES ('2026-12-31T23:59:59Z', 1), ('2026-12-01T00:00:00Z', 2),
                        ('2030-01-01T00:00:00Z', 3)
                    """, logger: logger)
            }
            #expect(try await rows(in: "readings_p202612", database) == 2)
            #expect(try await rows(in: "readings_default", database) == 1, "rows outside every month land in DEFAULT")
        }
    }

    @Test("a month whose rows sit in DEFAULT is created by moving them")
    func movesStrayRows() async throws {
        try await withPartitionedTable { database in
            let manager = PartitionManager(logger: logger)
            _ = try await database.transaction {
                try await manager.ensurePartitions(of: "readings", around: date("2026-01-10T00:00:00Z"), monthsAhead: 0, on: $0)
            }
            try await database.read { connection in
                try await connection.query("""
                    INSERT INTO readings (recorded_at, value) VALUES ('2026-03-05T00:00:00Z', 1), ('2026-03-20T00:00:00Z', 2),
                        ('2026-05-01T00:00:00Z', 3)
                    """, logger: logger)
            }
            #expect(try await rows(in: "readings_default", database) == 3)
            let created = try await database.transaction {
                try await manager.ensurePartitions(of: "readings", around: date("2026-02-01T00:00:00Z"), monthsAhead: 2, on: $0)
            }
            #expect(created == ["readings_p202602", "readings_p202603", "readings_p202604"])
            #expect(try await rows(in: "readings_p202603", database) == 2)
            #expect(try await rows(in: "readings_default", database) == 1)
            let total = try await database.read { connection in
                for try await count in try await connection.query("SELECT count(*)::int8 FROM readings", logger: logger).decode(Int.self) {
                    return count
                }
                return 0
            }
            #expect(total == 3, "no row is lost while moving")
        }
    }

    @Test("drops only the months entirely before the cut-off, never DEFAULT")
    func dropsOld() async throws {
        try await withPartitionedTable { database in
            let manager = PartitionManager(logger: logger)
            _ = try await database.transaction {
                try await manager.ensurePartitions(of: "readings", around: date("2026-01-15T00:00:00Z"), monthsAhead: 4, on: $0)
            }
            let dropped = try await database.transaction {
                try await manager.dropPartitions(of: "readings", olderThan: date("2026-03-10T00:00:00Z"), on: $0)
            }
            #expect(dropped == ["readings_p202601", "readings_p202602"])
            #expect(try await names(database, manager) == ["readings_p202603", "readings_p202604", "readings_p202605"])
            #expect(try await rows(in: "readings_default", database) == 0)
        }
    }

    @Test("a table that is not range-partitioned is refused")
    func notPartitioned() async throws {
        try await withPartitionedTable { database in
            await #expect(throws: PartitionError.self) {
                try await database.transaction {
                    try await PartitionManager(logger: logger).ensurePartitions(of: "sites", around: Date(), on: $0)
                }
            }
        }
    }
}
