import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import VigilCore
import VigilStore

/// Runs one type of job.
protocol JobHandler: Sendable {
    var type: String { get }
    /// Does the work; what it returns is kept as the job's result. Throwing fails the attempt
    /// (it is retried while attempts remain). The task is cancelled if the job is cancelled.
    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue?
}

/// An error that another attempt cannot fix (the frame is unreadable, the capture is gone): the
/// job fails at once instead of being retried.
protocol PermanentJobFailure: Error {}

/// An error after which the next attempt should wait as long as the other side asked
/// (a service's `Retry-After`) rather than the usual back-off.
protocol RetryAfterJobFailure: Error {
    var retryAfter: TimeInterval? { get }
}

/// Not a failure: the job could not run yet (a rate limit) and goes back to the queue until
/// `until`, its attempt not counted.
struct JobPostponed: Error {
    var until: Date
    var reason: String
}

/// What a running job may tell the queue: how far it got, and lines for its log.
final class JobRunContext: Sendable {
    let job: JobRepository.Claimed
    let database: Database
    let now: @Sendable () -> Date
    let logger: Logger
    private let progressState = Mutex<(percent: Int?, step: String?)>((nil, nil))

    init(job: JobRepository.Claimed, database: Database, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.job = job
        self.database = database
        self.now = now
        self.logger = logger
    }

    /// Recorded with the next heartbeat.
    func report(percent: Int? = nil, step: String? = nil) {
        progressState.withLock { state in
            if let percent { state.percent = percent }
            if let step { state.step = step }
        }
    }

    var progress: (percent: Int?, step: String?) { progressState.withLock { $0 } }

    func log(_ level: String = "info", _ message: String, context: JSONValue? = nil) async {
        let job = self.job
        let time = now()
        let logger = self.logger
        do {
            try await database.transaction {
                try await JobRepository($0, logger: logger).log(id: job.id, attempt: job.attempt, level: level, message: message,
                                                                context: context, at: time)
            }
        } catch {
            logger.warning("cannot write to a job's log", metadata: ["job_id": "\(job.id)", "error": .error(error)])
        }
    }
}

/// Wakes waiting workers when a job is queued (PostgreSQL `NOTIFY`), or lets them look again
/// after a while when no notification comes (the fallback).
///
/// Rings are counted: a worker notes the count before it looks for work and waits only if no
/// ring came since, so a ring between "found nothing" and "waiting" is never lost.
final class Doorbell: Sendable {
    private struct State {
        var rings: UInt64 = 0
        var waiting: [UUID: CheckedContinuation<Void, Never>] = [:]
        var released: Set<UUID> = []
    }

    private let state = Mutex(State())

    /// The number of rings so far.
    var rings: UInt64 { state.withLock { $0.rings } }

    /// Wakes every waiter.
    func ring() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.rings &+= 1
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        waiting.forEach { $0.resume() }
    }

    /// Returns at once if the bell rang since `seen` rings; otherwise at the next ring, after
    /// `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration, after seen: UInt64) async {
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self.release(id) }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rings != seen || state.released.remove(id) != nil { return true }
                    state.waiting[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.release(id)
        }
        timer.cancel()
        state.withLock { _ = $0.released.remove(id) }
    }

    private func release(_ id: UUID) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let continuation = state.waiting.removeValue(forKey: id) { return continuation }
            state.released.insert(id)
            return nil
        }
        continuation?.resume()
    }
}

