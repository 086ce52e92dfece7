import Foundation
import Logging
import NIOPosix
import PostgresNIO
import VigilCore
import VigilStore
import VigilVision

/// Runs `analyze_capture` jobs, the path of every received frame:
/// 1. the motion gate: a frame where nothing moved skips the detector (`skipped`, with the reason);
/// 2. the object detector, keeping the camera's classes of interest above their confidence;
/// 3. the camera's tracker: each object joins its track or starts one; new objects only count
///    where the picture moved; an object that stopped moving long enough is stationary and is
///    no longer recorded;
/// 4. detections with their zones and track, a thumbnail per track's best sighting, and the
///    capture marked processed, in one transaction.
struct AnalyzeCaptureHandler: JobHandler {
    let type = JobRepository.JobType.analyzeCapture.rawValue
    let detector: any ObjectDetector
    let database: Database
    let media: any MediaStore
    let now: @Sendable () -> Date
    /// Server-wide settings; each camera's `config` may override them.
    let defaults: DetectionSettings
    let motion: MotionMemory
    /// How long thumbnails are kept: as long as the detections that show them.
    var thumbnailRetention: TimeInterval = RetentionPolicy().partitionRetention["detections"] ?? 365 * 86_400

    struct Unanalysable: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        let clock = ContinuousClock()
        let started = clock.now
        guard case .string(let text)? = job.payload.objectValue?["capture_id"], let captureId = UUID(uuidString: text) else {
            throw Unanalysable(description: "the job names no capture")
        }
        let logger = context.logger
        let (found, cameraFound, zones) = try await database.read { connection in
            let capture = try await CaptureRepository(connection, logger: logger).find(id: captureId)
            guard let capture else { return (nil as CaptureRepository.Stored?, nil as Camera?, [CameraZone]()) }
            let camera = try await CameraRepository(connection, logger: logger).find(id: capture.cameraId)
            let zones = try await CameraZoneRepository(connection, logger: logger)
                .list(cameraId: capture.cameraId, enabled: true, page: PageRequest(limit: PageRequest.maximumLimit)).items
            return (capture, camera, zones)
        }
        guard let capture = found, let camera = cameraFound else {
            throw Unanalysable(description: "capture \(captureId) no longer exists")
        }
        guard let uri = capture.storageURI, capture.storageClass != "discarded" else {
            throw Unanalysable(description: "the frame of capture \(captureId) was discarded before it was analysed")
        }
        var ignored = ValidationReport()
        let settings = defaults.applying(cameraConfig: camera.config, report: &ignored)
        let time = CaptureTime.frameTime(capturedAt: capture.capturedAt, receivedAt: capture.receivedAt)
        let media = self.media
        let bytes = try await NIOThreadPool.singleton.runIfActive { try media.read(uri) }

        var motionReport: MotionReport?
        if settings.motion.enabled {
            context.report(step: "looking for motion")
            let gray: GrayImage
            do {
                gray = try JPEGDecoder.decodeGray(bytes, minimumWidth: settings.motion.gridWidth)
            } catch {
                throw try await failed(capture, because: "\(error)", logger: logger)
            }
            let (report, decision) = await motion.gate(camera: camera.id, frame: gray, settings: settings.motion, at: time)
            motionReport = report
            if case .skip(let reason) = decision {
                try await database.transaction { try await DetectionRepository($0, logger: logger).recordSkip(capture, reason: reason, at: self.now()) }
                return .object(["skipped": .bool(true), "reason": .string(reason)])
            }
        }

        context.report(step: "detecting objects")
        let seen: DetectedObjects
        do {
            seen = try await detector.detect(jpeg: bytes)
        } catch {
            // An unreadable frame fails for good; an unavailable detector is worth another attempt.
            guard case .unreadableFrame = error else { throw error }
            throw try await failed(capture, because: error.description, logger: logger)
        }
        let detected = clock.now
        let wanted = seen.detections.filter { detection in settings.objects[detection.label].map { detection.confidence >= $0 } ?? false }

