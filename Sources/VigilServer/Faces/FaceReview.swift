import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStore

/// An operator's verdict on whom an event shows, applied to its faces and to the galleries, so
/// that later recognition follows it:
/// - `confirm`: the faces recognized as the event's person join their gallery;
/// - `reject` ("this is not X"): they leave X, with any face X's gallery learnt from a camera that
///   they were recognized by (the wrong face that made the mistake), and go back to the strangers;
/// - `correct_name`: the same faces go to the right person's gallery instead;
/// - `merge`: the event's strangers (their whole clusters) are this person;
/// - `delete`: the event's faces are forgotten.
struct FaceReview: Sendable {
    let model: FaceRepository.Model
    let ids: UUIDv7Generator

    struct Outcome: Sendable {
        var review: ReviewRecord
        var facesMoved: Int
        /// The images of deleted faces, for the caller to remove once the transaction committed.
        var deletedImages: [String] = []
    }

    func apply(_ input: ReviewInput, to event: Event, by reviewer: UUID?, at time: Date, connection: PostgresConnection,
               logger: Logger) async throws -> Outcome {
        let faces = FaceRepository(connection, logger: logger)
        let seen = try await faces.faces(ofEvent: event.id)
        guard !seen.isEmpty else {
            throw APIError(.conflict, code: "no_faces", message: "No face was seen in this event; there is nothing to review.")
        }
        let recognized = event.personId.map { person in seen.filter { $0.personId == person } } ?? []
        let clusters = Array(Set(seen.compactMap(\.clusterId))).sorted { $0.uuidString < $1.uuidString }
        let from = event.personId
        var to: UUID?
        var moved: [UUID] = []
        var deletedImages: [String] = []
        switch input.action {
        case .confirm:
            guard let person = event.personId, !recognized.isEmpty else { throw Self.nobodyRecognized }
            moved = recognized.map(\.id)
            try await faces.moveToGallery(moved, personId: person)
            to = person
        case .reject:
            guard let person = event.personId, !recognized.isEmpty else { throw Self.nobodyRecognized }
            moved = recognized.map(\.id) + (try await faces.learntMatches(of: recognized.map(\.id), personId: person))
            _ = try await faces.moveToUnknown(moved)
            let siteId = try await CameraRepository(connection, logger: logger).siteId(of: event.cameraId)
            let strangers = UnknownFaces(model: model, threshold: try await threshold(connection, logger), siteId: siteId, ids: ids)
            var placed: [UUID] = []
            for face in try await faces.embeddings(of: moved) {
                placed.append(try await strangers.place(face.id, embedding: face.embedding, quality: face.quality, seenAt: face.createdAt,
                                                        faces: faces))
            }
            try await file(event, person: nil, cluster: placed.first ?? clusters.first, faces: seen, connection: connection, logger: logger)
        case .correctName:
            let person = try await existing(input.personId, connection, logger)
            var wrong: [UUID] = []
            if let previous = event.personId { wrong = try await faces.learntMatches(of: recognized.map(\.id), personId: previous) }
            moved = seen.filter { $0.personId == nil || $0.personId == event.personId }.map(\.id) + wrong
            try await faces.moveToGallery(moved, personId: person)
            try await faces.recount(clusters: clusters)
            try await file(event, person: person, cluster: nil, faces: seen, connection: connection, logger: logger)
            to = person
        case .merge:
            let person = try await existing(input.personId, connection, logger)
            guard !clusters.isEmpty else {
                throw APIError(.conflict, code: "no_unknown_faces", message: "This event has no unknown faces to merge into a person.")
            }
            try await faces.lockClusters(model: model.version)
            for id in clusters {
                guard let cluster = try await faces.cluster(id: id, forUpdate: true), cluster.status == .active else { continue }
                moved += try await faces.promote(cluster, to: person)
            }
            try await file(event, person: person, cluster: event.clusterId, faces: seen, connection: connection, logger: logger)
            to = person
        case .delete:
            moved = seen.map(\.id)
            let removed = try await faces.delete(ids: moved)
            try await faces.recount(clusters: clusters)
            try await file(event, person: nil, cluster: nil, faces: seen, connection: connection, logger: logger)
            deletedImages = removed.map(\.imagePath)
        }
        let best = seen.max { $0.quality < $1.quality }
        let review = try await ReviewRepository(connection, logger: logger).record(
            id: ids.next(), eventId: event.id, cameraId: event.cameraId, reviewerId: reviewer, action: input.action, from: from, to: to,
            faceId: input.action == .delete ? nil : best?.id, notes: input.notes, at: time)
        return Outcome(review: review, facesMoved: moved.count, deletedImages: deletedImages)
    }

    /// The event, its detections and the faces' own person links, filed under the review's verdict.
    private func file(_ event: Event, person: UUID?, cluster: UUID?, faces seen: [FaceRecord], connection: PostgresConnection,
                      logger: Logger) async throws {
        try await EventRepository(connection, logger: logger).setIdentity(of: event.id, personId: person, clusterId: cluster)
        try await DetectionRepository(connection, logger: logger).setPerson(person, on: seen.compactMap(\.detectionId))
    }

    private func threshold(_ connection: PostgresConnection, _ logger: Logger) async throws -> Double {
        try await ModelVersionRepository(connection, logger: logger).recognitionModel(for: model.version).threshold
    }

    private func existing(_ personId: UUID?, _ connection: PostgresConnection, _ logger: Logger) async throws -> UUID {
        guard let personId, try await PersonRepository(connection, logger: logger).find(id: personId, forUpdate: true) != nil else {
            throw APIError(.unprocessableContent, code: "person_not_found", message: "person_id names no existing person.")
        }
        return personId
    }

    static let nobodyRecognized = APIError(.conflict, code: "no_person_recognized",
                                           message: "Nobody was recognized in this event; correct_name or merge says who it is.")
}
