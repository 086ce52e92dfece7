import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilStore

#if canImport(Glibc)
import Glibc
#endif

/// Takes the files cameras upload by FTP (seed 000's FileWatcher): `<root>/<Camera Name>/...`.
///
/// inotify announces each file once it is closed after writing (or renamed into place); a scan
/// every few seconds also takes files that were there at start-up or that inotify missed, once
/// they have stood still for the settle time, and never a file inotify saw opened and not yet
/// closed. Files are handled one at a time: an image becomes a capture, a clip is probed,
/// kept, and sampled into captures; the original then leaves the upload folder. Anything that
/// cannot become a capture (not an image or a clip, unreadable, an unknown camera) is moved
/// aside to the quarantine folder with a note saying why, so it is never retried forever.
/// A database failure leaves the file where it is, to be taken again by a later scan.
final class FolderWatcher: Service {
    struct Settings: Sendable {
        var root: URL
        var quarantine: URL
        /// Registers a camera for an upload folder that names none.
        var autoRegister = false
        /// Frames sampled per second of an uploaded clip.
        var clipSampleFPS = 1.0
        var scanInterval: Duration = .seconds(5)
        /// How long a scanned file must stand still before it is taken.
        var settle: TimeInterval = 2
        /// Larger images are quarantined; larger clips too (at 64 times this).
        var maximumImageBytes = 8 << 20
        /// Uses inotify when the kernel offers it; scanning alone otherwise (some network file systems).
        var useInotify = true
    }

    let settings: Settings
    let writer: CaptureWriter
    let database: Database
    let media: any MediaStore
    let ids: UUIDv7Generator
    let now: @Sendable () -> Date
    let logger: Logger
    /// Called after each scan, with the number of scans so far; tests wait on it instead of sleeping.
    let scanCompleted: (@Sendable (Int) -> Void)?
    /// File times are real times, whatever clock the rest of Vigil is given.
    let fileClock: @Sendable () -> Date = { Date() }

    /// How long a kept clip stays, like an event frame (seed 004 §4).
    static let clipRetention: TimeInterval = 7 * 86_400

    init(settings: Settings, writer: CaptureWriter, database: Database, media: any MediaStore, ids: UUIDv7Generator,
         now: @escaping @Sendable () -> Date, logger: Logger, scanCompleted: (@Sendable (Int) -> Void)? = nil) {
        self.settings = settings
        self.writer = writer
        self.database = database
        self.media = media
        self.ids = ids
        self.now = now
        self.logger = logger
        self.scanCompleted = scanCompleted
    }

    private enum Signal: Sendable {
        case event(Inotify.Event)
        case scan
    }

    /// What the watcher knows between signals.
    private struct State {
        var watchedFolders: Set<String> = []
        /// Files inotify saw created and not yet closed: never taken by a scan.
        var beingWritten: Set<String> = []
        var settling: SettleTracker
        var scans = 0
    }

    func run() async throws {
        let root = settings.root.standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var inotify: Inotify?
        if settings.useInotify {
            do {
                inotify = try Inotify()
            } catch {
                logger.warning("watching the upload folder by scanning only", metadata: ["reason": "\(error)"])
            }
        }
        logger.info("watching the upload folder", metadata: ["root": "\(root)", "inotify": "\(inotify != nil)"])
        let (signals, signal) = AsyncStream<Signal>.makeStream()
        var state = State(settling: SettleTracker(settle: settings.settle))
        watchTree(root, inotify: inotify, state: &state)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if let inotify {
                    group.addTask {
                        for await event in inotify.events() { signal.yield(.event(event)) }
                    }
                }
                group.addTask { [settings] in
                    while !Task.isCancelled {
                        signal.yield(.scan)
                        try? await Task.sleep(for: settings.scanInterval)
                    }
                }
                for await next in signals {
                    await handle(next, root: root, inotify: inotify, state: &state)
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            signal.finish()
        }
    }

    private func handle(_ next: Signal, root: String, inotify: Inotify?, state: inout State) async {
        switch next {
        case .event(.fileOpened(let path)):
            state.beingWritten.insert(path)
        case .event(.fileComplete(let path)):
            state.beingWritten.remove(path)
            state.settling.forget(path)
            await take(path, root: root)
        case .event(.folderCreated(let path)):
            // Files may have landed before the watch was added: the next scan finds them.
            watchTree(path, inotify: inotify, state: &state)
        case .event(.overflow):
            state.beingWritten.removeAll()
            await scan(root: root, inotify: inotify, state: &state)
        case .scan:
            await scan(root: root, inotify: inotify, state: &state)
        }
    }

    private func watchTree(_ folder: String, inotify: Inotify?, state: inout State) {
        guard let inotify else { return }
        var folders = [folder]
        if let enumerator = FileManager.default.enumerator(atPath: folder) {
            for case let relative as String in enumerator {
                let path = folder + "/" + relative
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue { folders.append(path) }
            }
        }
        for path in folders where !state.watchedFolders.contains(path) {
            do {
                try inotify.watch(path)
                state.watchedFolders.insert(path)
            } catch {
                logger.warning("cannot watch an upload folder; it is scanned instead", metadata: ["folder": "\(path)", "error": .error(error)])
            }
        }
    }

