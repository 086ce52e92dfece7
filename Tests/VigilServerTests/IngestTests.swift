import Crypto
import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import Synchronization
import Testing
import VigilCore
import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Frame ingest over HTTP")
struct IngestTests {
    static let photos = URL(fileURLWithPath: "/usr/share/darknet/data")

    func photo(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Self.photos.appendingPathComponent(name)))
    }

    /// A pushing camera and its device token.
    func pushCamera(_ app: TestApp, name: String = "Front Door") async throws -> (id: String, token: String) {
        let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"\#(name)"}"#)
        return (try #require(created.string("id")), try #require(created.string("device_token")))
    }

    func post(_ app: TestApp, _ bytes: [UInt8], token: String, headers: HTTPFields = [:],
              contentType: String = "image/jpeg") async throws -> TestApp.Reply {
        var fields = headers
        fields[.contentType] = contentType
        return try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: bytes), headers: fields, as: .deviceToken(token))
    }

    func count(_ app: TestApp, _ table: String) async throws -> Int {
        try await app.database.scalar(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table)"), as: Int.self) ?? -1
    }

    @Test("a real photo is stored on disk, recorded, and queued for analysis, all before the 201")
    func accepted() async throws {
        try await TestApp.run { app in
            let camera = try await pushCamera(app)
            let bytes = try photo("dog.jpg")
            let reply = try await post(app, bytes, token: camera.token,
                                       headers: [.init("X-Device-Seq")!: "1", .init("X-Capture-Time")!: "1795000000000"])
            #expect(reply.status == .created, "\(reply.text)")
            let captureId = try #require(reply.string("capture_id"))
            #expect(reply["width"] == .number(768))
            #expect(reply["height"] == .number(576))
            let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            #expect(reply.string("sha256") == sha)

            let uri = try #require(try await app.database.scalar(
                "SELECT storage_uri FROM captures WHERE id = \(UUID(uuidString: captureId)!)", as: String.self))
            #expect(uri.hasPrefix("file:staging/front_door/"))
            #expect(uri.hasSuffix("/\(captureId.lowercased()).jpg"))
            #expect(try app.media.read(uri) == bytes, "the stored file is the frame, byte for byte")
            let status = try await app.database.scalar("SELECT analysis_status || '/' || storage_class FROM captures", as: String.self)
            #expect(status == "queued/staging")
            let job = try await app.database.scalar(
                "SELECT job_type || ' ' || status || ' ' || (payload ->> 'capture_id') FROM jobs", as: String.self)
            #expect(job == "analyze_capture queued \(captureId.lowercased())")
            #expect(try await count(app, "job_transitions") == 1)
            #expect(try await app.database.scalar("SELECT checksum FROM media_files", as: String.self) == sha)
            let seen = try await app.call(.get, "/api/v1/cameras/\(camera.id)")
            #expect(seen.string("status") == "online")
            #expect(seen["last_seen_at"] != nil)

            let latest = try await app.call(.get, "/api/v1/cameras/front_door/latest.jpg")
            #expect(latest.headers[.contentType] == "image/jpeg")
            #expect(latest.bytes == bytes, "the newest frame, byte for byte")
        }
    }

    @Test("multipart/form-data with an 'image' field and the frame's fields works like a raw body")
    func multipart() async throws {
        try await TestApp.run { app in
            let camera = try await pushCamera(app)
            let boundary = "vigil-test-\(UUID().uuidString)"
            let image = try photo("person.jpg")
            var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"device_seq\"\r\n\r\n42\r\n".utf8)
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"frame.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
            body += image + Array("\r\n--\(boundary)--\r\n".utf8)
            let reply = try await post(app, body, token: camera.token, contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply["width"] == .number(640))
            #expect(try await app.database.scalar("SELECT device_seq FROM captures", as: Int64.self) == 42)
            let uri = try #require(try await app.database.scalar("SELECT storage_uri FROM captures", as: String.self))
            #expect(try app.media.read(uri) == image)

            let noImage = try await post(app, Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--\(boundary)--".utf8),
                                         token: camera.token, contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(noImage.errorCode == "missing_image")
            let broken = try await post(app, Array("garbage".utf8), token: camera.token, contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(broken.errorCode == "invalid_multipart")
        }
    }

    @Test("a repeated sequence number or identical bytes are answered 200 with the first capture, stored once")
    func duplicates() async throws {
        try await TestApp.run { app in
            let camera = try await pushCamera(app)
            let first = try await post(app, try photo("dog.jpg"), token: camera.token, headers: [.init("X-Device-Seq")!: "7"])
            let id = try #require(first.string("capture_id"))
            let sameSeq = try await post(app, try photo("person.jpg"), token: camera.token, headers: [.init("X-Device-Seq")!: "7"])
            #expect(sameSeq.status == .ok)
            #expect(sameSeq.string("capture_id") == id)
            #expect(sameSeq["duplicate"] == .bool(true))
            let sameBytes = try await post(app, try photo("dog.jpg"), token: camera.token, headers: [.init("X-Device-Seq")!: "8"])
            #expect(sameBytes.string("capture_id") == id)
            app.clock.advance(by: 3600)
            let later = try await post(app, try photo("dog.jpg"), token: camera.token, headers: [.init("X-Device-Seq")!: "9"])
            #expect(later.status == .created, "the same picture an hour later is a new frame")
            #expect(try await count(app, "captures") == 2)
            #expect(try await count(app, "jobs") == 2)

            // Ten concurrent copies of one new frame: one stored.
            let bytes = try photo("horses.jpg")
            let replies = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await post(app, bytes, token: camera.token, headers: [.init("X-Device-Seq")!: "10"]).string("capture_id") }
                }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(replies.count == 1)
            #expect(try await count(app, "captures") == 3)
            let files = FileManager.default.enumerator(atPath: app.media.root.path)?.allObjects.compactMap { $0 as? String }
            #expect(files?.filter { $0.hasSuffix(".jpg") }.count == 3, "a repeat's file is removed again")
        }
    }

    @Test("bad frames get precise codes, and nothing is stored", arguments: [
        ("not_a_jpeg", 400), ("truncated_jpeg", 400), ("empty_body", 400), ("too_large", 413), ("unsupported_media_type", 415),
        ("invalid_parameter", 400),
    ])
    func refused(code: String, status: Int) async throws {
        try await TestApp.run(ingestMaxBytes: 150_000) { app in
            let camera = try await pushCamera(app)
            let person = try photo("person.jpg")
            let reply: TestApp.Reply = switch code {
            case "not_a_jpeg": try await post(app, Array("GIF89a not really".utf8), token: camera.token)
            case "truncated_jpeg": try await post(app, Array(person.prefix(person.count / 2)), token: camera.token)
            case "empty_body": try await post(app, [], token: camera.token)
            case "too_large": try await post(app, try photo("dog.jpg"), token: camera.token)
            case "unsupported_media_type": try await post(app, person, token: camera.token, contentType: "text/plain")
            default: try await post(app, person, token: camera.token, headers: [.init("X-Device-Seq")!: "-4"])
            }
            #expect(reply.status.code == status, "\(reply.text)")
            #expect(reply.errorCode == code)
            #expect(try await count(app, "captures") == 0)
            #expect(try await count(app, "jobs") == 0)
            let files = FileManager.default.enumerator(atPath: app.media.root.path)?.allObjects.compactMap { $0 as? String }
                .filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".tmp") } ?? []
            #expect(files.isEmpty, "no file left behind: \(files)")
        }
    }

    @Test("devices are who their token says; API keys need ingest rights and a known device")
    func credentials() async throws {
        try await TestApp.run { app in
            let camera = try await pushCamera(app)
            let other = try await pushCamera(app, name: "Back Yard")
            let person = try photo("person.jpg")
            #expect(try await post(app, person, token: "vgd_" + String(repeating: "0", count: 43)).errorCode == "invalid_device_token")
            #expect(try await post(app, person, token: camera.token, headers: [.init("X-Device-Id")!: "back_yard"]).errorCode == "device_mismatch")

            let client = try await app.apiKey(role: "api_client")
            let viaKey = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: person),
                                            headers: [.contentType: "image/jpeg", .init("X-Device-Id")!: "back_yard"], as: .apiKey(client))
            #expect(viaKey.status == .created)
            let unknown = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: person),
                                             headers: [.contentType: "image/jpeg", .init("X-Device-Id")!: "garage"], as: .apiKey(client))
            #expect(unknown.errorCode == "unknown_device")
            let viewer = try await app.apiKey(role: "viewer")
            #expect(try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: person),
                                       headers: [.contentType: "image/jpeg", .init("X-Device-Id")!: "garage"], as: .apiKey(viewer))
                .errorCode == "permission_denied")

            // A device token opens nothing but ingest.
            #expect(try await app.call(.get, "/api/v1/cameras", as: .deviceToken(other.token)).errorCode == "permission_denied")

            // Rotation: the old token stops at once, the new one works.
            let rotated = try await app.call(.post, "/api/v1/cameras/\(camera.id)/device-token")
            let newToken = try #require(rotated.string("device_token"))
            #expect(try await post(app, person, token: camera.token).errorCode == "invalid_device_token")
            #expect(try await post(app, try photo("horses.jpg"), token: newToken).status == .created)
            // Switching the camera off stops its token at once too, though the token was just checked.
            #expect(try await app.call(.patch, "/api/v1/cameras/\(camera.id)", json: #"{"is_active":false}"#).status == .ok)
            #expect(try await post(app, try photo("dog.jpg"), token: newToken).errorCode == "invalid_device_token")

            let leaked = try await app.database.scalar(
                "SELECT count(*)::int8 FROM cameras c WHERE c::text LIKE '%' || \(String(newToken.dropFirst(4))) || '%'", as: Int.self)
            #expect(leaked == 0, "only the token's hash is stored")
        }
    }

    @Test("when the database refuses the frame after its file was written, the file is removed")
    func noOrphanFile() async throws {
        try await TestApp.run { app in
            let camera = try await pushCamera(app)
            // Make the database refuse the media row, a step after the file is written.
            try await app.database.transaction { connection in
                try await connection.query("ALTER TABLE media_files ADD CONSTRAINT ck_test_refuse CHECK (file_size < 0) NOT VALID",
                                           logger: TestApp.logger)
            }
            let reply = try await post(app, try photo("dog.jpg"), token: camera.token)
            #expect(reply.status == .internalServerError)
            #expect(try await count(app, "captures") == 0)
            let files = FileManager.default.enumerator(atPath: app.media.root.path)?.allObjects.compactMap { $0 as? String }
                .filter { $0.hasSuffix(".jpg") } ?? []
            #expect(files.isEmpty, "the written file went with the rolled-back rows: \(files)")
        }
    }

    @Test("a crash between writing a frame's file and committing its row leaves no row; the restart's retention removes the file")
    func crashBetweenFileAndCommit() async throws {
        let folder = try TestPaths.temporaryFolder("vigil-crash-media")
        defer { try? FileManager.default.removeItem(at: folder) }
        let stalling = StallingMediaStore(FileSystemMediaStore(root: folder))
        try await TestApp.run(media: stalling) { app in
            let camera = try await pushCamera(app)
            // The frame's file is written, then the process stops before its row is committed.
            let request = Task { try await post(app, try photo("dog.jpg"), token: camera.token) }
            try await eventually("the frame's file is on disk") { try !stalling.inner.files(under: "staging").isEmpty }
            #expect(try await count(app, "captures") == 0)
            #expect(try await count(app, "media_files") == 0)
            #expect(try await count(app, "jobs") == 0)

            // After the restart, retention finds the file that no row names.
            var policy = RetentionPolicy()
            policy.orphanGrace = 0
            let report = try await RetentionRun(database: app.database, media: stalling.inner, policy: policy, logger: TestApp.logger,
                                                freeDiskFraction: { 0.5 }).perform(now: app.clock.now, dryRun: false)
            #expect(report.orphanFilesRemoved == 1)
            #expect(try stalling.inner.files(under: "staging").isEmpty)

            // The stalled request never completes its commit.
            stalling.release(failing: true)
            #expect(try await request.value.status == .internalServerError)
            #expect(try await count(app, "captures") == 0)

            // A file a row names is never swept, however old.
            stalling.release(failing: false)
            #expect(try await post(app, try photo("horses.jpg"), token: camera.token).status == .created)
            let again = try await RetentionRun(database: app.database, media: stalling.inner, policy: policy, logger: TestApp.logger,
                                               freeDiskFraction: { 0.5 }).perform(now: app.clock.now, dryRun: false)
            #expect(again.orphanFilesRemoved == 0)
            #expect(try stalling.inner.files(under: "staging").count == 1)
        }
    }
}

