import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VigilTestSupport

/// A running `vigil serve` with its first administrator and the keys the tests call with.
struct RunningServer {
    let process: LaunchedProcess
    let port: Int
    let data: URL
    let environment: [String: String]
    let detectorKey: String
    let operatorKey: String

    var base: String { "http://127.0.0.1:\(port)" }

    static func start(_ extra: [String: String] = [:]) async throws -> RunningServer {
        let data = try TestPaths.temporaryFolder("vigil-served")
        let port = try freeLocalPort()
        let environment = ["VIGIL_DATA_DIR": data.path, "VIGIL_PORT": "\(port)", "VIGIL_INFERENCE_THREADS": "1"]
            .merging(extra) { $1 }
        let process = try LaunchedProcess.launch(TestPaths.vigilExecutable, ["serve"], environment: environment)
        do {
            try await ProcessTests().waitUntilReady(port: port, process)
            let passwordFile = data.appendingPathComponent("password.txt")
            try "correct horse battery".write(to: passwordFile, atomically: true, encoding: .utf8)
            let admin = try await LaunchedProcess.run(TestPaths.vigilExecutable, [
                "user", "create", "--admin", "--username", "owner", "--email", "owner@example.test", "--password-file", passwordFile.path,
            ], environment: environment)
            #expect(admin.status == 0, "\(admin.output)")
            return RunningServer(process: process, port: port, data: data, environment: environment,
                                 detectorKey: try await key(role: "api_client", environment: environment),
                                 operatorKey: try await key(role: "operator", environment: environment))
        } catch {
            process.signal(SIGKILL)
            throw error
        }
    }

    /// A new API key of `role`, made with `vigil apikey create` as an operator of the box would.
    func key(role: String) async throws -> String {
        try await Self.key(role: role, environment: environment)
    }

    static func key(role: String, environment: [String: String]) async throws -> String {
        let run = try await LaunchedProcess.run(TestPaths.vigilExecutable, ["apikey", "create", "--name", role, "--role", role],
                                                environment: environment)
        return try #require(run.output.split(separator: "\n").map(String.init).first { $0.hasPrefix("vgl_") }, "\(run.output)")
    }

    func stop() async throws {
        process.signal(SIGTERM)
        _ = try await process.waitForExit(timeout: .seconds(30))
        try? FileManager.default.removeItem(at: data)
    }

    /// The most memory the server has held so far (`VmHWM`), in bytes.
    var peakResidentBytes: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws
        -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), text)
    }
}
