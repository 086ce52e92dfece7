import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/face-clusters`: strangers seen again and again, to merge when two clusters are one
/// person and to promote to a person once someone knows who they are.
struct FaceClustersController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/face-clusters", .permission(.personsRead), use: list)
        routes.get("/face-clusters/{id}", .permission(.personsRead), use: get)
        routes.post("/face-clusters/{id}/merge", .permission(.personsMerge), use: merge)
        routes.post("/face-clusters/{id}/promote", .permission(.personsMerge), use: promote)
    }

    @Sendable func list(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<FaceCluster>> {
        let query = QueryReader(request)
        let page = try query.page()
        let status = try query.enumValue("status", as: FaceCluster.Status.self)
        let result = try await database.read(for: context) { connection in
            try await FaceRepository(connection, logger: context.logger).clusters(status: status, page: page)
        }
        return JSONResponse(ListBody(result))
    }

    struct Detail: Encodable, Sendable {
        var cluster: FaceCluster
        /// Its best faces (those the caller may see), for a person to recognize.
        var faces: [FaceRecord]
    }

    @Sendable func get(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Detail> {
        let id = try context.uuidParameter("id")
        let detail = try await database.read(for: context) { connection in
            let faces = FaceRepository(connection, logger: context.logger)
            guard let cluster = try await faces.cluster(id: id) else { throw APIError.notFound("face_cluster", id.uuidString.lowercased()) }
            return Detail(cluster: cluster, faces: try await faces.faces(ofCluster: id, limit: 24))
        }
        return JSONResponse(detail)
    }

    @Sendable func merge(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<FaceCluster> {
        let id = try context.uuidParameter("id")
        let input = try await request.decodeInput(ClusterMergeInput.self, context: context)
        let merged = try await database.transaction(for: context) { connection in
            let faces = FaceRepository(connection, logger: context.logger)
            let (source, target) = try await Self.lockPair(id, input.intoClusterId, faces: faces)
            guard source.id != target.id else {
                throw APIError(.unprocessableContent, code: "same_cluster", message: "A cluster cannot be merged into itself.")
            }
            guard source.status == .active, target.status == .active else {
                throw APIError(.conflict, code: "cluster_not_active",
                               message: "Only active clusters merge; \(source.status == .active ? target.label : source.label) is \((source.status == .active ? target : source).status.rawValue).")
            }
            guard source.modelVersion == target.modelVersion else {
                throw APIError(.conflict, code: "cluster_model_mismatch", message: "The clusters hold faces of different recognition models.")
            }
            guard source.siteId == target.siteId else {
                throw APIError(.conflict, code: "cluster_site_mismatch", message: "The clusters hold faces seen at different sites.")
            }
            try await faces.lockClusters(model: source.modelVersion)
            try await faces.merge(source, into: target)
            try await audit.record(AuditTrail.change("face_cluster_merged", "face_cluster", source.id.uuidString, details: .object([
                "into_cluster_id": .string(target.id.uuidString.lowercased()), "samples": .number(Double(source.sampleCount)),
            ])), context: context, on: connection)
            guard let merged = try await faces.cluster(id: target.id) else { throw APIError.notFound("face_cluster", target.id.uuidString.lowercased()) }
            return merged
        }
        return JSONResponse(merged)
    }

    struct Promotion: Encodable, Sendable {
        var person: Person
        var cluster: FaceCluster
        var facesMoved: Int

        enum CodingKeys: String, CodingKey {
            case person, cluster
            case facesMoved = "faces_moved"
        }
    }

    /// The cluster's faces become the person's gallery, its events theirs; a new person is made when asked.
    @Sendable func promote(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Promotion> {
        let id = try context.uuidParameter("id")
        let input = try await request.decodeInput(ClusterPromoteInput.self, context: context)
        let newPersonId = ids.next()
        let promotion = try await database.transaction(for: context) { connection in
            let faces = FaceRepository(connection, logger: context.logger)
            let persons = PersonRepository(connection, logger: context.logger)
            guard let cluster = try await faces.cluster(id: id, forUpdate: true) else {
                throw APIError.notFound("face_cluster", id.uuidString.lowercased())
            }
            guard cluster.status == .active else {
                throw APIError(.conflict, code: "cluster_not_active", message: "\(cluster.label) is \(cluster.status.rawValue), not active.")
            }
            let personId: UUID
            if let existing = input.personId {
                guard let person = try await persons.find(id: existing, forUpdate: true) else {
                    throw APIError(.unprocessableContent, code: "person_not_found", message: "person_id names no existing person.")
                }
                // Faces seen at one site join only a person that site's cameras recognize.
                guard person.siteId == nil || person.siteId == cluster.siteId else {
                    throw APIError(.conflict, code: "person_site_mismatch", message: "The person is enrolled at another site than where these faces were seen.")
                }
                personId = existing
            } else {
                var details = input.person ?? PersonInput()
                if details.name == nil { details.name = cluster.label }
                // The stranger was seen at the cluster's site: that is where they are recognized.
                details.siteId = cluster.siteId
                personId = try await persons.create(id: newPersonId, details, createdBy: context.userId).id
            }
            try await faces.lockClusters(model: cluster.modelVersion)
            let moved = try await faces.promote(cluster, to: personId).count
            try await audit.record(AuditTrail.change("face_cluster_promoted", "face_cluster", cluster.id.uuidString, details: .object([
                "person_id": .string(personId.uuidString.lowercased()), "faces": .number(Double(moved)),
                "new_person": .bool(input.personId == nil),
            ])), context: context, on: connection)
            guard let person = try await persons.find(id: personId), let promoted = try await faces.cluster(id: id) else {
                throw APIError.notFound("person", personId.uuidString.lowercased())
            }
            return Promotion(person: person, cluster: promoted, facesMoved: moved)
        }
        return JSONResponse(promotion)
    }

    /// Both clusters, locked in id order so two opposite merges cannot deadlock.
    private static func lockPair(_ first: UUID, _ second: UUID, faces: FaceRepository) async throws -> (FaceCluster, FaceCluster) {
        var found: [UUID: FaceCluster] = [:]
        for id in [first, second].sorted(by: { $0.uuidString < $1.uuidString }) where found[id] == nil {
            guard let cluster = try await faces.cluster(id: id, forUpdate: true) else {
                throw APIError.notFound("face_cluster", id.uuidString.lowercased())
            }
            found[id] = cluster
        }
        return (found[first]!, found[second]!)
    }
}
