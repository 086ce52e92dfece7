import Foundation
import HTTPTypes
import NIOCore
import Testing
import VigilCore
@testable import VigilServer
import VigilTestSupport

@Suite("DeepStack-compatible detection endpoint")
struct DeepStackTests {
    static let boundary = "vigil-deepstack-test"

    func form(_ fields: [String: String], image: [UInt8]?) -> ByteBuffer {
        var body: [UInt8] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let image {
            body += Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"frame.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
            body += image + Array("\r\n".utf8)
        }
        body += Array("--\(Self.boundary)--\r\n".utf8)
        return ByteBuffer(bytes: body)
    }

    func post(_ app: TestApp, _ body: ByteBuffer, as caller: TestApp.Caller) async throws -> TestApp.Reply {
        try await app.send(.post, "/v1/vision/detection", body: body,
                           headers: [.contentType: "multipart/form-data; boundary=\(Self.boundary)"], as: caller)
    }

    @Test("answers as DeepStack does: predictions with labels, confidences and pixel corners")
    func detects() async throws {
        try await TestApp.run { app in
            let dog = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/dog.jpg")))
            let key = try await app.apiKey(role: "api_client")
            let reply = try await post(app, form(["min_confidence": "0.5"], image: dog), as: .apiKey(key))
            #expect(reply.status == .ok)
            #expect(reply["success"] == .bool(true))
            guard case .array(let predictions)? = reply["predictions"] else { Issue.record("no predictions: \(reply.text)"); return }
            let labels = Set(predictions.compactMap { $0.objectValue?["label"] }.compactMap { value -> String? in
                if case .string(let label) = value { return label }
                return nil
            })
            #expect(labels == ["dog", "bicycle", "car"], "the 0.31 truck is below min_confidence")
            let dogPrediction = try #require(predictions.first { $0.objectValue?["label"] == .string("dog") }?.objectValue)
            #expect(dogPrediction["x_min"] == .number(132) || dogPrediction["x_min"] == .number(133))
            #expect(dogPrediction["y_max"].map { if case .number(let y) = $0 { return (530...550).contains(y) } else { return false } } == true)
            if case .number(let milliseconds)? = reply["inferenceMs"] { #expect(milliseconds >= 0) } else { Issue.record("no inferenceMs") }

            // The key in the form, as Frigate and Home Assistant send it.
            let viaForm = try await post(app, form(["api_key": key], image: dog), as: .anonymous)
            #expect(viaForm.status == .ok)
            #expect(viaForm["count"] == .number(3), "the default min_confidence, 0.4, leaves out the 0.31 truck")
        }
    }

    @Test("refusals keep DeepStack's shape: no key, a wrong key, a role without ingest, not a picture")
    func refusals() async throws {
        try await TestApp.run { app in
            let dog = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/dog.jpg")))
            let anonymous = try await post(app, form([:], image: dog), as: .anonymous)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous["success"] == .bool(false))
            let wrong = try await post(app, form(["api_key": "vgl_" + String(repeating: "x", count: 43)], image: dog), as: .anonymous)
            #expect(wrong.status == .unauthorized)
            let viewer = try await app.apiKey(role: "viewer")
            #expect(try await post(app, form(["api_key": viewer], image: dog), as: .anonymous).status == .forbidden)
            #expect(try await post(app, form([:], image: dog), as: .apiKey(viewer)).status == .forbidden)
            let key = try await app.apiKey(role: "api_client")
            let notAPicture = try await post(app, form([:], image: Array("hello".utf8)), as: .apiKey(key))
            #expect(notAPicture.status == .badRequest)
            #expect(notAPicture["success"] == .bool(false))
            let noImage = try await post(app, form(["min_confidence": "2"], image: nil), as: .apiKey(key))
            #expect(noImage.status == .badRequest)
        }
    }
}