/// Takes jobs from the queue and runs them (seed 001), with the configured number running at once
/// per job type. Held jobs are leased and the lease renewed by a heartbeat; a job whose worker
/// stopped is taken back once its lease runs out and retried (or failed after its last attempt).
/// Several workers, in one process or many, share one queue: claiming skips jobs another is
/// taking, so no job runs twice at once.
final class JobWorker: Service {
    struct Settings: Sendable {
        /// Names this worker in `locked_by` and `job_attempts.worker_id`.
        var workerId: String
        /// Jobs of each type run at once; a type missing here runs one at a time.
        var concurrency: [String: Int] = [:]
        var lease: TimeInterval = 60
        var heartbeat: Duration = .seconds(15)
        /// The heartbeat and the reaper follow the lease: a beat every quarter lease, a look for
        /// expired leases every half (at most every 15 s).
        init(workerId: String, lease: TimeInterval = 60) {
            self.workerId = workerId
            self.lease = lease
            heartbeat = .milliseconds(Int64(lease * 250))
            reapInterval = .milliseconds(Int64(min(lease / 2, 15) * 1000))
        }
        /// How long an idle worker waits for a notification before looking anyway.
        var idlePoll: Duration = .seconds(5)
        var reapInterval: Duration = .seconds(15)
        var retry = JobRetryPolicy()
    }

    let settings: Settings
    let handlers: [any JobHandler]
    let database: Database
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double
    let logger: Logger
    let doorbell = Doorbell()

