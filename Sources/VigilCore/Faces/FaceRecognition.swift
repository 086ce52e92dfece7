import Foundation

/// Where a camera looks for faces (`config.faces`).
public struct FaceSettings: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// No face work on this camera's frames.
        case off
        /// In the upper part of each person the detector found (the default: most cameras see whole people).
        case person
        /// In the whole frame, for close-up cameras (a doorbell) whose people fill the picture.
        case frame
    }

    public var mode: Mode = .person
    /// Faces less usable than this (tiny, blurred, turned away) are not matched or clustered.
    public var minimumQuality = 0.15
    /// The share of a person's box, from its top, searched for a face.
    public var upperBody = 0.5

    public init() {}

    public func applying(cameraConfig config: JSONValue, report: inout ValidationReport) -> FaceSettings {
        var settings = self
        guard let value = config.objectValue?["faces"], value != .null,
              var reader = JSONObjectReader(value, field: "config.faces", report: &report) else { return settings }
        if let mode: Mode = reader.choice("mode", report: &report) { settings.mode = mode }
        if let quality = reader.number("min_quality", in: 0...1, report: &report) { settings.minimumQuality = quality }
        if let share = reader.number("upper_body", in: 0.2...1, report: &report) { settings.upperBody = share }
        reader.reportUnknown(&report)
        return settings
    }

    /// The part of a person's box searched for their face: the top `upperBody` of it, a little wider
    /// (a face turned aside reaches the box's edge).
    public func faceRegion(ofPerson box: PixelBox, frameWidth: Double, frameHeight: Double) -> PixelBox {
        let margin = box.width * 0.1
        return PixelBox(x1: box.x1 - margin, y1: box.y1 - box.height * 0.05, x2: box.x2 + margin, y2: box.y1 + box.height * upperBody)
            .clamped(width: frameWidth, height: frameHeight)
    }
}

/// A recognition model: an embedding model with the cosine distance under which two of its faces
/// are the same person.
public struct RecognitionModel: Sendable, Equatable, Codable {
    /// The embeddings' `model_version`, e.g. `sface_2021dec`.
    public var embeddingModel: String
    /// Cosine distance (1 - similarity) at or below which a face matches a gallery face.
    public var threshold: Double
    /// The model-version row this comes from; nil for the embedding model's published default.
    public var versionId: UUID?
    public var versionName: String?

    public init(embeddingModel: String, threshold: Double, versionId: UUID? = nil, versionName: String? = nil) {
        self.embeddingModel = embeddingModel
        self.threshold = threshold
        self.versionId = versionId
        self.versionName = versionName
    }

    /// The distance each known embedding model's authors calibrated: SFace's cosine similarity
    /// threshold is 0.363 (OpenCV, on LFW), a distance of 0.637.
    public static func publishedThreshold(of embeddingModel: String) -> Double {
        switch embeddingModel {
        case "sface_2021dec": 0.637
        default: 0.6
        }
    }
}

/// A gallery face near the face being recognized.
public struct GalleryCandidate: Sendable, Equatable {
    public var faceId: UUID
    public var personId: UUID
    public var distance: Double

    public init(faceId: UUID, personId: UUID, distance: Double) {
        self.faceId = faceId
        self.personId = personId
        self.distance = distance
    }
}

/// Who a face is: its nearest gallery face within the threshold, or nobody.
public struct FaceMatch: Sendable, Equatable {
    public var personId: UUID
    /// The gallery face it matched.
    public var faceId: UUID
    public var distance: Double
    /// How sure the match is: 0.5 at the threshold, 1 for an identical face.
    public var confidence: Double

    public static func best(of candidates: [GalleryCandidate], threshold: Double) -> FaceMatch? {
        guard let nearest = candidates.min(by: { $0.distance < $1.distance }), nearest.distance <= threshold else { return nil }
        let confidence = threshold > 0 ? min(max(1 - nearest.distance / threshold * 0.5, 0), 1) : 1
        return FaceMatch(personId: nearest.personId, faceId: nearest.faceId, distance: nearest.distance,
                         confidence: (confidence * 1000).rounded() / 1000)
    }
}

/// Where an unknown face goes: the nearest active cluster when it is close enough, else a new one.
public enum ClusterPlacement: Sendable, Equatable {
    case join(UUID)
    case start

    public static func decide(nearest: (clusterId: UUID, distance: Double)?, threshold: Double) -> ClusterPlacement {
        guard let nearest, nearest.distance <= threshold else { return .start }
        return .join(nearest.clusterId)
    }
}

