import Foundation

/// Confirmed gallery faces frozen for training (seed 002 `training_datasets`).
public struct TrainingDataset: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case building, ready, training, archived
    }

    public var id: UUID
    public var name: String
    public var description: String?
    public var personIds: [UUID]
    public var faceCount: Int
    public var embeddingModel: String
    public var sampleCount: Int
    public var version: String
    public var status: Status
    public var createdBy: UUID?
    public var createdAt: Date

    public init(id: UUID, name: String, description: String?, personIds: [UUID], faceCount: Int, embeddingModel: String, sampleCount: Int,
                version: String, status: Status, createdBy: UUID?, createdAt: Date) {
        self.id = id
        self.name = name
        self.description = description
        self.personIds = personIds
        self.faceCount = faceCount
        self.embeddingModel = embeddingModel
        self.sampleCount = sampleCount
        self.version = version
        self.status = status
        self.createdBy = createdBy
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, version, status
        case personIds = "person_ids", faceCount = "face_count", embeddingModel = "embedding_model", sampleCount = "sample_count",
             createdBy = "created_by", createdAt = "created_at"
    }
}

public struct TrainingDatasetInput: Codable, Sendable, Equatable, StrictInput {
    public var name: String
    public var description: String?
    /// The persons whose gallery faces it takes; every person's when absent.
    public var personIds: [UUID]?

    public init(name: String, description: String? = nil, personIds: [UUID]? = nil) {
        self.name = name
        self.description = description
        self.personIds = personIds
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description
        case personIds = "person_ids"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 200)
        report.check((description?.storedLength ?? 0) <= 2000, "description", "must be at most 2000 characters")
        if let personIds { report.check(Set(personIds).count == personIds.count, "person_ids", "must not name the same person twice") }
        return report
    }
}

/// A calibration run on a dataset (seed 002 `training_jobs`).
public struct TrainingJob: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case queued, running, completed, failed, rollback
    }

    public var id: UUID
    public var datasetId: UUID
    public var modelVersionFrom: String?
    public var modelVersionTo: String
    public var status: Status
    /// The queue's job running it, for its progress.
    public var queueJobId: UUID?
    public var startedAt: Date?
    public var completedAt: Date?
    public var metrics: JSONValue
    public var error: String?
    public var approvedBy: UUID?
    public var approvedAt: Date?
    public var createdBy: UUID?
    public var createdAt: Date

    public init(id: UUID, datasetId: UUID, modelVersionFrom: String?, modelVersionTo: String, status: Status, queueJobId: UUID?,
                startedAt: Date?, completedAt: Date?, metrics: JSONValue, error: String?, approvedBy: UUID?, approvedAt: Date?,
                createdBy: UUID?, createdAt: Date) {
        self.id = id
        self.datasetId = datasetId
        self.modelVersionFrom = modelVersionFrom
        self.modelVersionTo = modelVersionTo
        self.status = status
        self.queueJobId = queueJobId
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.metrics = metrics
        self.error = error
        self.approvedBy = approvedBy
        self.approvedAt = approvedAt
        self.createdBy = createdBy
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, status, metrics, error
        case datasetId = "dataset_id", modelVersionFrom = "model_version_from", modelVersionTo = "model_version_to",
             queueJobId = "queue_job_id", startedAt = "started_at", completedAt = "completed_at", approvedBy = "approved_by",
             approvedAt = "approved_at", createdBy = "created_by", createdAt = "created_at"
    }
}

public struct TrainingJobInput: Codable, Sendable, Equatable, StrictInput {
    public var datasetId: UUID
    /// The version it produces; `<embedding model>-<date>-<n>` when absent.
    public var versionString: String?
    /// The largest share of strangers the calibrated threshold may take for someone (default 1 %).
    public var maxFalseMatchRate: Double?

    public init(datasetId: UUID, versionString: String? = nil, maxFalseMatchRate: Double? = nil) {
        self.datasetId = datasetId
        self.versionString = versionString
        self.maxFalseMatchRate = maxFalseMatchRate
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case datasetId = "dataset_id", versionString = "version_string", maxFalseMatchRate = "max_false_match_rate"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        if let versionString {
            report.check(!versionString.isEmpty && versionString.storedLength <= 40
                         && versionString.allSatisfy { $0.isLetter || $0.isNumber || ".-_".contains($0) },
                         "version_string", "must be 1 to 40 letters, digits, dots, dashes or underscores")
        }
        if let maxFalseMatchRate {
            report.check((0.0001...0.5).contains(maxFalseMatchRate), "max_false_match_rate", "must be from 0.0001 to 0.5")
        }
        return report
    }
}

