import Foundation

/// Thresholds of the suspicious-activity detectors (seed 002 activity types).
public struct ActivityThresholds: Sendable, Equatable {
    /// A person staying this long in one zone is loitering.
    public var loiterSeconds: TimeInterval = 60
    /// Anything else (a vehicle) staying this long in one zone exceeds its dwell time.
    public var dwellSeconds: TimeInterval = 300
    /// This many people in one frame is a crowd.
    public var crowdSize = 5
    /// Entering one zone this many times within `repeatedEntryWindow` is repeated entry.
    public var repeatedEntries = 3
    public var repeatedEntryWindow: TimeInterval = 600
    /// A person moving faster than this, in frame widths per second over two steps in a row, is running.
    public var runningSpeed = 0.5
    /// A bag standing still this long with no person near it is abandoned.
    public var abandonedSeconds: TimeInterval = 60
    /// "Near", as a distance between centres in frame widths.
    public var ownerDistance = 0.2
    /// Two sightings further apart than this are separate visits.
    public var visitGap: TimeInterval = 30
    /// In a watched area, changed pixels above this fraction mean something was taken or left.
    public var watchAreaThreshold = 0.22

    public init() {}
}

/// One sighting of a tracked object: when, where (box in 0...1 of the frame) and in which zones.
public struct Sighting: Sendable, Equatable {
    public var time: Date
    public var box: PixelBox
    public var confidence: Double
    public var zoneIds: [UUID]

    public init(time: Date, box: PixelBox, confidence: Double, zoneIds: [UUID]) {
        self.time = time
        self.box = box
        self.confidence = confidence
        self.zoneIds = zoneIds
    }

    var centre: (x: Double, y: Double) { ((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2) }
}

/// A tracked object's sightings, oldest first.
public struct TrackHistory: Sendable, Equatable {
    public var trackId: Int64
    public var objectType: String
    public var sightings: [Sighting]
    /// Since when it has stood still, if it does.
    public var stationarySince: Date?
    /// When it was last seen, counting frames where it stood still and added no detection.
    public var lastSeenAt: Date

    public init(trackId: Int64, objectType: String, sightings: [Sighting], stationarySince: Date? = nil, lastSeenAt: Date? = nil) {
        self.trackId = trackId
        self.objectType = objectType
        self.sightings = sightings.sorted { $0.time < $1.time }
        self.stationarySince = stationarySince
        self.lastSeenAt = lastSeenAt ?? sightings.map(\.time).max() ?? .distantPast
    }
}

/// A suspicious activity found in an event (a `suspicious_activity_events` row).
public struct SuspiciousFinding: Sendable, Equatable {
    public var type: ActivityType
    public var severity: Severity
    public var confidence: Double
    public var zoneId: UUID?
    public var time: Date
    /// Seed 002's activity-specific details.
    public var details: [String: JSONValue]
    /// What makes two findings the same: the same activity by the same object in the same
    /// place is reported once even when it spans several events.
    public var key: String

    public init(type: ActivityType, severity: Severity, confidence: Double, zoneId: UUID?, time: Date, details: [String: JSONValue],
                key: String) {
        self.type = type
        self.severity = severity
        self.confidence = confidence
        self.zoneId = zoneId
        self.time = time
        self.details = details
        self.key = key
    }
}

/// Finds seed 002's suspicious activities in the tracks of an event.
public struct SuspiciousActivityDetector: Sendable {
    public var thresholds: ActivityThresholds
    public var zones: [UUID: CameraZone]
    /// When activity is expected; outside it, people and vehicles are "after hours".
    public var schedule: WeeklySchedule

    public static let bagClasses: Set = ["backpack", "handbag", "suitcase"]
    public static let vehicleClasses: Set = ["car", "truck", "bus", "motorcycle", "bicycle"]

