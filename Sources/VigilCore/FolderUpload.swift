import Foundation

/// What a camera's FTP upload is and which camera it belongs to (seed 000: `<root>/<Camera Name>/...`).
public struct FolderUpload: Equatable, Sendable {
    public enum Kind: String, Sendable, Equatable {
        case image
        /// A short clip whose frames are sampled.
        case video
        /// Still being written under a temporary name; its final name arrives by rename.
        case partial
        /// Anything else: moved aside to quarantine, never retried.
        case other
    }

    /// The path below the watched root, e.g. `Front Door/snap/MDAlarm_20260101-120000.jpg`.
    public var relativePath: String
    /// The camera's folder: the first component of the path; nil for a file directly in the root.
    public var cameraFolder: String?
    public var kind: Kind

    public static let imageExtensions: Set<String> = ["jpg", "jpeg"]
    public static let videoExtensions: Set<String> = ["mp4", "mkv", "avi"]
    /// Names FTP servers and clients give files while they are being written.
    static let partialExtensions: Set<String> = ["part", "tmp", "filepart", "partial", "crdownload"]

    public init(relativePath: String) {
        self.relativePath = relativePath
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        cameraFolder = components.count >= 2 ? components[0] : nil
        let name = components.last ?? ""
        let pathExtension = name.split(separator: ".").count > 1 ? String(name.split(separator: ".").last!).lowercased() : ""
        if name.hasPrefix(".") || Self.partialExtensions.contains(pathExtension) {
            kind = .partial
        } else if Self.imageExtensions.contains(pathExtension) {
            kind = .image
        } else if Self.videoExtensions.contains(pathExtension) {
            kind = .video
        } else {
            kind = .other
        }
    }

    /// The slug of the camera the folder names.
    public var cameraSlug: String? {
        cameraFolder.map(CameraSlug.normalize).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Decides when a file found by scanning (rather than announced closed by inotify) is whole: its
/// size and modification time are unchanged across two looks at least `settle` apart.
public struct SettleTracker: Sendable {
    public struct Observation: Equatable, Sendable {
        public var size: Int64
        public var modified: Date

        public init(size: Int64, modified: Date) {
            self.size = size
            self.modified = modified
        }
    }

    public let settle: TimeInterval
    private var seen: [String: (observation: Observation, since: Date)] = [:]

    public init(settle: TimeInterval = 2) {
        self.settle = settle
    }

    /// Records a look at `path`; true when the file has stood still for `settle`.
    public mutating func observe(_ path: String, _ observation: Observation, at now: Date) -> Bool {
        if let previous = seen[path], previous.observation == observation {
            return now.timeIntervalSince(previous.since) >= settle && now.timeIntervalSince(observation.modified) >= settle
        }
        seen[path] = (observation, now)
        return false
    }

    public mutating func forget(_ path: String) {
        seen[path] = nil
    }

    /// Forgets files no longer present.
    public mutating func retain(only paths: Set<String>) {
        seen = seen.filter { paths.contains($0.key) }
    }
}
