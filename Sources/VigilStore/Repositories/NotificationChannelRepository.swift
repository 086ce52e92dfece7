import Foundation
import Logging
import PostgresNIO
import VigilCore

/// The SQL of notification channels. Credentials go in sealed and come out sealed: opening them
/// is for the code that sends.
public struct NotificationChannelRepository: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    private static let columns = """
        id, name, channel_type, config::text, credential_encrypted IS NOT NULL, is_active, created_by, created_at, updated_at, site_id
        """

    public func list() async throws -> [NotificationChannel] {
        try await decode(try await connection.query("SELECT \(unescaped: Self.columns) FROM notification_channels ORDER BY name, id",
                                                     logger: logger))
    }

    public func find(id: UUID, forUpdate: Bool = false) async throws -> NotificationChannel? {
        try await decode(try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM notification_channels WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """, logger: logger)).first
    }

    /// The channel with its sealed credential, for sending. (Credentials bind as buffers: `[UInt8]`
    /// would bind as a `"char"[]` array.)
    public func findForSending(id: UUID) async throws -> (channel: NotificationChannel, sealedCredential: [UInt8]?)? {
        guard let channel = try await find(id: id) else { return nil }
        let rows = try await connection.query("SELECT credential_encrypted FROM notification_channels WHERE id = \(id)", logger: logger)
        for try await sealed in rows.decode(ByteBuffer?.self) { return (channel, sealed.map { Array($0.readableBytesView) }) }
        return nil
    }

    public func create(id: UUID, _ input: NotificationChannelInput, sealedCredential: [UInt8]?, createdBy: UUID?) async throws -> NotificationChannel {
        try await translatingErrors {
            let rows = try await connection.query("""
                INSERT INTO notification_channels (id, name, channel_type, config, credential_encrypted, is_active, created_by, site_id)
                VALUES (\(id), \(input.name), \(input.channelType.rawValue), \(try (input.config ?? .object([:])).jsonText())::jsonb,
                        \(sealedCredential.map { ByteBuffer(bytes: $0) }), \(input.isActive ?? true), \(createdBy), \(input.siteId))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows)[0]
        }
    }

    /// Replaces the channel's settings; the credential only when a new one is given.
    public func update(id: UUID, _ input: NotificationChannelInput, sealedCredential: [UInt8]?) async throws -> NotificationChannel? {
        try await translatingErrors {
            let rows = try await connection.query("""
                UPDATE notification_channels SET
                    name = \(input.name), channel_type = \(input.channelType.rawValue),
                    config = \(try (input.config ?? .object([:])).jsonText())::jsonb, is_active = \(input.isActive ?? true),
                    site_id = \(input.siteId),
                    credential_encrypted = COALESCE(\(sealedCredential.map { ByteBuffer(bytes: $0) }), credential_encrypted)
                WHERE id = \(id)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await decode(rows).first
        }
    }

    /// Deletes the channel and takes it out of every rule; false when there is no such channel.
    public func delete(id: UUID) async throws -> Bool {
        try await connection.query("""
            UPDATE alert_rules SET channel_ids = array_remove(channel_ids, \(id)) WHERE \(id) = ANY(channel_ids)
            """, logger: logger)
        let rows = try await connection.query("DELETE FROM notification_channels WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [NotificationChannel] {
        var channels: [NotificationChannel] = []
        for try await (id, name, type, config, hasCredential, active, createdBy, created, updated, site)
            in rows.decode((UUID, String, String, String, Bool, Bool, UUID?, Date, Date, UUID?).self) {
            guard let type = ChannelType(rawValue: type) else { continue }
            channels.append(NotificationChannel(id: id, name: name, channelType: type, config: try JSONValue(jsonText: config),
                                                hasCredential: hasCredential, isActive: active, createdBy: createdBy, createdAt: created,
                                                updatedAt: updated, siteId: site))
        }
        return channels
    }
}
