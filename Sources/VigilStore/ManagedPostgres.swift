import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster that Vigil owns: created on first start under a data folder, reachable
/// only through a unix socket in that folder, started and stopped with Vigil.
///
/// Running as root, the database processes run as the `postgres` system user (PostgreSQL refuses
/// to run as root) and the cluster folders belong to that user.
///
/// - Important: Only one process may manage a data folder at a time. ``start()`` takes an
///   exclusive lock on `<dataDirectory>/vigil.lock` and fails with ``ManagedPostgresError/alreadyRunning``
///   when another process holds it; the lock dies with the process that held it.
public final class ManagedPostgres: Sendable {
    public let dataDirectory: URL
    public let databaseName: String
    public let superuser = "vigil"
    /// The most client connections the server accepts; applied at every start.
    public let maxConnections: Int
    /// Further server settings applied at every start (a throwaway test cluster turns durability off).
    public let serverSettings: [String: String]
    private let binDirectory: URL
    private let logger: Logger
    private let lock: FileLock

    public var clusterDirectory: URL { dataDirectory.appendingPathComponent("postgres") }
    public var socketDirectory: URL { dataDirectory.appendingPathComponent("run") }
    public var logFile: URL { dataDirectory.appendingPathComponent("postgres.log") }
    /// The socket file itself, as PostgresNIO's unix-socket configuration wants it.
    public var socketPath: String { socketDirectory.appendingPathComponent(".s.PGSQL.\(Self.port)").path }

    /// PostgreSQL names its socket after a port even when it listens on no TCP port.
    static let port = 5432

    public init(dataDirectory: URL, databaseName: String = "vigil", maxConnections: Int = 100, serverSettings: [String: String] = [:],
                binDirectory: URL? = nil, logger: Logger) throws {
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.databaseName = databaseName
        self.maxConnections = maxConnections
        self.serverSettings = serverSettings
        self.binDirectory = try binDirectory ?? Self.findBinDirectory()
        self.logger = logger
        self.lock = FileLock(path: self.dataDirectory.appendingPathComponent("vigil.lock").path)
    }

    /// Creates the cluster if needed, starts it and waits until it accepts connections, then
    /// creates the application database if it does not exist.
    public func start() throws {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        guard try lock.tryLock() else {
            throw ManagedPostgresError.alreadyRunning(dataDirectory.path)
        }
        do {
            try prepareDirectories()
            if !FileManager.default.fileExists(atPath: clusterDirectory.appendingPathComponent("PG_VERSION").path) {
                try initialize()
            }
            if isServerRunning() {
                // Left behind by a Vigil that died without stopping it: we hold the lock, so nobody uses it.
                logger.warning("stopping a database server left running by an earlier Vigil")
                try stopServer()
            }
            try startServer()
            try createDatabaseIfMissing()
        } catch {
            lock.unlock()
            throw error
        }
    }

    /// Stops the server (fast shutdown: open transactions roll back) and releases the lock.
    public func stop() throws {
        defer { lock.unlock() }
        if isServerRunning() {
            try stopServer()
        }
    }

    /// A libpq-style connection URL for tools such as `psql`.
    public var connectionURL: String {
        "postgresql://\(superuser)@/\(databaseName)?host=\(socketDirectory.path)"
    }

    // MARK: - Steps

    private var runsAsRoot: Bool { geteuid() == 0 }

