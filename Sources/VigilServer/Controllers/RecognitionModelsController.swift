import Foundation
import Hummingbird
import VigilCore
import VigilStore

/// `/api/v1/training-datasets`, `/training-jobs`, `/model-versions`: recognition models. A
/// dataset freezes confirmed gallery faces; a training job calibrates a threshold on it (a job on
/// the queue, with progress) and makes a model version; an admin approves a version into
/// production, and rollback restores the one it replaced.
struct RecognitionModelsController {
    let database: Database
    let ids: UUIDv7Generator
    let audit: AuditTrail
    let faces: FaceEngine?
    let now: @Sendable () -> Date

    func addRoutes(to routes: SecuredRoutes) {
        routes.get("/training-datasets", .permission(.trainingRead), use: datasets)
        routes.post("/training-datasets", .permission(.trainingTrigger), use: createDataset)
        routes.get("/training-jobs", .permission(.trainingRead), use: trainingJobs)
        routes.post("/training-jobs", .permission(.trainingTrigger), use: startTraining)
        routes.get("/training-jobs/{id}", .permission(.trainingRead), use: trainingJob)
        routes.get("/model-versions", .permission(.trainingRead), use: versions)
        routes.get("/model-versions/{id}", .permission(.trainingRead), use: version)
        routes.post("/model-versions/{id}/approve", .permission(.trainingApprove), use: approve)
        routes.post("/model-versions/rollback", .permission(.trainingApprove), use: rollback)
    }

    private func engine() throws -> FaceEngine {
        guard let faces else { throw PersonsController.recognitionOff }
        return faces
    }

