import Hummingbird
import Prometheus

/// Counts requests and measures their duration by method, route pattern and status.
///
/// The route is the pattern (`/api/v1/cameras/{id}`), never the raw path, so the number of
/// series stays bounded whatever clients send.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let registry: PrometheusCollectorRegistry

    // Descriptors are not Sendable, so each use makes its own (the registry keeps one metric per name).
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "vigil", subsystem: "http", metricName: "requests", unitName: "total",
                             helpText: "HTTP requests answered, by method, route and status.")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "vigil", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                             helpText: "Time to answer HTTP requests, by method, route and status.")
    }
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let labels = [
            ("method", request.method.rawValue),
            ("route", context.endpointPath ?? "unmatched"),
            ("status", String(response.status.code)),
        ]
        registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.buckets)
            .recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
        return response
    }
}
