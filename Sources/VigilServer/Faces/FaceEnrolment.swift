import Foundation
import Logging
import NIOPosix
import PostgresNIO
import VigilCore
import VigilStore
import VigilVision

/// Turning photos into gallery faces: each photo must show exactly one usable face, or it is
/// refused with the reason (`no_face`, `several_faces`, `face_too_small`, `too_blurry`,
/// `unreadable_image`). The People API and the DeepStack face API enrol through this.
struct FaceEnrolment: Sendable {
    let engine: FaceEngine
    let media: any MediaStore
    let ids: UUIDv7Generator

    struct Photo: Sendable {
        var name: String
        var bytes: [UInt8]
    }

    /// The photos of a form: every file field, and fields named like DeepStack's `image`, `image1`...
    static func photos(in form: MultipartFormData) -> [Photo] {
        form.parts.filter { !$0.body.isEmpty && ($0.filename != nil || $0.name.hasPrefix("image")) }
            .map { Photo(name: $0.filename ?? $0.name, bytes: $0.body) }
    }

    /// Why a photo was refused, in the API's words.
    struct Refusal: Sendable, Equatable {
        var photo: String
        var code: String
        var message: String
    }

    enum Examination: Sendable {
        case accepted([FaceEngine.Found])
        case refused([Refusal])
    }

    /// The one face of each photo, or the refusals of the photos that have none usable.
    func examine(_ photos: [Photo]) async throws -> Examination {
        var accepted: [FaceEngine.Found] = []
        var refused: [Refusal] = []
        for photo in photos {
            let found: [FaceEngine.Found]
            do {
                found = try await engine.faces(inJPEG: photo.bytes).faces
            } catch let error as VisionError {
                switch error {
                case .undecodable:
                    refused.append(Refusal(photo: photo.name, code: "unreadable_image", message: "\(photo.name) cannot be read as a JPEG."))
                    continue
                case .refused(let problem):
                    refused.append(Refusal(photo: photo.name, code: problem.code, message: "\(photo.name): \(problem.message)"))
                    continue
                case .model:
                    throw error
                }
            }
            // A face too small to enrol in the background is not a second person in the photo.
            let large = found.filter { $0.quality.size >= FaceQuality.minimumEnrolmentSize }
            if found.isEmpty {
                refused.append(Refusal(photo: photo.name, code: "no_face", message: "No face was found in \(photo.name)."))
            } else if large.count > 1 {
                refused.append(Refusal(photo: photo.name, code: "several_faces",
                                       message: "\(photo.name) shows \(large.count) faces; send a photo of one person."))
            } else if let face = large.first ?? found.max(by: { $0.quality.size < $1.quality.size }) {
                switch face.quality.enrolmentProblem {
                case "face_too_small":
                    refused.append(Refusal(photo: photo.name, code: "face_too_small",
                                           message: "The face in \(photo.name) is \(Int(face.quality.size)) pixels across; "
                                               + "at least \(Int(FaceQuality.minimumEnrolmentSize)) are needed."))
                case "too_blurry":
                    refused.append(Refusal(photo: photo.name, code: "too_blurry",
                                           message: "The face in \(photo.name) is too blurred to recognize; send a sharper photo."))
                default:
                    accepted.append(face)
                }
            }
        }
        return refused.isEmpty ? .accepted(accepted) : .refused(refused)
    }

    /// The error a refused enrolment answers with: the photo's own code when one photo was sent
    /// or all were refused for one reason, each photo's reason in the details.
    static func error(for refusals: [Refusal]) -> APIError {
        let codes = Set(refusals.map(\.code))
        let code = codes.count == 1 ? refusals[0].code : "photos_refused"
        let message = refusals.count == 1 ? refusals[0].message
            : "\(refusals.count) photos were refused: " + refusals.map(\.message).joined(separator: " ")
        return APIError(.unprocessableContent, code: code, message: message,
                        details: refusals.map { ValidationProblem(field: $0.photo, message: "\($0.code): \($0.message)") })
    }

    /// Stores accepted faces in the person's gallery; the best becomes primary when they had none.
    func store(_ faces: [FaceEngine.Found], personId: UUID, at time: Date, connection: PostgresConnection,
               logger: Logger) async throws -> [FaceRecord] {
        let repository = FaceRepository(connection, logger: logger)
        var stored: [UUID] = []
        for face in faces {
            let id = ids.next()
            let path = "faces/enrolled/\(personId.uuidString.lowercased())/\(id.uuidString.lowercased()).jpg"
            let media = self.media
            let aligned = face.aligned
            let uri = try await NIOThreadPool.singleton.runIfActive { try media.write(try JPEGEncoder.encode(aligned.image, quality: 92), at: path) }
            try await repository.insert(FaceRepository.NewFace(
                id: id, personId: personId, embedding: face.embedding, imagePath: uri, quality: face.quality.score,
                confidence: face.face.confidence, box: face.face.box, landmarks: face.face.landmarks, modelVersion: engine.model.version,
                source: .enrolment, createdAt: time))
            stored.append(id)
        }
        try await repository.refreshPrimary(of: personId)
        var records: [FaceRecord] = []
        for id in stored { if let record = try await repository.find(id: id) { records.append(record) } }
        return records
    }
}
