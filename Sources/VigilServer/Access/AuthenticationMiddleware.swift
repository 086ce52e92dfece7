import Foundation
import HTTPTypes
import Synchronization
import Hummingbird
import HummingbirdAuth
import Logging
import VigilCore
import VigilStore

/// Works out who is calling: an API key (`X-API-Key`, or `Authorization: Bearer vgl_...`), a
/// session token (`Authorization: Bearer <token>`), or the session cookie. A credential that is
/// presented but wrong is refused with 401 at once; no credential leaves the request anonymous
/// for the authorization step to judge.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let database: Database
    let sessions: SessionStorage<UserSession>
    let sessionDriver: PostgresSessionDriver
    let audit: AuditTrail
    let now: @Sendable () -> Date
    let deviceTokens: DeviceTokenCache
    /// Proxies whose `X-Forwarded-Host` names the address the browser used.
    let trustedProxies: [IPNetwork]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let bearer = request.headers[.authorization].flatMap(Self.bearerToken)
        if let token = request.headers[.xDeviceToken] ?? bearer.flatMap({ $0.hasPrefix(APIKeyToken.deviceTokenPrefix) ? $0 : nil }) {
            let camera = try await camera(deviceToken: token, request: request, context: context)
            context.deviceCamera = camera
            context.principal = CredentialCheck.principal(of: camera)
            context.credential = .deviceToken(token)
        } else if let key = request.headers[.xAPIKey] ?? bearer.flatMap({ $0.hasPrefix(APIKeyToken.prefix) ? $0 : nil }) {
            context.principal = try await APIKeyCheck(database: database, audit: audit, now: now)
                .principal(key: key, request: request, context: context)
            context.credential = .apiKey(key)
        } else if let token = bearer {
            guard let session = try await sessionDriver.get(key: SessionSettings.keyPrefix + token, as: UserSession.self),
                  let principal = try await principal(session: session) else {
                throw Self.invalidSession
            }
            context.principal = principal
            context.credential = .session(token)
        } else if let session = context.sessions.session {
            guard let principal = try await principal(session: session) else {
                context.sessions.clearSession()
                throw Self.invalidSession
            }
            // A browser sends the cookie with any request to Vigil, whoever's page made it: a change
            // made with the cookie, and a WebSocket opened with it (the feed of every event), must
            // come from Vigil's own pages.
            let isUpgrade = request.headers[.upgrade] != nil
            guard (Self.isSafe(request.method) && !isUpgrade) || isSameOrigin(request, remoteAddress: context.remoteAddress) else {
                throw APIError(.forbidden, code: "csrf_rejected",
                               message: "A change signed in by cookie must come from Vigil's own pages (same origin).")
            }
            context.principal = principal
            context.credential = request.cookies[SessionSettings.cookieName].map { .session($0.value) }
        }
        if let principal = context.principal {
            context.logger[metadataKey: "actor"] = .string(principal.actor)
        }
        return try await next(request, context)
    }

    /// The camera a device token belongs to; it may send its own frames and nothing else.
    private func camera(deviceToken token: String, request: Request, context: Context) async throws -> Camera {
        var camera: Camera?
        if APIKeyToken.isWellFormed(token, prefix: APIKeyToken.deviceTokenPrefix) {
            camera = deviceTokens.camera(for: token)
            if camera == nil {
                camera = try await database.read { try await CameraRepository($0, logger: context.logger).find(deviceToken: token) }
                if let camera { deviceTokens.remember(token, camera) }
            }
        }
        guard let camera else {
            try await audit.recordSampled(AuditEntry(
                actor: "anonymous", action: "device_token_rejected", resourceType: "camera",
                details: .object(["path": .string(request.uri.path)]), status: .failure), context: context, database: database)
            throw APIError(.unauthorized, code: "invalid_device_token",
                           message: "The device token is not valid; rotate the camera's token and configure the camera again.")
        }
        return camera
    }

    /// The signed-in user of a session, if the account still exists and is active.
    private func principal(session: UserSession) async throws -> Principal? {
        try await CredentialCheck(database: database, sessionDriver: sessionDriver, now: now).principal(of: session)
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }

    /// Whether the browser says the request comes from a page of this origin: `Sec-Fetch-Site`
    /// where it sends it (secure contexts only), else `Origin` naming the address the request was
    /// sent to. A plain-HTTP page on a LAN name (`http://nvr.lan:8080`) sends only `Origin`.
    ///
    /// The address is the request's authority (HTTP/1.1's `Host` becomes it); behind a trusted
    /// proxy, the `X-Forwarded-Host` that proxy sets.
    func isSameOrigin(_ request: Request, remoteAddress: String?) -> Bool {
        if let site = request.headers[.secFetchSite] { return site == "same-origin" }
        guard let origin = request.headers[.origin] else { return false }
        var authority = request.head.authority
        if let remoteAddress, trustedProxies.contains(where: { $0.contains(remoteAddress) }),
           let forwarded = request.headers[.xForwardedHost]?.split(separator: ",").first {
            authority = forwarded.trimmingCharacters(in: .whitespaces)
        }
        guard let authority else { return false }
        return OriginCheck.isSameOrigin(origin: origin, authority: authority)
    }

    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static let invalidSession = APIError(.unauthorized, code: "session_expired",
                                         message: "The session has expired or ended; sign in again.")
}

