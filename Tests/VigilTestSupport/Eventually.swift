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

    /// Starts `executable` and waits until it accepts connections on `port` on 127.0.0.1.
    public init(_ executable: String, _ arguments: [String], port: Int) async throws {
        process = try LaunchedProcess.launch(URL(fileURLWithPath: executable), arguments)
        self.port = port
        try await eventually("\(executable) listens on port \(port)", timeout: .seconds(20)) { [process] in
            if try await process.waitForExit(timeout: .zero) != nil {
                throw LaunchError(message: "\(executable) exited: \(process.output)")
            }
            return Self.accepts(port: port)
        }
    }

    public func stop() async {
        process.signal(SIGKILL)
        _ = try? await process.waitForExit(timeout: .seconds(5))
        try? FileManager.default.removeItem(at: process.outputFile)
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
