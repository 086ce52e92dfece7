import Foundation
import Logging
import NIOPosix
import Synchronization
import VigilCore
import VigilStore
import VigilVision

/// A frame that passed validation and is attributed to a camera, whatever path it came by:
/// an HTTP push, a file in a watched folder, a frame sampled from a clip, or a stream.
struct IncomingFrame: Sendable {
    var cameraId: UUID
    /// Names the camera's staging folder: the device id it reports, or its slug.
    var deviceId: String
    var deviceSeq: Int64?
    var capturedAt: Date?
    var source: CaptureSource
    var bytes: [UInt8]
    var info: JPEGInspector.Info
    var meta: JSONValue?

    /// Checks the JPEG before anything is stored: its structure and size (``JPEGInspector``),
    /// then its image data, read once by the decoder (a stream corrupted midway is refused).
    init(cameraId: UUID, deviceId: String, deviceSeq: Int64? = nil, capturedAt: Date? = nil, source: CaptureSource,
         bytes: [UInt8], meta: JSONValue? = nil) throws(JPEGInspector.Problem) {
        self.info = try JPEGInspector.inspect(bytes)
        try JPEGDecoder.verify(bytes)
        self.cameraId = cameraId
        self.deviceId = deviceId
        self.deviceSeq = deviceSeq
        self.capturedAt = capturedAt
        self.source = source
        self.bytes = bytes
        self.meta = meta
    }
}

/// What became of a frame: a new capture, or the capture it repeats.
struct CaptureReceipt: Codable, Sendable, Equatable {
    var captureId: UUID
    var duplicate: Bool
    var width: Int?
    var height: Int?
    var sha256: String
    var receivedAt: Date?

    enum CodingKeys: String, CodingKey {
        case duplicate, width, height, sha256
        case captureId = "capture_id"
        case receivedAt = "received_at"
    }
}

/// The one way a frame becomes a capture (seed 004): its file is made durable (file, then folder), then the capture,
/// its media file and its analysis job are committed, and only then is the frame acknowledged.
///
/// Frames arriving together share one transaction (group commit): while one batch commits, the
/// next gathers, so the database sees a handful of statements per batch instead of a dozen per
/// frame. A repeated device sequence number or identical bytes within a window, in the database
/// or earlier in the same batch, is answered with the existing capture and stored once. If a
/// batch fails, its frames are retried one by one so one bad frame fails alone. A frame whose
/// row did not commit has its file removed; a crash between the two leaves a file that the
/// retention sweep removes, never a row without a file.
final class CaptureWriter: Sendable {
    let database: Database
    let media: any MediaStore
    let ids: UUIDv7Generator
    let now: @Sendable () -> Date
    let logger: Logger
    let files: NIOThreadPool

    /// A repeated device sequence number within this time is the same frame sent again.
    static let sequenceWindow: TimeInterval = 24 * 3600
    /// Identical bytes within this time are the same frame sent again.
    static let contentWindow: TimeInterval = 10 * 60
    /// Staging frames are deleted within minutes of analysis; this is the hard cap (seed 004).
    static let stagingRetention: TimeInterval = 24 * 3600
    /// The most frames one transaction carries.
    static let maximumBatch = 128

    private struct Pending: Sendable {
        var capture: CaptureRepository.NewCapture
        var continuation: CheckedContinuation<CaptureReceipt, any Error>
    }

    private struct Queue: Sendable {
        var pending: [Pending] = []
        var draining = false
    }

    private let queue = Mutex(Queue())

    /// Threads for file work. Writing and `fsync` mostly wait on the disk, so there are more of
    /// them than cores: with one per core, frames would queue behind each other's syncs.
    static let fileThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    init(database: Database, media: any MediaStore, ids: UUIDv7Generator, now: @escaping @Sendable () -> Date,
         logger: Logger, files: NIOThreadPool = CaptureWriter.fileThreads) {
        self.database = database
        self.media = media
        self.ids = ids
        self.now = now
        self.logger = logger
        self.files = files
    }

    func store(_ frame: IncomingFrame) async throws -> CaptureReceipt {
        let receivedAt = now()
        let captureId = ids.next()
        let relativePath = FileSystemMediaStore.stagingPath(device: frame.deviceId, day: receivedAt, captureId: captureId)
        let media = self.media
        let bytes = frame.bytes
        // Hashing and the fsync'd write run on the file threads: they would otherwise hold one of
        // the few threads that serve every request. The folder is synced once for the whole batch.
        let (uri, sha256) = try await files.runIfActive {
            let sha256 = Digest.sha256Hex(bytes)
            return (try media.writeFile(bytes, at: relativePath), sha256)
        }
        let capture = CaptureRepository.NewCapture(
            id: captureId, receivedAt: receivedAt, cameraId: frame.cameraId, deviceId: frame.deviceId, deviceSeq: frame.deviceSeq,
            capturedAt: frame.capturedAt, source: frame.source, storageURI: uri, sha256: sha256, byteSize: bytes.count,
            width: frame.info.width, height: frame.info.height, jobId: ids.next(),
            retentionUntil: receivedAt.addingTimeInterval(Self.stagingRetention), meta: frame.meta)
        do {
            let receipt = try await withCheckedThrowingContinuation { continuation in
                let leads = queue.withLock { queue in
                    queue.pending.append(Pending(capture: capture, continuation: continuation))
                    let idle = !queue.draining
                    queue.draining = true
                    return idle
                }
                if leads { Task { await self.drain() } }
            }
            if receipt.duplicate { await removeFile(uri) }
            return receipt
        } catch {
            await removeFile(uri)
            throw error
        }
    }

