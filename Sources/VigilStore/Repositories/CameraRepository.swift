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

    /// The site of a camera; nil when there is no such camera (or the caller does not see it).
    public func siteId(of cameraId: UUID) async throws -> UUID? {
        let rows = try await connection.query(
            "SELECT site_id FROM cameras WHERE id = \(cameraId) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)", logger: logger)
        for try await site in rows.decode(UUID.self) { return site }
        return nil
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

    /// Registers a camera. Its stream addresses are stored with their credentials redacted, and
    /// whole, sealed with `secrets` (required when they carry credentials).
    public func create(id: UUID, siteId: UUID, _ input: CameraInput, secrets: SecretBox?) async throws -> Camera {
        try await translatingErrors {
            let values = try ColumnValues(input)
            let streams = try SealedStreams(StreamAddresses(rtspUrl: input.rtspUrl, snapshotUrl: input.snapshotUrl), secrets: secrets)
            let rows = try await connection.query("""
                INSERT INTO cameras (id, site_id, dvr_id, channel_number, slug, name, location, source_kind, folder_path,
                    rtsp_url, snapshot_url, stream_credentials, device_id, resolution, fps, status, is_active, config)
                VALUES (\(id), \(siteId), \(input.dvrId), \(input.channelNumber), \(values.slug), \(input.name),
                    \(input.location), \(values.sourceKind), \(values.folderPath), \(streams.shown.rtspUrl), \(streams.shown.snapshotUrl),
                    \(streams.sealed), \(values.deviceId), \(input.resolution), \(values.fps), \(values.status), \(values.isActive),
                    \(values.config)::jsonb)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    /// Changes a camera. An address sent back as it was shown (redacted) keeps the stored one.
    public func update(id: UUID, siteId: UUID, _ input: CameraInput, secrets: SecretBox) async throws -> Camera? {
        try await translatingErrors {
            let values = try ColumnValues(input)
            let stored = try await streamAddresses(id: id, secrets: secrets) ?? StreamAddresses(rtspUrl: nil, snapshotUrl: nil)
            let addresses = StreamAddresses(rtspUrl: input.rtspUrl, snapshotUrl: input.snapshotUrl).keeping(stored)
            let streams = try SealedStreams(addresses, secrets: secrets)
            let rows = try await connection.query("""
                UPDATE cameras SET site_id = \(siteId), dvr_id = \(input.dvrId), channel_number = \(input.channelNumber),
                    slug = \(values.slug), name = \(input.name), location = \(input.location),
                    source_kind = \(values.sourceKind), folder_path = \(values.folderPath), rtsp_url = \(streams.shown.rtspUrl),
                    snapshot_url = \(streams.shown.snapshotUrl), stream_credentials = \(streams.sealed),
                    device_id = \(values.deviceId), resolution = \(input.resolution),
                    fps = \(values.fps), status = \(values.status), is_active = \(values.isActive),
                    config = \(values.config)::jsonb
                WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    /// The camera's stream addresses in full, opened with `secrets`: for the puller that connects.
    public func streamAddresses(id: UUID, secrets: SecretBox) async throws -> StreamAddresses? {
        let rows = try await connection.query("""
            SELECT rtsp_url, snapshot_url, stream_credentials FROM cameras WHERE id = \(id) AND fn_user_sees_site(site_id, \(visibleTo)::uuid)
            """, logger: logger)
        for try await (rtsp, snapshot, sealed) in rows.decode((String?, String?, ByteBuffer?).self) {
            return try SealedStreams.open(shown: StreamAddresses(rtspUrl: rtsp, snapshotUrl: snapshot), sealed: sealed, secrets: secrets)
        }
        return nil
    }

    /// Seals the credentials of addresses stored in clear before they were sealed at rest; how many.
    @discardableResult
    public func sealStoredStreamCredentials(secrets: SecretBox) async throws -> Int {
        let rows = try await connection.query("""
            SELECT id, rtsp_url, snapshot_url FROM cameras
            WHERE stream_credentials IS NULL AND (rtsp_url IS NOT NULL OR snapshot_url IS NOT NULL)
            """, logger: logger)
        var plain: [(UUID, StreamAddresses)] = []
        for try await (id, rtsp, snapshot) in rows.decode((UUID, String?, String?).self) {
            plain.append((id, StreamAddresses(rtspUrl: rtsp, snapshotUrl: snapshot)))
        }
        var sealedCount = 0
        for (id, addresses) in plain where addresses.carriesCredentials {
            let streams = try SealedStreams(addresses, secrets: secrets)
            try await connection.query("""
                UPDATE cameras SET rtsp_url = \(streams.shown.rtspUrl), snapshot_url = \(streams.shown.snapshotUrl),
                    stream_credentials = \(streams.sealed)
                WHERE id = \(id)
                """, logger: logger)
            sealedCount += 1
        }
        return sealedCount
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

    /// The active cameras Vigil pulls frames from (RTSP, MJPEG, snapshot URLs), at every site,
    /// with their stream addresses in full (opened with `secrets`): only a puller asks for these.
    public func pulledCameras(secrets: SecretBox) async throws -> [Camera] {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM cameras
            WHERE is_active AND source_kind IN ('rtsp', 'mjpeg', 'http_snapshot')
            ORDER BY id
            """, logger: logger)
        var cameras: [Camera] = []
        for camera in try await decode(rows) { cameras.append(try await opened(camera, secrets: secrets)) }
        return cameras
    }

    /// `camera` with its stream addresses in full, opened with `secrets`: for connecting to it, never to show.
    public func opened(_ camera: Camera, secrets: SecretBox) async throws -> Camera {
        guard let full = try await streamAddresses(id: camera.id, secrets: secrets) else { return camera }
        var opened = camera
        opened.rtspUrl = full.rtspUrl
        opened.snapshotUrl = full.snapshotUrl
        return opened
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

/// A camera's stream addresses.
public struct StreamAddresses: Codable, Equatable, Sendable {
    public var rtspUrl: String?
    public var snapshotUrl: String?

    public init(rtspUrl: String?, snapshotUrl: String?) {
        self.rtspUrl = rtspUrl
        self.snapshotUrl = snapshotUrl
    }

    enum CodingKeys: String, CodingKey {
        case rtspUrl = "rtsp_url", snapshotUrl = "snapshot_url"
    }

    /// The addresses as anyone may see them: credentials replaced by `***`.
    public var redacted: StreamAddresses {
        StreamAddresses(rtspUrl: rtspUrl.map(StreamURL.redactingCredentials), snapshotUrl: snapshotUrl.map(StreamURL.redactingCredentials))
    }

    public var carriesCredentials: Bool { redacted != self }

    /// These addresses, where one is `stored`'s as shown (redacted) taken to mean `stored`'s own.
    public func keeping(_ stored: StreamAddresses) -> StreamAddresses {
        StreamAddresses(rtspUrl: rtspUrl != nil && rtspUrl == stored.redacted.rtspUrl ? stored.rtspUrl : rtspUrl,
                        snapshotUrl: snapshotUrl != nil && snapshotUrl == stored.redacted.snapshotUrl ? stored.snapshotUrl : snapshotUrl)
    }
}

/// What a camera row holds of its addresses: shown (redacted), and whole, sealed.
struct SealedStreams {
    var shown: StreamAddresses
    var sealed: ByteBuffer?

    init(_ addresses: StreamAddresses, secrets: SecretBox?) throws {
        shown = addresses.redacted
        guard addresses.carriesCredentials else { return }
        guard let secrets else { throw StreamSealingUnavailable() }
        sealed = ByteBuffer(bytes: try secrets.seal(String(decoding: try JSONEncoder().encode(addresses), as: UTF8.self)))
    }

    static func open(shown: StreamAddresses, sealed: ByteBuffer?, secrets: SecretBox) throws -> StreamAddresses {
        guard let sealed else { return shown }
        let text = try secrets.open(Array(sealed.readableBytesView))
        return try JSONDecoder().decode(StreamAddresses.self, from: Data(text.utf8))
    }
}

/// Stream credentials were given where no secret key is at hand to seal them.
public struct StreamSealingUnavailable: Error, CustomStringConvertible {
    public var description: String { "stream credentials cannot be stored without Vigil's secret key" }
}
