import Foundation
import Logging
import NIOCore
import PostgresNIO
import VigilCore

/// The SQL of DVRs.
public struct DVRRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// Only rows of sites assigned to this user; `nil` for every site (super administrators, background work).
    let visibleTo: UUID?

    /// - Parameter visibleTo: Restricts every query to the sites assigned to this user. Row-level
    ///   security restricts the same rows again in the database; this keeps the query honest by itself.
    public init(_ connection: PostgresConnection, logger: Logger, visibleTo: UUID? = nil) {
        self.connection = connection
        self.logger = logger
        self.visibleTo = visibleTo
    }


    public struct Filter: Sendable {
        public var siteId: UUID?
        public var status: DeviceStatus?

        public init(siteId: UUID? = nil, status: DeviceStatus? = nil) {
            self.siteId = siteId
            self.status = status
        }
    }

    private static let columns = """
        id, site_id, name, brand, model, host(ip_address), ports::text, firmware_version, status, last_seen,
        (username_encrypted IS NOT NULL OR password_encrypted IS NOT NULL), created_at, updated_at
        """

    public func list(_ filter: Filter, page: PageRequest) async throws -> Page<DVR> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM dvrs
            WHERE (\(page.after)::uuid IS NULL OR id > \(page.after)) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
              AND (\(filter.siteId)::uuid IS NULL OR site_id = \(filter.siteId))
              AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
            ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    /// The row with this id; `forUpdate` locks it until the transaction ends, so a read-modify-write loses nothing.
    public func find(id: UUID, forUpdate: Bool = false) async throws -> DVR? {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM dvrs WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)
        return try await decode(rows).first
    }

    /// Encrypted credentials as stored; `nil` for a credential not set.
    public struct SealedCredentials: Sendable, Equatable {
        public var username: [UInt8]?
        public var password: [UInt8]?

        public init(username: [UInt8]?, password: [UInt8]?) {
            self.username = username
            self.password = password
        }
    }

    public func create(id: UUID, siteId: UUID, _ input: DVRInput, credentials: SealedCredentials) async throws -> DVR {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO dvrs (id, site_id, name, brand, model, ip_address, ports, firmware_version, status,
                                  username_encrypted, password_encrypted)
                VALUES (\(id), \(siteId), \(input.name), \(input.brand), \(input.model), \(input.ipAddress)::inet,
                        \(try (input.ports ?? [:]).jsonText())::jsonb, \(input.firmwareVersion),
                        \((input.status ?? .unknown).rawValue), \(Self.bytea(credentials.username)),
                        \(Self.bytea(credentials.password)))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    /// Updates the DVR; its stored credentials change only when `credentials` is given.
    public func update(id: UUID, siteId: UUID, _ input: DVRInput, credentials: SealedCredentials?) async throws -> DVR? {
        try await translatingErrors {
            let replace = credentials != nil
            let rows = try await connection.query("""
                UPDATE dvrs SET site_id = \(siteId), name = \(input.name), brand = \(input.brand), model = \(input.model),
                    ip_address = \(input.ipAddress)::inet, ports = \(try (input.ports ?? [:]).jsonText())::jsonb,
                    firmware_version = \(input.firmwareVersion), status = \((input.status ?? .unknown).rawValue),
                    username_encrypted = CASE WHEN \(replace) THEN \(Self.bytea(credentials?.username)) ELSE username_encrypted END,
                    password_encrypted = CASE WHEN \(replace) THEN \(Self.bytea(credentials?.password)) ELSE password_encrypted END
                WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    /// The stored credentials, still encrypted: for the stream pullers that log in to the DVR.
    public func sealedCredentials(id: UUID) async throws -> SealedCredentials? {
        let rows = try await connection.query(
            "SELECT username_encrypted, password_encrypted FROM dvrs WHERE id = \(id)", logger: logger)
        for try await (username, password) in rows.decode((ByteBuffer?, ByteBuffer?).self) {
            return SealedCredentials(username: username.map { Array($0.readableBytesView) },
                                     password: password.map { Array($0.readableBytesView) })
        }
        return nil
    }

    /// `[UInt8]` would bind as a `"char"[]` array; a buffer binds as `bytea`.
    private static func bytea(_ bytes: [UInt8]?) -> ByteBuffer? {
        bytes.map { ByteBuffer(bytes: $0) }
    }

    /// Deletes the DVR and, as seed 002 cascades, the cameras on it.
    public func delete(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM dvrs WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [DVR] {
        var dvrs: [DVR] = []
        for try await (id, siteId, name, brand, model, ip, ports, firmware, status, lastSeen, hasCredentials, createdAt, updatedAt)
            in rows.decode((UUID, UUID, String, String?, String?, String, String, String?, String, Date?, Bool, Date, Date).self) {
            dvrs.append(DVR(id: id, siteId: siteId, name: name, brand: brand, model: model, ipAddress: ip,
                            ports: try [String: Int](jsonText: ports), firmwareVersion: firmware,
                            status: DeviceStatus(rawValue: status) ?? .unknown, lastSeen: lastSeen,
                            hasCredentials: hasCredentials, createdAt: createdAt, updatedAt: updatedAt))
        }
        return dvrs
    }
}
