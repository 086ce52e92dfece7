import Logging
import PostgresNIO
import VigilStore

extension Database {
    /// The first column of the first row of `query`, or `nil` when there is no row.
    public func scalar<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Value.Type) async throws -> Value? {
        try await read { connection in
            let rows = try await connection.query(query, logger: Logger(label: "test"))
            for try await value in rows.decode(Value.self) { return value }
            return nil
        }
    }
}

extension Database {
    /// Runs `query` in a transaction of its own, for tests that set a scene directly.
    public func execute(_ query: PostgresQuery) async throws {
        try await transaction { connection in
            try await connection.query(query, logger: Logger(label: "test"))
        }
    }
}
