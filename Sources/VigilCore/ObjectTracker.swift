import Foundation

/// An object followed from frame to frame on one camera.
public struct TrackedObject: Sendable, Equatable {
    /// The track's number (the database's), nil until it is stored.
    public var id: Int64?
    public var label: String
    public var box: PixelBox
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    /// Where the object stood when it last moved, and since when it has stood there.
    public var anchorBox: PixelBox
    public var anchorSince: Date
    public var isStationary: Bool
    public var bestConfidence: Double

    public init(id: Int64?, label: String, box: PixelBox, firstSeenAt: Date, lastSeenAt: Date, anchorBox: PixelBox,
                anchorSince: Date, isStationary: Bool, bestConfidence: Double) {
        self.id = id
        self.label = label
        self.box = box
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.anchorBox = anchorBox
        self.anchorSince = anchorSince
        self.isStationary = isStationary
        self.bestConfidence = bestConfidence
    }
}

public struct TrackerSettings: Sendable, Equatable {
    /// A detection continues a track of its class when their boxes overlap at least this much…
    public var matchIoU = 0.3
    /// …or when its centre lies within this share of the track box's diagonal (fast movers between sparse frames).
    public var matchCentreDistance = 0.5
    /// A track unseen for longer than this has ended.
    public var maxAge: TimeInterval = 15
    /// An object whose box keeps overlapping where it stopped by at least this much has not moved.
    public var stationaryIoU = 0.85
    /// An object that has not moved for this long is stationary: still tracked, no longer recorded.
    public var stationaryAfter: TimeInterval = 30
    /// A sighting this much more confident than a track's best so far is worth a new thumbnail.
    public var betterSightingMargin = 0.05

    public init() {}
}

/// What became of one detection of a frame.
public struct TrackUpdate: Sendable, Equatable {
    /// The index of the detection in the frame's list.
    public var detection: Int
    /// The index of the track in the tracker's list after the update.
    public var track: Int
    public var isNewTrack: Bool
    /// A new track, or a sighting clearly more confident than the track's best: the moment for a new thumbnail.
    public var isBestSoFar: Bool
}

/// A simple multi-object tracker per camera: detections are matched to live tracks of their class,
/// best overlap first (then nearest centre), and each track remembers where it last moved, so a
/// parked car becomes stationary instead of a detection every frame.
public struct ObjectTracker: Sendable {
    public var settings: TrackerSettings
    public private(set) var tracks: [TrackedObject]

    public init(tracks: [TrackedObject], settings: TrackerSettings = TrackerSettings()) {
        self.tracks = tracks
        self.settings = settings
    }

    /// Folds a frame's detections taken at `time` into the tracks; returns one update per detection.
    public mutating func update(with detections: [ObjectDetection], at time: Date) -> [TrackUpdate] {
        let live = tracks.indices.filter { time.timeIntervalSince(tracks[$0].lastSeenAt) <= settings.maxAge }
        var pairs: [(score: Double, detection: Int, track: Int)] = []
        for (detectionIndex, detection) in detections.enumerated() {
            for trackIndex in live where tracks[trackIndex].label == detection.label {
                let track = tracks[trackIndex].box
                let overlap = track.iou(detection.box)
                if overlap >= settings.matchIoU {
                    pairs.append((1 + overlap, detectionIndex, trackIndex))
                    continue
                }
                let diagonal = (track.width * track.width + track.height * track.height).squareRoot()
                let dx = (detection.box.x1 + detection.box.x2 - track.x1 - track.x2) / 2
                let dy = (detection.box.y1 + detection.box.y2 - track.y1 - track.y2) / 2
                let distance = (dx * dx + dy * dy).squareRoot()
                if diagonal > 0, distance <= settings.matchCentreDistance * diagonal {
                    pairs.append((1 - distance / diagonal, detectionIndex, trackIndex))
                }
            }
        }
        var matchedDetections = Set<Int>(), matchedTracks = Set<Int>()
        var updates: [TrackUpdate] = []
        for pair in pairs.sorted(by: { $0.score > $1.score })
        where !matchedDetections.contains(pair.detection) && !matchedTracks.contains(pair.track) {
            matchedDetections.insert(pair.detection)
            matchedTracks.insert(pair.track)
            let best = advance(&tracks[pair.track], with: detections[pair.detection], at: time)
            updates.append(TrackUpdate(detection: pair.detection, track: pair.track, isNewTrack: false, isBestSoFar: best))
        }
        for (index, detection) in detections.enumerated() where !matchedDetections.contains(index) {
            tracks.append(TrackedObject(id: nil, label: detection.label, box: detection.box, firstSeenAt: time, lastSeenAt: time,
                                        anchorBox: detection.box, anchorSince: time, isStationary: false,
                                        bestConfidence: detection.confidence))
            updates.append(TrackUpdate(detection: index, track: tracks.count - 1, isNewTrack: true, isBestSoFar: true))
        }
        return updates.sorted { $0.detection < $1.detection }
    }

    /// Moves a track to its new sighting; returns whether the sighting is its most confident yet.
    private func advance(_ track: inout TrackedObject, with detection: ObjectDetection, at time: Date) -> Bool {
        let best = detection.confidence >= track.bestConfidence + settings.betterSightingMargin
        track.bestConfidence = max(track.bestConfidence, detection.confidence)
        // A frame older than the track's last sighting (jobs finishing out of order) names the
        // track but does not move it back in time.
        guard time >= track.lastSeenAt else { return best }
        track.lastSeenAt = time
        track.box = detection.box
        if detection.box.iou(track.anchorBox) >= settings.stationaryIoU {
            track.isStationary = time.timeIntervalSince(track.anchorSince) >= settings.stationaryAfter
        } else {
            track.anchorBox = detection.box
            track.anchorSince = time
            track.isStationary = false
        }
        return best
    }
}
