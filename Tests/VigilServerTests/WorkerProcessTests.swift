import Foundation
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// `vigil serve --role worker` processes sharing one database: each job runs once, and a job
/// whose worker dies is taken back when its lease runs out and finished by another.
@Suite("Worker processes")
struct WorkerProcessTests {
    /// Starts a worker on the test application's database and media folder.
    func worker(_ app: TestApp, lease: Int = 60) throws -> LaunchedProcess {
        try LaunchedProcess.launch(TestPaths.vigilExecutable, ["serve", "--role", "worker"], environment: [
            "VIGIL_DATABASE_URL": ProcessTests.databaseURL(app.database.location), "VIGIL_DATA_DIR": app.media.root.path,
            "VIGIL_PORT": "\(try freeLocalPort())", "VIGIL_JOB_LEASE": "\(lease)", "VIGIL_INFERENCE_THREADS": "1",
        ])
    }

    func motionlessCamera(_ app: TestApp) async throws -> String {
        let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Gate","config":{"motion":{"enabled":false}}}"#)
        return try #require(created.string("device_token"))
    }

    func push(_ app: TestApp, token: String, _ bytes: [UInt8]) async throws -> String {
        let reply = try await app.send(.post, "/api/v1/ingest/frame", body: .init(bytes: bytes), headers: [.contentType: "image/jpeg"],
                                       as: .deviceToken(token))
        return try #require(reply.string("capture_id"))
    }

    @Test("two workers share the frames of a camera: every job runs exactly once, and both take part")
    func sharing() async throws {
        try await TestApp.run { app in
            let token = try await motionlessCamera(app)
            let first = try worker(app), second = try worker(app)
            defer {
                first.signal(SIGKILL)
                second.signal(SIGKILL)
            }
            let frames = 16
            for quality in 0..<frames { _ = try await push(app, token: token, try AnalysisTests.dog(quality: 60 + 2 * quality)) }
            // A job is marked completed just after its frame is marked processed: wait for both.
            try await eventually("every frame is analysed", timeout: .seconds(120)) {
                let processed = try await app.database.scalar(
                    "SELECT count(*)::int8 FROM captures WHERE analysis_status = 'processed'", as: Int.self)
                let completed = try await app.database.scalar(
                    "SELECT count(*)::int8 FROM jobs WHERE status = 'completed' AND job_type = 'analyze_capture'", as: Int.self)
                return processed == frames && completed == frames
            }
            let attempts = try await app.database.scalar("""
                SELECT count(*)::int8 || ' ' || count(DISTINCT job_id)::int8 || ' ' || count(DISTINCT worker_id)::int8
                FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.job_type = 'analyze_capture'
                """, as: String.self)
            #expect(attempts == "\(frames) \(frames) 2", "one attempt per job, by two workers")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM jobs WHERE status = 'completed' AND job_type = 'analyze_capture'", as: Int.self) == frames)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM detections WHERE object_type = 'dog'", as: Int.self) == frames,
                    "no frame analysed twice")
        }
    }

    @Test("a worker killed in the middle of a job: its lease runs out, another worker takes the job back and finishes it once")
    func killedWorker() async throws {
        try await TestApp.run { app in
            let token = try await motionlessCamera(app)
            let captureId = try await push(app, token: token, try AnalysisTests.dog(quality: 90))
            // The frame's file becomes a pipe: reading it waits until the test writes into it, so
            // the first worker is surely in the middle of the job when it is killed.
            let uri = try #require(try await app.database.scalar(
                "SELECT storage_uri FROM captures WHERE id = \(UUID(uuidString: captureId)!)", as: String.self))
            let path = try app.media.path(of: uri).path
            try FileManager.default.removeItem(atPath: path)
            #expect(mkfifo(path, 0o600) == 0)

            let doomed = try worker(app, lease: 2)
            @Sendable func holder() async throws -> String? {
                try await app.database.scalar("SELECT status || ' ' || attempt_number || ' ' || coalesce(locked_by, '') FROM jobs WHERE job_type = 'analyze_capture'",
                                              as: String.self)
            }
            try await eventually("the first worker holds the job", timeout: .seconds(60)) {
                try await holder() == "running 1 \(ProcessInfo.processInfo.hostName):\(doomed.pid)"
            }
            doomed.signal(SIGKILL)
            _ = try await doomed.waitForExit(timeout: .seconds(10))

            let rescuer = try worker(app, lease: 2)
            defer { rescuer.signal(SIGKILL) }
            try await eventually("the second worker took the job back", timeout: .seconds(60)) {
                try await holder() == "running 2 \(ProcessInfo.processInfo.hostName):\(rescuer.pid)"
            }
            let writer = try LaunchedProcess.launch(URL(fileURLWithPath: "/bin/sh"), ["-c", "cat \"$0\" > \"$1\"", "/usr/share/darknet/data/dog.jpg", path])
            try await eventually("the job is finished", timeout: .seconds(60)) { try await holder() == "completed 2 " }
            #expect(try await writer.waitForExit(timeout: .seconds(10)) == 0)

            let attempts = try await app.database.scalar("""
                SELECT string_agg(attempt_number || ':' || status || ':' || (worker_id = \("\(ProcessInfo.processInfo.hostName):\(doomed.pid)")),
                                  ',' ORDER BY attempt_number)
                FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE job_type = 'analyze_capture')
                """, as: String.self)
            #expect(attempts == "1:failed:true,2:succeeded:false")
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM job_transitions WHERE triggered_by = 'timeout'", as: Int.self) == 1)
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM detections", as: Int.self) == 3, "the frame's objects, once")
        }
    }
}
