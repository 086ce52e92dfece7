import Foundation
import Hummingbird
import HummingbirdWebSocket
import VigilCore
import VigilStore

/// `GET /api/v1/ws`: the live feed over a WebSocket. Authenticated like every route (API key,
/// bearer token, or the session cookie a browser sends with the upgrade); a client sees the
/// sites it may see. Messages are JSON: `{"type": "event.created", "data": {...}, "sent_at": ...}`
/// with the types `hello`, `event.created`, `event.updated`, `alert.created`, `alert.updated`,
/// `suspicious_activity.created`, `camera.status` and `heartbeat`.
struct LiveController {
    let feed: LiveFeed
    let database: Database
    /// Checks the connection's credential again while it is open.
    let credentials: CredentialCheck
    /// How often: a signed-out user, a revoked key, a disabled account or new sites end the
    /// connection within this.
    var recheckInterval: Duration = .seconds(2)

    func addRoutes(to routes: SecuredRoutes) {
        routes.ws("/ws", .permission(.eventsRead), shouldUpgrade: { request, _ in
            // A plain GET reaches the route too; only an upgrade makes sense here.
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw APIError(.init(code: 426, reasonPhrase: "Upgrade Required"), code: "upgrade_required",
                               message: "This is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket).")
            }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            let audience = try await audience(of: context.requestContext)
            let subscription = feed.subscribe(audience)
            defer { feed.unsubscribe(subscription.id) }
            try await outbound.write(.text(LiveFeed.envelope(type: "hello", data: .object([
                "types": .array(["event.created", "event.updated", "alert.created", "alert.updated", "suspicious_activity.created",
                                 "camera.status", "heartbeat"]
                    .map(JSONValue.string)),
            ]))))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await message in subscription.messages { try await outbound.write(.text(message)) }
                    if subscription.isOverflowed() {
                        try await outbound.close(.policyViolation, reason: "too slow: more than \(feed.settings.queueLimit) messages waiting")
                    }
                }
                // What the client sends is not used; reading it notices the client going away.
                group.addTask { for try await _ in inbound {} }
                // The connection lasts only as long as what opened it.
                let requestContext = context.requestContext
                group.addTask {
                    while true {
                        try await Task.sleep(for: recheckInterval)
                        if try await !stillEntitled(requestContext, to: audience) {
                            try await outbound.close(.policyViolation, reason: "signed out, revoked, or no longer allowed")
                            return
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        })
    }

    /// Whether the credential the connection was opened with still gives a principal that may
    /// read events, and the same sites. A database that does not answer keeps the connection: the
    /// next check decides.
    private func stillEntitled(_ context: VigilRequestContext, to audience: LiveFeed.Audience) async throws -> Bool {
        guard let credential = context.credential else { return false }
        do {
            guard let principal = try await credentials.principal(of: credential), principal.allows(.eventsRead) else { return false }
            var now = context
            now.principal = principal
            return try await self.audience(of: now) == audience
        } catch is DatabaseUnavailable {
            return true
        }
    }

    private func audience(of context: VigilRequestContext) async throws -> LiveFeed.Audience {
        guard let principal = context.principal else { throw APIError(.unauthorized, code: "authentication_required", message: "Sign in first.") }
        switch principal.siteScope {
        case .allSites:
            return .allSites
        case .assignedTo(let userId):
            let sites = try await database.read { try await UserRepository($0, logger: context.logger).assignedSites(userId: userId) }
            return .sites(sites)
        }
    }
}