    public init(thresholds: ActivityThresholds, zones: [CameraZone], schedule: WeeklySchedule) {
        self.thresholds = thresholds
        self.zones = Dictionary(zones.map { ($0.id, $0) }) { first, _ in first }
        self.schedule = schedule
    }

    /// The findings for tracks seen in an event, ordered by time then type. `eventId` names
    /// findings that belong to the event as a whole (crowding, after hours); `now` is when the
    /// event is judged (an abandoned bag counts the time it has stood still until then).
    public func findings(tracks: [TrackHistory], eventId: UUID, now: Date) -> [SuspiciousFinding] {
        var found: [SuspiciousFinding] = []
        for track in tracks where !track.sightings.isEmpty {
            found += restrictedZones(track)
            found += staying(track)
            found += repeatedEntries(track)
            if let running = running(track) { found.append(running) }
            if let abandoned = abandoned(track, among: tracks, now: now) { found.append(abandoned) }
        }
        if let crowd = crowding(tracks, eventId: eventId) { found.append(crowd) }
        if let late = afterHours(tracks, eventId: eventId) { found.append(late) }
        return found.sorted { ($0.time, $0.type.rawValue, $0.key) < ($1.time, $1.type.rawValue, $1.key) }
    }

    /// Intrusion (a person) or zone breach (a vehicle) in a restricted zone: once per track and zone.
    /// An animal wandering in is neither.
    func restrictedZones(_ track: TrackHistory) -> [SuspiciousFinding] {
        guard track.objectType == "person" || Self.vehicleClasses.contains(track.objectType) else { return [] }
        var found: [SuspiciousFinding] = []
        var reported: Set<UUID> = []
        for sighting in track.sightings {
            for zoneId in sighting.zoneIds where !reported.contains(zoneId) {
                guard let zone = zones[zoneId], zone.zoneType == .restricted else { continue }
                reported.insert(zoneId)
                let person = track.objectType == "person"
                let type: ActivityType = person ? .intrusion : .zoneBreach
                let afterHours = !schedule.contains(sighting.time)
                let severity: Severity = person ? (afterHours ? .critical : .high) : (afterHours ? .high : .medium)
                found.append(SuspiciousFinding(
                    type: type, severity: severity, confidence: sighting.confidence, zoneId: zoneId, time: sighting.time,
                    details: ["zone_name": .string(zone.name), "entry_point": Self.point(sighting.footPoint),
                              "object_type": .string(track.objectType), "track_id": .number(Double(track.trackId))],
                    key: "\(type.rawValue):track:\(track.trackId):zone:\(zoneId.uuidString.lowercased())"))
            }
        }
        return found
    }

    /// Loitering (a person) or dwell time (anything else) in one zone: the longest visit beyond the threshold.
    func staying(_ track: TrackHistory) -> [SuspiciousFinding] {
        let person = track.objectType == "person"
        let limit = person ? thresholds.loiterSeconds : thresholds.dwellSeconds
        var found: [SuspiciousFinding] = []
        for zoneId in Set(track.sightings.flatMap(\.zoneIds)).sorted(by: { $0.uuidString < $1.uuidString }) {
            guard let zone = zones[zoneId], zone.zoneType != .sidewalk else { continue }
            let longest = visits(of: track, in: zoneId).max { $0.duration < $1.duration }
            guard let longest, longest.duration >= limit else { continue }
            let type: ActivityType = person ? .loitering : .dwellTime
            let severity: Severity = !schedule.contains(longest.end.time) ? .high : (person ? .medium : .low)
            found.append(SuspiciousFinding(
                type: type, severity: severity, confidence: longest.end.confidence, zoneId: zoneId, time: longest.end.time,
                details: ["duration_seconds": .number(longest.duration.rounded()), "location": Self.point(longest.end.footPoint),
                          "zone_name": .string(zone.name), "object_type": .string(track.objectType),
                          "threshold_seconds": .number(limit), "track_id": .number(Double(track.trackId))],
                key: "\(type.rawValue):track:\(track.trackId):zone:\(zoneId.uuidString.lowercased())"))
        }
        return found
    }

