import Foundation
import Testing
import VigilCore
@testable import VigilServer
import VigilTestSupport

/// The programs Vigil runs for media work (ffmpeg, ffprobe) are bounded: in output, and in time,
/// with whatever they started.
@Suite("Subprocesses under limits")
struct SubprocessTests {
    @Test("a program past its time limit is stopped with its children, and says so")
    func timeLimit() async throws {
        let folder = try TestPaths.temporaryFolder("vigil-subprocess")
        defer { try? FileManager.default.removeItem(at: folder) }
        let pidFile = folder.appendingPathComponent("child.pid")
        // The shell starts a child that would outlive it, holding its output open.
        await #expect(throws: SubprocessError.self) {
            try await Subprocess.run("sh", ["-c", "sleep 60 & echo $! > \(pidFile.path); wait"], timeLimit: .milliseconds(500))
        }
        do {
            _ = try await Subprocess.run("sh", ["-c", "sleep 60"], timeLimit: .milliseconds(200))
            Issue.record("the program was not stopped")
        } catch let error as SubprocessError {
            #expect("\(error)".contains("ran past its limit"), "\(error)")
        }
        let child = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await eventually("the program's own child was stopped too", timeout: .seconds(10)) { kill(child, 0) != 0 }
        #expect(try await Subprocess.run("sh", ["-c", "echo done"], timeLimit: .seconds(30)) == Array("done\n".utf8))
    }

    @Test("decoding a clip may take a minute plus twice its length, at most half an hour")
    func clipLimit() throws {
        let probe = try VideoProbe(ffprobeJSON: Array(#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":480,"duration":"12.5"}],"format":{"format_name":"mp4"}}"#.utf8))
        #expect(probe.decodingTimeLimit == 85)
        var long = probe
        long.duration = 86_400
        #expect(long.decodingTimeLimit == 1_800)
    }
}
