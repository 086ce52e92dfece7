import Foundation
import Testing
import VigilCore

@Suite("Face geometry")
struct FaceGeometryTests {
    @Test("the similarity found between landmarks and the template undoes a rotation, a scale and a shift")
    func similarity() throws {
        let angle = 0.3, scale = 2.5
        let turned = SimilarityTransform.faceTemplate.map { point in
            FacePoint(x: scale * (cos(angle) * point.x - sin(angle) * point.y) + 40, y: scale * (sin(angle) * point.x + cos(angle) * point.y) - 7)
        }
        let transform = try #require(SimilarityTransform(from: turned, to: SimilarityTransform.faceTemplate))
        for (point, target) in zip(turned, SimilarityTransform.faceTemplate) {
            let mapped = transform.apply(point)
            #expect(abs(mapped.x - target.x) < 1e-9 && abs(mapped.y - target.y) < 1e-9)
            let back = transform.inverse(mapped)
            #expect(abs(back.x - point.x) < 1e-9 && abs(back.y - point.y) < 1e-9)
        }
        #expect(SimilarityTransform(from: Array(repeating: FacePoint(x: 1, y: 1), count: 5), to: SimilarityTransform.faceTemplate) == nil)
    }

    @Test("quality grows with size, sharpness and a frontal pose; overlapping faces keep the most confident")
    func quality() {
        let frontal = [FacePoint(x: 30, y: 40), FacePoint(x: 70, y: 40), FacePoint(x: 50, y: 60), FacePoint(x: 35, y: 80), FacePoint(x: 65, y: 80)]
        var turned = frontal
        turned[2].x = 68
        let box = PixelBox(x1: 0, y1: 0, x2: 100, y2: 120)
        let good = FaceQuality(face: DetectedFace(box: box, confidence: 0.95, landmarks: frontal), sharpness: 200)
        #expect(good.yaw == 0 && good.score == 1)
        #expect(FaceQuality(face: DetectedFace(box: box, confidence: 0.95, landmarks: turned), sharpness: 200).score < good.score)
        #expect(FaceQuality(face: DetectedFace(box: box, confidence: 0.95, landmarks: frontal), sharpness: 30).score < good.score)
        let faces = [DetectedFace(box: box, confidence: 0.8, landmarks: frontal), DetectedFace(box: PixelBox(x1: 5, y1: 5, x2: 100, y2: 120), confidence: 0.9, landmarks: frontal),
                     DetectedFace(box: PixelBox(x1: 300, y1: 0, x2: 400, y2: 120), confidence: 0.85, landmarks: frontal)]
        #expect(DetectedFace.suppressingOverlaps(faces).map(\.confidence) == [0.9, 0.85])
    }
}