    /// Repeated entry: a track entering one zone `repeatedEntries` times within the window.
    func repeatedEntries(_ track: TrackHistory) -> [SuspiciousFinding] {
        var found: [SuspiciousFinding] = []
        for zoneId in Set(track.sightings.flatMap(\.zoneIds)).sorted(by: { $0.uuidString < $1.uuidString }) {
            guard let zone = zones[zoneId] else { continue }
            let entries = visits(of: track, in: zoneId).map(\.start)
            guard entries.count >= thresholds.repeatedEntries else { continue }
            for last in (thresholds.repeatedEntries - 1)..<entries.count {
                let first = entries[last - thresholds.repeatedEntries + 1]
                guard entries[last].time.timeIntervalSince(first.time) <= thresholds.repeatedEntryWindow else { continue }
                found.append(SuspiciousFinding(
                    type: .repeatedEntry, severity: .medium, confidence: entries[last].confidence, zoneId: zoneId, time: entries[last].time,
                    details: ["entries": .number(Double(entries.count)), "window_seconds": .number(thresholds.repeatedEntryWindow),
                              "zone_name": .string(zone.name), "object_type": .string(track.objectType),
                              "track_id": .number(Double(track.trackId))],
                    key: "repeated_entry:track:\(track.trackId):zone:\(zoneId.uuidString.lowercased())"))
                break
            }
        }
        return found
    }

    /// Running: a person faster than the threshold over two consecutive steps.
    func running(_ track: TrackHistory) -> SuspiciousFinding? {
        guard track.objectType == "person", track.sightings.count >= 3 else { return nil }
        var fastSteps = 0
        for (previous, next) in zip(track.sightings, track.sightings.dropFirst()) {
            let seconds = next.time.timeIntervalSince(previous.time)
            guard seconds > 0, seconds <= 5 else {
                fastSteps = 0
                continue
            }
            let (a, b) = (previous.centre, next.centre)
            let speed = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot() / seconds
            fastSteps = speed >= thresholds.runningSpeed ? fastSteps + 1 : 0
            if fastSteps >= 2 {
                return SuspiciousFinding(
                    type: .running, severity: .low, confidence: next.confidence, zoneId: next.zoneIds.first, time: next.time,
                    details: ["speed": .number((speed * 100).rounded() / 100), "threshold": .number(thresholds.runningSpeed),
                              "location": Self.point(next.footPoint), "track_id": .number(Double(track.trackId))],
                    key: "running:track:\(track.trackId)")
            }
        }
        return nil
    }

    /// Abandoned object: a bag that has stood still long enough with no person near it meanwhile.
    func abandoned(_ track: TrackHistory, among tracks: [TrackHistory], now: Date) -> SuspiciousFinding? {
        guard Self.bagClasses.contains(track.objectType), let since = track.stationarySince,
              now.timeIntervalSince(since) >= thresholds.abandonedSeconds, let last = track.sightings.last else { return nil }
        let centre = last.centre
        let attended = tracks.contains { other in
            other.objectType == "person" && other.sightings.contains { sighting in
                guard sighting.time >= since else { return false }
                let c = sighting.centre
                return ((c.x - centre.x) * (c.x - centre.x) + (c.y - centre.y) * (c.y - centre.y)).squareRoot() <= thresholds.ownerDistance
            }
        }
        guard !attended else { return nil }
        let stood = now.timeIntervalSince(since)
        return SuspiciousFinding(
            type: .abandonedObject, severity: .high, confidence: last.confidence, zoneId: last.zoneIds.first, time: now,
            details: ["object_type": .string(track.objectType), "stationary_seconds": .number(stood.rounded()),
                      "location": Self.point(last.footPoint), "threshold_seconds": .number(thresholds.abandonedSeconds),
                      "track_id": .number(Double(track.trackId))],
            key: "abandoned_object:track:\(track.trackId)")
    }

