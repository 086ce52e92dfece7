import Foundation

/// What a camera's frames are analysed for: the objects of interest with the confidence each must
/// reach, motion gating and tracking. Server-wide defaults, overridden per camera by the camera's
/// `config` (`{"detect": {...}, "motion": {...}}`).
public struct DetectionSettings: Sendable, Equatable {
    /// Object classes worth recording, each with its minimum confidence.
    public var objects: [String: Double]
    /// New objects are recorded only where the picture moved (objects already tracked are followed anywhere).
    public var restrictToMotion = true
    public var motion = MotionSettings()
    public var tracker = TrackerSettings()

    /// What people watching a home or a shop care about.
    public static let defaultClasses = [
        "person", "bicycle", "car", "motorcycle", "bus", "truck", "bird", "cat", "dog", "horse", "backpack", "handbag", "suitcase",
    ]
    public static let defaultConfidence = 0.4

    public init(objects: [String: Double] = Dictionary(uniqueKeysWithValues: defaultClasses.map { ($0, defaultConfidence) })) {
        self.objects = objects
    }

    /// Reads `person:0.6,car,dog:0.5` (a class with its own minimum, or the default one).
    public static func parseObjects(_ text: String, defaultConfidence: Double = defaultConfidence) throws(ValidationProblem) -> [String: Double] {
        var objects: [String: Double] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let label = parts.first, !label.isEmpty else { continue }
            if parts.count == 2 {
                guard let confidence = Double(parts[1]), (0...1).contains(confidence) else {
                    throw ValidationProblem(field: label, message: "the confidence must be from 0 to 1; got '\(parts[1])'")
                }
                objects[label] = confidence
            } else {
                objects[label] = defaultConfidence
            }
        }
        guard !objects.isEmpty else { throw ValidationProblem(field: "objects", message: "names no object class") }
        return objects
    }

    /// These settings with a camera's `config` applied; what is wrong in it goes to `report`
    /// (fields named `config.detect.…`) and leaves the setting as it was.
    public func applying(cameraConfig config: JSONValue, report: inout ValidationReport) -> DetectionSettings {
        var settings = self
        let members = config.objectValue ?? [:]
        if let detect = members["detect"] {
            guard let detect = detect.objectValue else {
                report.add("config.detect", "must be a JSON object")
                return settings
            }
            if let objects = detect["objects"] {
                switch objects {
                case .array(let labels):
                    let names = labels.compactMap { if case .string(let name) = $0, !name.isEmpty { name } else { nil } }
                    report.check(names.count == labels.count && !names.isEmpty, "config.detect.objects",
                                 "must list object class names, or map each to its minimum confidence")
                    if names.count == labels.count && !names.isEmpty {
                        settings.objects = Dictionary(names.map { ($0, self.objects[$0] ?? Self.defaultConfidence) }) { first, _ in first }
                    }
                case .object(let map):
                    var parsed: [String: Double] = [:]
                    for (label, value) in map {
                        if case .number(let confidence) = value, (0...1).contains(confidence) {
                            parsed[label] = confidence
                        } else {
                            report.add("config.detect.objects.\(label)", "must be a confidence from 0 to 1")
                        }
                    }
                    if parsed.count == map.count && !parsed.isEmpty { settings.objects = parsed }
                    report.check(!map.isEmpty, "config.detect.objects", "names no object class")
                default:
                    report.add("config.detect.objects", "must list object class names, or map each to its minimum confidence")
                }
            }
            read(detect, "restrict_to_motion", into: &settings.restrictToMotion, report: &report, prefix: "config.detect")
            read(detect, "stationary_seconds", in: 1...86_400, into: &settings.tracker.stationaryAfter, report: &report,
                 prefix: "config.detect")
            read(detect, "track_max_age_seconds", in: 1...3_600, into: &settings.tracker.maxAge, report: &report, prefix: "config.detect")
        }
        if let motion = members["motion"] {
            guard let motion = motion.objectValue else {
                report.add("config.motion", "must be a JSON object")
                return settings
            }
            read(motion, "enabled", into: &settings.motion.enabled, report: &report, prefix: "config.motion")
            var threshold = Double(settings.motion.pixelThreshold)
            read(motion, "threshold", in: 1...255, into: &threshold, report: &report, prefix: "config.motion")
            settings.motion.pixelThreshold = Int(threshold)
            read(motion, "min_area", in: 0...1, into: &settings.motion.minimumArea, report: &report, prefix: "config.motion")
            read(motion, "refresh_seconds", in: 1...86_400, into: &settings.motion.refreshInterval, report: &report,
                 prefix: "config.motion")
        }
        return settings
    }

    private func read(_ members: [String: JSONValue], _ key: String, into value: inout Bool, report: inout ValidationReport,
                      prefix: String) {
        guard let member = members[key] else { return }
        if case .bool(let flag) = member { value = flag } else { report.add("\(prefix).\(key)", "must be true or false") }
    }

    private func read(_ members: [String: JSONValue], _ key: String, in range: ClosedRange<Double>, into value: inout Double,
                      report: inout ValidationReport, prefix: String) {
        guard let member = members[key] else { return }
        if case .number(let number) = member, range.contains(number) {
            value = number
        } else {
            report.add("\(prefix).\(key)", "must be a number from \(range.lowerBound.formatted()) to \(range.upperBound.formatted())")
        }
    }
}