/// How well a threshold tells the same person from different people, on pairs of faces.
public struct VerificationMetrics: Codable, Sendable, Equatable {
    public var threshold: Double
    public var accuracy: Double
    public var precision: Double
    public var recall: Double
    public var f1Score: Double
    /// Pairs of different people the threshold calls the same, among all such pairs.
    public var falseMatchRate: Double
    public var genuinePairs: Int
    public var impostorPairs: Int

    enum CodingKeys: String, CodingKey {
        case threshold, accuracy, precision, recall
        case f1Score = "f1_score", falseMatchRate = "false_match_rate", genuinePairs = "genuine_pairs", impostorPairs = "impostor_pairs"
    }

    /// The threshold's results on `genuine` (same person) and `impostor` (different people) pair distances.
    public static func evaluate(threshold: Double, genuine: [Double], impostor: [Double]) -> VerificationMetrics {
        let truePositives = Double(genuine.filter { $0 <= threshold }.count)
        let falsePositives = Double(impostor.filter { $0 <= threshold }.count)
        let trueNegatives = Double(impostor.count) - falsePositives
        let total = Double(genuine.count + impostor.count)
        let precision = truePositives + falsePositives > 0 ? truePositives / (truePositives + falsePositives) : 1
        let recall = genuine.isEmpty ? 0 : truePositives / Double(genuine.count)
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        func round(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
        return VerificationMetrics(threshold: round(threshold), accuracy: round(total > 0 ? (truePositives + trueNegatives) / total : 0),
                                   precision: round(precision), recall: round(recall), f1Score: round(f1),
                                   falseMatchRate: round(impostor.isEmpty ? 0 : falsePositives / Double(impostor.count)),
                                   genuinePairs: genuine.count, impostorPairs: impostor.count)
    }

    /// The threshold that recognizes the most people while mistaking at most `maxFalseMatchRate`
    /// of strangers: of the thresholds keeping false matches that rare, those with the best F1,
    /// and of those the middle one, as far from the pairs on either side as they allow (the
    /// tightest would reject the next face of a person by a hair). Nil without pairs of both kinds.
    public static func calibrate(genuine: [Double], impostor: [Double], maxFalseMatchRate: Double = 0.01) -> VerificationMetrics? {
        guard !genuine.isEmpty, !impostor.isEmpty else { return nil }
        // Halfway between neighbouring distances, so the threshold does not sit on a pair.
        let distances = Set(genuine + impostor).sorted()
        var candidates = [(distances.first ?? 0) / 2]
        candidates += zip(distances, distances.dropFirst()).map { ($0 + $1) / 2 }
        let allowed = candidates.map { evaluate(threshold: $0, genuine: genuine, impostor: impostor) }
            .filter { $0.falseMatchRate <= maxFalseMatchRate }
        guard let bestF1 = allowed.map(\.f1Score).max() else { return nil }
        let tied = allowed.filter { $0.f1Score == bestF1 }
        let lower = tied.map(\.threshold).min() ?? 0, upper = tied.map(\.threshold).max() ?? 0
        return evaluate(threshold: (lower + upper) / 2, genuine: genuine, impostor: impostor)
    }
}

/// A person recognized in an event, as risk scoring and alert rules see them.
public struct RecognizedPerson: Sendable, Equatable, Codable {
    public struct Watch: Sendable, Equatable, Codable {
        public var id: UUID
        public var name: String
        public var type: WatchType

        public init(id: UUID, name: String, type: WatchType) {
            self.id = id
            self.name = name
            self.type = type
        }
    }

    public var id: UUID
    public var name: String?
    public var status: PersonStatus
    public var labels: [PersonLabel]
    /// The active watchlists they are on.
    public var watchlists: [Watch]

    public init(id: UUID, name: String?, status: PersonStatus, labels: [PersonLabel] = [], watchlists: [Watch] = []) {
        self.id = id
        self.name = name
        self.status = status
        self.labels = labels
        self.watchlists = watchlists
    }

    public var displayName: String { name ?? "an unnamed person" }

    /// Blacklisted, or on a blacklist or suspect watchlist: someone whose sighting is urgent.
    public var isWatched: Bool {
        status == .blacklisted || watchlists.contains { $0.type == .blacklist || $0.type == .suspect }
    }

    /// Which of several people an event is filed under: the most urgent one.
    public var precedence: Int {
        if isWatched { return 3 }
        if status == .vip || !watchlists.isEmpty { return 2 }
        return status == .known ? 1 : 0
    }
}
