import ArgumentParser
import Foundation
import Logging
import VigilCore
import VigilServer
import VigilStore

struct CameraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera", abstract: "Add, list and remove cameras directly in the database.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a camera.")

        @OptionGroup var common: CommonOptions

        @Option(help: "Display name; its normalized form (Front Door → front_door) is the camera's slug.")
        var name: String

        @Option(help: "ftp_folder | http_push | rtsp | http_snapshot | mjpeg (default: from the URLs given, else http_push).")
        var kind: String?

        @Option(name: .customLong("rtsp-url"), help: "Stream address for an rtsp camera.")
        var rtspURL: String?

        @Option(name: .customLong("snapshot-url"), help: "JPEG or MJPEG address for http_snapshot and mjpeg cameras.")
        var snapshotURL: String?

        @Option(help: "Site id (default: the default site).")
        var site: String?

        @Option(help: "Frames per second to analyse.")
        var fps: Int?

        func run() async throws {
            try await reportingFailures {
                var problems = ValidationReport()
                var sourceKind: CameraSourceKind?
                if let kind {
                    sourceKind = CameraSourceKind(rawValue: kind)
                    problems.check(sourceKind != nil, "--kind", "must be one of \(CameraSourceKind.allowedValues)")
                }
                let siteId = site.flatMap(UUID.init(uuidString:))
                problems.check(site == nil || siteId != nil, "--site", "must be a site UUID")
                let input = CameraInput(siteId: siteId, name: name, sourceKind: sourceKind, rtspUrl: rtspURL,
                                        snapshotUrl: snapshotURL, fps: fps)
                problems.merge(input.validate())
                guard problems.isValid else {
                    throw ExitMessage(problems.problems.map(\.description).joined(separator: "\n"), code: 2)
                }
                let secrets = try common.loadSecrets(try common.loadConfiguration())
                let camera = try await common.withDatabase { database, logger in
                    do {
                        return try await database.transaction { connection in
                            try await CameraRegistration.create(input, id: UUIDv7Generator().next(), on: connection, logger: logger,
                                                                secrets: secrets)
                        }
                    } catch {
                        throw ExitMessage(APIError.describing(error).message)
                    }
                }
                print("\(camera.id.uuidString.lowercased())  \(camera.slug)  \(camera.sourceKind.rawValue)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cameras.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                let cameras = try await common.withDatabase { database, logger in
                    try await database.read { connection in
                        var all: [Camera] = []
                        var page = PageRequest(limit: PageRequest.maximumLimit)
                        while true {
                            let result = try await CameraRepository(connection, logger: logger).list(.init(), page: page)
                            all += result.items
                            guard let next = result.nextCursor else { return all }
                            page.after = next
                        }
                    }
                }
                for camera in cameras.map(\.redacted) {
                    let source = camera.rtspUrl ?? camera.snapshotUrl ?? camera.folderPath ?? camera.deviceId ?? ""
                    print("\(camera.id.uuidString.lowercased())  \(camera.slug)  \(camera.sourceKind.rawValue)  \(camera.status.rawValue)  \(source)")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a camera and its zones.")

        @OptionGroup var common: CommonOptions

        @Argument(help: "The camera's id or slug.")
        var camera: String

        func run() async throws {
            try await reportingFailures {
                let reference = camera
                let removed = try await common.withDatabase { database, logger in
                    try await database.transaction { connection in
                        let cameras = CameraRepository(connection, logger: logger)
                        guard let found = try await cameras.find(reference: reference, forUpdate: true) else { return nil as String? }
                        _ = try await cameras.delete(id: found.id)
                        return found.slug
                    }
                }
                guard let removed else { throw ExitMessage("no camera '\(reference)'") }
                print("removed \(removed)")
            }
        }
    }
}
