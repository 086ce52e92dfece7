import Foundation
import Logging
import Testing
import VigilStore
import VigilTestSupport

@Suite("Embedded PostgreSQL cluster")
struct ManagedPostgresTests {
    let logger = Logger(label: "test")

    @Test("a second owner of the same data folder is refused while the first runs, then allowed")
    func exclusive() async throws {
        let folder = try TestPaths.temporaryFolder("vigil-cluster")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try ManagedPostgres(dataDirectory: folder, logger: logger)
        try first.start()
        let second = try ManagedPostgres(dataDirectory: folder, logger: logger)
        #expect {
            try second.start()
        } throws: { error in
            guard case ManagedPostgresError.alreadyRunning(let path) = error else { return false }
            return path == folder.standardizedFileURL.path
        }
        try first.stop()
        #expect(!FileManager.default.fileExists(atPath: first.clusterDirectory.appendingPathComponent("postmaster.pid").path))

        // Started again, it keeps what was written.
        try second.start()
        let location = DatabaseLocation(endpoint: .unixSocket(path: second.socketPath), username: second.superuser,
                                        password: nil, database: second.databaseName, tls: .disable)
        let database = Database(location: location, maximumConnections: 1, logger: logger)
        let logger = self.logger
        let answer = try await database.withRunningClient {
            try await database.read { connection in
                for try await value in try await connection.query("SELECT 41 + 1", logger: logger).decode(Int.self) {
                    return value
                }
                return 0
            }
        }
        #expect(answer == 42)
        try second.stop()
    }

    @Test("the socket folder is private to the database user")
    func privateSocket() throws {
        let folder = try TestPaths.temporaryFolder("vigil-cluster")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cluster = try ManagedPostgres(dataDirectory: folder, logger: logger)
        try cluster.start()
        defer { try? cluster.stop() }
        let attributes = try FileManager.default.attributesOfItem(atPath: cluster.socketDirectory.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let configuration = try String(contentsOf: cluster.clusterDirectory.appendingPathComponent("postgresql.conf"), encoding: .utf8)
        #expect(configuration.contains("listen_addresses = ''"), "the embedded cluster listens on no TCP port")
    }
}
