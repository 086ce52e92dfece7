import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilCore

/// Behaves as an ESP32 camera would: sends the JPEGs of a folder, one by one, through the real
/// ingest endpoint, with a device id and increasing sequence numbers.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Act as an ESP32 camera: send the JPEGs of a folder to a running Vigil.",
        discussion: """
            With --register, the camera is created first (with the API key in --api-key or VIGIL_API_KEY)
            and its device token is used; otherwise give the camera's token in --token or VIGIL_DEVICE_TOKEN.
            Example, with the photos of Debian's darknet package:
              vigil simulate --camera "Porch Cam" --images /usr/share/darknet/data --register --fps 2
            """)

    @Option(help: "The camera's name; its slug is the device id.")
    var camera: String

    @Option(help: "A folder of .jpg / .jpeg files, sent in name order.")
    var images: String

    @Option(help: "Frames per second.")
    var fps: Double = 1

    @Flag(help: "Start over at the first image after the last, until interrupted.")
    var loop = false

    @Flag(help: "Create the camera first (needs an API key with cameras.write).")
    var register = false

    @Option(help: "Vigil's address.")
    var url = "http://127.0.0.1:8080"

    @Option(name: .customLong("api-key"), help: "API key for --register (default: VIGIL_API_KEY).")
    var apiKey: String?

    @Option(help: "The camera's device token (default: VIGIL_DEVICE_TOKEN).")
    var token: String?

    func validate() throws {
        guard fps > 0, fps <= 100 else { throw ValidationError("--fps must be above 0 and at most 100") }
    }

    func run() async throws {
        try await reportingFailures {
            let environment = ProcessInfo.processInfo.environment
            let files = try imageFiles()
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            let client = HTTPClient.shared
            var deviceToken = token ?? environment["VIGIL_DEVICE_TOKEN"]
            if register {
                guard let key = apiKey ?? environment["VIGIL_API_KEY"] else {
                    throw ExitMessage("--register needs an API key (--api-key or VIGIL_API_KEY)", code: 2)
                }
                deviceToken = try await registerCamera(client: client, base: base, key: key)
            }
            guard let deviceToken else {
                throw ExitMessage("no device token: use --register, --token or VIGIL_DEVICE_TOKEN", code: 2)
            }
            let deviceId = CameraSlug.normalize(camera)
            var sequence: Int64 = 0
            var counts: [String: Int] = [:]
            repeat {
                for file in files {
                    let started = ContinuousClock.now
                    sequence += 1
                    let bytes = try Data(contentsOf: file)
                    var request = HTTPClientRequest(url: "\(base)/api/v1/ingest/frame")
                    request.method = .POST
                    request.headers.add(name: "X-Device-Token", value: deviceToken)
                    request.headers.add(name: "Content-Type", value: "image/jpeg")
                    request.headers.add(name: "X-Device-Id", value: deviceId)
                    request.headers.add(name: "X-Device-Seq", value: String(sequence))
                    request.headers.add(name: "X-Capture-Time", value: String(Int64(Date().timeIntervalSince1970 * 1000)))
                    request.body = .bytes(ByteBuffer(bytes: bytes))
                    let response = try await client.execute(request, timeout: .seconds(30))
                    let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                    let outcome = response.status == .created ? "stored" : response.status == .ok ? "duplicate" : "refused"
                    counts[outcome, default: 0] += 1
                    print("\(sequence)  \(file.lastPathComponent)  \(response.status.code)  \(outcome)  \(text)")
                    let interval = Duration.milliseconds(Int64(1000 / fps))
                    let elapsed = ContinuousClock.now - started
                    if elapsed < interval { try await Task.sleep(for: interval - elapsed) }
                }
            } while loop
            print("sent \(sequence) frames: \(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))")
            if counts["refused", default: 0] > 0 { throw ExitCode(1) }
        }
    }

    private func imageFiles() throws -> [URL] {
        let folder = URL(fileURLWithPath: images)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw ExitMessage("cannot read the folder \(images)", code: 2)
        }
        let files = names.filter { ["jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            .map { folder.appendingPathComponent($0) }
        guard !files.isEmpty else { throw ExitMessage("no .jpg files in \(images)", code: 2) }
        return files
    }

    /// Creates the camera as a pushing camera and returns its device token.
    private func registerCamera(client: HTTPClient, base: String, key: String) async throws -> String {
        var request = HTTPClientRequest(url: "\(base)/api/v1/cameras")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONSerialization.data(withJSONObject: ["name": camera, "source_kind": "http_push"])
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard response.status == .created, let token = object?["device_token"] as? String else {
            throw ExitMessage("registering the camera failed (\(response.status.code)): \(String(decoding: data, as: UTF8.self))")
        }
        print("registered camera \(object?["slug"] as? String ?? camera)")
        return token
    }
}
