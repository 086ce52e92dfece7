import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A program Vigil runs for media work (ffprobe, ffmpeg), its standard output read as a stream of
/// chunks on a dedicated thread, its standard error kept (the tail of it) for error messages.
///
/// `posix_spawn` is used directly: the child gets only the descriptors named here, and output is
/// read as it comes rather than after exit, which a long-running stream reader needs. The program
/// leads a process group of its own, so stopping it stops whatever it started too.
final class Subprocess: Sendable {
    let executable: String
    let pid: pid_t
    private let output: Int32
    private let errors: Int32
    private let errorTail = Mutex<[UInt8]>([])
    private let exitStatus = Mutex<Int32?>(nil)
    /// The most of standard error kept.
    static let errorTailBytes = 4096

    /// Starts `executable` (an absolute path or a name found on `PATH`) with `arguments`.
    init(_ executable: String, _ arguments: [String]) throws {
        self.executable = executable
        var outputPipe: [Int32] = [0, 0]
        var errorPipe: [Int32] = [0, 0]
        guard Self.closeOnExecPipe(&outputPipe) else { throw SubprocessError.spawnFailed(executable, errno) }
        guard Self.closeOnExecPipe(&errorPipe) else {
            close(outputPipe[0]); close(outputPipe[1])
            throw SubprocessError.spawnFailed(executable, errno)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var pid = pid_t()
        let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        close(outputPipe[1])
        close(errorPipe[1])
        guard status == 0 else {
            close(outputPipe[0]); close(errorPipe[0])
            throw SubprocessError.spawnFailed(executable, status)
        }
        self.pid = pid
        self.output = outputPipe[0]
        self.errors = errorPipe[0]
        let errorThread = Thread { [self] in drainErrors() }
        errorThread.name = "vigil-\(executable)-stderr"
        errorThread.start()
    }

    /// A pipe whose ends other children do not inherit (`pipe2` is not visible to Swift here).
    private static func closeOnExecPipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return true
    }

    deinit {
        close(output)
        close(errors)
    }

    /// Standard output in chunks as they arrive; finishes when the program closes it (usually at exit).
    func outputChunks() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                continuation.yield(Array(buffer[0..<count]))
            }
            continuation.finish()
        }
        thread.name = "vigil-\(executable)-stdout"
        thread.start()
        return stream
    }

    /// All of standard output, once the program closes it.
    func collectOutput(limit: Int = 256 << 20) async throws -> [UInt8] {
        var collected: [UInt8] = []
        for await chunk in outputChunks() {
            collected += chunk
            if collected.count > limit {
                terminate()
                throw SubprocessError.outputTooLarge(executable, limit)
            }
        }
        return collected
    }

    /// The tail of what the program wrote to standard error.
    var errorText: String {
        String(decoding: errorTail.withLock { $0 }, as: UTF8.self)
    }

    /// Asks the program and its children to stop; `kill` after `grace` if it has not.
    func terminate(grace: Duration = .seconds(2)) {
        guard exitStatus.withLock({ $0 }) == nil else { return }
        Glibc.kill(-pid, SIGTERM)
        let pid = self.pid
        Task {
            try? await Task.sleep(for: grace)
            if self.exitStatus.withLock({ $0 }) == nil { Glibc.kill(-pid, SIGKILL) }
        }
    }

    /// Waits for the program to exit and returns its exit code (128 + signal when killed).
    func wait() async -> Int32 {
        if let status = exitStatus.withLock({ $0 }) { return status }
        let pid = self.pid
        let status: Int32 = await withCheckedContinuation { continuation in
            let thread = Thread {
                var waitStatus: Int32 = 0
                while waitpid(pid, &waitStatus, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: (waitStatus & 0x7f) == 0 ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f))
            }
            thread.start()
        }
        exitStatus.withLock { $0 = status }
        return status
    }

    private func drainErrors() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            errorTail.withLock { tail in
                tail += buffer[0..<count]
                if tail.count > Self.errorTailBytes { tail.removeFirst(tail.count - Self.errorTailBytes) }
            }
        }
    }

    /// Runs a program to completion and returns its output; throws with its error text when it
    /// fails, and stops it (and its children) when it runs past `timeLimit`: a file crafted to
    /// make a decoder spin, or a camera that never answers, costs a bounded time.
    static func run(_ executable: String, _ arguments: [String], outputLimit: Int = 256 << 20,
                    timeLimit: Duration) async throws -> [UInt8] {
        let process = try Subprocess(executable, arguments)
        let overran = Mutex(false)
        let watchdog = Task {
            try await Task.sleep(for: timeLimit)
            overran.withLock { $0 = true }
            process.terminate()
        }
        defer { watchdog.cancel() }
        let output: [UInt8]
        do {
            output = try await process.collectOutput(limit: outputLimit)
        } catch {
            _ = await process.wait()
            throw error
        }
        let status = await process.wait()
        if overran.withLock({ $0 }) { throw SubprocessError.timedOut(executable, timeLimit) }
        guard status == 0 else { throw SubprocessError.failed(executable, status, process.errorText) }
        return output
    }
}

enum SubprocessError: Error, CustomStringConvertible {
    case spawnFailed(String, Int32)
    case failed(String, Int32, String)
    case outputTooLarge(String, Int)
    case timedOut(String, Duration)

    var description: String {
        switch self {
        case .spawnFailed(let executable, let code): "could not run \(executable): \(String(cString: strerror(code)))"
        case .failed(let executable, let status, let errors):
            "\(executable) failed with status \(status): \(errors.split(separator: "\n").suffix(3).joined(separator: " | "))"
        case .outputTooLarge(let executable, let limit): "\(executable) wrote more than \(limit) bytes"
        case .timedOut(let executable, let limit): "\(executable) ran past its limit of \(limit.components.seconds) s and was stopped"
        }
    }
}
