import Foundation
import Hummingbird
import VigilCore

/// An error a client sees: an HTTP status and a stable body
/// `{"error": {"code": "...", "message": "...", "details": [...]}}`.
///
/// `code` is part of the API contract: clients branch on it, so a code never changes meaning.
public struct APIError: HTTPResponseError, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [ValidationProblem]
    /// Seconds to wait before trying again, sent as `Retry-After` (429 and 503 answers).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [ValidationProblem] = [],
                retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retryAfter = retryAfter
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if status == .methodNotAllowed { headers[.allow] = "GET, POST, PATCH, DELETE" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        // DeepStack's clients read a refusal as `{"success": false, "error": "..."}`, whoever refused.
        let body = request.uri.path.hasPrefix("/v1/vision/")
            ? try APIJSON.encode(DeepStackRefusal(error: message, code: code))
            : try APIJSON.encode(Body(error: .init(code: code, message: message,
                                                   details: details.isEmpty ? nil : details.map { .init(field: $0.field, message: $0.message) })))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// A refusal in DeepStack's shape, with Vigil's stable code beside its message.
    struct DeepStackRefusal: Encodable {
        var success = false
        var error: String
        var code: String
    }

    struct Body: Codable {
        struct Content: Codable {
            var code: String
            var message: String
            var details: [Detail]?
        }

        struct Detail: Codable {
            var field: String
            var message: String
        }

        var error: Content
    }

    // MARK: - The common ones

    public static func notFound(_ resource: String, _ reference: String) -> APIError {
        APIError(.notFound, code: "\(resource)_not_found", message: "No \(resource.replacingOccurrences(of: "_", with: " ")) '\(reference)' exists.")
    }

    public static func validation(_ report: ValidationReport) -> APIError {
        let summary = report.problems.map(\.description).joined(separator: "; ")
        return APIError(.unprocessableContent, code: "validation_failed", message: "The request has invalid fields: \(summary)",
                        details: report.problems)
    }

    /// A refusal naming one field and what is wrong with it.
    public static func validation(field: String, _ message: String) -> APIError {
        var report = ValidationReport()
        report.add(field, message)
        return validation(report)
    }

    public static func invalidParameter(_ name: String, _ reason: String) -> APIError {
        APIError(.badRequest, code: "invalid_parameter", message: "Parameter '\(name)' \(reason).",
                 details: [ValidationProblem(field: name, message: reason)])
    }

    /// An image refused by the image-admission rule (``JPEGInspector``): 413 for one that claims
    /// too many pixels, 400 for the rest.
    public init(imageProblem problem: JPEGInspector.Problem) {
        if case .tooLarge = problem {
            self.init(.contentTooLarge, code: problem.code, message: problem.message)
        } else {
            self.init(.badRequest, code: problem.code, message: problem.message)
        }
    }

    public static let internalError = APIError(
        .internalServerError, code: "internal_error",
        message: "Something went wrong on the server; the request id in X-Request-Id helps find it in the log.")

    public static let databaseUnavailable = APIError(
        .serviceUnavailable, code: "database_unavailable", message: "The database cannot be reached right now; try again shortly.")
}
