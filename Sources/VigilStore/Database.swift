import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Vigil's door to PostgreSQL: a connection pool, a bound on how long a caller waits for a
/// connection, and the counts `/metrics` reports about it.
///
/// Repositories run on the connection a ``read(_:)`` or ``transaction(_:)`` lends them, so the
/// caller decides what one transaction covers.
public final class Database: Sendable {
    public let client: PostgresClient
    public let location: DatabaseLocation
    public let maximumConnections: Int
    /// How long a caller waits for a connection before ``DatabaseUnavailable`` is thrown. The pool
    /// itself would keep a caller waiting until its circuit breaker trips (a minute).
    public let acquireTimeout: Duration
    private let logger: Logger
    private let gauge = PoolGauge()

    public init(location: DatabaseLocation, maximumConnections: Int = 20, acquireTimeout: Duration = .seconds(5),
                logger: Logger) {
        self.location = location
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout
        self.logger = logger
        self.client = PostgresClient(configuration: location.clientConfiguration(maximumConnections: maximumConnections),
                                     backgroundLogger: logger)
    }

    public var poolCounters: PoolCounters { gauge.snapshot }

    /// Lends a connection for reads (autocommit).
    @discardableResult
    public func read<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await leasing { lease in
            try await self.client.withConnection { connection in
                try lease.lent()
                return try await body(connection)
            }
        }
    }

    /// Lends a connection inside a transaction: committed when `body` returns, rolled back when it throws.
    ///
    /// An error thrown by `body` reaches the caller as itself, not wrapped in PostgresNIO's
    /// transaction error, so callers can match on their own error types.
    @discardableResult
    public func transaction<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await leasing { lease in
                try await self.client.withTransaction(logger: self.logger) { connection in
                    try lease.lent()
                    return try await body(connection)
                }
            }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError, error.rollbackError == nil {
                throw closureError
            }
            throw error
        }
    }

    /// Runs `operation`, failing with ``DatabaseUnavailable`` if it has no connection within ``acquireTimeout``.
    ///
    /// The caller is answered without waiting for the operation to notice: a pool that has
    /// stopped (at shutdown) may never answer a waiting lease, even when it is cancelled. A lease
    /// answered late, after the caller gave up, refuses the connection, so nothing runs for a
    /// caller that was told it failed.
    private func leasing<Result: Sendable>(_ operation: @escaping @Sendable (Lease) async throws -> Result) async throws -> Result {
        let lease = Lease(gauge: gauge)
        defer { lease.finished() }
        let timeout = acquireTimeout
        let outcome = Outcome<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.start(continuation)
                let work = Task {
                    do {
                        outcome.resolve(.success(try await operation(lease)))
                    } catch {
                        outcome.resolve(.failure(error))
                    }
                }
                let watchdog = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled && !lease.isLent { outcome.resolve(.failure(DatabaseUnavailable(waited: timeout))) }
                }
                outcome.tasks.withLock { $0 = [work, watchdog] }
            }
        } onCancel: {
            outcome.resolve(.failure(CancellationError()))
        }
    }

    /// Calls `onNotification` for each `NOTIFY` on `channel`, on a connection of its own, until
    /// cancelled or the connection fails (then it throws, and the caller listens again).
    /// `onListening` is called once the server listens: anything sent before was missed.
    public func listen(_ channel: String, onListening: @escaping @Sendable () -> Void = {},
                       _ onNotification: @escaping @Sendable (_ payload: String) -> Void) async throws {
        try await client.withConnection { connection in
            // This form sends UNLISTEN when the loop ends, so the connection goes back to the pool deaf.
            try await connection.listen(on: channel) { notifications in
                onListening()
                for try await notification in notifications { onNotification(notification.payload) }
            }
        }
    }

    /// Runs `body` while the connection pool runs; the pool stops when `body` ends.
    @discardableResult
    public func withRunningClient<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await self.client.run()
                return nil
            }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            throw CancellationError()
        }
    }
}

/// No connection to the database could be had in time: the server is down, unreachable, or saturated.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let waited: Duration

    public var description: String { "no database connection within \(waited)" }
}