/// A media store whose folder sync (the last step before the rows are committed) waits until
/// released: a process stopped at that point, as far as the disk and the database can tell.
final class StallingMediaStore: MediaStore {
    let inner: FileSystemMediaStore
    private let gate = DispatchSemaphore(value: 0)
    private let state = Mutex<(released: Bool, failing: Bool)>((false, false))

    init(_ inner: FileSystemMediaStore) {
        self.inner = inner
    }

    func release(failing: Bool) {
        let wasReleased = state.withLock { state in
            defer { state = (true, failing) }
            return state.released
        }
        if !wasReleased { gate.signal() }
    }

    func syncFolders(of uris: some Collection<String>) throws {
        if !state.withLock({ $0.released }) {
            gate.wait()
            gate.signal()
        }
        if state.withLock({ $0.failing }) { throw MediaStoreError.io("sync (stopped)", EIO) }
        try inner.syncFolders(of: uris)
    }

    func writeFile(_ bytes: [UInt8], at relativePath: String) throws -> String { try inner.writeFile(bytes, at: relativePath) }
    func adopt(fileAt source: URL, at relativePath: String) throws -> String { try inner.adopt(fileAt: source, at: relativePath) }
    func link(_ uri: String, to relativePath: String) throws -> String { try inner.link(uri, to: relativePath) }
    func read(_ uri: String) throws -> [UInt8] { try inner.read(uri) }
    func remove(_ uri: String) throws { try inner.remove(uri) }
    func exists(_ uri: String) -> Bool { inner.exists(uri) }
    func uri(for relativePath: String) -> String { inner.uri(for: relativePath) }
    func files(under folder: String) throws -> [StoredFile] { try inner.files(under: folder) }
}
