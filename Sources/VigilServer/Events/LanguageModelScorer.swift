import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilCore

/// Scores events with a language model behind an OpenAI-compatible chat endpoint
/// (`VIGIL_LLM_URL`). Whatever goes wrong (no answer in time, an error, an answer that is not the
/// JSON asked for), the outcome says so and the event keeps its deterministic score.
struct LanguageModelScorer: Sendable {
    struct Settings: Sendable, Equatable {
        /// The endpoint's base (`http://localhost:11434/v1`) or its full chat-completions address.
        var url: String
        var model = "default"
        var apiKey: String?
        var timeout: TimeInterval = 30
        /// Send the annotated frame too (for models that read images).
        var sendsImages = false

        var endpoint: String {
            let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
            return trimmed.hasSuffix("/chat/completions") ? trimmed : trimmed + "/chat/completions"
        }
    }

    enum Outcome: Sendable, Equatable {
        case scored(LanguageModelScoring.Verdict)
        /// Why the model's answer was not used: `timeout`, `unreachable`, `http_<status>`, `invalid_output: ...`.
        case failed(String)
    }

    let settings: Settings
    var client: HTTPClient = .shared

    func score(facts: JSONValue, image: [UInt8]?) async -> Outcome {
        let body = LanguageModelScoring.request(model: settings.model, facts: facts, image: settings.sendsImages ? image : nil)
        var request = HTTPClientRequest(url: settings.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key = settings.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        guard let data = try? JSONEncoder.sorted.encode(body) else { return .failed("invalid_request") }
        request.body = .bytes(ByteBuffer(bytes: data))
        let response: HTTPClientResponse
        let collected: ByteBuffer
        do {
            // One deadline for the answer and its body: a model that starts answering and stalls is as late as a silent one.
            let deadline = NIODeadline.now() + .milliseconds(Int64(settings.timeout * 1000))
            response = try await client.execute(request, deadline: deadline)
            collected = try await response.body.collect(upTo: 1 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failed("timeout")
        } catch {
            return .failed("unreachable")
        }
        guard (200..<300).contains(response.status.code) else { return .failed("http_\(response.status.code)") }
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: collected)) else {
            return .failed("invalid_output: the response is not JSON")
        }
        do {
            return .scored(try LanguageModelScoring.verdict(fromResponse: json))
        } catch {
            return .failed("invalid_output: \(error.description)")
        }
    }
}
