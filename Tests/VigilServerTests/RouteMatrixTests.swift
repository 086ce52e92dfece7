import Foundation
import HTTPTypes
import Testing
import VigilCore
@testable import VigilServer
import VigilStore
import VigilTestSupport

/// Every route the router has, called as every kind of caller, generated from the router itself:
/// a route added later is in this test without anyone writing it in.
@Suite("Every route × every caller")
struct RouteMatrixTests {
    @Test("anonymous callers get 401, roles without the route's permission 403, the others an answer of the route's; never a 5xx")
    func matrix() async throws {
        try await TestApp.run { app in
            let roles = try await app.database.read { try await RoleRepository($0, logger: TestApp.logger).list() }
            var callers: [(name: String, caller: TestApp.Caller, permissions: PermissionMatrix?)] = [("anonymous", .anonymous, nil)]
            for role in roles {
                callers.append((role.name, .apiKey(try await app.apiKey(role: role.name)), role.permissions))
            }
            let camera = try await app.call(.post, "/api/v1/cameras", json: #"{"name":"Door"}"#)
            let token = try #require(camera.string("device_token"))
            callers.append(("device", .deviceToken(token), PermissionMatrix(granted: [.ingestWrite])))

            let routes = app.policy.all.sorted { $0.key < $1.key }
            #expect(routes.count >= 100, "the router's routes: \(routes.count)")
            let stranger = UUIDv7Generator().next().uuidString.lowercased()
            var problems: [String] = []
            for (key, access) in routes {
                let parts = key.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                // Every path parameter names something that does not exist.
                let path = String(parts[1]).replacing(/\{[^}]+\}/, with: stranger)
                for (name, caller, permissions) in callers {
                    let body: String? = [.post, .patch].contains(method) ? "{}" : nil
                    let reply = try await app.call(method, path, json: body, as: caller)
                    let status = Int(reply.status.code)
                    if status >= 500 { problems.append("\(key) as \(name): \(status) \(reply.text.prefix(120))") }
                    switch access {
                    case .open:
                        break
                    case .authenticated:
                        if permissions == nil, status != 401 { problems.append("\(key) as anonymous: \(status), not 401") }
                    case .permission(let permission), .permissionWithKeyInForm(let permission):
                        guard let permissions else {
                            if status != 401 { problems.append("\(key) as anonymous: \(status), not 401") }
                            continue
                        }
                        let allowed = permissions.allows(permission)
                        if !allowed && status != 403 { problems.append("\(key) as \(name) without \(permission): \(status), not 403") }
                        if allowed && reply.errorCode == "permission_denied" { problems.append("\(key) as \(name) with \(permission): refused") }
                    }
                }
            }
            #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.joined(separator: "\n"))")
        }
    }
}
