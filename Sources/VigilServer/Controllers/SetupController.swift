import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/setup`: whether Vigil still needs its first administrator, and creating it with the
/// one-time setup token from the log. Open routes: nobody can sign in yet.
struct SetupController {
    let database: Database
    let token: SetupToken
    let setup: SetupState
    let ids: UUIDv7Generator

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/setup", .open, use: status)
        routes.post("/setup", .open, use: create)
    }

    struct Status: Encodable, Sendable {
        var setupRequired: Bool

        enum CodingKeys: String, CodingKey {
            case setupRequired = "setup_required"
        }
    }

    @Sendable func status(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Status> {
        JSONResponse(Status(setupRequired: !(try await setup.isComplete())))
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<User> {
        let input = try await request.decodeInput(SetupInput.self, context: context)
        guard try await !setup.isComplete() else {
            throw APIError(.conflict, code: "setup_complete", message: "Vigil already has an administrator; sign in instead.")
        }
        guard token.consume(input.setupToken) else {
            context.logger.warning("a setup attempt with a wrong token", metadata: ["remote": "\(context.remoteAddress ?? "-")"])
            throw APIError(.forbidden, code: "invalid_setup_token",
                           message: "This is not the setup token Vigil printed in its log at start (the latest one counts).")
        }
        do {
            let user = try await Accounts.createUser(input.user, actor: "setup:\(context.remoteAddress ?? "unknown")", database: database,
                                                     ids: ids, logger: context.logger)
            context.logger.notice("the first administrator was created", metadata: ["username": "\(user.username)"])
            return JSONResponse(user, status: .created)
        } catch {
            // The token stays good for another try; a concurrent `vigil user create` wins the race.
            token.restore(input.setupToken)
            if error is StoreError { throw APIError(.conflict, code: "user_exists", message: "A user with this username or email already exists.") }
            throw error
        }
    }
}
