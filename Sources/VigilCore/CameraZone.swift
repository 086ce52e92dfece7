import Foundation

/// A region of a camera's view (seed 001 `camera_zones`), in normalized coordinates.
public struct CameraZone: Codable, Hashable, Sendable {
    public var id: UUID
    public var cameraId: UUID
    public var name: String
    public var zoneType: ZoneType
    public var coordinates: [[Double]]
    public var shape: ZoneShape
    public var color: String
    public var enabled: Bool
    public var priority: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, cameraId: UUID, name: String, zoneType: ZoneType, coordinates: [[Double]], shape: ZoneShape,
                color: String, enabled: Bool, priority: Int, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.cameraId = cameraId
        self.name = name
        self.zoneType = zoneType
        self.coordinates = coordinates
        self.shape = shape
        self.color = color
        self.enabled = enabled
        self.priority = priority
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var polygon: ZonePolygon { ZonePolygon(pairs: coordinates) }

    enum CodingKeys: String, CodingKey {
        case id, name, coordinates, shape, color, enabled, priority
        case cameraId = "camera_id"
        case zoneType = "zone_type"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// What a client may set on a zone. Seed 001's defaults: type `other`, shape `rectangle`, colour `#3B82F6`.
public struct CameraZoneInput: Codable, Hashable, Sendable, StrictInput {
    public static let defaultColor = "#3B82F6"

    public var name: String
    public var zoneType: ZoneType?
    public var coordinates: [[Double]]
    public var shape: ZoneShape?
    public var color: String?
    public var enabled: Bool?
    public var priority: Int?

    public init(name: String, zoneType: ZoneType? = nil, coordinates: [[Double]], shape: ZoneShape? = nil,
                color: String? = nil, enabled: Bool? = nil, priority: Int? = nil) {
        self.name = name
        self.zoneType = zoneType
        self.coordinates = coordinates
        self.shape = shape
        self.color = color
        self.enabled = enabled
        self.priority = priority
    }

    public init(_ zone: CameraZone) {
        self.init(name: zone.name, zoneType: zone.zoneType, coordinates: zone.coordinates, shape: zone.shape,
                  color: zone.color, enabled: zone.enabled, priority: zone.priority)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, coordinates, shape, color, enabled, priority
        case zoneType = "zone_type"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public var resolvedShape: ZoneShape { shape ?? .rectangle }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 255)
        report.merge(ZonePolygon(pairs: coordinates).validate(shape: resolvedShape))
        if let color {
            report.check(HexColor.isValid(color), "color", "must be a colour like #3B82F6; got '\(color)'")
        }
        if let priority {
            report.check(priority >= 0, "priority", "must be 0 or more; got \(priority)")
        }
        return report
    }
}
