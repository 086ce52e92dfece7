import Foundation
import Logging
import NIOPosix
import PostgresNIO
import VigilCore
import VigilStore
import VigilVision

/// How recognition searches the gallery (server-wide).
public struct RecognitionSettings: Sendable, Equatable {
    /// HNSW candidates examined per search (pgvector's `hnsw.ef_search`; seed 002 suggests 64).
    public var efSearch = 64
    /// Gallery faces compared per face.
    public var candidates = 10
    /// Cosine distance within which an unknown face joins a cluster; nil follows the recognition threshold.
    public var clusterDistance: Double?

    public init() {}
}

/// Files the faces of an analysed frame, inside the analysis transaction: each usable face is
/// matched against the gallery of the production recognition model; a match names the person
/// on the face, its detection and the event, an unknown face joins the nearest cluster of
/// strangers or starts one. Every face is kept with its aligned crop for review.
struct FaceSightings: Sendable {
    let model: FaceRepository.Model
    let media: any MediaStore
    let settings: RecognitionSettings
    let ids: UUIDv7Generator

    /// A detection of the frame that a face may belong to.
    struct Body: Sendable {
        var detectionId: UUID
        var box: PixelBox
    }

    struct Outcome: Sendable {
        var faces = 0
        var ignored = 0
        var recognized: [UUID] = []
        var clusters: [UUID] = []
        /// A watched person (blacklisted, on a blacklist or suspect watchlist) the event was not filed under before.
        var newlyWatched: RecognizedPerson?

        var report: JSONValue {
            .object(["found": .number(Double(faces)), "ignored_low_quality": .number(Double(ignored)),
                     "recognized": .array(recognized.map { .string($0.uuidString.lowercased()) }),
                     "clusters": .array(clusters.map { .string($0.uuidString.lowercased()) })])
        }
    }

    func record(_ found: [FaceEngine.Found], minimumQuality: Double, cameraId: UUID, captureId: UUID, bodies: [Body], eventId: UUID?,
                frameTime: Date, connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        var outcome = Outcome()
        outcome.faces = found.count
        let usable = found.filter { $0.quality.score >= minimumQuality }
        outcome.ignored = found.count - usable.count
        guard !usable.isEmpty else { return outcome }

        let faces = FaceRepository(connection, logger: logger)
        let recognition = try await ModelVersionRepository(connection, logger: logger).recognitionModel(for: model.version)
        // The camera's site: only its people and every site's are recognized, and strangers are clustered within it.
        let siteId = try await CameraRepository(connection, logger: logger).siteId(of: cameraId)
        try await faces.setSearchBreadth(settings.efSearch)
        let strangers = UnknownFaces(model: model, threshold: settings.clusterDistance ?? recognition.threshold, siteId: siteId, ids: ids)
        var matchedDetections: [UUID: [UUID]] = [:]
        for face in usable {
            let id = ids.next()
            let body = Self.body(of: face.face, among: bodies)
            let path = try await writeCrop(face.aligned, id: id, cameraId: cameraId, at: frameTime)
            var row = FaceRepository.NewFace(id: id, cameraId: cameraId, captureId: captureId, detectionId: body, eventId: eventId,
                                              embedding: face.embedding, imagePath: path, quality: face.quality.score,
                                              confidence: face.face.confidence, box: face.face.box, landmarks: face.face.landmarks,
                                              modelVersion: model.version, source: .unknown, createdAt: frameTime)
            if let match = try await faces.match(face.embedding, model: model, threshold: recognition.threshold,
                                                 candidates: settings.candidates, scope: .site(siteId)) {
                row.personId = match.personId
                row.source = .recognition
                row.matchedFaceId = match.faceId
                row.matchDistance = match.distance
                row.confidence = match.confidence
                try await faces.insert(row)
                if !outcome.recognized.contains(match.personId) { outcome.recognized.append(match.personId) }
                if let body { matchedDetections[match.personId, default: []].append(body) }
                continue
            }
            try await faces.insert(row)
            let clusterId = try await strangers.place(id, embedding: face.embedding, quality: face.quality.score, seenAt: frameTime,
                                                       faces: faces)
            if !outcome.clusters.contains(clusterId) { outcome.clusters.append(clusterId) }
        }

        let detections = DetectionRepository(connection, logger: logger)
        for (person, detectionIds) in matchedDetections.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            try await detections.setPerson(person, on: detectionIds, detectedAt: frameTime)
        }
        guard let eventId else { return outcome }
        let events = EventRepository(connection, logger: logger)
        let current = try await events.personId(of: eventId)
        let profiles = try await PersonRepository(connection, logger: logger)
            .profiles(of: Array(Set(outcome.recognized + (current.map { [$0] } ?? []))), watchlists: .site(siteId))
        let chosen = profiles.max { ($0.precedence, $0.id == current ? 1 : 0) < ($1.precedence, $1.id == current ? 1 : 0) }
        try await events.fileFaces(of: eventId, personId: chosen?.id, clusterId: outcome.clusters.first)
        if let chosen, chosen.isWatched, chosen.id != current { outcome.newlyWatched = chosen }
        return outcome
    }

    /// The detection a face belongs to: the smallest body whose box holds the face's centre.
    static func body(of face: DetectedFace, among bodies: [Body]) -> UUID? {
        let x = (face.box.x1 + face.box.x2) / 2, y = (face.box.y1 + face.box.y2) / 2
        return bodies.filter { $0.box.x1 <= x && x <= $0.box.x2 && $0.box.y1 <= y && y <= $0.box.y2 }
            .min { $0.box.width * $0.box.height < $1.box.width * $1.box.height }?.detectionId
    }

    private func writeCrop(_ aligned: AlignedFace, id: UUID, cameraId: UUID, at time: Date) async throws -> String {
        let day = time.formatted(.iso8601.year().month().day())
        let path = "faces/\(cameraId.uuidString.lowercased())/\(day)/\(id.uuidString.lowercased()).jpg"
        let media = self.media
        return try await NIOThreadPool.singleton.runIfActive {
            try media.write(try JPEGEncoder.encode(aligned.image, quality: 90), at: path)
        }
    }
}

/// Files unknown faces into clusters of one site's strangers: the nearest active cluster of the
/// site within the threshold, or a new `Unknown-NNN`. Placing is serialised per model (an advisory lock held to
/// the end of the transaction), so one stranger seen by two workers at once gets one cluster.
struct UnknownFaces: Sendable {
    let model: FaceRepository.Model
    let threshold: Double
    let siteId: UUID?
    let ids: UUIDv7Generator

    /// Places a stored unknown face (no person, no cluster yet) and returns its cluster.
    func place(_ faceId: UUID, embedding: [Float], quality: Double, seenAt time: Date, faces: FaceRepository) async throws -> UUID {
        try await faces.lockClusters(model: model.version)
        let clusterId: UUID
        switch ClusterPlacement.decide(nearest: try await faces.nearestClusteredFace(to: embedding, model: model, siteId: siteId),
                                        threshold: threshold) {
        case .join(let existing): clusterId = existing
        case .start: clusterId = try await faces.startCluster(id: ids.next(), model: model.version, siteId: siteId, at: time).id
        }
        try await faces.addToCluster(clusterId, faceId: faceId, quality: quality, at: time)
        return clusterId
    }
}
