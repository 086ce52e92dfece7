import Foundation
import Hummingbird
import NIOCore
import VigilCore
import VigilStore
import VigilVision

/// DeepStack's face API, served from Vigil's gallery, so Double Take, Home Assistant and the
/// other DeepStack clients can detect, register and recognize faces here:
/// - `POST /v1/vision/face`: `image` → `{"success", "predictions": [{confidence, x_min, y_min, x_max, y_max}]}`;
/// - `POST /v1/vision/face/register`: `userid`, `image` or `image1..N` → `{"success", "message": "face added"}`
///   (the person named `userid`, made when there is none; each photo must show one usable face);
/// - `POST /v1/vision/face/recognize`: `image`, `min_confidence` → predictions with `userid`
///   (`unknown` below the confidence) and `confidence`;
/// - `POST /v1/vision/face/list` → `{"success", "faces": [userid...]}`: persons with a gallery;
/// - `POST /v1/vision/face/delete`: `userid` → `{"success"}`: their gallery is emptied (the person stays).
///
/// A recognized face's confidence is 0.5 at the recognition threshold and 1 for an identical face,
/// so the default `min_confidence` of 0.5 recognizes exactly as Vigil's cameras do.
struct DeepStackFaceController {
    let database: Database
    let forms: DeepStackForms
    let faces: FaceEngine?
    let media: any MediaStore
    let ids: UUIDv7Generator
    let audit: AuditTrail
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.post("/v1/vision/face", .permissionWithKeyInForm(.personsRead), use: detect)
        routes.post("/v1/vision/face/recognize", .permissionWithKeyInForm(.personsRead), use: recognize)
        routes.post("/v1/vision/face/list", .permissionWithKeyInForm(.personsRead), use: list)
        routes.post("/v1/vision/face/register", .permissionWithKeyInForm(.personsWrite), use: register)
        routes.post("/v1/vision/face/delete", .permissionWithKeyInForm(.personsWrite), use: delete)
    }

    struct Prediction: Codable, Sendable {
        var confidence: Double
        var userid: String?
        var x_min: Double
        var y_min: Double
        var x_max: Double
        var y_max: Double
    }

    struct Answer: Codable, Sendable {
        var success: Bool
        var predictions: [Prediction]?
        var faces: [String]?
        var message: String?
        var count: Int?
        var error: String?
    }

    typealias Failure = DeepStackController.Failure

    /// What a request may go on with: its form, its caller's context (the form's API key's, when
    /// the key came in the form) and the face engine; or the answer refusing it.
    struct Prepared {
        var form: MultipartFormData
        var context: VigilRequestContext
        var engine: FaceEngine
    }

    private func prepare(_ request: Request, context: VigilRequestContext, permission: Permission) async throws -> Result<Prepared, Failure> {
        switch try await forms.read(request, context: context, permission: permission) {
        case .failure(let failure): return .failure(failure)
        case .success(let (form, context)):
            guard let faces else { return .failure(Failure(.serviceUnavailable, "Face recognition is off on this server.")) }
            return .success(Prepared(form: form, context: context, engine: faces))
        }
    }

    /// Answers with `body`'s response once the request is prepared, or with the refusal.
    private func respond(to request: Request, context: VigilRequestContext, permission: Permission,
                         _ body: (Prepared) async throws -> Response) async throws -> Response {
        try await forms.limited {
            switch try await prepare(request, context: context, permission: permission) {
            case .failure(let failure): return failure.response
            case .success(let prepared): return try await body(prepared)
            }
        }
    }

    /// The faces of the form's `image`, or the refusal.
    private func facesOfImage(_ form: MultipartFormData, engine: FaceEngine) async throws -> Result<[FaceEngine.Found], Failure> {
        let image: [UInt8]
        switch DeepStackController.image(of: form) {
        case .success(let bytes): image = bytes
        case .failure(let failure): return .failure(failure)
        }
        do {
            return .success(try await engine.faces(inJPEG: image).faces)
        } catch let error as VisionError {
            guard let problem = error.imageProblem else { throw error }
            let refusal = APIError(imageProblem: problem)
            return .failure(Failure(refusal.status, refusal.message))
        }
    }

    private static func box(_ face: FaceEngine.Found, confidence: Double, userid: String?) -> Prediction {
        Prediction(confidence: (confidence * 1000).rounded() / 1000, userid: userid, x_min: face.face.box.x1.rounded(),
                   y_min: face.face.box.y1.rounded(), x_max: face.face.box.x2.rounded(), y_max: face.face.box.y2.rounded())
    }

    private static func answer(_ answer: Answer) -> Response { DeepStackController.answer(.ok, answer) }

    @Sendable func detect(_ request: Request, context: VigilRequestContext) async throws -> Response {
        try await respond(to: request, context: context, permission: .personsRead) { prepared in
            let (form, engine) = (prepared.form, prepared.engine)
            let minimum: Double
            switch DeepStackController.minimumConfidence(form, default: 0.4) {
            case .success(let value): minimum = value
            case .failure(let failure): return failure.response
            }
            switch try await facesOfImage(form, engine: engine) {
            case .failure(let failure): return failure.response
            case .success(let found):
                let predictions = found.filter { $0.face.confidence >= minimum }.map { Self.box($0, confidence: $0.face.confidence, userid: nil) }
                return Self.answer(Answer(success: true, predictions: predictions, count: predictions.count))
            }
        }
    }

    @Sendable func recognize(_ request: Request, context: VigilRequestContext) async throws -> Response {
        try await respond(to: request, context: context, permission: .personsRead) { prepared in
            let (form, engine, context) = (prepared.form, prepared.engine, prepared.context)
            let minimum: Double
            switch DeepStackController.minimumConfidence(form, default: 0.5) {
            case .success(let value): minimum = value
            case .failure(let failure): return failure.response
            }
            let found: [FaceEngine.Found]
            switch try await facesOfImage(form, engine: engine) {
            case .success(let faces): found = faces
            case .failure(let failure): return failure.response
            }
            let settings = engine.recognition
            let predictions = try await database.read(for: context) { connection -> [Prediction] in
                let gallery = FaceRepository(connection, logger: context.logger)
                let model = try await ModelVersionRepository(connection, logger: context.logger).recognitionModel(for: engine.model.version)
                try await gallery.setSearchBreadth(settings.efSearch)
                var matches: [(FaceEngine.Found, FaceMatch?)] = []
                for face in found {
                    matches.append((face, try await gallery.match(face.embedding, model: engine.model, threshold: model.threshold,
                                                                  candidates: settings.candidates, scope: .visibleToCaller)))
                }
                let names = Dictionary(try await PersonRepository(connection, logger: context.logger)
                    .profiles(of: Array(Set(matches.compactMap { $0.1?.personId })), watchlists: .visibleToCaller).map { ($0.id, $0.name ?? $0.id.uuidString.lowercased()) }) { a, _ in a }
                return matches.map { face, match in
                    guard let match, match.confidence >= minimum, let name = names[match.personId] else {
                        return Self.box(face, confidence: 0, userid: "unknown")
                    }
                    return Self.box(face, confidence: match.confidence, userid: name)
                }
            }
            return Self.answer(Answer(success: true, predictions: predictions, count: predictions.count))
        }
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> Response {
        try await respond(to: request, context: context, permission: .personsRead) { prepared in
            let context = prepared.context
            let names = try await database.read(for: context) { connection in
                try await PersonRepository(connection, logger: context.logger).namesWithGallery(model: prepared.engine.model.version)
            }
            return Self.answer(Answer(success: true, faces: names))
        }
    }

    @Sendable func register(_ request: Request, context: VigilRequestContext) async throws -> Response {
        try await respond(to: request, context: context, permission: .personsWrite) { prepared in
            let (form, engine, context) = (prepared.form, prepared.engine, prepared.context)
            guard let userid = form.text("userid")?.trimmingCharacters(in: .whitespaces), !userid.isEmpty, userid.count <= 200 else {
                return Failure(.badRequest, "user id not specified").response
            }
            let photos = FaceEnrolment.photos(in: form)
            guard !photos.isEmpty else { return Failure(.badRequest, "No valid image file found").response }
            let enrolment = FaceEnrolment(engine: engine, media: media, ids: ids)
            let accepted: [FaceEngine.Found]
            switch try await enrolment.examine(photos) {
            case .accepted(let faces): accepted = faces
            case .refused(let refusals):
                return Failure(.badRequest, refusals.map { "\($0.code): \($0.message)" }.joined(separator: " ")).response
            }
            let time = now(), newId = ids.next()
            try await database.transaction(for: context) { connection in
                let persons = PersonRepository(connection, logger: context.logger)
                let person: Person
                if let existing = try await persons.find(named: userid) {
                    person = existing
                } else {
                    let site = try await SiteResolution.scope(nil, context: context, on: connection)
                    person = try await persons.create(id: newId, PersonInput(name: userid, status: .known, siteId: site), createdBy: context.userId)
                    try await audit.record(AuditTrail.change("person_created", "person", person.id.uuidString,
                                                             details: .object(["via": .string("deepstack")])), context: context, on: connection)
                }
                let stored = try await enrolment.store(accepted, personId: person.id, at: time, connection: connection, logger: context.logger)
                try await audit.record(AuditTrail.change("person_faces_enrolled", "person", person.id.uuidString, details: .object([
                    "faces": .array(stored.map { .string($0.id.uuidString.lowercased()) }), "via": .string("deepstack"),
                ])), context: context, on: connection)
            }
            return Self.answer(Answer(success: true, message: "face added"))
        }
    }

    @Sendable func delete(_ request: Request, context: VigilRequestContext) async throws -> Response {
        try await respond(to: request, context: context, permission: .personsWrite) { prepared in
            let (form, context) = (prepared.form, prepared.context)
            guard let userid = form.text("userid"), !userid.isEmpty else { return Failure(.badRequest, "user id not specified").response }
            let removed = try await database.transaction(for: context) { connection -> [FaceRecord]? in
                guard let person = try await PersonRepository(connection, logger: context.logger).find(named: userid) else { return nil }
                let faces = FaceRepository(connection, logger: context.logger)
                let removed = try await faces.delete(ids: try await faces.gallery(of: person.id).map(\.id))
                try await audit.record(AuditTrail.change("person_gallery_deleted", "person", person.id.uuidString, details: .object([
                    "faces": .number(Double(removed.count)), "via": .string("deepstack"),
                ])), context: context, on: connection)
                return removed
            }
            guard let removed else { return Failure(.notFound, "user id \(userid) is not registered").response }
            FaceImages.remove(removed.map(\.imagePath), media: media, logger: context.logger)
            return Self.answer(Answer(success: true, message: "user deleted successfully"))
        }
    }
}
