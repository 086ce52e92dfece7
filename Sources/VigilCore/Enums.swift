/// How frames of a camera reach Vigil.
public enum CameraSourceKind: String, Codable, CaseIterable, Sendable {
    /// Seed 000: the camera uploads files by FTP into `<ftp root>/<Camera Name>/`.
    case ftpFolder = "ftp_folder"
    /// Seed 004: the camera (an ESP32, typically) POSTs frames to the ingest endpoint.
    case httpPush = "http_push"
    /// Seed 002: Vigil pulls an RTSP stream.
    case rtsp
    /// Vigil polls a JPEG snapshot URL.
    case httpSnapshot = "http_snapshot"
    /// Vigil reads a multipart MJPEG stream over HTTP.
    case mjpeg
}

/// How one frame reached Vigil (`captures.source`): a camera's way in, or a frame sampled from an uploaded clip.
public enum CaptureSource: String, Codable, CaseIterable, Sendable {
    case ftpFolder = "ftp_folder"
    case httpPush = "http_push"
    case rtsp
    case httpSnapshot = "http_snapshot"
    case mjpeg
    case videoClip = "video_clip"

    public init(_ kind: CameraSourceKind) {
        self = Self(rawValue: kind.rawValue)!
    }
}

/// Seed 002's `device_status_enum`.
public enum DeviceStatus: String, Codable, CaseIterable, Sendable {
    case online, offline, degraded, unknown, maintenance
}

/// The union of seed 000/001 and seed 002 zone types, plus `watch_area` for change detection.
public enum ZoneType: String, Codable, CaseIterable, Sendable {
    case entryPoint = "entry_point"
    case driveway, sidewalk, yard, restricted, interest, entry, exit, other
    case watchArea = "watch_area"
}

/// Seed 000's zone shapes.
public enum ZoneShape: String, Codable, CaseIterable, Sendable {
    case rectangle, polygon
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// The accepted values, for messages such as "must be one of a, b, c".
    public static var allowedValues: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }
}
