import Foundation
import Hummingbird
import VigilStore

/// A JSON response with a status: `201 Created` for creations, `200 OK` otherwise.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var value: Value

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(data: try APIJSON.encode(value))))
    }
}

/// One page of a list: `{"items": [...], "next_cursor": "<id>"}`; pass `next_cursor` as `after` for the next page.
struct ListBody<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var nextCursor: UUID?

    init(_ page: Page<Item>) {
        items = page.items
        nextCursor = page.nextCursor
    }

    init(items: [Item], nextCursor: UUID?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        // Explicit null on the last page, so clients need not tell "absent" from "null".
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// A resource as just made, with a secret that is in this answer and nowhere else (a camera's
/// device token, an API key): Vigil keeps only its hash.
struct WithSecret<Resource: Encodable & Sendable>: Encodable, Sendable {
    var resource: Resource
    /// The JSON member the secret goes in.
    var field: String
    var secret: String?

    private struct Member: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        try resource.encode(to: encoder)
        var container = encoder.container(keyedBy: Member.self)
        try container.encodeIfPresent(secret, forKey: Member(stringValue: field))
    }
}
