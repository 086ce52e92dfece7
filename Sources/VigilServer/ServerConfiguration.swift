import Foundation
import Logging
import VigilCore
import VigilVision

/// Everything `vigil serve` needs, read from `VIGIL_*` environment variables and then command-line flags.
public struct ServerConfiguration: Sendable, Equatable, CustomStringConvertible {
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    /// What a process does: serve the API, run background work, or both.
    public enum Role: String, Sendable, CaseIterable {
        case all, api, worker

        public var servesAPI: Bool { self != .worker }
    }

    /// 127.0.0.1 by default: nothing is exposed to the network until the operator says so.
    public var host = "127.0.0.1"
    public var port = 8080
    public var role = Role.all
    public var dataDirectory = URL(fileURLWithPath: "data")
    /// A server to use instead of the embedded cluster.
    public var databaseURL: String?
    public var databaseMaxConnections = 20
    /// The master key for secrets at rest; without it, `<data dir>/secret.key`.
    public var secretKey: String?
    /// Marks session cookies Secure; set it when a TLS proxy fronts Vigil.
    public var secureCookies = false
    /// The largest frame the ingest endpoint accepts, in bytes.
    public var ingestMaxBytes = 8 << 20
    /// Seconds a connection may send nothing, idle or in the middle of a request (`VIGIL_HTTP_IDLE_TIMEOUT`).
    public var httpIdleTimeout: TimeInterval = 30
    /// The most pixels an image may claim before it is decoded (`VIGIL_MAX_PIXELS`, default 40 MP).
    public var maximumPixels = JPEGInspector.defaultMaximumPixels
    /// Reverse proxies whose `X-Forwarded-Host` is believed (`VIGIL_TRUSTED_PROXIES`, addresses or networks).
    public var trustedProxies: [IPNetwork] = []
    /// Networks whose DeepStack and CodeProject.AI clients may call `/v1/vision/*` without a key
    /// (`VIGIL_DEEPSTACK_OPEN_TO`); none by default.
    public var deepStackOpenTo: [IPNetwork] = []
    /// Below this fraction of free disk, retention deletes the oldest media.
    public var minimumFreeDiskFraction = 0.05
    /// The folder FTP cameras upload into (`<root>/<Camera Name>/...`); not watched when unset.
    public var ftpRoot: URL?
    /// Registers a camera for an upload folder that names none.
    public var autoRegisterCameras = false
    /// Frames sampled per second of an uploaded clip.
    public var clipSampleFPS = 1.0
    /// A camera that sent nothing for this long is marked offline.
    public var cameraOfflineAfter: TimeInterval = 120
    /// Where the detection models are; by default `.vendor/models` of the checkout the binary was built in.
    public var modelsDirectory: URL?
    /// The default object model: YOLOX-Nano in the models folder.
    public var defaultObjectModel: URL {
        (modelsDirectory ?? ModelLocation.defaultDirectory).appendingPathComponent(ModelLocation.objectDetector)
    }
    /// Face recognition (`VIGIL_FACES=off` turns it off; `VIGIL_FACE_MODE`, `VIGIL_FACE_EF_SEARCH`,
    /// `VIGIL_FACE_CLUSTER_DISTANCE`; models `VIGIL_FACE_DETECTOR_MODEL`, `VIGIL_FACE_RECOGNIZER_MODEL`).
    public var facesEnabled = true
    public var faceDetectorModel: URL?
    public var faceRecognizerModel: URL?
    /// The recognizer's name in `face_embeddings.model_version` (`VIGIL_FACE_MODEL_VERSION`);
    /// by default `sface_2021dec`, or the file name of a recognizer given by path.
    public var faceModelVersion: String?
    /// How the recognizer wants its pixels (`VIGIL_FACE_RECOGNIZER_INPUT`: `raw` for SFace, `centred` for ArcFace).
    public var faceRecognizerInput = FaceRecognizer.Input.raw
    public var faces = FaceSettings()
    public var recognition = RecognitionSettings()
    /// The embeddings' model version: given, or made from the recognizer's file name (`w600k_r50.onnx` → `w600k_r50`).
    public var resolvedFaceModelVersion: String {
        if let faceModelVersion { return faceModelVersion }
        guard let model = faceRecognizerModel else { return "sface_2021dec" }
        let name = model.deletingPathExtension().lastPathComponent.lowercased()
            .map { $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII ? $0 : "_" }
        return String(String(name).prefix(40))
    }

