import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport
import VigilVision

/// The default models, loaded once for every test of the process.
enum TestModels {
    static let objectDetector: LocalObjectDetector = {
        let path = TestPaths.packageRoot.appendingPathComponent(".vendor/models/yolox_nano.onnx").path
        do {
            return LocalObjectDetector(model: try ONNXObjectDetector(modelPath: path, threads: 2), concurrentFrames: 2)
        } catch {
            fatalError("the default model does not load (scripts/install-deps fetches it): \(error)")
        }
    }()

    /// One thread per inference: tests run side by side on two cores, and a test waiting on a
    /// timer must not starve behind models.
    static let faceEngine: FaceEngine = {
        let models = TestPaths.packageRoot.appendingPathComponent(".vendor/models")
        do {
            return FaceEngine(analysis: FaceAnalysis(
                detector: try YuNetFaceDetector(modelPath: models.appendingPathComponent("yunet_2023mar.onnx").path, threads: 1),
                recognizer: try FaceRecognizer(modelPath: models.appendingPathComponent("sface_2021dec.onnx").path, threads: 1)),
                concurrentFrames: 2)
        } catch {
            fatalError("the face models do not load (scripts/install-deps fetches them): \(error)")
        }
    }()
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = TestDatabases.testClockStart) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A Vigil application on a database of its own, driven in-process through HummingbirdTesting.
///
/// Calls are made as a super-admin API key unless they say otherwise.
struct TestApp {
    let client: any TestClientProtocol
    let database: Database
    let secrets: SecretBox
    let clock: TestClock
    let policy: AccessPolicy
    /// The super-admin key calls use by default.
    let adminKey: String
    let media: FileSystemMediaStore
    /// The first administrator's token, issued at start when there is none.
    let setupToken: SetupToken

    enum Caller {
        case admin
        case anonymous
        case apiKey(String)
        case bearer(String)
        case headers(HTTPFields)
        case deviceToken(String)
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    static func run(withAdministrator: Bool = true, loginThrottle: LoginThrottlePolicy = LoginThrottlePolicy(),
                    ingestMaxBytes: Int = 8 << 20, media customMedia: (any MediaStore)? = nil, live: Bool = false,
                    faceEngine: FaceEngine? = TestModels.faceEngine, _ body: @escaping @Sendable (TestApp) async throws -> Void) async throws {
        try await TestDatabases.shared.withDatabase { location in
            let mediaFolder = try TestPaths.temporaryFolder("vigil-media")
            defer { try? FileManager.default.removeItem(at: mediaFolder) }
            let media = FileSystemMediaStore(root: mediaFolder)
            let logger = Self.logger
            // Tests run side by side on two cores, some of them running models: a connection can be slow
            // to come. The production timeout is tested on its own (PlatformTests).
            let database = Database(location: location, maximumConnections: 4, acquireTimeout: .seconds(30), logger: logger)
            let secrets = try SecretBox(key: SymmetricKey(size: .bits256))
            let clock = TestClock()
            let services = AppServices(database: database, secrets: secrets, media: customMedia ?? media,
                                       registry: PrometheusCollectorRegistry(), now: { clock.now }, loginThrottle: loginThrottle,
                                       ingestMaxBytes: ingestMaxBytes, objectDetector: TestModels.objectDetector,
                                       faceEngine: faceEngine)
            let policy = VigilApplication.buildRouter(services, logger: logger).policy
            // The api role: tests drive background work (retention) themselves, with their own clock.
            var configuration = ServerConfiguration()
            configuration.role = .api
            let app = VigilApplication.build(configuration: configuration, services: services, logger: logger)
            try await app.test(live ? .live : .router) { client in
                var adminKey = ""
                if withAdministrator {
                    adminKey = try await Self.seedAdministrator(database: database, logger: logger)
                }
                try await body(TestApp(client: client, database: database, secrets: secrets, clock: clock, policy: policy,
                                       adminKey: adminKey, media: media, setupToken: services.setupToken))
            }
        }
    }

    /// A super administrator (with a hash no password matches: tests that sign in make their own
    /// users) and a super-admin API key.
    static func seedAdministrator(database: Database, logger: Logger) async throws -> String {
        try await database.transaction { connection in
            let role = try await RoleRepository(connection, logger: logger).find(name: "super_admin")!
            _ = try await UserRepository(connection, logger: logger).create(
                id: UUIDv7Generator().next(), username: "root", email: "root@example.test", passwordHash: "!", roleId: role.id)
        }
        return try await Accounts.createAPIKey(name: "tests", roleName: "super_admin", expiresAt: nil, actor: "tests",
                                               createdBy: nil, database: database, logger: logger).text
    }

    /// An API key acting with `role`.
    func apiKey(role: String, name: String? = nil) async throws -> String {
        try await Accounts.createAPIKey(name: name ?? "\(role)-key", roleName: role, expiresAt: nil, actor: "tests",
                                        createdBy: nil, database: database, logger: Self.logger).text
    }

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        /// The body as it came, for images.
        var bytes: [UInt8]

        var text: String { String(decoding: bytes, as: UTF8.self) }

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
              headers extra: HTTPFields = [:], as caller: Caller = .admin) async throws -> Reply {
        var headers = extra
        if body != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await send(method, uri, body: body.map { ByteBuffer(string: $0) }, headers: headers, as: caller)
    }

    /// Sends raw bytes, as a camera posting a frame does.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, body: ByteBuffer?, headers extra: HTTPFields = [:],
              as caller: Caller = .admin) async throws -> Reply {
        var headers = extra
        switch caller {
        case .admin: headers[.xAPIKeyForTests] = adminKey
        case .anonymous: break
        case .apiKey(let key): headers[.xAPIKeyForTests] = key
        case .bearer(let token): headers[.authorization] = "Bearer \(token)"
        case .headers(let fields): headers.append(contentsOf: fields)
        case .deviceToken(let token): headers[.init("X-Device-Token")!] = token
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        return Reply(status: response.status, headers: response.headers, bytes: Array(response.body.readableBytesView))
    }

    /// Posts `multipart/form-data`, as a browser uploading photos does.
    @discardableResult
    func upload(_ uri: String, parts: [MultipartFormData.Part], as caller: Caller = .admin) async throws -> Reply {
        let boundary = "vigil-test-\(UUID().uuidString)"
        return try await send(.post, uri, body: ByteBuffer(bytes: MultipartFormData.encode(parts, boundary: boundary)),
                              headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], as: caller)
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

extension HTTPField.Name {
    static let xAPIKeyForTests = Self("X-API-Key")!
}
