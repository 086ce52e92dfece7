import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import VigilCore
import VigilStore

/// Where a pulled camera's frames come from: an RTSP or MJPEG stream read by ffmpeg, or a
/// snapshot URL fetched at the camera's frame rate.
struct PullSource: Sendable, Hashable {
    var kind: CameraSourceKind
    var url: String
    var fps: Int

    /// The source a camera is pulled from, if it is pulled at all.
    init?(_ camera: Camera) {
        guard camera.isActive else { return nil }
        switch camera.sourceKind {
        case .rtsp:
            guard let url = camera.rtspUrl else { return nil }
            self.url = url
        case .mjpeg, .httpSnapshot:
            // Both are HTTP addresses, kept in `snapshot_url` (an MJPEG stream is the endless kind).
            guard let url = camera.snapshotUrl else { return nil }
            self.url = url
        case .ftpFolder, .httpPush:
            return nil
        }
        kind = camera.sourceKind
        fps = min(max(camera.fps, 1), 30)
    }

    /// The arguments that make ffmpeg read the stream and write JPEG frames at `fps` to its
    /// output, `frames` of them or until the stream ends.
    func ffmpegArguments(frames: Int? = nil) -> [String] {
        var arguments = ["-nostdin", "-v", "error"]
        if kind == .rtsp {
            // TCP survives the NAT and firewalls between sites; the timeout (µs) notices a dead camera.
            arguments += ["-rtsp_transport", "tcp", "-timeout", "10000000"]
        } else {
            arguments += ["-rw_timeout", "10000000"]
        }
        arguments += ["-i", url, "-an", "-vf", "fps=\(fps)"]
        if let frames { arguments += ["-frames:v", "\(frames)"] }
        return arguments + ["-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "4", "pipe:1"]
    }

    /// One frame from the camera now. Errors never show the address's password.
    func grab() async throws -> [UInt8] {
        do {
            switch kind {
            case .httpSnapshot:
                return try await Self.fetchSnapshot(url)
            default:
                var splitter = JPEGStreamSplitter()
                let output = try await Subprocess.run("ffmpeg", ffmpegArguments(frames: 1), outputLimit: 32 << 20,
                                                    timeLimit: .seconds(30))
                guard let frame = splitter.append(output).first else { throw StreamPuller.StreamEnded(description: "the stream gave no frame") }
                return frame
            }
        } catch {
            throw StreamPuller.StreamEnded(description: StreamURL.redacting("\(error)", passwordOf: url))
        }
    }

    /// A snapshot URL's image.
    static func fetchSnapshot(_ url: String) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "image/jpeg")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .ok else {
            throw StreamPuller.StreamEnded(description: "the snapshot URL answered \(response.status.code)")
        }
        return Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
    }
}

/// Pulls one camera's frames into the capture path for as long as its task runs, reconnecting
/// with back-off and recording each connection, loss and failed attempt in
/// `device_connectivity_logs`.
struct StreamPuller: Sendable {
    let cameraId: UUID
    let deviceId: String
    let source: PullSource
    let writer: CaptureWriter
    let database: Database
    let backoff: ReconnectBackoff
    let now: @Sendable () -> Date
    let logger: Logger

    struct StreamEnded: Error, CustomStringConvertible {
        var description: String
    }

    func run() async {
        var failures = 0
        while !Task.isCancelled {
            var connected = false
            var framesThisSession = 0
            do {
                for try await bytes in frames() {
                    if !connected {
                        connected = true
                        await record(.connected, ["source": .string(source.kind.rawValue), "after_failures": .number(Double(failures))])
                        failures = 0
                    }
                    do {
                        let frame = try IncomingFrame(cameraId: cameraId, deviceId: deviceId, source: CaptureSource(source.kind), bytes: bytes)
                        _ = try await writer.store(frame)
                        framesThisSession += 1
                    } catch let problem as JPEGInspector.Problem {
                        logger.warning("the camera sent a broken frame", metadata: ["problem": "\(problem)"])
                    }
                }
                throw StreamEnded(description: "the stream ended")
            } catch {
                if Task.isCancelled { break }
                let message = StreamURL.redacting("\(error)", passwordOf: source.url)
                if connected {
                    failures = 1
                    await record(.disconnected, ["error": .string(message), "frames": .number(Double(framesThisSession))])
                    logger.warning("camera stream lost; reconnecting", metadata: ["error": "\(message)"])
                } else {
                    failures += 1
                    await record(.reconnectFailed, ["error": .string(message), "retry_count": .number(Double(failures))])
                    logger.info("camera unreachable", metadata: ["error": "\(message)", "attempt": "\(failures)"])
                }
            }
            try? await Task.sleep(for: backoff.delay(afterFailures: failures))
        }
    }

    /// The camera's frames, as JPEG bytes, until the connection fails.
    private func frames() -> AsyncThrowingStream<[UInt8], any Error> {
        switch source.kind {
        case .httpSnapshot: snapshots()
        default: ffmpegFrames()
        }
    }

