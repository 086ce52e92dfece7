import Foundation

/// A camera (seeds 000, 002 and 004 merged): where its frames come from and how it is doing.
public struct Camera: Codable, Hashable, Sendable {
    public var id: UUID
    public var siteId: UUID
    public var dvrId: UUID?
    public var channelNumber: Int?
    public var slug: String
    public var name: String
    public var location: String?
    public var sourceKind: CameraSourceKind
    public var folderPath: String?
    public var rtspUrl: String?
    public var snapshotUrl: String?
    public var deviceId: String?
    public var resolution: String?
    public var fps: Int
    public var status: DeviceStatus
    public var isActive: Bool
    public var lastSeenAt: Date?
    public var config: JSONValue
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, siteId: UUID, dvrId: UUID?, channelNumber: Int?, slug: String, name: String, location: String?,
                sourceKind: CameraSourceKind, folderPath: String?, rtspUrl: String?, snapshotUrl: String?, deviceId: String?,
                resolution: String?, fps: Int, status: DeviceStatus, isActive: Bool, lastSeenAt: Date?, config: JSONValue,
                createdAt: Date, updatedAt: Date) {
        self.id = id
        self.siteId = siteId
        self.dvrId = dvrId
        self.channelNumber = channelNumber
        self.slug = slug
        self.name = name
        self.location = location
        self.sourceKind = sourceKind
        self.folderPath = folderPath
        self.rtspUrl = rtspUrl
        self.snapshotUrl = snapshotUrl
        self.deviceId = deviceId
        self.resolution = resolution
        self.fps = fps
        self.status = status
        self.isActive = isActive
        self.lastSeenAt = lastSeenAt
        self.config = config
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The camera as shown to clients and logs: stream credentials replaced by `***`.
    public var redacted: Camera {
        var copy = self
        copy.rtspUrl = rtspUrl.map(StreamURL.redactingCredentials)
        copy.snapshotUrl = snapshotUrl.map(StreamURL.redactingCredentials)
        return copy
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, name, location, resolution, fps, status, config
        case siteId = "site_id"
        case dvrId = "dvr_id"
        case channelNumber = "channel_number"
        case sourceKind = "source_kind"
        case folderPath = "folder_path"
        case rtspUrl = "rtsp_url"
        case snapshotUrl = "snapshot_url"
        case deviceId = "device_id"
        case isActive = "is_active"
        case lastSeenAt = "last_seen_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// What a client may set on a camera. Defaults are applied by ``resolved(defaultSiteId:)``.
public struct CameraInput: Codable, Hashable, Sendable, StrictInput {
    public var siteId: UUID?
    public var dvrId: UUID?
    public var channelNumber: Int?
    public var name: String
    public var slug: String?
    public var location: String?
    public var sourceKind: CameraSourceKind?
    public var folderPath: String?
    public var rtspUrl: String?
    public var snapshotUrl: String?
    public var deviceId: String?
    public var resolution: String?
    public var fps: Int?
    public var status: DeviceStatus?
    public var isActive: Bool?
    public var config: JSONValue?

    public init(siteId: UUID? = nil, dvrId: UUID? = nil, channelNumber: Int? = nil, name: String, slug: String? = nil,
                location: String? = nil, sourceKind: CameraSourceKind? = nil, folderPath: String? = nil,
                rtspUrl: String? = nil, snapshotUrl: String? = nil, deviceId: String? = nil, resolution: String? = nil,
                fps: Int? = nil, status: DeviceStatus? = nil, isActive: Bool? = nil, config: JSONValue? = nil) {
        self.siteId = siteId
        self.dvrId = dvrId
        self.channelNumber = channelNumber
        self.name = name
        self.slug = slug
        self.location = location
        self.sourceKind = sourceKind
        self.folderPath = folderPath
        self.rtspUrl = rtspUrl
        self.snapshotUrl = snapshotUrl
        self.deviceId = deviceId
        self.resolution = resolution
        self.fps = fps
        self.status = status
        self.isActive = isActive
        self.config = config
    }

    public init(_ camera: Camera) {
        self.init(siteId: camera.siteId, dvrId: camera.dvrId, channelNumber: camera.channelNumber, name: camera.name,
                  slug: camera.slug, location: camera.location, sourceKind: camera.sourceKind,
                  folderPath: camera.folderPath, rtspUrl: camera.rtspUrl, snapshotUrl: camera.snapshotUrl,
                  deviceId: camera.deviceId, resolution: camera.resolution, fps: camera.fps, status: camera.status,
                  isActive: camera.isActive, config: camera.config)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, slug, location, resolution, fps, status, config
        case siteId = "site_id"
        case dvrId = "dvr_id"
        case channelNumber = "channel_number"
        case sourceKind = "source_kind"
        case folderPath = "folder_path"
        case rtspUrl = "rtsp_url"
        case snapshotUrl = "snapshot_url"
        case deviceId = "device_id"
        case isActive = "is_active"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// The slug this camera gets: the given one normalized, or the name's.
    public var resolvedSlug: String { CameraSlug.normalize(slug ?? name) }

    /// Without an explicit kind, an RTSP address means `rtsp`, a snapshot address `http_snapshot`,
    /// and otherwise the camera pushes frames over HTTP.
    public var resolvedSourceKind: CameraSourceKind {
        if let sourceKind { return sourceKind }
        if rtspUrl != nil { return .rtsp }
        if snapshotUrl != nil { return .httpSnapshot }
        return .httpPush
    }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 100)
        report.check(!resolvedSlug.isEmpty, slug == nil ? "name" : "slug",
                     "must contain at least one letter or digit, from which the camera's slug is made")
        report.check(resolvedSlug.storedLength <= 100, "slug", "must be at most 100 characters")
        report.check((location?.storedLength ?? 0) <= 200, "location", "must be at most 200 characters")
        if let channelNumber {
            report.check(channelNumber >= 0, "channel_number", "must not be negative")
        }
        report.check(channelNumber == nil || dvrId != nil, "channel_number", "needs dvr_id: a channel is a channel of a DVR")
        if let fps {
            report.check((1...120).contains(fps), "fps", "must be from 1 to 120; got \(fps)")
        }
        if let resolution {
            report.check(Self.isResolution(resolution), "resolution", "must look like 1920x1080; got '\(resolution)'")
        }
        if let config {
            report.check(config.objectValue != nil, "config", "must be a JSON object")
            _ = DetectionSettings().applying(cameraConfig: config, report: &report)
            _ = EventSettings().applying(cameraConfig: config, siteTimeZone: "UTC", report: &report)
            _ = FaceSettings().applying(cameraConfig: config, report: &report)
        }
        if let deviceId {
            report.check(!deviceId.isEmpty && deviceId.storedLength <= 100, "device_id", "must be 1 to 100 characters")
        }
        if let rtspUrl {
            report.check(["rtsp", "rtsps"].contains(StreamURL.scheme(of: rtspUrl) ?? ""), "rtsp_url",
                         "must be an rtsp:// or rtsps:// address")
        }
        if let snapshotUrl {
            report.check(["http", "https"].contains(StreamURL.scheme(of: snapshotUrl) ?? ""), "snapshot_url",
                         "must be an http:// or https:// address")
        }
        switch resolvedSourceKind {
        case .rtsp:
            report.check(rtspUrl != nil, "rtsp_url", "is required for a camera whose source_kind is rtsp")
        case .httpSnapshot, .mjpeg:
            report.check(snapshotUrl != nil, "snapshot_url",
                         "is required for a camera whose source_kind is \(resolvedSourceKind.rawValue)")
        case .ftpFolder, .httpPush:
            break
        }
        if let folderPath {
            report.check(!folderPath.isEmpty && folderPath.storedLength <= 1000, "folder_path", "must be 1 to 1000 characters")
            report.check(!folderPath.split(separator: "/").contains(".."), "folder_path", "must not contain '..'")
        }
        return report
    }

    private static func isResolution(_ text: String) -> Bool {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            guard let value = Int(part), part.allSatisfy(\.isASCII) else { return false }
            return (1...20000).contains(value)
        }
    }
}
