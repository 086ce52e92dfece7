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
///    capture marked processed, in one transaction;
/// 5. in the same transaction, the detections join their camera's open event or start one
///    (``EventFolding``);
/// 6. when a person was found and faces are on, the faces in the upper part of each person (or
///    in the whole frame, for close-up cameras) are recognized or clustered, still in that
///    transaction (``FaceSightings``); a watched person raises the event at once.
struct AnalyzeCaptureHandler: JobHandler {
    let type = JobRepository.JobType.analyzeCapture.rawValue
    let detector: any ObjectDetector
    let database: Database
    let media: any MediaStore
    let now: @Sendable () -> Date
    /// Server-wide settings; each camera's `config` may override them.
    let defaults: DetectionSettings
    let motion: MotionMemory
    /// How detections become events; each camera's `config.events` may override it.
    var events = EventSettings()
    /// Face detection and embedding; nil when face recognition is off.
    var faces: FaceEngine?
    /// Server-wide face settings; each camera's `config.faces` may override them.
    var faceDefaults = FaceSettings()
    /// How long thumbnails are kept: as long as the detections that show them.
    var thumbnailRetention: TimeInterval = RetentionPolicy().partitionRetention["detections"] ?? 365 * 86_400

    struct Unanalysable: PermanentJobFailure, CustomStringConvertible {
        var description: String
    }

    func run(_ job: JobRepository.Claimed, context: JobRunContext) async throws -> JSONValue? {
        let clock = ContinuousClock()
        var mark = clock.now
        var timings: [String: JSONValue] = [:]
        func lap(_ stage: String) {
            let now = clock.now
            timings[stage] = .number((now - mark).milliseconds)
            mark = now
        }
        let logger = context.logger
        let frame = try await load(job, logger: logger)
        let settings = frame.settings
        let bytes = frame.bytes
        lap("read")

        var motionReport: MotionReport?
        var gray: GrayImage?
        if settings.motion.enabled || frame.events.healthChecks {
            do {
                gray = try JPEGDecoder.decodeGray(bytes, minimumWidth: max(settings.motion.gridWidth, 160))
            } catch {
                throw try await failed(frame.capture, because: "\(error)", logger: logger)
            }
        }
        if let gray, frame.events.healthChecks {
            // Calm frames count too: a covered camera shows nothing moving.
            if let finding = await motion.checkHealth(camera: frame.camera.id, frame: gray, at: frame.time) {
                try await reportHealth(finding, frame: frame, logger: logger)
            }
        }
        if settings.motion.enabled, let gray {
            context.report(step: "looking for motion")
            let (report, decision) = await motion.gate(camera: frame.camera.id, frame: gray, settings: settings.motion, at: frame.time)
            if case .skip(let reason) = decision {
                try await database.transaction {
                    try await DetectionRepository($0, logger: logger).recordSkip(frame.capture, reason: reason, at: self.now())
                }
                return .object(["skipped": .bool(true), "reason": .string(reason)])
            }
            motionReport = report
            lap("motion")
        }

        context.report(step: "detecting objects")
        let seen: DetectedObjects
        do {
            seen = try await detector.detect(jpeg: bytes)
        } catch {
            // An unreadable frame fails for good; an unavailable detector is worth another attempt.
            guard case .unreadableFrame = error else { throw error }
            throw try await failed(frame.capture, because: error.description, logger: logger)
        }
        lap("detect")
        let wanted = seen.detections.filter { detection in settings.objects[detection.label].map { detection.confidence >= $0 } ?? false }
        var faces: [FaceEngine.Found] = []
        if let engine = self.faces, frame.faces.mode != .off, wanted.contains(where: { $0.label == "person" }) {
            context.report(step: "looking for faces")
            do {
                let image = try await engine.decode(bytes)
                let regions = frame.faces.mode == .frame ? nil : wanted.filter { $0.label == "person" }.map { person in
                    frame.faces.faceRegion(ofPerson: person.box, frameWidth: Double(image.width), frameHeight: Double(image.height))
                }
                faces = try await engine.faces(in: image, regions: regions)
            } catch {
                // The objects are still worth recording without their faces.
                logger.warning("faces were not analysed", metadata: ["capture_id": "\(frame.capture.id)", "error": "\(error)"])
            }
            lap("faces")
        }

        context.report(step: "tracking and storing")
        let regions = settings.restrictToMotion ? motionReport?.regions : nil
        var result = try await database.transaction { [motionReport, faces] connection in
            try await store(wanted, seen: seen, faces: faces, frame: frame, motionRegions: regions,
                            motionArea: motionReport?.changedArea, connection: connection, logger: logger)
        }
        await motion.analysed(camera: frame.camera.id, at: frame.time)
        lap("store")
        if let stages = seen.timings {
            timings["decode"] = .number(stages.decode.milliseconds)
            timings["preprocess"] = .number(stages.preprocess.milliseconds)
            timings["inference"] = .number(stages.inference.milliseconds)
            timings["postprocess"] = .number(stages.postprocess.milliseconds)
        }
        result["detector"] = .string(seen.detector)
        result["timings_ms"] = .object(timings)
        return .object(result)
    }

