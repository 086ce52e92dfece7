import Hummingbird
import Prometheus

/// Counts requests and measures their duration by method, route pattern and status.
///
/// The route is the pattern (`/api/v1/cameras/{id}`), never the raw path, so the number of
/// series stays bounded whatever clients send.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let registry: PrometheusCollectorRegistry

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
        registry.makeCounter(name: "vigil_http_requests_total", labels: labels).increment()
        registry.makeDurationHistogram(name: "vigil_http_request_duration_seconds", labels: labels, buckets: Self.buckets)
            .recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
        return response
    }
}
