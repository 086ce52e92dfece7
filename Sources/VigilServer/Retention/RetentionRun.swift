import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilStore

#if canImport(Glibc)
import Glibc
#endif

/// One pass of retention (seed 004 §4, seed 002 §17): staging frames, expired media, partitions,
/// and the oldest media when the disk runs short. Shared by the hourly service and
/// `vigil retention run`.
public struct RetentionRun: Sendable {
    let database: Database
    let media: any MediaStore
    let policy: RetentionPolicy
    let ids: UUIDv7Generator
    let logger: Logger
    /// The fraction of the media disk that is free, `nil` when it cannot be told.
    let freeDiskFraction: @Sendable () -> Double?
    /// File times are real times, whatever clock the pass is given.
    let fileClock: @Sendable () -> Date = { Date() }

    static let batchSize = 500

    public init(database: Database, media: any MediaStore, policy: RetentionPolicy = RetentionPolicy(),
                ids: UUIDv7Generator = UUIDv7Generator(), logger: Logger,
                freeDiskFraction: @escaping @Sendable () -> Double?) {
        self.database = database
        self.media = media
        self.policy = policy
        self.ids = ids
        self.logger = logger
        self.freeDiskFraction = freeDiskFraction
    }

    /// The free fraction of the filesystem holding `folder`.
    public static func freeFraction(of folder: URL) -> Double? {
        var stats = statvfs()
        guard statvfs(folder.path, &stats) == 0, stats.f_blocks > 0 else { return nil }
        return Double(stats.f_bavail) / Double(stats.f_blocks)
    }

