import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program started by a test, with its output in a file, that the test can signal and wait for.
///
/// Started with `posix_spawn`: Foundation's `Process` on Linux watches a descriptor that the
/// database server started by `vigil serve` inherits, and would not see `vigil` exit.
public final class LaunchedProcess: Sendable {
    public let pid: pid_t
    public let outputFile: URL

    public static func launch(_ executable: URL, _ arguments: [String],
                              environment overrides: [String: String] = [:]) throws -> LaunchedProcess {
        let outputFile = URL(fileURLWithPath: "/tmp/vigil-test-output-\(UUID().uuidString.prefix(8)).log")
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in overrides { environment[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        guard status == 0 else {
            throw LaunchError(message: "could not start \(executable.path): \(String(cString: strerror(status)))")
        }
        return LaunchedProcess(pid: pid, outputFile: outputFile)
    }

    private init(pid: pid_t, outputFile: URL) {
        self.pid = pid
        self.outputFile = outputFile
    }

    public var output: String {
        (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
    }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// The exit status (128 + signal when killed), or `nil` when it is still running after `timeout`.
    public func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
            if result == -1 && errno != EINTR { throw LaunchError(message: "waitpid failed: \(String(cString: strerror(errno)))") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Runs a program to completion and returns its status and output.
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let process = try launch(executable, arguments, environment: environment)
        defer { try? FileManager.default.removeItem(at: process.outputFile) }
        guard let status = try await process.waitForExit(timeout: timeout) else {
            process.signal(SIGKILL)
            _ = try await process.waitForExit(timeout: .seconds(5))
            let tail = process.output.split(separator: "\n").suffix(15).joined(separator: "\n")
            throw LaunchError(message: "\(executable.lastPathComponent) \(arguments) did not finish in \(timeout); it printed:\n\(tail)")
        }
        return (status, process.output)
    }
}

public struct LaunchError: Error, CustomStringConvertible {
    public let message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freeLocalPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LaunchError(message: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw LaunchError(message: "bind failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
