import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport
import VigilVision

/// Faces end to end on photos of real people: enrolment and its refusals, recognition of frames
/// pushed by cameras, clusters of strangers, merging and promoting them.
@Suite("Faces: enrolment, recognition, clusters", .serialized)
struct FacesTests {
    static let ana = "Female_40_1_1_1.jpg"
    static let anaAgain = ["Female_40_2_1_1.jpg", "Female_40_3_1.jpg"]
    static let stranger = ["Male_22_1_1_1.jpg", "Male_22_2_1_1.jpg"]
    static let otherStranger = "Male_24_1_1_1.jpg"

    static func photoPart(_ name: String, field: String = "image", bytes: [UInt8]? = nil) throws -> MultipartFormData.Part {
        MultipartFormData.Part(name: field, filename: name, contentType: "image/jpeg", body: try bytes ?? TestImages.photoBytes(name))
    }

    /// Creates a person and returns their id.
    static func person(_ app: TestApp, _ body: String) async throws -> String {
        let reply = try await app.call(.post, "/api/v1/persons", json: body)
        #expect(reply.status == .created, "\(reply.text)")
        return try #require(reply.string("id"))
    }

    /// Pushes a photo of a person as a camera's frame; a `variant` re-encodes it, so that a photo
    /// sent again is a new frame, not a duplicate of the first.
    @discardableResult
    static func push(_ app: TestApp, token: String, _ name: String, variant: Int = 0) async throws -> String {
        let bytes = variant == 0 ? try TestImages.photoBytes(name) : try TestImages.jpeg(try TestImages.photo(name), quality: 95 - variant)
        let reply = try await app.send(.post, "/api/v1/ingest/frame", body: ByteBuffer(bytes: bytes),
                                       headers: [.contentType: "image/jpeg"], as: .deviceToken(token))
        return try #require(reply.string("capture_id"), "\(reply.status) \(reply.text)")
    }

    static func face(ofCapture capture: String, _ app: TestApp) async throws -> (person: UUID?, cluster: UUID?, source: String, event: UUID?) {
        let id = try #require(UUID(uuidString: capture))
        return try await app.database.read { connection in
            let rows = try await connection.query("""
                SELECT person_id, cluster_id, source, event_id FROM face_embeddings WHERE capture_id = \(id)
                """, logger: TestApp.logger)
            var found: [(UUID?, UUID?, String, UUID?)] = []
            for try await row in rows.decode((UUID?, UUID?, String, UUID?).self) { found.append(row) }
            #expect(found.count == 1, "faces of \(capture): \(found)")
            return try #require(found.first)
        }
    }