    /// Syncs the folders of `uris`, all at once: one file thread per folder.
    private func syncFolders(of uris: [String]) async throws {
        var oneFilePerFolder: [Substring: String] = [:]
        for uri in uris { oneFilePerFolder[uri[..<(uri.lastIndex(of: "/") ?? uri.endIndex)]] = uri }
        let media = self.media
        let files = self.files
        try await withThrowingTaskGroup(of: Void.self) { group in
            for uri in oneFilePerFolder.values {
                group.addTask { try await files.runIfActive { try media.syncFolders(of: [uri]) } }
            }
            try await group.waitForAll()
        }
    }

    /// Removes a file no row will name. If that fails, the retention sweep removes it later.
    private func removeFile(_ uri: String) async {
        let media = self.media
        do {
            try await files.runIfActive { try media.remove(uri) }
        } catch {
            logger.warning("cannot remove a frame's file; the retention sweep will", metadata: ["uri": "\(uri)", "error": .error(error)])
        }
    }

    /// Commits batches until none is waiting.
    private func drain() async {
        while true {
            let batch: [Pending] = queue.withLock { queue in
                let batch = Array(queue.pending.prefix(Self.maximumBatch))
                queue.pending.removeFirst(batch.count)
                if batch.isEmpty { queue.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let receipts = try await commit(batch.map(\.capture))
                for (pending, receipt) in zip(batch, receipts) { pending.continuation.resume(returning: receipt) }
            } catch where batch.count > 1 {
                logger.warning("a batch of frames failed; retrying them one by one", metadata: ["error": .error(error)])
                for pending in batch {
                    do {
                        pending.continuation.resume(returning: try await commit([pending.capture])[0])
                    } catch {
                        pending.continuation.resume(throwing: error)
                    }
                }
            } catch {
                batch[0].continuation.resume(throwing: error)
            }
        }
    }

    /// Makes the files' names durable, then, in one transaction, finds repeats and inserts the
    /// rest of `captures` with their jobs.
    private func commit(_ captures: [CaptureRepository.NewCapture]) async throws -> [CaptureReceipt] {
        try await syncFolders(of: captures.map(\.storageURI))
        let logger = self.logger
        let newest = captures.map(\.receivedAt).max() ?? now()
        return try await database.transaction { connection in
            let repository = CaptureRepository(connection, logger: logger)
            try await repository.lockCameras(captures.map(\.cameraId))
            let stored = try await repository.repeats(
                of: captures.map { .init(cameraId: $0.cameraId, deviceSeq: $0.deviceSeq, sha256: $0.sha256) },
                seqSince: newest.addingTimeInterval(-Self.sequenceWindow), shaSince: newest.addingTimeInterval(-Self.contentWindow))
            var earlier = RepeatIndex()
            var receipts: [CaptureReceipt] = []
            var accepted: [CaptureRepository.NewCapture] = []
            for (index, capture) in captures.enumerated() {
                if let existing = stored[index] ?? earlier.match(capture) {
                    receipts.append(CaptureReceipt(captureId: existing, duplicate: true, sha256: capture.sha256))
                    continue
                }
                earlier.add(capture)
                accepted.append(capture)
                receipts.append(CaptureReceipt(captureId: capture.id, duplicate: false, width: capture.width, height: capture.height,
                                               sha256: capture.sha256, receivedAt: capture.receivedAt))
            }
            try await repository.insert(accepted)
            try await JobRepository(connection, logger: logger).enqueue(accepted.map { capture in
                JobRepository.NewJob(id: capture.jobId, type: .analyzeCapture, queue: "analysis", payload: .object([
                    "capture_id": .string(capture.id.uuidString.lowercased()),
                    "camera_id": .string(capture.cameraId.uuidString.lowercased()),
                    "received_at": .string(capture.receivedAt.formatted(.iso8601)),
                ]), createdAt: capture.receivedAt)
            })
            return receipts
        }
    }

    /// Frames accepted earlier in the same batch, by the keys that make a later frame their repeat.
    private struct RepeatIndex {
        private var bySequence: [String: UUID] = [:]
        private var byContent: [String: UUID] = [:]

        func match(_ capture: CaptureRepository.NewCapture) -> UUID? {
            if let seq = capture.deviceSeq, let id = bySequence["\(capture.cameraId)/\(seq)"] { return id }
            return byContent["\(capture.cameraId)/\(capture.sha256)"]
        }

        mutating func add(_ capture: CaptureRepository.NewCapture) {
            if let seq = capture.deviceSeq { bySequence["\(capture.cameraId)/\(seq)"] = capture.id }
            byContent["\(capture.cameraId)/\(capture.sha256)"] = capture.id
        }
    }
}
