import Foundation
import Hummingbird

/// `GET /openapi.json`: the OpenAPI 3.1 description of every route, kept in step with the router by a test.
struct OpenAPIController {
    /// The API's description holds no data, so anyone may read it.
    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/openapi.json", .open, use: document)
    }

    static let documentData: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else {
            preconditionFailure("openapi.json is missing from the VigilServer resources")
        }
        return data
    }()

    @Sendable func document(_ request: Request, context: VigilRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(data: Self.documentData)))
    }
}