public struct PoolCounters: Sendable, Equatable {
    /// Connections lent out right now.
    public var inUse = 0
    /// Callers waiting for a connection right now.
    public var waiting = 0
    /// Connections lent since start.
    public var acquired = 0
    /// Callers that never got a connection (server down, timeout, cancelled).
    public var acquireFailures = 0

    public init() {}
}

/// Counts callers through the pool: waiting, then in use, then done.
final class PoolGauge: Sendable {
    let counters = Mutex(PoolCounters())

    var snapshot: PoolCounters { counters.withLock { $0 } }
}

/// The one answer a leasing caller gets: the operation's, the watchdog's, or cancellation's,
/// whichever comes first; later ones are dropped.
final class Outcome<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Result<Value, any Error>?
        var resolved = false
    }

    private let state = Mutex(State())
    /// The tasks working towards the answer, stopped once it is given.
    let tasks = Mutex<[Task<Void, Never>]>([])

    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if state.early == nil { state.continuation = continuation }
            return state.early
        }
        if let early { continuation.resume(with: early) }
    }

    func resolve(_ result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard !state.resolved else { return nil }
            state.resolved = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
        tasks.withLock { $0 }.forEach { $0.cancel() }
    }
}

/// One caller's passage through the pool.
final class Lease: Sendable {
    private enum State { case waiting, lent, finished }

    private let gauge: PoolGauge
    private let state = Mutex(State.waiting)

    init(gauge: PoolGauge) {
        self.gauge = gauge
        gauge.counters.withLock { $0.waiting += 1 }
    }

    var isLent: Bool { state.withLock { $0 != .waiting } }

    /// Marks the connection lent; throws when the caller already gave up, so nothing runs for it.
    func lent() throws {
        let previous = state.withLock { current in
            defer { if current == .waiting { current = .lent } }
            return current
        }
        if previous == .finished { throw CancellationError() }
        guard previous == .waiting else { return }
        gauge.counters.withLock {
            $0.waiting -= 1
            $0.inUse += 1
            $0.acquired += 1
        }
    }

    func finished() {
        let previous = state.withLock { current in
            defer { current = .finished }
            return current
        }
        gauge.counters.withLock {
            switch previous {
            case .waiting:
                $0.waiting -= 1
                $0.acquireFailures += 1
            case .lent:
                $0.inUse -= 1
            case .finished:
                break
            }
        }
    }
}

extension Database {
    /// The settings row-level security reads (migration 0003), for one request's principal.
    public struct AccessScope: Sendable, Equatable {
        public var userId: UUID?
        public var role: String
        public var allSites: Bool

        public init(userId: UUID?, role: String, allSites: Bool) {
            self.userId = userId
            self.role = role
            self.allSites = allSites
        }
    }

    /// Like ``transaction(_:)``, as the `vigil_app` role under `scope`: every query in `body`
    /// sees only the rows row-level security lets this principal see.
    public func transaction<Result: Sendable>(scope: AccessScope,
                                              _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction { connection in
            try await connection.query("""
                SELECT set_config('role', 'vigil_app', TRUE),
                       set_config('app.current_user_id', \(scope.userId?.uuidString ?? ""), TRUE),
                       set_config('app.user_role', \(scope.role), TRUE),
                       set_config('app.all_sites', \(scope.allSites ? "on" : "off"), TRUE)
                """, logger: Logger(label: "vigil.database"))
            return try await body(connection)
        }
    }
}

/// Which site's things a query of people may reach: those the caller's row-level security shows
/// (a request), or those one site's cameras deal with, its own and every site's (background work,
/// whose connection sees all rows).
public enum SiteFilter: Sendable, Equatable {
    case visibleToCaller
    case site(UUID?)

    /// As bound to a query: whether to filter, and by which site (nil: rows of every site only).
    var parameters: (filtered: Bool, site: UUID?) {
        switch self {
        case .visibleToCaller: (false, nil)
        case .site(let site): (true, site)
        }
    }
}
