import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilCore
import VigilStore

/// What this node's WebSocket clients hear: every change announced on `vigil_live` by any Vigil
/// process on the database (an event judged by a worker on another machine included), loaded
/// once and passed to each client allowed to see its site.
///
/// Each client has a bounded queue. A client that falls that far behind is dropped (its socket
/// closed with a reason) rather than allowed to make the server hold ever more messages for it.
final class LiveFeed: Service, Sendable {
    /// What a client may see.
    enum Audience: Sendable, Equatable {
        case allSites
        case sites(Set<UUID>)

        func includes(_ site: UUID?) -> Bool {
            switch self {
            case .allSites: true
            case .sites(let sites): site.map(sites.contains) ?? false
            }
        }
    }

    struct Settings: Sendable {
        /// Messages waiting for one client before it is dropped.
        var queueLimit = 256
        /// How often a `heartbeat` message goes to every client, so a browser can tell a quiet feed from a dead one.
        var heartbeat: Duration = .seconds(30)
    }

    /// A client's stream of JSON messages; it ends when the client is dropped for being too slow.
    struct Subscription: Sendable {
        let id: UUID
        let messages: AsyncStream<String>
        /// True once the feed gave up on the client.
        let isOverflowed: @Sendable () -> Bool
    }

    private final class Subscriber: Sendable {
        let audience: Audience
        let continuation: AsyncStream<String>.Continuation
        let overflowed = Atomic<Bool>(false)

        init(audience: Audience, continuation: AsyncStream<String>.Continuation) {
            self.audience = audience
            self.continuation = continuation
        }
    }

    let database: Database
    let settings: Settings
    let logger: Logger
    private let subscribers = Mutex<[UUID: Subscriber]>([:])

    init(database: Database, settings: Settings = Settings(), logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
    }

    var subscriberCount: Int { subscribers.withLock { $0.count } }

    func subscribe(_ audience: Audience) -> Subscription {
        // One more than the limit: the message that overflows is the one that tells.
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(settings.queueLimit))
        let subscriber = Subscriber(audience: audience, continuation: continuation)
        let id = UUID()
        subscribers.withLock { $0[id] = subscriber }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return Subscription(id: id, messages: stream, isOverflowed: { subscriber.overflowed.load(ordering: .relaxed) })
    }

    func unsubscribe(_ id: UUID) {
        let removed = subscribers.withLock { $0.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    /// Passes a message to every client allowed to see `site` (nil: every client).
    func broadcast(_ text: String, site: UUID?) {
        let targets = subscribers.withLock { Array($0) }
        for (id, subscriber) in targets where site == nil || subscriber.audience.includes(site) {
            if case .dropped = subscriber.continuation.yield(text) {
                subscriber.overflowed.store(true, ordering: .relaxed)
                logger.notice("a live client fell behind; dropping it", metadata: ["queued": "\(settings.queueLimit)"])
                unsubscribe(id)
            }
        }
    }

    func run() async throws {
        let (notifications, sink) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.listen(into: sink) }
                group.addTask {
                    for await payload in notifications { await self.deliver(payload) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.heartbeat)
                        if Task.isCancelled { break }
                        self.broadcast(Self.envelope(type: "heartbeat", data: .object([:])), site: nil)
                    }
                }
            }
        }
        sink.finish()
        subscribers.withLock { $0.values.forEach { $0.continuation.finish() } }
    }

    /// Listens to `vigil_live`, again after a lost connection.
    private func listen(into sink: AsyncStream<String>.Continuation) async {
        while !Task.isCancelled {
            do {
                try await database.listen("vigil_live") { payload in sink.yield(payload) }
            } catch {
                if Task.isCancelled { break }
                logger.warning("live updates interrupted; listening again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
        sink.finish()
    }

    /// What `pg_notify` sends: which thing changed, and where.
    struct Notice: Decodable {
        var type: String
        var id: UUID
        var siteId: UUID?

        enum CodingKeys: String, CodingKey {
            case type, id
            case siteId = "site_id"
        }
    }

    /// Loads what a notice names and passes it on. Nobody listening, nothing loaded.
    func deliver(_ payload: String) async {
        guard subscriberCount > 0 else { return }
        guard let notice = try? JSONDecoder().decode(Notice.self, from: Data(payload.utf8)) else {
            logger.warning("unreadable live notice", metadata: ["payload": "\(payload.prefix(200))"])
            return
        }
        do {
            let logger = self.logger
            let data: JSONValue? = try await database.read { connection in
                switch notice.type {
                case "event.created", "event.updated":
                    return try await EventRepository(connection, logger: logger).find(id: notice.id).map(Self.json)
                case "alert.created", "alert.updated":
                    return try await AlertRepository(connection, logger: logger).find(id: notice.id).map(Self.json)
                case "suspicious_activity.created":
                    return try await SuspiciousActivityRepository(connection, logger: logger).find(id: notice.id).map(Self.json)
                case "camera.status":
                    return try await CameraRepository(connection, logger: logger).find(id: notice.id).map { camera in
                        .object(["id": .string(camera.id.uuidString.lowercased()), "name": .string(camera.name), "slug": .string(camera.slug),
                                 "site_id": .string(camera.siteId.uuidString.lowercased()), "status": .string(camera.status.rawValue),
                                 "last_seen_at": camera.lastSeenAt.map { .string(Self.timestamp($0)) } ?? .null])
                    }
                default:
                    return nil
                }
            }
            guard let data else { return }
            broadcast(Self.envelope(type: notice.type, data: data), site: notice.siteId)
        } catch {
            logger.warning("cannot load a live update", metadata: ["type": "\(notice.type)", "error": "\(error)"])
        }
    }

    static func json(_ value: some Encodable) -> JSONValue {
        guard let data = try? APIJSON.encode(value), let json = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .null }
        return json
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// `{"type": ..., "data": ..., "sent_at": ...}`.
    static func envelope(type: String, data: JSONValue) -> String {
        let message: JSONValue = .object(["type": .string(type), "data": data, "sent_at": .string(timestamp(Date()))])
        return (try? APIJSON.encode(message)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
