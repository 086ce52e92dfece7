import Foundation
import PostgresNIO
import VigilCore

/// A database refusal that the caller can explain to a person, named by the constraint involved.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A UNIQUE constraint: the value is taken.
    case duplicate(constraint: String)
    /// A FOREIGN KEY constraint: the referenced row does not exist (or still has dependants).
    case missingReference(constraint: String)
    /// A CHECK constraint: the value is outside what the schema allows.
    case rejected(constraint: String)

    /// Translates PostgreSQL's integrity errors; any other error is returned unchanged.
    static func translate(_ error: any Error) -> any Error {
        guard let psql = error as? PSQLError, let info = psql.serverInfo,
              let state = info[.sqlState] else { return error }
        let constraint = info[.constraintName] ?? "unknown"
        switch state {
        case "23505": return StoreError.duplicate(constraint: constraint)
        case "23503": return StoreError.missingReference(constraint: constraint)
        case "23514", "23502": return StoreError.rejected(constraint: constraint)
        default: return error
        }
    }

    public var description: String {
        switch self {
        case .duplicate(let constraint): "duplicate value (\(constraint))"
        case .missingReference(let constraint): "missing reference (\(constraint))"
        case .rejected(let constraint): "rejected by \(constraint)"
        }
    }
}

/// Runs `body`, turning integrity errors into ``StoreError``s.
@discardableResult
func translatingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch {
        throw StoreError.translate(error)
    }
}

/// One page of a list in id order, with the cursor for the next page (nil on the last page).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: UUID?

    /// Builds a page from up to `limit + 1` rows: the extra row only tells that more exist.
    init(rows: [Item], limit: Int, id: (Item) -> UUID) {
        if rows.count > limit {
            items = Array(rows.prefix(limit))
            nextCursor = items.last.map(id)
        } else {
            items = rows
            nextCursor = nil
        }
    }
}

/// Where a list starts and how long it is.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maximumLimit = 500

    public var after: UUID?
    public var limit: Int

    public init(after: UUID? = nil, limit: Int = PageRequest.defaultLimit) {
        self.after = after
        self.limit = limit
    }
}

extension Encodable {
    /// The JSON text of this value, for binding to a `jsonb` parameter. Times are written to the
    /// microsecond, as PostgreSQL keeps them, so a time read back equals the one written.
    func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(postgresTimestampText(date))
        }
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// `2026-11-21T23:57:48.123456Z`: a time as PostgreSQL's `timestamptz` input reads it, to the microsecond.
func postgresTimestampText(_ date: Date) -> String {
    let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    var seconds = time_t(micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000)
    let fraction = micros - Int64(seconds) * 1_000_000
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                  Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), fraction)
}

extension Decodable {
    /// Decodes a value from JSON text read from a `jsonb` column (selected as `::text`).
    init(jsonText: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(jsonText.utf8))
    }
}