    private func scan(root: String, inotify: Inotify?, state: inout State) async {
        var present: Set<String> = []
        var settled: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = root + "/" + relative
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                if inotify != nil && !state.watchedFolders.contains(path) { watchTree(path, inotify: inotify, state: &state) }
                continue
            }
            guard attributes[.type] as? FileAttributeType == .typeRegular, !state.beingWritten.contains(path) else { continue }
            present.insert(path)
            let observation = SettleTracker.Observation(size: (attributes[.size] as? NSNumber)?.int64Value ?? 0,
                                                        modified: attributes[.modificationDate] as? Date ?? .distantPast)
            if state.settling.observe(path, observation, at: fileClock()) { settled.append(path) }
        }
        state.settling.retain(only: present)
        for path in settled {
            state.settling.forget(path)
            await take(path, root: root)
        }
        state.scans += 1
        scanCompleted?(state.scans)
    }

    /// Turns one whole file into captures, or moves it aside.
    private func take(_ path: String, root: String) async {
        guard path.hasPrefix(root + "/"), FileManager.default.fileExists(atPath: path) else { return }
        let upload = FolderUpload(relativePath: String(path.dropFirst(root.count + 1)))
        do {
            switch upload.kind {
            case .partial:
                return  // its final name arrives by rename
            case .other:
                return quarantine(path, upload, reason: "not_an_image_or_video",
                                  explanation: "Only JPEG images (.jpg, .jpeg) and clips (.mp4, .mkv, .avi) become captures.")
            case .image, .video:
                break
            }
            guard let folder = upload.cameraFolder, upload.cameraSlug != nil else {
                return quarantine(path, upload, reason: "no_camera_folder",
                                  explanation: "Uploads go in a folder named after the camera: <root>/<Camera Name>/...")
            }
            guard let camera = try await camera(for: folder) else {
                return quarantine(path, upload, reason: "unknown_camera",
                                  explanation: "No camera uses the folder '\(folder)'; add one, or turn on VIGIL_AUTO_REGISTER_CAMERAS.")
            }
            guard camera.isActive else {
                return quarantine(path, upload, reason: "camera_inactive", explanation: "Camera '\(camera.slug)' is switched off in Vigil.")
            }
            if upload.kind == .image {
                try await takeImage(path, upload, camera: camera)
            } else {
                try await takeClip(path, upload, camera: camera)
            }
        } catch {
            logger.error("an upload could not be stored; it stays for the next scan",
                         metadata: ["file": "\(upload.relativePath)", "error": .error(error)])
        }
    }

    private func takeImage(_ path: String, _ upload: FolderUpload, camera: Camera) async throws {
        guard let size = Self.fileSize(path), size <= settings.maximumImageBytes else {
            return quarantine(path, upload, reason: "too_large", explanation: "Images may be at most \(settings.maximumImageBytes) bytes.")
        }
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let frame: IncomingFrame
        do {
            frame = try IncomingFrame(cameraId: camera.id, deviceId: camera.deviceId ?? camera.slug, capturedAt: Self.modified(path),
                                      source: .ftpFolder, bytes: Array(data), meta: .object(["file": .string(upload.relativePath)]))
        } catch {
            let (reason, explanation) = Self.describe(error)
            return quarantine(path, upload, reason: reason, explanation: explanation)
        }
        let receipt = try await writer.store(frame)
        unlink(path)
        logger.debug("upload stored", metadata: ["file": "\(upload.relativePath)", "capture_id": "\(receipt.captureId)",
                                                 "duplicate": "\(receipt.duplicate)"])
    }

    /// Probes the clip, samples its frames, keeps the clip as media and each frame as a capture.
    private func takeClip(_ path: String, _ upload: FolderUpload, camera: Camera) async throws {
        guard let size = Self.fileSize(path), size <= settings.maximumImageBytes * 64 else {
            return quarantine(path, upload, reason: "too_large", explanation: "Clips may be at most \(settings.maximumImageBytes * 64) bytes.")
        }
        let probe: VideoProbe
        let frames: [[UInt8]]
        do {
            probe = try VideoProbe(ffprobeJSON: try await Subprocess.run("ffprobe", [
                "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-select_streams", "v:0", path,
            ], timeLimit: .seconds(30)))
            var splitter = JPEGStreamSplitter()
            frames = splitter.append(try await Subprocess.run("ffmpeg", [
                "-nostdin", "-v", "error", "-i", path, "-vf", "fps=\(settings.clipSampleFPS)", "-f", "image2pipe", "-c:v", "mjpeg",
                "-q:v", "3", "pipe:1",
            ], timeLimit: .seconds(probe.decodingTimeLimit)))
        } catch let error as SubprocessError {
            if case .spawnFailed = error { throw error }
            return quarantine(path, upload, reason: "unreadable_video", explanation: "ffmpeg could not read the clip: \(error)")
        } catch {
            return quarantine(path, upload, reason: "unreadable_video", explanation: "ffprobe could not read the clip: \(error)")
        }
        let clipId = ids.next()
        let startTime = (Self.modified(path) ?? now()).addingTimeInterval(-probe.duration)
        let fileExtension = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard let bytes = FileManager.default.contents(atPath: path) else { return }
        let sha256 = Digest.sha256Hex(bytes)
        let uri = try media.adopt(fileAt: URL(fileURLWithPath: path),
                                  at: FileSystemMediaStore.clipPath(device: camera.deviceId ?? camera.slug, day: now(), clipId: clipId,
                                                                    fileExtension: fileExtension))
        let clip = VideoClipRepository.NewClip(
            id: clipId, cameraId: camera.id, storageURI: uri, sha256: sha256, sizeBytes: Int64(bytes.count),
            format: fileExtension == "mkv" ? "mkv" : fileExtension == "avi" ? "avi" : "mp4", probe: probe, startTime: startTime,
            retentionUntil: now().addingTimeInterval(Self.clipRetention))
        let logger = self.logger
        do {
            try await database.transaction { try await VideoClipRepository($0, logger: logger).insert(clip) }
        } catch {
            try? media.remove(uri)
            throw error
        }
        let offsets = VideoProbe.sampleOffsets(duration: probe.duration, fps: settings.clipSampleFPS)
        var stored = 0
        for (index, bytes) in frames.enumerated() {
            let offset = index < offsets.count ? offsets[index] : Double(index) / settings.clipSampleFPS
            do {
                let frame = try IncomingFrame(
                    cameraId: camera.id, deviceId: camera.deviceId ?? camera.slug, capturedAt: startTime.addingTimeInterval(offset),
                    source: .videoClip, bytes: bytes,
                    meta: .object(["clip_id": .string(clipId.uuidString.lowercased()), "offset_seconds": .number(offset)]))
                _ = try await writer.store(frame)
                stored += 1
            } catch {
                logger.warning("a frame of a clip could not be stored", metadata: ["clip_id": "\(clipId)", "error": .error(error)])
            }
        }
        let sampled = stored
        try await database.transaction { try await VideoClipRepository($0, logger: logger).recordSampledFrames(clipId: clipId, count: sampled) }
        logger.info("clip stored", metadata: ["file": "\(upload.relativePath)", "clip_id": "\(clipId)", "frames": "\(stored)",
                                              "duration": "\(probe.duration)", "codec": "\(probe.codec)"])
    }

    /// The camera of an upload folder, registering one when that is allowed.
    private func camera(for folder: String) async throws -> Camera? {
        let logger = self.logger
        if let camera = try await database.read({ try await CameraRepository($0, logger: logger).find(folder: folder) }) {
            return camera
        }
        guard settings.autoRegister else { return nil }
        let id = ids.next()
        let input = CameraInput(name: String(folder.prefix(100)), sourceKind: .ftpFolder, folderPath: folder)
        let auditId = ids.next()
        let time = now()
        do {
            return try await database.transaction { connection in
                // A folder's camera has no stream address, so nothing to seal.
                let camera = try await CameraRegistration.create(input, id: id, on: connection, logger: logger, secrets: nil)
                try await AuditRepository(connection, logger: logger).record(
                    AuditEntry(actor: "system:folder_watcher", action: "camera_auto_registered", resourceType: "camera",
                               resourceId: id.uuidString, details: .object(["folder": .string(folder)])),
                    id: auditId, at: time)
                logger.notice("camera registered for a new upload folder", metadata: ["folder": "\(folder)", "slug": "\(camera.slug)"])
                return camera
            }
        } catch StoreError.duplicate {
            // Another process registered it first.
            return try await database.read { try await CameraRepository($0, logger: logger).find(folder: folder) }
        }
    }

    /// Moves a file that cannot become a capture to `<quarantine>/<its path>`, with a note beside it.
    private func quarantine(_ path: String, _ upload: FolderUpload, reason: String, explanation: String) {
        let destination = settings.quarantine.appendingPathComponent(upload.relativePath)
        do {
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            var target = destination
            var attempt = 1
            while FileManager.default.fileExists(atPath: target.path) {
                attempt += 1
                target = destination.deletingPathExtension().appendingPathExtension("\(attempt).\(destination.pathExtension)")
            }
            if rename(path, target.path) != 0 {
                try FileManager.default.copyItem(atPath: path, toPath: target.path)
                unlink(path)
            }
            let note = "\(reason): \(explanation)\nfrom: \(upload.relativePath)\nat: \(now().formatted(.iso8601))\n"
            try Data(note.utf8).write(to: target.appendingPathExtension("reason.txt"))
            logger.warning("upload moved to quarantine", metadata: ["file": "\(upload.relativePath)", "reason": "\(reason)",
                                                                     "to": "\(target.path)"])
        } catch {
            logger.error("an upload could not be quarantined; it is left in place",
                         metadata: ["file": "\(upload.relativePath)", "reason": "\(reason)", "error": .error(error)])
        }
    }

    static func describe(_ problem: JPEGInspector.Problem) -> (String, String) {
        if case .notAJPEG = problem { return (problem.code, "The file is named as an image but is not a JPEG.") }
        return (problem.code, problem.message)
    }

    static func fileSize(_ path: String) -> Int? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
