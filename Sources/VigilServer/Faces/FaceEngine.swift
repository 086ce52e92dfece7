import Foundation
import NIOPosix
import VigilCore
import VigilStore
import VigilVision

/// Face detection, alignment and embedding run here, on threads of their own (as object
/// detection), for frames, regions of frames and enrolment photos.
public final class FaceEngine: Sendable {
    public let analysis: FaceAnalysis
    /// The embeddings' model, as stored in `face_embeddings.model_version`, with their width.
    public let model: FaceRepository.Model
    /// How the gallery is searched, by the cameras' faces and the API's alike.
    public let recognition: RecognitionSettings
    private let threads: NIOThreadPool

    public init(analysis: FaceAnalysis, concurrentFrames: Int, recognition: RecognitionSettings = RecognitionSettings()) {
        self.analysis = analysis
        self.recognition = recognition
        model = FaceRepository.Model(version: analysis.recognizer.modelVersion, dimensions: analysis.recognizer.dimensions)
        threads = NIOThreadPool(numberOfThreads: max(concurrentFrames, 1))
        threads.start()
    }

    /// A face found in a frame, in the frame's pixels, with its embedding and its aligned crop.
    public struct Found: Sendable {
        public var face: DetectedFace
        public var quality: FaceQuality
        public var embedding: [Float]
        public var aligned: AlignedFace
    }

    /// The faces in `regions` of `image` (each searched on its own, at full resolution), or in the
    /// whole image when `regions` is nil. A face two regions share is found once.
    public func faces(in image: BGRImage, regions: [PixelBox]? = nil) async throws -> [Found] {
        let analysis = self.analysis
        return try await threads.runIfActive {
            guard let regions else { return try analysis.faces(in: image).map(Self.found) }
            var found: [Found] = []
            for region in regions {
                let left = max(0, Int(region.x1.rounded(.down))), top = max(0, Int(region.y1.rounded(.down)))
                let right = min(image.width, Int(region.x2.rounded(.up))), bottom = min(image.height, Int(region.y2.rounded(.up)))
                // YuNet sees nothing useful in a sliver.
                guard right - left >= 24, bottom - top >= 24,
                      let crop = image.crop(PixelBox(x1: Double(left), y1: Double(top), x2: Double(right), y2: Double(bottom)),
                                            margin: 0, maxSide: max(image.width, image.height)) else { continue }
                for face in try analysis.faces(in: crop) {
                    var shifted = Self.found(face)
                    shifted.face = face.face.shifted(x: Double(left), y: Double(top))
                    found.append(shifted)
                }
            }
            let kept = DetectedFace.suppressingOverlaps(found.map(\.face))
            return kept.compactMap { face in found.first { $0.face == face } }
        }
    }

    /// A JPEG at full size, decoded on the engine's threads (a large frame takes a while: never on
    /// the threads that serve requests).
    public func decode(_ bytes: [UInt8]) async throws -> BGRImage {
        try await threads.runIfActive { try JPEGDecoder.decode(bytes) }
    }

    /// The faces of a JPEG photo (enrolment, the DeepStack face API).
    public func faces(inJPEG bytes: [UInt8]) async throws -> (faces: [Found], width: Int, height: Int) {
        let image = try await decode(bytes)
        return (try await faces(in: image), image.width, image.height)
    }

    private static func found(_ face: FaceAnalysis.Face) -> Found {
        Found(face: face.face, quality: face.quality, embedding: face.embedding, aligned: face.aligned)
    }
}

extension DetectedFace {
    /// The same face in a larger image whose origin is `(x, y)` away.
    func shifted(x: Double, y: Double) -> DetectedFace {
        DetectedFace(box: PixelBox(x1: box.x1 + x, y1: box.y1 + y, x2: box.x2 + x, y2: box.y2 + y), confidence: confidence,
                     landmarks: landmarks.map { FacePoint(x: $0.x + x, y: $0.y + y) })
    }
}
