import Hummingbird
import Prometheus
import Synchronization
import VigilStore

/// `GET /metrics`: Prometheus text exposition of HTTP and database-pool metrics.
final class MetricsController: Sendable {
    let registry: PrometheusCollectorRegistry
    let database: Database
    private let lastCounters = Mutex(PoolCounters())

    init(registry: PrometheusCollectorRegistry, database: Database) {
        self.registry = registry
        self.database = database
    }

    /// Scrapers authenticate with an API key (Prometheus's `authorization` setting sends it as a bearer token).
    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/metrics", .permission(.systemRead), use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: VigilRequestContext) async throws -> Response {
        recordPoolState()
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    /// Copies the pool's counts into the registry at scrape time.
    private func recordPoolState() {
        let now = database.poolCounters
        registry.makeGauge(descriptor: Self.inUse).set(Double(now.inUse))
        registry.makeGauge(descriptor: Self.waiting).set(Double(now.waiting))
        registry.makeGauge(descriptor: Self.maximum).set(Double(database.maximumConnections))
        let previous = lastCounters.withLock { last in
            defer { last = now }
            return last
        }
        registry.makeCounter(descriptor: Self.acquired).increment(by: Int64(max(0, now.acquired - previous.acquired)))
        registry.makeCounter(descriptor: Self.acquireFailures)
            .increment(by: Int64(max(0, now.acquireFailures - previous.acquireFailures)))
    }

    private static func pool(_ name: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "vigil", subsystem: "db_pool", metricName: name, unitName: unit, helpText: help)
    }

    static var inUse: MetricNameDescriptor {
        pool("connections_in_use", help: "Database connections lent out now.")
    }
    static var waiting: MetricNameDescriptor {
        pool("waiting_requests", help: "Requests waiting for a database connection now.")
    }
    static var maximum: MetricNameDescriptor {
        pool("max_connections", help: "The database connection pool's size.")
    }
    static var acquired: MetricNameDescriptor {
        pool("acquired", unit: "total", help: "Database connections lent out.")
    }
    static var acquireFailures: MetricNameDescriptor {
        pool("acquire_failures", unit: "total", help: "Requests for a database connection that failed or timed out.")
    }
}
