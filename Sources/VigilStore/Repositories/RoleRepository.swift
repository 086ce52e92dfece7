import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of roles.
public struct RoleRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public func list() async throws -> [Role] {
        try await decode(try await connection.query(
            "SELECT id, name, description, permissions::text FROM roles ORDER BY name", logger: logger))
    }

    public func find(name: String) async throws -> Role? {
        try await decode(try await connection.query(
            "SELECT id, name, description, permissions::text FROM roles WHERE name = \(name)", logger: logger)).first
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Role] {
        var roles: [Role] = []
        for try await (id, name, description, permissions) in rows.decode((UUID, String, String?, String).self) {
            roles.append(Role(id: id, name: name, description: description,
                              permissions: PermissionMatrix(json: try JSONValue(jsonText: permissions))))
        }
        return roles
    }
}
