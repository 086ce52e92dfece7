import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of faces: the gallery and its nearest-neighbour searches, the faces cameras saw, and
/// the clusters of unknown faces. Vectors are only ever compared within one `model_version`,
/// cast to that model's width so its HNSW index serves the search.
public struct FaceRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// The embedding model of a search: its name and its vectors' width.
    public struct Model: Sendable, Equatable {
        public var version: String
        public var dimensions: Int

        public init(version: String, dimensions: Int) {
            self.version = version
            self.dimensions = dimensions
        }

        /// `vector(128)`: the cast that matches the model's partial indexes.
        var vectorType: String { "vector(\(dimensions))" }
    }

    /// Makes the model's gallery and unknown-face indexes when it has none yet (a model configured for the first time).
    public func ensureIndexes(for model: Model) async throws {
        try await connection.query("SELECT fn_ensure_face_indexes(\(model.version), \(model.dimensions)::int4)", logger: logger)
    }

    static func literal(_ vector: [Float]) -> String {
        "[" + vector.map { $0.isFinite ? String($0) : "0" }.joined(separator: ",") + "]"
    }

    static func parse(_ text: String) -> [Float] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",").compactMap { Float($0) }
    }

    // MARK: Searches

    /// Widens the HNSW search of this transaction: more candidates, better recall, slower (pgvector's default is 40).
    public func setSearchBreadth(_ efSearch: Int) async throws {
        try await connection.query("SELECT set_config('hnsw.ef_search', \(String(min(max(efSearch, 1), 1000))), true)", logger: logger)
    }

    /// The search of the `limit` gallery faces nearest to `embedding`: shaped for the model's
    /// partial gallery index (its predicate and its cast), which serves it.
    public static func nearestGalleryQuery(to embedding: [Float], model: Model, limit: Int,
                                           scope: SiteFilter = .visibleToCaller) -> PostgresQuery {
        let vector = literal(embedding)
        // A site's search filters the index's nearest faces by their person's site.
        let (filtered, site) = scope.parameters
        return """
            SELECT id, person_id, (embedding::\(unescaped: model.vectorType) <=> \(vector)::\(unescaped: model.vectorType))::float8
            FROM face_embeddings f
            WHERE model_version = \(model.version) AND person_id IS NOT NULL AND source = 'enrolment'
              AND (NOT \(filtered) OR EXISTS (SELECT 1 FROM persons p WHERE p.id = f.person_id
                                               AND (p.site_id IS NULL OR p.site_id = \(site))))
            ORDER BY embedding::\(unescaped: model.vectorType) <=> \(vector)::\(unescaped: model.vectorType)
            LIMIT \(limit)
            """
    }

    /// The `limit` gallery faces nearest to `embedding`, through the model's gallery index.
    public func nearestGalleryFaces(to embedding: [Float], model: Model, limit: Int,
                                    scope: SiteFilter) async throws -> [GalleryCandidate] {
        let rows = try await connection.query(Self.nearestGalleryQuery(to: embedding, model: model, limit: limit, scope: scope), logger: logger)
        var found: [GalleryCandidate] = []
        for try await (id, person, distance) in rows.decode((UUID, UUID, Double).self) {
            found.append(GalleryCandidate(faceId: id, personId: person, distance: distance))
        }
        return found
    }

    /// Who a face is: its nearest gallery face within `threshold`, among the `candidates` nearest.
    public func match(_ embedding: [Float], model: Model, threshold: Double, candidates: Int,
                      scope: SiteFilter) async throws -> FaceMatch? {
        FaceMatch.best(of: try await nearestGalleryFaces(to: embedding, model: model, limit: candidates, scope: scope), threshold: threshold)
    }

    /// The unknown face nearest to `embedding` in an active cluster of the site's, with its cluster.
    public func nearestClusteredFace(to embedding: [Float], model: Model, siteId: UUID?) async throws -> (clusterId: UUID, distance: Double)? {
        let vector = Self.literal(embedding)
        // The index gives the nearest few unknown faces; the first whose cluster is still active wins.
        let rows = try await connection.query("""
            SELECT n.cluster_id, n.distance FROM (
                SELECT cluster_id, (embedding::\(unescaped: model.vectorType) <=> \(vector)::\(unescaped: model.vectorType))::float8 AS distance
                FROM face_embeddings
                WHERE model_version = \(model.version) AND person_id IS NULL AND cluster_id IS NOT NULL
                  AND EXISTS (SELECT 1 FROM person_clusters s WHERE s.id = cluster_id AND s.site_id IS NOT DISTINCT FROM \(siteId))
                ORDER BY embedding::\(unescaped: model.vectorType) <=> \(vector)::\(unescaped: model.vectorType)
                LIMIT 10
            ) AS n JOIN person_clusters c ON c.id = n.cluster_id AND c.status = 'active' AND c.site_id IS NOT DISTINCT FROM \(siteId)
            ORDER BY n.distance LIMIT 1
            """, logger: logger)
        for try await (cluster, distance) in rows.decode((UUID, Double).self) { return (cluster, distance) }
        return nil
    }

    // MARK: Faces

    public struct NewFace: Sendable {
        public var id: UUID
        public var personId: UUID?
        public var clusterId: UUID?
        public var cameraId: UUID?
        public var captureId: UUID?
        public var detectionId: UUID?
        public var eventId: UUID?
        public var embedding: [Float]
        public var imagePath: String
        public var quality: Double
        public var confidence: Double
        public var box: PixelBox?
        public var landmarks: [FacePoint]
        public var modelVersion: String
        public var source: FaceSource
        public var matchedFaceId: UUID?
        public var matchDistance: Double?
        public var createdAt: Date

        public init(id: UUID, personId: UUID? = nil, clusterId: UUID? = nil, cameraId: UUID? = nil, captureId: UUID? = nil,
                    detectionId: UUID? = nil, eventId: UUID? = nil, embedding: [Float], imagePath: String, quality: Double,
                    confidence: Double, box: PixelBox?, landmarks: [FacePoint], modelVersion: String, source: FaceSource,
                    matchedFaceId: UUID? = nil, matchDistance: Double? = nil, createdAt: Date) {
            self.id = id
            self.personId = personId
            self.clusterId = clusterId
            self.cameraId = cameraId
            self.captureId = captureId
            self.detectionId = detectionId
            self.eventId = eventId
            self.embedding = embedding
            self.imagePath = imagePath
            self.quality = quality
            self.confidence = confidence
            self.box = box
            self.landmarks = landmarks
            self.modelVersion = modelVersion
            self.source = source
            self.matchedFaceId = matchedFaceId
            self.matchDistance = matchDistance
            self.createdAt = createdAt
        }
    }

    public func insert(_ face: NewFace) async throws {
        let box = try face.box.map { box in
            try JSONValue.object(["x1": .number(box.x1.rounded()), "y1": .number(box.y1.rounded()),
                                  "x2": .number(box.x2.rounded()), "y2": .number(box.y2.rounded())]).jsonText()
        }
        let landmarks = try face.landmarks.jsonText()
        let quality = min(max(face.quality, 0), 1), confidence = min(max(face.confidence, 0), 1)
        try await translatingErrors {
            try await connection.query("""
                INSERT INTO face_embeddings (id, person_id, cluster_id, camera_id, capture_id, detection_id, event_id, embedding,
                                             source_image_path, face_quality, confidence, bounding_box, landmarks, model_version, source,
                                             matched_face_id, match_distance, created_at)
                VALUES (\(face.id), \(face.personId), \(face.clusterId), \(face.cameraId), \(face.captureId), \(face.detectionId),
                        \(face.eventId), \(Self.literal(face.embedding))::vector, \(face.imagePath), \(quality)::numeric(4,3),
                        \(confidence)::numeric(4,3), \(box)::jsonb, \(landmarks)::jsonb, \(face.modelVersion), \(face.source.rawValue),
                        \(face.matchedFaceId), \(face.matchDistance.map(Float.init)), \(face.createdAt))
                """, logger: logger)
        }
    }

    static let columns = """
        f.id, f.person_id, f.cluster_id, f.camera_id, f.event_id, f.detection_id, f.source, f.is_primary, f.face_quality::float8,
        f.confidence::float8, f.bounding_box::text, f.model_version, f.source_image_path, f.created_at
        """

    func decode(_ rows: PostgresRowSequence) async throws -> [FaceRecord] {
        var faces: [FaceRecord] = []
        for try await (id, person, cluster, camera, event, detection, source, primary, quality, confidence, box, model, path, created)
            in rows.decode((UUID, UUID?, UUID?, UUID?, UUID?, UUID?, String, Bool, Double, Double, String?, String, String, Date).self) {
            let corners = try box.map(JSONValue.init(jsonText:))?.objectValue
            let pixelBox = corners.flatMap { corners -> PixelBox? in
                guard let x1 = corners["x1"]?.numberValue, let y1 = corners["y1"]?.numberValue, let x2 = corners["x2"]?.numberValue,
                      let y2 = corners["y2"]?.numberValue else { return nil }
                return PixelBox(x1: x1, y1: y1, x2: x2, y2: y2)
            }
            faces.append(FaceRecord(id: id, personId: person, clusterId: cluster, cameraId: camera, eventId: event, detectionId: detection,
                                    source: FaceSource(rawValue: source) ?? .unknown, isPrimary: primary, quality: quality,
                                    confidence: confidence, box: pixelBox, modelVersion: model, imagePath: path, createdAt: created))
        }
        return faces
    }

    public func find(id: UUID) async throws -> FaceRecord? {
        try await decode(try await connection.query("SELECT \(unescaped: Self.columns) FROM face_embeddings f WHERE f.id = \(id)",
                                                     logger: logger)).first
    }

    /// A person's gallery, best first.
    public func gallery(of personId: UUID) async throws -> [FaceRecord] {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM face_embeddings f
            WHERE f.person_id = \(personId) AND f.source = 'enrolment'
            ORDER BY f.is_primary DESC, f.face_quality DESC, f.id
            """, logger: logger))
    }

    /// The faces seen in an event, in the order they were seen.
    public func faces(ofEvent eventId: UUID) async throws -> [FaceRecord] {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM face_embeddings f WHERE f.event_id = \(eventId) ORDER BY f.id
            """, logger: logger))
    }

    /// The people recognized in an event: its faces' persons, and the one it is filed under.
    public func recognizedPersons(inEvent eventId: UUID, filedUnder personId: UUID?) async throws -> [UUID] {
        let rows = try await connection.query("""
            SELECT DISTINCT person_id FROM face_embeddings WHERE event_id = \(eventId) AND person_id IS NOT NULL
            """, logger: logger)
        var persons = Set(personId.map { [$0] } ?? [])
        for try await person in rows.decode(UUID.self) { persons.insert(person) }
        return persons.sorted { $0.uuidString < $1.uuidString }
    }

    /// A cluster's faces, best first.
    public func faces(ofCluster clusterId: UUID, limit: Int) async throws -> [FaceRecord] {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM face_embeddings f WHERE f.cluster_id = \(clusterId) AND f.person_id IS NULL
            ORDER BY f.face_quality DESC, f.id LIMIT \(limit)
            """, logger: logger))
    }

    /// Makes the person's best gallery face the primary one when none is (the first enrolment, or after a deletion).
    public func refreshPrimary(of personId: UUID) async throws {
        try await connection.query("""
            WITH best AS (
                SELECT id FROM face_embeddings WHERE person_id = \(personId) AND source = 'enrolment'
                ORDER BY is_primary DESC, face_quality DESC, id LIMIT 1
            ), flagged AS (
                UPDATE face_embeddings SET is_primary = (id = (SELECT id FROM best))
                WHERE person_id = \(personId) AND (is_primary OR id = (SELECT id FROM best))
                RETURNING id
            )
            UPDATE persons SET primary_face_embedding_id = (SELECT id FROM best) WHERE id = \(personId)
            """, logger: logger)
    }

    /// Moves faces into a person's gallery (a promoted cluster, a confirmed or corrected sighting).
    public func moveToGallery(_ faceIds: [UUID], personId: UUID) async throws {
        guard !faceIds.isEmpty else { return }
        try await connection.query("""
            UPDATE face_embeddings SET person_id = \(personId), source = 'enrolment', cluster_id = NULL, is_primary = FALSE
            WHERE id = ANY(\(faceIds))
            """, logger: logger)
        try await refreshPrimary(of: personId)
    }

    /// Takes faces out of whatever gallery they were in: they become unknown faces again (a rejected match).
    public func moveToUnknown(_ faceIds: [UUID]) async throws -> [UUID] {
        guard !faceIds.isEmpty else { return [] }
        let rows = try await connection.query("""
            WITH moved AS (
                SELECT id, person_id FROM face_embeddings WHERE id = ANY(\(faceIds)) AND person_id IS NOT NULL FOR UPDATE
            )
            UPDATE face_embeddings f SET person_id = NULL, source = 'unknown', is_primary = FALSE, matched_face_id = NULL,
                match_distance = NULL
            FROM moved WHERE f.id = moved.id
            RETURNING moved.person_id
            """, logger: logger)
        var persons = Set<UUID>()
        for try await person in rows.decode(UUID.self) { persons.insert(person) }
        for person in persons.sorted(by: { $0.uuidString < $1.uuidString }) { try await refreshPrimary(of: person) }
        return Array(persons)
    }

    /// The embeddings of faces, for placing them in clusters again or for training.
    public func embeddings(of faceIds: [UUID]) async throws -> [(id: UUID, quality: Double, createdAt: Date, embedding: [Float])] {
        let rows = try await connection.query("""
            SELECT id, face_quality::float8, created_at, embedding::text FROM face_embeddings WHERE id = ANY(\(faceIds)) ORDER BY id
            """, logger: logger)
        var found: [(id: UUID, quality: Double, createdAt: Date, embedding: [Float])] = []
        for try await (id, quality, created, text) in rows.decode((UUID, Double, Date, String).self) {
            found.append((id, quality, created, Self.parse(text)))
        }
        return found
    }

    // MARK: Clusters

    static let clusterColumns = """
        c.id, c.cluster_label, c.model_version, c.sample_count::int8, c.first_seen, c.last_seen, c.status,
        c.representative_embedding_id, c.merged_into_cluster_id, c.promoted_to_person_id, c.site_id
        """

    func decodeClusters(_ rows: PostgresRowSequence) async throws -> [FaceCluster] {
        var clusters: [FaceCluster] = []
        for try await (id, label, model, samples, first, last, status, representative, merged, promoted, site)
            in rows.decode((UUID, String, String, Int64, Date, Date, String, UUID?, UUID?, UUID?, UUID?).self) {
            clusters.append(FaceCluster(id: id, label: label, modelVersion: model, sampleCount: Int(samples), firstSeen: first,
                                        lastSeen: last, status: FaceCluster.Status(rawValue: status) ?? .active,
                                        representativeFaceId: representative, mergedIntoClusterId: merged, promotedToPersonId: promoted,
                                        siteId: site))
        }
        return clusters
    }

    /// Serialises the placing of unknown faces of one model: two workers seeing the same stranger
    /// at once would otherwise start two clusters.
    public func lockClusters(model: String) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('face_clusters:' || \(model), 0))", logger: logger)
    }

    /// A new cluster of the site's strangers, labelled with the next `Unknown-NNN`.
    public func startCluster(id: UUID, model: String, siteId: UUID?, at time: Date) async throws -> FaceCluster {
        let rows = try await connection.query("""
            INSERT INTO person_clusters AS c (id, site_id, cluster_label, model_version, sample_count, first_seen, last_seen)
            VALUES (\(id), \(siteId), 'Unknown-' || lpad(nextval('person_cluster_numbers')::text, 3, '0'), \(model), 0, \(time), \(time))
            RETURNING \(unescaped: Self.clusterColumns)
            """, logger: logger)
        return try await decodeClusters(rows)[0]
    }

    /// Puts an unknown face in a cluster and counts it: one more sample, the seen times stretched,
    /// and the face as the cluster's representative when it is the best so far.
    public func addToCluster(_ clusterId: UUID, faceId: UUID, quality: Double, at time: Date) async throws {
        try await connection.query("UPDATE face_embeddings SET cluster_id = \(clusterId) WHERE id = \(faceId)", logger: logger)
        try await connection.query("""
            UPDATE person_clusters c SET sample_count = sample_count + 1,
                first_seen = LEAST(first_seen, \(time)), last_seen = GREATEST(last_seen, \(time)),
                representative_embedding_id = CASE
                    WHEN representative_embedding_id IS NULL
                      OR \(quality)::numeric(4,3) > (SELECT face_quality FROM face_embeddings WHERE id = c.representative_embedding_id)
                    THEN \(faceId) ELSE representative_embedding_id END
            WHERE id = \(clusterId)
            """, logger: logger)
    }

    /// Recounts clusters from the faces they still hold (after faces left them for a gallery or were deleted).
    public func recount(clusters ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query("""
            UPDATE person_clusters c SET
                sample_count = (SELECT count(*) FROM face_embeddings f WHERE f.cluster_id = c.id AND f.person_id IS NULL),
                representative_embedding_id = (SELECT f.id FROM face_embeddings f WHERE f.cluster_id = c.id AND f.person_id IS NULL
                                               ORDER BY f.face_quality DESC, f.id LIMIT 1)
            WHERE c.id = ANY(\(ids)) AND c.status = 'active'
            """, logger: logger)
    }

    /// The gallery faces learnt from cameras (confirmed or corrected sightings) that `faceIds` were recognized by, of `personId`.
    public func learntMatches(of faceIds: [UUID], personId: UUID) async throws -> [UUID] {
        let rows = try await connection.query("""
            SELECT DISTINCT m.id FROM face_embeddings f JOIN face_embeddings m ON m.id = f.matched_face_id
            WHERE f.id = ANY(\(faceIds)) AND m.person_id = \(personId) AND m.source = 'enrolment' AND m.camera_id IS NOT NULL
            """, logger: logger)
        var found: [UUID] = []
        for try await id in rows.decode(UUID.self) { found.append(id) }
        return found.sorted { $0.uuidString < $1.uuidString }
    }

    /// Deletes faces; the persons who lose a primary face get their best remaining one. Returns
    /// the deleted faces (for their files).
    public func delete(ids: [UUID]) async throws -> [FaceRecord] {
        guard !ids.isEmpty else { return [] }
        let removed = try await decode(try await connection.query(
            "DELETE FROM face_embeddings f WHERE f.id = ANY(\(ids)) RETURNING \(unescaped: Self.columns)", logger: logger))
        for person in Set(removed.compactMap(\.personId)).sorted(by: { $0.uuidString < $1.uuidString }) { try await refreshPrimary(of: person) }
        return removed
    }

    public func cluster(id: UUID, forUpdate: Bool = false) async throws -> FaceCluster? {
        try await decodeClusters(try await connection.query(
            "SELECT \(unescaped: Self.clusterColumns) FROM person_clusters c WHERE c.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)).first
    }

    /// Clusters by status, most samples first.
    public func clusters(status: FaceCluster.Status?, page: PageRequest) async throws -> Page<FaceCluster> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.clusterColumns) FROM person_clusters c
            WHERE (\(status?.rawValue)::text IS NULL OR c.status = \(status?.rawValue))
              AND (\(page.after)::uuid IS NULL OR c.id > \(page.after))
            ORDER BY c.id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decodeClusters(rows), limit: page.limit, id: \.id)
    }

    /// Moves `source`'s faces and samples into `target`; `source` is kept, marked merged into it.
    public func merge(_ source: FaceCluster, into target: FaceCluster) async throws {
        try await connection.query("UPDATE face_embeddings SET cluster_id = \(target.id) WHERE cluster_id = \(source.id)", logger: logger)
        try await connection.query("""
            UPDATE events SET cluster_id = \(target.id) WHERE cluster_id = \(source.id)
            """, logger: logger)
        try await connection.query("""
            UPDATE person_clusters c SET sample_count = c.sample_count + \(source.sampleCount),
                first_seen = LEAST(c.first_seen, \(source.firstSeen)), last_seen = GREATEST(c.last_seen, \(source.lastSeen)),
                representative_embedding_id = (
                    SELECT id FROM face_embeddings WHERE cluster_id = \(target.id) ORDER BY face_quality DESC, id LIMIT 1)
            WHERE c.id = \(target.id)
            """, logger: logger)
        try await connection.query("""
            UPDATE person_clusters SET status = 'merged', merged_into_cluster_id = \(target.id), sample_count = 0 WHERE id = \(source.id)
            """, logger: logger)
    }

    /// Makes a cluster's faces a person's gallery and its events theirs; the cluster is marked
    /// reviewed. Returns the faces moved.
    public func promote(_ cluster: FaceCluster, to personId: UUID) async throws -> [UUID] {
        let rows = try await connection.query("""
            SELECT id FROM face_embeddings WHERE cluster_id = \(cluster.id) AND person_id IS NULL ORDER BY id
            """, logger: logger)
        var faceIds: [UUID] = []
        for try await id in rows.decode(UUID.self) { faceIds.append(id) }
        try await connection.query("""
            UPDATE face_embeddings SET person_id = \(personId), source = 'enrolment', is_primary = FALSE WHERE id = ANY(\(faceIds))
            """, logger: logger)
        try await refreshPrimary(of: personId)
        try await connection.query("""
            UPDATE events SET person_id = \(personId),
                event_type = CASE WHEN event_type IN ('face_detected', 'human_detected') THEN 'person_recognized' ELSE event_type END
            WHERE cluster_id = \(cluster.id) AND person_id IS NULL
            """, logger: logger)
        try await connection.query("""
            UPDATE person_clusters SET status = 'reviewed', promoted_to_person_id = \(personId) WHERE id = \(cluster.id)
            """, logger: logger)
        return faceIds
    }
}