    /// Does the pass at `now`; with `dryRun`, only counts what it would do.
    public func perform(now: Date, dryRun: Bool) async throws -> RetentionReport {
        var report = RetentionReport(dryRun: dryRun)
        try await partitions(now: now, dryRun: dryRun, into: &report)
        let logger = self.logger
        let policy = self.policy
        if !dryRun {
            // Failed-sign-in counters untouched for a day that block nothing any more.
            try await database.transaction {
                try await LoginThrottleRepository($0, logger: logger).purge(before: now.addingTimeInterval(-86_400), now: now)
            }
        }

        // Tracks outlive nothing that names them: once their detections' partitions are gone, they go.
        if let cutoff = policy.partitionCutoff(for: "detections", now: now) {
            while true {
                let removed = try await database.transaction { try await RetentionRepository($0, logger: logger)
                    .removeEndedTracks(lastSeenBefore: cutoff, limit: dryRun ? 1_000_000 : Self.batchSize, dryRun: dryRun) }
                report.tracksRemoved += removed
                if dryRun || removed < Self.batchSize { break }
            }
        }

        // Faces cameras saw go with their detections; the galleries stay.
        if let cutoff = policy.partitionCutoff(for: "detections", now: now) {
            while true {
                let removed = try await database.transaction { try await RetentionRepository($0, logger: logger)
                    .removeSightingFaces(seenBefore: cutoff, limit: dryRun ? 1_000_000 : Self.batchSize, dryRun: dryRun) }
                if !dryRun { FaceImages.remove(removed, media: media, logger: logger) }
                report.sightingFacesRemoved += removed.count
                if dryRun || removed.count < Self.batchSize { break }
            }
        }

        // A rule's match on an event is remembered (so that it is raised once) as long as the event is kept.
        if let cutoff = policy.partitionCutoff(for: "events", now: now) {
            while true {
                let removed = try await database.transaction { try await RetentionRepository($0, logger: logger)
                    .removeAlertGuards(matchedBefore: cutoff, limit: dryRun ? 1_000_000 : Self.batchSize, dryRun: dryRun) }
                report.alertGuardsRemoved += removed
                if dryRun || removed < Self.batchSize { break }
            }
        }

        // Staging frames, in batches: rows first (committed), then files.
        while true {
            let due = try await database.read { try await RetentionRepository($0, logger: logger)
                .dueStagingFrames(now: now, afterAnalysis: policy.stagingAfterAnalysis, hardCap: policy.stagingHardCap,
                                  limit: dryRun ? 1_000_000 : Self.batchSize) }
            if dryRun {
                report.stagingFramesDiscarded = due.count
                report.bytesFreed += due.reduce(0) { $0 + $1.byteSize }
                break
            }
            guard !due.isEmpty else { break }
            try await database.transaction { try await RetentionRepository($0, logger: logger).discardStagingFrames(due.compactMap(\.captureId), now: now) }
            remove(due, into: &report)
            report.stagingFramesDiscarded += due.count
        }

        // Media past their retention.
        while true {
            let due = try await database.read { try await RetentionRepository($0, logger: logger)
                .expiredMedia(now: now, limit: dryRun ? 1_000_000 : Self.batchSize) }
            if dryRun {
                report.expiredMediaDeleted = due.count
                report.bytesFreed += due.reduce(0) { $0 + $1.byteSize }
                break
            }
            guard !due.isEmpty else { break }
            try await database.transaction { try await RetentionRepository($0, logger: logger).deleteMedia(due.compactMap(\.mediaId)) }
            remove(due, into: &report)
            report.expiredMediaDeleted += due.count
        }

        // Disk pressure: the oldest media go first, a small batch at a time, until there is room.
        while !dryRun, let free = freeDiskFraction(), free < policy.minimumFreeDiskFraction {
            let oldest = try await database.read { try await RetentionRepository($0, logger: logger).oldestMedia(limit: 50) }
            guard !oldest.isEmpty else {
                logger.warning("disk space is low and no media are left to delete", metadata: ["free": "\(free)"])
                break
            }
            try await database.transaction { try await RetentionRepository($0, logger: logger).deleteMedia(oldest.compactMap(\.mediaId)) }
            remove(oldest, into: &report)
            report.diskPressureMediaDeleted += oldest.count
        }

        try await sweepOrphans(dryRun: dryRun, into: &report)

        if !dryRun {
            let details = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(report))
            let id = ids.next()
            try await database.transaction { connection in
                try await AuditRepository(connection, logger: logger).record(
                    AuditEntry(actor: "system:retention", action: "retention_run", resourceType: "system", details: details),
                    id: id, at: now)
            }
        }
        logger.info("retention pass", metadata: [
            "dry_run": "\(dryRun)", "staging": "\(report.stagingFramesDiscarded)", "expired": "\(report.expiredMediaDeleted)",
            "disk_pressure": "\(report.diskPressureMediaDeleted)", "bytes": "\(report.bytesFreed)",
            "partitions_dropped": "\(report.partitionsDropped)", "orphans": "\(report.orphanFilesRemoved)", "tracks": "\(report.tracksRemoved)",
        ])
        return report
    }

    /// Removes files that no row names and that are older than the grace period: what a crash
    /// between writing a frame and committing it leaves behind.
    private func sweepOrphans(dryRun: Bool, into report: inout RetentionReport) async throws {
        let cutoff = fileClock().addingTimeInterval(-policy.orphanGrace)
        let logger = self.logger
        for folder in RetentionPolicy.sweptFolders {
            let candidates = try media.files(under: folder).filter { $0.modified <= cutoff }
            for start in stride(from: 0, to: candidates.count, by: 1000) {
                let chunk = Array(candidates[start..<min(start + 1000, candidates.count)])
                let uris = chunk.map(\.uri)
                let known = try await database.read { try await RetentionRepository($0, logger: logger).referenced(uris) }
                for file in chunk where !known.contains(file.uri) {
                    if !dryRun {
                        do {
                            try media.remove(file.uri)
                        } catch {
                            logger.warning("cannot remove an orphan file", metadata: ["uri": "\(file.uri)", "error": .error(error)])
                            continue
                        }
                    }
                    report.orphanFilesRemoved += 1
                    report.bytesFreed += file.byteSize
                }
            }
        }
    }

    private func partitions(now: Date, dryRun: Bool, into report: inout RetentionReport) async throws {
        let logger = self.logger
        let policy = self.policy
        for table in Migrations.partitionedTables {
            let cutoff = policy.partitionCutoff(for: table, now: now)
            let (created, dropped) = try await database.transaction { connection -> ([String], [String]) in
                let manager = PartitionManager(logger: logger)
                if dryRun {
                    let old = try await manager.monthlyPartitions(of: table, on: connection)
                        .filter { cutoff.map($0.isEntirelyBefore) ?? false }.map(\.name)
                    return ([], old)
                }
                let created = try await manager.ensurePartitions(of: table, around: now, monthsAhead: policy.monthsAhead, on: connection)
                guard let cutoff else { return (created, []) }
                return (created, try await manager.dropPartitions(of: table, olderThan: cutoff, on: connection))
            }
            report.partitionsCreated += created
            report.partitionsDropped += dropped
        }
    }

    private func remove(_ files: [RetentionRepository.DueFile], into report: inout RetentionReport) {
        for file in files {
            if !media.exists(file.storageURI) {
                report.missingFiles += 1
                continue
            }
            do {
                try media.remove(file.storageURI)
                report.bytesFreed += file.byteSize
            } catch {
                logger.error("cannot delete a media file", metadata: ["uri": "\(file.storageURI)", "error": .error(error)])
            }
        }
    }
}

/// Runs retention every `interval` until shutdown, the first pass `initialDelay` after start-up,
/// when the schema step of start-up is over.
public struct RetentionService: Service {
    let run: RetentionRun
    let interval: Duration
    let initialDelay: Duration
    let now: @Sendable () -> Date

    public init(run: RetentionRun, interval: Duration = .seconds(3600), initialDelay: Duration = .seconds(60),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.run = run
        self.interval = interval
        self.initialDelay = initialDelay
        self.now = now
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Cancellation (shutdown) ends a wait early; the loop condition then ends the service.
            try? await Task.sleep(for: initialDelay)
            while !Task.isCancelled {
                do {
                    _ = try await run.perform(now: now(), dryRun: false)
                } catch is CancellationError {
                    return
                } catch {
                    run.logger.error("retention pass failed", metadata: ["error": .error(error)])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
