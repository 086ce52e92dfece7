import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import VigilCore
import VigilServer
import VigilStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: the API on HTTP and, with no VIGIL_DATABASE_URL, the embedded PostgreSQL.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).")
    var host: String?

    @Option(help: "Port to listen on (default 8080).")
    var port: Int?

    @Option(help: "all | api | worker.")
    var role: String?

    @Flag(name: .customLong("no-migrate"), help: "Refuse to start while a migration is pending instead of applying it.")
    var noMigrate = false

    func run() async throws {
        try await reportingFailures {
            let configuration = try common.loadConfiguration(host: host, port: port, role: role)
            let logger = Bootstrap.logging(configuration)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

            let runtime = try DatabaseRuntime.open(configuration, use: .own, logger: logger)
            defer {
                if let cluster = runtime.ownedCluster {
                    do { try cluster.stop() } catch { logger.error("stopping the database failed", metadata: ["error": .error(error)]) }
                }
            }
            let secrets = try common.loadSecrets(configuration)
            JPEGInspector.maximumPixels = configuration.maximumPixels
            var services = AppServices(database: runtime.database, secrets: secrets,
                                       media: FileSystemMediaStore(root: configuration.dataDirectory),
                                       registry: registry, secureCookies: configuration.secureCookies,
                                       ingestMaxBytes: configuration.ingestMaxBytes,
                                       objectDetector: VigilApplication.loadObjectDetector(configuration: configuration, logger: logger),
                                       faceEngine: VigilApplication.loadFaceEngine(configuration: configuration, logger: logger),
                                       linkBase: configuration.linkBase)
            services.trustedProxies = configuration.trustedProxies
            services.deepStackOpenTo = configuration.deepStackOpenTo
            let app = VigilApplication.build(configuration: configuration, services: services,
                                             migrationPolicy: noMigrate ? .requireCurrent : .apply, logger: logger)
            try await app.runService()
        }
    }
}
