import Foundation
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// Recognition model versions on confirmed faces of real people: a dataset, a calibration job on
/// the queue, approval into production (super administrators only), its threshold used, rollback.
@Suite("Faces: training, model versions, approval and rollback", .serialized)
struct RecognitionModelsTests {
    static let gallery = [
        "Ana": ["Female_40_1_1_1.jpg", "Female_40_2_1_1.jpg", "Female_40_3_1.jpg", "Female_40_4_1.jpg"],
        "Marco": ["Male_22_1_1_1.jpg", "Male_22_2_1_1.jpg", "Male_22_4_1.jpg"],
        "Petr": ["Male_24_1_1_1.jpg", "Male_24_2_1_1.jpg", "Male_24_5_1.jpg", "Male_24_4_1.jpg"],
        "Eva": ["Female_41_1_1_1.jpg", "Female_41_2_1_1.jpg", "Female_41_3_1.jpg", "Female_41_5_1.jpg"],
    ]

    @Test("a dataset of confirmed faces is calibrated by a queued job into a version; a super admin approves it, it recognizes with its threshold, rollback restores the previous one")
    func trainApproveRollback() async throws {
        try await TestApp.run { app in
            for (name, photos) in Self.gallery.sorted(by: { $0.key < $1.key }) {
                let person = try await FacesTests.person(app, #"{"name":"\#(name)"}"#)
                let enrolled = try await app.upload("/api/v1/persons/\(person)/faces",
                                                    parts: try photos.enumerated().map { try FacesTests.photoPart($0.element, field: "image\($0.offset + 1)") })
                #expect(enrolled.status == .created, "\(name): \(enrolled.text)")
            }
            let dataset = try await app.call(.post, "/api/v1/training-datasets", json: #"{"name":"Household, November"}"#)
            #expect(dataset.status == .created && dataset["sample_count"] == .number(15), "\(dataset.text)")
            #expect(dataset["person_ids"]?.arrayValue?.count == 4 && dataset.string("status") == "ready")
            let datasetId = try #require(dataset.string("id"))

            let started = try await app.call(.post, "/api/v1/training-jobs", json: #"{"dataset_id":"\#(datasetId)","version_string":"sface-household-1"}"#)
            #expect(started.status == .accepted && started.string("status") == "queued", "\(started.text)")
            let trainingId = try #require(started.string("id"))
            let queueJob = try #require(started.string("queue_job_id"))
            #expect(try await app.call(.post, "/api/v1/training-jobs", json: #"{"dataset_id":"\#(UUID().uuidString)"}"#).errorCode == "dataset_not_found")

            let handler = TrainRecognitionHandler(database: app.database, ids: UUIDv7Generator(), now: { app.clock.now })
            let worker = JobWorker(settings: .init(workerId: "training-test"), handlers: [handler], database: app.database,
                                   now: { app.clock.now }, logger: TestApp.logger)
            #expect(try await worker.runNext(handler))
            let queued = try await app.call(.get, "/api/v1/jobs/\(queueJob)")
            #expect(queued.string("status") == "completed", "\(queued.text)")

            let trained = try await app.call(.get, "/api/v1/training-jobs/\(trainingId)")
            #expect(trained.string("status") == "completed", "\(trained.text)")
            let metrics = try #require(trained["metrics"]?.objectValue)
            for figure in ["accuracy", "precision", "recall", "f1_score", "false_match_rate", "threshold"] {
                let value = metrics[figure]?.numberValue ?? -1
                #expect((0...1).contains(value), "\(figure): \(value)")
            }
            // Faces dealt alternately per person: two of four (one of three) held out, so 1 + 1 + 1 + 0 pairs of one
            // person and 18 of two; the threshold keeps strangers apart on both halves.
            let heldOut = try #require(metrics["held_out"]?.objectValue)
            #expect(heldOut["genuine_pairs"] == .number(3) && heldOut["impostor_pairs"] == .number(18), "\(heldOut)")
            #expect(metrics["calibration"]?.objectValue?["genuine_pairs"] == .number(4))
            #expect(metrics["false_match_rate"] == .number(0) && metrics["precision"] == .number(1), "\(metrics)")
            #expect(metrics["persons"] == .number(4) && metrics["faces"] == .number(15))

            let versions = try await app.call(.get, "/api/v1/model-versions").items.compactMap(\.objectValue)
            #expect(versions.count == 1)
            let version = try #require(versions.first)
            let versionId = try #require(version["id"]?.stringValue)
            #expect(version["is_production"] == .bool(false) && version["version_string"] == .string("sface-household-1"))
            #expect(version["threshold"] == metrics["threshold"])

            // Admins train; only super admins put a version in production.
            _ = try await AccessControlTests().makeUser(app, username: "adele", role: "admin")
            let chief = try await AccessControlTests().makeUser(app, username: "sam", role: "super_admin")
            let adminToken = try #require(try await AccessControlTests().login(app, "adele", "correct horse battery").string("token"))
            let chiefToken = try #require(try await AccessControlTests().login(app, "sam", "correct horse battery").string("token"))
            #expect(try await app.call(.post, "/api/v1/model-versions/\(versionId)/approve", as: .bearer(adminToken)).status == .forbidden)
            let approved = try await app.call(.post, "/api/v1/model-versions/\(versionId)/approve", as: .bearer(chiefToken))
            #expect(approved.status == .ok && approved["is_production"] == .bool(true), "\(approved.text)")
            #expect(approved.string("approved_by") == chief.id.uuidString.lowercased())
            #expect(try await app.call(.post, "/api/v1/model-versions/\(versionId)/approve").errorCode == "already_in_production")
            let inUse = try await app.database.read { connection in
                try await ModelVersionRepository(connection, logger: TestApp.logger).recognitionModel(for: "sface_2021dec")
            }
            #expect(inUse.versionId?.uuidString.lowercased() == versionId && inUse.threshold == version["threshold"]?.numberValue)

            // A second version replaces it; rolling back restores the first, and rolling back again the published threshold.
            let second = try await app.call(.post, "/api/v1/training-jobs", json: #"{"dataset_id":"\#(datasetId)","max_false_match_rate":0.05}"#)
            #expect(try await worker.runNext(handler))
            let secondVersion = try #require(try await app.call(.get, "/api/v1/model-versions").items.compactMap(\.objectValue)
                .first { $0["training_job_id"]?.stringValue == second.string("id") }?["id"]?.stringValue)
            let replaced = try await app.call(.post, "/api/v1/model-versions/\(secondVersion)/approve")
            #expect(replaced["replaced_version_id"] == .string(versionId))
            let rolledBack = try await app.call(.post, "/api/v1/model-versions/rollback")
            #expect(rolledBack.status == .ok, "\(rolledBack.text)")
            #expect(rolledBack["withdrawn"]?.objectValue?["id"] == .string(secondVersion))
            #expect(rolledBack["restored"]?.objectValue?["id"] == .string(versionId))
            #expect(try await app.call(.get, "/api/v1/training-jobs/\(try #require(second.string("id")))").string("status") == "rollback")
            #expect(try await app.call(.post, "/api/v1/model-versions/\(secondVersion)/approve").errorCode == "version_withdrawn")
            let last = try await app.call(.post, "/api/v1/model-versions/rollback")
            #expect(last["restored"] == nil || last["restored"] == .null)
            #expect(try await app.call(.post, "/api/v1/model-versions/rollback").errorCode == "nothing_in_production")
            let published = try await app.database.read { connection in
                try await ModelVersionRepository(connection, logger: TestApp.logger).recognitionModel(for: "sface_2021dec")
            }
            #expect(published.versionId == nil && published.threshold == RecognitionModel.publishedThreshold(of: "sface_2021dec"))
            let audited = try await app.database.scalar("""
                SELECT count(*)::int8 FROM audit_logs WHERE action IN ('model_version_approved', 'model_version_rolled_back', 'training_started')
                """, as: Int.self)
            #expect(audited == 6)
        }
    }

    @Test("a dataset with too few people fails its training job, saying why")
    func tooFewFaces() async throws {
        try await TestApp.run { app in
            let person = try await FacesTests.person(app, #"{"name":"Ana"}"#)
            #expect(try await app.upload("/api/v1/persons/\(person)/faces", parts: [try FacesTests.photoPart("Female_40_1_1_1.jpg")]).status == .created)
            let dataset = try #require(try await app.call(.post, "/api/v1/training-datasets", json: #"{"name":"Just Ana"}"#).string("id"))
            let started = try await app.call(.post, "/api/v1/training-jobs", json: #"{"dataset_id":"\#(dataset)"}"#)
            let handler = TrainRecognitionHandler(database: app.database, ids: UUIDv7Generator(), now: { app.clock.now })
            let worker = JobWorker(settings: .init(workerId: "training-test"), handlers: [handler], database: app.database,
                                   now: { app.clock.now }, logger: TestApp.logger)
            #expect(try await worker.runNext(handler))
            let job = try await app.call(.get, "/api/v1/training-jobs/\(try #require(started.string("id")))")
            #expect(job.string("status") == "failed" && job.string("error")?.contains("at least two persons") == true, "\(job.text)")
            #expect(try await app.call(.get, "/api/v1/jobs/\(try #require(started.string("queue_job_id")))").string("status") == "failed")
            #expect(try await app.call(.get, "/api/v1/model-versions").items.isEmpty)
        }
    }
}
