import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilStore

/// Closes events whose window ran out or whose camera went idle, and teaches the cameras'
/// baselines the hours that ended. Both read their state from the database alone, so events
/// left open by a restart are closed (or joined by the next frame) as if nothing happened, and
/// several worker processes may run it at once.
struct EventCloser: Sendable {
    let database: Database
    let defaults: EventSettings
    let logger: Logger
    var requirements = BaselineRequirements()

    /// Closes every open event due at `now` and queues its judgement. Returns the events closed.
    @discardableResult
    func closeDue(now: Date) async throws -> [UUID] {
        let logger = self.logger
        let open = try await database.read { try await EventRepository($0, logger: logger).openEvents() }
        var closed: [UUID] = []
        for item in open {
            var ignored = ValidationReport()
            let settings = defaults.applying(cameraConfig: item.config, siteTimeZone: item.timezone, report: &ignored)
            guard now >= item.event.closesAt(settings) else { continue }
            let didClose = try await database.transaction { connection in
                // The camera's frames fold under this lock: a frame being folded right now either
                // joined before the close or opens the next event after it.
                try await DetectionRepository(connection, logger: logger).lockTracks(of: item.cameraId)
                guard try await EventRepository(connection, logger: logger).close(item.event.id, at: now) else { return false }
                try await EventFolding.enqueueJudgement(of: item.event.id, stage: .closed, jobs: JobRepository(connection, logger: logger),
                                                        now: now)
                return true
            }
            if didClose { closed.append(item.event.id) }
        }
        return closed
    }

    /// Teaches each camera's baselines the whole hours before `now` it has not learnt yet: for
    /// each hour in which the camera sent frames, the number of events (activity, by hour and day
    /// of week) and the number showing each class (by hour). Hours are counted in UTC and read in
    /// the site's time zone.
    func learnBaselines(now: Date, alpha: Double = EWMA.defaultAlpha) async throws {
        let logger = self.logger
        var cameras: [Camera] = []
        var after: UUID?
        repeat {
            let page = try await database.read { [after] connection in
                try await CameraRepository(connection, logger: logger).list(CameraRepository.Filter(isActive: true),
                                                                              page: PageRequest(after: after, limit: PageRequest.maximumLimit))
            }
            cameras += page.items
            after = page.nextCursor
        } while after != nil
        let lastWholeHour = Self.hourStart(of: now)
        for camera in cameras {
            try await database.transaction { connection in
                let baselines = BaselineRepository(connection, logger: logger)
                try await baselines.lock(cameraId: camera.id)
                // Only hours with frames count, so a new camera starts from its first frame and a
                // long outage is not learnt as quiet; at most the last 30 days are read.
                let from = max(try await baselines.learntUntil(cameraId: camera.id) ?? .distantPast,
                               lastWholeHour.addingTimeInterval(-30 * 86_400))
                guard from < lastWholeHour else { return }
                let timezone = try await SiteRepository(connection, logger: logger).find(id: camera.siteId)?.timezone ?? "UTC"
                let zone = TimeZone(identifier: timezone) ?? .gmt
                let events = EventRepository(connection, logger: logger)
                for hour in try await baselines.hoursWithFrames(cameraId: camera.id, from: from, to: lastWholeHour) {
                    let local = LocalTime(hour, in: zone)
                    let seen = try await events.activity(cameraId: camera.id, from: hour, to: hour.addingTimeInterval(3600))
                    let activity = try await baselines.activity(cameraId: camera.id, hour: local.hour, dayOfWeek: local.mondayBasedWeekday)
                    try await baselines.saveActivity(activity.adding(Double(seen.events), alpha: alpha), cameraId: camera.id,
                                                     hour: local.hour, dayOfWeek: local.mondayBasedWeekday, at: now)
                    var classes = try await baselines.classes(cameraId: camera.id, hour: local.hour)
                    for name in Set(classes.keys).union(seen.byClass.keys) {
                        classes[name] = (classes[name] ?? EWMA()).adding(Double(seen.byClass[name] ?? 0), alpha: alpha)
                    }
                    try await baselines.saveClasses(classes, cameraId: camera.id, hour: local.hour, at: now)
                }
                try await baselines.setLearntUntil(lastWholeHour, cameraId: camera.id)
            }
        }
    }

    static func hourStart(of date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
    }
}

/// Runs the event closer every `interval` and baseline learning every `baselineInterval`, until shutdown.
struct EventCloserService: Service {
    let closer: EventCloser
    var interval: Duration = .seconds(1)
    var baselineInterval: TimeInterval = 300
    let now: @Sendable () -> Date

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastLearnt: Date?
            while !Task.isCancelled {
                let time = now()
                do {
                    try await closer.closeDue(now: time)
                    if lastLearnt.map({ time.timeIntervalSince($0) >= baselineInterval }) ?? true {
                        lastLearnt = time
                        try await closer.learnBaselines(now: time)
                    }
                } catch is CancellationError {
                    return
                } catch {
                    closer.logger.warning("cannot close events or learn baselines", metadata: ["error": .error(error)])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
