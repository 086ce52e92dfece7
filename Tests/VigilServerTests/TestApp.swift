import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

/// A Vigil application on a database of its own, driven in-process through HummingbirdTesting.
struct TestApp {
    let client: any TestClientProtocol
    let database: Database
    let secrets: SecretBox

    static func run(_ body: @escaping @Sendable (TestApp) async throws -> Void) async throws {
        let location = try await TestDatabases.shared.create()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = Database(location: location, maximumConnections: 8, logger: logger)
        let secrets = try SecretBox(key: SymmetricKey(size: .bits256))
        let app = VigilApplication.build(configuration: ServerConfiguration(), database: database, secrets: secrets,
                                         registry: PrometheusCollectorRegistry(), logger: logger)
        do {
            try await app.test(.router) { client in
                try await body(TestApp(client: client, database: database, secrets: secrets))
            }
        } catch {
            try? await TestDatabases.shared.drop(location)
            throw error
        }
        try await TestDatabases.shared.drop(location)
    }

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var text: String

        var json: JSONValue {
            (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
        }

        /// `error.code` of an error body.
        var errorCode: String? {
            guard case .string(let code)? = json.objectValue?["error"]?.objectValue?["code"] else { return nil }
            return code
        }

        subscript(_ key: String) -> JSONValue? { json.objectValue?[key] }

        func string(_ key: String) -> String? {
            if case .string(let value)? = self[key] { return value }
            return nil
        }

        var items: [JSONValue] {
            if case .array(let items)? = self["items"] { return items }
            return []
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try APIJSON.decoder.decode(T.self, from: Data(text.utf8))
        }
    }

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, json body: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        if body != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: headers,
                                                body: body.map { ByteBuffer(string: $0) })
        return Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    /// Creates a camera and returns its id.
    func createCamera(_ body: String) async throws -> String {
        let reply = try await call(.post, "/api/v1/cameras", json: body)
        guard reply.status == .created, let id = reply.string("id") else {
            throw TestAppError("camera not created: \(reply.status) \(reply.text)")
        }
        return id
    }
}

struct TestAppError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
