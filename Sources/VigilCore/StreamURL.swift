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

    /// The scheme in lowercase (`rtsp`, `http`, ...), or `nil` when the text is not an absolute URL with a host.
    public static func scheme(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound]
        let rest = url[schemeEnd.upperBound...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0 == "+" }), !rest.isEmpty,
              rest.first != "/" else { return nil }
        return scheme.lowercased()
    }

    /// `text` (a program's error message, say) with the password of `url` replaced by `***`
    /// wherever it appears, and the address itself redacted.
    public static func redacting(_ text: String, passwordOf url: String) -> String {
        var result = text.replacingOccurrences(of: url, with: redactingPassword(url))
        let redacted = redactingPassword(url)
        guard redacted != url, let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@"),
              let colon = url[schemeEnd.upperBound..<at].firstIndex(of: ":") else { return result }
        let password = String(url[url.index(after: colon)..<at])
        if !password.isEmpty {
            result = result.replacingOccurrences(of: password, with: "***")
            if let decoded = password.removingPercentEncoding, decoded != password, !decoded.isEmpty {
                result = result.replacingOccurrences(of: decoded, with: "***")
            }
        }
        return result
    }
}
