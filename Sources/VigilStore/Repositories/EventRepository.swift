import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of events (seed 000 + 002 + 004), their images and operators' feedback.
public struct EventRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// Only events of sites assigned to this user; `nil` for every site (background work).
    let visibleTo: UUID?

    public init(_ connection: PostgresConnection, logger: Logger, visibleTo: UUID? = nil) {
        self.connection = connection
        self.logger = logger
        self.visibleTo = visibleTo
    }

    // MARK: Aggregation

    /// What a frame adds to an event.
    public struct Addition: Sendable {
        public var time: Date
        public var detectionIds: [UUID]
        public var objectTypes: [String]
        public var zoneIds: [UUID]
        public var trackIds: [Int64]
        /// The most confident detection of the frame, with its box (seed 002's `bounding_box`).
        public var confidence: Double
        public var boundingBox: JSONValue
        public var isFastPath: Bool

        public init(time: Date, detectionIds: [UUID], objectTypes: [String], zoneIds: [UUID], trackIds: [Int64], confidence: Double,
                    boundingBox: JSONValue, isFastPath: Bool) {
            self.time = time
            self.detectionIds = detectionIds
            self.objectTypes = objectTypes
            self.zoneIds = zoneIds
            self.trackIds = trackIds
            self.confidence = confidence
            self.boundingBox = boundingBox
            self.isFastPath = isFastPath
        }
    }

    /// The camera's open event, if any, and whether it was announced already.
    public func openEvent(cameraId: UUID) async throws -> (event: OpenEvent, announced: Bool)? {
        let rows = try await connection.query("""
            SELECT id, started_at, COALESCE(ended_at, started_at), is_fast_path, announced_at IS NOT NULL FROM events
            WHERE camera_id = \(cameraId) AND closed_at IS NULL ORDER BY started_at DESC LIMIT 1
            """, logger: logger)
        for try await (id, started, last, fastPath, announced) in rows.decode((UUID, Date, Date, Bool, Bool).self) {
            return (OpenEvent(id: id, startedAt: started, lastDetectionAt: last, isFastPath: fastPath), announced)
        }
        return nil
    }

    /// Starts an event with a frame's detections.
    public func open(id: UUID, cameraId: UUID, with addition: Addition) async throws {
        try await connection.query("""
            INSERT INTO events (id, batch_id, camera_id, event_type, started_at, ended_at, detection_ids, object_types, zone_ids,
                                track_ids, confidence, bounding_box, is_fast_path, place)
            VALUES (\(id), \(UUID()), \(cameraId), \(EventType.forObjects(addition.objectTypes).rawValue), \(addition.time),
                    \(addition.time), \(addition.detectionIds), \(Array(Set(addition.objectTypes)).sorted()),
                    \(Array(Set(addition.zoneIds))), \(Array(Set(addition.trackIds)).sorted()), \(addition.confidence),
                    \(try addition.boundingBox.jsonText())::jsonb, \(addition.isFastPath),
                    fn_event_place(\(cameraId), \(Array(Set(addition.zoneIds)))))
            """, logger: logger)
    }

    /// Adds a frame's detections to an open event. A frame older than the event's start moves the start back.
    public func join(_ id: UUID, with addition: Addition) async throws {
        try await connection.query("""
            UPDATE events SET
                started_at = LEAST(started_at, \(addition.time)),
                ended_at = GREATEST(ended_at, \(addition.time)),
                detection_ids = detection_ids || \(addition.detectionIds),
                object_types = ARRAY(SELECT DISTINCT t FROM unnest(object_types || \(addition.objectTypes)) AS t ORDER BY t),
                zone_ids = ARRAY(SELECT DISTINCT z FROM unnest(zone_ids || \(addition.zoneIds)) AS z),
                track_ids = ARRAY(SELECT DISTINCT t FROM unnest(track_ids || \(addition.trackIds)) AS t ORDER BY t),
                event_type = CASE WHEN event_type = 'object_detected' AND 'person' = ANY(\(addition.objectTypes))
                                  THEN 'human_detected' ELSE event_type END,
                bounding_box = CASE WHEN \(addition.confidence) > COALESCE(confidence, 0) THEN \(try addition.boundingBox.jsonText())::jsonb
                                    ELSE bounding_box END,
                confidence = GREATEST(confidence, \(addition.confidence)),
                is_fast_path = is_fast_path OR \(addition.isFastPath),
                place = fn_event_place(camera_id, ARRAY(SELECT DISTINCT z FROM unnest(zone_ids || \(addition.zoneIds)) AS z))
            WHERE id = \(id) AND closed_at IS NULL
            """, logger: logger)
    }

    /// Files an event under whom its faces showed: `personId` (chosen by the caller as the most
    /// urgent person seen) makes it `person_recognized`; an unknown face's cluster makes a human
    /// or object event `face_detected`, and names the cluster when the event has none yet.
    public func fileFaces(of id: UUID, personId: UUID?, clusterId: UUID?) async throws {
        try await connection.query("""
            UPDATE events SET
                person_id = COALESCE(\(personId), person_id),
                cluster_id = COALESCE(cluster_id, \(clusterId)),
                event_type = CASE
                    WHEN \(personId)::uuid IS NOT NULL AND event_type IN ('human_detected', 'object_detected', 'face_detected')
                        THEN 'person_recognized'
                    WHEN \(clusterId)::uuid IS NOT NULL AND event_type IN ('human_detected', 'object_detected') THEN 'face_detected'
                    ELSE event_type END
            WHERE id = \(id)
            """, logger: logger)
    }

    /// The person an event is filed under, if any (read on every frame with faces: one column, not the event).
    public func personId(of id: UUID) async throws -> UUID? {
        let rows = try await connection.query("SELECT person_id FROM events WHERE id = \(id)", logger: logger)
        for try await person in rows.decode(UUID?.self) { return person }
        return nil
    }

    /// Sets whom an event shows after a review: a person makes it `person_recognized`, only a
    /// cluster `face_detected`, neither takes it back to a human (or object) event.
    public func setIdentity(of id: UUID, personId: UUID?, clusterId: UUID?) async throws {
        try await connection.query("""
            UPDATE events SET person_id = \(personId), cluster_id = \(clusterId),
                event_type = CASE
                    WHEN event_type NOT IN ('human_detected', 'object_detected', 'face_detected', 'person_recognized') THEN event_type
                    WHEN \(personId)::uuid IS NOT NULL THEN 'person_recognized'
                    WHEN \(clusterId)::uuid IS NOT NULL THEN 'face_detected'
                    WHEN 'person' = ANY(object_types) THEN 'human_detected'
                    ELSE 'object_detected' END
            WHERE id = \(id)
            """, logger: logger)
    }

    /// Closes an open event; false when it was closed already (by another process, or earlier).
    @discardableResult
    public func close(_ id: UUID, at time: Date) async throws -> Bool {
        let rows = try await connection.query("""
            UPDATE events SET closed_at = \(time) WHERE id = \(id) AND closed_at IS NULL RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// Every open event with what deciding when it closes needs: its camera's config and site time zone.
    public func openEvents() async throws -> [(event: OpenEvent, cameraId: UUID, config: JSONValue, timezone: String)] {
        let rows = try await connection.query("""
            SELECT e.id, e.started_at, COALESCE(e.ended_at, e.started_at), e.is_fast_path, e.camera_id, c.config::text, s.timezone
            FROM events e JOIN cameras c ON c.id = e.camera_id JOIN sites s ON s.id = c.site_id
            WHERE e.closed_at IS NULL
            """, logger: logger)
        var open: [(event: OpenEvent, cameraId: UUID, config: JSONValue, timezone: String)] = []
        for try await (id, started, last, fastPath, camera, config, timezone)
            in rows.decode((UUID, Date, Date, Bool, UUID, String, String).self) {
            open.append((OpenEvent(id: id, startedAt: started, lastDetectionAt: last, isFastPath: fastPath), camera,
                         try JSONValue(jsonText: config), timezone))
        }
        return open
    }

    /// An event that is whole when it is made (a watched area that changed, a camera covered or
    /// turned): it never collects detections.
    public struct Finished: Sendable {
        public var id: UUID
        public var cameraId: UUID
        public var type: EventType
        public var startedAt: Date
        public var endedAt: Date
        public var confidence: Double
        public var zoneIds: [UUID]
        public var judgement: Judgement

        public init(id: UUID, cameraId: UUID, type: EventType, startedAt: Date, endedAt: Date, confidence: Double, zoneIds: [UUID],
                    judgement: Judgement) {
            self.id = id
            self.cameraId = cameraId
            self.type = type
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.confidence = confidence
            self.zoneIds = zoneIds
            self.judgement = judgement
        }
    }

    /// Stores the event; false when an event with its id and start is there already (a retried job).
    @discardableResult
    public func insert(_ event: Finished, at time: Date) async throws -> Bool {
        let judgement = event.judgement
        let rows = try await connection.query("""
            INSERT INTO events (id, batch_id, camera_id, event_type, started_at, ended_at, closed_at, announced_at, risk_score, risk_level,
                                summary, reasoning, zone_ids, confidence, details, image_path, place)
            VALUES (\(event.id), \(UUID()), \(event.cameraId), \(event.type.rawValue), \(event.startedAt), \(event.endedAt), \(time), \(time),
                    \(judgement.riskScore), \(judgement.riskLevel.rawValue), \(judgement.summary), \(judgement.reasoning), \(event.zoneIds),
                    \(min(max(event.confidence, 0), 1)), \(try judgement.details.jsonText())::jsonb, \(judgement.imagePath),
                    fn_event_place(\(event.cameraId), \(event.zoneIds)))
            ON CONFLICT DO NOTHING
            RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// Whether the camera has an event of this type that started at or after `since` (one covered
    /// camera is one event, however many workers noticed it).
    public func exists(cameraId: UUID, type: EventType, since: Date) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT 1 FROM events WHERE camera_id = \(cameraId) AND event_type = \(type.rawValue) AND started_at >= \(since) LIMIT 1
            """, logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    // MARK: Judging an event

    /// A detection as an event's judgement needs it.
    public struct EventDetection: Sendable, Equatable {
        public var id: UUID
        public var captureId: UUID?
        public var detectedAt: Date
        public var objectType: String
        public var confidence: Double
        public var box: PixelBox
        public var frameWidth: Int
        public var frameHeight: Int
        public var zoneIds: [UUID]
        public var trackId: Int64?
        public var thumbnailPath: String?

        /// The box in 0...1 of the frame.
        public var normalizedBox: PixelBox {
            let width = Double(max(frameWidth, 1)), height = Double(max(frameHeight, 1))
            return PixelBox(x1: box.x1 / width, y1: box.y1 / height, x2: box.x2 / width, y2: box.y2 / height)
        }
    }

    private static let detectionColumns = """
        id, capture_id, detected_at, COALESCE(object_type, 'object'), COALESCE(confidence, 0)::float8, COALESCE(bbox_x, 0),
        COALESCE(bbox_y, 0), COALESCE(bbox_width, 0), COALESCE(bbox_height, 0), COALESCE(frame_width, 1), COALESCE(frame_height, 1),
        zone_ids, track_id, thumbnail_path
        """

    /// The detections of an event's tracks since `since`: the event's own and those of the same
    /// objects before it, oldest first (what loitering and dwell time are measured on).
    public func detections(cameraId: UUID, trackIds: [Int64], detectionIds: [UUID], since: Date, until: Date) async throws -> [EventDetection] {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.detectionColumns) FROM detections
            WHERE camera_id = \(cameraId) AND detected_at BETWEEN \(since) AND \(until)
              AND (track_id = ANY(\(trackIds)) OR id = ANY(\(detectionIds)))
            ORDER BY detected_at, id
            """, logger: logger)
        var found: [EventDetection] = []
        for try await (id, capture, time, type, confidence, x, y, width, height, frameWidth, frameHeight, zones, track, thumbnail)
            in rows.decode((UUID, UUID?, Date, String, Double, Int, Int, Int, Int, Int, Int, [UUID], Int64?, String?).self) {
            found.append(EventDetection(
                id: id, captureId: capture, detectedAt: time, objectType: type, confidence: confidence,
                box: PixelBox(x1: Double(x), y1: Double(y), x2: Double(x + width), y2: Double(y + height)),
                frameWidth: frameWidth, frameHeight: frameHeight, zoneIds: zones, trackId: track, thumbnailPath: thumbnail))
        }
        return found
    }

    /// The tracks' stillness: since when each has stood still (nil while it moves) and when it was last seen.
    public func trackStates(_ ids: [Int64]) async throws -> [Int64: (stationarySince: Date?, lastSeenAt: Date)] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT id, CASE WHEN stationary THEN anchor_since END, last_seen_at FROM object_tracks WHERE id = ANY(\(ids))
            """, logger: logger)
        var states: [Int64: (stationarySince: Date?, lastSeenAt: Date)] = [:]
        for try await (id, since, last) in rows.decode((Int64, Date?, Date).self) { states[id] = (since, last) }
        return states
    }

    /// A capture of the camera whose frame is still on disk: the last one before `time`
    /// (`before`), or the first one after it, within `within` seconds.
    public func neighbouringCapture(cameraId: UUID, time: Date, before: Bool, within: TimeInterval) async throws -> UUID? {
        let rows = before
            ? try await connection.query("""
                SELECT id FROM captures
                WHERE camera_id = \(cameraId) AND COALESCE(captured_at, received_at) < \(time)
                  AND received_at BETWEEN \(time.addingTimeInterval(-within - 3600)) AND \(time)
                  AND COALESCE(captured_at, received_at) >= \(time.addingTimeInterval(-within))
                  AND storage_uri IS NOT NULL AND storage_class <> 'discarded'
                ORDER BY COALESCE(captured_at, received_at) DESC LIMIT 1
                """, logger: logger)
            : try await connection.query("""
                SELECT id FROM captures
                WHERE camera_id = \(cameraId) AND COALESCE(captured_at, received_at) > \(time)
                  AND received_at BETWEEN \(time.addingTimeInterval(-3600)) AND \(time.addingTimeInterval(within + 3600))
                  AND COALESCE(captured_at, received_at) <= \(time.addingTimeInterval(within))
                  AND storage_uri IS NOT NULL AND storage_class <> 'discarded'
                ORDER BY COALESCE(captured_at, received_at) LIMIT 1
                """, logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// How many detection events the camera had between two times, and how many of them showed each class.
    public func activity(cameraId: UUID, from: Date, to: Date) async throws -> (events: Int, byClass: [String: Int]) {
        let rows = try await connection.query("""
            SELECT '' AS class, count(*) FROM events
            WHERE camera_id = \(cameraId) AND started_at >= \(from) AND started_at < \(to) AND cardinality(object_types) > 0
            UNION ALL
            SELECT t, count(*) FROM events e CROSS JOIN LATERAL unnest(e.object_types) AS t
            WHERE e.camera_id = \(cameraId) AND e.started_at >= \(from) AND e.started_at < \(to)
            GROUP BY t
            """, logger: logger)
        var total = 0
        var byClass: [String: Int] = [:]
        for try await (name, count) in rows.decode((String, Int64).self) {
            if name.isEmpty { total = Int(count) } else { byClass[name] = Int(count) }
        }
        return (total, byClass)
    }

    /// The judgement of an event: its risk, words and "why it triggered".
    public struct Judgement: Sendable {
        public var riskScore: Int
        public var riskLevel: RiskLevel
        public var summary: String
        public var reasoning: String
        public var details: JSONValue
        public var imagePath: String?

        public init(riskScore: Int, riskLevel: RiskLevel, summary: String, reasoning: String, details: JSONValue, imagePath: String?) {
            self.riskScore = riskScore
            self.riskLevel = riskLevel
            self.summary = summary
            self.reasoning = reasoning
            self.details = details
            self.imagePath = imagePath
        }
    }

    /// Stores a judgement and marks the event announced; returns whether it had been announced
    /// before (so the news is `event.updated` rather than `event.created`), nil if the event is gone.
    public func record(_ judgement: Judgement, eventId: UUID, at time: Date) async throws -> Bool? {
        let rows = try await connection.query("""
            WITH before AS (SELECT id, started_at, announced_at FROM events WHERE id = \(eventId) FOR UPDATE)
            UPDATE events e SET risk_score = \(judgement.riskScore), risk_level = \(judgement.riskLevel.rawValue),
                summary = \(judgement.summary), reasoning = \(judgement.reasoning),
                details = e.details || \(try judgement.details.jsonText())::jsonb,
                image_path = COALESCE(\(judgement.imagePath), e.image_path), announced_at = COALESCE(e.announced_at, \(time))
            FROM before WHERE e.id = before.id AND e.started_at = before.started_at
            RETURNING before.announced_at IS NOT NULL
            """, logger: logger)
        for try await announced in rows.decode(Bool.self) { return announced }
        return nil
    }

    /// An image of an event: a capture (pre, during, post) or a file made for it (annotated, thumb).
    public struct NewImage: Sendable, Encodable {
        public var role: String
        public var captureId: UUID?
        public var derivedURI: String?

        public init(role: EventImageRole, captureId: UUID? = nil, derivedURI: String? = nil) {
            self.role = role.rawValue
            self.captureId = captureId
            self.derivedURI = derivedURI
        }

        enum CodingKeys: String, CodingKey {
            case role
            case captureId = "capture_id", derivedURI = "derived_uri"
        }
    }

    /// Links images to an event; a role given again replaces the earlier image.
    public func attach(_ images: [NewImage], eventId: UUID, cameraId: UUID) async throws {
        guard !images.isEmpty else { return }
        try await connection.query("""
            INSERT INTO event_images (event_id, camera_id, role, capture_id, derived_storage_uri)
            SELECT \(eventId), \(cameraId), role, capture_id, derived_uri
            FROM jsonb_to_recordset(\(try images.jsonText())::jsonb) AS i(role text, capture_id uuid, derived_uri text)
            ON CONFLICT (event_id, role) DO UPDATE SET capture_id = EXCLUDED.capture_id,
                derived_storage_uri = EXCLUDED.derived_storage_uri, created_at = NOW()
            """, logger: logger)
    }

    /// Records a file made for an event (annotated frame) among the media files, kept as long as the event's frames.
    public func recordDerivedFile(uri: String, byteSize: Int, checksum: String, role: String, cameraId: UUID, eventId: UUID,
                                  time: Date, retentionUntil: Date) async throws {
        try await connection.query("""
            INSERT INTO media_files (file_type, storage_path, file_size, checksum, camera_id, event_id, role, timestamp, retention_until)
            VALUES ('image', \(uri), \(byteSize), \(checksum), \(cameraId), \(eventId), \(role), \(time), \(retentionUntil))
            ON CONFLICT (storage_path) DO UPDATE SET file_size = EXCLUDED.file_size, checksum = EXCLUDED.checksum,
                retention_until = EXCLUDED.retention_until
            """, logger: logger)
    }

    /// Tells every Vigil process listening (`vigil_live`) that something changed; sent when the transaction commits.
    public func announce(_ kind: String, id: UUID, cameraId: UUID) async throws {
        try await connection.query("""
            SELECT pg_notify('vigil_live', json_build_object('type', \(kind)::text, 'id', \(id)::uuid, 'camera_id', c.id,
                                                             'site_id', c.site_id)::text)
            FROM cameras c WHERE c.id = \(cameraId)
            """, logger: logger)
    }

    // MARK: Reading

    public struct Filter: Sendable, Equatable {
        public var cameraIds: [UUID] = []
        public var siteIds: [UUID] = []
        public var from: Date?
        public var to: Date?
        public var eventTypes: [EventType] = []
        public var riskLevels: [RiskLevel] = []
        public var minRisk: Int?
        public var maxRisk: Int?
        public var reviewed: Bool?
        public var objectTypes: [String] = []
        public var hasSuspicious: Bool?
        /// Full-text query (web-search syntax: words, "quoted phrases", -excluded).
        public var query: String?

        public init() {}
    }

    private static let columns = """
        e.id, e.batch_id, e.camera_id, c.name, c.site_id, e.event_type, e.started_at, e.ended_at, e.closed_at, e.risk_score::int8,
        e.risk_level, e.summary, e.reasoning, e.detection_ids, e.object_types, e.zone_ids, e.track_ids, e.reviewed, e.review_action,
        e.notes, e.is_fast_path, e.person_id, e.cluster_id, e.confidence::float8, e.bounding_box::text, e.metadata::text,
        e.details::text, e.created_at, e.updated_at
        """

    /// A search ranks the newest this many matches: recent events are what people look for, and
    /// ranking every match of a common word over a year of events would take seconds.
    public static let searchWindow = 1000

    /// Events matching the filter, newest first (or best match first with a query), a page at a
    /// time: `page.after` is the last event of the previous page.
    public func list(_ filter: Filter, page: PageRequest) async throws -> Page<Event> {
        if let query = filter.query?.trimmingCharacters(in: .whitespaces), !query.isEmpty {
            return try await search(query, filter, page: page)
        }
        var cursor: (time: Date, id: UUID)?
        if let after = page.after {
            let rows = try await connection.query("SELECT started_at FROM events WHERE id = \(after)", logger: logger)
            for try await time in rows.decode(Date.self) { cursor = (time, after) }
            guard cursor != nil else { return Page(rows: [], limit: page.limit, id: \.id) }
        }
        let rows = try await connection.query(matching(filter, candidates: nil, after: cursor, limit: page.limit + 1), logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    /// A text search: the newest `searchWindow` matches (whatever their site) ranked best first,
    /// then read under row-level security with the other filters, a slice at a time from the
    /// page's place in that order until the page is full.
    private func search(_ query: String, _ filter: Filter, page: PageRequest) async throws -> Page<Event> {
        struct Match {
            var id: UUID
            var time: Date
            var rank: Float
            /// The id as two big-endian halves: compared as the database compares uuids, without making strings.
            var idOrder: (UInt64, UInt64)

            init(id: UUID, time: Date, rank: Float) {
                self.id = id
                self.time = time
                self.rank = rank
                let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
                idOrder = (bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
            }

            var key: (Float, Date, UInt64, UInt64) { (rank, time, idOrder.0, idOrder.1) }
        }
        let rows = try await connection.query("""
            SELECT id, started_at, rank FROM fn_event_text_search(websearch_to_tsquery('english', \(query)), \(filter.from)::timestamptz,
                                                                  \(filter.to)::timestamptz, \(Self.searchWindow)::int)
            """, logger: logger)
        var matches: [Match] = []
        for try await (id, time, rank) in rows.decode((UUID, Date, Float).self) { matches.append(Match(id: id, time: time, rank: rank)) }
        // Best match first, then newest.
        matches.sort { $0.key > $1.key }

        var position = 0
        if let after = page.after {
            if let index = matches.firstIndex(where: { $0.id == after }) {
                position = index + 1
            } else {
                // The previous page's last event left the window (newer matches came): continue from its place in the order.
                var cursor: (Float, Date, UInt64, UInt64)?
                let rows = try await connection.query("""
                    SELECT started_at, ts_rank(search_vector, websearch_to_tsquery('english', \(query))) FROM events WHERE id = \(after)
                    """, logger: logger)
                for try await (time, rank) in rows.decode((Date, Float).self) { cursor = Match(id: after, time: time, rank: rank).key }
                guard let cursor else { return Page(rows: [], limit: page.limit, id: \.id) }
                position = matches.firstIndex { $0.key < cursor } ?? matches.count
            }
        }
        var found: [Event] = []
        var slice = page.limit + 1
        var scope = filter
        scope.query = nil
        while found.count <= page.limit, position < matches.count {
            let part = matches[position..<min(position + slice, matches.count)]
            // The slice's time span (a millisecond wider: times go through a Double) lets the database skip the other months.
            scope.from = part.map(\.time).min()!.addingTimeInterval(-0.001)
            scope.to = part.map(\.time).max()!.addingTimeInterval(0.001)
            let rows = try await connection.query(matching(scope, candidates: part.map(\.id), after: nil, limit: part.count), logger: logger)
            let read = Dictionary(try await decode(rows).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            found += part.compactMap { read[$0.id] }
            position += part.count
            slice = min(slice * 4, Self.searchWindow)
        }
        return Page(rows: Array(found.prefix(page.limit + 1)), limit: page.limit, id: \.id)
    }

    /// The one statement every listing runs: the events the filter lets through (and, for a
    /// search, among `candidates`, in any order), newest first after the cursor (`started_at`,
    /// `id`), which the index serves.
    private func matching(_ filter: Filter, candidates: [UUID]?, after cursor: (time: Date, id: UUID)?, limit: Int) -> PostgresQuery {
        let levels = filter.riskLevels.map(\.rawValue), types = filter.eventTypes.map(\.rawValue)
        return """
            SELECT \(unescaped: Self.columns) FROM events e JOIN cameras c ON c.id = e.camera_id
            WHERE (\(candidates)::uuid[] IS NULL OR e.id = ANY(\(candidates)))
              AND (cardinality(\(filter.cameraIds)::uuid[]) = 0 OR e.camera_id = ANY(\(filter.cameraIds)))
              AND (cardinality(\(filter.siteIds)::uuid[]) = 0 OR c.site_id = ANY(\(filter.siteIds)))
              AND fn_user_sees_site(c.site_id, \(visibleTo)::uuid)
              AND (\(filter.from)::timestamptz IS NULL OR e.started_at >= \(filter.from))
              AND (\(filter.to)::timestamptz IS NULL OR e.started_at < \(filter.to))
              AND (cardinality(\(types)::text[]) = 0 OR e.event_type = ANY(\(types)))
              AND (cardinality(\(levels)::text[]) = 0 OR e.risk_level = ANY(\(levels)))
              AND (\(filter.minRisk)::int IS NULL OR e.risk_score >= \(filter.minRisk))
              AND (\(filter.maxRisk)::int IS NULL OR e.risk_score <= \(filter.maxRisk))
              AND (\(filter.reviewed)::bool IS NULL OR e.reviewed = \(filter.reviewed))
              AND (cardinality(\(filter.objectTypes)::text[]) = 0 OR e.object_types && \(filter.objectTypes))
              AND (\(filter.hasSuspicious)::bool IS NULL OR \(filter.hasSuspicious) = EXISTS (
                    SELECT 1 FROM suspicious_activity_events s WHERE s.event_id = e.id AND s.timestamp >= e.started_at))
              AND (\(cursor?.time)::timestamptz IS NULL OR (e.started_at, e.id) < (\(cursor?.time), \(cursor?.id)))
            ORDER BY e.started_at DESC, e.id DESC
            LIMIT \(limit)
            """
    }

    public func find(id: UUID, forUpdate: Bool = false) async throws -> Event? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM events e JOIN cameras c ON c.id = e.camera_id
            WHERE e.id = \(id) AND fn_user_sees_site(c.site_id, \(visibleTo)::uuid) \(unescaped: forUpdate ? "FOR UPDATE OF e" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    /// The event's images by role: the capture's file, or the derived file.
    public func images(eventId: UUID) async throws -> [(role: EventImageRole, uri: String, captureId: UUID?)] {
        let rows = try await connection.query("""
            SELECT i.role, COALESCE(i.derived_storage_uri, c.storage_uri), i.capture_id FROM event_images i
            LEFT JOIN captures c ON c.id = i.capture_id AND c.storage_class <> 'discarded'
            WHERE i.event_id = \(eventId) AND COALESCE(i.derived_storage_uri, c.storage_uri) IS NOT NULL
            ORDER BY i.role
            """, logger: logger)
        var images: [(role: EventImageRole, uri: String, captureId: UUID?)] = []
        for try await (role, uri, capture) in rows.decode((String, String, UUID?).self) {
            if let role = EventImageRole(rawValue: role) { images.append((role, uri, capture)) }
        }
        return images
    }

    /// Applies an operator's changes; nil when the event is not there (or not visible).
    public func update(id: UUID, _ patch: EventPatch) async throws -> Event? {
        guard let event = try await find(id: id, forUpdate: true) else { return nil }
        let notes = patch.notes ?? event.notes
        let action = patch.reviewAction ?? event.reviewAction
        try await connection.query("""
            UPDATE events SET reviewed = \(patch.reviewed ?? (action != nil ? true : event.reviewed)), notes = \(notes),
                review_action = \(action?.rawValue)
            WHERE id = \(id) AND started_at = \(event.startedAt)
            """, logger: logger)
        return try await find(id: id)
    }

    /// Records (or replaces) the operator's verdict on an event.
    public func saveFeedback(_ input: EventFeedbackInput, event: Event, by userId: UUID?) async throws -> EventFeedback {
        let rows = try await connection.query("""
            INSERT INTO event_feedback (event_id, camera_id, feedback_type, notes, expected_severity, created_by)
            VALUES (\(event.id), \(event.cameraId), \(input.feedbackType.rawValue), \(input.notes), \(input.expectedSeverity?.rawValue),
                    \(userId))
            ON CONFLICT (event_id) DO UPDATE SET feedback_type = EXCLUDED.feedback_type, notes = EXCLUDED.notes,
                expected_severity = EXCLUDED.expected_severity, created_by = EXCLUDED.created_by
            RETURNING id, event_id, feedback_type, notes, expected_severity, created_by, created_at, updated_at
            """, logger: logger)
        return try await decodeFeedback(rows)[0]
    }

    public func feedback(eventId: UUID) async throws -> EventFeedback? {
        let rows = try await connection.query("""
            SELECT id, event_id, feedback_type, notes, expected_severity, created_by, created_at, updated_at
            FROM event_feedback WHERE event_id = \(eventId)
            """, logger: logger)
        return try await decodeFeedback(rows).first
    }

    /// Seed 002's dashboard figures (`vw_dashboard_stats`), for the sites the caller sees.
    public func dashboardStats() async throws -> [String: JSONValue] {
        let rows = try await connection.query("SELECT row_to_json(v)::text FROM vw_dashboard_stats v", logger: logger)
        for try await text in rows.decode(String.self) { return try JSONValue(jsonText: text).objectValue ?? [:] }
        return [:]
    }

    private func decodeFeedback(_ rows: PostgresRowSequence) async throws -> [EventFeedback] {
        var found: [EventFeedback] = []
        for try await (id, eventId, type, notes, severity, by, created, updated)
            in rows.decode((UUID, UUID, String, String?, String?, UUID?, Date, Date).self) {
            found.append(EventFeedback(id: id, eventId: eventId, feedbackType: FeedbackType(rawValue: type) ?? .accurate, notes: notes,
                                       expectedSeverity: severity.flatMap(Severity.init(rawValue:)), createdBy: by, createdAt: created,
                                       updatedAt: updated))
        }
        return found
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Event] {
        var events: [Event] = []
        for try await (id, batch, camera, cameraName, site, type, started, ended, closed, score, level, summary, reasoning, detections,
                       objects, zones, tracks, reviewed, action, notes, fastPath, person, cluster, confidence, box, metadata, details,
                       created, updated)
            in rows.decode((UUID, UUID, UUID, String, UUID, String, Date, Date?, Date?, Int64?, String?, String?, String?, [UUID],
                            [String], [UUID], [Int64], Bool, String?, String?, Bool, UUID?, UUID?, Double?, String?, String, String,
                            Date, Date).self) {
            events.append(Event(
                id: id, batchId: batch, cameraId: camera, cameraName: cameraName, siteId: site,
                eventType: EventType(rawValue: type) ?? .objectDetected, startedAt: started, endedAt: ended, closedAt: closed,
                riskScore: score.map(Int.init), riskLevel: level.flatMap(RiskLevel.init(rawValue:)), summary: summary, reasoning: reasoning,
                detectionIds: detections, objectTypes: objects, zoneIds: zones, trackIds: tracks, reviewed: reviewed,
                reviewAction: action.flatMap(ReviewAction.init(rawValue:)), notes: notes, isFastPath: fastPath, personId: person,
                clusterId: cluster, confidence: confidence, boundingBox: try box.map(JSONValue.init(jsonText:)),
                metadata: try JSONValue(jsonText: metadata), details: try JSONValue(jsonText: details), createdAt: created,
                updatedAt: updated))
        }
        return events
    }
}