    /// A frame to analyse: its capture, camera, zones and settings, the time it shows, and its bytes.
    struct Frame: Sendable {
        var capture: CaptureRepository.Stored
        var uri: String
        var camera: Camera
        var zones: [CameraZone]
        var settings: DetectionSettings
        var events: EventSettings
        var faces: FaceSettings
        var time: Date
        var bytes: [UInt8]
    }

    private func load(_ job: JobRepository.Claimed, logger: Logger) async throws -> Frame {
        guard case .string(let text)? = job.payload.objectValue?["capture_id"], let captureId = UUID(uuidString: text) else {
            throw Unanalysable(description: "the job names no capture")
        }
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
        // The camera's config was checked when it was written; anything unusable in it keeps the default.
        var ignored = ValidationReport()
        let settings = defaults.applying(cameraConfig: camera.config, report: &ignored)
        let eventSettings = events.applying(cameraConfig: camera.config, siteTimeZone: "UTC", report: &ignored)
        let media = self.media
        let bytes = try await NIOThreadPool.singleton.runIfActive { try media.read(uri) }
        return Frame(capture: capture, uri: uri, camera: camera, zones: zones, settings: settings, events: eventSettings,
                     faces: faceDefaults.applying(cameraConfig: camera.config, report: &ignored),
                     time: CaptureTime.frameTime(capturedAt: capture.capturedAt, receivedAt: capture.receivedAt), bytes: bytes)
    }

    /// Folds the frame's objects into the camera's tracks and stores what is worth keeping; returns
    /// the summary that becomes the job's result. Runs inside the transaction holding the camera's
    /// track lock. `motionRegions`, when given, are where a new object must stand (normalised).
    private func store(_ wanted: [ObjectDetection], seen: DetectedObjects, faces: [FaceEngine.Found], frame: Frame, motionRegions: [PixelBox]?,
                       motionArea: Double?, connection: PostgresConnection, logger: Logger) async throws -> [String: JSONValue] {
        let repository = DetectionRepository(connection, logger: logger)
        let camera = frame.camera.id, settings = frame.settings, time = frame.time
        try await repository.lockTracks(of: camera)
        let stored = try await repository.liveTracks(of: camera, seenSince: time.addingTimeInterval(-settings.tracker.maxAge))
        var tracker = ObjectTracker(tracks: stored.map(\.track), settings: settings.tracker)
        var thumbnails: [Int64: String] = [:]
        for item in stored { if let id = item.track.id, let path = item.thumbnailPath { thumbnails[id] = path } }
        let updates = tracker.update(with: wanted, at: time)

        // A new object must stand where the picture moved; one already tracked is followed anywhere.
        let regions = motionRegions?.map { region in
            PixelBox(x1: region.x1 * Double(seen.width), y1: region.y1 * Double(seen.height),
                     x2: region.x2 * Double(seen.width), y2: region.y2 * Double(seen.height))
        }
        let accepted = updates.filter { update in
            guard update.isNewTrack, let regions else { return true }
            return regions.contains { $0.intersects(wanted[update.detection].box) }
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
                // A remote detector decoded nothing here; the frame is decoded once, for its first thumbnail.
                if image == nil { image = try? JPEGDecoder.decode(frame.bytes, atLeast: 320) }
                if let image, let thumbnail = try await writeThumbnail(of: detection.box, in: image, frameWidth: seen.width,
                                                                         camera: camera, track: trackId, capture: frame.capture.id,
                                                                         time: time) {
                    newThumbnails.append(thumbnail)
                    thumbnails[trackId] = thumbnail.uri
                }
            }
            rows.append(DetectionRepository.NewDetection(
                detectedAt: time, cameraId: camera, captureId: frame.capture.id, filePath: frame.uri,
                objectType: detection.label, confidence: detection.confidence, box: detection.box, frameWidth: seen.width,
                frameHeight: seen.height,
                zoneIds: CameraZone.hit(by: detection.box, frameWidth: seen.width, frameHeight: seen.height, among: frame.zones),
                trackId: trackId, thumbnailPath: thumbnails[trackId]))
        }
        let touched = Set(accepted.map(\.track)).sorted().map { index in
            DetectionRepository.StoredTrack(track: tracks[index], thumbnailPath: tracks[index].id.flatMap { thumbnails[$0] })
        }
        try await repository.saveTracks(touched, cameraId: camera)
        let summary: [String: JSONValue] = [
            "detections": .number(Double(rows.count)),
            "objects": .array(rows.map { .string($0.objectType) }),
            "new_tracks": .number(Double(fresh.count)),
            "stationary": .number(Double(stationary)),
            "outside_motion": .number(Double(updates.count - accepted.count)),
        ]
        var analysis = summary
        if let motionArea { analysis["motion_area"] = .number((motionArea * 10_000).rounded() / 10_000) }
        try await repository.record(rows, thumbnails: newThumbnails, capture: frame.capture, analysis: .object(analysis),
                                    analyzedAt: now())
        var result = summary
        let folded = try await EventFolding.fold(rows, cameraId: camera, zones: frame.zones, settings: frame.events, frameTime: time,
                                                 now: now(), connection: connection, logger: logger)
        if let folded {
            result["event_id"] = .string(folded.eventId.uuidString.lowercased())
            if folded.fastPath { result["fast_path"] = .bool(true) }
        }
        if !faces.isEmpty, let engine = self.faces {
            let sightings = FaceSightings(model: engine.model, media: media, settings: engine.recognition, ids: UUIDv7Generator(now: { time }))
            let bodies = rows.filter { $0.objectType == "person" }.map { row in
                FaceSightings.Body(detectionId: row.id, box: PixelBox(x1: Double(row.x), y1: Double(row.y), x2: Double(row.x + row.width),
                                                                      y2: Double(row.y + row.height)))
            }
            let filed = try await sightings.record(faces, minimumQuality: frame.faces.minimumQuality, cameraId: camera,
                                                   captureId: frame.capture.id, bodies: bodies, eventId: folded?.eventId, frameTime: time,
                                                   connection: connection, logger: logger)
            result["faces"] = filed.report
            // Someone on a watchlist is judged at once, as a fast-path detection is.
            if let folded, filed.newlyWatched != nil {
                try await EventFolding.enqueueJudgement(of: folded.eventId, stage: .fastPath, jobs: JobRepository(connection, logger: logger),
                                                        now: now())
            }
        }
        return result
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

