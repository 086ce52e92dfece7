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
        registry.makeGauge(name: "vigil_db_pool_connections_in_use").set(Double(now.inUse))
        registry.makeGauge(name: "vigil_db_pool_waiting_requests").set(Double(now.waiting))
        registry.makeGauge(name: "vigil_db_pool_max_connections").set(Double(database.maximumConnections))
        let previous = lastCounters.withLock { last in
            defer { last = now }
            return last
        }
        registry.makeCounter(name: "vigil_db_pool_acquired_total").increment(by: Int64(max(0, now.acquired - previous.acquired)))
        registry.makeCounter(name: "vigil_db_pool_acquire_failures_total")
            .increment(by: Int64(max(0, now.acquireFailures - previous.acquireFailures)))
    }
}
