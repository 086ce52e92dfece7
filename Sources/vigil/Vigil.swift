import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import VigilCore
import VigilServer
import VigilStore

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Self-hosted AI video surveillance: cameras in, events and alerts out.",
        discussion: """
            Configuration comes from VIGIL_* environment variables; flags win over them.
              VIGIL_DATA_DIR            where frames and the embedded database live (default ./data)
              VIGIL_DATABASE_URL        use this PostgreSQL server instead of the embedded one
              VIGIL_HOST, VIGIL_PORT    where to listen (default 127.0.0.1:8080)
              VIGIL_ROLE                all | api | worker (default all)
              VIGIL_LOG_FORMAT          text | json (default text)
              VIGIL_LOG_LEVEL           trace ... critical (default info)
              VIGIL_DB_MAX_CONNECTIONS  database pool size (default 20)
              VIGIL_MIN_FREE_DISK       below this free disk space the oldest media go (default 5%)
            """,
        subcommands: [Serve.self, Migrate.self, CameraCommand.self, UserCommand.self, APIKeyCommand.self, Simulate.self, RetentionCommand.self, DetectCommand.self, FacesCommand.self],
        defaultSubcommand: nil)
}

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data folder (overrides VIGIL_DATA_DIR).")
    var dataDirectory: String?

    /// For one-shot commands: runs `body` on the database (a running server's embedded cluster,
    /// one started for the command, or `VIGIL_DATABASE_URL`).
    func withDatabase<Result: Sendable>(_ body: @escaping @Sendable (Database, Logger) async throws -> Result) async throws -> Result {
        let configuration = try loadConfiguration()
        let logger = Bootstrap.logging(configuration)
        let runtime = try DatabaseRuntime.open(configuration, use: .joinOrStart, logger: logger)
        return try await runtime.run { database in try await body(database, logger) }
    }

    /// The installation's key for secrets at rest (as `serve` loads it).
    func loadSecrets(_ configuration: ServerConfiguration) throws -> SecretBox {
        do {
            return try SecretBox.load(environmentValue: configuration.secretKey, dataDirectory: configuration.dataDirectory)
        } catch {
            throw ExitMessage("\(error)", code: 78)
        }
    }

    func loadConfiguration(host: String? = nil, port: Int? = nil, role: String? = nil) throws -> ServerConfiguration {
        do {
            return try ServerConfiguration.load(overrides: .init(host: host, port: port, role: role, dataDirectory: dataDirectory))
        } catch {
            throw ExitMessage(error.description, code: 78)
        }
    }
}

/// Prints a message for a person and exits with `code`, without a usage dump.
struct ExitMessage: Error, CustomStringConvertible {
    let description: String
    let code: Int32

    init(_ description: String, code: Int32 = 1) {
        self.description = description
        self.code = code
    }
}

extension AsyncParsableCommand {
    /// Runs `body`, turning known failures into a one-paragraph message and an exit code.
    func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let message as ExitMessage {
            FileHandle.standardError.write(Data("vigil: \(message.description)\n".utf8))
            throw ExitCode(message.code)
        } catch let error as ManagedPostgresError {
            FileHandle.standardError.write(Data("vigil: \(error.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as MigrationError {
            FileHandle.standardError.write(Data("vigil: \(error.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as Accounts.Problems {
            FileHandle.standardError.write(Data("vigil: \(error.description)\n".utf8))
            throw ExitCode(2)
        } catch let error as DatabaseLocationError {
            FileHandle.standardError.write(Data("vigil: \(error.description)\n".utf8))
            throw ExitCode(78)
        }
    }
}

enum Bootstrap {
    /// Sets up logging once for the process; JSON lines when asked.
    static func logging(_ configuration: ServerConfiguration) -> Logger {
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "vigil")
    }
}
