import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import VigilCore
import VigilStore

/// `/api/v1/auth`: sign in (password, plus a one-time code when MFA is on), sign out, who am I.
struct AuthController {
    let database: Database
    let secrets: SecretBox
    let sessions: SessionStorage<UserSession>
    let audit: AuditTrail
    let throttle: LoginThrottlePolicy
    let secureCookies: Bool
    /// bcrypt checks of sign-ins running at once, at most: each holds a core for a quarter second.
    let passwordChecks = ConcurrencyLimit(maximum: 4)
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.post("/auth/login", .open, use: login)
        routes.post("/auth/logout", .authenticated, use: logout)
        routes.get("/auth/me", .authenticated, use: me)
        routes.post("/auth/password", .authenticated, use: changePassword)
        routes.post("/auth/mfa/setup", .authenticated, use: setUpMFA)
        routes.post("/auth/mfa/enable", .authenticated, use: enableMFA)
        routes.post("/auth/mfa/disable", .authenticated, use: disableMFA)
    }

    // MARK: - Own account

    struct PasswordChange: Codable, Sendable, StrictInput {
        var currentPassword: String
        var newPassword: String

        enum CodingKeys: String, CodingKey, CaseIterable {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }

        static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

        func validate() -> ValidationReport {
            var report = ValidationReport()
            for problem in UserInput.passwordProblems(newPassword) { report.add("new_password", problem) }
            report.check(newPassword != currentPassword, "new_password", "must differ from the current password")
            return report
        }
    }

    /// Changes the caller's password (the current one is required) and ends every other session.
    @Sendable func changePassword(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let input = try await request.decodeInput(PasswordChange.self, context: context)
        let user = try await signedInUser(context, password: input.currentPassword)
        let hash = try await Passwords.hash(input.newPassword)
        try await database.transaction { connection in
            let users = UserRepository(connection, logger: context.logger)
            try await users.setPassword(id: user.id, hash: hash)
            try await SessionRepository(connection, logger: context.logger).deleteAll(userId: user.id)
            try await audit.record(AuditTrail.change("password_changed", "user", user.id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    struct MFASetup: Codable, Sendable {
        var secret: String
        var otpauthUrl: String

        enum CodingKeys: String, CodingKey {
            case secret
            case otpauthUrl = "otpauth_url"
        }
    }

    /// Makes a new TOTP secret for the caller, stored sealed and not yet required; shown once.
    @Sendable func setUpMFA(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<MFASetup> {
        let user = try await signedInUser(context, password: nil)
        guard !user.mfaEnabled else {
            throw APIError(.conflict, code: "mfa_already_enabled", message: "Two-factor sign-in is already on; disable it first.")
        }
        let secret = OneTimeCodes.makeSecret()
        let sealed = Data(try secrets.seal(secret)).base64EncodedString()
        try await database.transaction { connection in
            try await UserRepository(connection, logger: context.logger).setMFA(id: user.id, sealedSecret: sealed, enabled: false)
            try await audit.record(AuditTrail.change("mfa_setup", "user", user.id.uuidString), context: context, on: connection)
        }
        return JSONResponse(MFASetup(secret: secret, otpauthUrl: OneTimeCodes.enrolmentURL(secret: secret, account: user.username)))
    }

    struct MFACode: Codable, Sendable, StrictInput {
        var code: String?
        var password: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case code, password
        }

        static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

        func validate() -> ValidationReport { ValidationReport() }
    }

    /// Turns two-factor sign-in on once the caller proves their app shows the right code.
    @Sendable func enableMFA(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let input = try await request.decodeInput(MFACode.self, context: context)
        // As to turn it off: someone at an unlocked screen must not bind the account to their phone.
        let user = try await signedInUser(context, password: input.password ?? "")
        let sealed = try await database.read { try await UserRepository($0, logger: context.logger).credentials(id: user.id)?.sealedMFASecret }
        guard let sealed, let bytes = Data(base64Encoded: sealed) else {
            throw APIError(.conflict, code: "mfa_not_set_up", message: "Set up two-factor sign-in first (POST /api/v1/auth/mfa/setup).")
        }
        let secret = try secrets.open(Array(bytes))
        guard let code = input.code, let step = OneTimeCodes.acceptedStep(code, secret: secret, at: now()) else {
            throw APIError(.unprocessableContent, code: "wrong_mfa_code", message: "That code is not the current one; check the app's clock.")
        }
        try await database.transaction { connection in
            let users = UserRepository(connection, logger: context.logger)
            try await users.setMFA(id: user.id, sealedSecret: sealed, enabled: true)
            _ = try await users.claimMFAStep(id: user.id, step: step)
            try await audit.record(AuditTrail.change("mfa_enabled", "user", user.id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    /// Turns two-factor sign-in off; the password is required.
    @Sendable func disableMFA(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let input = try await request.decodeInput(MFACode.self, context: context)
        let user = try await signedInUser(context, password: input.password ?? "")
        try await database.transaction { connection in
            try await UserRepository(connection, logger: context.logger).setMFA(id: user.id, sealedSecret: nil, enabled: false)
            try await audit.record(AuditTrail.change("mfa_disabled", "user", user.id.uuidString), context: context, on: connection)
        }
        return Response(status: .noContent)
    }

    /// The signed-in user behind the request (API keys have no password to change); with
    /// `password`, it must be the user's current one.
    private func signedInUser(_ context: VigilRequestContext, password: String?) async throws -> User {
        guard let principal = context.principal, principal.kind == .user else {
            throw APIError(.forbidden, code: "users_only", message: "Only a signed-in person can change their own account.")
        }
        guard let credentials = try await database.read({ try await UserRepository($0, logger: context.logger).credentials(id: principal.id) }) else {
            throw AuthenticationMiddleware.invalidSession
        }
        if let password, !(try await Passwords.verify(password, hash: credentials.passwordHash)) {
            throw APIError(.forbidden, code: "wrong_password", message: "The current password is wrong.")
        }
        return credentials.user
    }

    struct LoginInput: Codable, Sendable, StrictInput {
        var login: String
        var password: String
        var totpCode: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case login, password
            case totpCode = "totp_code"
        }

        static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

        func validate() -> ValidationReport {
            var report = ValidationReport()
            report.check(!login.isEmpty && login.count <= 255, "login", "must be 1 to 255 characters")
            report.check(!password.isEmpty && password.count <= 1024, "password", "must be 1 to 1024 characters")
            return report
        }
    }

    struct LoginResult: Codable, Sendable {
        var user: User
        /// The session id, for clients that send `Authorization: Bearer` instead of the cookie.
        var token: String
        var expiresAt: Date

        enum CodingKeys: String, CodingKey {
            case user, token
            case expiresAt = "expires_at"
        }
    }

    @Sendable func login(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let input = try await request.decodeInput(LoginInput.self, context: context)
        let now = now()
        let credentials = try await database.read { try await UserRepository($0, logger: context.logger).credentials(login: input.login) }
        // One counter per account, whichever of its names is typed; an unknown name has its own.
        let account = credentials.map { "account:\($0.user.id.uuidString.lowercased())" } ?? "login:\(input.login.lowercased().prefix(255))"
        let keys = [account] + (context.remoteAddress.map { ["address:\($0)"] } ?? [])
        // The attempt is counted before the password is checked, so guesses sent at once are
        // throttled like guesses sent one by one.
        let throttle = self.throttle
        if let until = try await database.transaction({
            try await LoginThrottleRepository($0, logger: context.logger).reserve(keys: keys, policy: throttle, now: now)
        }) {
            let seconds = max(1, Int(until.timeIntervalSince(now).rounded(.up)))
            throw APIError(.tooManyRequests, code: "too_many_attempts", message: "Too many failed sign-ins; try again in \(seconds) s.",
                           retryAfter: seconds)
        }

        // The hash is checked even for an unknown account, so both answers take as long; a burst of
        // sign-ins beyond what the cores can check is answered at once rather than queued.
        guard passwordChecks.tryAcquire() else {
            throw APIError(.tooManyRequests, code: "too_busy", message: "Too many sign-ins at once; try again in a second.", retryAfter: 1)
        }
        let passwordMatches: Bool
        do {
            defer { passwordChecks.release() }
            passwordMatches = try await Passwords.verify(input.password, hash: credentials?.passwordHash)
        }
        guard let credentials, passwordMatches, credentials.user.isActive else {
            try await fail(input: input, reason: credentials == nil ? "unknown_account" : (passwordMatches ? "account_disabled" : "wrong_password"),
                           userId: credentials?.user.id, context: context)
        }
        if credentials.user.mfaEnabled {
            guard let code = input.totpCode else {
                throw APIError(.unauthorized, code: "mfa_required", message: "Enter the 6-digit code from your authenticator app.")
            }
            let secret = try credentials.sealedMFASecret.flatMap { Data(base64Encoded: $0) }.map { try secrets.open(Array($0)) }
            let userId = credentials.user.id
            // A code is accepted once: a step at or before the last accepted one is a replay.
            guard let secret, let step = OneTimeCodes.acceptedStep(code, secret: secret, at: now),
                  try await database.transaction({ try await UserRepository($0, logger: context.logger).claimMFAStep(id: userId, step: step) })
            else {
                try await fail(input: input, reason: "wrong_mfa_code", userId: credentials.user.id, context: context)
            }
        }

        let session = UserSession(userId: credentials.user.id, createdAt: now)
        let cookie = try await sessions.save(session: session, expiresIn: SessionSettings.lifetime)
        let user = credentials.user
        try await database.transaction { connection in
            try await LoginThrottleRepository(connection, logger: context.logger).reset(keys: keys)
            try await UserRepository(connection, logger: context.logger).recordLogin(id: user.id, at: now)
            try await audit.record(AuditEntry(actor: "user:\(user.username)", userId: user.id, action: "login",
                                              resourceType: "user", resourceId: user.id.uuidString,
                                              details: .object(["mfa_used": .bool(user.mfaEnabled)])),
                                   context: context, on: connection)
        }
        let expiresAt = now.addingTimeInterval(Double(SessionSettings.lifetime.components.seconds))
        var response = try JSONResponse(LoginResult(user: user, token: cookie.value, expiresAt: expiresAt))
            .response(from: request, context: context)
        response.headers[values: .setCookie].append(sessionCookie(value: cookie.value, expires: expiresAt, request: request).description)
        return response
    }

    /// Records the failure (already counted against the account and the address when the attempt
    /// was reserved) and answers with one message whatever went wrong, so the answer does not tell
    /// which accounts exist. A flood of failures is audited a row a minute per address and reason.
    private func fail(input: LoginInput, reason: String, userId: UUID?, context: VigilRequestContext) async throws -> Never {
        try await audit.recordSampled(AuditEntry(actor: "login:\(input.login.prefix(80))", userId: userId, action: "login_failed",
                                                 resourceType: "user", resourceId: userId?.uuidString,
                                                 details: .object(["reason": .string(reason)]), status: .failure),
                                      context: context, database: database, reason: reason)
        throw APIError(.unauthorized, code: "invalid_credentials", message: "The sign-in name or password is wrong.")
    }

    @Sendable func logout(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let token = request.headers[.authorization].flatMap(AuthenticationMiddleware.bearerToken)
            ?? request.cookies[SessionSettings.cookieName]?.value
        if let token {
            try await database.read { try await SessionRepository($0, logger: context.logger).delete(id: SessionSettings.keyPrefix + token) }
        }
        context.sessions.clearSession()
        try await database.transaction { connection in
            try await audit.record(AuditEntry(actor: "", action: "logout", resourceType: "user",
                                              resourceId: context.principal?.id.uuidString), context: context, on: connection)
        }
        var response = Response(status: .noContent)
        response.headers[values: .setCookie].append(sessionCookie(value: "", expires: Date(timeIntervalSince1970: 0), request: request).description)
        return response
    }

    struct Me: Codable, Sendable {
        var kind: String
        var id: UUID
        var name: String
        var role: String
        var permissions: PermissionMatrix
    }

    @Sendable func me(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Me> {
        guard let principal = context.principal else { throw AuthenticationMiddleware.invalidSession }
        return JSONResponse(Me(kind: principal.kind.rawValue, id: principal.id, name: principal.name, role: principal.role,
                               permissions: principal.permissions))
    }

    /// HttpOnly, SameSite=Strict, and Secure when Vigil is reached over TLS: configured so, or a
    /// TLS-terminating proxy says so in `X-Forwarded-Proto`.
    private func sessionCookie(value: String, expires: Date, request: Request) -> Cookie {
        let overTLS = secureCookies || request.headers[.xForwardedProto]?.lowercased() == "https"
        return Cookie(name: SessionSettings.cookieName, value: value, expires: expires, path: "/", secure: overTLS,
                      httpOnly: true, sameSite: .strict)
    }
}

extension HTTPField.Name {
    static let retryAfter = Self("Retry-After")!
    static let xForwardedProto = Self("X-Forwarded-Proto")!
}
