import Hummingbird
import HummingbirdWebSocket
import HTTPTypes
import Synchronization
import VigilCore

/// Who may call a route.
public enum RouteAccess: Sendable, Equatable, CustomStringConvertible {
    /// Anyone, signed in or not, even before the first administrator exists (health, sign-in).
    case open
    /// Any signed-in principal (their own profile, sign-out).
    case authenticated
    /// A principal whose role grants this permission.
    case permission(Permission)
    /// As `permission`, for clients of other products' APIs (DeepStack) that send their API key
    /// as the form field `api_key` rather than a header: the route's handler checks that key.
    case permissionWithKeyInForm(Permission)

    public var description: String {
        switch self {
        case .open: "open"
        case .authenticated: "authenticated"
        case .permission(let permission): permission.description
        case .permissionWithKeyInForm(let permission): "\(permission.description) (API key in a header or the form)"
        }
    }
}

/// Every route's declared access, filled while routes are registered. A route missing from it
/// is refused (deny by default), and a test walks the router to prove none is missing.
public final class AccessPolicy: Sendable {
    private let entries = Mutex<[String: RouteAccess]>([:])

    public init() {}

    func declare(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess) {
        entries.withLock { $0[Self.key(method, path)] = access }
    }

    public func access(_ method: HTTPRequest.Method, _ path: String) -> RouteAccess? {
        entries.withLock { $0[Self.key(method, path)] }
    }

    public var all: [String: RouteAccess] { entries.withLock { $0 } }

    static func key(_ method: HTTPRequest.Method, _ path: String) -> String {
        "\(method.rawValue) \(RouterPath(path).description)"
    }
}

/// Registers routes together with their access, so no route exists without a declaration.
struct SecuredRoutes {
    let group: RouterGroup<VigilRequestContext>
    let prefix: String
    let policy: AccessPolicy

    init(_ router: Router<VigilRequestContext>, prefix: String = "", policy: AccessPolicy) {
        self.group = router.group(RouterPath(prefix.isEmpty ? "/" : prefix))
        self.prefix = prefix
        self.policy = policy
    }

    func get<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess,
                                        use handler: @escaping @Sendable (Request, VigilRequestContext) async throws -> Output) {
        on(path, .get, access, handler)
    }

    func post<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess,
                                         use handler: @escaping @Sendable (Request, VigilRequestContext) async throws -> Output) {
        on(path, .post, access, handler)
    }

    func patch<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess,
                                          use handler: @escaping @Sendable (Request, VigilRequestContext) async throws -> Output) {
        on(path, .patch, access, handler)
    }

    func delete<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess,
                                           use handler: @escaping @Sendable (Request, VigilRequestContext) async throws -> Output) {
        on(path, .delete, access, handler)
    }

    /// A WebSocket endpoint: the upgrade request passes authentication and authorization like any other.
    func ws(_ path: String, _ access: RouteAccess, shouldUpgrade: @escaping @Sendable (Request, VigilRequestContext) async throws -> RouterShouldUpgrade,
            onUpgrade handler: @escaping WebSocketDataHandler<WebSocketRouterContext<VigilRequestContext>>) {
        policy.declare(.get, prefix + path, access)
        group.ws(RouterPath(path), shouldUpgrade: shouldUpgrade, onUpgrade: handler)
    }

    private func on<Output: ResponseGenerator>(_ path: String, _ method: HTTPRequest.Method, _ access: RouteAccess,
                                               _ handler: @escaping @Sendable (Request, VigilRequestContext) async throws -> Output) {
        policy.declare(method, prefix + path, access)
        group.on(RouterPath(path), method: method, use: handler)
    }
}