        context.report(step: "tracking and storing")
        let motionSeen = motionReport
        let outcome = try await database.transaction { connection in
            try await store(wanted, seen: seen, capture: capture, camera: camera, zones: zones, bytes: bytes, motion: motionSeen,
                            settings: settings, time: time, connection: connection, logger: logger)
        }
        await motion.analysed(camera: camera.id, at: time)
        var result = outcome.summary
        result["detector"] = .string(seen.detector)
        var timings: [String: JSONValue] = ["detect": .number(Self.milliseconds(detected - started)),
                                            "store": .number(Self.milliseconds(clock.now - detected))]
        if let stages = seen.timings {
            timings["decode"] = .number(Self.milliseconds(stages.decode))
            timings["preprocess"] = .number(Self.milliseconds(stages.preprocess))
            timings["inference"] = .number(Self.milliseconds(stages.inference))
            timings["postprocess"] = .number(Self.milliseconds(stages.postprocess))
        }
        result["timings_ms"] = .object(timings)
        return .object(result)
    }

    struct Outcome {
        var summary: [String: JSONValue]
    }

    /// Folds the frame's objects into the camera's tracks and stores what is worth keeping. Runs
    /// inside the transaction holding the camera's track lock.
    private func store(_ wanted: [ObjectDetection], seen: DetectedObjects, capture: CaptureRepository.Stored, camera: Camera,
                       zones: [CameraZone], bytes: [UInt8], motion: MotionReport?, settings: DetectionSettings, time: Date,
                       connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        let repository = DetectionRepository(connection, logger: logger)
        try await repository.lockTracks(of: camera.id)
        let stored = try await repository.liveTracks(of: camera.id, seenSince: time.addingTimeInterval(-settings.tracker.maxAge))
        var tracker = ObjectTracker(tracks: stored.map(\.track), settings: settings.tracker)
        var thumbnails = Dictionary(uniqueKeysWithValues: stored.compactMap { item in item.track.id.map { ($0, item.thumbnailPath) } })
        let updates = tracker.update(with: wanted, at: time)

        // A new object must stand where the picture moved; one already tracked is followed anywhere.
        let regions = settings.restrictToMotion ? motion?.regions.map { region in
            PixelBox(x1: region.x1 * Double(seen.width), y1: region.y1 * Double(seen.height),
                     x2: region.x2 * Double(seen.width), y2: region.y2 * Double(seen.height))
        } : nil
        let accepted = updates.filter { update in
            guard update.isNewTrack, let regions else { return true }
            return regions.contains { $0.iou(wanted[update.detection].box) > 0 || $0.contains(wanted[update.detection].box) }
        }
        var tracks = tracker.tracks
        let fresh = accepted.filter { tracks[$0.track].id == nil }
        for (update, id) in zip(fresh, try await repository.newTrackIds(fresh.count)) { tracks[update.track].id = id }

        var image = seen.image
        var newThumbnails: [DetectionRepository.NewThumbnail] = []
        var rows: [DetectionRepository.NewDetection] = []
        var stationary = 0
        for update in accepted {
            let track = tracks[update.track]
            guard let trackId = track.id else { continue }
            if track.isStationary {
                stationary += 1
                continue
            }
            let detection = wanted[update.detection]
            if update.isBestSoFar || thumbnails[trackId] == nil {
                if image == nil { image = try? JPEGDecoder.decode(bytes, atLeast: 320) }
                if let image, let thumbnail = try await writeThumbnail(of: detection.box, in: image, frameWidth: seen.width,
                                                                         camera: camera.id, track: trackId, capture: capture.id,
                                                                         time: time) {
                    newThumbnails.append(thumbnail)
                    thumbnails[trackId] = thumbnail.uri
                }
            }
            rows.append(DetectionRepository.NewDetection(
                detectedAt: time, cameraId: camera.id, captureId: capture.id, filePath: capture.storageURI ?? "",
                objectType: detection.label, confidence: detection.confidence, box: detection.box, frameWidth: seen.width,
                frameHeight: seen.height,
                zoneIds: CameraZone.hit(by: detection.box, frameWidth: seen.width, frameHeight: seen.height, among: zones),
                trackId: trackId, thumbnailPath: thumbnails[trackId] ?? nil))
        }
        let touched = Set(accepted.map(\.track)).sorted().map { index in
            DetectionRepository.StoredTrack(track: tracks[index], thumbnailPath: tracks[index].id.flatMap { thumbnails[$0] ?? nil })
        }
        try await repository.saveTracks(touched, cameraId: camera.id)
        let summary: [String: JSONValue] = [
            "detections": .number(Double(rows.count)),
            "objects": .array(rows.map { .string($0.objectType) }),
            "new_tracks": .number(Double(fresh.count)),
            "stationary": .number(Double(stationary)),
            "outside_motion": .number(Double(updates.count - accepted.count)),
        ]
        var analysis = summary
        if let motion { analysis["motion_area"] = .number((motion.changedArea * 10_000).rounded() / 10_000) }
        try await repository.record(rows, thumbnails: newThumbnails, capture: capture, analysis: .object(analysis), analyzedAt: now())
        return Outcome(summary: summary)
    }

    /// Writes a crop of the object as a JPEG under `thumbs/`, durably, and describes it for its media row.
    private func writeThumbnail(of box: PixelBox, in image: BGRImage, frameWidth: Int, camera: UUID, track: Int64, capture: UUID,
                                time: Date) async throws -> DetectionRepository.NewThumbnail? {
        let factor = Double(image.width) / Double(max(frameWidth, 1))
        let scaled = PixelBox(x1: box.x1 * factor, y1: box.y1 * factor, x2: box.x2 * factor, y2: box.y2 * factor)
        guard let crop = image.crop(scaled), let jpeg = try? JPEGEncoder.encode(crop) else { return nil }
        let day = time.formatted(.iso8601.year().month().day())
        let path = "thumbs/\(camera.uuidString.lowercased())/\(day)/\(track)-\(capture.uuidString.lowercased()).jpg"
        let media = self.media
        let uri = try await NIOThreadPool.singleton.runIfActive { try media.write(jpeg, at: path) }
        return DetectionRepository.NewThumbnail(uri: uri, byteSize: jpeg.count, checksum: Digest.sha256Hex(jpeg),
                                                retentionUntil: time.addingTimeInterval(thumbnailRetention))
    }

    /// Marks the capture failed and gives the error that fails the job for good.
    private func failed(_ capture: CaptureRepository.Stored, because reason: String, logger: Logger) async throws -> Unanalysable {
        try await database.transaction {
            try await DetectionRepository($0, logger: logger).recordFailure(capture, error: reason, at: self.now())
        }
        return Unanalysable(description: reason)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        (Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15 * 100).rounded() / 100
    }
}

/// Each camera's motion background and when its frames last reached the detector, kept by this
/// process. With several worker processes each keeps its own, from the frames it analyses: the
/// gate stays conservative (a frame it cannot judge goes to the detector).
actor MotionMemory {
    private var cameras: [UUID: (detector: MotionDetector, lastAnalysedAt: Date?)] = [:]

    func gate(camera: UUID, frame: GrayImage, settings: MotionSettings, at time: Date) -> (MotionReport, MotionGate.Decision) {
        var entry = cameras[camera] ?? (MotionDetector(settings: settings), nil)
        entry.detector.settings = settings
        let report = entry.detector.observe(frame)
        cameras[camera] = entry
        return (report, MotionGate.decide(report, settings: settings, lastAnalysedAt: entry.lastAnalysedAt, at: time))
    }

    func analysed(camera: UUID, at time: Date) {
        guard var entry = cameras[camera] else { return }
        entry.lastAnalysedAt = max(entry.lastAnalysedAt ?? time, time)
        cameras[camera] = entry
    }
}
