import Foundation

/// Asking a language model (any OpenAI-compatible chat endpoint: llama.cpp's server, Ollama,
/// vLLM) to score an event, and checking what it answers. The model gets the event as structured
/// facts, with the deterministic score and its reasons, and must answer with strict JSON
/// `{"risk_score": 0-100, "risk_level": ..., "summary": ..., "reasoning": ...}`.
public enum LanguageModelScoring {
    public static let systemPrompt = """
        You are the risk analyst of a home and small-business video surveillance system. You get the facts of one \
        event seen by a camera and a first score computed by fixed rules. Judge how much attention it deserves: \
        0-29 low (routine), 30-59 medium (worth a look), 60-84 high (review soon), 85-100 critical (act now). \
        Consider where it happened, when, how long, what was seen and what is usual for this camera. \
        Answer with one JSON object and nothing else: \
        {"risk_score": <integer 0-100>, "risk_level": "low"|"medium"|"high"|"critical", \
        "summary": "<one sentence, at most 200 characters>", "reasoning": "<two to four sentences>"}.
        """

    /// The chat request body. `image` is the annotated frame as JPEG, sent only to models that take images.
    public static func request(model: String, facts: JSONValue, image: [UInt8]?) -> JSONValue {
        let factsText = (try? JSONEncoder.sorted.encode(facts)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var user: JSONValue = .string("Event facts:\n\(factsText)")
        if let image {
            user = .array([
                .object(["type": .string("text"), "text": .string("Event facts:\n\(factsText)\nThe attached frame shows the detections boxed.")]),
                .object(["type": .string("image_url"),
                         "image_url": .object(["url": .string("data:image/jpeg;base64,\(Data(image).base64EncodedString())")])]),
            ])
        }
        return .object([
            "model": .string(model),
            "temperature": .number(0),
            "max_tokens": .number(400),
            "response_format": .object(["type": .string("json_object")]),
            "messages": .array([
                .object(["role": .string("system"), "content": .string(systemPrompt)]),
                .object(["role": .string("user"), "content": user]),
            ]),
        ])
    }

    /// What a model said, checked.
    public struct Verdict: Sendable, Equatable {
        public var score: Int
        public var level: RiskLevel
        public var summary: String
        public var reasoning: String
        /// The model's level disagreed with its score; the level follows the score.
        public var levelCorrected: Bool
    }

    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case notJSON
        case missing(String)
        case outOfRange(String)

        public var description: String {
            switch self {
            case .notJSON: "the answer is not a JSON object"
            case .missing(let field): "the answer has no usable \(field)"
            case .outOfRange(let detail): detail
            }
        }
    }

    /// Reads the completion response body: `choices[0].message.content`, holding the JSON answer
    /// (a fenced ```json block is accepted too, as some models add one).
    public static func verdict(fromResponse body: JSONValue) throws(Rejection) -> Verdict {
        guard let choice = body.objectValue?["choices"]?.arrayValue?.first?.objectValue,
              let content = choice["message"]?.objectValue?["content"]?.stringValue else {
            throw .missing("choices[0].message.content")
        }
        return try verdict(fromContent: content)
    }

    public static func verdict(fromContent content: String) throws(Rejection) -> Verdict {
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("```") {
            text = String(text.drop { $0 != "\n" }.dropFirst())
            if let end = text.range(of: "```", options: .backwards) { text = String(text[..<end.lowerBound]) }
        }
        guard let answer = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)).objectValue else { throw .notJSON }
        guard let number = answer["risk_score"]?.numberValue else { throw .missing("risk_score") }
        guard number == number.rounded(), (0...100).contains(number) else {
            throw .outOfRange("risk_score must be a whole number from 0 to 100; got \(number)")
        }
        let score = Int(number)
        guard let summary = answer["summary"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !summary.isEmpty else {
            throw .missing("summary")
        }
        guard let reasoning = answer["reasoning"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !reasoning.isEmpty else {
            throw .missing("reasoning")
        }
        guard summary.count <= 500, reasoning.count <= 4000 else { throw .outOfRange("the summary or reasoning is far too long") }
        let stated = answer["risk_level"]?.stringValue.flatMap(RiskLevel.init(rawValue:))
        let level = RiskLevel(score: score)
        return Verdict(score: score, level: level, summary: summary, reasoning: reasoning, levelCorrected: stated != level)
    }
}

extension JSONEncoder {
    /// Sorted keys: the same facts always make the same prompt.
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension RiskFactors {
    /// The facts a language model is given: what the rules saw, and what they made of it.
    public func facts(endedAt: Date?, rules: RiskAssessment, requirements: BaselineRequirements = BaselineRequirements()) -> JSONValue {
        let local = LocalTime(startedAt, in: schedule.timeZone)
        var facts: [String: JSONValue] = [
            "camera": .string(cameraName),
            "objects": .object(objectCounts.mapValues { .number(Double($0)) }),
            "people_in_one_frame": .number(Double(peopleInOneFrame)),
            "zones": .array(zones.map { .object(["name": .string($0.name), "type": .string($0.type.label), "priority": .number(Double($0.priority))]) }),
            "local_time": .string("\(WeeklySchedule.dayNames[local.weekday]) \(local.clock)"),
            "after_hours": .bool(afterHours),
            "expected_hours": .string(schedule.hoursText),
            "longest_presence_seconds": .number(longestPresence.rounded()),
            "all_objects_stationary": .bool(allStationary),
            "suspicious_activities": .array(suspicious.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { .object(["type": .string($0.key.rawValue), "severity": .string($0.value.rawValue)]) }),
            "rules_score": .number(Double(rules.score)),
            "rules_level": .string(rules.level.rawValue),
            "rules_reasons": .array(rules.contributions.map { .string($0.explanation) }),
        ]
        if let endedAt { facts["duration_seconds"] = .number(max(0, endedAt.timeIntervalSince(startedAt)).rounded()) }
        if let activity, activity.usual.samples >= requirements.activitySamples {
            facts["events_in_the_last_hour"] = .number(activity.observed)
            facts["usual_events_per_hour_at_this_time"] = .number((activity.usual.value * 10).rounded() / 10)
        }
        return .object(facts)
    }
}
