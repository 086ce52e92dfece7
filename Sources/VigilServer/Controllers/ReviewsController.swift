import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/events/{id}/faces` and `/review`: the faces an event showed, and an operator's
/// verdict on who they are (confirm, reject, correct_name, merge, delete), recorded, audited and
/// followed by a new judgement of the event.
struct ReviewsController {
    let database: Database
    let media: any MediaStore
    let ids: UUIDv7Generator
    let audit: AuditTrail
    let faces: FaceEngine?
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/events/{id}/faces", .permission(.eventsRead), use: eventFaces)
        routes.get("/events/{id}/reviews", .permission(.eventsRead), use: reviews)
        routes.post("/events/{id}/review", .permission(.eventsAcknowledge), use: review)
    }

    struct Faces: Encodable, Sendable {
        var items: [FaceRecord]
    }

    @Sendable func eventFaces(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Faces> {
        let id = try context.uuidParameter("id")
        let faces = try await database.read(for: context) { connection in
            guard try await EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo).find(id: id) != nil else {
                throw APIError.notFound("event", id.uuidString.lowercased())
            }
            return try await FaceRepository(connection, logger: context.logger).faces(ofEvent: id)
        }
        return JSONResponse(Faces(items: faces))
    }

    struct Reviews: Encodable, Sendable {
        var items: [ReviewRecord]
    }

    @Sendable func reviews(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Reviews> {
        let id = try context.uuidParameter("id")
        let found = try await database.read(for: context) { connection in
            guard try await EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo).find(id: id) != nil else {
                throw APIError.notFound("event", id.uuidString.lowercased())
            }
            return try await ReviewRepository(connection, logger: context.logger).list(eventId: id)
        }
        return JSONResponse(Reviews(items: found))
    }

    struct Outcome: Encodable, Sendable {
        var review: ReviewRecord
        var facesMoved: Int

        enum CodingKeys: String, CodingKey {
            case review
            case facesMoved = "faces_moved"
        }
    }

    @Sendable func review(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Outcome> {
        let id = try context.uuidParameter("id")
        let input = try await request.decodeInput(ReviewInput.self, context: context)
        guard let engine = faces else { throw PersonsController.recognitionOff }
        let time = now()
        let reviewer = context.userId
        let review = FaceReview(model: engine.model, ids: ids)
        let outcome = try await database.transaction(for: context) { connection in
            let events = EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let event = try await events.find(id: id, forUpdate: true) else { throw APIError.notFound("event", id.uuidString.lowercased()) }
            let outcome = try await review.apply(input, to: event, by: reviewer, at: time, connection: connection, logger: context.logger)
            _ = try await events.update(id: id, EventPatch(reviewed: true, reviewAction: .some(input.action)))
            try await audit.record(AuditTrail.change("event_face_review", "event", id.uuidString.lowercased(), details: .object([
                "action": .string(input.action.rawValue),
                "from_person_id": outcome.review.fromPersonId.map { .string($0.uuidString.lowercased()) } ?? .null,
                "to_person_id": outcome.review.toPersonId.map { .string($0.uuidString.lowercased()) } ?? .null,
                "faces_moved": .number(Double(outcome.facesMoved)),
            ])), context: context, on: connection)
            // Who the event shows changed: its risk and the rules are looked at again.
            try await EventFolding.enqueueJudgement(of: id, stage: event.closedAt == nil ? .fastPath : .closed,
                                                    jobs: JobRepository(connection, logger: context.logger), now: time)
            return outcome
        }
        // The rows are gone for good only now; their images follow.
        FaceImages.remove(outcome.deletedImages, media: media, logger: context.logger)
        return JSONResponse(Outcome(review: outcome.review, facesMoved: outcome.facesMoved), status: .created)
    }
}
