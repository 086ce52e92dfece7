import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// The API document is a contract a client generator trusts: schemathesis (from PyPI) reads
/// `/openapi.json` from a running `vigil serve`, sends every operation valid and invalid requests,
/// and checks each answer against what the document says it can be. One of the suite of tests
/// against a running server, which run one at a time (each is a whole server with its database).
extension HostileInputTests {
    /// What schemathesis checks: no 5xx, every status and media type documented, every body
    /// matching its schema.
    static let schemathesisChecks = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]

    @Test("schemathesis finds no server error and no answer the document does not describe", .timeLimit(.minutes(10)))
    func schemathesis() async throws {
        let server = try await RunningServer.start()
        defer { server.process.signal(SIGKILL) }
        let adminKey = try await server.key(role: "admin")
        // Something to list, so list routes answer with items and not only empty pages.
        let camera = try await server.send(.POST, "/api/v1/cameras", body: Array(#"{"name":"Porch"}"#.utf8),
                                           headers: [("X-API-Key", adminKey), ("Content-Type", "application/json")])
        #expect(camera.status == 201, "\(camera.body)")
        let person = try await server.send(.POST, "/api/v1/persons", body: Array(#"{"name":"Ada"}"#.utf8),
                                           headers: [("X-API-Key", adminKey), ("Content-Type", "application/json")])
        #expect(person.status == 201, "\(person.body)")
        let frame = try await server.send(.POST, "/api/v1/ingest/frame", body: try TestImages.photoBytes("person.jpg"), headers: [
            ("X-API-Key", server.detectorKey), ("X-Device-Id", "porch"), ("Content-Type", "image/jpeg")])
        #expect(frame.status == 201, "\(frame.body)")

        let report = server.data.appendingPathComponent("schemathesis.ndjson")
        let schemathesis = TestPaths.packageRoot.appendingPathComponent(".vendor/python/bin/schemathesis")
        // Run in the server's folder: schemathesis keeps a cache where it runs.
        let run = try await LaunchedProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "--chdir=\(server.data.path)", schemathesis.path, "run", "\(server.base)/openapi.json",
            "--header", "X-API-Key: \(adminKey)",
            "--checks", Self.schemathesisChecks.joined(separator: ","),
            "--phases", "coverage,fuzzing",
            // Bounded and repeatable: the same cases every run, a few minutes on two cores.
            "--max-examples", "15", "--seed", "20261206", "--workers", "2",
            "--request-timeout", "60", "--generation-database", "none", "--no-color",
            "--report", "ndjson", "--report-ndjson-path", report.path,
        ], environment: ["HOME": server.data.path], timeout: .seconds(540))

        let failures = try Self.schemathesisFailures(inReport: report)
        #expect(failures.isEmpty, "schemathesis found \(failures.count) disagreement(s):\n\(failures.joined(separator: "\n"))")
        #expect(run.output.contains("Tested: "), "schemathesis ran the operations:\n\(run.output.suffix(3000))")
        #expect(run.status == 0 || !failures.isEmpty, "schemathesis failed without a failing check:\n\(run.output.suffix(3000))")
        #expect(try await server.send(.GET, "/health/ready").status == 200)
        try await server.stop()
    }

    /// Every failed check in a schemathesis NDJSON report, one line each: the operation, the
    /// check, the status received and what schemathesis says about it.
    static func schemathesisFailures(inReport report: URL) throws -> [String] {
        var found: [String] = []
        for line in try String(contentsOf: report, encoding: .utf8).split(separator: "\n") {
            let event = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            guard let recorder = event.objectValue?["ScenarioFinished"]?.objectValue?["recorder"]?.objectValue else { continue }
            let operation = recorder["label"]?.stringValue ?? "?"
            for (caseId, checks) in recorder["checks"]?.objectValue ?? [:] {
                for check in checks.arrayValue ?? [] where check.objectValue?["status"]?.stringValue == "failure" {
                    let failure = check.objectValue?["failure_info"]?.objectValue?["failure"]?.objectValue ?? [:]
                    let interaction = recorder["interactions"]?.objectValue?[caseId]?.objectValue
                    let status = interaction?["response"]?.objectValue?["status_code"]?.numberValue.map { String(Int($0)) } ?? "no answer"
                    let uri = interaction?["request"]?.objectValue?["uri"]?.stringValue ?? ""
                    let message = (failure["message"]?.stringValue ?? "").replacingOccurrences(of: "\n", with: " ").prefix(300)
                    found.append("\(operation) [\(check.objectValue?["name"]?.stringValue ?? "?")] \(status) \(uri): "
                                 + "\(failure["title"]?.stringValue ?? "") \(message)")
                }
            }
        }
        return Array(Set(found)).sorted()
    }
}
