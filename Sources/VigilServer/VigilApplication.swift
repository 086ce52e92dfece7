import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import VigilCore
import VigilStore

/// Builds Vigil's HTTP application. Production and tests call the same functions.
public enum VigilApplication {
    /// What `serve` does about the schema before taking requests.
    public enum MigrationPolicy: Sendable {
        /// Apply pending migrations (the default).
        case apply
        /// Refuse to start while a migration is pending (`--no-migrate`).
        case requireCurrent
    }

    /// Every route of Vigil, with its middleware.
    public static func buildRouter(database: Database, secrets: SecretBox, registry: PrometheusCollectorRegistry,
                                   role: ServerConfiguration.Role = .all, ids: UUIDv7Generator = UUIDv7Generator(),
                                   logger: Logger) -> Router<VigilRequestContext> {
        let router = Router(context: VigilRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: HTTPMetricsMiddleware(registry: registry))
        router.add(middleware: ErrorMiddleware())

        HealthController(database: database, migrator: Migrator(logger: logger), databaseTimeout: .seconds(3))
            .addRoutes(to: router)
        MetricsController(registry: registry, database: database).addRoutes(to: router)
        guard role.servesAPI else { return router }

        OpenAPIController().addRoutes(to: router)
        let api = router.group("/api/v1")
        SitesController(database: database, ids: ids).addRoutes(to: api)
        DVRsController(database: database, ids: ids, secrets: secrets).addRoutes(to: api)
        CamerasController(database: database, ids: ids).addRoutes(to: api)
        CameraZonesController(database: database, ids: ids).addRoutes(to: api)
        return router
    }

    /// The application: the router, the database pool as a service, and the schema step before serving.
    public static func build(configuration: ServerConfiguration, database: Database, secrets: SecretBox,
                             registry: PrometheusCollectorRegistry, migrationPolicy: MigrationPolicy = .apply, logger: Logger)
        -> Application<RouterResponder<VigilRequestContext>> {
        let router = buildRouter(database: database, secrets: secrets, registry: registry, role: configuration.role, logger: logger)
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Vigil"),
            services: [database.client],
            logger: logger)
        app.beforeServerStarts {
            try await prepareSchema(database: database, policy: migrationPolicy, logger: logger)
        }
        return app
    }

    /// Applies pending migrations, or fails naming them when the policy forbids it.
    public static func prepareSchema(database: Database, policy: MigrationPolicy, logger: Logger) async throws {
        let migrator = Migrator(logger: logger)
        switch policy {
        case .apply:
            let applied = try await migrator.migrate(database)
            logger.info("schema is current", metadata: ["applied_now": "\(applied.map(\.label))"])
        case .requireCurrent:
            let status = try await migrator.status(database)
            guard status.isCurrent else { throw MigrationError.pending(status.pending.map(\.label)) }
        }
    }
}