    /// YuNet and SFace in the models folder unless named.
    public var faceModels: (detector: URL, recognizer: URL) {
        let folder = modelsDirectory ?? ModelLocation.defaultDirectory
        return (faceDetectorModel ?? folder.appendingPathComponent(ModelLocation.faceDetector),
                faceRecognizerModel ?? folder.appendingPathComponent(ModelLocation.faceRecognizer))
    }
    /// Which object detector analyses frames, and how it is reached.
    public var detector = DetectorConfiguration()
    /// The object classes recorded, each with its minimum confidence (cameras may override them).
    public var detection = DetectionSettings()
    /// How detections become events (`VIGIL_EVENT_WINDOW`, `VIGIL_EVENT_IDLE`).
    public var events = EventSettings()
    /// The language model that scores closed events, if any (`VIGIL_LLM_URL`, `VIGIL_LLM_MODEL`,
    /// `VIGIL_LLM_API_KEY`, `VIGIL_LLM_TIMEOUT`, `VIGIL_LLM_IMAGES`).
    var languageModel: LanguageModelScorer.Settings?
    /// Threads one inference uses.
    public var inferenceThreads = 2
    /// Jobs of each type a worker runs at once (`VIGIL_JOB_CONCURRENCY=analyze_capture=2`); one when unnamed.
    public var jobConcurrency: [String: Int] = [:]
    /// How long a worker holds a job without a heartbeat before another may take it back.
    public var jobLease: TimeInterval = 60
    /// How people reach this Vigil (`VIGIL_PUBLIC_URL`): notifications link to events under it.
    public var publicURL: String?
    /// The address notifications link to: the public one, else this server's own.
    public var linkBase: String {
        (publicURL ?? "http://\(host == "0.0.0.0" || host == "::" ? "localhost" : host):\(port)").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }
    public var logFormat = LogFormat.text
    public var logLevel = Logger.Level.info

    public init() {}

    /// Values given on the command line, which win over the environment.
    public struct Overrides: Sendable {
        public var host: String?
        public var port: Int?
        public var role: String?
        public var dataDirectory: String?

        public init(host: String? = nil, port: Int? = nil, role: String? = nil, dataDirectory: String? = nil) {
            self.host = host
            self.port = port
            self.role = role
            self.dataDirectory = dataDirectory
        }
    }

    /// A description that never shows the secret key.
    public var description: String {
        "host=\(host) port=\(port) role=\(role.rawValue) data=\(dataDirectory.path) "
            + "database=\(databaseURL == nil ? "embedded" : "external") secret_key=\(secretKey == nil ? "file" : "environment")"
    }