    @Sendable func datasets(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<TrainingDataset>> {
        let page = try QueryReader(request).page()
        return JSONResponse(ListBody(try await database.read(for: context) {
            try await ModelVersionRepository($0, logger: context.logger).datasets(page: page)
        }))
    }

    @Sendable func createDataset(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<TrainingDataset> {
        let input = try await request.decodeInput(TrainingDatasetInput.self, context: context)
        let model = try engine().model.version
        let id = ids.next()
        let version = Self.stamp(now())
        let dataset = try await database.transaction(for: context) { connection in
            let dataset = try await ModelVersionRepository(connection, logger: context.logger)
                .createDataset(id: id, input, embeddingModel: model, version: version, createdBy: context.userId)
            try await audit.record(AuditTrail.change("training_dataset_created", "training_dataset", id.uuidString, details: .object([
                "faces": .number(Double(dataset.faceCount)), "persons": .number(Double(dataset.personIds.count)),
            ])), context: context, on: connection)
            return dataset
        }
        return JSONResponse(dataset, status: .created)
    }

    @Sendable func trainingJobs(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<TrainingJob>> {
        let page = try QueryReader(request).page()
        return JSONResponse(ListBody(try await database.read(for: context) {
            try await ModelVersionRepository($0, logger: context.logger).jobs(page: page)
        }))
    }

    @Sendable func trainingJob(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<TrainingJob> {
        let id = try context.uuidParameter("id")
        guard let job = try await database.read(for: context, { try await ModelVersionRepository($0, logger: context.logger).job(id: id) }) else {
            throw APIError.notFound("training_job", id.uuidString.lowercased())
        }
        return JSONResponse(job)
    }

    /// Queues the calibration of a dataset; its progress is the queue job's (`GET /jobs/{queue_job_id}`).
    @Sendable func startTraining(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<TrainingJob> {
        let input = try await request.decodeInput(TrainingJobInput.self, context: context)
        let model = try engine().model.version
        let time = now()
        let id = ids.next(), queueJobId = ids.next()
        let job = try await database.transaction(for: context) { connection in
            let models = ModelVersionRepository(connection, logger: context.logger)
            guard let dataset = try await models.dataset(id: input.datasetId) else {
                throw APIError(.unprocessableContent, code: "dataset_not_found", message: "dataset_id names no training dataset.")
            }
            guard dataset.embeddingModel == model else {
                throw APIError(.conflict, code: "model_mismatch",
                               message: "The dataset holds \(dataset.embeddingModel) faces; this server recognizes with \(model).")
            }
            let current = try await models.recognitionModel(for: model)
            // The default name fits version_string's 40 characters whatever the model's name.
            let name = input.versionString ?? "\(model.prefix(22))-\(Self.stamp(time))-\(id.uuidString.prefix(4).lowercased())"
            guard try await !models.isVersionNameTaken(name) else {
                throw APIError(.conflict, code: "model_version_taken", message: "A model version named '\(name)' exists or is being trained.")
            }
            try await JobRepository(connection, logger: context.logger).enqueue(
                id: queueJobId, type: .trainRecognition, queue: "training", priority: 3,
                payload: .object(["training_job_id": .string(id.uuidString.lowercased()),
                                  "max_false_match_rate": .number(input.maxFalseMatchRate ?? 0.01)]),
                maxAttempts: 3, at: time)
            let job = try await models.createJob(id: id, datasetId: dataset.id, from: current.versionName ?? model, to: name,
                                                 queueJobId: queueJobId, createdBy: context.userId)
            try await audit.record(AuditTrail.change("training_started", "training_job", id.uuidString, details: .object([
                "dataset_id": .string(dataset.id.uuidString.lowercased()), "version": .string(name),
            ])), context: context, on: connection)
            return job
        }
        return JSONResponse(job, status: .accepted)
    }

    @Sendable func versions(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ListBody<ModelVersion>> {
        let page = try QueryReader(request).page()
        return JSONResponse(ListBody(try await database.read(for: context) {
            try await ModelVersionRepository($0, logger: context.logger).versions(page: page)
        }))
    }

    @Sendable func version(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ModelVersion> {
        let id = try context.uuidParameter("id")
        guard let version = try await database.read(for: context, { try await ModelVersionRepository($0, logger: context.logger).version(id: id) }) else {
            throw APIError.notFound("model_version", id.uuidString.lowercased())
        }
        return JSONResponse(version)
    }

    /// Approves a version and puts it in production; the one it replaces stays for rollback.
    @Sendable func approve(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<ModelVersion> {
        let id = try context.uuidParameter("id")
        let model = try engine().model.version
        let time = now()
        let version = try await database.transaction(for: context) { connection in
            let models = ModelVersionRepository(connection, logger: context.logger)
            try await models.lockProduction()
            guard let version = try await models.version(id: id, forUpdate: true) else {
                throw APIError.notFound("model_version", id.uuidString.lowercased())
            }
            guard version.embeddingModel == model else {
                throw APIError(.conflict, code: "model_mismatch",
                               message: "\(version.versionString) is for \(version.embeddingModel); this server recognizes with \(model).")
            }
            guard !version.isProduction else {
                throw APIError(.conflict, code: "already_in_production", message: "\(version.versionString) is already in production.")
            }
            guard version.isRollbackAvailable else {
                throw APIError(.conflict, code: "version_withdrawn", message: "\(version.versionString) was rolled back; train a new version.")
            }
            guard let promoted = try await models.promote(id, approvedBy: context.userId, at: time) else {
                throw APIError.notFound("model_version", id.uuidString.lowercased())
            }
            try await audit.record(AuditTrail.change("model_version_approved", "model_version", id.uuidString, details: .object([
                "version": .string(promoted.versionString), "threshold": .number(promoted.threshold),
                "replaced_version_id": promoted.replacedVersionId.map { .string($0.uuidString.lowercased()) } ?? .null,
            ])), context: context, on: connection)
            return promoted
        }
        return JSONResponse(version)
    }

    struct Rollback: Encodable, Sendable {
        var withdrawn: ModelVersion
        /// The version back in production; none means the embedding model's published threshold.
        var restored: ModelVersion?
    }

    @Sendable func rollback(_ request: Request, context: VigilRequestContext) async throws -> JSONResponse<Rollback> {
        let time = now()
        let outcome = try await database.transaction(for: context) { connection in
            let models = ModelVersionRepository(connection, logger: context.logger)
            try await models.lockProduction()
            guard let (withdrawn, restored) = try await models.rollback(at: time) else {
                throw APIError(.conflict, code: "nothing_in_production", message: "No model version is in production; there is nothing to roll back.")
            }
            try await audit.record(AuditTrail.change("model_version_rolled_back", "model_version", withdrawn.id.uuidString, details: .object([
                "version": .string(withdrawn.versionString),
                "restored_version_id": restored.map { .string($0.id.uuidString.lowercased()) } ?? .null,
            ])), context: context, on: connection)
            return Rollback(withdrawn: withdrawn, restored: restored)
        }
        return JSONResponse(outcome)
    }

    /// `20261122`: names datasets and versions by the day they were made.
    static func stamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.omitted))
    }
}