/// Checks an API key, wherever the request carried it (a header, or a form field for DeepStack
/// clients); a rejected key is audited.
struct APIKeyCheck {
    let database: Database
    let audit: AuditTrail
    let now: @Sendable () -> Date

    func principal(key: String, request: Request, context: VigilRequestContext) async throws -> Principal {
        let now = now()
        let principal = APIKeyToken.isWellFormed(key)
            ? try await database.read { try await APIKeyRepository($0, logger: context.logger).authenticate(key: key, now: now) }
            : nil
        guard let principal else {
            try await audit.recordSampled(AuditEntry(
                actor: "anonymous", action: "api_key_rejected", resourceType: "api_key",
                resourceId: APIKeyToken.isWellFormed(key) ? APIKeyToken.displayPrefix(key) : nil,
                details: .object(["path": .string(request.uri.path)]), status: .failure), context: context, database: database)
            throw APIError(.unauthorized, code: "invalid_api_key", message: "The API key is not valid, has been revoked, or has expired.")
        }
        return principal
    }
}

/// Admits a request only if its route declares who may call it and the caller qualifies.
/// Until the first administrator exists, only open routes answer.
struct AuthorizationMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let policy: AccessPolicy
    let setup: SetupState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Unmatched paths fall through to the router's 404.
        guard let endpoint = context.endpointPath else { return try await next(request, context) }
        guard let access = policy.access(request.method, endpoint) else {
            context.logger.error("route without a declared access policy", metadata: ["route": .string(endpoint)])
            throw APIError(.forbidden, code: "forbidden", message: "This route is not available.")
        }
        if access == .open { return try await next(request, context) }
        guard try await setup.isComplete() else {
            throw APIError(.serviceUnavailable, code: "setup_required",
                           message: "Vigil has no administrator yet: open Vigil in a browser and use the setup token from its log, or run `vigil user create --admin`.")
        }
        guard let principal = context.principal else {
            // The handler reads the key from the form and checks it.
            if case .permissionWithKeyInForm = access { return try await next(request, context) }
            throw APIError(.unauthorized, code: "authentication_required",
                           message: "Sign in, or send an API key in X-API-Key or Authorization: Bearer.")
        }
        if case .permissionWithKeyInForm(let permission) = access, !principal.allows(permission) {
            throw APIError(.forbidden, code: "permission_denied", message: "Your role (\(principal.role)) may not \(permission).")
        }
        if case .permission(let permission) = access, !principal.allows(permission) {
            throw APIError(.forbidden, code: "permission_denied", message: "Your role (\(principal.role)) may not \(permission).")
        }
        return try await next(request, context)
    }
}

