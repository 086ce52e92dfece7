import Foundation
import HTTPTypes
import Hummingbird

/// Where the web UI's files are: `Public/` of the checkout the running binary was built in (as
/// the models are found), else `Public/` under the working folder.
enum WebUILocation {
    static var defaultDirectory: URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().standardizedFileURL
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("Public")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("index.html").path) { return candidate }
            folder.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: "Public")
    }
}

/// Headers every answer carries. The Content-Security-Policy lets Vigil's pages run only Vigil's
/// own scripts and styles (nothing inline, nothing from elsewhere), talk only to Vigil, and be
/// framed by nobody; the others stop type sniffing and referrer leaks. The opener policy is sent
/// only over HTTPS (a TLS proxy says so in `X-Forwarded-Proto`): a browser ignores it on a plain-HTTP
/// LAN address and says so in the console of every page.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            + "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        let overTLS = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        Self.apply(to: &response.headers, overTLS: overTLS)
        return response
    }

    static func apply(to headers: inout HTTPFields, overTLS: Bool) {
        var fields: [(String, String)] = [
            ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
        ]
        if overTLS { fields.append(("Cross-Origin-Opener-Policy", "same-origin")) }
        for (name, value) in fields {
            let field = HTTPField.Name(name)!
            if headers[field] == nil { headers[field] = value }
        }
    }
}