    /// Crowding: the most people seen at one moment reaches the crowd size.
    func crowding(_ tracks: [TrackHistory], eventId: UUID) -> SuspiciousFinding? {
        var byTime: [Date: [Sighting]] = [:]
        for track in tracks where track.objectType == "person" {
            for sighting in track.sightings { byTime[sighting.time, default: []].append(sighting) }
        }
        guard let (time, people) = byTime.max(by: { ($0.value.count, $1.key) < ($1.value.count, $0.key) }),
              people.count >= thresholds.crowdSize else { return nil }
        let x = people.map(\.centre.x).reduce(0, +) / Double(people.count)
        let y = people.map(\.centre.y).reduce(0, +) / Double(people.count)
        return SuspiciousFinding(
            type: .crowding, severity: people.count >= thresholds.crowdSize * 2 ? .high : .medium,
            confidence: people.map(\.confidence).reduce(0, +) / Double(people.count), zoneId: nil, time: time,
            details: ["person_count": .number(Double(people.count)), "cluster_center": .object(["x": .number(Self.round(x)), "y": .number(Self.round(y))]),
                      "threshold": .number(Double(thresholds.crowdSize))],
            key: "crowding:event:\(eventId.uuidString.lowercased())")
    }

    /// After hours: a person or vehicle outside the expected hours.
    func afterHours(_ tracks: [TrackHistory], eventId: UUID) -> SuspiciousFinding? {
        let relevant = tracks.filter { $0.objectType == "person" || Self.vehicleClasses.contains($0.objectType) }
        guard let first = relevant.compactMap({ track in track.sightings.first { !schedule.contains($0.time) }.map { (track, $0) } })
            .min(by: { $0.1.time < $1.1.time }) else { return nil }
        let local = LocalTime(first.1.time, in: schedule.timeZone)
        return SuspiciousFinding(
            type: .afterHours, severity: first.0.objectType == "person" ? .medium : .low, confidence: first.1.confidence,
            zoneId: first.1.zoneIds.first, time: first.1.time,
            details: ["local_time": .string(local.clock), "expected_hours": .string(schedule.hoursText),
                      "object_type": .string(first.0.objectType), "track_id": .number(Double(first.0.trackId))],
            key: "after_hours:event:\(eventId.uuidString.lowercased())")
    }

    /// A track's visits to a zone: runs of sightings inside it without a gap longer than `visitGap`
    /// and without a sighting outside it in between.
    func visits(of track: TrackHistory, in zoneId: UUID) -> [(start: Sighting, end: Sighting, duration: TimeInterval)] {
        var visits: [(start: Sighting, end: Sighting, duration: TimeInterval)] = []
        var current: (start: Sighting, end: Sighting)?
        for sighting in track.sightings {
            if sighting.zoneIds.contains(zoneId) {
                if let open = current, sighting.time.timeIntervalSince(open.end.time) <= thresholds.visitGap {
                    current = (open.start, sighting)
                } else {
                    if let open = current { visits.append((open.start, open.end, open.end.time.timeIntervalSince(open.start.time))) }
                    current = (sighting, sighting)
                }
            } else if let open = current {
                visits.append((open.start, open.end, open.end.time.timeIntervalSince(open.start.time)))
                current = nil
            }
        }
        if let open = current { visits.append((open.start, open.end, open.end.time.timeIntervalSince(open.start.time))) }
        return visits
    }

    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    static func point(_ point: (x: Double, y: Double)) -> JSONValue {
        .object(["x": .number(round(point.x)), "y": .number(round(point.y))])
    }
}

extension Sighting {
    /// Where the object stands: the bottom centre of its box.
    var footPoint: (x: Double, y: Double) { ((box.x1 + box.x2) / 2, box.y2) }
}
