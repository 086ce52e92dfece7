import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of cameras.
public struct CameraRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// Only rows of sites assigned to this user; `nil` for every site (super administrators, background work).
    let visibleTo: UUID?

    /// - Parameter visibleTo: Restricts every query to the sites assigned to this user. Row-level
    ///   security restricts the same rows again in the database; this keeps the query honest by itself.
    public init(_ connection: PostgresConnection, logger: Logger, visibleTo: UUID? = nil) {
        self.connection = connection
        self.logger = logger
        self.visibleTo = visibleTo
    }


    public struct Filter: Sendable {
        public var siteId: UUID?
        public var dvrId: UUID?
        public var status: DeviceStatus?
        public var sourceKind: CameraSourceKind?
        public var isActive: Bool?

        public init(siteId: UUID? = nil, dvrId: UUID? = nil, status: DeviceStatus? = nil,
                    sourceKind: CameraSourceKind? = nil, isActive: Bool? = nil) {
            self.siteId = siteId
            self.dvrId = dvrId
            self.status = status
            self.sourceKind = sourceKind
            self.isActive = isActive
        }
    }

    private static let columns = """
        id, site_id, dvr_id, channel_number, slug, name, location, source_kind, folder_path, rtsp_url, snapshot_url,
        device_id, resolution, fps, status, is_active, last_seen_at, config::text, created_at, updated_at
        """

    public func list(_ filter: Filter, page: PageRequest) async throws -> Page<Camera> {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM cameras
            WHERE (\(page.after)::uuid IS NULL OR id > \(page.after)) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
              AND (\(filter.siteId)::uuid IS NULL OR site_id = \(filter.siteId))
              AND (\(filter.dvrId)::uuid IS NULL OR dvr_id = \(filter.dvrId))
              AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
              AND (\(filter.sourceKind?.rawValue)::text IS NULL OR source_kind = \(filter.sourceKind?.rawValue))
              AND (\(filter.isActive)::bool IS NULL OR is_active = \(filter.isActive))
            ORDER BY id LIMIT \(page.limit + 1)
            """, logger: logger)
        return Page(rows: try await decode(rows), limit: page.limit, id: \.id)
    }

    /// The row with this id; `forUpdate` locks it until the transaction ends, so a read-modify-write loses nothing.
    public func find(id: UUID, forUpdate: Bool = false) async throws -> Camera? {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM cameras WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)
        return try await decode(rows).first
    }

    public func find(slug: String) async throws -> Camera? {
        let rows = try await connection.query("SELECT \(unescaped: Self.columns) FROM cameras WHERE slug = \(slug) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)", logger: logger)
        return try await decode(rows).first
    }

    /// Finds a camera by its UUID or, failing that, by its slug, as every camera route accepts both.
    public func find(reference: String, forUpdate: Bool = false) async throws -> Camera? {
        if let id = UUID(uuidString: reference) {
            return try await find(id: id, forUpdate: forUpdate)
        }
        let slug = CameraSlug.normalize(reference)
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM cameras WHERE slug = \(slug) AND fn_user_sees_site(site_id, \(visibleTo)::uuid) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
            logger: logger)
        return try await decode(rows).first
    }

    public func create(id: UUID, siteId: UUID, _ input: CameraInput) async throws -> Camera {
        try await translatingErrors {
            let values = try ColumnValues(input)
            let rows = try await connection.query("""
                INSERT INTO cameras (id, site_id, dvr_id, channel_number, slug, name, location, source_kind, folder_path,
                    rtsp_url, snapshot_url, device_id, resolution, fps, status, is_active, config)
                VALUES (\(id), \(siteId), \(input.dvrId), \(input.channelNumber), \(values.slug), \(input.name),
                    \(input.location), \(values.sourceKind), \(values.folderPath), \(input.rtspUrl), \(input.snapshotUrl),
                    \(values.deviceId), \(input.resolution), \(values.fps), \(values.status), \(values.isActive),
                    \(values.config)::jsonb)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    public func update(id: UUID, siteId: UUID, _ input: CameraInput) async throws -> Camera? {
        try await translatingErrors {
            let values = try ColumnValues(input)
            let rows = try await connection.query("""
                UPDATE cameras SET site_id = \(siteId), dvr_id = \(input.dvrId), channel_number = \(input.channelNumber),
                    slug = \(values.slug), name = \(input.name), location = \(input.location),
                    source_kind = \(values.sourceKind), folder_path = \(values.folderPath), rtsp_url = \(input.rtspUrl),
                    snapshot_url = \(input.snapshotUrl), device_id = \(values.deviceId), resolution = \(input.resolution),
                    fps = \(values.fps), status = \(values.status), is_active = \(values.isActive),
                    config = \(values.config)::jsonb
                WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    /// Replaces the camera's device token (stored as its SHA-256); the old one stops working at once.
    public func setDeviceToken(id: UUID, token: String) async throws -> Bool {
        let rows = try await connection.query("""
            UPDATE cameras SET device_token_hash = \(APIKeyRepository.hash(token))
            WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
            RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// The active camera that owns this device token.
    public func find(deviceToken token: String) async throws -> Camera? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM cameras WHERE device_token_hash = \(APIKeyRepository.hash(token)) AND is_active
            """, logger: logger)
        return try await decode(rows).first
    }

    /// The camera an upload folder belongs to: the one whose `folder_path` is the folder, or else
    /// the one whose slug is the folder name's slug (seed 000).
    public func find(folder: String) async throws -> Camera? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM cameras
            WHERE (folder_path = \(folder) OR slug = \(CameraSlug.normalize(folder)))
              AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
            ORDER BY folder_path = \(folder) DESC NULLS LAST LIMIT 1
            """, logger: logger)
        return try await decode(rows).first
    }

    /// The active cameras Vigil pulls frames from (RTSP, MJPEG, snapshot URLs), at every site.
    public func pulledCameras() async throws -> [Camera] {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM cameras
            WHERE is_active AND source_kind IN ('rtsp', 'mjpeg', 'http_snapshot')
            ORDER BY id
            """, logger: logger)
        return try await decode(rows)
    }

    /// Finds a camera by the device id it reports, or else by its slug.
    public func find(deviceId: String) async throws -> Camera? {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM cameras
            WHERE (device_id = \(deviceId) OR slug = \(CameraSlug.normalize(deviceId)))
              AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
            ORDER BY (device_id = \(deviceId)) DESC LIMIT 1
            """, logger: logger)
        return try await decode(rows).first
    }

    /// Deletes the camera and, by the schema's cascade, its zones.
    public func delete(id: UUID) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM cameras WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// The column values an input resolves to, with the defaults the source kind implies.
    private struct ColumnValues {
        var slug: String
        var sourceKind: String
        var folderPath: String?
        var deviceId: String?
        var fps: Int
        var status: String
        var isActive: Bool
        var config: String

        init(_ input: CameraInput) throws {
            let kind = input.resolvedSourceKind
            slug = input.resolvedSlug
            sourceKind = kind.rawValue
            // An FTP camera uploads into a folder named after it under the FTP root (seed 000).
            folderPath = input.folderPath ?? (kind == .ftpFolder ? input.name : nil)
            // A pushing camera identifies itself; its slug serves until it says otherwise.
            deviceId = input.deviceId ?? (kind == .httpPush ? slug : nil)
            fps = input.fps ?? 25
            status = (input.status ?? .unknown).rawValue
            isActive = input.isActive ?? true
            config = try (input.config ?? .object([:])).jsonText()
        }
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Camera] {
        var cameras: [Camera] = []
        for try await (id, siteId, dvrId, channel, slug, name, location, sourceKind, folderPath, rtspUrl, snapshotUrl,
                       deviceId, resolution, fps, status, isActive, lastSeenAt, config, createdAt, updatedAt)
            in rows.decode((UUID, UUID, UUID?, Int?, String, String, String?, String, String?, String?, String?,
                            String?, String?, Int, String, Bool, Date?, String, Date, Date).self) {
            cameras.append(Camera(
                id: id, siteId: siteId, dvrId: dvrId, channelNumber: channel, slug: slug, name: name, location: location,
                sourceKind: CameraSourceKind(rawValue: sourceKind) ?? .httpPush, folderPath: folderPath,
                rtspUrl: rtspUrl, snapshotUrl: snapshotUrl, deviceId: deviceId, resolution: resolution, fps: fps,
                status: DeviceStatus(rawValue: status) ?? .unknown, isActive: isActive, lastSeenAt: lastSeenAt,
                config: try JSONValue(jsonText: config), createdAt: createdAt, updatedAt: updatedAt))
        }
        return cameras
    }
}
