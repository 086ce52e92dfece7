import Foundation
import Hummingbird
import HummingbirdWebSocket
import HummingbirdAuth
import NIOCore
import VigilCore

/// What a sign-in session holds. `user_id` is also a generated column of `sessions`, so every
/// session of a user can be ended at once.
public struct UserSession: Codable, Sendable, Equatable {
    public var userId: UUID
    public var createdAt: Date

    public init(userId: UUID, createdAt: Date) {
        self.userId = userId
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case userId = "user_id"
        case createdAt = "created_at"
    }
}

/// The per-request context of every Vigil route.
public struct VigilRequestContext: RequestContext, SessionRequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let sessions: SessionContext<UserSession>
    /// The request id echoed in `X-Request-Id` and attached to every log line of the request.
    public var requestId: String = ""
    /// Who is calling, once authenticated.
    public var principal: Principal?
    /// The credential the principal was found by (a live connection checks it again).
    public var credential: PresentedCredential?
    /// For a device principal: its camera, as authentication found it.
    public var deviceCamera: Camera?
    /// The client's address, for the audit log and login throttling.
    public let remoteAddress: String?
    /// The client's `User-Agent`, for the audit log.
    public var userAgent: String?
    /// Set by a WebSocket route that accepts an upgrade.
    public let webSocket = WebSocketHandlerReference<VigilRequestContext>()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.sessions = SessionContext()
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// JSON bodies of the API are small; frame uploads collect their bodies with their own limit.
    public var maxUploadSize: Int { 1 << 20 }

    public var responseEncoder: APIResponseEncoder { APIResponseEncoder() }
    public var requestDecoder: JSONDecoder { APIJSON.decoder }
}

/// Answers a handler's `Encodable` value as every other answer is written (``APIJSON/encode(_:)``).
public struct APIResponseEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(data: try APIJSON.encode(value))))
    }
}

/// The one JSON configuration of the API: ISO 8601 dates with fractional seconds, sorted keys,
/// ids in lower case.
public enum APIJSON {
    /// `value` as the API writes it: through ``encoder``, then with every id in lower case
    /// (``CanonicalIds``), for answers, WebSocket messages, notifications and audit details alike.
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        var bytes = [UInt8](try encoder.encode(value))
        CanonicalIds.lowercasingQuotedUUIDs(&bytes)
        return Data(bytes)
    }

    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)
                .timeZone(separator: .omitted)))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Accepts ISO 8601 times with or without fractional seconds.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) {
                return date
            }
            if let date = try? Date(text, strategy: .iso8601) {
                return date
            }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 time such as 2026-01-31T22:00:00Z")
        }
        return decoder
    }
}
