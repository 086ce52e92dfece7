import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with `posix_spawn` and `waitpid`.
///
/// Foundation's `Process` is not used for this: on Linux it learns that a child exited through a
/// descriptor the child inherits, and a daemon the child leaves behind (the server `pg_ctl start`
/// launches) keeps that descriptor open, so the exit is never seen.
///
/// - Important: Blocks the calling thread until the program exits; meant for start-up and
///   shutdown steps, not for request paths.
enum ChildProcess {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `executable` from the root folder: a program run as another user (the database's) may
    /// be unable to read the caller's working folder.
    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let launcher = "/usr/bin/env"
        let launcherArguments = ["-C", "/", executable] + arguments
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-child-\(UUID().uuidString).log").path
        // World-writable is not needed: the child gets the descriptor, not the path.
        let outputFD = open(outputPath, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else { throw ChildProcessError.spawnFailed(executable, errno) }
        defer {
            close(outputFD)
            unlink(outputPath)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = ([launcher] + launcherArguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawnStatus = posix_spawn(&pid, launcher, &actions, nil, argv, environ)
        guard spawnStatus == 0 else { throw ChildProcessError.spawnFailed(executable, spawnStatus) }

        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) == -1 {
            guard errno == EINTR else { throw ChildProcessError.spawnFailed(executable, errno) }
        }
        let exitCode: Int32 = (waitStatus & 0x7f) == 0 ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f)

        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Result(status: exitCode, output: output)
    }
}

enum ChildProcessError: Error, CustomStringConvertible {
    case spawnFailed(String, Int32)

    var description: String {
        switch self {
        case .spawnFailed(let executable, let code): "could not run \(executable): \(String(cString: strerror(code)))"
        }
    }
}
