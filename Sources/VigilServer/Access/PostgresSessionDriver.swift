import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VigilStore

/// Hummingbird's key/value persistence over the `sessions` table, so sign-in sessions survive
/// restarts and are shared by every node.
struct PostgresSessionDriver: PersistDriver {
    let database: Database
    let now: @Sendable () -> Date

    /// Deletes expired sessions hourly until shutdown. Expired sessions are refused on read anyway;
    /// this only keeps the table small.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            let logger = Logger(label: "vigil.sessions")
            while !Task.isCancelled {
                do {
                    try await database.read { try await SessionRepository($0, logger: logger).deleteExpired(now: now()) }
                } catch {
                    logger.warning("deleting expired sessions failed; trying again in an hour", metadata: ["error": .error(error)])
                }
                // Cancellation (shutdown) ends the wait early; the loop condition then ends the service.
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }

    func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        do {
            try await write(key: key, value: value, expires: expires, insertOnly: true)
        } catch StoreError.duplicate {
            throw PersistError.duplicate
        }
    }

    func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        try await write(key: key, value: value, expires: expires, insertOnly: false)
    }

    func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        let now = now()
        guard let stored = try await database.read({ try await SessionRepository($0, logger: .init(label: "vigil.sessions")).load(id: key, now: now) }) else {
            return nil
        }
        guard let object = try? JSONDecoder().decode(Object.self, from: Data(stored.data.utf8)) else {
            throw PersistError.invalidConversion
        }
        return (object, stored.expiresAt.map { .seconds($0.timeIntervalSince(now)) })
    }

    func remove(key: String) async throws {
        try await database.read { try await SessionRepository($0, logger: .init(label: "vigil.sessions")).delete(id: key) }
    }

    private func write<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?, insertOnly: Bool) async throws {
        let data = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        let expiresAt = expires.map { now().addingTimeInterval(Double($0.components.seconds)) }
        try await database.read {
            try await SessionRepository($0, logger: .init(label: "vigil.sessions"))
                .store(id: key, data: data, expiresAt: expiresAt, insertOnly: insertOnly)
        }
    }
}
