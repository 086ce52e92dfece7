import Foundation
import Hummingbird
import NIOCore
import VigilCore

/// How the `/v1/vision/*` routes read their form and find their caller, as DeepStack and
/// CodeProject.AI clients send them:
/// - the form is `multipart/form-data` or `application/x-www-form-urlencoded` (DeepStack takes
///   both on every route; clients list faces with an urlencoded `api_key` alone);
/// - the key is in a header, or in the form's `api_key` field, or nowhere at all for callers from
///   the networks the operator opened (`VIGIL_DEEPSTACK_OPEN_TO`, for CodeProject.AI clients such
///   as Blue Iris, which send none).
///
/// Cost before trust: a caller that is not yet known gets at most ``unauthenticatedPrefix`` bytes
/// read before its key is checked. A key sent in the form must therefore come before a large image
/// (DeepStack's own clients send their fields before their files); otherwise it belongs in a header.
struct DeepStackForms: Sendable {
    let apiKeys: APIKeyCheck
    let audit: AuditTrail
    /// Networks whose callers need no key.
    let openTo: [IPNetwork]

    /// The most a vision request may send.
    static let maximumBytes = 16 << 20
    /// What is read of an unauthenticated request to find the key in its form.
    static let unauthenticatedPrefix = 64 << 10
    /// What a key-less caller from an open network may do: the vision routes, nothing else.
    static let openPermissions = PermissionMatrix(granted: [.ingestWrite, .personsRead, .personsWrite])

    typealias Failure = DeepStackController.Failure

    /// Vision requests served at once, at most: each holds a core for its inference, so a burst
    /// past them is answered 429 at once rather than queued behind itself.
    let slots = ConcurrencyLimit(maximum: 4)

    /// Answers with `body` in one of the vision routes' slots, or with 429 and `Retry-After` when
    /// they are all taken.
    func limited(_ body: () async throws -> Response) async throws -> Response {
        try await slots.run(tooBusyWith: "pictures being analysed", body)
    }

    enum Encoding {
        case multipart(boundary: String)
        case urlEncoded

        init?(contentType: String) {
            if let boundary = MultipartFormData.boundary(fromContentType: contentType) {
                self = .multipart(boundary: boundary)
            } else if contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
                        == "application/x-www-form-urlencoded" {
                self = .urlEncoded
            } else {
                return nil
            }
        }

        func parse(_ body: [UInt8]) throws -> MultipartFormData {
            switch self {
            case .multipart(let boundary): try MultipartFormData(body: body, boundary: boundary)
            case .urlEncoded: MultipartFormData.urlEncoded(body)
            }
        }

        /// The fields known from the first bytes of a longer body.
        func leadingFields(_ prefix: [UInt8]) -> MultipartFormData {
            switch self {
            case .multipart(let boundary):
                return MultipartFormData(parts: MultipartFormData.leadingParts(of: prefix, boundary: boundary))
            case .urlEncoded:
                // Only pairs ended by '&' are whole.
                guard let end = prefix.lastIndex(of: UInt8(ascii: "&")) else { return MultipartFormData(parts: []) }
                return MultipartFormData.urlEncoded(Array(prefix[..<end]))
            }
        }
    }

    /// The request's form and the context of its checked caller, or the DeepStack-shaped refusal.
    func read(_ request: Request, context: VigilRequestContext, permission: Permission) async throws
        -> Result<(MultipartFormData, VigilRequestContext), Failure> {
        guard let encoding = Encoding(contentType: request.headers[.contentType] ?? "") else {
            // No form, so no key in it either: a caller not yet known is told to authenticate first.
            if context.principal == nil && !isOpen(context.remoteAddress) { return .failure(Self.keyRequired) }
            return .failure(Failure(.badRequest, "Send the form as multipart/form-data (with the picture as 'image') or application/x-www-form-urlencoded."))
        }
        var context = context
        var chunks = request.body.makeAsyncIterator()
        var body: [UInt8] = []
        /// Reads on until `limit` bytes are held or the body ends; whether it ended.
        func collect(upTo limit: Int) async throws -> Bool {
            while body.count < limit {
                guard let chunk = try await chunks.next() else { return true }
                body += chunk.readableBytesView
            }
            return false
        }
        do {
            if context.principal == nil {
                let ended = try await collect(upTo: Self.unauthenticatedPrefix)
                let fields = ended ? try encoding.parse(body) : encoding.leadingFields(body)
                if let key = fields.text("api_key"), !key.isEmpty {
                    // A key that is sent is checked, even from an open network: a wrong one is a mistake to report.
                    do {
                        context.principal = try await apiKeys.principal(key: key, request: request, context: context)
                    } catch let error as APIError {
                        return .failure(Failure(error.status, error.message))
                    }
                } else if isOpen(context.remoteAddress), let address = context.remoteAddress {
                    try await audit.recordSampled(AuditEntry(actor: "network:\(address)", action: "deepstack_keyless_access",
                                                             resourceType: "vision", details: .object(["path": .string(request.uri.path)])),
                                                  context: context, database: apiKeys.database)
                    context.principal = Principal(kind: .network, id: Self.openNetworkId, name: address, role: "deepstack_open",
                                                  permissions: Self.openPermissions, siteScope: .allSites)
                } else {
                    return .failure(ended ? Self.keyRequired
                        : Failure(.unauthorized, "Send the API key in X-API-Key or Authorization: Bearer, or as a form field before the image."))
                }
            }
            guard context.principal?.allows(permission) == true else {
                return .failure(Failure(.forbidden, "The caller's role (\(context.principal?.role ?? "none")) may not \(permission)."))
            }
            let ended = try await collect(upTo: Self.maximumBytes + 1)
            if !ended || body.count > Self.maximumBytes {
                return .failure(Failure(.contentTooLarge, "The picture may be at most \(Self.maximumBytes) bytes."))
            }
            return .success((try encoding.parse(body), context))
        } catch let problem as MultipartFormData.Problem {
            return .failure(Failure(.badRequest, "The multipart body is malformed: \(problem)."))
        }
    }

    static let keyRequired = Failure(.unauthorized, "Send an API key in X-API-Key, Authorization: Bearer, or the form field api_key.")

    /// Whether callers from `address` need no key.
    func isOpen(_ address: String?) -> Bool {
        guard let address else { return false }
        return openTo.contains { $0.contains(address) }
    }

    /// The id of every key-less caller (no row exists for them; the audit names their address).
    static let openNetworkId = UUID(uuidString: "00000000-0000-7000-8000-00000000d5d5")!
}