    private func ffmpegFrames() -> AsyncThrowingStream<[UInt8], any Error> {
        let source = self.source
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let process = try Subprocess("ffmpeg", source.ffmpegArguments())
                    await withTaskCancellationHandler {
                        var splitter = JPEGStreamSplitter()
                        for await chunk in process.outputChunks() {
                            for frame in splitter.append(chunk) { continuation.yield(frame) }
                        }
                    } onCancel: {
                        process.terminate()
                    }
                    let status = await process.wait()
                    let errors = process.errorText.split(separator: "\n").suffix(2).joined(separator: " | ")
                    continuation.finish(throwing: StreamEnded(description: "ffmpeg exited with status \(status)\(errors.isEmpty ? "" : ": \(errors)")"))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func snapshots() -> AsyncThrowingStream<[UInt8], any Error> {
        let source = self.source
        return AsyncThrowingStream { continuation in
            let task = Task {
                let interval = Duration.milliseconds(1000 / source.fps)
                do {
                    while !Task.isCancelled {
                        let started = ContinuousClock.now
                        continuation.yield(try await PullSource.fetchSnapshot(source.url))
                        try await Task.sleep(until: started + interval)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func record(_ event: ConnectivityRepository.Event, _ details: [String: JSONValue]) async {
        let cameraId = self.cameraId
        let time = now()
        let logger = self.logger
        do {
            try await database.transaction {
                try await ConnectivityRepository($0, logger: logger).record(cameraId: cameraId, event, details: .object(details), at: time)
            }
        } catch {
            logger.error("cannot record camera connectivity", metadata: ["event": "\(event.rawValue)", "error": .error(error)])
        }
    }
}

/// Keeps one puller running for each active camera Vigil pulls from, following changes to the
/// cameras (a new camera, a new address, a camera switched off) within `refreshInterval`.
final class StreamSupervisor: Service {
    let writer: CaptureWriter
    let database: Database
    /// Opens the cameras' sealed stream addresses, which only the pullers see whole.
    let secrets: SecretBox
    let backoff: ReconnectBackoff
    let refreshInterval: Duration
    let now: @Sendable () -> Date
    let logger: Logger

    init(writer: CaptureWriter, database: Database, secrets: SecretBox, backoff: ReconnectBackoff = ReconnectBackoff(),
         refreshInterval: Duration = .seconds(15), now: @escaping @Sendable () -> Date, logger: Logger) {
        self.writer = writer
        self.database = database
        self.secrets = secrets
        self.backoff = backoff
        self.refreshInterval = refreshInterval
        self.now = now
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.supervise() }
    }

    private func supervise() async {
        var running: [UUID: (source: PullSource, task: Task<Void, Never>)] = [:]
        defer { running.values.forEach { $0.task.cancel() } }
        while !Task.isCancelled {
            do {
                let logger = self.logger
                let secrets = self.secrets
                let cameras = try await database.read { try await CameraRepository($0, logger: logger).pulledCameras(secrets: secrets) }
                let wanted = Dictionary(cameras.compactMap { camera in PullSource(camera).map { (camera.id, (camera, $0)) } },
                                        uniquingKeysWith: { first, _ in first })
                for (id, current) in running where wanted[id]?.1 != current.source {
                    current.task.cancel()
                    running[id] = nil
                    logger.info("stopped pulling a camera", metadata: ["camera_id": "\(id)"])
                }
                for (id, (camera, source)) in wanted where running[id] == nil {
                    let puller = StreamPuller(cameraId: id, deviceId: camera.deviceId ?? camera.slug, source: source, writer: writer,
                                              database: database, backoff: backoff, now: now,
                                              logger: logger.with("camera", camera.slug))
                    running[id] = (source, Task { await puller.run() })
                    logger.info("pulling a camera", metadata: ["camera": "\(camera.slug)", "source": "\(source.kind.rawValue)",
                                                               "url": "\(StreamURL.redactingCredentials(source.url))"])
                }
            } catch {
                logger.error("cannot read the cameras to pull from", metadata: ["error": .error(error)])
            }
            try? await Task.sleep(for: refreshInterval)
        }
    }
}

/// Marks cameras that have gone silent offline (and logs it), every `interval`.
struct CameraPresenceMonitor: Service {
    let database: Database
    let offlineAfter: TimeInterval
    let interval: Duration
    let now: @Sendable () -> Date
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.watch() }
    }

    private func watch() async {
        while !Task.isCancelled {
            do {
                try await sweep()
            } catch {
                logger.error("cannot update camera presence", metadata: ["error": .error(error)])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass: cameras silent for longer than `offlineAfter` are marked offline.
    @discardableResult
    func sweep() async throws -> [UUID] {
        let time = now()
        let logger = self.logger
        let silentSince = time.addingTimeInterval(-offlineAfter)
        let marked = try await database.transaction {
            try await ConnectivityRepository($0, logger: logger).markSilentCamerasOffline(silentSince: silentSince, at: time)
        }
        if !marked.isEmpty { logger.notice("cameras went silent", metadata: ["count": "\(marked.count)"]) }
        return marked
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var logger = self
        logger[metadataKey: key] = "\(value)"
        return logger
    }
}
