import Foundation
import PostgresNIO
import VigilCore
import VigilStore

/// Nobody hands out more than they hold: a role given to a user or an API key must be within the
/// caller's own permissions (a super administrator may give any, and only they make another), and
/// sites given must be sites the caller can see.
enum RoleGrant {
    static func check(role name: String, context: VigilRequestContext, on connection: PostgresConnection) async throws {
        guard let principal = context.principal else { throw AuthenticationMiddleware.invalidSession }
        guard let role = try await RoleRepository(connection, logger: context.logger).find(name: name) else {
            throw APIError.validation(field: "role", "no role '\(name)'")
        }
        // A super administrator holds everything there is to give, the machines' ingest.write included.
        guard principal.role == Role.superAdminName
                || (role.permissions.isSubset(of: principal.permissions) && role.name != Role.superAdminName) else {
            throw APIError(.forbidden, code: "role_not_grantable",
                           message: "You can only give a role whose permissions you hold yourself; '\(name)' has more.")
        }
    }

    /// The sites given to a user: ones the caller sees, and at least one when the caller is limited
    /// to some sites (a user with none would leave the caller's reach at once).
    static func checkSites(_ siteIds: [UUID], context: VigilRequestContext, on connection: PostgresConnection) async throws {
        if context.visibleTo != nil, siteIds.isEmpty {
            throw APIError.validation(field: "site_ids", "must name at least one of your sites")
        }
        let sites = SiteRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
        for siteId in siteIds where try await sites.find(id: siteId) == nil {
            // Row-level security hides the sites the caller may not see, so they are simply not found.
            throw APIError.validation(field: "site_ids", "no site \(siteId.uuidString)")
        }
    }
}