    @Test("a good photo is enrolled; none, several, tiny and blurred faces are refused with their codes, and nothing is stored")
    func enrolment() async throws {
        try await TestApp.run { app in
            let ana = try await Self.person(app, #"{"name":"Ana Ruiz","status":"known","aliases":["Annie"],"labels":["employee"]}"#)
            let enrolled = try await app.upload("/api/v1/persons/\(ana)/faces", parts: [try Self.photoPart(Self.ana)])
            #expect(enrolled.status == .created, "\(enrolled.text)")
            #expect(enrolled.items.count == 1)
            let stored = try await app.call(.get, "/api/v1/persons/\(ana)")
            #expect(stored["face_count"] == .number(1))
            #expect(stored.string("primary_face_id") == enrolled.items.first?.objectValue?["id"]?.stringValue)
            let faceId = try #require(enrolled.items.first?.objectValue?["id"]?.stringValue)
            let image = try await app.call(.get, "/api/v1/faces/\(faceId)/image")
            #expect(image.status == .ok && image.bytes.prefix(2) == [0xFF, 0xD8])

            let portrait = try TestImages.photo(Self.ana)
            let other = try TestImages.photo(Self.stranger[0])
            let pair = TestImages.canvas(width: portrait.width + other.width, height: max(portrait.height, other.height),
                                         placing: [(portrait, 0, 0), (other, portrait.width, 0)])
            // The whole portrait shrunk to 130 pixels high (its face about 15 across), on a canvas the detector need not enlarge.
            let tiny = TestImages.canvas(width: 640, height: 640, placing: [(TestImages.shrunk(portrait, to: 130), 300, 300)])
            let refusals: [(String, [UInt8], String)] = [
                ("horses.jpg", try TestImages.photoBytes("horses.jpg"), "no_face"),
                ("pair.jpg", try TestImages.jpeg(pair), "several_faces"),
                ("tiny.jpg", try TestImages.jpeg(tiny), "face_too_small"),
                ("blurred.jpg", try TestImages.jpeg(TestImages.blurred(TestImages.shrunk(portrait, to: 540), radius: 4)), "too_blurry"),
                ("notes.jpg", Array("not a photo".utf8), "unreadable_image"),
            ]
            for (name, bytes, code) in refusals {
                let reply = try await app.upload("/api/v1/persons/\(ana)/faces", parts: [try Self.photoPart(name, bytes: bytes)])
                #expect(reply.status == .unprocessableContent, "\(name): \(reply.status)")
                #expect(reply.errorCode == code, "\(name): \(reply.text)")
            }
            // One bad photo among good ones refuses them all.
            let mixed = try await app.upload("/api/v1/persons/\(ana)/faces", parts: [
                try Self.photoPart(Self.anaAgain[0], field: "image1"), try Self.photoPart("horses.jpg", field: "image2"),
            ])
            #expect(mixed.status == .unprocessableContent && mixed.errorCode == "no_face", "\(mixed.text)")
            #expect(try await app.call(.get, "/api/v1/persons/\(ana)")["face_count"] == .number(1))

            // Found by name or alias, any case.
            #expect(try await app.call(.get, "/api/v1/persons?search=annie").items.count == 1)
            #expect(try await app.call(.get, "/api/v1/persons?search=RUIZ").items.count == 1)
            #expect(try await app.call(.get, "/api/v1/persons?search=bob").items.isEmpty)

            let deleted = try await app.call(.delete, "/api/v1/persons/\(ana)/faces/\(faceId)")
            #expect(deleted.status == .noContent)
            let after = try await app.call(.get, "/api/v1/persons/\(ana)")
            #expect(after["face_count"] == .number(0) && after.string("primary_face_id") == nil)
        }
    }

    @Test("a person enrolled from one photo is recognized in others; a stranger is not, and lands in a cluster of their own")
    func recognition() async throws {
        try await TestApp.run { app in
            let pipeline = EventPipelineTests.Pipeline(app, faces: TestModels.faceEngine)
            let ana = try await Self.person(app, #"{"name":"Ana Ruiz"}"#)
            #expect(try await app.upload("/api/v1/persons/\(ana)/faces", parts: [try Self.photoPart(Self.ana)]).status == .created)
            let door = try await EventPipelineTests().camera(app, name: "Front Door")

            var captures: [String: String] = [:]
            for name in Self.anaAgain + Self.stranger + [Self.otherStranger] {
                captures[name] = try await Self.push(app, token: door.token, name)
                try await pipeline.analyse()
                app.clock.advance(by: 120)
            }
            for name in Self.anaAgain {
                let face = try await Self.face(ofCapture: try #require(captures[name]), app)
                #expect(face.person?.uuidString == ana.uppercased(), "\(name) is Ana: \(face)")
                #expect(face.source == "recognition")
                let event = try await app.call(.get, "/api/v1/events/\(try #require(face.event))")
                #expect(event.string("event_type") == "person_recognized" && event.string("person_id") == ana.lowercased(), "\(event.text)")
            }
            let first = try await Self.face(ofCapture: try #require(captures[Self.stranger[0]]), app)
            let second = try await Self.face(ofCapture: try #require(captures[Self.stranger[1]]), app)
            let other = try await Self.face(ofCapture: try #require(captures[Self.otherStranger]), app)
            #expect(first.person == nil && second.person == nil && other.person == nil)
            #expect(first.cluster != nil && first.cluster == second.cluster, "the same stranger twice: \(first), \(second)")
            #expect(other.cluster != nil && other.cluster != first.cluster, "another stranger: \(other)")

            let clusters = try await app.call(.get, "/api/v1/face-clusters?status=active").items.compactMap(\.objectValue)
            #expect(clusters.count == 2)
            let strangerCluster = try #require(clusters.first { $0["id"]?.stringValue == first.cluster?.uuidString.lowercased() })
            #expect(strangerCluster["sample_count"] == .number(2))
            #expect(strangerCluster["label"]?.stringValue?.hasPrefix("Unknown-") == true)
            let event = try await app.call(.get, "/api/v1/events/\(try #require(first.event))")
            #expect(event.string("event_type") == "face_detected" && event.string("cluster_id") == first.cluster?.uuidString.lowercased(), "\(event.text)")

            // An operator decides the two clusters are one man, and names him.
            let source = try #require(other.cluster?.uuidString.lowercased()), target = try #require(first.cluster?.uuidString.lowercased())
            let merged = try await app.call(.post, "/api/v1/face-clusters/\(source)/merge", json: #"{"into_cluster_id":"\#(target)"}"#)
            #expect(merged.status == .ok && merged["sample_count"] == .number(3), "\(merged.text)")
            let gone = try await app.call(.get, "/api/v1/face-clusters/\(source)")
            #expect(gone["cluster"]?.objectValue?["status"] == .string("merged"))
            #expect(gone["cluster"]?.objectValue?["merged_into_cluster_id"] == .string(target))
            let again = try await app.call(.post, "/api/v1/face-clusters/\(source)/merge", json: #"{"into_cluster_id":"\#(target)"}"#)
            #expect(again.status == .conflict && again.errorCode == "cluster_not_active")

            let promoted = try await app.call(.post, "/api/v1/face-clusters/\(target)/promote", json: #"{"person":{"name":"Marco"}}"#)
            #expect(promoted.status == .ok && promoted["faces_moved"] == .number(3), "\(promoted.text)")
            let marco = try #require(promoted["person"]?.objectValue?["id"]?.stringValue)
            #expect(promoted["person"]?.objectValue?["face_count"] == .number(3))
            let filed = try await app.call(.get, "/api/v1/events/\(try #require(first.event))")
            #expect(filed.string("person_id") == marco && filed.string("event_type") == "person_recognized")
            #expect(try await app.call(.get, "/api/v1/face-clusters?status=active").items.isEmpty)

            // Now he is recognized.
            let later = try await Self.push(app, token: door.token, Self.stranger[0])
            try await pipeline.analyse()
            #expect(try await Self.face(ofCapture: later, app).person?.uuidString.lowercased() == marco)
        }
    }

    @Test("a person on a blacklist raises the risk with a trace entry, is judged at once, and is matched by a watchlist rule; a VIP rule says why not")
    func watchlists() async throws {
        try await TestApp.run { app in
            let pipeline = AlertPipeline(app, faces: TestModels.faceEngine)
            let marco = try await Self.person(app, #"{"name":"Marco","status":"known"}"#)
            #expect(try await app.upload("/api/v1/persons/\(marco)/faces", parts: [try Self.photoPart(Self.stranger[0])]).status == .created)
            let list = try await app.call(.post, "/api/v1/watchlists", json: #"{"name":"Banned","watch_type":"blacklist"}"#)
            #expect(list.status == .created)
            let listId = try #require(list.string("id"))
            let added = try await app.call(.post, "/api/v1/watchlists/\(listId)/entries", json: #"{"person_id":"\#(marco)","notes":"shoplifting"}"#)
            #expect(added.status == .created && added.items.count == 1, "\(added.text)")
            #expect(try await app.call(.post, "/api/v1/watchlists", json: #"{"name":"Banned","watch_type":"suspect"}"#).errorCode == "watchlist_name_taken")
            let nobody = try await app.call(.post, "/api/v1/watchlists/\(listId)/entries", json: #"{"person_id":"\#(UUID().uuidString)"}"#)
            #expect(nobody.status == .unprocessableContent && nobody.errorCode == "person_not_found")

            let banned = try await app.createRule(#"{"name":"Banned people","watchlist_ids":["\#(listId)"],"severity":"critical"}"#)
            let vips = try await app.createRule(#"{"name":"VIPs","person_statuses":["vip"]}"#)
            let missing = try await app.call(.post, "/api/v1/alert-rules", json: #"{"name":"x","person_ids":["\#(UUID().uuidString)"]}"#)
            #expect(missing.status == .unprocessableContent, "\(missing.text)")

            let door = try await EventPipelineTests().camera(app, name: "Shop Door")
            let capture = try await Self.push(app, token: door.token, Self.stranger[1])
            try await pipeline.events.analyse()
            let face = try await Self.face(ofCapture: capture, app)
            #expect(face.person?.uuidString == marco.uppercased())
            // Judged while the event is still open, as a fast-path detection is.
            #expect(try await pipeline.events.judgeAll() >= 1)
            let event = try await app.call(.get, "/api/v1/events/\(try #require(face.event))")
            let details = event["details"]?.objectValue
            #expect(details?["stage"] == .string("fast_path"), "\(event.text)")
            let trace = details?["decision_trace"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(trace.contains("person_blacklisted +45"), "\(trace)")
            #expect(event.string("summary")?.hasPrefix("Marco (watched)") == true, "\(event.string("summary") ?? "")")
            #expect(event.string("reasoning")?.contains("Marco, on the watchlist Banned, was recognized.") == true)

            try await pipeline.evaluateAll()
            let alerts = try await app.alerts()
            #expect(alerts.count == 1, "\(alerts)")
            let alert = try #require(alerts.first)
            #expect(alert["rule_id"]?.stringValue == banned && alert["person_id"]?.stringValue == marco.lowercased())
            #expect(alert["severity"] == .string("critical"))
            #expect(alert["message"]?.stringValue?.hasPrefix("Marco (known, on Banned) recognized on camera \"Shop Door\"") == true, "\(alert)")

            let trial = try await app.call(.post, "/api/v1/alert-rules/\(vips)/test")
            let reasons = trial["results"]?.arrayValue?.first?.objectValue?["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(reasons == ["no recognized person vip (seen: Marco (known))"], "\(trial.text)")
        }
    }

    /// Pushes a photo, analyses it, and gives its one face.
    static func sighting(_ app: TestApp, _ pipeline: EventPipelineTests.Pipeline, token: String, _ name: String,
                         variant: Int = 0) async throws -> (person: UUID?, cluster: UUID?, source: String, event: UUID?) {
        let capture = try await push(app, token: token, name, variant: variant)
        try await pipeline.analyse()
        app.clock.advance(by: 120)
        return try await face(ofCapture: capture, app)
    }

    static func review(_ app: TestApp, _ event: UUID?, _ body: String) async throws -> TestApp.Reply {
        try await app.call(.post, "/api/v1/events/\(try #require(event))/review", json: body)
    }

    @Test("reviews change later recognition: a wrong name is rejected, corrected, confirmed; strangers are merged into a person; faces deleted")
    func reviews() async throws {
        try await TestApp.run { app in
            let pipeline = EventPipelineTests.Pipeline(app, faces: TestModels.faceEngine)
            let ana = try await Self.person(app, #"{"name":"Ana"}"#)
            let bob = try await Self.person(app, #"{"name":"Bob"}"#)
            #expect(try await app.upload("/api/v1/persons/\(ana)/faces", parts: [try Self.photoPart(Self.ana)]).status == .created)
            let door = try await EventPipelineTests().camera(app, name: "Back Door")

            // A stranger, filed under Ana by a careless operator: his face joins her gallery.
            let first = try await Self.sighting(app, pipeline, token: door.token, Self.stranger[0])
            #expect(first.person == nil)
            let careless = try await Self.review(app, first.event, #"{"action":"correct_name","person_id":"\#(ana)"}"#)
            #expect(careless.status == .created && careless["faces_moved"] == .number(1), "\(careless.text)")
            #expect(try await app.call(.get, "/api/v1/persons/\(ana)")["face_count"] == .number(2))
            let misnamed = try await Self.sighting(app, pipeline, token: door.token, Self.stranger[1])
            #expect(misnamed.person?.uuidString == ana.uppercased(), "the learnt face makes him Ana")

            // "This is not Ana": his faces leave her gallery, the learnt one included.
            let rejected = try await Self.review(app, misnamed.event, #"{"action":"reject","notes":"a man"}"#)
            #expect(rejected.status == .created && rejected["faces_moved"] == .number(2), "\(rejected.text)")
            #expect(rejected["review"]?.objectValue?["from_person_id"] == .string(ana.lowercased()))
            #expect(try await app.call(.get, "/api/v1/persons/\(ana)")["face_count"] == .number(1))
            let event = try await app.call(.get, "/api/v1/events/\(try #require(misnamed.event))")
            #expect(event.string("event_type") == "face_detected" && event.string("person_id") == nil && event["reviewed"] == .bool(true))
            let third = try await Self.sighting(app, pipeline, token: door.token, Self.stranger[0], variant: 1)
            #expect(third.person == nil && third.cluster != nil, "no longer Ana: \(third)")

            // He is Bob.
            let corrected = try await Self.review(app, third.event, #"{"action":"correct_name","person_id":"\#(bob)"}"#)
            #expect(corrected.status == .created && corrected["review"]?.objectValue?["to_person_id"] == .string(bob.lowercased()))
            let fourth = try await Self.sighting(app, pipeline, token: door.token, Self.stranger[1], variant: 1)
            #expect(fourth.person?.uuidString == bob.uppercased(), "\(fourth)")
            let confirmed = try await Self.review(app, fourth.event, #"{"action":"confirm"}"#)
            #expect(confirmed.status == .created && confirmed["faces_moved"] == .number(1))
            #expect(try await app.call(.get, "/api/v1/persons/\(bob)")["face_count"] == .number(2))

            // Another stranger is merged into a new person; an event's faces are deleted.
            let stranger = try await Self.sighting(app, pipeline, token: door.token, Self.otherStranger)
            let carl = try await Self.person(app, #"{"name":"Carl"}"#)
            let merged = try await Self.review(app, stranger.event, #"{"action":"merge","person_id":"\#(carl)"}"#)
            #expect(merged.status == .created && merged["faces_moved"] == .number(1), "\(merged.text)")
            #expect(try await app.call(.get, "/api/v1/face-clusters/\(try #require(stranger.cluster))")["cluster"]?.objectValue?["status"]
                    == .string("reviewed"))
            #expect(try await Self.sighting(app, pipeline, token: door.token, Self.otherStranger, variant: 1).person?.uuidString == carl.uppercased())
            let deleted = try await Self.review(app, first.event, #"{"action":"delete"}"#)
            #expect(deleted.status == .created)
            #expect(try await app.call(.get, "/api/v1/events/\(try #require(first.event))/faces").items.isEmpty)

            // Refusals, the record, the audit.
            #expect(try await Self.review(app, first.event, #"{"action":"confirm"}"#).errorCode == "no_faces")
            #expect(try await Self.review(app, third.event, #"{"action":"reject","person_id":"\#(bob)"}"#).errorCode == "validation_failed")
            let unknownPerson = try await Self.review(app, third.event, #"{"action":"correct_name","person_id":"\#(UUID().uuidString)"}"#)
            #expect(unknownPerson.errorCode == "person_not_found")
            let record = try await app.call(.get, "/api/v1/events/\(try #require(misnamed.event))/reviews")
            #expect(record.items.count == 1 && record.items.first?.objectValue?["notes"] == .string("a man"))
            let audited = try await app.database.scalar("SELECT count(*)::int8 FROM audit_logs WHERE action = 'event_face_review'", as: Int.self)
            #expect(audited == 6)
            // Each review asked for the event to be judged again.
            #expect(try await pipeline.judgeAll() >= 6)
        }
    }

    @Test("DeepStack's face API in its shapes: register, list, recognize, detect, delete, and its refusals")
    func deepStackFaces() async throws {
        try await TestApp.run { app in
            func field(_ name: String, _ value: String) -> MultipartFormData.Part { .field(name, value) }
            let registered = try await app.upload("/v1/vision/face/register", parts: [field("userid", "Ana"), try Self.photoPart(Self.ana, field: "image1")])
            #expect(registered.status == .ok && registered.json == .object(["success": .bool(true), "message": .string("face added")]), "\(registered.text)")
            #expect(try await app.call(.get, "/api/v1/persons?search=ana").items.count == 1, "the person is made")
            let listed = try await app.upload("/v1/vision/face/list", parts: [])
            #expect(listed["faces"] == .array([.string("Ana")]) && listed["success"] == .bool(true), "\(listed.text)")

            let known = try await app.upload("/v1/vision/face/recognize", parts: [try Self.photoPart(Self.anaAgain[0])])
            let prediction = try #require(known["predictions"]?.arrayValue?.first?.objectValue, "\(known.text)")
            #expect(prediction["userid"] == .string("Ana") && (prediction["confidence"]?.numberValue ?? 0) >= 0.5)
            #expect(Set(prediction.keys) == ["userid", "confidence", "x_min", "y_min", "x_max", "y_max"])
            let stranger = try await app.upload("/v1/vision/face/recognize", parts: [try Self.photoPart(Self.stranger[0])])
            #expect(stranger["predictions"]?.arrayValue?.first?.objectValue?["userid"] == .string("unknown"))
            #expect(stranger["predictions"]?.arrayValue?.first?.objectValue?["confidence"] == .number(0))
            let strict = try await app.upload("/v1/vision/face/recognize", parts: [try Self.photoPart(Self.anaAgain[0]), field("min_confidence", "0.999")])
            #expect(strict["predictions"]?.arrayValue?.first?.objectValue?["userid"] == .string("unknown"))

            let detected = try await app.upload("/v1/vision/face", parts: [try Self.photoPart(Self.ana)])
            let box = try #require(detected["predictions"]?.arrayValue?.first?.objectValue)
            #expect(detected["predictions"]?.arrayValue?.count == 1 && box["userid"] == nil)
            #expect((box["x_max"]?.numberValue ?? 0) > (box["x_min"]?.numberValue ?? 1))
            #expect(try await app.upload("/v1/vision/face", parts: [try Self.photoPart("horses.jpg")])["predictions"] == .array([]))

            let noUser = try await app.upload("/v1/vision/face/register", parts: [try Self.photoPart(Self.ana)])
            #expect(noUser.status == .badRequest && noUser.json == .object(["success": .bool(false), "error": .string("user id not specified")]))
            let noFace = try await app.upload("/v1/vision/face/register", parts: [field("userid", "Ana"), try Self.photoPart("horses.jpg")])
            #expect(noFace.status == .badRequest && noFace.string("error")?.hasPrefix("no_face") == true, "\(noFace.text)")
            let machine = try await app.apiKey(role: "api_client")
            let refused = try await app.upload("/v1/vision/face/recognize", parts: [field("api_key", machine), try Self.photoPart(Self.ana)],
                                               as: .anonymous)
            #expect(refused.status == .forbidden && refused["success"] == .bool(false))
            let operatorKey = try await app.apiKey(role: "operator")
            let viaForm = try await app.upload("/v1/vision/face/list", parts: [field("api_key", operatorKey)], as: .anonymous)
            #expect(viaForm.status == .ok && viaForm["faces"] == .array([.string("Ana")]), "\(viaForm.status) \(viaForm.text)")

            let deleted = try await app.upload("/v1/vision/face/delete", parts: [field("userid", "ana")])
            #expect(deleted.status == .ok && deleted["success"] == .bool(true), "\(deleted.text)")
            #expect(try await app.upload("/v1/vision/face/list", parts: [])["faces"] == .array([]))
            let forgotten = try await app.upload("/v1/vision/face/recognize", parts: [try Self.photoPart(Self.anaAgain[0])])
            #expect(forgotten["predictions"]?.arrayValue?.first?.objectValue?["userid"] == .string("unknown"))
            #expect(try await app.upload("/v1/vision/face/delete", parts: [field("userid", "Nobody")]).status == .notFound)
        }
    }

    @Test("a 512-d embedding model of its own version gets its own indexes and gallery; vectors of two models are never compared")
    func secondEmbeddingModel() async throws {
        let folder = try TestPaths.temporaryFolder("vigil-embedder")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("arcface_test.onnx").path
        let made = try await LaunchedProcess.run(TestPaths.packageRoot.appendingPathComponent(".vendor/python/bin/python"), [
            TestPaths.packageRoot.appendingPathComponent("Tests/VigilServerTests/Fixtures/make_face_embedder.py").path, path, "512",
        ])
        #expect(made.status == 0, "\(made.output)")
        let recognizer = try FaceRecognizer(modelPath: path, threads: 1, modelVersion: "arcface_test", input: .centred)
        #expect(recognizer.dimensions == 512)
        let engine = FaceEngine(analysis: FaceAnalysis(detector: TestModels.faceEngine.analysis.detector, recognizer: recognizer),
                                concurrentFrames: 1)
        try await TestApp.run(faceEngine: engine) { app in
            let index = try await app.database.scalar("""
                SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_faces_gallery_arcface_test'
                """, as: String.self)
            #expect(index?.contains("vector(512)") == true && index?.contains("'arcface_test'") == true, "\(index ?? "no index")")
            // A face of the default model, as SFace stores it: never a candidate for the other model.
            let bob = try await Self.person(app, #"{"name":"Bob"}"#)
            let sface = "[" + (0..<128).map { $0 == 0 ? "1" : "0" }.joined(separator: ",") + "]"
            try await app.database.transaction { connection in
                try await connection.query("""
                    INSERT INTO face_embeddings (person_id, embedding, source_image_path, model_version, source)
                    VALUES (\(UUID(uuidString: bob)!), \(sface)::vector, 'faces/bob.jpg', 'sface_2021dec', 'enrolment')
                    """, logger: TestApp.logger)
            }
            let ana = try await Self.person(app, #"{"name":"Ana"}"#)
            let enrolled = try await app.upload("/api/v1/persons/\(ana)/faces", parts: [try Self.photoPart(Self.ana)])
            #expect(enrolled.items.first?.objectValue?["model_version"] == .string("arcface_test"), "\(enrolled.text)")
            let widths = try await app.database.scalar("""
                SELECT string_agg(model_version || ':' || vector_dims(embedding), ',' ORDER BY model_version) FROM face_embeddings
                """, as: String.self)
            #expect(widths == "arcface_test:512,sface_2021dec:128")
            let copy = try TestImages.jpeg(try TestImages.photo(Self.ana), quality: 80)
            let found = try await app.upload("/v1/vision/face/recognize", parts: [try Self.photoPart("copy.jpg", bytes: copy)])
            #expect(found["predictions"]?.arrayValue?.first?.objectValue?["userid"] == .string("Ana"), "\(found.text)")
            #expect(try await app.upload("/v1/vision/face/list", parts: [])["faces"] == .array([.string("Ana")]))
        }
    }

    @Test("the configuration names the face models, their version and input, where faces are looked for, and refuses nonsense")
    func configuration() throws {
        let defaults = try ServerConfiguration.load(environment: [:])
        #expect(defaults.facesEnabled && defaults.resolvedFaceModelVersion == "sface_2021dec" && defaults.faces.mode == .person)
        #expect(defaults.faceModels.recognizer.lastPathComponent == "sface_2021dec.onnx")
        let arcface = try ServerConfiguration.load(environment: [
            "VIGIL_FACE_RECOGNIZER_MODEL": "/models/W600K-r50.onnx", "VIGIL_FACE_RECOGNIZER_INPUT": "centred", "VIGIL_FACE_MODE": "frame",
            "VIGIL_FACE_EF_SEARCH": "128", "VIGIL_FACE_CLUSTER_DISTANCE": "0.5", "VIGIL_FACES": "true",
        ])
        #expect(arcface.resolvedFaceModelVersion == "w600k_r50" && arcface.faceRecognizerInput == .centred)
        #expect(arcface.faces.mode == .frame && arcface.recognition.efSearch == 128 && arcface.recognition.clusterDistance == 0.5)
        #expect(try ServerConfiguration.load(environment: ["VIGIL_FACE_MODEL_VERSION": "arcface_r100"]).resolvedFaceModelVersion == "arcface_r100")
        #expect(!(try ServerConfiguration.load(environment: ["VIGIL_FACES": "false"]).facesEnabled))
        // A camera's own setting is checked when it is written.
        #expect(CameraInput(name: "Doorbell", config: .object(["faces": .object(["mode": .string("frame")])])).validate().isValid)
        #expect(CameraInput(name: "Doorbell", config: .object(["faces": .object(["mode": .string("faces")])])).validate().problems.map(\.field)
                == ["config.faces.mode"])
        for (name, value) in [("VIGIL_FACE_MODEL_VERSION", "ArcFace R100"), ("VIGIL_FACE_RECOGNIZER_INPUT", "bgr"), ("VIGIL_FACE_MODE", "faces"),
                              ("VIGIL_FACE_EF_SEARCH", "0"), ("VIGIL_FACE_CLUSTER_DISTANCE", "3")] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") { try ServerConfiguration.load(environment: [name: value]) }
        }
    }
}
