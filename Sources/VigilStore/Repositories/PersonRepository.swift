import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of persons with their aliases and labels, and of watchlists with their entries.
public struct PersonRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    static let columns = """
        p.id, p.name, p.status, p.role, p.department, p.company, p.notes,
        COALESCE((SELECT array_agg(a.alias_name ORDER BY a.alias_name) FROM person_aliases a WHERE a.person_id = p.id), '{}'),
        COALESCE((SELECT array_agg(l.label ORDER BY l.label) FROM person_labels l WHERE l.person_id = p.id), '{}'),
        p.primary_face_embedding_id,
        (SELECT count(*) FROM face_embeddings f WHERE f.person_id = p.id AND f.source = 'enrolment')::int8,
        COALESCE((SELECT array_agg(w.watchlist_id ORDER BY w.watchlist_id) FROM watchlist_entries w WHERE w.person_id = p.id), '{}'),
        p.created_at, p.updated_at, p.site_id
        """

    func decode(_ rows: PostgresRowSequence) async throws -> [Person] {
        var persons: [Person] = []
        for try await (id, name, status, role, department, company, notes, aliases, labels, primary, faces, watchlists, created, updated, site)
            in rows.decode((UUID, String?, String, String?, String?, String?, String?, [String], [String], UUID?, Int64, [UUID], Date,
                            Date, UUID?).self) {
            persons.append(Person(id: id, name: name, status: PersonStatus(rawValue: status) ?? .unknown, role: role,
                                  department: department, company: company, notes: notes, aliases: aliases,
                                  labels: labels.compactMap(PersonLabel.init(rawValue:)), primaryFaceId: primary, faceCount: Int(faces),
                                  watchlistIds: watchlists, createdAt: created, updatedAt: updated, siteId: site))
        }
        return persons
    }

    /// Persons whose name or an alias contains `search` (any case), optionally of one status, in id order.
    public func list(search: String?, status: PersonStatus?, page: PageRequest) async throws -> Page<Person> {
        let pattern = search.map { "%\(SiteRepository.escapeLike($0.lowercased()))%" }
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM persons p
            WHERE (\(page.after)::uuid IS NULL OR p.id > \(page.after))
              AND (\(status?.rawValue)::text IS NULL OR p.status = \(status?.rawValue))
              AND (\(pattern)::text IS NULL OR lower(p.name) LIKE \(pattern)
                   OR EXISTS (SELECT 1 FROM person_aliases a WHERE a.person_id = p.id AND lower(a.alias_name) LIKE \(pattern)))
            ORDER BY p.id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    public func find(id: UUID, forUpdate: Bool = false) async throws -> Person? {
        try await decode(try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM persons p WHERE p.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE OF p" : "")",
            logger: logger)).first
    }

    /// The person whose name, or failing that an alias, is exactly `name` (any case); the oldest when several are.
    public func find(named name: String) async throws -> Person? {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM persons p
            WHERE lower(p.name) = lower(\(name))
               OR EXISTS (SELECT 1 FROM person_aliases a WHERE a.person_id = p.id AND lower(a.alias_name) = lower(\(name)))
            ORDER BY (lower(p.name) = lower(\(name))) DESC NULLS LAST, p.id LIMIT 1
            """, logger: logger)).first
    }

    /// The names (the id where a person has none) of the persons with a gallery of the model's faces, sorted.
    public func namesWithGallery(model: String) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT COALESCE(p.name, p.id::text) FROM persons p
            WHERE EXISTS (SELECT 1 FROM face_embeddings f WHERE f.person_id = p.id AND f.source = 'enrolment' AND f.model_version = \(model))
            ORDER BY 1
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    public func create(id: UUID, _ input: PersonInput, createdBy: UUID?) async throws -> Person {
        try await translatingErrors {
            try await connection.query("""
                INSERT INTO persons (id, site_id, name, status, role, department, company, notes, created_by)
                VALUES (\(id), \(input.siteId), \(input.name), \((input.status ?? .known).rawValue), \(input.role), \(input.department),
                        \(input.company), \(input.notes), \(createdBy))
                """, logger: logger)
            try await replaceNames(of: id, aliases: input.aliases ?? [], labels: input.labels ?? [], by: createdBy)
        }
        guard let person = try await find(id: id) else { throw StoreError.missingReference(constraint: "persons_pkey") }
        return person
    }

    public func update(id: UUID, _ input: PersonInput, by userId: UUID?) async throws -> Person? {
        try await translatingErrors {
            try await connection.query("""
                UPDATE persons SET site_id = \(input.siteId), name = \(input.name), status = \((input.status ?? .known).rawValue), role = \(input.role),
                    department = \(input.department), company = \(input.company), notes = \(input.notes)
                WHERE id = \(id)
                """, logger: logger)
            try await replaceNames(of: id, aliases: input.aliases ?? [], labels: input.labels ?? [], by: userId)
        }
        return try await find(id: id)
    }

    private func replaceNames(of id: UUID, aliases: [String], labels: [PersonLabel], by userId: UUID?) async throws {
        try await connection.query("""
            DELETE FROM person_aliases WHERE person_id = \(id) AND alias_name <> ALL(\(aliases))
            """, logger: logger)
        try await connection.query("""
            INSERT INTO person_aliases (person_id, alias_name) SELECT \(id), unnest(\(aliases)::text[]) ON CONFLICT DO NOTHING
            """, logger: logger)
        let names = labels.map(\.rawValue)
        try await connection.query("DELETE FROM person_labels WHERE person_id = \(id) AND label <> ALL(\(names))", logger: logger)
        try await connection.query("""
            INSERT INTO person_labels (person_id, label, created_by) SELECT \(id), unnest(\(names)::text[]), \(userId)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Deletes the person with their gallery; their events and alerts keep the id.
    @discardableResult
    public func delete(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM persons WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// What risk scoring and alert rules know of recognized persons: status, labels, and the
    /// active watchlists they are on, of those `watchlists` reaches (an event's site: its own
    /// lists and every site's, never another site's).
    public func profiles(of ids: [UUID], watchlists: SiteFilter) async throws -> [RecognizedPerson] {
        guard !ids.isEmpty else { return [] }
        let (filtered, site) = watchlists.parameters
        let rows = try await connection.query("""
            WITH lists AS (
                SELECT w.id, w.name, w.watch_type FROM watchlists w
                WHERE w.is_active AND (NOT \(filtered) OR w.site_id IS NULL OR w.site_id = \(site))
            )
            SELECT p.id, p.name, p.status,
                COALESCE((SELECT array_agg(l.label ORDER BY l.label) FROM person_labels l WHERE l.person_id = p.id), '{}'),
                COALESCE((SELECT array_agg(w.id ORDER BY w.id) FROM watchlist_entries e JOIN lists w ON w.id = e.watchlist_id
                          WHERE e.person_id = p.id), '{}'),
                COALESCE((SELECT array_agg(w.name ORDER BY w.id) FROM watchlist_entries e JOIN lists w ON w.id = e.watchlist_id
                          WHERE e.person_id = p.id), '{}'),
                COALESCE((SELECT array_agg(w.watch_type ORDER BY w.id) FROM watchlist_entries e JOIN lists w ON w.id = e.watchlist_id
                          WHERE e.person_id = p.id), '{}')
            FROM persons p WHERE p.id = ANY(\(ids)) ORDER BY p.id
            """, logger: logger)
        var profiles: [RecognizedPerson] = []
        for try await (id, name, status, labels, watchlistIds, watchlistNames, watchTypes)
            in rows.decode((UUID, String?, String, [String], [UUID], [String], [String]).self) {
            let watchlists = zip(watchlistIds, zip(watchlistNames, watchTypes)).map { id, rest in
                RecognizedPerson.Watch(id: id, name: rest.0, type: WatchType(rawValue: rest.1) ?? .custom)
            }
            profiles.append(RecognizedPerson(id: id, name: name, status: PersonStatus(rawValue: status) ?? .unknown,
                                             labels: labels.compactMap(PersonLabel.init(rawValue:)), watchlists: watchlists))
        }
        return profiles
    }

    // MARK: Watchlists

    static let watchlistColumns = """
        w.id, w.name, w.description, w.watch_type, w.is_active,
        (SELECT count(*) FROM watchlist_entries e WHERE e.watchlist_id = w.id)::int8, w.created_at, w.site_id
        """

    func decodeWatchlists(_ rows: PostgresRowSequence) async throws -> [Watchlist] {
        var lists: [Watchlist] = []
        for try await (id, name, description, type, active, entries, created, site)
            in rows.decode((UUID, String, String?, String, Bool, Int64, Date, UUID?).self) {
            lists.append(Watchlist(id: id, name: name, description: description, watchType: WatchType(rawValue: type) ?? .custom,
                                   isActive: active, entryCount: Int(entries), createdAt: created, siteId: site))
        }
        return lists
    }

    public func watchlists(page: PageRequest) async throws -> Page<Watchlist> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.watchlistColumns) FROM watchlists w
            WHERE (\(page.after)::uuid IS NULL OR w.id > \(page.after)) ORDER BY w.id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decodeWatchlists(rows), limit: page.limit, id: \.id)
    }

    public func watchlist(id: UUID, forUpdate: Bool = false) async throws -> Watchlist? {
        try await decodeWatchlists(try await connection.query(
            "SELECT \(unescaped: Self.watchlistColumns) FROM watchlists w WHERE w.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)).first
    }

    public func createWatchlist(id: UUID, _ input: WatchlistInput, createdBy: UUID?) async throws -> Watchlist {
        try await translatingErrors {
            try await connection.query("""
                INSERT INTO watchlists (id, site_id, name, description, watch_type, is_active, created_by)
                VALUES (\(id), \(input.siteId), \(input.name), \(input.description), \(input.watchType.rawValue), \(input.isActive ?? true),
                        \(createdBy))
                """, logger: logger)
        }
        guard let list = try await watchlist(id: id) else { throw StoreError.missingReference(constraint: "watchlists_pkey") }
        return list
    }

    public func updateWatchlist(id: UUID, _ input: WatchlistInput) async throws -> Watchlist? {
        try await translatingErrors {
            try await connection.query("""
                UPDATE watchlists SET site_id = \(input.siteId), name = \(input.name), description = \(input.description),
                    watch_type = \(input.watchType.rawValue),
                    is_active = \(input.isActive ?? true)
                WHERE id = \(id)
                """, logger: logger)
        }
        return try await watchlist(id: id)
    }

    @discardableResult
    public func deleteWatchlist(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM watchlists WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    public func entries(of watchlistId: UUID) async throws -> [WatchlistEntry] {
        let rows = try await connection.query("""
            SELECT e.watchlist_id, e.person_id, p.name, p.status, e.notes, e.added_by, e.added_at
            FROM watchlist_entries e JOIN persons p ON p.id = e.person_id
            WHERE e.watchlist_id = \(watchlistId) ORDER BY e.added_at, e.id
            """, logger: logger)
        var entries: [WatchlistEntry] = []
        for try await (list, person, name, status, notes, addedBy, added)
            in rows.decode((UUID, UUID, String?, String, String?, UUID?, Date).self) {
            entries.append(WatchlistEntry(watchlistId: list, personId: person, personName: name,
                                          personStatus: PersonStatus(rawValue: status) ?? .unknown, notes: notes, addedBy: addedBy,
                                          addedAt: added))
        }
        return entries
    }

    /// Adds a person to a watchlist, or updates the entry's notes when they are on it already.
    public func addEntry(to watchlistId: UUID, _ input: WatchlistEntryInput, addedBy: UUID?) async throws {
        try await translatingErrors {
            try await connection.query("""
                INSERT INTO watchlist_entries (watchlist_id, person_id, notes, added_by)
                VALUES (\(watchlistId), \(input.personId), \(input.notes), \(addedBy))
                ON CONFLICT (watchlist_id, person_id) DO UPDATE SET notes = EXCLUDED.notes
                """, logger: logger)
        }
    }

    @discardableResult
    public func removeEntry(from watchlistId: UUID, personId: UUID) async throws -> Bool {
        let rows = try await connection.query("""
            DELETE FROM watchlist_entries WHERE watchlist_id = \(watchlistId) AND person_id = \(personId) RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }
}