    /// The configuration from `environment` and `overrides`, or every problem found, at once.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: Overrides = Overrides()) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        var problems: [String] = []

        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }

        if let host = overrides.host ?? value("VIGIL_HOST") {
            configuration.host = host
        }
        if let port = overrides.port {
            configuration.port = port
        } else if let text = value("VIGIL_PORT") {
            if let port = Int(text) { configuration.port = port } else { problems.append("VIGIL_PORT must be a number; got '\(text)'") }
        }
        if !(0...65535).contains(configuration.port) {
            problems.append("the port must be from 0 to 65535; got \(configuration.port)")
        }
        if let text = overrides.role ?? value("VIGIL_ROLE") {
            if let role = Role(rawValue: text) {
                configuration.role = role
            } else {
                problems.append("the role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
            }
        }
        if let path = overrides.dataDirectory ?? value("VIGIL_DATA_DIR") {
            configuration.dataDirectory = URL(fileURLWithPath: path)
        }
        configuration.databaseURL = value("VIGIL_DATABASE_URL")
        configuration.secretKey = value("VIGIL_SECRET_KEY")
        func boolean(_ name: String) -> Bool? {
            guard let text = value(name) else { return nil }
            switch text.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default:
                problems.append("\(name) must be true or false; got '\(text)'")
                return nil
            }
        }
        func number(_ name: String, in range: ClosedRange<Double>, _ expected: String) -> Double? {
            guard let text = value(name) else { return nil }
            guard let number = Double(text), range.contains(number) else {
                problems.append("\(name) must be \(expected); got '\(text)'")
                return nil
            }
            return number
        }
        func whole(_ name: String, in range: ClosedRange<Int>, _ expected: String) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                problems.append("\(name) must be \(expected); got '\(text)'")
                return nil
            }
            return number
        }
        func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, as type: Choice.Type) -> Choice? where Choice.RawValue == String {
            guard let text = value(name) else { return nil }
            guard let choice = Choice(rawValue: text.lowercased()) else {
                problems.append("\(name) must be one of \(Choice.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
                return nil
            }
            return choice
        }
        if let secure = boolean("VIGIL_SECURE_COOKIES") { configuration.secureCookies = secure }
        if let path = value("VIGIL_FTP_ROOT") { configuration.ftpRoot = URL(fileURLWithPath: path) }
        if let register = boolean("VIGIL_AUTO_REGISTER_CAMERAS") { configuration.autoRegisterCameras = register }
        if let fps = number("VIGIL_CLIP_SAMPLE_FPS", in: 0.05...30, "a number of frames per second from 0.05 to 30") {
            configuration.clipSampleFPS = fps
        }
        if let path = value("VIGIL_MODELS_DIR") { configuration.modelsDirectory = URL(fileURLWithPath: path) }
        if let kind = choice("VIGIL_DETECTOR", as: DetectorConfiguration.Kind.self) { configuration.detector.kind = kind }
        if let path = value("VIGIL_DETECTOR_MODEL") { configuration.detector.model = URL(fileURLWithPath: path) }
        if let url = value("VIGIL_DETECTOR_URL") {
            if ["http", "https"].contains(StreamURL.scheme(of: url) ?? "") {
                configuration.detector.url = url
            } else {
                problems.append("VIGIL_DETECTOR_URL must be an http:// or https:// address")
            }
        }
        configuration.detector.apiKey = value("VIGIL_DETECTOR_API_KEY")
        if let seconds = number("VIGIL_DETECTOR_TIMEOUT", in: 0.1...300, "a number of seconds from 0.1 to 300") {
            configuration.detector.timeout = seconds
        }
        if let text = value("VIGIL_DETECTOR_FALLBACK") {
            switch text.lowercased() {
            case "none": configuration.detector.fallback = false
            case "yolox": configuration.detector.fallback = true
            default: problems.append("VIGIL_DETECTOR_FALLBACK must be yolox (the model run here) or none; got '\(text)'")
            }
        }
        if configuration.detector.kind == .deepstack && configuration.detector.url == nil {
            problems.append("VIGIL_DETECTOR=deepstack needs VIGIL_DETECTOR_URL, the DeepStack or CodeProject.AI server's address")
        }
        if configuration.detector.kind == .yolov8 && configuration.detector.model == nil {
            problems.append("VIGIL_DETECTOR=yolov8 needs VIGIL_DETECTOR_MODEL, the path of the ONNX export of your model")
        }
        if let text = value("VIGIL_DETECT_OBJECTS") {
            do {
                configuration.detection.objects = try DetectionSettings.parseObjects(text)
            } catch {
                problems.append("VIGIL_DETECT_OBJECTS must list object classes, each optionally with a minimum confidence "
                    + "(person:0.6,car,dog:0.5); \(error.field): \(error.message)")
            }
        }
        if let threads = whole("VIGIL_INFERENCE_THREADS", in: 1...64, "a number from 1 to 64") {
            configuration.inferenceThreads = threads
        }
        if let text = value("VIGIL_JOB_CONCURRENCY") {
            for item in text.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, !parts[0].isEmpty, let count = Int(parts[1]), (1...64).contains(count) {
                    configuration.jobConcurrency[parts[0]] = count
                } else {
                    problems.append("VIGIL_JOB_CONCURRENCY must list job_type=count pairs (count 1 to 64), comma-separated; got '\(item)'")
                }
            }
        }
        if let faces = boolean("VIGIL_FACES") { configuration.facesEnabled = faces }
        if let path = value("VIGIL_FACE_DETECTOR_MODEL") { configuration.faceDetectorModel = URL(fileURLWithPath: path) }
        if let path = value("VIGIL_FACE_RECOGNIZER_MODEL") { configuration.faceRecognizerModel = URL(fileURLWithPath: path) }
        if let version = value("VIGIL_FACE_MODEL_VERSION") {
            if version.range(of: "^[a-z0-9_]{1,40}$", options: .regularExpression) != nil {
                configuration.faceModelVersion = version
            } else {
                problems.append("VIGIL_FACE_MODEL_VERSION must be 1 to 40 lower-case letters, digits and underscores; got '\(version)'")
            }
        }
        if let input = choice("VIGIL_FACE_RECOGNIZER_INPUT", as: FaceRecognizer.Input.self) { configuration.faceRecognizerInput = input }
        if let mode = choice("VIGIL_FACE_MODE", as: FaceSettings.Mode.self) { configuration.faces.mode = mode }
        if let breadth = whole("VIGIL_FACE_EF_SEARCH", in: 1...1000, "a number from 1 to 1000") { configuration.recognition.efSearch = breadth }
        if let distance = number("VIGIL_FACE_CLUSTER_DISTANCE", in: 0.05...1.5, "a cosine distance from 0.05 to 1.5") {
            configuration.recognition.clusterDistance = distance
        }
        if let seconds = number("VIGIL_EVENT_WINDOW", in: 5...3_600, "a number of seconds from 5 to 3600") {
            configuration.events.window = seconds
        }
        if let seconds = number("VIGIL_EVENT_IDLE", in: 2...3_600, "a number of seconds from 2 to 3600") {
            configuration.events.idle = seconds
        }
        if let url = value("VIGIL_LLM_URL") {
            if ["http", "https"].contains(StreamURL.scheme(of: url) ?? "") {
                var model = LanguageModelScorer.Settings(url: url)
                if let name = value("VIGIL_LLM_MODEL") { model.model = name }
                model.apiKey = value("VIGIL_LLM_API_KEY")
                if let seconds = number("VIGIL_LLM_TIMEOUT", in: 1...600, "a number of seconds from 1 to 600") { model.timeout = seconds }
                if let images = value("VIGIL_LLM_IMAGES") {
                    switch images.lowercased() {
                    case "true", "1", "yes": model.sendsImages = true
                    case "false", "0", "no": model.sendsImages = false
                    default: problems.append("VIGIL_LLM_IMAGES must be true or false; got '\(images)'")
                    }
                }
                configuration.languageModel = model
            } else {
                problems.append("VIGIL_LLM_URL must be an http:// or https:// address of an OpenAI-compatible API (for example http://localhost:11434/v1)")
            }
        }
        if let url = value("VIGIL_PUBLIC_URL") {
            if ["http", "https"].contains(StreamURL.scheme(of: url) ?? ""), URL(string: url)?.host != nil {
                configuration.publicURL = url
            } else {
                problems.append("VIGIL_PUBLIC_URL must be the http:// or https:// address people open Vigil at (for example https://vigil.example.org)")
            }
        }
        if let seconds = number("VIGIL_JOB_LEASE", in: 2...3_600, "a number of seconds from 2 to 3600") {
            configuration.jobLease = seconds
        }
        if let seconds = number("VIGIL_CAMERA_OFFLINE_AFTER", in: 10...86_400, "a number of seconds from 10 to 86400") {
            configuration.cameraOfflineAfter = seconds
        }
        if let count = whole("VIGIL_DB_MAX_CONNECTIONS", in: 1...1000, "a number from 1 to 1000") {
            configuration.databaseMaxConnections = count
        }
        if let bytes = whole("VIGIL_INGEST_MAX_BYTES", in: 1024...(256 << 20), "a number of bytes from 1024 to 268435456") {
            configuration.ingestMaxBytes = bytes
        }
        if let seconds = number("VIGIL_HTTP_IDLE_TIMEOUT", in: 1...3_600, "a number of seconds from 1 to 3600") {
            configuration.httpIdleTimeout = seconds
        }
        if let pixels = whole("VIGIL_MAX_PIXELS", in: 1_000_000...400_000_000, "a number of pixels from 1000000 to 400000000") {
            configuration.maximumPixels = pixels
        }
        func networks(_ name: String) -> [IPNetwork]? {
            guard let text = value(name) else { return nil }
            switch IPNetwork.list(text) {
            case .success(let list): return list
            case .failure(let error):
                problems.append("\(name) must list IP addresses or networks such as 192.168.1.0/24, comma-separated; '\(error.entry)' is not one")
                return nil
            }
        }
        if let list = networks("VIGIL_TRUSTED_PROXIES") { configuration.trustedProxies = list }
        if let list = networks("VIGIL_DEEPSTACK_OPEN_TO") { configuration.deepStackOpenTo = list }
        if let text = value("VIGIL_MIN_FREE_DISK") {
            let number = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
            if let number, (0...0.9).contains(number) {
                configuration.minimumFreeDiskFraction = number
            } else {
                problems.append("VIGIL_MIN_FREE_DISK must be a percentage such as 5% (or a fraction such as 0.05), at most 90%; got '\(text)'")
            }
        }
        if let format = choice("VIGIL_LOG_FORMAT", as: LogFormat.self) { configuration.logFormat = format }
        if let level = choice("VIGIL_LOG_LEVEL", as: Logger.Level.self) { configuration.logLevel = level }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }
}

/// Which object detector analyses frames.
public struct DetectorConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// YOLOX run here (the default: YOLOX-Nano, COCO).
        case yolox
        /// A user's Ultralytics YOLOv8 ONNX export, run here.
        case yolov8
        /// A DeepStack or CodeProject.AI server, over HTTP.
        case deepstack
    }

    public var kind = Kind.yolox
    /// The model file of a detector run here; by default the YOLOX-Nano model in the models folder.
    public var model: URL?
    /// The address of a DeepStack-compatible server.
    public var url: String?
    /// A key the DeepStack server asks for (sent as `api_key`); a secret, never printed.
    public var apiKey: String?
    /// How long a remote detector may take before the frame is retried or handed to the fallback.
    public var timeout: TimeInterval = 10
    /// Whether the YOLOX model run here stands in when the remote detector is unavailable.
    public var fallback = false

    public init() {}
}

/// Every configuration problem, so a person fixes them all in one go.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let problems: [String]

    public var description: String {
        "Vigil's configuration has \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
