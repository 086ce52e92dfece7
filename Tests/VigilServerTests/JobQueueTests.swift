import Foundation
import Logging
import Synchronization
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// A job handler for tests, its behaviour given as a closure.
struct TestJobHandler: JobHandler {
    let type: String
    let body: @Sendable (JobRepository.Claimed, JobRunContext) async throws -> JSONValue?

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        try await body(job, context)
    }
}

struct TestJobFailure: Error, CustomStringConvertible {
    var description: String { "the test job failed on purpose" }
}

/// A latch a test opens to let a blocked job finish.
final class Gate: Sendable {
    private let opened = Mutex(false)

    func open() { opened.withLock { $0 = true } }

    func wait() async {
        while !opened.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

@Suite("Job queue")
struct JobQueueTests {
    func enqueue(_ app: TestApp, type: String, priority: Int = 2, maxAttempts: Int = 3, payload: JSONValue = .object([:])) async throws -> UUID {
        let id = UUIDv7Generator().next()
        try await app.database.transaction {
            try await JobRepository($0, logger: TestApp.logger).enqueue(
                id: id, type: .init(rawValue: type), queue: "test", priority: priority, payload: payload, maxAttempts: maxAttempts,
                at: app.clock.now)
        }
        return id
    }

    func worker(_ app: TestApp, id: String, handlers: [any JobHandler], concurrency: Int = 1, heartbeat: Duration = .seconds(3600),
                idlePoll: Duration = .milliseconds(100)) -> JobWorker {
        var settings = JobWorker.Settings(workerId: id)
        settings.concurrency = Dictionary(uniqueKeysWithValues: handlers.map { ($0.type, concurrency) })
        settings.heartbeat = heartbeat
        settings.idlePoll = idlePoll
        settings.reapInterval = .seconds(3600)
        settings.retry = JobRetryPolicy(base: 5, maximum: 60, jitter: 0.2)
        return JobWorker(settings: settings, handlers: handlers, database: app.database, now: { app.clock.now }, random: { 0.5 },
                         logger: TestApp.logger)
    }

    func status(_ app: TestApp, _ id: UUID) async throws -> String? {
        try await app.database.scalar("SELECT status || '/' || attempt_number FROM jobs WHERE id = \(id)", as: String.self)
    }

    @Test("the most urgent job goes first, then the oldest")
    func order() async throws {
        try await TestApp.run { app in
            let order = Mutex<[String]>([])
            let handler = TestJobHandler(type: "test.order") { job, _ in
                if case .string(let name)? = job.payload.objectValue?["name"] { order.withLock { $0.append(name) } }
                return nil
            }
            _ = try await enqueue(app, type: "test.order", priority: 2, payload: .object(["name": .string("routine, older")]))
            _ = try await enqueue(app, type: "test.order", priority: 0, payload: .object(["name": .string("urgent")]))
            _ = try await enqueue(app, type: "test.order", priority: 2, payload: .object(["name": .string("routine, newer")]))
            let worker = worker(app, id: "w1", handlers: [handler])
            while try await worker.runNext(handler) {}
            #expect(order.withLock { $0 } == ["urgent", "routine, older", "routine, newer"])
        }
    }

    @Test("two workers with three slots each share forty jobs: each runs once, never twice at the same time")
    func sharing() async throws {
        try await TestApp.run { app in
            let running = Mutex<Set<UUID>>([])
            let runs = Mutex<[UUID: Int]>([:])
            let overlaps = Mutex(0)
            let workersSeen = Mutex<Set<String>>([])
            func handler(_ name: String) -> TestJobHandler {
                TestJobHandler(type: "test.share") { job, _ in
                    let clash = running.withLock { !$0.insert(job.id).inserted }
                    if clash { overlaps.withLock { $0 += 1 } }
                    runs.withLock { $0[job.id, default: 0] += 1 }
                    workersSeen.withLock { _ = $0.insert(name) }
                    try await Task.sleep(for: .milliseconds(20))
                    running.withLock { _ = $0.remove(job.id) }
                    return .object(["by": .string(name)])
                }
            }
            for index in 0..<40 { _ = try await enqueue(app, type: "test.share", payload: .object(["n": .number(Double(index))])) }
            let first = worker(app, id: "worker-a", handlers: [handler("worker-a")], concurrency: 3)
            let second = worker(app, id: "worker-b", handlers: [handler("worker-b")], concurrency: 3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await first.run() }
                group.addTask { try await second.run() }
                defer { group.cancelAll() }
                try await eventually("every job completed") {
                    try await app.database.scalar("SELECT count(*)::int8 FROM jobs WHERE status = 'completed'", as: Int.self) == 40
                }
            }
            #expect(runs.withLock { $0.count } == 40)
            #expect(runs.withLock { $0.values.allSatisfy { $0 == 1 } })
            #expect(overlaps.withLock { $0 } == 0)
            #expect(workersSeen.withLock { $0 } == ["worker-a", "worker-b"])
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM job_attempts WHERE status = 'succeeded'", as: Int.self) == 40)
        }
    }

    @Test("a failing job is retried with growing waits, then failed for good with its error kept")
    func retries() async throws {
        try await TestApp.run { app in
            let handler = TestJobHandler(type: "test.flaky") { _, _ in throw TestJobFailure() }
            let id = try await enqueue(app, type: "test.flaky", maxAttempts: 3)
            let worker = worker(app, id: "w1", handlers: [handler])
            #expect(try await worker.runNext(handler))
            #expect(try await status(app, id) == "queued/2")
            let wait = try await app.database.scalar(
                "SELECT extract(epoch FROM next_retry_at - \(app.clock.now))::int8 FROM jobs", as: Int.self)
            #expect(wait == 5)
            #expect(try await !worker.runNext(handler), "not due yet")
            app.clock.advance(by: 5)
            #expect(try await worker.runNext(handler))
            #expect(try await app.database.scalar(
                "SELECT extract(epoch FROM next_retry_at - \(app.clock.now))::int8 FROM jobs", as: Int.self) == 10)
            app.clock.advance(by: 10)
            #expect(try await worker.runNext(handler))
            #expect(try await status(app, id) == "failed/3")

            let detail = try await app.call(.get, "/api/v1/jobs/\(id)")
            #expect(detail.string("error_message") == "the test job failed on purpose")
            #expect(detail.string("error_traceback")?.contains("TestJobFailure") == true)
            guard case .array(let attempts)? = detail["attempts"], case .array(let transitions)? = detail["transitions"] else {
                Issue.record("no attempts or transitions: \(detail.text)")
                return
            }
            #expect(attempts.map { $0.objectValue?["status"] } == Array(repeating: .string("failed"), count: 3))
            #expect(transitions.map { "\($0.objectValue?["from_status"] ?? .null)>\($0.objectValue?["to_status"] ?? .null)" }.count == 7)
            #expect(transitions.last?.objectValue?["to_status"] == .string("failed"))
        }
    }

    @Test("a worker that stops mid-job: the job is taken back after its lease, finishes once elsewhere, and the late result is dropped")
    func stoppedWorker() async throws {
        try await TestApp.run { app in
            let stuck = Gate()
            let blocked = TestJobHandler(type: "test.work") { _, _ in
                await stuck.wait()
                return .object(["by": .string("stopped worker")])
            }
            let healthy = TestJobHandler(type: "test.work") { _, _ in .object(["by": .string("second worker")]) }
            let id = try await enqueue(app, type: "test.work")
            let stopped = worker(app, id: "stopped", handlers: [blocked])
            let second = worker(app, id: "second", handlers: [healthy])
            let holding = Task { try await stopped.runNext(blocked) }
            try await eventually("the first worker holds the job") { try await status(app, id) == "running/1" }

            #expect(try await second.reapOnce() == 0, "the lease has not run out")
            app.clock.advance(by: 61)
            #expect(try await second.reapOnce() == 1)
            #expect(try await status(app, id) == "queued/2")
            app.clock.advance(by: 10)
            #expect(try await second.runNext(healthy))
            #expect(try await status(app, id) == "completed/2")

            stuck.open()
            _ = try await holding.value
            #expect(try await status(app, id) == "completed/2")
            #expect(try await app.database.scalar("SELECT result ->> 'by' FROM jobs", as: String.self) == "second worker")
            let attempts = try await app.database.scalar(
                "SELECT string_agg(status || ':' || worker_id, ',' ORDER BY attempt_number) FROM job_attempts", as: String.self)
            #expect(attempts == "failed:stopped,succeeded:second")
            #expect(try await app.database.scalar(
                "SELECT count(*)::int8 FROM job_transitions WHERE triggered_by = 'timeout'", as: Int.self) == 1)
        }
    }

    @Test("a notification wakes an idle worker; progress shows; cancelling stops a running job; a cancelled job can be retried")
    func cancelAndRetry() async throws {
        try await TestApp.run { app in
            let stopped = Mutex(false)
            let handler = TestJobHandler(type: "test.long") { _, context in
                context.report(percent: 40, step: "halfway")
                await context.log("info", "started the long part")
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    stopped.withLock { $0 = true }
                    throw error
                }
                return nil
            }
            // Idle polling is an hour: only the notification can wake it.
            let worker = worker(app, id: "w1", handlers: [handler], heartbeat: .milliseconds(100), idlePoll: .seconds(3600))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                defer { group.cancelAll() }
                try await eventually("the worker listens") {
                    try await app.database.scalar(
                        "SELECT count(*)::int8 FROM pg_stat_activity WHERE query LIKE 'LISTEN%vigil_jobs%' AND datname = current_database()",
                        as: Int.self) == 1
                }
                let id = try await enqueue(app, type: "test.long")
                try await eventually("progress is recorded") {
                    try await app.call(.get, "/api/v1/jobs/\(id)")["progress_percent"] == .number(40)
                }
                let running = try await app.call(.get, "/api/v1/jobs/\(id)")
                #expect(running.string("current_step") == "halfway")
                #expect(running.string("locked_by") == "w1")

                let cancelled = try await app.call(.post, "/api/v1/jobs/\(id)/cancel")
                #expect(cancelled.string("status") == "cancelled")
                try await eventually("the running job stopped") { stopped.withLock { $0 } }
                #expect(try await status(app, id) == "cancelled/1", "stopping did not turn the cancellation into a failure")
                #expect(try await app.call(.post, "/api/v1/jobs/\(id)/cancel").errorCode == "job_finished")

                let retried = try await app.call(.post, "/api/v1/jobs/\(id)/retry")
                #expect(retried.string("status") == "queued" || retried.string("status") == "running")
                #expect(retried["attempt_number"] == .number(2))
                let listed = try await app.call(.get, "/api/v1/jobs?job_type=test.long")
                #expect(listed.items.count == 1)
                let detail = try await app.call(.get, "/api/v1/jobs/\(id)")
                guard case .array(let logs)? = detail["logs"], case .array(let transitions)? = detail["transitions"] else {
                    Issue.record("no logs: \(detail.text)")
                    return
                }
                #expect(logs.first?.objectValue?["message"] == .string("started the long part"))
                #expect(transitions.contains { $0.objectValue?["triggered_by"] == .string("user") })
                #expect(try await app.call(.post, "/api/v1/jobs/\(id)/retry").errorCode == "job_not_retryable")
                #expect(try await app.call(.get, "/api/v1/jobs/\(UUID())").errorCode == "job_not_found")
                #expect(try await app.call(.get, "/api/v1/jobs", as: .apiKey(try await app.apiKey(role: "viewer"))).errorCode
                        == "permission_denied")
            }
        }
    }
}
