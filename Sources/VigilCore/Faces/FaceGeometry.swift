import Foundation

/// A point in a frame's pixels.
public struct FacePoint: Codable, Sendable, Equatable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A face found in a frame: its box, how sure the detector is, and five landmarks in YuNet's
/// order (the eye on the image's left, the eye on its right, the nose tip, the mouth's left
/// corner, its right corner).
public struct DetectedFace: Codable, Sendable, Equatable {
    public var box: PixelBox
    public var confidence: Double
    public var landmarks: [FacePoint]

    public init(box: PixelBox, confidence: Double, landmarks: [FacePoint]) {
        self.box = box
        self.confidence = confidence
        self.landmarks = landmarks
    }

    /// Greedy non-maximum suppression: the most confident of overlapping faces stays.
    public static func suppressingOverlaps(_ faces: [DetectedFace], iouThreshold: Double = 0.3) -> [DetectedFace] {
        var kept: [DetectedFace] = []
        for face in faces.sorted(by: { $0.confidence > $1.confidence }) where !kept.contains(where: { $0.box.iou(face.box) > iouThreshold }) {
            kept.append(face)
        }
        return kept
    }
}

/// `destination = [[a, -b], [b, a]] · source + (tx, ty)`: rotation, uniform scale and shift.
public struct SimilarityTransform: Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var tx: Double
    public var ty: Double

    /// SFace's (and ArcFace's) 112 × 112 template for the five landmarks.
    public static let faceTemplate = [
        FacePoint(x: 38.2946, y: 51.6963), FacePoint(x: 73.5318, y: 51.5014), FacePoint(x: 56.0252, y: 71.7366),
        FacePoint(x: 41.5493, y: 92.3655), FacePoint(x: 70.7299, y: 92.2041),
    ]

    /// The least-squares similarity taking `source` onto `destination` (Umeyama's, without reflection).
    public init?(from source: [FacePoint], to destination: [FacePoint]) {
        guard source.count == destination.count, source.count >= 2 else { return nil }
        let count = Double(source.count)
        let sourceMean = FacePoint(x: source.map(\.x).reduce(0, +) / count, y: source.map(\.y).reduce(0, +) / count)
        let destinationMean = FacePoint(x: destination.map(\.x).reduce(0, +) / count, y: destination.map(\.y).reduce(0, +) / count)
        var dot = 0.0, cross = 0.0, norm = 0.0
        for (p, q) in zip(source, destination) {
            let px = p.x - sourceMean.x, py = p.y - sourceMean.y
            let qx = q.x - destinationMean.x, qy = q.y - destinationMean.y
            dot += px * qx + py * qy
            cross += px * qy - py * qx
            norm += px * px + py * py
        }
        guard norm > 1e-9 else { return nil }
        a = dot / norm
        b = cross / norm
        tx = destinationMean.x - (a * sourceMean.x - b * sourceMean.y)
        ty = destinationMean.y - (b * sourceMean.x + a * sourceMean.y)
    }

    public func apply(_ point: FacePoint) -> FacePoint {
        FacePoint(x: a * point.x - b * point.y + tx, y: b * point.x + a * point.y + ty)
    }

    /// Where a destination point comes from.
    public func inverse(_ point: FacePoint) -> FacePoint {
        let scale = a * a + b * b
        let x = point.x - tx, y = point.y - ty
        return FacePoint(x: (a * x + b * y) / scale, y: (-b * x + a * y) / scale)
    }
}

/// How usable a face is for recognition (stored as `face_quality`), from its size, its sharpness
/// and how far it is turned, and why a photo is refused for enrolment.
public struct FaceQuality: Codable, Sendable, Equatable {
    /// The shorter side of the face's box, in pixels.
    public var size: Double
    /// Variance of the Laplacian of the aligned face (higher is sharper).
    public var sharpness: Double
    /// How far the nose is from the middle of the eyes, in eye distances (0 faces the camera).
    public var yaw: Double
    /// 0 (useless) to 1 (a sharp, frontal, large face).
    public var score: Double

    public static let minimumEnrolmentSize = 40.0
    public static let minimumEnrolmentSharpness = 20.0

    public init(face: DetectedFace, sharpness: Double) {
        size = min(face.box.width, face.box.height)
        self.sharpness = sharpness
        if face.landmarks.count == 5 {
            let eyes = FacePoint(x: (face.landmarks[0].x + face.landmarks[1].x) / 2, y: (face.landmarks[0].y + face.landmarks[1].y) / 2)
            let distance = max(hypot(face.landmarks[1].x - face.landmarks[0].x, face.landmarks[1].y - face.landmarks[0].y), 1)
            yaw = abs(face.landmarks[2].x - eyes.x) / distance
        } else {
            yaw = 1
        }
        let sizeScore = min(max((size - 24) / (96 - 24), 0), 1)
        let sharpScore = min(max(sharpness / 150, 0), 1)
        let poseScore = min(max(1 - yaw / 0.6, 0), 1)
        score = ((0.4 * sizeScore + 0.3 * sharpScore + 0.3 * poseScore) * 1000).rounded() / 1000
    }

    /// Why a photo's face cannot be enrolled, as the API's error code; nil when it can.
    public var enrolmentProblem: String? {
        if size < Self.minimumEnrolmentSize { return "face_too_small" }
        if sharpness < Self.minimumEnrolmentSharpness { return "too_blurry" }
        return nil
    }
}

/// Face embeddings: unit vectors compared by cosine.
public enum FaceEmbedding {
    public static func normalized(_ vector: [Float]) -> [Float] {
        let norm = sqrt(vector.reduce(0) { $0 + $1 * $1 })
        guard norm > 0 else { return vector }
        return vector.map { $0 / norm }
    }

    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for index in a.indices {
            dot += a[index] * b[index]
            na += a[index] * a[index]
            nb += b[index] * b[index]
        }
        guard na > 0, nb > 0 else { return 0 }
        return Double(dot / (na.squareRoot() * nb.squareRoot()))
    }
}
