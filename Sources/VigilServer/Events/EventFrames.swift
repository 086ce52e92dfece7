import Foundation
import Logging
import NIOPosix
import VigilCore
import VigilStore
import VigilVision

/// The images of one event as they are gathered: frames kept out of staging (`pre`, `during`,
/// `post`) and files drawn for it (`annotated`, `thumb`), with what the decision trace says
/// about each.
struct EventFrames: Sendable {
    struct DerivedFile: Sendable {
        var role: EventImageRole
        var uri: String
        var byteSize: Int
        var checksum: String
    }

    let eventId: UUID
    let cameraId: UUID
    let day: Date
    var images: [EventRepository.NewImage] = []
    var derived: [DerivedFile] = []
    var captureIds: [String: UUID] = [:]
    /// Kept frames by role.
    var uris: [EventImageRole: String] = [:]
    var annotatedURI: String?
    var annotatedBytes: [UInt8]?
    var trace: [String] = []

    init(eventId: UUID, cameraId: UUID, day: Date) {
        self.eventId = eventId
        self.cameraId = cameraId
        self.day = day
    }

    /// Keeps a capture's frame as the event's image in `role`. A frame retention already took
    /// is left out (and said so in the trace); other errors fail the caller's attempt.
    @discardableResult
    mutating func keep(_ captureId: UUID?, as role: EventImageRole, promotion: FramePromotion, at time: Date,
                       logger: Logger) async throws -> String? {
        guard let captureId else {
            trace.append("\(role.rawValue)_frame_missing")
            return nil
        }
        do {
            let uri: String
            switch try await promotion.promote(captureId: captureId, eventId: eventId, now: time) {
            case .promoted(let kept), .alreadyKept(let kept): uri = kept
            }
            images.append(EventRepository.NewImage(role: role, captureId: captureId))
            captureIds["\(role.rawValue)_capture_id"] = captureId
            uris[role] = uri
            trace.append("\(role.rawValue)_frame_kept")
            return uri
        } catch let failure as FramePromotion.Failure {
            logger.notice("an event frame is gone", metadata: ["role": "\(role.rawValue)", "reason": "\(failure)"])
            trace.append("\(role.rawValue)_frame_missing")
            return nil
        }
    }

    /// Draws `marks` (boxes in 0...1 of the frame) on the kept frame at `uri` and stores the
    /// result as the `annotated` image, with a `thumb` of it. A frame that cannot be drawn on
    /// leaves the event without them.
    mutating func annotate(_ uri: String, marks: [(box: PixelBox, label: String, confidence: Double)], media: any MediaStore,
                           logger: Logger) async throws {
        do {
            let (annotated, thumb) = try await NIOThreadPool.singleton.runIfActive { () throws -> ([UInt8], [UInt8]) in
                let image = try JPEGDecoder.decode(try media.read(uri))
                let width = Double(image.width), height = Double(image.height)
                let drawn = FrameAnnotator.annotate(image, marks: marks.map { mark in
                    FrameAnnotator.Mark(box: PixelBox(x1: mark.box.x1 * width, y1: mark.box.y1 * height, x2: mark.box.x2 * width,
                                                      y2: mark.box.y2 * height),
                                        label: mark.label, confidence: mark.confidence)
                })
                let small = drawn.crop(PixelBox(x1: 0, y1: 0, x2: width, y2: height), margin: 0, maxSide: 320) ?? drawn
                return (try JPEGEncoder.encode(drawn), try JPEGEncoder.encode(small, quality: 80))
            }
            let device = cameraId.uuidString.lowercased()
            for (role, bytes) in [(EventImageRole.annotated, annotated), (.thumb, thumb)] {
                let path = FileSystemMediaStore.derivedEventPath(device: device, day: day, eventId: eventId, role: role.rawValue)
                let stored = try await NIOThreadPool.singleton.runIfActive { try media.write(bytes, at: path) }
                derived.append(DerivedFile(role: role, uri: stored, byteSize: bytes.count, checksum: Digest.sha256Hex(bytes)))
                images.append(EventRepository.NewImage(role: role, derivedURI: stored))
                if role == .annotated {
                    annotatedURI = stored
                    annotatedBytes = bytes
                }
            }
            trace.append("annotated")
        } catch let error as VisionError {
            logger.warning("cannot draw an event's annotated frame", metadata: ["error": "\(error)"])
            trace.append("annotation_failed")
        }
    }

    /// Stores the derived files' media rows and links every image to the event (in the caller's transaction).
    func record(on events: EventRepository, retention: TimeInterval, at time: Date) async throws {
        for file in derived {
            try await events.recordDerivedFile(uri: file.uri, byteSize: file.byteSize, checksum: file.checksum, role: file.role.rawValue,
                                               cameraId: cameraId, eventId: eventId, time: time, retentionUntil: time.addingTimeInterval(retention))
        }
        try await events.attach(images, eventId: eventId, cameraId: cameraId)
    }
}
