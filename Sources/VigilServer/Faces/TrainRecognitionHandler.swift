import Foundation
import Logging
import NIOPosix
import VigilCore
import VigilStore

extension JobRepository.JobType {
    /// Calibrating a recognition threshold on a training dataset, producing a model version.
    static let trainRecognition = JobRepository.JobType(rawValue: "train_recognition")
}

/// Runs `train_recognition` jobs (seed 002 §11 made real for Vigil): the dataset's confirmed faces
/// are split per person into a calibration half and a held-out half; the threshold that recognizes
/// the most people while mistaking at most the allowed share of strangers is chosen on the first
/// and judged on the second (accuracy, precision, recall, F1, false-match rate), and becomes a
/// model version waiting for an admin's approval.
struct TrainRecognitionHandler: JobHandler {
    let type = JobRepository.JobType.trainRecognition.rawValue
    let database: Database
    let ids: UUIDv7Generator
    let now: @Sendable () -> Date

    struct Untrainable: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        let payload = job.payload.objectValue ?? [:]
        guard let trainingId = payload["training_job_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw Untrainable(description: "the job names no training job")
        }
        let maxFalseMatchRate = payload["max_false_match_rate"]?.numberValue ?? 0.01
        let logger = context.logger
        let started = ContinuousClock.now
        context.report(percent: 5, step: "reading the dataset")
        let (training, samples) = try await database.transaction { connection in
            let models = ModelVersionRepository(connection, logger: logger)
            guard let training = try await models.job(id: trainingId, forUpdate: true) else {
                throw Untrainable(description: "training job \(trainingId) no longer exists")
            }
            try await models.markJobRunning(trainingId, at: self.now())
            try await models.setDatasetStatus(training.datasetId, to: .training)
            return (training, try await models.samples(of: training.datasetId))
        }
        context.report(percent: 30, step: "calibrating on \(samples.count) faces")
        let dealt = samples.map { RecognitionTraining.Sample(faceId: $0.faceId, personId: $0.personId, embedding: $0.embedding) }
        // Every pair of up to 1,500 faces per half: seconds of arithmetic, kept off the threads that serve requests.
        let outcome = try await NIOThreadPool.singleton.runIfActive {
            RecognitionTraining.run(dealt, maxFalseMatchRate: maxFalseMatchRate)
        }
        context.report(percent: 80, step: "recording the model version")
        let result: JSONValue = try await database.transaction { connection in
            let models = ModelVersionRepository(connection, logger: logger)
            try await models.setDatasetStatus(training.datasetId, to: .ready)
            switch outcome {
            case .failure(let problem):
                try await models.failJob(trainingId, error: problem.description, at: self.now())
                return .object(["failed": .string(problem.description)])
            case .success(let result):
                let seconds = ((ContinuousClock.now - started).milliseconds / 10).rounded() / 100
                let metrics = Self.metrics(result, maxFalseMatchRate: maxFalseMatchRate, seconds: seconds)
                let embeddingModel = try await models.dataset(id: training.datasetId)?.embeddingModel ?? "sface_2021dec"
                let version = try await models.createVersion(id: ids.next(), name: training.modelVersionTo, trainingJobId: trainingId,
                                                             embeddingModel: embeddingModel, threshold: result.calibration.threshold,
                                                             metrics: metrics)
                try await models.finishJob(trainingId, metrics: metrics, at: self.now())
                return .object(["model_version_id": .string(version.id.uuidString.lowercased()),
                                "threshold": .number(result.calibration.threshold)])
            }
        }
        // The training job says why it failed; the queue's job fails too, for good: more attempts would not help.
        if case .failure(let problem) = outcome { throw Untrainable(description: problem.description) }
        return result
    }

    /// The held-out figures at the top (seed 002's format), with the calibration's beside them.
    static func metrics(_ outcome: RecognitionTraining.Outcome, maxFalseMatchRate: Double, seconds: Double) -> JSONValue {
        func figures(_ metrics: VerificationMetrics) -> JSONValue {
            .object(["threshold": .number(metrics.threshold), "accuracy": .number(metrics.accuracy), "precision": .number(metrics.precision),
                     "recall": .number(metrics.recall), "f1_score": .number(metrics.f1Score), "false_match_rate": .number(metrics.falseMatchRate),
                     "genuine_pairs": .number(Double(metrics.genuinePairs)), "impostor_pairs": .number(Double(metrics.impostorPairs))])
        }
        let heldOut = outcome.heldOut
        return .object([
            "threshold": .number(outcome.calibration.threshold),
            "accuracy": .number(heldOut.accuracy), "precision": .number(heldOut.precision), "recall": .number(heldOut.recall),
            "f1_score": .number(heldOut.f1Score), "false_match_rate": .number(heldOut.falseMatchRate),
            "held_out": figures(heldOut), "calibration": figures(outcome.calibration),
            "max_false_match_rate": .number(maxFalseMatchRate), "persons": .number(Double(outcome.persons)),
            "faces": .number(Double(outcome.faces)), "training_time_seconds": .number(seconds),
        ])
    }
}