    init(settings: Settings, handlers: [any JobHandler], database: Database, now: @escaping @Sendable () -> Date,
         random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, logger: Logger) {
        self.settings = settings
        self.handlers = handlers
        self.database = database
        self.now = now
        self.random = random
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.work() }
    }

    private func work() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listen() }
            group.addTask { await self.reap() }
            for handler in handlers {
                for slot in 0..<max(settings.concurrency[handler.type] ?? 1, 1) {
                    group.addTask { await self.runSlot(handler, slot: slot) }
                }
            }
        }
    }

    /// Rings the doorbell on every `NOTIFY vigil_jobs`, listening again after a lost connection.
    private func listen() async {
        while !Task.isCancelled {
            do {
                // Once listening, everyone looks once: a job queued while nobody listened sent its notification to no one.
                try await database.listen("vigil_jobs", onListening: { [doorbell] in doorbell.ring() }) { [doorbell] _ in doorbell.ring() }
            } catch {
                if Task.isCancelled { return }
                logger.debug("job notifications interrupted; polling until they are back", metadata: ["error": .error(error)])
            }
            try? await Task.sleep(for: settings.idlePoll)
        }
    }

    private func reap() async {
        while !Task.isCancelled {
            do {
                try await reapOnce()
            } catch {
                logger.warning("cannot take back jobs of stopped workers", metadata: ["error": .error(error)])
            }
            try? await Task.sleep(for: settings.reapInterval)
        }
    }

    /// Takes back running jobs whose lease ran out: retried, or failed after their last attempt.
    @discardableResult
    func reapOnce() async throws -> Int {
        let time = now()
        let logger = self.logger
        let expired = try await database.read { try await JobRepository($0, logger: logger).expiredLeases(now: time) }
        for (id, worker, attempt) in expired {
            let retryAt = time.addingTimeInterval(settings.retry.delay(afterAttempt: attempt, unit: random()))
            let outcome = try await database.transaction {
                try await JobRepository($0, logger: logger).fail(
                    id: id, worker: worker, error: "the worker \(worker ?? "unknown") stopped holding the job: its lease ran out",
                    traceback: nil, now: time, retryAt: retryAt, triggeredBy: "timeout")
            }
            logger.notice("job taken back from a stopped worker", metadata: ["job_id": "\(id)", "worker": "\(worker ?? "-")",
                                                                             "outcome": "\(outcome)"])
        }
        if !expired.isEmpty { doorbell.ring() }
        return expired.count
    }

    private func runSlot(_ handler: any JobHandler, slot: Int) async {
        while !Task.isCancelled {
            let rings = doorbell.rings
            do {
                if try await runNext(handler) { continue }
            } catch {
                if Task.isCancelled { return }
                logger.warning("cannot take a job", metadata: ["type": "\(handler.type)", "error": .error(error)])
            }
            await doorbell.wait(upTo: settings.idlePoll, after: rings)
        }
    }

    /// Claims and runs one job of the handler's type; false when none was waiting.
    @discardableResult
    func runNext(_ handler: any JobHandler) async throws -> Bool {
        let time = now()
        let logger = self.logger
        let settings = self.settings
        let claimed = try await database.transaction {
            try await JobRepository($0, logger: logger).claim(type: handler.type, worker: settings.workerId, now: time,
                                                              leaseUntil: time.addingTimeInterval(settings.lease))
        }
        guard let job = claimed.first else { return false }
        await execute(job, handler)
        return true
    }

    private enum Ending: Sendable {
        case finished(Result<JSONValue?, any Error>)
        /// The queue no longer holds the job for this worker (cancelled, or taken back).
        case released
    }

    private func execute(_ job: JobRepository.Claimed, _ handler: any JobHandler) async {
        let logger = self.logger.with("job_id", job.id.uuidString.lowercased())
        let context = JobRunContext(job: job, database: database, now: now, logger: logger)
        let ending: Ending = await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await handler.run(job, context: context)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.settings.heartbeat)
                    if Task.isCancelled { return nil }
                    if !(await self.heartbeat(job, context: context)) { return .released }
                }
                return nil
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .released
        }
        let time = now()
        let workerId = settings.workerId
        do {
            switch ending {
            case .released:
                logger.notice("job no longer held by this worker; stopped it")
            case .finished(.success(let result)):
                let stillHeld = try await database.transaction {
                    try await JobRepository($0, logger: logger).complete(id: job.id, worker: workerId, result: result, now: time)
                }
                if !stillHeld { logger.notice("job finished after it was cancelled or taken back; result dropped") }
            case .finished(.failure(let postponed as JobPostponed)):
                let held = try await database.transaction {
                    try await JobRepository($0, logger: logger).postpone(id: job.id, worker: workerId, until: postponed.until,
                                                                         reason: postponed.reason, now: time)
                }
                logger.info("job postponed", metadata: ["type": "\(job.type)", "until": "\(postponed.until)", "reason": "\(postponed.reason)",
                                                        "held": "\(held)"])
            case .finished(.failure(let error)):
                let asked = (error as? any RetryAfterJobFailure)?.retryAfter
                let retryAt = time.addingTimeInterval(asked ?? settings.retry.delay(afterAttempt: job.attempt, unit: random()))
                // A database error's own description is generic by design; say what the server said.
                let message = error is PSQLError ? ErrorMiddleware.loggableDescription(of: error) : "\(error)"
                let outcome = try await database.transaction {
                    try await JobRepository($0, logger: logger).fail(id: job.id, worker: workerId, error: message,
                                                                     traceback: ErrorMiddleware.loggableDescription(of: error),
                                                                     now: time, retryAt: retryAt, retryable: !(error is any PermanentJobFailure))
                }
                logger.warning("job attempt failed", metadata: ["type": "\(job.type)", "attempt": "\(job.attempt)",
                                                                "error": "\(message)", "outcome": "\(outcome)"])
            }
        } catch {
            // The lease runs out and the reaper takes the job back.
            logger.error("cannot record a job's end", metadata: ["error": .error(error)])
        }
    }

    /// Renews the lease with the job's progress; false when the job is no longer this worker's.
    private func heartbeat(_ job: JobRepository.Claimed, context: JobRunContext) async -> Bool {
        let progress = context.progress
        let leaseUntil = now().addingTimeInterval(settings.lease)
        let workerId = settings.workerId
        let logger = self.logger
        do {
            return try await database.transaction {
                try await JobRepository($0, logger: logger).heartbeat(id: job.id, worker: workerId, leaseUntil: leaseUntil,
                                                                      progress: progress.percent, step: progress.step)
            }
        } catch {
            // A missed heartbeat is not a lost job: the next one may get through before the lease ends.
            logger.warning("job heartbeat failed", metadata: ["error": .error(error)])
            return true
        }
    }
}
