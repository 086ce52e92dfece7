import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Waits for work running elsewhere (a watcher, a stream reader, another process) to reach a
/// state, checking `condition` every `interval`; fails with `description` after `timeout`.
/// It waits for an outcome, not for a length of time: the test passes as soon as it holds.
public func eventually(_ description: String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(50),
                       _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw LaunchError(message: "timed out after \(timeout) waiting until \(description)")
}

/// A server a test starts (vsftpd, an RTSP camera), stopped when the test ends.
public final class TestServer: Sendable {
    public let process: LaunchedProcess
    public let port: Int

    /// Starts `executable` and waits until it listens on `port` on 127.0.0.1 (seen in the
    /// kernel's socket table, without connecting: a one-client server would take the probe for its client).
    public init(_ executable: String, _ arguments: [String], port: Int) async throws {
        process = try LaunchedProcess.launch(URL(fileURLWithPath: executable), arguments)
        self.port = port
        try await eventually("\(executable) listens on port \(port)", timeout: .seconds(20)) { [process] in
            if try await process.waitForExit(timeout: .zero) != nil {
                throw LaunchError(message: "\(executable) exited: \(process.output)")
            }
            return Self.listening(port: port)
        }
    }

    public func stop() async {
        process.signal(SIGKILL)
        _ = try? await process.waitForExit(timeout: .seconds(5))
        try? FileManager.default.removeItem(at: process.outputFile)
    }

    /// Whether a socket listens on 127.0.0.1 (or any address) at `port`, by `/proc/net/tcp`.
    static func listening(port: Int) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        let wanted = String(format: ":%04X", port)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // local_address is field 1 (ADDR:PORT in hex), the state field 3; 0A is LISTEN.
            guard fields.count > 3, fields[1].hasSuffix(wanted), fields[3] == "0A" else { continue }
            let address = fields[1].prefix(8)
            if address == "0100007F" || address == "00000000" { return true }
        }
        return false
    }
}
