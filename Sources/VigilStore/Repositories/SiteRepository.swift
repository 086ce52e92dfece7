import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of sites.
public struct SiteRepository: Sendable {
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


    private static let columns = "id, name, address, timezone, vpn_config::text, created_at, updated_at"

    public func list(nameContains: String?, page: PageRequest) async throws -> Page<Site> {
        let pattern = nameContains.map { "%\(Self.escapeLike($0))%" }
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM sites
            WHERE (\(page.after)::uuid IS NULL OR id > \(page.after)) AND fn_user_sees_site(id, \(visibleTo)::uuid)
              AND (\(pattern)::text IS NULL OR name ILIKE \(pattern))
            ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    /// The row with this id; `forUpdate` locks it until the transaction ends, so a read-modify-write loses nothing.
    public func find(id: UUID, forUpdate: Bool = false) async throws -> Site? {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM sites WHERE id = \(id) AND fn_user_sees_site(id, \(visibleTo)::uuid) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)
        return try await decode(rows).first
    }

    /// The site that cameras join when none is named: the oldest one the caller can see.
    public func defaultSite() async throws -> Site? {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM sites WHERE fn_user_sees_site(id, \(visibleTo)::uuid) ORDER BY created_at, id LIMIT 1", logger: logger)
        return try await decode(rows).first
    }

    /// How many sites exist, locking them all until the transaction ends, so two concurrent
    /// deletions cannot both see a site to spare.
    public func countLockingAll() async throws -> Int {
        let rows = try await connection.query("SELECT count(*)::int8 FROM (SELECT id FROM sites FOR UPDATE) AS locked", logger: logger)
        for try await value in rows.decode(Int.self) {
            return value
        }
        return 0
    }

    public func create(id: UUID, _ input: SiteInput) async throws -> Site {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO sites (id, name, address, timezone, vpn_config)
                VALUES (\(id), \(input.name), \(input.address), \(input.resolvedTimezone), \(try input.vpnConfig?.jsonText())::jsonb)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    public func update(id: UUID, _ input: SiteInput) async throws -> Site? {
        try await translatingErrors {
            let rows = try await connection.query("""
                UPDATE sites SET name = \(input.name), address = \(input.address), timezone = \(input.resolvedTimezone),
                    vpn_config = \(try input.vpnConfig?.jsonText())::jsonb
                WHERE id = \(id) AND fn_user_sees_site(id, \(visibleTo)::uuid)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    /// Deletes the site and, by the schema's cascade, its DVRs, cameras and zones.
    public func delete(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM sites WHERE id = \(id) AND fn_user_sees_site(id, \(visibleTo)::uuid) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Site] {
        var sites: [Site] = []
        for try await (id, name, address, timezone, vpnConfig, createdAt, updatedAt)
            in rows.decode((UUID, String, String?, String, String?, Date, Date).self) {
            sites.append(Site(id: id, name: name, address: address, timezone: timezone,
                              vpnConfig: try vpnConfig.map { try JSONValue(jsonText: $0) },
                              createdAt: createdAt, updatedAt: updatedAt))
        }
        return sites
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