/// Whether the first administrator exists; once it does, it stays so (the last one cannot be removed).
/// Device tokens checked against the database in the last few seconds, so a camera sending
/// frames many times a second costs one lookup per `lifetime` rather than one per frame.
///
/// Any change to a camera through this process (edit, switch-off, delete, token rotation) empties
/// it at once; a change made by another Vigil process on the same database takes effect here
/// within `lifetime`.
final class DeviceTokenCache: Sendable {
    private struct Entry {
        var camera: Camera
        var expires: ContinuousClock.Instant
    }

    let lifetime: Duration
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: Duration = .seconds(5), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Only the token's hash is kept.
    func camera(for token: String) -> Camera? {
        let key = Digest.sha256Hex(Data(token.utf8))
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expires > now else {
                entries[key] = nil
                return nil
            }
            return entry.camera
        }
    }

    func remember(_ token: String, _ camera: Camera) {
        let key = Digest.sha256Hex(Data(token.utf8))
        let expires = ContinuousClock.now + lifetime
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(camera: camera, expires: expires)
        }
    }

    func invalidateAll() {
        entries.withLock { $0.removeAll() }
    }
}

final class SetupState: Sendable {
    private let complete = Mutex(false)
    let database: Database

    init(database: Database) {
        self.database = database
    }

    func isComplete() async throws -> Bool {
        if complete.withLock({ $0 }) { return true }
        let exists = try await database.read { try await UserRepository($0, logger: Logger(label: "vigil.setup")).exists() }
        if exists { complete.withLock { $0 = true } }
        return exists
    }
}

enum SessionSettings {
    /// Prefix of session keys in the store.
    static let keyPrefix = "session."
    static let cookieName = "vigil_session"
    static let lifetime: Duration = .seconds(12 * 3600)
}

extension HTTPField.Name {
    static let xAPIKey = Self("X-API-Key")!
    static let xDeviceToken = Self("X-Device-Token")!
    static let xForwardedHost = Self("X-Forwarded-Host")!
    static let secFetchSite = Self("Sec-Fetch-Site")!
}

/// Works out, again, whom a credential stands for now: a session's user while the session lasts
/// and the user is active, a key while it is not revoked or expired, a camera's token while the
/// camera has it. The middleware asks once per request; a live connection asks every few seconds,
/// so a signed-out user, a revoked key or a change of sites ends it.
struct CredentialCheck: Sendable {
    let database: Database
    let sessionDriver: PostgresSessionDriver
    let now: @Sendable () -> Date

    func principal(of credential: PresentedCredential) async throws -> Principal? {
        let logger = Logger(label: "vigil.auth")
        switch credential {
        case .session(let token):
            guard let session = try await sessionDriver.get(key: SessionSettings.keyPrefix + token, as: UserSession.self) else { return nil }
            return try await principal(of: session)
        case .apiKey(let key):
            let now = now()
            return try await database.read { try await APIKeyRepository($0, logger: logger).authenticate(key: key, now: now) }
        case .deviceToken(let token):
            return try await database.read { try await CameraRepository($0, logger: logger).find(deviceToken: token) }.map(Self.principal(of:))
        }
    }

    /// The signed-in user of a session, if the account still exists and is active.
    func principal(of session: UserSession) async throws -> Principal? {
        let credentials = try await database.read {
            try await UserRepository($0, logger: Logger(label: "vigil.auth")).credentials(id: session.userId)
        }
        guard let credentials, credentials.user.isActive else { return nil }
        let user = credentials.user
        return Principal(kind: .user, id: user.id, name: user.username, role: user.role, permissions: credentials.permissions,
                         siteScope: user.role == Role.superAdminName ? .allSites : .assignedTo(userId: user.id))
    }

    /// A camera sending with its device token: its own frames and nothing else.
    static func principal(of camera: Camera) -> Principal {
        Principal(kind: .device, id: camera.id, name: camera.slug, role: "device",
                  permissions: PermissionMatrix(granted: [.ingestWrite]), siteScope: .allSites)
    }
}

/// The credential a request came with, kept so that a long-lived connection can be checked again.
public enum PresentedCredential: Sendable, Equatable {
    case session(String)
    case apiKey(String)
    case deviceToken(String)
}
