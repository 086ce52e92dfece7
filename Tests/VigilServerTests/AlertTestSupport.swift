import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// Local stand-ins for the services notifications go to: a webhook receiver, the Telegram Bot
/// API and the WhatsApp Cloud API, answering in their shapes, from a script when one is given.
final class FakeServices: Sendable {
    enum Reply: Sendable {
        case ok
        case status(Int, body: String, headers: [String: String] = [:])
        case silence(Duration)
    }

    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: Data

        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private let state = Mutex<(scripts: [String: [Reply]], received: [Received])>(([:], []))

    /// Replies for requests whose path contains `pathPart`, in turn; after them, success.
    func script(_ pathPart: String, _ replies: [Reply]) {
        state.withLock { $0.scripts[pathPart, default: []] += replies }
    }

    var received: [Received] { state.withLock { $0.received } }

    func received(_ pathPart: String) -> [Received] { received.filter { $0.path.contains(pathPart) } }

    static func success(for path: String) -> String {
        if path.contains("/bot") {
            return #"{"ok":true,"result":{"message_id":17,"chat":{"id":-100123,"type":"group"},"date":1795000000}}"#
        }
        if path.hasSuffix("/messages") {
            return #"{"messaging_product":"whatsapp","contacts":[{"input":"+6591234567","wa_id":"6591234567"}],"messages":[{"id":"wamid.HBgL"}]}"#
        }
        return #"{"received":true}"#
    }

    func run(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let router = Router()
        router.post("**") { request, context -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            let path = request.uri.path
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }  // lowercase names
            let reply = self.state.withLock { state -> Reply in
                state.received.append(Received(path: path, headers: headers, body: Data(buffer: bytes)))
                guard let key = state.scripts.keys.sorted().first(where: { path.contains($0) && !(state.scripts[$0] ?? []).isEmpty }) else {
                    return .ok
                }
                return state.scripts[key]!.removeFirst()
            }
            switch reply {
            case .ok:
                return Response(status: .ok, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: Self.success(for: path))))
            case .status(let code, let text, let extra):
                var fields: HTTPFields = [.contentType: "application/json"]
                for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
                return Response(status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
            case .silence(let duration):
                try await Task.sleep(for: duration)
                return Response(status: .ok)
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }
}

/// A real SMTP server (Debian's aiosmtpd) on loopback, requiring STARTTLS and a login, with a
/// certificate made for the test; received messages land in a folder.
struct TestMailServer {
    let server: TestServer
    let folder: URL
    let caFile: String
    let security: String
    static let user = "vigil"
    static let password = "mail-s3cret"

    static func start(security: String = "starttls") async throws -> TestMailServer {
        let folder = try TestPaths.temporaryFolder("vigil-mail")
        let maildir = folder.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let openssl = try LaunchedProcess.launch(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        guard try await openssl.waitForExit(timeout: .seconds(60)) == 0 else { throw TestAppError("openssl failed: \(openssl.output)") }
        let port = try freeLocalPort()
        let script = TestPaths.packageRoot.appendingPathComponent("Tests/VigilServerTests/Fixtures/smtp-server.py").path
        let server = try await TestServer("/usr/bin/python3", [script, "\(port)", maildir.path, cert, key, user, password, security],
                                           port: port)
        return TestMailServer(server: server, folder: folder, caFile: cert, security: security)
    }

    var port: Int { server.port }

    /// The messages received so far, oldest first.
    func messages() throws -> [String] {
        let inbox = folder.appendingPathComponent("inbox")
        return try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { $0.hasSuffix(".eml") }.sorted()
            .map { try String(contentsOf: inbox.appendingPathComponent($0), encoding: .utf8) }
    }

    func stop() async {
        await server.stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// The config of an email channel that sends here.
    func channelConfig(to: String = "owner@home.test") -> String {
        #"{"host":"localhost","port":\#(port),"security":"\#(security)","username":"\#(Self.user)","from":"vigil@home.test","to":["\#(to)"],"ca_file":"\#(caFile)"}"#
    }
}

/// The pipeline of EventPipelineTests with the alert jobs: evaluation and delivery.
struct AlertPipeline {
    let events: EventPipelineTests.Pipeline
    let evaluate: EvaluateAlertsHandler
    let deliver: DeliverNotificationHandler
    let worker: JobWorker
    var app: TestApp { events.app }

    init(_ app: TestApp, eventSettings: EventSettings = EventSettings(), faces: FaceEngine? = nil) {
        events = EventPipelineTests.Pipeline(app, events: eventSettings, faces: faces)
        evaluate = EvaluateAlertsHandler(database: app.database, now: { app.clock.now })
        deliver = DeliverNotificationHandler(database: app.database, media: app.media, secrets: app.secrets, now: { app.clock.now },
                                             linkBase: "https://vigil.home.test")
        worker = JobWorker(settings: .init(workerId: "alerts-test"), handlers: [evaluate, deliver], database: app.database,
                           now: { app.clock.now }, random: { 0.5 }, logger: TestApp.logger)
    }

    /// Runs evaluations until none is queued; returns how many ran.
    @discardableResult
    func evaluateAll() async throws -> Int {
        var count = 0
        while try await worker.runNext(evaluate) { count += 1 }
        return count
    }

    /// Runs the deliveries that are due; returns how many ran.
    @discardableResult
    func deliverDue() async throws -> Int {
        var count = 0
        while try await worker.runNext(deliver) { count += 1 }
        return count
    }

    /// Frames analysed, events judged, alerts evaluated and sent.
    func settle() async throws {
        try await events.analyse()
        try await events.judgeAll()
        try await evaluateAll()
        try await deliverDue()
    }
}

extension TestApp {
    /// Creates a channel and returns its id.
    func createChannel(name: String, type: String, config: String, credential: String? = nil) async throws -> String {
        let credentialField = credential.map { #","credential":"\#($0)""# } ?? ""
        let reply = try await call(.post, "/api/v1/notification-channels", json: """
            {"name":"\(name)","channel_type":"\(type)","config":\(config)\(credentialField)}
            """)
        guard reply.status == .created, let id = reply.string("id") else { throw TestAppError("channel not created: \(reply.status) \(reply.text)") }
        return id
    }

    /// Creates a rule and returns its id.
    func createRule(_ body: String) async throws -> String {
        let reply = try await call(.post, "/api/v1/alert-rules", json: body)
        guard reply.status == .created, let id = reply.string("id") else { throw TestAppError("rule not created: \(reply.status) \(reply.text)") }
        return id
    }

    func alerts() async throws -> [[String: JSONValue]] {
        try await call(.get, "/api/v1/alerts?limit=500").items.compactMap(\.objectValue)
    }
}

/// Checks a webhook's signature as a receiver would.
func verifyWebhook(_ request: FakeServices.Received, secret: String) -> Bool {
    guard let timestamp = request.headers["x-vigil-timestamp"].flatMap(Int.init), let signature = request.headers["x-vigil-signature"] else {
        return false
    }
    var signed = Data("\(timestamp).".utf8)
    signed.append(request.body)
    let expected = "sha256=" + HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        .map { String(format: "%02x", $0) }.joined()
    return signature == expected
}
