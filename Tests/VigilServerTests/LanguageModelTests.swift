import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// The optional language-model scorer against a local server speaking the OpenAI chat API,
/// which answers from a script: a good answer, prose, an error, silence.
@Suite("Language model scoring")
struct LanguageModelTests {
    enum Reply: Sendable {
        case content(String)
        case status(Int)
        case silence(Duration)
    }

    /// Answers `POST /v1/chat/completions` with the replies in turn, and keeps the requests.
    final class FakeModel: Sendable {
        private let state = Mutex<(replies: [Reply], requests: [JSONValue])>(([], []))

        init(_ replies: [Reply]) { state.withLock { $0.replies = replies } }

        var requests: [JSONValue] { state.withLock { $0.requests } }

        func run(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
            let router = Router()
            router.post("/v1/chat/completions") { request, context -> Response in
                let bytes = try await request.body.collect(upTo: 8 << 20)
                let reply = self.state.withLock { state -> Reply in
                    state.requests.append((try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))) ?? .null)
                    return state.replies.isEmpty ? .status(500) : state.replies.removeFirst()
                }
                switch reply {
                case .content(let content):
                    let completion: JSONValue = .object([
                        "id": .string("chatcmpl-1"), "object": .string("chat.completion"), "model": .string("test"),
                        "choices": .array([.object(["index": .number(0), "finish_reason": .string("stop"),
                                                    "message": .object(["role": .string("assistant"), "content": .string(content)])])]),
                    ])
                    return Response(status: .ok, headers: [.contentType: "application/json"],
                                    body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(completion))))
                case .status(let code):
                    return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"boom"}}"#)))
                case .silence(let duration):
                    try await Task.sleep(for: duration)
                    return Response(status: .ok)
                }
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in try await body(try #require(client.port)) }
        }
    }

    static let good = #"{"risk_score": 91, "risk_level": "critical", "summary": "Someone tried the front door at night", "reasoning": "A person stayed at the entry point after hours."}"#

    @Test("each kind of answer: used when valid, refused with a reason otherwise, and a silent model times out")
    func outcomes() async throws {
        let model = FakeModel([.content(Self.good), .content("I think this is fine."), .content(#"{"risk_score": 101, "summary": "x", "reasoning": "y"}"#),
                               .status(503), .silence(.seconds(5))])
        try await model.run { port in
            var settings = LanguageModelScorer.Settings(url: "http://127.0.0.1:\(port)/v1")
            // Generous for the answers (a loaded machine is slow to its first request), short for the silence.
            settings.timeout = 10
            settings.apiKey = "sk-test"
            let scorer = LanguageModelScorer(settings: settings)
            settings.timeout = 1
            let impatient = LanguageModelScorer(settings: settings)
            let facts: JSONValue = .object(["camera": .string("Front Door")])
            guard case .scored(let verdict) = await scorer.score(facts: facts, image: [1, 2, 3]) else {
                Issue.record("the good answer was not used")
                return
            }
            #expect(verdict.score == 91 && verdict.level == .critical)
            #expect(await scorer.score(facts: facts, image: nil) == .failed("invalid_output: the answer is not a JSON object"))
            #expect(await scorer.score(facts: facts, image: nil)
                    == .failed("invalid_output: risk_score must be a whole number from 0 to 100; got 101.0"))
            #expect(await scorer.score(facts: facts, image: nil) == .failed("http_503"))
            let clock = ContinuousClock()
            let started = clock.now
            #expect(await impatient.score(facts: facts, image: nil) == .failed("timeout"))
            #expect(clock.now - started < .seconds(4), "the timeout, not the model, ended the wait")
            // Images go only to models said to read them.
            let first = try #require(model.requests.first?.objectValue)
            #expect(first["messages"]?.arrayValue?[1].objectValue?["content"]?.stringValue != nil)
        }
    }

    @Test("a closed event is scored by the model, with the rules' score kept in its details; a bad answer leaves the rules' score, recorded")
    func judged() async throws {
        let model = FakeModel([.content(Self.good), .content("no JSON here")])
        try await model.run { port in
            try await TestApp.run { app in
                var settings = LanguageModelScorer.Settings(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                settings.sendsImages = true
                let pipeline = EventPipelineTests.Pipeline(app, languageModel: LanguageModelScorer(settings: settings))
                let created = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Front Door","config":\#(EventPipelineTests.steadyCamera)}"#)
                let token = try #require(created.string("device_token"))
                for round in 0..<2 {
                    try await EventPipelineTests().push(app, token: token, quality: 90 - round * 5)
                    try await pipeline.analyse()
                    app.clock.advance(by: 40)
                    try await pipeline.closer.closeDue(now: app.clock.now)
                    try await pipeline.judgeAll()
                }
                let events = try await app.call(.get, "/api/v1/events").items.compactMap(\.objectValue)
                #expect(events.count == 2)
                let fallback = events[0], scored = events[1]
                #expect(scored["risk_score"] == .number(91) && scored["summary"] == .string("Someone tried the front door at night"))
                let details = try #require(scored["details"]?.objectValue)
                #expect(details["scorer"] == .string("llm"))
                #expect(details["llm"]?.objectValue?["rules_score"]?.numberValue != nil)
                #expect(details["decision_trace"]?.arrayValue?.contains(.string("llm_scored 91")) == true)
                #expect(fallback["details"]?.objectValue?["scorer"] == .string("rules"))
                #expect(fallback["details"]?.objectValue?["llm"]?.objectValue?["error"] == .string("invalid_output: the answer is not a JSON object"))
                #expect(fallback["summary"]?.stringValue?.hasPrefix("Car, bicycle and dog at Front Door") == true)
                // The model was shown the facts and, as it reads images, the annotated frame.
                let request = try #require(model.requests.first?.objectValue)
                let parts = try #require(request["messages"]?.arrayValue?[1].objectValue?["content"]?.arrayValue)
                #expect(parts[0].objectValue?["text"]?.stringValue?.contains(#""camera":"Front Door""#) == true)
                #expect(parts[1].objectValue?["image_url"]?.objectValue?["url"]?.stringValue?.hasPrefix("data:image/jpeg;base64,/9j/") == true)
            }
        }
    }
}