/// A recognition model in the registry (seed 002 `model_versions`): an embedding model with its
/// calibrated threshold and evaluation. One is in production at a time.
public struct ModelVersion: Codable, Sendable, Equatable {
    public var id: UUID
    public var versionString: String
    public var trainingJobId: UUID?
    public var embeddingModel: String
    public var threshold: Double
    public var metrics: JSONValue
    public var isProduction: Bool
    public var isRollbackAvailable: Bool
    public var approvedBy: UUID?
    public var approvedAt: Date?
    public var replacedVersionId: UUID?
    public var deployedAt: Date?
    public var createdAt: Date

    public init(id: UUID, versionString: String, trainingJobId: UUID?, embeddingModel: String, threshold: Double, metrics: JSONValue,
                isProduction: Bool, isRollbackAvailable: Bool, approvedBy: UUID?, approvedAt: Date?, replacedVersionId: UUID?,
                deployedAt: Date?, createdAt: Date) {
        self.id = id
        self.versionString = versionString
        self.trainingJobId = trainingJobId
        self.embeddingModel = embeddingModel
        self.threshold = threshold
        self.metrics = metrics
        self.isProduction = isProduction
        self.isRollbackAvailable = isRollbackAvailable
        self.approvedBy = approvedBy
        self.approvedAt = approvedAt
        self.replacedVersionId = replacedVersionId
        self.deployedAt = deployedAt
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, threshold, metrics
        case versionString = "version_string", trainingJobId = "training_job_id", embeddingModel = "embedding_model",
             isProduction = "is_production", isRollbackAvailable = "is_rollback_available", approvedBy = "approved_by",
             approvedAt = "approved_at", replacedVersionId = "replaced_version_id", deployedAt = "deployed_at", createdAt = "created_at"
    }
}

/// Calibrating a recognition threshold on confirmed faces: each person's faces are dealt
/// alternately into a calibration half and a held-out half; the threshold is chosen on the pairs
/// of the first and judged on the pairs of the second, which it never saw.
public enum RecognitionTraining {
    public struct Sample: Sendable {
        public var faceId: UUID
        public var personId: UUID
        public var embedding: [Float]

        public init(faceId: UUID, personId: UUID, embedding: [Float]) {
            self.faceId = faceId
            self.personId = personId
            self.embedding = embedding
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var calibration: VerificationMetrics
        public var heldOut: VerificationMetrics
        public var persons: Int
        public var faces: Int
    }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case tooFewFaces(persons: Int)

        public var description: String {
            switch self {
            case .tooFewFaces(let persons):
                "calibration needs at least two persons with two or more confirmed faces each; the dataset has \(persons)"
            }
        }
    }

    /// At most this many faces per half: pairs grow with the square.
    public static let maximumFacesPerHalf = 1500

    public static func run(_ samples: [Sample], maxFalseMatchRate: Double) -> Result<Outcome, Problem> {
        let byPerson = Dictionary(grouping: samples, by: \.personId).filter { $0.value.count >= 2 }
        guard byPerson.count >= 2 else { return .failure(.tooFewFaces(persons: byPerson.count)) }
        var calibration: [Sample] = [], heldOut: [Sample] = []
        for person in byPerson.keys.sorted(by: { $0.uuidString < $1.uuidString }) {
            for (index, sample) in byPerson[person]!.sorted(by: { $0.faceId.uuidString < $1.faceId.uuidString }).enumerated() {
                if index % 2 == 0 { calibration.append(sample) } else { heldOut.append(sample) }
            }
        }
        let (calibrationGenuine, calibrationImpostor) = pairs(Array(calibration.prefix(maximumFacesPerHalf)))
        let (heldGenuine, heldImpostor) = pairs(Array(heldOut.prefix(maximumFacesPerHalf)))
        guard let chosen = VerificationMetrics.calibrate(genuine: calibrationGenuine, impostor: calibrationImpostor,
                                                         maxFalseMatchRate: maxFalseMatchRate) else {
            return .failure(.tooFewFaces(persons: byPerson.count))
        }
        let judged = VerificationMetrics.evaluate(threshold: chosen.threshold, genuine: heldGenuine, impostor: heldImpostor)
        return .success(Outcome(calibration: chosen, heldOut: judged, persons: byPerson.count, faces: calibration.count + heldOut.count))
    }

    /// Cosine distances of every pair of the same person and of different people.
    static func pairs(_ samples: [Sample]) -> (genuine: [Double], impostor: [Double]) {
        var genuine: [Double] = [], impostor: [Double] = []
        for i in samples.indices {
            for j in samples.indices where j > i {
                let distance = 1 - FaceEmbedding.cosine(samples[i].embedding, samples[j].embedding)
                if samples[i].personId == samples[j].personId { genuine.append(distance) } else { impostor.append(distance) }
            }
        }
        return (genuine, impostor)
    }
}
