import Foundation
import Testing
import VigilCore
import VigilTestSupport

@Suite("Camera zones API")
struct ZonesAPITests {
    @Test("create with the seed's defaults, read, update, delete")
    func lifecycle() async throws {
        try await TestApp.run { app in
            let camera = try await app.createCamera(#"{"name":"Front Door"}"#)
            let created = try await app.call(.post, "/api/v1/cameras/front_door/zones",
                                             json: #"{"name":"Entry Point","zone_type":"entry_point","coordinates":[[0.3,0.4],[0.7,0.4],[0.7,0.9],[0.3,0.9]],"priority":10}"#)
            #expect(created.status == .created)
            let zone = try created.decode(CameraZone.self)
            #expect(zone.cameraId.uuidString.lowercased() == camera)
            #expect(zone.shape == .rectangle)
            #expect(zone.color == "#3B82F6")
            #expect(zone.enabled)
            #expect(zone.coordinates == [[0.3, 0.4], [0.7, 0.4], [0.7, 0.9], [0.3, 0.9]])

            let polygon = try await app.call(.patch, "/api/v1/cameras/\(camera)/zones/\(zone.id)",
                                             json: ##"{"shape":"polygon","coordinates":[[0.1,0.1],[0.9,0.2],[0.5,0.95]],"color":"#ef4444","enabled":false}"##)
            #expect(polygon.status == .ok)
            let updated = try polygon.decode(CameraZone.self)
            #expect(updated.coordinates.count == 3)
            #expect(updated.color == "#ef4444")
            #expect(updated.updatedAt >= zone.updatedAt)

            #expect(try await app.call(.get, "/api/v1/cameras/front_door/zones?enabled=false").items.count == 1)
            #expect(try await app.call(.get, "/api/v1/cameras/front_door/zones?enabled=true").items.isEmpty)
            #expect(try await app.call(.delete, "/api/v1/cameras/front_door/zones/\(zone.id)").status == .noContent)
            #expect(try await app.call(.get, "/api/v1/cameras/front_door/zones/\(zone.id)").errorCode == "zone_not_found")
        }
    }

    @Test("invalid outlines, colours and priorities are refused with every problem named", arguments: [
        (#"{"name":"Z","shape":"polygon","coordinates":[[0,0],[1,1]]}"#, ["coordinates"]),
        (#"{"name":"Z","coordinates":[[0,0],[1,0],[1,1]]}"#, ["coordinates"]),
        (#"{"name":"Z","coordinates":[[0,0],[1.5,0],[1,1],[0,-1]]}"#, ["coordinates", "coordinates[1]", "coordinates[3]"]),
        (#"{"name":"Z","coordinates":[[0,0],[1,0],[1,1],[0,1]],"color":"red","priority":-2}"#, ["color", "priority"]),
        (#"{"name":"","shape":"polygon","coordinates":[[0,0],[1,0],[1]]}"#, ["name", "coordinates[2]"]),
    ])
    func invalid(body: String, fields: [String]) async throws {
        try await TestApp.run { app in
            _ = try await app.createCamera(#"{"name":"Yard"}"#)
            let reply = try await app.call(.post, "/api/v1/cameras/yard/zones", json: body)
            #expect(reply.status == .unprocessableContent, "\(reply.text)")
            #expect(reply.errorCode == "validation_failed")
            #expect(Set(try reply.decode(ErrorBody.self).error.details?.map(\.field) ?? []) == Set(fields))
        }
    }

    @Test("a zone belongs to its camera only")
    func scoping() async throws {
        try await TestApp.run { app in
            _ = try await app.createCamera(#"{"name":"One"}"#)
            _ = try await app.createCamera(#"{"name":"Two"}"#)
            let zone = try #require(try await app.call(.post, "/api/v1/cameras/one/zones",
                                                       json: #"{"name":"A","coordinates":[[0,0],[1,0],[1,1],[0,1]]}"#).string("id"))
            #expect(try await app.call(.get, "/api/v1/cameras/two/zones/\(zone)").errorCode == "zone_not_found")
            #expect(try await app.call(.delete, "/api/v1/cameras/two/zones/\(zone)").status == .notFound)
            #expect(try await app.call(.get, "/api/v1/cameras/three/zones").errorCode == "camera_not_found")
            #expect(try await app.call(.get, "/api/v1/cameras/one/zones/\(zone)").status == .ok)
        }
    }
}
