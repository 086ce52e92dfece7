import Crypto
import Foundation
import Logging
import PostgresNIO
import Synchronization
import VigilStore

/// Gives each test its own database, copied from a template migrated once per test run.
///
/// The server is the one named by `VIGIL_TEST_DATABASE_URL` (which must be local), or a
/// throwaway cluster started with ``ManagedPostgres``, the same code `vigil serve` uses.
public actor TestDatabases {
    public static let shared = TestDatabases()

    public static let templateName = "vigil_template"
    /// Started by the first caller; every later caller awaits the same preparation.
    private var serverPreparation: Task<DatabaseLocation, any Error>?
    private let logger: Logger = {
        var logger = Logger(label: "vigil.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh, migrated database of its own. Drop it with ``drop(_:)``.
    public func create() async throws -> DatabaseLocation {
        let server = try await serverLocation()
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(24)
        try await admin(on: server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE \(Self.templateName)"),
                                       logger: logger)
        }
        return server.with(database: String(name))
    }

    /// An empty database with no schema at all, for migration tests.
    public func createEmpty() async throws -> DatabaseLocation {
        let server = try await serverLocation()
        let name = "e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(24)
        try await admin(on: server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        return server.with(database: String(name))
    }

    /// A database of its own for `body` (migrated, or `empty`), dropped when `body` is done, also
    /// when it throws (then its error is the one that counts).
    public nonisolated func withDatabase<Result>(empty: Bool = false,
                                                 _ body: (DatabaseLocation) async throws -> Result) async throws -> Result {
        let location = empty ? try await createEmpty() : try await create()
        let result: Result
        do {
            result = try await body(location)
        } catch {
            try? await drop(location)
            throw error
        }
        try await drop(location)
        return result
    }

    public func drop(_ location: DatabaseLocation) async throws {
        try await admin(on: location.with(database: "postgres")) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)"), logger: logger)
        }
    }

    /// The server's location with the `postgres` maintenance database.
    public func serverLocation() async throws -> DatabaseLocation {
        if let serverPreparation { return try await serverPreparation.value }
        let preparation = Task { try await self.prepareServer() }
        serverPreparation = preparation
        return try await preparation.value
    }

    private func prepareServer() async throws -> DatabaseLocation {
        let location: DatabaseLocation
        if let url = ProcessInfo.processInfo.environment["VIGIL_TEST_DATABASE_URL"], !url.isEmpty {
            location = try DatabaseLocation(url: url).with(database: "postgres")
            guard location.isLocal else {
                fatalError("VIGIL_TEST_DATABASE_URL must name a local server: tests create and drop databases")
            }
        } else {
            location = try TestCluster.start(logger: logger).with(database: "postgres")
        }
        try await prepareTemplate(on: location)
        return location
    }

    private func prepareTemplate(on server: DatabaseLocation) async throws {
        try await admin(on: server) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(Self.templateName) WITH (FORCE)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(Self.templateName)"), logger: logger)
        }
        let migrationLogger = logger
        let database = Database(location: server.with(database: Self.templateName), maximumConnections: 2, logger: migrationLogger)
        try await database.withRunningClient {
            try await Migrator(logger: migrationLogger).migrate(database)
            // The months tests live in, made once here: otherwise every application a test starts
            // creates them itself, and dozens of those DDL transactions at once exhaust the
            // server's lock table.
            try await database.transaction { connection in
                for table in Migrations.partitionedTables {
                    try await PartitionManager(logger: migrationLogger).ensurePartitions(of: table, around: Self.testClockStart,
                                                                                         on: connection)
                }
            }
        }
        // The pool's connections can outlive it by a moment, and a database being copied must have
        // none: end them, waiting until each is gone.
        try await admin(on: server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = '\(Self.templateName)'
                """), logger: logger)
        }
    }

    /// The instant tests' clocks start at, unless a test says otherwise.
    public static let testClockStart = Date(timeIntervalSince1970: 1_795_000_000)

    /// Runs `body` on a single connection to `location`, then closes it.
    private func admin(on location: DatabaseLocation,
                       _ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: try location.connectionConfiguration, id: 1, logger: logger)
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// The throwaway cluster of this test process, stopped when the process exits.
enum TestCluster {
    private static let running = Mutex<ManagedPostgres?>(nil)

    static func start(logger: Logger) throws -> DatabaseLocation {
        try running.withLock { current in
            if current == nil {
                // Tests run in parallel, each application with a pool of its own.
                // A throwaway cluster: nothing in it must survive a crash, so it does not wait for the disk. On a
                // busy two-core machine, the forced checkpoints of hundreds of CREATE/DROP DATABASE otherwise stall
                // every test's queries for seconds.
                let cluster = try ManagedPostgres(dataDirectory: folder, databaseName: "vigil", maxConnections: 500,
                                                  serverSettings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                                                                   // Hundreds of databases' DDL side by side.
                                                                   "max_locks_per_transaction": "256"],
                                                  logger: logger)
                try cluster.start()
                current = cluster
                atexit { TestCluster.stop() }
            }
            let cluster = current!
            return DatabaseLocation(endpoint: .unixSocket(path: cluster.socketPath), username: cluster.superuser,
                                    password: nil, database: "postgres", tls: .disable)
        }
    }

    static func stop() {
        running.withLock { current in
            try? current?.stop()
            current = nil
        }
    }

    /// One folder per checkout under /tmp, which the database user can always reach.
    static var folder: URL {
        let checkout = TestPaths.packageRoot.path
        let digest = SHA256.hash(data: Data(checkout.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return URL(fileURLWithPath: "/tmp/vigil-tests-\(digest)")
    }
}
