import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of recognition models (seed 002 §11): training datasets frozen from confirmed gallery
/// faces, training jobs calibrating a threshold on them, and the model versions an admin approves
/// into production and rolls back.
public struct ModelVersionRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// The production model of `embeddingModel`, or its published threshold when none is approved yet.
    /// Read through `fn_production_model`, so a caller of any site recognizes with it, though only
    /// those who see every site read the versions themselves.
    public func recognitionModel(for embeddingModel: String) async throws -> RecognitionModel {
        let rows = try await connection.query("""
            SELECT id, version_string, threshold FROM fn_production_model(\(embeddingModel))
            """, logger: logger)
        for try await (id, name, threshold) in rows.decode((UUID, String, Double).self) {
            return RecognitionModel(embeddingModel: embeddingModel, threshold: Self.rounded(threshold), versionId: id, versionName: name)
        }
        return RecognitionModel(embeddingModel: embeddingModel, threshold: RecognitionModel.publishedThreshold(of: embeddingModel))
    }

    /// A threshold as calibrated (4 decimals), not as `real` stores it (0.5525 comes back 0.55250001).
    static func rounded(_ threshold: Double) -> Double { (threshold * 10_000).rounded() / 10_000 }

    // MARK: Datasets

    static let datasetColumns = """
        id, name, description, person_ids::text, cardinality(face_ids)::int8, embedding_model, sample_count::int8, version, status,
        created_by, created_at
        """

    func decodeDatasets(_ rows: PostgresRowSequence) async throws -> [TrainingDataset] {
        var found: [TrainingDataset] = []
        for try await (id, name, description, persons, faces, model, samples, version, status, createdBy, created)
            in rows.decode((UUID, String, String?, String, Int64, String, Int64, String, String, UUID?, Date).self) {
            found.append(TrainingDataset(id: id, name: name, description: description, personIds: try [UUID](jsonText: persons),
                                         faceCount: Int(faces), embeddingModel: model, sampleCount: Int(samples), version: version,
                                         status: TrainingDataset.Status(rawValue: status) ?? .building, createdBy: createdBy,
                                         createdAt: created))
        }
        return found
    }

    /// Freezes the gallery faces of `personIds` (every person with faces when empty) into a dataset.
    public func createDataset(id: UUID, _ input: TrainingDatasetInput, embeddingModel: String, version: String,
                              createdBy: UUID?) async throws -> TrainingDataset {
        let persons = input.personIds ?? []
        let rows = try await connection.query("""
            WITH chosen AS (
                SELECT id, person_id FROM face_embeddings
                WHERE model_version = \(embeddingModel) AND person_id IS NOT NULL AND source = 'enrolment'
                  AND (cardinality(\(persons)::uuid[]) = 0 OR person_id = ANY(\(persons)))
            )
            INSERT INTO training_datasets (id, name, description, person_ids, face_ids, embedding_model, sample_count, version, status,
                                           created_by)
            SELECT \(id), \(input.name), \(input.description),
                   COALESCE((SELECT jsonb_agg(DISTINCT person_id) FROM chosen), '[]'::jsonb),
                   COALESCE((SELECT array_agg(id ORDER BY id) FROM chosen), '{}'), \(embeddingModel),
                   (SELECT count(*) FROM chosen), \(version), 'ready', \(createdBy)
            RETURNING \(unescaped: Self.datasetColumns)
            """, logger: logger)
        return try await decodeDatasets(rows)[0]
    }

    public func datasets(page: PageRequest) async throws -> Page<TrainingDataset> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.datasetColumns) FROM training_datasets
            WHERE (\(page.after)::uuid IS NULL OR id > \(page.after)) ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decodeDatasets(rows), limit: page.limit, id: \.id)
    }

    public func dataset(id: UUID) async throws -> TrainingDataset? {
        try await decodeDatasets(try await connection.query(
            "SELECT \(unescaped: Self.datasetColumns) FROM training_datasets WHERE id = \(id)", logger: logger)).first
    }

    /// The dataset's faces that still exist, with their person and vector.
    public func samples(of datasetId: UUID) async throws -> [(faceId: UUID, personId: UUID, embedding: [Float])] {
        let rows = try await connection.query("""
            SELECT f.id, f.person_id, f.embedding::text FROM training_datasets d
            JOIN face_embeddings f ON f.id = ANY(d.face_ids) AND f.person_id IS NOT NULL
            WHERE d.id = \(datasetId) ORDER BY f.person_id, f.id
            """, logger: logger)
        var found: [(faceId: UUID, personId: UUID, embedding: [Float])] = []
        for try await (id, person, text) in rows.decode((UUID, UUID, String).self) { found.append((id, person, FaceRepository.parse(text))) }
        return found
    }

    public func setDatasetStatus(_ id: UUID, to status: TrainingDataset.Status) async throws {
        try await connection.query("UPDATE training_datasets SET status = \(status.rawValue) WHERE id = \(id)", logger: logger)
    }

    // MARK: Training jobs

    static let jobColumns = """
        id, dataset_id, model_version_from, model_version_to, status, queue_job_id, started_at, completed_at, metrics::text, error,
        approved_by, approved_at, created_by, created_at
        """

    func decodeJobs(_ rows: PostgresRowSequence) async throws -> [TrainingJob] {
        var found: [TrainingJob] = []
        for try await (id, dataset, from, to, status, queueJob, started, completed, metrics, error, approvedBy, approvedAt, createdBy, created)
            in rows.decode((UUID, UUID, String?, String, String, UUID?, Date?, Date?, String, String?, UUID?, Date?, UUID?, Date).self) {
            found.append(TrainingJob(id: id, datasetId: dataset, modelVersionFrom: from, modelVersionTo: to,
                                     status: TrainingJob.Status(rawValue: status) ?? .queued, queueJobId: queueJob, startedAt: started,
                                     completedAt: completed, metrics: try JSONValue(jsonText: metrics), error: error,
                                     approvedBy: approvedBy, approvedAt: approvedAt, createdBy: createdBy, createdAt: created))
        }
        return found
    }

    public func createJob(id: UUID, datasetId: UUID, from: String?, to: String, queueJobId: UUID, createdBy: UUID?) async throws -> TrainingJob {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO training_jobs (id, dataset_id, model_version_from, model_version_to, queue_job_id, created_by)
                VALUES (\(id), \(datasetId), \(from), \(to), \(queueJobId), \(createdBy))
                RETURNING \(unescaped: Self.jobColumns)
                """, logger: logger)
            return try await decodeJobs(rows)[0]
        }
    }

    public func job(id: UUID, forUpdate: Bool = false) async throws -> TrainingJob? {
        try await decodeJobs(try await connection.query(
            "SELECT \(unescaped: Self.jobColumns) FROM training_jobs WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)).first
    }

    public func jobs(page: PageRequest) async throws -> Page<TrainingJob> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.jobColumns) FROM training_jobs
            WHERE (\(page.after)::uuid IS NULL OR id > \(page.after)) ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decodeJobs(rows), limit: page.limit, id: \.id)
    }

    public func markJobRunning(_ id: UUID, at time: Date) async throws {
        try await connection.query("""
            UPDATE training_jobs SET status = 'running', started_at = COALESCE(started_at, \(time)), error = NULL WHERE id = \(id)
            """, logger: logger)
    }

    public func finishJob(_ id: UUID, metrics: JSONValue, at time: Date) async throws {
        try await connection.query("""
            UPDATE training_jobs SET status = 'completed', completed_at = \(time), metrics = \(try metrics.jsonText())::jsonb WHERE id = \(id)
            """, logger: logger)
    }

    public func failJob(_ id: UUID, error: String, at time: Date) async throws {
        try await connection.query("""
            UPDATE training_jobs SET status = 'failed', completed_at = \(time), error = \(error) WHERE id = \(id)
            """, logger: logger)
    }

    // MARK: Model versions

    static let versionColumns = """
        id, version_string, training_job_id, embedding_model, threshold::float8, metrics::text, is_production, is_rollback_available,
        approved_by, approved_at, replaced_version_id, deployed_at, created_at
        """

    func decodeVersions(_ rows: PostgresRowSequence) async throws -> [ModelVersion] {
        var found: [ModelVersion] = []
        for try await (id, name, job, model, threshold, metrics, production, rollback, approvedBy, approvedAt, replaced, deployed, created)
            in rows.decode((UUID, String, UUID?, String, Double, String, Bool, Bool, UUID?, Date?, UUID?, Date?, Date).self) {
            found.append(ModelVersion(id: id, versionString: name, trainingJobId: job, embeddingModel: model,
                                      threshold: Self.rounded(threshold), metrics: try JSONValue(jsonText: metrics),
                                      isProduction: production, isRollbackAvailable: rollback, approvedBy: approvedBy, approvedAt: approvedAt,
                                      replacedVersionId: replaced, deployedAt: deployed, createdAt: created))
        }
        return found
    }

    public func createVersion(id: UUID, name: String, trainingJobId: UUID?, embeddingModel: String, threshold: Double,
                              metrics: JSONValue) async throws -> ModelVersion {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO model_versions (id, version_string, training_job_id, embedding_model, threshold, metrics)
                VALUES (\(id), \(name), \(trainingJobId), \(embeddingModel), \(Float(threshold)), \(try metrics.jsonText())::jsonb)
                ON CONFLICT (version_string) DO UPDATE SET threshold = EXCLUDED.threshold, metrics = EXCLUDED.metrics
                    WHERE model_versions.training_job_id IS NOT DISTINCT FROM EXCLUDED.training_job_id
                RETURNING \(unescaped: Self.versionColumns)
                """, logger: logger)
            // No row: the name is another training's version, which this one must not overwrite.
            guard let version = try await decodeVersions(rows).first else {
                throw StoreError.duplicate(constraint: "uq_model_versions_string")
            }
            return version
        }
    }

    /// Whether a model version or a training job (which will make one) already has this name.
    public func isVersionNameTaken(_ name: String) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT EXISTS (SELECT 1 FROM model_versions WHERE version_string = \(name))
                OR EXISTS (SELECT 1 FROM training_jobs WHERE model_version_to = \(name))
            """, logger: logger)
        for try await taken in rows.decode(Bool.self) { return taken }
        return false
    }

    public func versions(page: PageRequest) async throws -> Page<ModelVersion> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.versionColumns) FROM model_versions
            WHERE (\(page.after)::uuid IS NULL OR id > \(page.after)) ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decodeVersions(rows), limit: page.limit, id: \.id)
    }

    public func version(id: UUID, forUpdate: Bool = false) async throws -> ModelVersion? {
        try await decodeVersions(try await connection.query(
            "SELECT \(unescaped: Self.versionColumns) FROM model_versions WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)).first
    }

    /// Serialises changes of the production version (approve, rollback).
    public func lockProduction() async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('model_versions:production', 0))", logger: logger)
    }

    public func production() async throws -> ModelVersion? {
        try await decodeVersions(try await connection.query(
            "SELECT \(unescaped: Self.versionColumns) FROM model_versions WHERE is_production", logger: logger)).first
    }

    /// Puts an approved version into production in place of the current one, which it remembers for rollback.
    public func promote(_ id: UUID, approvedBy: UUID?, at time: Date) async throws -> ModelVersion? {
        let current = try await production()
        try await connection.query("UPDATE model_versions SET is_production = FALSE WHERE is_production", logger: logger)
        let rows = try await connection.query("""
            UPDATE model_versions SET is_production = TRUE, approved_by = COALESCE(approved_by, \(approvedBy)),
                approved_at = COALESCE(approved_at, \(time)), deployed_at = \(time),
                replaced_version_id = CASE WHEN \(current?.id)::uuid IS DISTINCT FROM id THEN \(current?.id)::uuid ELSE replaced_version_id END
            WHERE id = \(id)
            RETURNING \(unescaped: Self.versionColumns)
            """, logger: logger)
        if let training = try await decodeVersions(rows).first {
            if let job = training.trainingJobId {
                try await connection.query("""
                    UPDATE training_jobs SET approved_by = COALESCE(approved_by, \(approvedBy)), approved_at = COALESCE(approved_at, \(time))
                    WHERE id = \(job)
                    """, logger: logger)
            }
            return training
        }
        return nil
    }

    /// Takes the production version out and restores the one it replaced (none: the embedding
    /// model's published threshold). The withdrawn version is no longer offered for rollback, and
    /// its training job is marked rolled back.
    public func rollback(at time: Date) async throws -> (withdrawn: ModelVersion, restored: ModelVersion?)? {
        guard let current = try await production() else { return nil }
        try await connection.query("""
            UPDATE model_versions SET is_production = FALSE, is_rollback_available = FALSE WHERE id = \(current.id)
            """, logger: logger)
        if let job = current.trainingJobId {
            try await connection.query("UPDATE training_jobs SET status = 'rollback' WHERE id = \(job)", logger: logger)
        }
        var restored: ModelVersion?
        if let previous = current.replacedVersionId {
            let rows = try await connection.query("""
                UPDATE model_versions SET is_production = TRUE, deployed_at = \(time) WHERE id = \(previous) AND approved_at IS NOT NULL
                RETURNING \(unescaped: Self.versionColumns)
                """, logger: logger)
            restored = try await decodeVersions(rows).first
        }
        guard let withdrawn = try await version(id: current.id) else { return nil }
        return (withdrawn, restored)
    }
}
