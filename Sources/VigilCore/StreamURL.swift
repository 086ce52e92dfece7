import Foundation

/// Helpers for camera stream addresses, which often carry a password (`rtsp://user:pass@host/...`).
public enum StreamURL {
    /// The address with any password replaced by `***`, fit for a response body or a log line.
    public static func redactingPassword(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<userInfo.index(after: colon)]) + "***" + String(url[at...])
    }

    /// Query parameters whose values are secrets, by the words cameras name them with
    /// (`pwd`, `pass`, `password`, `passwd`, `token`, `key`, `auth`, `secret`, `sig`).
    static let secretParameterWords = ["pwd", "pass", "token", "key", "auth", "secret", "sig"]

    /// Whether a query parameter of this name carries a secret.
    public static func isSecretParameter(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return secretParameterWords.contains { lowered.contains($0) }
    }

    /// The address with every credential replaced by `***`: the password of its user info and the
    /// values of query parameters named like secrets (`snap.cgi?usr=admin&pwd=***`). Fit for a
    /// response, a log line, an audit row or a connectivity row.
    public static func redactingCredentials(_ url: String) -> String {
        let withoutPassword = redactingPassword(url)
        guard let queryStart = withoutPassword.firstIndex(of: "?") else { return withoutPassword }
        let fragmentStart = withoutPassword[queryStart...].firstIndex(of: "#") ?? withoutPassword.endIndex
        let query = withoutPassword[withoutPassword.index(after: queryStart)..<fragmentStart]
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, isSecretParameter(String(parts[0])), !parts[1].isEmpty else { return String(pair) }
            return "\(parts[0])=***"
        }.joined(separator: "&")
        return String(withoutPassword[...queryStart]) + redacted + String(withoutPassword[fragmentStart...])
    }

    /// The secrets an address carries (its password and secret query values, as written and
    /// percent-decoded), to scrub from text that may quote them.
    public static func secrets(of url: String) -> [String] {
        var found: [String] = []
        if let schemeEnd = url.range(of: "://") {
            let afterScheme = url[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
            let authority = afterScheme[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                found.append(String(authority[authority.index(after: colon)..<at]))
            }
        }
        if let queryStart = url.firstIndex(of: "?") {
            let fragmentStart = url[queryStart...].firstIndex(of: "#") ?? url.endIndex
            for pair in url[url.index(after: queryStart)..<fragmentStart].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, isSecretParameter(String(parts[0])) { found.append(String(parts[1])) }
            }
        }
        let decoded = found.compactMap { $0.removingPercentEncoding }
        return Array(Set((found + decoded).filter { !$0.isEmpty }))
    }

    /// The scheme in lowercase (`rtsp`, `http`, ...), or `nil` when the text is not an absolute URL with a host.
    public static func scheme(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound]
        let rest = url[schemeEnd.upperBound...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0 == "+" }), !rest.isEmpty,
              rest.first != "/" else { return nil }
        return scheme.lowercased()
    }

    /// `text` (a program's error message, say) with the address redacted and its secrets
    /// replaced by `***` wherever they appear.
    public static func redacting(_ text: String, passwordOf url: String) -> String {
        var result = text.replacingOccurrences(of: url, with: redactingCredentials(url))
        // Longest first, so a secret that contains another is replaced whole.
        for secret in secrets(of: url).sorted(by: { $0.count > $1.count }) where secret.count >= 3 {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }
}
