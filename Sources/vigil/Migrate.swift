import ArgumentParser
import Foundation
import Logging
import VigilServer
import VigilStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations, or list them with --status.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "List applied and pending migrations without changing anything.")
    var status = false

    func run() async throws {
        try await reportingFailures {
            let listOnly = status
            let lines = try await common.withDatabase { database, logger in
                let migrator = Migrator(logger: logger)
                if listOnly {
                    let current = try await migrator.status(database)
                    return current.applied.map { "applied  \(String(format: "%04d", $0.version))_\($0.name)  \($0.appliedAt)" }
                        + current.pending.map { "pending  \($0.label)" }
                }
                let applied = try await migrator.migrate(database)
                return applied.isEmpty ? ["the schema is current"] : applied.map { "applied  \($0.label)" }
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
