import Foundation
import NIOCore
import Testing
import VigilCore
import VigilTestSupport

@Suite("Sites and DVRs API")
struct SitesAndDVRsAPITests {
    @Test("sites: the default site exists; create, read, update, delete")
    func siteLifecycle() async throws {
        try await TestApp.run { app in
            let initial = try await app.call(.get, "/api/v1/sites")
            #expect(initial.status == .ok)
            #expect(initial.items.count == 1)
            #expect(initial.items.first?.objectValue?["name"] == .string("Default site"))
            #expect(initial["next_cursor"] == .null)

            let created = try await app.call(.post, "/api/v1/sites",
                                             json: #"{"name":"Warehouse","address":"1 Dock Rd","timezone":"Europe/London","vpn_config":{"type":"wireguard"}}"#)
            #expect(created.status == .created)
            let id = try #require(created.string("id"))
            #expect(created.string("timezone") == "Europe/London")
            #expect(created["vpn_config"] == .object(["type": .string("wireguard")]))

            let patched = try await app.call(.patch, "/api/v1/sites/\(id)", json: #"{"timezone":"America/Chicago","address":null}"#)
            #expect(patched.status == .ok)
            #expect(patched.string("timezone") == "America/Chicago")
            #expect(patched["address"] == nil, "null removes an optional value")
            #expect(patched.string("name") == "Warehouse", "members the patch does not name are kept")

            let fetched = try await app.call(.get, "/api/v1/sites/\(id)")
            #expect(fetched.string("timezone") == "America/Chicago")

            let filtered = try await app.call(.get, "/api/v1/sites?name=WARE")
            #expect(filtered.items.count == 1)

            #expect(try await app.call(.delete, "/api/v1/sites/\(id)").status == .noContent)
            let gone = try await app.call(.get, "/api/v1/sites/\(id)")
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "site_not_found")
        }
    }

    @Test("sites: errors have stable codes")
    func siteErrors() async throws {
        try await TestApp.run { app in
            let badZone = try await app.call(.post, "/api/v1/sites", json: #"{"name":"X","timezone":"Mars/Base"}"#)
            #expect(badZone.status == .unprocessableContent)
            #expect(badZone.errorCode == "validation_failed")

            _ = try await app.call(.post, "/api/v1/sites", json: #"{"name":"Shop"}"#)
            let duplicate = try await app.call(.post, "/api/v1/sites", json: #"{"name":"Shop"}"#)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "site_name_taken")

            let badId = try await app.call(.get, "/api/v1/sites/not-a-uuid")
            #expect(badId.status == .badRequest)
            #expect(badId.errorCode == "invalid_parameter")

            let badLimit = try await app.call(.get, "/api/v1/sites?limit=0")
            #expect(badLimit.errorCode == "invalid_parameter")
            let badCursor = try await app.call(.get, "/api/v1/sites?after=yesterday")
            #expect(badCursor.errorCode == "invalid_parameter")
        }
    }

    @Test("the last site cannot be deleted")
    func lastSite() async throws {
        try await TestApp.run { app in
            let defaultId = try #require(try await app.call(.get, "/api/v1/sites").items.first?.objectValue?["id"])
            guard case .string(let id) = defaultId else { Issue.record("no id"); return }
            let refused = try await app.call(.delete, "/api/v1/sites/\(id)")
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "last_site")
        }
    }

    @Test("DVRs: create at the default site, filter, update, and delete with their cameras")
    func dvrLifecycle() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/dvrs",
                                             json: #"{"name":"NVR 1","brand":"Hikvision","ip_address":"192.168.1.64","ports":{"rtsp":554,"http":80}}"#)
            #expect(created.status == .created)
            let dvrId = try #require(created.string("id"))
            #expect(created.string("status") == "unknown")
            #expect(created["has_credentials"] == .bool(false))
            #expect(created["ports"] == .object(["rtsp": .number(554), "http": .number(80)]))
            let siteId = try #require(created.string("site_id"))

            let camera = try await app.createCamera(#"{"name":"Loading Bay","dvr_id":"\#(dvrId)","channel_number":1,"rtsp_url":"rtsp://192.168.1.64/ch1"}"#)
            let onDVR = try await app.call(.get, "/api/v1/cameras/\(camera)")
            #expect(onDVR.string("site_id") == siteId, "a camera on a DVR is at the DVR's site")
            let sameChannel = try await app.call(.post, "/api/v1/cameras",
                                                 json: #"{"name":"Other","dvr_id":"\#(dvrId)","channel_number":1,"rtsp_url":"rtsp://h/2"}"#)
            #expect(sameChannel.errorCode == "dvr_channel_taken")

            #expect(try await app.call(.get, "/api/v1/dvrs?site_id=\(siteId)").items.count == 1)
            #expect(try await app.call(.get, "/api/v1/dvrs?status=online").items.isEmpty)
            #expect(try await app.call(.get, "/api/v1/dvrs?status=sleeping").errorCode == "invalid_parameter")

            let patched = try await app.call(.patch, "/api/v1/dvrs/\(dvrId)", json: #"{"ip_address":"fe80::10","status":"online"}"#)
            #expect(patched.string("ip_address") == "fe80::10")
            #expect(patched.string("status") == "online")

            #expect(try await app.call(.delete, "/api/v1/dvrs/\(dvrId)").status == .noContent)
            #expect(try await app.call(.get, "/api/v1/cameras/\(camera)").status == .notFound, "the DVR's cameras go with it")
        }
    }

    @Test("DVR credentials are stored encrypted, never returned, and kept by patches that do not name them")
    func dvrCredentials() async throws {
        try await TestApp.run { app in
            let created = try await app.call(.post, "/api/v1/dvrs",
                                             json: #"{"name":"NVR","ip_address":"10.0.0.3","username":"admin","password":"hunter2"}"#)
            #expect(created.status == .created)
            #expect(created["has_credentials"] == .bool(true))
            #expect(!created.text.contains("hunter2"))
            #expect(created["password"] == nil)
            let id = try #require(created.string("id"))

            func stored() async throws -> (String?, String?) {
                let username = try await app.database.scalar("SELECT username_encrypted FROM dvrs", as: ByteBuffer?.self) ?? nil
                let password = try await app.database.scalar("SELECT password_encrypted FROM dvrs", as: ByteBuffer?.self) ?? nil
                return (try username.map { try app.secrets.open(Array($0.readableBytesView)) },
                        try password.map { try app.secrets.open(Array($0.readableBytesView)) })
            }
            let raw = try await app.database.scalar("SELECT encode(password_encrypted, 'escape') FROM dvrs", as: String.self)
            #expect(raw?.contains("hunter2") == false, "the column holds ciphertext")
            #expect(try await stored() == ("admin", "hunter2"))

            _ = try await app.call(.patch, "/api/v1/dvrs/\(id)", json: #"{"name":"NVR renamed"}"#)
            #expect(try await stored() == ("admin", "hunter2"), "a patch that does not name them keeps them")
            _ = try await app.call(.patch, "/api/v1/dvrs/\(id)", json: #"{"password":"correct horse"}"#)
            #expect(try await stored() == ("admin", "correct horse"))
            let cleared = try await app.call(.patch, "/api/v1/dvrs/\(id)", json: #"{"username":null,"password":null}"#)
            #expect(cleared["has_credentials"] == .bool(false))
            #expect(try await stored() == (nil, nil))
            #expect(!(try await app.call(.get, "/api/v1/dvrs")).text.contains("correct horse"))
        }
    }

    @Test("DVRs: bad addresses, ports and sites are refused")
    func dvrErrors() async throws {
        try await TestApp.run { app in
            let bad = try await app.call(.post, "/api/v1/dvrs", json: #"{"name":"NVR","ip_address":"nvr.local","ports":{"rtsp":0}}"#)
            #expect(bad.status == .unprocessableContent)
            let fields = Set((try bad.decode(ErrorBody.self)).error.details?.map(\.field) ?? [])
            #expect(fields == ["ip_address", "ports.rtsp"])

            let noSite = try await app.call(.post, "/api/v1/dvrs",
                                            json: #"{"name":"NVR","ip_address":"10.0.0.1","site_id":"\#(UUID().uuidString)"}"#)
            #expect(noSite.errorCode == "site_not_found")
            #expect(try await app.call(.get, "/api/v1/dvrs/\(UUID().uuidString)").errorCode == "dvr_not_found")
        }
    }

    @Test("deleting a site deletes its DVRs, cameras and zones")
    func siteCascade() async throws {
        try await TestApp.run { app in
            let site = try #require(try await app.call(.post, "/api/v1/sites", json: #"{"name":"Cabin"}"#).string("id"))
            let dvr = try #require(try await app.call(.post, "/api/v1/dvrs",
                                                      json: #"{"name":"NVR","ip_address":"10.0.0.2","site_id":"\#(site)"}"#).string("id"))
            let camera = try await app.createCamera(#"{"name":"Cabin Porch","site_id":"\#(site)"}"#)
            let zone = try await app.call(.post, "/api/v1/cameras/\(camera)/zones",
                                          json: #"{"name":"Steps","coordinates":[[0,0],[1,0],[1,1],[0,1]]}"#)
            #expect(zone.status == .created)
            #expect(try await app.call(.delete, "/api/v1/sites/\(site)").status == .noContent)
            #expect(try await app.call(.get, "/api/v1/dvrs/\(dvr)").status == .notFound)
            #expect(try await app.call(.get, "/api/v1/cameras/\(camera)").status == .notFound)
            let zones = try await app.database.scalar("SELECT count(*)::int8 FROM camera_zones", as: Int.self)
            #expect(zones == 0)
        }
    }
}

struct ErrorBody: Decodable {
    struct Content: Decodable {
        var code: String
        var message: String
        var details: [Detail]?
    }

    struct Detail: Decodable {
        var field: String
        var message: String
    }

    var error: Content
}
