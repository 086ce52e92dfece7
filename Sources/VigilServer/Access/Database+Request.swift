import Foundation
import PostgresNIO
import VigilCore
import VigilStore

extension VigilRequestContext {
    /// The row-level-security settings for this request's principal.
    var accessScope: Database.AccessScope? {
        guard let principal else { return nil }
        switch principal.siteScope {
        case .allSites:
            return .init(userId: principal.kind == .user ? principal.id : nil, role: principal.role, allSites: true)
        case .assignedTo(let userId):
            return .init(userId: userId, role: principal.role, allSites: false)
        }
    }
}

extension VigilRequestContext {
    /// The signed-in user acting (recorded as author, reviewer, approver); nil for API keys and devices.
    var userId: UUID? {
        principal.flatMap { $0.kind == .user ? $0.id : nil }
    }

    /// For repositories: the user whose sites this request is limited to; `nil` for every site.
    var visibleTo: UUID? {
        if case .assignedTo(let userId)? = principal?.siteScope { return userId }
        return nil
    }
}

extension Database {
    /// A request's reads, as its principal: rows of sites it may not see are invisible.
    func read<Result: Sendable>(for context: VigilRequestContext,
                                _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction(for: context, body)
    }

    /// A request's changes, as its principal, in one transaction.
    ///
    /// - Important: Every handler behind an authenticated route reaches the database through this
    ///   or ``read(for:_:)``; there is no principal-less path to site data.
    func transaction<Result: Sendable>(for context: VigilRequestContext,
                                       _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        guard let scope = context.accessScope else {
            throw APIError(.unauthorized, code: "authentication_required", message: "Sign in first.")
        }
        return try await transaction(scope: scope, body)
    }
}
