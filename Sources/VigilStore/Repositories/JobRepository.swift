import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of the durable job queue (seed 001).
public struct JobRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// A kind of job, named as in `jobs.job_type`.
    public struct JobType: RawRepresentable, Hashable, Sendable {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Detection on a newly received frame.
        public static let analyzeCapture = JobType(rawValue: "analyze_capture")
        /// Scoring, explaining and illustrating an event (when it is raised by the fast path, and when it closes).
        public static let judgeEvent = JobType(rawValue: "judge_event")
        /// Recording a camera that was covered or turned, with its frames.
        public static let recordCameraHealth = JobType(rawValue: "record_camera_health")
    }

    /// Queues a job in the caller's transaction, with its first transition recorded.
    public func enqueue(id: UUID, type: JobType, queue: String, priority: Int = 2, payload: JSONValue,
                        maxAttempts: Int = 3, at time: Date) async throws {
        try await enqueue([NewJob(id: id, type: type, queue: queue, priority: priority, payload: payload, maxAttempts: maxAttempts,
                                  createdAt: time)])
    }

    /// A job to queue with others in one statement.
    public struct NewJob: Sendable, Encodable {
        public var id: UUID
        public var type: String
        public var queue: String
        public var priority: Int
        public var payload: JSONValue
        public var maxAttempts: Int
        /// When it was queued, by the caller's clock.
        public var createdAt: Date

        public init(id: UUID, type: JobType, queue: String, priority: Int = 2, payload: JSONValue, maxAttempts: Int = 3,
                    createdAt: Date) {
            self.id = id
            self.type = type.rawValue
            self.queue = queue
            self.priority = priority
            self.payload = payload
            self.maxAttempts = maxAttempts
            self.createdAt = createdAt
        }

        enum CodingKeys: String, CodingKey {
            case id, type, queue, priority, payload, maxAttempts = "max_attempts", createdAt = "created_at"
        }
    }

    /// Queues jobs in the caller's transaction, each with its first transition recorded, and wakes
    /// the workers of each queue once.
    public func enqueue(_ jobs: [NewJob]) async throws {
        guard !jobs.isEmpty else { return }
        try await connection.query("""
            WITH f AS (
                SELECT * FROM jsonb_to_recordset(\(try jobs.jsonText())::jsonb)
                    AS f(id uuid, type text, queue text, priority int4, payload jsonb, max_attempts int4, created_at timestamptz)
            ), new_jobs AS (
                INSERT INTO jobs (id, job_type, queue_name, priority, payload, max_attempts, created_at)
                SELECT id, type, queue, priority, payload, max_attempts, created_at FROM f
            ), new_transitions AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by)
                SELECT id, 'new', 'queued', created_at, 'system' FROM f
            )
            SELECT pg_notify('vigil_jobs', queue) FROM (SELECT DISTINCT queue FROM f) q
            """, logger: logger)
    }

    /// A job a worker holds: what to do and which attempt this is.
    public struct Claimed: Sendable, Equatable {
        public var id: UUID
        public var type: String
        public var payload: JSONValue
        public var attempt: Int
        public var maxAttempts: Int
    }

    /// Takes up to `limit` queued jobs of `type` that are due, most urgent (lowest priority
    /// number) and oldest first, for `worker` until `leaseUntil`. Jobs another worker is taking
    /// at the same moment are skipped, not waited for, so no job is held by two workers.
    public func claim(type: String, worker: String, now: Date, leaseUntil: Date, limit: Int = 1) async throws -> [Claimed] {
        let rows = try await connection.query("""
            WITH next AS (
                SELECT id FROM jobs
                WHERE status = 'queued' AND job_type = \(type) AND (next_retry_at IS NULL OR next_retry_at <= \(now))
                ORDER BY priority, created_at
                FOR UPDATE SKIP LOCKED
                LIMIT \(limit)
            ), taken AS (
                UPDATE jobs j SET status = 'running', started_at = COALESCE(j.started_at, GREATEST(\(now), j.created_at)),
                    locked_by = \(worker), lease_expires_at = \(leaseUntil), next_retry_at = NULL
                FROM next WHERE j.id = next.id
                RETURNING j.id, j.job_type, j.payload, j.attempt_number, j.max_attempts
            ), attempts AS (
                INSERT INTO job_attempts (job_id, attempt_number, started_at, worker_id)
                SELECT id, attempt_number, \(now), \(worker) FROM taken
            ), transitions AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by, metadata_json)
                SELECT id, 'queued', 'running', \(now), 'worker', jsonb_build_object('worker', \(worker), 'attempt', attempt_number)::text
                FROM taken
            )
            SELECT id, job_type, payload::text, attempt_number, max_attempts FROM taken
            """, logger: logger)
        var claimed: [Claimed] = []
        for try await (id, type, payload, attempt, maxAttempts) in rows.decode((UUID, String, String, Int, Int).self) {
            claimed.append(Claimed(id: id, type: type, payload: try JSONValue(jsonText: payload), attempt: attempt, maxAttempts: maxAttempts))
        }
        return claimed
    }

    /// Extends `worker`'s lease on a running job and records its progress. False when the job is
    /// no longer the worker's to run (cancelled, or reclaimed after its lease ran out).
    public func heartbeat(id: UUID, worker: String, leaseUntil: Date, progress: Int?, step: String?) async throws -> Bool {
        let rows = try await connection.query("""
            UPDATE jobs SET lease_expires_at = \(leaseUntil),
                progress_percent = COALESCE(\(progress.map { min(max($0, 0), 100) })::int4, progress_percent),
                current_step = COALESCE(\(step.map { String($0.prefix(255)) })::text, current_step)
            WHERE id = \(id) AND status = 'running' AND locked_by = \(worker)
            RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// Records success, if the job is still the worker's.
    public func complete(id: UUID, worker: String, result: JSONValue?, now: Date) async throws -> Bool {
        let rows = try await connection.query("""
            WITH done AS (
                UPDATE jobs SET status = 'completed', completed_at = GREATEST(\(now), created_at), progress_percent = 100,
                    result = \(try result?.jsonText())::jsonb, locked_by = NULL, lease_expires_at = NULL, error_message = NULL,
                    error_traceback = NULL
                WHERE id = \(id) AND status = 'running' AND locked_by = \(worker)
                RETURNING id, attempt_number, result
            ), attempt AS (
                UPDATE job_attempts a SET status = 'succeeded', ended_at = GREATEST(\(now), a.started_at), result = done.result
                FROM done WHERE a.job_id = done.id AND a.attempt_number = done.attempt_number AND a.status = 'started'
            ), transition AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by)
                SELECT id, 'running', 'completed', \(now), 'worker' FROM done
            )
            SELECT id FROM done
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// What became of a failed attempt.
    public enum FailureOutcome: Equatable, Sendable {
        case retryAt(Date)
        case failed
        /// The job was no longer the worker's (cancelled or reclaimed): nothing was changed.
        case notHeld
    }

    /// Records a failed attempt: the job is queued again at `retryAt` while attempts remain (and
    /// the failure is `retryable`), otherwise it is failed for good with its error kept. `triggeredBy` is `worker`, or
    /// `timeout` when a lease ran out.
    public func fail(id: UUID, worker: String?, error: String, traceback: String?, now: Date, retryAt: Date,
                     retryable: Bool = true, triggeredBy: String = "worker") async throws -> FailureOutcome {
        let rows = try await connection.query("""
            WITH current AS (
                SELECT id, attempt_number, CASE WHEN \(retryable) THEN max_attempts ELSE attempt_number END AS max_attempts,
                       locked_by FROM jobs
                WHERE id = \(id) AND status = 'running' AND (\(worker)::text IS NULL OR locked_by = \(worker))
                FOR UPDATE
            ), changed AS (
                UPDATE jobs j SET
                    status = CASE WHEN c.attempt_number < c.max_attempts THEN 'queued' ELSE 'failed' END,
                    attempt_number = CASE WHEN c.attempt_number < c.max_attempts THEN c.attempt_number + 1 ELSE c.attempt_number END,
                    next_retry_at = CASE WHEN c.attempt_number < c.max_attempts THEN \(retryAt)::timestamptz END,
                    completed_at = CASE WHEN c.attempt_number < c.max_attempts THEN NULL ELSE GREATEST(\(now), j.created_at) END,
                    error_message = \(error), error_traceback = \(traceback), locked_by = NULL, lease_expires_at = NULL
                FROM current c WHERE j.id = c.id
                RETURNING j.id, j.status, c.attempt_number AS failed_attempt, c.locked_by
            ), attempt AS (
                UPDATE job_attempts a SET status = 'failed', ended_at = GREATEST(\(now), a.started_at), error_message = \(error),
                    error_traceback = \(traceback)
                FROM changed WHERE a.job_id = changed.id AND a.attempt_number = changed.failed_attempt AND a.status = 'started'
            ), transition AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by, metadata_json)
                SELECT id, 'running', status, \(now), \(triggeredBy),
                       jsonb_build_object('attempt', failed_attempt, 'worker', locked_by, 'error', left(\(error), 500))::text
                FROM changed
            )
            SELECT status FROM changed
            """, logger: logger)
        for try await status in rows.decode(String.self) { return status == "queued" ? .retryAt(retryAt) : .failed }
        return .notHeld
    }

    /// Puts a running job back in the queue until `until` without counting the attempt: it did
    /// not run (a channel's rate limit was reached). False when the job was no longer the worker's.
    public func postpone(id: UUID, worker: String, until: Date, reason: String, now: Date) async throws -> Bool {
        let rows = try await connection.query("""
            WITH changed AS (
                UPDATE jobs SET status = 'queued', next_retry_at = \(until), locked_by = NULL, lease_expires_at = NULL
                WHERE id = \(id) AND status = 'running' AND locked_by = \(worker)
                RETURNING id, attempt_number
            ), attempt AS (
                DELETE FROM job_attempts a USING changed
                WHERE a.job_id = changed.id AND a.attempt_number = changed.attempt_number AND a.status = 'started'
            ), transition AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by, metadata_json)
                SELECT id, 'running', 'queued', \(now), 'worker',
                       jsonb_build_object('postponed_until', \(until)::timestamptz, 'reason', left(\(reason), 500))::text
                FROM changed
            )
            SELECT id FROM changed
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// Running jobs whose lease ran out before `now`: their worker stopped (or lost the database).
    public func expiredLeases(now: Date, limit: Int = 100) async throws -> [(id: UUID, worker: String?, attempt: Int)] {
        let rows = try await connection.query("""
            SELECT id, locked_by, attempt_number FROM jobs WHERE status = 'running' AND lease_expires_at < \(now)
            ORDER BY lease_expires_at LIMIT \(limit)
            """, logger: logger)
        var found: [(UUID, String?, Int)] = []
        for try await (id, worker, attempt) in rows.decode((UUID, String?, Int32).self) { found.append((id, worker, Int(attempt))) }
        return found
    }

    /// Cancels a job that has not finished; a running job's worker learns it at its next heartbeat.
    public func cancel(id: UUID, now: Date, triggeredBy: String = "user", by actor: String?) async throws -> JobStatus? {
        let rows = try await connection.query("""
            WITH current AS (
                SELECT id, status, attempt_number FROM jobs WHERE id = \(id) FOR UPDATE
            ), changed AS (
                UPDATE jobs j SET status = 'cancelled', completed_at = GREATEST(\(now), j.created_at), locked_by = NULL,
                    lease_expires_at = NULL, next_retry_at = NULL
                FROM current c WHERE j.id = c.id AND c.status IN ('queued', 'running')
                RETURNING j.id, c.status AS previous, c.attempt_number
            ), attempt AS (
                UPDATE job_attempts a SET status = 'cancelled', ended_at = GREATEST(\(now), a.started_at)
                FROM changed WHERE a.job_id = changed.id AND a.attempt_number = changed.attempt_number AND a.status = 'started'
            ), transition AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by, metadata_json)
                SELECT id, previous, 'cancelled', \(now), \(triggeredBy), jsonb_build_object('by', \(actor))::text FROM changed
            )
            SELECT status FROM current
            """, logger: logger)
        for try await status in rows.decode(String.self) { return JobStatus(rawValue: status) }
        return nil
    }

    /// Queues a failed or cancelled job again, with one more attempt allowed.
    public func retry(id: UUID, now: Date, by actor: String?) async throws -> JobStatus? {
        let rows = try await connection.query("""
            WITH current AS (
                SELECT id, status FROM jobs WHERE id = \(id) FOR UPDATE
            ), changed AS (
                UPDATE jobs j SET status = 'queued', attempt_number = j.attempt_number + 1,
                    max_attempts = GREATEST(j.max_attempts, j.attempt_number + 1), next_retry_at = NULL, completed_at = NULL,
                    progress_percent = 0, current_step = NULL
                FROM current c WHERE j.id = c.id AND c.status IN ('failed', 'cancelled')
                RETURNING j.id, c.status AS previous, j.queue_name
            ), transition AS (
                INSERT INTO job_transitions (job_id, from_status, to_status, transitioned_at, triggered_by, metadata_json)
                SELECT id, previous, 'queued', \(now), 'user', jsonb_build_object('by', \(actor))::text FROM changed
            ), wake AS (
                SELECT pg_notify('vigil_jobs', COALESCE(queue_name, '')) FROM changed
            )
            SELECT c.status, (SELECT count(*) FROM wake)::int8 FROM current c
            """, logger: logger)
        for try await (status, _) in rows.decode((String, Int64).self) { return JobStatus(rawValue: status) }
        return nil
    }

    /// A line in a job's log (seed 001 `job_logs`).
    public func log(id: UUID, attempt: Int, level: String, message: String, context: JSONValue? = nil, at time: Date) async throws {
        try await connection.query("""
            INSERT INTO job_logs (job_id, attempt_number, timestamp, level, message, context)
            VALUES (\(id), \(attempt), \(time), \(level), \(message), \(try context?.jsonText())::jsonb)
            """, logger: logger)
    }

    static let columns = """
        id, job_type, status, queue_name, priority, payload::text, created_at, started_at, completed_at, progress_percent,
        current_step, result::text, error_message, error_traceback, attempt_number, max_attempts, next_retry_at, locked_by,
        lease_expires_at
        """

    /// Jobs, newest first, of a status and a type when given.
    public func list(status: JobStatus?, type: String?, page: PageRequest) async throws -> Page<Job> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM jobs
            WHERE (\(page.after)::uuid IS NULL OR id < \(page.after))
              AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
              AND (\(type)::text IS NULL OR job_type = \(type))
            ORDER BY id DESC LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    public func find(id: UUID) async throws -> Job? {
        let rows = try await connection.query("SELECT \(unescaped: Self.columns) FROM jobs WHERE id = \(id)", logger: logger)
        return try await decode(rows).first
    }

    public func attempts(of id: UUID) async throws -> [JobAttempt] {
        let rows = try await connection.query("""
            SELECT attempt_number, status, worker_id, started_at, ended_at, error_message FROM job_attempts
            WHERE job_id = \(id) ORDER BY attempt_number, started_at
            """, logger: logger)
        var attempts: [JobAttempt] = []
        for try await (number, status, worker, started, ended, error) in rows.decode((Int, String, String?, Date, Date?, String?).self) {
            attempts.append(JobAttempt(attemptNumber: number, status: status, workerId: worker, startedAt: started, endedAt: ended,
                                       errorMessage: error))
        }
        return attempts
    }

    public func transitions(of id: UUID) async throws -> [JobTransition] {
        let rows = try await connection.query("""
            SELECT from_status, to_status, transitioned_at, triggered_by, metadata_json FROM job_transitions
            WHERE job_id = \(id) ORDER BY transitioned_at, id
            """, logger: logger)
        var transitions: [JobTransition] = []
        for try await (from, to, at, by, metadata) in rows.decode((String, String, Date, String, String?).self) {
            transitions.append(JobTransition(fromStatus: from, toStatus: to, transitionedAt: at, triggeredBy: by,
                                             metadata: try metadata.map { try JSONValue(jsonText: $0) }))
        }
        return transitions
    }

    public func logs(of id: UUID, limit: Int = 1000) async throws -> [JobLogLine] {
        let rows = try await connection.query("""
            SELECT attempt_number, timestamp, level, message, context::text FROM job_logs
            WHERE job_id = \(id) ORDER BY timestamp, id LIMIT \(limit)
            """, logger: logger)
        var lines: [JobLogLine] = []
        for try await (attempt, time, level, message, context) in rows.decode((Int, Date, String, String, String?).self) {
            lines.append(JobLogLine(attemptNumber: attempt, timestamp: time, level: level, message: message,
                                    context: try context.map { try JSONValue(jsonText: $0) }))
        }
        return lines
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Job] {
        var jobs: [Job] = []
        for try await row in rows {
            let r = try row.decode((UUID, String, String, String?, Int, String, Date, Date?, Date?, Int, String?, String?, String?,
                                    String?, Int, Int, Date?, String?, Date?).self)
            jobs.append(Job(id: r.0, jobType: r.1, status: JobStatus(rawValue: r.2) ?? .failed, queueName: r.3, priority: r.4,
                            payload: try JSONValue(jsonText: r.5), createdAt: r.6, startedAt: r.7, completedAt: r.8,
                            progressPercent: r.9, currentStep: r.10, result: try r.11.map { try JSONValue(jsonText: $0) },
                            errorMessage: r.12, errorTraceback: r.13, attemptNumber: r.14, maxAttempts: r.15, nextRetryAt: r.16,
                            lockedBy: r.17, leaseExpiresAt: r.18))
        }
        return jobs
    }
}
