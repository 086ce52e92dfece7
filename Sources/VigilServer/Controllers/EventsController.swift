import Foundation
import Hummingbird
import NIOCore
import VigilCore
import VigilStore

/// `/api/v1/events`: what happened, why it was raised, and operators' review of it.
struct EventsController {
    let database: Database
    let media: any MediaStore
    let audit: AuditTrail

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/events", .permission(.eventsRead), use: list)
        routes.get("/events/{id}", .permission(.eventsRead), use: get)
        routes.get("/events/{id}/images/{role}", .permission(.eventsRead), use: image)
        routes.patch("/events/{id}", .permission(.eventsAcknowledge), use: update)
        routes.post("/events/{id}/feedback", .permission(.eventsAcknowledge), use: feedback)
        routes.get("/stats/dashboard", .permission(.eventsRead), use: dashboard)
    }

    /// An event with everything that explains it.
    struct Detail: Encodable, Sendable {
        struct Image: Encodable, Sendable {
            var role: EventImageRole
            var url: String
            var captureId: UUID?

            enum CodingKeys: String, CodingKey {
                case role, url
                case captureId = "capture_id"
            }
        }

        struct Detection: Encodable, Sendable {
            var id: UUID
            var captureId: UUID?
            var detectedAt: Date
            var objectType: String
            var confidence: Double
            var bbox: [String: Int]
            var zoneIds: [UUID]
            var trackId: Int64?

            enum CodingKeys: String, CodingKey {
                case id, confidence, bbox
                case captureId = "capture_id", detectedAt = "detected_at", objectType = "object_type", zoneIds = "zone_ids"
                case trackId = "track_id"
            }
        }

        var event: Event
        var detections: [Detection]
        var images: [Image]
        var suspiciousActivities: [SuspiciousActivity]
        var feedback: EventFeedback?

        enum CodingKeys: String, CodingKey {
            case detections, images, feedback
            case suspiciousActivities = "suspicious_activities"
        }

        func encode(to encoder: any Encoder) throws {
            try event.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(detections, forKey: .detections)
            try container.encode(images, forKey: .images)
            try container.encode(suspiciousActivities, forKey: .suspiciousActivities)
            try container.encode(feedback, forKey: .feedback)
        }
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Event>> {
        let query = QueryReader(request)
        let page = try query.page()
        let filter = try Self.filter(query)
        let result = try await database.read(for: context) {
            try await EventRepository($0, logger: context.logger, visibleTo: context.visibleTo).list(filter, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    /// Reads the list filters: comma-separated lists for cameras, sites, types, levels and object types.
    static func filter(_ query: QueryReader) throws -> EventRepository.Filter {
        var filter = EventRepository.Filter()
        filter.cameraIds = try query.uuids("camera_id")
        filter.siteIds = try query.uuids("site_id")
        filter.from = try query.date("from")
        filter.to = try query.date("to")
        if let from = filter.from, let to = filter.to, from >= to {
            throw APIError.invalidParameter("to", "must be after from")
        }
        filter.eventTypes = try query.enumValues("event_type", as: EventType.self)
        filter.riskLevels = try query.enumValues("risk_level", as: RiskLevel.self)
        filter.minRisk = try query.int("min_risk", in: 0...100)
        filter.maxRisk = try query.int("max_risk", in: 0...100)
        filter.reviewed = try query.bool("reviewed")
        filter.objectTypes = query.list("object_type")
        filter.hasSuspicious = try query.bool("has_suspicious")
        if let text = query.string("q") {
            guard text.count <= 500 else { throw APIError.invalidParameter("q", "must be at most 500 characters") }
            filter.query = text
        }
        return filter
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let detail = try await database.read(for: context) { connection -> Detail? in
            let events = EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let event = try await events.find(id: id) else { return nil }
            let detections = try await events.detections(cameraId: event.cameraId, trackIds: [], detectionIds: event.detectionIds,
                                                         since: event.startedAt, until: max(event.endedAt ?? event.startedAt, event.startedAt))
            let images = try await events.images(eventId: id)
            let suspicious = try await SuspiciousActivityRepository(connection, logger: context.logger)
                .list(eventId: id, since: event.startedAt.addingTimeInterval(-86_400))
            let base = "/api/v1/events/\(id.uuidString.lowercased())/images/"
            return Detail(
                event: event,
                detections: detections.map { detection in
                    Detail.Detection(id: detection.id, captureId: detection.captureId, detectedAt: detection.detectedAt,
                                     objectType: detection.objectType, confidence: detection.confidence,
                                     bbox: ["x": Int(detection.box.x1), "y": Int(detection.box.y1), "width": Int(detection.box.width),
                                            "height": Int(detection.box.height), "frame_width": detection.frameWidth,
                                            "frame_height": detection.frameHeight],
                                     zoneIds: detection.zoneIds, trackId: detection.trackId)
                },
                images: images.map { Detail.Image(role: $0.role, url: base + $0.role.rawValue, captureId: $0.captureId) },
                suspiciousActivities: suspicious,
                feedback: try await events.feedback(eventId: id))
        }
        guard let detail else { throw APIError.notFound("event", id.uuidString.lowercased()) }
        return JSONResponse(detail)
    }

    /// One of the event's images, as JPEG.
    @Sendable func image(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        let roleText = context.parameters.get("role") ?? ""
        guard let role = EventImageRole(rawValue: roleText) else {
            throw APIError.invalidParameter("role", "must be one of \(EventImageRole.allowedValues); got '\(roleText)'")
        }
        let uri = try await database.read(for: context) { connection -> String? in
            let events = EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard try await events.find(id: id) != nil else { throw APIError.notFound("event", id.uuidString.lowercased()) }
            return try await events.images(eventId: id).first { $0.role == role }?.uri
        }
        guard let uri, let bytes = try? media.read(uri) else {
            throw APIError(.notFound, code: "no_image",
                           message: "Event \(id.uuidString.lowercased()) has no \(role.rawValue) image (never made, or past its retention).")
        }
        // Event images never change once made; a browser may keep them, a shared cache may not.
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let patch = try await request.decodeInput(EventPatch.self, context: context)
        let updated = try await database.transaction(for: context) { connection -> Event? in
            guard let event = try await EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
                .update(id: id, patch) else { return nil }
            var changed: [String: JSONValue] = ["reviewed": .bool(event.reviewed)]
            if let action = event.reviewAction { changed["review_action"] = .string(action.rawValue) }
            if patch.notes != nil { changed["notes"] = .string("changed") }
            try await audit.record(AuditTrail.change("event_reviewed", "event", id.uuidString.lowercased(), details: .object(changed)),
                                   context: context, on: connection)
            return event
        }
        guard updated != nil else { throw APIError.notFound("event", id.uuidString.lowercased()) }
        return try await get(request, context: context)
    }

    @Sendable func feedback(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<EventFeedback> {
        let id = try context.uuidParameter("id")
        let input = try await request.decodeInput(EventFeedbackInput.self, context: context)
        let userId = context.userId
        let saved = try await database.transaction(for: context) { connection -> EventFeedback? in
            let events = EventRepository(connection, logger: context.logger, visibleTo: context.visibleTo)
            guard let event = try await events.find(id: id) else { return nil }
            let saved = try await events.saveFeedback(input, event: event, by: userId)
            try await audit.record(AuditTrail.change("event_feedback", "event", id.uuidString.lowercased(),
                                                     details: .object(["feedback_type": .string(input.feedbackType.rawValue)])),
                                   context: context, on: connection)
            return saved
        }
        guard let saved else { throw APIError.notFound("event", id.uuidString.lowercased()) }
        return JSONResponse(saved, status: .created)
    }

    /// Seed 002's dashboard figures for the sites the caller sees.
    @Sendable func dashboard(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<JSONValue> {
        let stats = try await database.read(for: context) {
            try await EventRepository($0, logger: context.logger, visibleTo: context.visibleTo).dashboardStats()
        }
        return JSONResponse(.object(stats))
    }
}

extension QueryReader {
    /// A comma-separated list; empty when the parameter is absent.
    func list(_ name: String) -> [String] {
        (string(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func uuids(_ name: String) throws -> [UUID] {
        try list(name).map { text in
            guard let id = UUID(uuidString: text) else { throw APIError.invalidParameter(name, "must list UUIDs; got '\(text)'") }
            return id
        }
    }

    func enumValues<Value: RawRepresentable & CaseIterable>(_ name: String, as type: Value.Type) throws -> [Value]
    where Value.RawValue == String {
        try list(name).map { text in
            guard let value = Value(rawValue: text) else {
                throw APIError.invalidParameter(name, "must list values among \(Value.allowedValues); got '\(text)'")
            }
            return value
        }
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.invalidParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text)'")
        }
        return value
    }
}
