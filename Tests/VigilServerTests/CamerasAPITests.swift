import Foundation
import PostgresNIO
import Testing
import VigilCore
import VigilStore
import VigilTestSupport

@Suite("Cameras API")
struct CamerasAPITests {
    @Test("creation normalizes the slug, refuses a duplicate, and reads back by id or slug")
    func slugs() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Front Door"}"#)
            #expect(created.status == .created)
            #expect(created.string("slug") == "front_door")
            #expect(created.string("source_kind") == "http_push")
            #expect(created.string("device_id") == "front_door")
            #expect(created.string("status") == "unknown")
            let id = try #require(created.string("id"))

            let duplicate = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"front-door"}"#)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "camera_slug_taken")

            #expect(try await app.call(.get, "/api/v1/cameras/front_door").string("id") == id)
            #expect(try await app.call(.get, "/api/v1/cameras/Front%20Door").string("id") == id)
            #expect(try await app.call(.get, "/api/v1/cameras/\(id)").string("slug") == "front_door")
            let missing = try await app.call(.get, "/api/v1/cameras/back_yard")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "camera_not_found")
        }
    }

    @Test("an FTP camera's folder defaults to its name")
    func ftpFolder() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Back Yard","source_kind":"ftp_folder"}"#)
            #expect(created.string("folder_path") == "Back Yard")
            #expect(created["device_id"] == nil)
        }
    }

    @Test("stream passwords are sealed at rest, never returned, and survive a patch that echoes the redacted address")
    func secrets() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/cameras",
                                             json: #"{"name":"Gate","rtsp_url":"rtsp://admin:hunter2@10.0.0.9:554/live"}"#)
            #expect(created.string("rtsp_url") == "rtsp://admin:***@10.0.0.9:554/live")
            #expect(!created.text.contains("hunter2"))
            let id = try #require(created.string("id"))

            let listed = try await app.call(.get, "/api/v1/cameras")
            #expect(!listed.text.contains("hunter2"))

            let echoed = try await app.call(.patch, "/api/v1/cameras/\(id)",
                                            json: #"{"rtsp_url":"rtsp://admin:***@10.0.0.9:554/live","fps":10}"#)
            #expect(echoed.status == .ok)
            #expect(echoed["fps"] == .number(10))
            let shown = try await app.database.scalar("SELECT rtsp_url FROM cameras", as: String.self)
            #expect(shown == "rtsp://admin:***@10.0.0.9:554/live", "the column holds the address as anyone may see it")
            let secrets = app.secrets
            let stored = try await app.database.read { connection in
                try await CameraRepository(connection, logger: TestApp.logger).streamAddresses(id: UUID(uuidString: id)!, secrets: secrets)
            }
            #expect(stored?.rtspUrl == "rtsp://admin:hunter2@10.0.0.9:554/live", "and the key opens the whole one")
        }
    }

    @Test("list filters and keyset pagination walk every camera once")
    func pagination() async throws {
        try await TestApp.run { app in
            var ids: [String] = []
            for index in 1...5 {
                ids.append(try await app.createCamera(#"{"name":"Cam \#(index)","fps":\#(index)}"#))
            }
            _ = try await app.createCamera(#"{"name":"Stream","rtsp_url":"rtsp://h/s"}"#)

            var seen: [String] = []
            var uri = "/api/v1/cameras?source_kind=http_push&limit=2"
            var pages = 0
            while true {
                let page = try await app.call(.get, uri)
                #expect(page.status == .ok)
                pages += 1
                for item in page.items {
                    if case .string(let id)? = item.objectValue?["id"] { seen.append(id) }
                }
                guard case .string(let cursor)? = page["next_cursor"] else { break }
                uri = "/api/v1/cameras?source_kind=http_push&limit=2&after=\(cursor)"
            }
            #expect(pages == 3)
            #expect(seen == ids, "oldest first, each once")
            #expect(try await app.call(.get, "/api/v1/cameras?source_kind=rtsp").items.count == 1)
            #expect(try await app.call(.get, "/api/v1/cameras?is_active=false").items.isEmpty)
            #expect(try await app.call(.get, "/api/v1/cameras?source_kind=carrier_pigeon").errorCode == "invalid_parameter")
            #expect(try await app.call(.get, "/api/v1/cameras?is_active=maybe").errorCode == "invalid_parameter")
        }
    }

    @Test("malformed bodies get 4xx with precise codes and nothing is stored", arguments: [
        (#"{"name": "Porch", "fps": "ten"}"#, 400, "invalid_field"),
        (#"{"name": "Porch", "fsp": 10}"#, 400, "unknown_field"),
        (#"{"name": "Porch""#, 400, "invalid_json"),
        (#"["Porch"]"#, 400, "invalid_json"),
        (#"{"fps": 10}"#, 400, "invalid_field"),
        (#"{"name": null}"#, 400, "invalid_field"),
        (#"{"name": "Porch", "site_id": "not-a-uuid"}"#, 400, "invalid_field"),
        (#"{"name": "Porch", "source_kind": "telepathy"}"#, 400, "invalid_field"),
        (#"{"name": "Porch", "fps": 500}"#, 422, "validation_failed"),
        (#"{"name": "Porch", "channel_number": 2}"#, 422, "validation_failed"),
        (#"{"name": "Porch", "source_kind": "rtsp"}"#, 422, "validation_failed"),
        (#"{"name": "Porch", "dvr_id": "00000000-0000-7000-8000-000000000000"}"#, 422, "dvr_not_found"),
        (#"{"name": "Porch", "site_id": "00000000-0000-7000-8000-000000000000"}"#, 422, "site_not_found"),
    ])
    func malformed(body: String, status: Int, code: String) async throws {
        try await TestApp.run { app in
            let reply = try await app.call(.post, "/api/v1/cameras", json: body)
            #expect(reply.status.code == status, "\(reply.text)")
            #expect(reply.errorCode == code)
            #expect(try await app.call(.get, "/api/v1/cameras").items.isEmpty)
        }
    }

    @Test("wrong media type, oversized body")
    func transport() async throws {
        try await TestApp.run { app in
            let form = try await app.call(.post, "/api/v1/cameras", json: "name=Porch",
                                          headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == .unsupportedMediaType)
            #expect(form.errorCode == "unsupported_media_type")

            let huge = #"{"name":"Porch","location":""# + String(repeating: "x", count: 2 << 20) + #""}"#
            let tooLarge = try await app.call(.post, "/api/v1/cameras", json: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "body_too_large")
        }
    }

    @Test("a patch is checked like a creation; an invalid one changes nothing")
    func patchValidation() async throws {
        try await TestApp.run { app in
            let id = try await app.createCamera(#"{"name":"Garage","resolution":"1280x720"}"#)
            let bad = try await app.call(.patch, "/api/v1/cameras/\(id)", json: #"{"resolution":"big","fps":0}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(try bad.decode(ErrorBody.self).error.details?.map(\.field) ?? []) == ["resolution", "fps"])
            #expect(try await app.call(.get, "/api/v1/cameras/\(id)").string("resolution") == "1280x720")

            let mergePatch = try await app.call(.patch, "/api/v1/cameras/\(id)", json: #"{"location":"north wall"}"#,
                                                headers: [.contentType: "application/merge-patch+json"])
            #expect(mergePatch.string("location") == "north wall")

            let unknown = try await app.call(.patch, "/api/v1/cameras/\(id)", json: #"{"colour":"red"}"#)
            #expect(unknown.errorCode == "unknown_field")

            let renamed = try await app.call(.patch, "/api/v1/cameras/\(id)", json: #"{"name":"Garage Side","slug":null,"config":{"sensitivity":0.8}}"#)
            #expect(renamed.status == .ok)
            #expect(renamed.string("slug") == "garage_side", "removing the slug makes it follow the name")
            #expect(renamed["config"] == .object(["sensitivity": .number(0.8)]))

            // A rename keeps the slug: it maps the camera's upload folder, which must not move silently.
            let second = try await app.createCamera(#"{"name":"Shed"}"#)
            let kept = try await app.call(.patch, "/api/v1/cameras/\(second)", json: #"{"name":"Garage Side"}"#)
            #expect(kept.string("slug") == "shed")
            let clash = try await app.call(.patch, "/api/v1/cameras/\(second)", json: #"{"slug":"Garage-Side"}"#)
            #expect(clash.errorCode == "camera_slug_taken")
        }
    }

    @Test("delete by slug takes the zones along")
    func delete() async throws {
        try await TestApp.run { app in
            let id = try await app.createCamera(#"{"name":"Drive"}"#)
            _ = try await app.call(.post, "/api/v1/cameras/drive/zones", json: #"{"name":"Lane","coordinates":[[0,0],[1,0],[1,1],[0,1]]}"#)
            #expect(try await app.call(.delete, "/api/v1/cameras/drive").status == .noContent)
            #expect(try await app.call(.get, "/api/v1/cameras/\(id)").status == .notFound)
            #expect(try await app.call(.delete, "/api/v1/cameras/drive").errorCode == "camera_not_found")
        }
    }
}
