import Foundation

/// A unit of background work (seed 001 `jobs`), as the API shows it.
public struct Job: Codable, Sendable, Equatable {
    public var id: UUID
    public var jobType: String
    public var status: JobStatus
    public var queueName: String?
    public var priority: Int
    public var payload: JSONValue
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?
    public var progressPercent: Int
    public var currentStep: String?
    public var result: JSONValue?
    public var errorMessage: String?
    public var errorTraceback: String?
    public var attemptNumber: Int
    public var maxAttempts: Int
    public var nextRetryAt: Date?
    public var lockedBy: String?
    public var leaseExpiresAt: Date?

    public init(id: UUID, jobType: String, status: JobStatus, queueName: String?, priority: Int, payload: JSONValue, createdAt: Date,
                startedAt: Date?, completedAt: Date?, progressPercent: Int, currentStep: String?, result: JSONValue?,
                errorMessage: String?, errorTraceback: String?, attemptNumber: Int, maxAttempts: Int, nextRetryAt: Date?,
                lockedBy: String?, leaseExpiresAt: Date?) {
        self.id = id
        self.jobType = jobType
        self.status = status
        self.queueName = queueName
        self.priority = priority
        self.payload = payload
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.progressPercent = progressPercent
        self.currentStep = currentStep
        self.result = result
        self.errorMessage = errorMessage
        self.errorTraceback = errorTraceback
        self.attemptNumber = attemptNumber
        self.maxAttempts = maxAttempts
        self.nextRetryAt = nextRetryAt
        self.lockedBy = lockedBy
        self.leaseExpiresAt = leaseExpiresAt
    }

    enum CodingKeys: String, CodingKey {
        case id, status, priority, payload, result
        case jobType = "job_type", queueName = "queue_name", createdAt = "created_at", startedAt = "started_at"
        case completedAt = "completed_at", progressPercent = "progress_percent", currentStep = "current_step"
        case errorMessage = "error_message", errorTraceback = "error_traceback", attemptNumber = "attempt_number"
        case maxAttempts = "max_attempts", nextRetryAt = "next_retry_at", lockedBy = "locked_by", leaseExpiresAt = "lease_expires_at"
    }
}

/// One execution of a job (seed 001 `job_attempts`).
public struct JobAttempt: Codable, Sendable, Equatable {
    public var attemptNumber: Int
    public var status: String
    public var workerId: String?
    public var startedAt: Date
    public var endedAt: Date?
    public var errorMessage: String?

    public init(attemptNumber: Int, status: String, workerId: String?, startedAt: Date, endedAt: Date?, errorMessage: String?) {
        self.attemptNumber = attemptNumber
        self.status = status
        self.workerId = workerId
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.errorMessage = errorMessage
    }

    enum CodingKeys: String, CodingKey {
        case status
        case attemptNumber = "attempt_number", workerId = "worker_id", startedAt = "started_at", endedAt = "ended_at"
        case errorMessage = "error_message"
    }
}

/// A change of a job's status and what caused it (seed 001 `job_transitions`).
public struct JobTransition: Codable, Sendable, Equatable {
    public var fromStatus: String
    public var toStatus: String
    public var transitionedAt: Date
    public var triggeredBy: String
    public var metadata: JSONValue?

    public init(fromStatus: String, toStatus: String, transitionedAt: Date, triggeredBy: String, metadata: JSONValue?) {
        self.fromStatus = fromStatus
        self.toStatus = toStatus
        self.transitionedAt = transitionedAt
        self.triggeredBy = triggeredBy
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case metadata
        case fromStatus = "from_status", toStatus = "to_status", transitionedAt = "transitioned_at", triggeredBy = "triggered_by"
    }
}

/// A line a job wrote while it ran (seed 001 `job_logs`).
public struct JobLogLine: Codable, Sendable, Equatable {
    public var attemptNumber: Int
    public var timestamp: Date
    public var level: String
    public var message: String
    public var context: JSONValue?

    public init(attemptNumber: Int, timestamp: Date, level: String, message: String, context: JSONValue?) {
        self.attemptNumber = attemptNumber
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.context = context
    }

    enum CodingKeys: String, CodingKey {
        case timestamp, level, message, context
        case attemptNumber = "attempt_number"
    }
}