    /// Queues the recording of a camera health finding (its own job: frames to keep, an event to make).
    private func reportHealth(_ finding: SceneHealth.Finding, frame: Frame, logger: Logger) async throws {
        let time = now()
        var payload: [String: JSONValue] = ["camera_id": .string(frame.camera.id.uuidString.lowercased()),
                                            "capture_id": .string(frame.capture.id.uuidString.lowercased()),
                                            "at": .number(frame.time.timeIntervalSince1970)]
        switch finding {
        case .obstructed(let since, let reason, let scores):
            payload["kind"] = .string(EventType.cameraObstructed.rawValue)
            payload["since"] = .number(since.timeIntervalSince1970)
            payload["reason"] = .string(reason)
            payload["scores"] = .object(scores.mapValues { .number(($0 * 100).rounded() / 100) })
        case .shifted(let since, let correlation):
            payload["kind"] = .string(EventType.sceneShifted.rawValue)
            payload["since"] = .number(since.timeIntervalSince1970)
            payload["scores"] = .object(["correlation": .number(correlation)])
        }
        let job = JSONValue.object(payload)
        try await database.transaction { connection in
            try await JobRepository(connection, logger: logger).enqueue(
                id: UUIDv7Generator(now: { time }).next(), type: .recordCameraHealth, queue: "events", priority: 1,
                payload: job, maxAttempts: 5, at: time)
        }
    }

    /// Marks the capture failed and gives the error that fails the job for good.
    private func failed(_ capture: CaptureRepository.Stored, because reason: String, logger: Logger) async throws -> Unanalysable {
        try await database.transaction {
            try await DetectionRepository($0, logger: logger).recordFailure(capture, error: reason, at: self.now())
        }
        return Unanalysable(description: reason)
    }
}

/// Each camera's motion background, scene health and when its frames last reached the detector,
/// kept by this process. With several worker processes each keeps its own, from the frames it analyses: the
/// gate stays conservative (a frame it cannot judge goes to the detector).
actor MotionMemory {
    private var cameras: [UUID: (detector: MotionDetector, lastAnalysedAt: Date?)] = [:]

    private var health: [UUID: SceneHealth] = [:]

    /// Feeds the camera's scene health; a finding the first time a camera has been blind or turned long enough.
    func checkHealth(camera: UUID, frame: GrayImage, at time: Date) -> SceneHealth.Finding? {
        var state = health[camera] ?? SceneHealth()
        let finding = state.observe(frame, at: time).finding
        health[camera] = state
        return finding
    }

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
