import ArgumentParser
import Foundation
import Logging
import VigilCore
import VigilServer
import VigilStore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retention", abstract: "Delete what is past its retention.",
                                                    subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One retention pass: staging frames, expired media, partitions, disk pressure. `serve` does this hourly.")

        @OptionGroup var common: CommonOptions

        @Flag(help: "Run one pass and exit (the only mode; accepted for scripts that say so).")
        var once = false

        @Flag(name: .customLong("dry-run"), help: "Report what would be deleted; change nothing.")
        var dryRun = false

        func run() async throws {
            try await reportingFailures {
                let configuration = try common.loadConfiguration()
                let dryRun = self.dryRun
                let report = try await common.withDatabase { database, logger in
                    var policy = RetentionPolicy()
                    policy.minimumFreeDiskFraction = configuration.minimumFreeDiskFraction
                    let media = FileSystemMediaStore(root: configuration.dataDirectory)
                    let run = RetentionRun(database: database, media: media, policy: policy, logger: logger,
                                           freeDiskFraction: { RetentionRun.freeFraction(of: media.root) })
                    return try await run.perform(now: Date(), dryRun: dryRun)
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
    }
}
