import Foundation
import Logging
import VigilStore

/// Opens Vigil's database the way a command needs it: the server named by `VIGIL_DATABASE_URL`,
/// or the embedded cluster in the data folder.
public struct DatabaseRuntime: Sendable {
    public let database: Database
    /// The embedded cluster this process started and must stop, if any.
    public let ownedCluster: ManagedPostgres?

    public enum ClusterUse: Sendable {
        /// `serve`: start the embedded cluster and own it; fail when another Vigil runs on the folder.
        case own
        /// One-shot commands: use the cluster of a running `vigil serve`, or start one for the command.
        case joinOrStart
    }

    public static func open(_ configuration: ServerConfiguration, use: ClusterUse, logger: Logger) throws -> DatabaseRuntime {
        if let url = configuration.databaseURL {
            let location = try DatabaseLocation(url: url)
            return DatabaseRuntime(database: Database(location: location, maximumConnections: configuration.databaseMaxConnections,
                                                      logger: logger), ownedCluster: nil)
        }
        let cluster = try ManagedPostgres(dataDirectory: configuration.dataDirectory, logger: logger)
        let location = DatabaseLocation(endpoint: .unixSocket(path: cluster.socketPath), username: cluster.superuser,
                                        password: nil, database: cluster.databaseName, tls: .disable)
        let database = Database(location: location, maximumConnections: configuration.databaseMaxConnections, logger: logger)
        do {
            try cluster.start()
            return DatabaseRuntime(database: database, ownedCluster: cluster)
        } catch ManagedPostgresError.alreadyRunning where use == .joinOrStart {
            logger.debug("using the database of the running Vigil")
            return DatabaseRuntime(database: database, ownedCluster: nil)
        }
    }

    /// Runs `body` with the pool running, then stops the cluster if this process started it.
    public func run<Result: Sendable>(_ body: @escaping @Sendable (Database) async throws -> Result) async throws -> Result {
        defer { try? ownedCluster?.stop() }
        return try await database.withRunningClient { try await body(database) }
    }
}
