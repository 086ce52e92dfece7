import Foundation
import Hummingbird
import VigilCore

/// Refuses query parameters a route does not take, as unknown JSON fields are refused: a client
/// that writes `?start=yesterday` for `?from=` learns of its mistake instead of getting an
/// unfiltered answer. What a route takes is what `openapi.json` declares for it, so the document
/// and the server cannot disagree about it. A query parameter holding U+0000 (`%00`) is refused
/// too: no text column can store it, so it could only ever fail further in. (Path parameters are
/// not percent-decoded, and the HTTP parser refuses a raw NUL.)
struct QueryParameterMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    /// "METHOD /path/{template}" → the query parameters declared for it.
    let declared: [String: Set<String>]

    init(document: Data = OpenAPIController.documentData) {
        var declared: [String: Set<String>] = [:]
        let paths = (try? JSONDecoder().decode(JSONValue.self, from: document))?.objectValue?["paths"]?.objectValue ?? [:]
        for (path, item) in paths {
            for (method, operation) in item.objectValue ?? [:] {
                let names = (operation.objectValue?["parameters"]?.arrayValue ?? []).compactMap { parameter -> String? in
                    guard parameter.objectValue?["in"]?.stringValue == "query" else { return nil }
                    return parameter.objectValue?["name"]?.stringValue
                }
                declared["\(method.uppercased()) \(path)"] = Set(names)
            }
        }
        self.declared = declared
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let (name, _) = request.uri.queryParameters.first(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) }) {
            let field = String(name.split(separator: "\0").joined().prefix(100))
            throw APIError(.badRequest, code: "invalid_parameter", message: "Parameter '\(field)' may not contain the NUL character (%00).",
                           details: [ValidationProblem(field: field, message: "contains the NUL character")])
        }
        // Only routes the document describes; the web UI's files take none it would know of.
        guard let endpoint = context.endpointPath, let known = declared["\(request.method.rawValue) \(endpoint)"] else {
            return try await next(request, context)
        }
        for (name, _) in request.uri.queryParameters where !known.contains(String(name)) {
            let accepted = known.isEmpty ? "this route takes none" : "it takes \(known.sorted().joined(separator: ", "))"
            throw APIError(.badRequest, code: "unknown_parameter", message: "Unknown query parameter '\(name.prefix(100))'; \(accepted).",
                           details: [ValidationProblem(field: String(name.prefix(100)), message: "is not a parameter of this route")])
        }
        return try await next(request, context)
    }
}
