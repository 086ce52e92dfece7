import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import VigilStore

/// Turns every error into an ``APIError`` response, so a client always gets the stable JSON shape
/// and never a database message or a stack trace.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.describing(error)
            // Refusals the code chose (setup_required, database_unavailable) are not failures of Vigil's.
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": .string(Self.loggableDescription(of: error))])
            }
            return try apiError.response(from: request, context: context)
        }
    }

    /// What to log about an unexpected error. A database error's full reflection includes its
    /// query's bound values, which may be secrets, so only its code and server message are kept.
    static func loggableDescription(of error: any Error) -> String {
        if let error = error as? PSQLError {
            let state = error.serverInfo?[.sqlState] ?? "none"
            let message = error.serverInfo?[.message] ?? "no server message"
            return "PSQLError(code: \(error.code), sqlState: \(state), message: \(message))"
        }
        return String(describing: type(of: error)) + ": " + String(describing: error)
    }

}

extension Logger.MetadataValue {
    /// An error as a log value: what went wrong, without secrets (see `loggableDescription`).
    public static func error(_ error: any Error) -> Logger.MetadataValue {
        .string(ErrorMiddleware.loggableDescription(of: error))
    }
}

extension APIError {
    /// The client-facing form of any error: its own ``APIError``, a constraint's meaning, or a generic one.
    public static func describing(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as StoreError:
            return ConstraintMessages.apiError(for: error)
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, code: "body_too_large", message: "The body is too large.")
        case let error as HTTPError:
            return describing(error)
        case is DatabaseUnavailable:
            return .databaseUnavailable
        case let error as PSQLError where error.serverInfo == nil:
            // No answer from the server: connecting failed or the connection dropped.
            return .databaseUnavailable
        case let error as PSQLError where error.serverInfo?[.sqlState] == "42501":
            // Row-level security refused a write the code did not foresee: the caller's sites do not reach it.
            return APIError(.forbidden, code: "site_not_writable", message: "That would write a row of a site you do not manage.")
        default:
            return .internalError
        }
    }

    private static func describing(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound:
            return APIError(.notFound, code: "route_not_found", message: "No such route.")
        case .methodNotAllowed:
            return APIError(.methodNotAllowed, code: "method_not_allowed", message: "This route does not accept that method.")
        case .contentTooLarge:
            return APIError(.contentTooLarge, code: "body_too_large", message: "The body is too large.")
        case let status where (400..<500).contains(status.code):
            return APIError(status, code: "bad_request", message: error.body ?? status.reasonPhrase)
        default:
            return .internalError
        }
    }
}

/// What each database constraint means to a person who hit it.
enum ConstraintMessages {
    static func apiError(for error: StoreError) -> APIError {
        switch error {
        case .duplicate(let constraint):
            let (code, message) = duplicates[constraint] ?? ("conflict", "A resource with these values already exists.")
            return APIError(.conflict, code: code, message: message)
        case .missingReference(let constraint):
            let (code, message) = references[constraint]
                ?? ("invalid_reference", "The request refers to something that does not exist.")
            return APIError(.unprocessableContent, code: code, message: message)
        case .rejected:
            return APIError(.unprocessableContent, code: "invalid_value", message: "A value is outside what Vigil accepts.")
        }
    }

    private static let duplicates: [String: (String, String)] = [
        "uq_sites_name": ("site_name_taken", "A site with this name already exists."),
        "uq_notification_channels_name": ("channel_name_taken", "A notification channel with this name already exists."),
        "uq_cameras_slug": ("camera_slug_taken", "A camera with this name (slug) already exists; choose another name or slug."),
        "uq_cameras_device_id": ("camera_device_id_taken", "Another camera already uses this device_id."),
        "uq_cameras_dvr_channel": ("dvr_channel_taken", "Another camera already uses this channel of the DVR."),
        "uq_watchlists_name": ("watchlist_name_taken", "A watchlist with this name already exists."),
        "uq_model_versions_string": ("model_version_taken", "A model version with this name already exists."),
    ]

    private static let references: [String: (String, String)] = [
        "fk_dvrs_site": ("site_not_found", "site_id names no existing site."),
        "fk_cameras_site": ("site_not_found", "site_id names no existing site."),
        "fk_cameras_dvr": ("dvr_not_found", "dvr_id names no DVR at the camera's site."),
        "fk_camera_zones_camera": ("camera_not_found", "The camera no longer exists."),
        "watchlist_entries_person_id_fkey": ("person_not_found", "person_id names no existing person."),
    ]
}