    private func prepareDirectories() throws {
        let fileManager = FileManager.default
        for directory in [clusterDirectory, socketDirectory] {
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
            try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        }
        if !fileManager.fileExists(atPath: logFile.path) {
            _ = fileManager.createFile(atPath: logFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard runsAsRoot else { return }
        // The database user must pass through the data folder (search, not list) to reach its own folders.
        let mode = ((try? fileManager.attributesOfItem(atPath: dataDirectory.path)[.posixPermissions]) as? Int) ?? 0o755
        if mode & 0o001 == 0 {
            try fileManager.setAttributes([.posixPermissions: mode | 0o001], ofItemAtPath: dataDirectory.path)
        }
        try run("/bin/chown", ["-R", "postgres:postgres", clusterDirectory.path, socketDirectory.path, logFile.path],
                asDatabaseUser: false)
        // The postgres user must be able to reach its folders through every parent folder.
        let probe = try run("/bin/test", ["-x", dataDirectory.path], asDatabaseUser: true, allowFailure: true)
        if probe.status != 0 {
            throw ManagedPostgresError.unreachableDataDirectory(dataDirectory.path)
        }
    }

    private func initialize() throws {
        logger.info("creating the database cluster", metadata: ["path": "\(clusterDirectory.path)"])
        let result = try run(binDirectory.appendingPathComponent("initdb").path, [
            "--pgdata", clusterDirectory.path,
            "--username", superuser,
            "--auth-local", "trust",
            "--auth-host", "reject",
            "--encoding", "UTF8",
            "--locale", "C.UTF-8",
        ], asDatabaseUser: true, allowFailure: true)
        if result.status != 0 {
            throw ManagedPostgresError.commandFailed("initdb", result.output)
        }
        // Only the socket, in a folder only the database user can open: trust is then safe.
        let settings = """

            # Vigil's embedded cluster
            listen_addresses = ''
            unix_socket_directories = '\(socketDirectory.path)'
            unix_socket_permissions = 0700
            shared_buffers = 128MB
            """
        let configuration = clusterDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: configuration)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
    }

    private func isServerRunning() -> Bool {
        let result = try? run(binDirectory.appendingPathComponent("pg_ctl").path,
                              ["status", "--pgdata", clusterDirectory.path], asDatabaseUser: true, allowFailure: true)
        return result?.status == 0
    }

    private func startServer() throws {
        let result = try run(binDirectory.appendingPathComponent("pg_ctl").path, [
            "start", "--pgdata", clusterDirectory.path, "--log", logFile.path, "--wait", "--timeout", "60",
            "--silent", "-o", (["-c max_connections=\(maxConnections)"] + serverSettings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" })
                .joined(separator: " "),
        ], asDatabaseUser: true, allowFailure: true)
        if result.status != 0 {
            let tail = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5)
                .joined(separator: "\n") ?? ""
            throw ManagedPostgresError.commandFailed("pg_ctl start", result.output + tail)
        }
        logger.info("database server started", metadata: ["socket": "\(socketDirectory.path)"])
    }

    private func stopServer() throws {
        let result = try run(binDirectory.appendingPathComponent("pg_ctl").path, [
            "stop", "--pgdata", clusterDirectory.path, "--mode", "fast", "--wait", "--timeout", "60", "--silent",
        ], asDatabaseUser: true, allowFailure: true)
        if result.status != 0 {
            throw ManagedPostgresError.commandFailed("pg_ctl stop", result.output)
        }
        logger.info("database server stopped")
    }

    private func createDatabaseIfMissing() throws {
        let psql = binDirectory.appendingPathComponent("psql").path
        let common = ["--host", socketDirectory.path, "--username", superuser, "--dbname", "postgres",
                      "--no-psqlrc", "--quiet", "--tuples-only", "--no-align"]
        let exists = try run(psql, common + ["--command", "SELECT 1 FROM pg_database WHERE datname = '\(databaseName)'"],
                             asDatabaseUser: true)
        if exists.output.trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            _ = try run(psql, common + ["--command", "CREATE DATABASE \"\(databaseName)\""], asDatabaseUser: true)
            logger.info("database created", metadata: ["database": "\(databaseName)"])
        }
    }

    // MARK: - Processes

    @discardableResult
    private func run(_ executable: String, _ arguments: [String], asDatabaseUser: Bool,
                     allowFailure: Bool = false) throws -> ChildProcess.Result {
        let result = asDatabaseUser && runsAsRoot
            ? try ChildProcess.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
            : try ChildProcess.run(executable, arguments)
        if result.status != 0 && !allowFailure {
            throw ManagedPostgresError.commandFailed(URL(fileURLWithPath: executable).lastPathComponent, result.output)
        }
        return result
    }

    /// The newest installed PostgreSQL ≥ 15 (Debian installs each major under /usr/lib/postgresql/N).
    static func findBinDirectory() throws -> URL {
        if let explicit = ProcessInfo.processInfo.environment["VIGIL_PG_BIN"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .compactMap(Int.init).filter { $0 >= 15 }.sorted()
        for version in versions.reversed() {
            let bin = root.appendingPathComponent("\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) {
                return bin
            }
        }
        throw ManagedPostgresError.serverNotInstalled
    }
}

public enum ManagedPostgresError: Error, CustomStringConvertible {
    case alreadyRunning(String)
    case serverNotInstalled
    case unreachableDataDirectory(String)
    case commandFailed(String, String)

    public var description: String {
        switch self {
        case .alreadyRunning(let path):
            "another Vigil is already using the data folder \(path); stop it first or set VIGIL_DATA_DIR to another folder"
        case .serverNotInstalled:
            "PostgreSQL 15 or newer is not installed (run scripts/install-deps), or set VIGIL_PG_BIN to its bin folder"
        case .unreachableDataDirectory(let path):
            "the postgres user cannot reach \(path): every folder above it must be searchable by others (chmod o+x), or set VIGIL_DATA_DIR elsewhere"
        case .commandFailed(let command, let output):
            "\(command) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }
}

/// An exclusive advisory lock on a file (flock), released by ``unlock()`` or when the process ends.
final class FileLock: Sendable {
    let path: String
    private let descriptor = LockedDescriptor()

    init(path: String) {
        self.path = path
    }

    func tryLock() throws -> Bool {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ManagedPostgresError.commandFailed("open \(path)", String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return false
        }
        descriptor.set(fd)
        return true
    }

    func unlock() {
        if let fd = descriptor.take() {
            flock(fd, LOCK_UN)
            close(fd)
        }
    }
}

/// Holds the lock's file descriptor.
final class LockedDescriptor: Sendable {
    private let value = Mutex<Int32?>(nil)

    func set(_ fd: Int32) {
        value.withLock { $0 = fd }
    }

    func take() -> Int32? {
        value.withLock { current in
            defer { current = nil }
            return current
        }
    }
}
