import Foundation
import Hummingbird
import Logging
import NIOCore
import VigilCore
import VigilStore

/// `/api/v1/persons`: the people Vigil recognizes, their aliases, labels and gallery of faces.
struct PersonsController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail
    let media: any MediaStore
    let faces: FaceEngine?
    let now: @Sendable () -> Date
    /// Photos sent at once for enrolment, all together.
    static let maximumUploadBytes = 32 << 20
    /// Enrolments at once, at most: each holds its photos and a core for face analysis.
    let enrolments = ConcurrencyLimit(maximum: 2)

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/persons", .permission(.personsRead), use: list)
        routes.post("/persons", .permission(.personsWrite), use: create)
        routes.get("/persons/{id}", .permission(.personsRead), use: get)
        routes.patch("/persons/{id}", .permission(.personsWrite), use: update)
        routes.delete("/persons/{id}", .permission(.personsDelete), use: delete)
        routes.get("/persons/{id}/faces", .permission(.personsRead), use: gallery)
        routes.post("/persons/{id}/faces", .permission(.personsWrite), use: enrol)
        routes.delete("/persons/{id}/faces/{faceId}", .permission(.personsWrite), use: deleteFace)
        routes.get("/faces/{id}/image", .permission(.personsRead), use: faceImage)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<Person>> {
        let query = QueryReader(request)
        let page = try query.page()
        let status = try query.enumValue("status", as: PersonStatus.self)
        let search = query.string("search")
        let result = try await database.read(for: context) { connection in
            try await PersonRepository(connection, logger: context.logger).list(search: search, status: status, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Person> {
        let id = try context.uuidParameter("id")
        guard let person = try await database.read(for: context, { try await PersonRepository($0, logger: context.logger).find(id: id) }) else {
            throw APIError.notFound("person", id.uuidString.lowercased())
        }
        return JSONResponse(person)
    }

    @Sendable func create(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Person> {
        let sent = try await request.decodeInput(PersonInput.self, context: context)
        let id = ids.next()
        let person = try await database.transaction(for: context) { connection in
            var input = sent
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            let person = try await PersonRepository(connection, logger: context.logger).create(id: id, input, createdBy: context.userId)
            try await audit.record(AuditTrail.change("person_created", "person", id.uuidString, details: try input.auditDetails()),
                                   context: context, on: connection)
            return person
        }
        return JSONResponse(person, status: .created)
    }

    @Sendable func update(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Person> {
        let id = try context.uuidParameter("id")
        let patch = try await request.jsonObjectBody(context: context)
        let person = try await database.transaction(for: context) { connection in
            let persons = PersonRepository(connection, logger: context.logger)
            guard let current = try await persons.find(id: id, forUpdate: true) else { throw APIError.notFound("person", id.uuidString.lowercased()) }
            var input = try InputDecoding.patch(PersonInput(current), with: .object(patch))
            input.siteId = try await SiteResolution.scope(input.siteId, context: context, on: connection)
            guard let updated = try await persons.update(id: id, input, by: context.userId) else {
                throw APIError.notFound("person", id.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("person_updated", "person", id.uuidString, details: .changedFields(patch)),
                                   context: context, on: connection)
            return updated
        }
        return JSONResponse(person)
    }

    /// Deletes the person with their gallery; events and alerts that named them keep the id.
    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        let paths = try await database.transaction(for: context) { connection -> [String] in
            let gallery = try await FaceRepository(connection, logger: context.logger).gallery(of: id)
            guard try await PersonRepository(connection, logger: context.logger).delete(id: id) else {
                throw APIError.notFound("person", id.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("person_deleted", "person", id.uuidString,
                                                     details: .object(["faces": .number(Double(gallery.count))])),
                                   context: context, on: connection)
            return gallery.map(\.imagePath)
        }
        FaceImages.remove(paths, media: media, logger: context.logger)
        return Response(status: .noContent)
    }

    struct Gallery: Encodable, Sendable {
        var items: [FaceRecord]
    }

    @Sendable func gallery(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Gallery> {
        let id = try context.uuidParameter("id")
        let faces = try await database.read(for: context) { connection in
            guard try await PersonRepository(connection, logger: context.logger).find(id: id) != nil else {
                throw APIError.notFound("person", id.uuidString.lowercased())
            }
            return try await FaceRepository(connection, logger: context.logger).gallery(of: id)
        }
        return JSONResponse(Gallery(items: faces))
    }

    /// Enrols the photos of a multipart body (every file part; `image`, `image1`... as DeepStack
    /// names them). All are enrolled or none: a refused photo refuses the request, saying why for each.
    @Sendable func enrol(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Gallery> {
        let id = try context.uuidParameter("id")
        guard let engine = faces else { throw Self.recognitionOff }
        return try await enrolments.run(tooBusyWith: "photos being enrolled") {
            try await enrol(request, personId: id, engine: engine, context: context)
        }
    }

    private func enrol(_ request: Request, personId id: UUID, engine: FaceEngine, context: VigilRequestContext) async throws
        -> JSONResponse<Gallery> {
        let form = try await request.multipartForm(maximumBytes: Self.maximumUploadBytes)
        let photos = FaceEnrolment.photos(in: form)
        guard !photos.isEmpty else {
            throw APIError(.badRequest, code: "missing_image", message: "Send one or more photos as file fields of multipart/form-data.")
        }
        let enrolment = FaceEnrolment(engine: engine, media: media, ids: ids)
        let accepted: [FaceEngine.Found]
        switch try await enrolment.examine(photos) {
        case .accepted(let faces): accepted = faces
        case .refused(let refusals): throw FaceEnrolment.error(for: refusals)
        }
        let time = now()
        let stored = try await database.transaction(for: context) { connection in
            guard try await PersonRepository(connection, logger: context.logger).find(id: id, forUpdate: true) != nil else {
                throw APIError.notFound("person", id.uuidString.lowercased())
            }
            let stored = try await enrolment.store(accepted, personId: id, at: time, connection: connection, logger: context.logger)
            try await audit.record(AuditTrail.change("person_faces_enrolled", "person", id.uuidString, details: .object([
                "faces": .array(stored.map { .string($0.id.uuidString.lowercased()) }),
            ])), context: context, on: connection)
            return stored
        }
        return JSONResponse(Gallery(items: stored), status: .created)
    }

    @Sendable func deleteFace(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        let faceId = try context.uuidParameter("faceId")
        let removed = try await database.transaction(for: context) { connection -> FaceRecord in
            let faces = FaceRepository(connection, logger: context.logger)
            guard let face = try await faces.find(id: faceId), face.personId == id else {
                throw APIError.notFound("face", faceId.uuidString.lowercased())
            }
            // Row-level security keeps a gallery face of a person the caller may not write.
            guard try await !faces.delete(ids: [faceId]).isEmpty else {
                throw APIError.notFound("face", faceId.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("person_face_deleted", "person", id.uuidString,
                                                     details: .object(["face_id": .string(faceId.uuidString.lowercased())])),
                                   context: context, on: connection)
            return face
        }
        FaceImages.remove([removed.imagePath], media: media, logger: context.logger)
        return Response(status: .noContent)
    }

    /// A face's aligned crop as JPEG; faces seen by a camera only for those who may see that camera.
    @Sendable func faceImage(_ request: Request, context: VigilRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        guard let face = try await database.read(for: context, { try await FaceRepository($0, logger: context.logger).find(id: id) }),
              let bytes = try? media.read(face.imagePath) else {
            throw APIError.notFound("face", id.uuidString.lowercased())
        }
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static let recognitionOff = APIError(.serviceUnavailable, code: "face_recognition_off",
                                         message: "Face recognition is off on this server (VIGIL_FACES, or its models did not load).")
}
