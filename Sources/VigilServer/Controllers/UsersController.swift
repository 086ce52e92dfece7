import Foundation
import Hummingbird
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// `/api/v1/users` and `/api/v1/roles`: accounts, their roles and their sites.
///
/// Nobody hands out more than they hold (``RoleGrant``).
struct UsersController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/roles", .permission(.usersRead), use: roles)
        routes.get("/users", .permission(.usersRead), use: list)
        routes.post("/users", .permission(.usersWrite), use: create)
        routes.get("/users/{id}", .permission(.usersRead), use: get)
        routes.patch("/users/{id}", .permission(.usersWrite), use: update)
        routes.delete("/users/{id}", .permission(.usersDelete), use: delete)
    }

    @Sendable func roles(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Role>> {
        let roles = try await database.read(for: context) { try await RoleRepository($0, logger: context.logger).list() }
        return JSONResponse(ListBody(items: roles, nextCursor: nil))
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<User>> {
        let page = try QueryReader(request).page()
        let viewer = context.visibleTo
        let users = try await database.read(for: context) {
            try await UserRepository($0, logger: context.logger).list(page: page, manageableBy: viewer)
        }
        return JSONResponse(ListBody(users))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<User> {
        let id = try context.uuidParameter("id")
        let viewer = context.visibleTo
        guard let user = try await database.read(for: context, {
            try await UserRepository($0, logger: context.logger).credentials(id: id, manageableBy: viewer)
        }) else {
            throw APIError.notFound("user", id.uuidString)
        }
        return JSONResponse(user.user)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<User> {
        let input = try await request.decodeInput(UserInput.self, context: context)
        guard input.password != nil else {
            var report = ValidationReport()
            report.add("password", "is required")
            throw APIError.validation(report)
        }
        try await checkGrant(role: input.role, siteIds: input.siteIds ?? [], context: context)
        guard let principal = context.principal else { throw AuthenticationMiddleware.invalidSession }
        do {
            let user = try await Accounts.createUser(input, actor: principal.actor, database: database, ids: ids, logger: context.logger)
            return JSONResponse(user, status: .created)
        } catch let problems as Accounts.Problems {
            throw APIError.validation(problems.report)
        } catch StoreError.duplicate {
            throw APIError(.conflict, code: "user_exists", message: "A user with this username or email already exists.")
        }
    }

    /// Changes to role, sites, email or state take effect at the user's next request; disabling a
    /// user or setting a new password ends their sessions at once.
    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<User> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let newHash: String? = if case .string(let password)? = patch["password"] { try await Passwords.hash(password) } else { nil }
        let viewer = context.visibleTo
        let user = try await database.transaction(for: context) { connection in
            let users = UserRepository(connection, logger: context.logger)
            guard let current = try await users.lock(id: id, manageableBy: viewer) else { throw APIError.notFound("user", id.uuidString) }
            // Changing someone means holding at least their role: no resetting a superior's password.
            try await RoleGrant.check(role: current.user.role, context: context, on: connection)
            let input = try InputDecoding.patch(UserInput(current.user), with: .object(patch))
            if input.role != current.user.role {
                try await RoleGrant.check(role: input.role, context: context, on: connection)
            }
            if input.siteIds != current.user.siteIds {
                try await RoleGrant.checkSites(input.siteIds ?? [], context: context, on: connection)
            }
            let isActive = input.isActive ?? true
            if current.user.role == Role.superAdminName && (!isActive || input.role != Role.superAdminName) {
                try await requireAnotherSuperAdmin(besides: id, users: users)
            }
            guard let role = try await RoleRepository(connection, logger: context.logger).find(name: input.role) else {
                throw APIError.validation(field: "role", "no role '\(input.role)'")
            }
            try await users.update(id: id, username: input.username, email: input.email, roleId: role.id, isActive: isActive)
            try await users.assignSites(userId: id, siteIds: input.siteIds ?? [])
            if let newHash { try await users.setPassword(id: id, hash: newHash) }
            if !isActive || newHash != nil {
                try await SessionRepository(connection, logger: context.logger).deleteAll(userId: id)
            }
            try await audit.record(AuditTrail.change(isActive ? "user_updated" : "user_disabled", "user", id.uuidString,
                                                     details: .changedFields(patch)), context: context, on: connection)
            return try await users.credentials(id: id)!.user
        }
        return JSONResponse(user)
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        guard context.principal?.id != id else {
            throw APIError(.conflict, code: "cannot_delete_self", message: "You cannot delete your own account.")
        }
        let viewer = context.visibleTo
        try await database.transaction(for: context) { connection in
            let users = UserRepository(connection, logger: context.logger)
            guard let current = try await users.lock(id: id, manageableBy: viewer) else { throw APIError.notFound("user", id.uuidString) }
            try await RoleGrant.check(role: current.user.role, context: context, on: connection)
            if current.user.role == Role.superAdminName { try await requireAnotherSuperAdmin(besides: id, users: users) }
            _ = try await users.delete(id: id)
            try await audit.record(AuditTrail.change("user_deleted", "user", id.uuidString,
                                                     details: .object(["username": .string(current.user.username)])),
                                   context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    /// Refuses a role beyond the caller's own permissions and sites the caller cannot see.
    private func checkGrant(role: String, siteIds: [UUID], context: VigilRequestContext) async throws {
        try await database.read(for: context) { connection in
            try await RoleGrant.check(role: role, context: context, on: connection)
            try await RoleGrant.checkSites(siteIds, context: context, on: connection)
        }
    }

    private func requireAnotherSuperAdmin(besides id: UUID, users: UserRepository) async throws {
        guard try await users.otherActiveSuperAdmins(excluding: id) > 0 else {
            throw APIError(.conflict, code: "last_super_admin",
                           message: "This is the last active super administrator; make another one first.")
        }
    }
}
