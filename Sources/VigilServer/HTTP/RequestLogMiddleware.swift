import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VigilCore

/// Gives each request an id (the client's `X-Request-Id` when it is sane), echoes it, attaches it
/// to the request's logger, and writes one line per request: method, path, status, duration, id.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestId = Self.acceptableId(request.headers[.xRequestId]) ?? UUID().uuidString.lowercased()
        context.requestId = requestId
        context.userAgent = request.headers[.userAgent].map { String($0.prefix(512)) }
        context.logger[metadataKey: "request_id"] = .string(requestId)
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.xRequestId] = requestId
        let elapsed = ContinuousClock.now - start
        let milliseconds = elapsed.milliseconds
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(String(format: "%.2f", milliseconds)),
        ])
        return response
    }

    /// Accepts ids of 1 to 128 letters, digits, `-`, `_` and `.`; anything else could forge log lines.
    static func acceptableId(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.count),
              value.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) })
        else { return nil }
        return value
    }
}

extension HTTPField.Name {
    static let xRequestId = Self("X-Request-Id")!
}
