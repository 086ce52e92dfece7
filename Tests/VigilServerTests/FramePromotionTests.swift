import Foundation
import NIOCore
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

@Suite("Keeping frames for events")
struct FramePromotionTests {
    func push(_ app: TestApp, token: String, _ name: String) async throws -> UUID {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/\(name)")))
        let reply = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: bytes), headers: [.contentType: "image/jpeg"],
                                       as: .deviceToken(token))
        let id = try #require(reply.string("capture_id"))
        return try #require(UUID(uuidString: id))
    }

    @Test("a staging frame becomes an event frame by a move plus row updates, kept 7 days, then retention takes the file only")
    func promote() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Porch"}"#)
            let token = try #require(created.string("device_token"))
            let captureId = try await push(app, token: token, "dog.jpg")
            let stagingURI = try #require(try await app.database.scalar("SELECT storage_uri FROM captures", as: String.self))
            let promotion = FramePromotion(database: app.database, media: app.media, logger: TestApp.logger)
            let eventId = UUIDv7Generator().next()

            let outcome = try await promotion.promote(captureId: captureId, eventId: eventId, now: app.clock.now)
            guard case .promoted(let uri) = outcome else { Issue.record("not promoted: \(outcome)"); return }
            #expect(uri.hasPrefix("file:events/porch/"))
            #expect(!app.media.exists(stagingURI), "moved, not copied")
            #expect(try app.media.read(uri) == Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/dog.jpg"))))
            let rows = try await app.database.scalar("""
                SELECT c.storage_class || ' ' || (c.storage_uri = m.storage_path)::text || ' ' || m.role || ' '
                       || (m.event_id = \(eventId))::text || ' ' || extract(epoch FROM m.retention_until - \(app.clock.now))::int8
                FROM captures c JOIN media_files m ON m.capture_id = c.id
                """, as: String.self)
            #expect(rows == "event true event true \(7 * 86_400)")
            #expect(try await promotion.promote(captureId: captureId, eventId: eventId, now: app.clock.now) == .alreadyKept(uri: uri))

            // A day later the staging sweep leaves it; eight days later its file goes and its capture row stays.
            let retention = RetentionRun(database: app.database, media: app.media, logger: TestApp.logger, freeDiskFraction: { 0.5 })
            app.clock.advance(by: 86_400)
            _ = try await retention.perform(now: app.clock.now, dryRun: false)
            #expect(app.media.exists(uri))
            app.clock.advance(by: 7 * 86_400)
            let report = try await retention.perform(now: app.clock.now, dryRun: false)
            #expect(report.expiredMediaDeleted == 1)
            #expect(!app.media.exists(uri))
            #expect(try await app.database.scalar("SELECT count(*)::int8 FROM captures", as: Int.self) == 1)
        }
    }

    @Test("a camera's event_retention_days sets how long; a frame retention already discarded cannot be kept")
    func retentionAndDiscarded() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Gate","config":{"event_retention_days":30}}"#)
            let token = try #require(created.string("device_token"))
            let promotion = FramePromotion(database: app.database, media: app.media, logger: TestApp.logger)
            let kept = try await push(app, token: token, "dog.jpg")
            _ = try await promotion.promote(captureId: kept, eventId: nil, now: app.clock.now)
            let seconds = try await app.database.scalar(
                "SELECT extract(epoch FROM retention_until - \(app.clock.now))::int8 FROM media_files WHERE capture_id = \(kept)", as: Int.self)
            #expect(seconds == 30 * 86_400)

            let late = try await push(app, token: token, "horses.jpg")
            app.clock.advance(by: 2 * 86_400)
            _ = try await RetentionRun(database: app.database, media: app.media, logger: TestApp.logger, freeDiskFraction: { 0.5 })
                .perform(now: app.clock.now, dryRun: false)
            await #expect(throws: FramePromotion.Failure.discarded(late)) {
                try await promotion.promote(captureId: late, eventId: nil, now: app.clock.now)
            }
        }
    }
}
