import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import VigilCore

/// What a channel is asked to send: the alert as text, and its annotated frame when there is one.
struct OutgoingNotification: Sendable {
    /// `alert` for an alert, `test` for the channel test.
    var kind: String
    var notice: AlertNotice
    /// The alert as JSON, for webhooks.
    var alert: JSONValue
    var snapshot: Data?
    /// Where the annotated frame can be fetched from Vigil's API (with an API key).
    var snapshotURL: String?
}

/// A channel accepted a message.
struct DeliveryReceipt: Sendable, Equatable {
    var responseCode: Int?
}

/// A channel did not accept a message: why, and whether and when to try again.
struct NotificationFailure: Error, CustomStringConvertible {
    var message: String
    var responseCode: Int?
    /// What the service asked for (HTTP 429 `Retry-After`, Telegram's `retry_after`).
    var retryAfter: TimeInterval?
    var retryable: Bool

    var description: String { message }
}

/// One way of telling people about an alert. Every channel type has one.
protocol Notifier: Sendable {
    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryReceipt
}

enum Notifiers {
    /// The notifier for a channel's settings and opened credential.
    static func make(_ settings: ChannelSettings, credential: String?, client: HTTPClient = Outbound.client,
                     now: @escaping @Sendable () -> Date) -> any Notifier {
        let http = HTTPDelivery(client: client, timeout: .milliseconds(Int64(settings.limits.timeoutSeconds * 1000)))
        switch settings.kind {
        case .webhook(let webhook):
            return WebhookNotifier(settings: webhook, template: settings.messageTemplate, secret: credential, http: http, now: now)
        case .telegram(let telegram):
            return TelegramNotifier(settings: telegram, template: settings.messageTemplate, botToken: credential ?? "", http: http)
        case .whatsapp(let whatsapp):
            return WhatsAppNotifier(settings: whatsapp, template: settings.messageTemplate, accessToken: credential ?? "", http: http)
        case .email(let email):
            return EmailNotifier(settings: email, template: settings.messageTemplate, password: credential,
                                 timeout: .milliseconds(Int64(settings.limits.timeoutSeconds * 1000)), now: now)
        }
    }
}

// MARK: - HTTP

/// Posts to a notification service and sorts its answer: accepted, try again (timeouts, 408,
/// 429, 5xx), or refused for good. Request URLs never appear in errors: Telegram's holds the bot token.
struct HTTPDelivery: Sendable {
    var client: HTTPClient
    var timeout: TimeAmount

    func post(_ url: String, contentType: String, body: Data, headers: [(String, String)] = [], service: String,
              retryAfterInBody: (Data) -> TimeInterval? = { _ in nil }) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "User-Agent", value: "Vigil")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: body))
        if let host = URL(string: url)?.host, let address = await Outbound.forbiddenAddress(ofHost: host) {
            throw NotificationFailure(message: "\(service) is at \(address), a link-local address Vigil never sends to", retryable: false)
        }
        let response: HTTPClientResponse
        let received: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            received = try await response.body.collect(upTo: 1 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw NotificationFailure(message: "\(service) did not answer within \(timeout.nanoseconds / 1_000_000) ms", retryable: true)
        } catch {
            throw NotificationFailure(message: "cannot reach \(service): \(Self.describe(error))", retryable: true)
        }
        let data = Data(buffer: received)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            // Only the status: the remote body may echo what was sent, credentials included.
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Self.seconds(retryAfter:)) ?? retryAfterInBody(data)
            let reason = (300..<400).contains(status) ? " (a redirect, which Vigil does not follow)" : ""
            throw NotificationFailure(message: "\(service) answered \(status)\(reason)", responseCode: status, retryAfter: retryAfter,
                                      retryable: status == 408 || status == 429 || status >= 500)
        }
        return (status, data)
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func seconds(retryAfter value: String) -> TimeInterval? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)) { return max(seconds, 0) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max($0.timeIntervalSinceNow, 0) }
    }

    /// A client error without the address it was sent to.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: type(of: error)) + ": " + "\(error)".prefix(200)
    }
}

// MARK: - Webhook

/// A JSON POST signed with HMAC-SHA256 over `timestamp.body`, so the receiver can check who sent
/// it and refuse replays (the timestamp is inside what is signed).
struct WebhookNotifier: Notifier {
    var settings: ChannelSettings.Webhook
    var template: String
    var secret: String?
    var http: HTTPDelivery
    var now: @Sendable () -> Date

    static func signature(secret: String, timestamp: Int, body: Data) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryReceipt {
        var payload: [String: JSONValue] = [
            "type": .string(notification.kind), "text": .string(notification.notice.render(template)), "alert": notification.alert,
        ]
        switch settings.snapshot {
        case .none: break
        case .base64:
            if let snapshot = notification.snapshot {
                payload["snapshot"] = .object(["content_type": .string("image/jpeg"), "base64": .string(snapshot.base64EncodedString())])
            }
        case .url:
            if let url = notification.snapshotURL { payload["snapshot"] = .object(["url": .string(url)]) }
        }
        let body = try APIJSON.encode(JSONValue.object(payload))
        let timestamp = Int(now().timeIntervalSince1970)
        var headers = settings.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        headers.append(("X-Vigil-Event", notification.kind))
        headers.append(("X-Vigil-Timestamp", String(timestamp)))
        if let secret { headers.append(("X-Vigil-Signature", Self.signature(secret: secret, timestamp: timestamp, body: body))) }
        let response = try await http.post(settings.url.absoluteString, contentType: "application/json", body: body, headers: headers,
                                           service: "the webhook \(settings.url.host ?? "")")
        return DeliveryReceipt(responseCode: response.status)
    }
}

// MARK: - Telegram

/// The Bot API: `sendPhoto` with the annotated frame and the text as its caption, or `sendMessage`.
struct TelegramNotifier: Notifier {
    var settings: ChannelSettings.Telegram
    var template: String
    var botToken: String
    var http: HTTPDelivery

    /// Telegram's captions stop at 1,024 characters; longer text goes as a message.
    static let captionLimit = 1024

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryReceipt {
        let text = notification.notice.render(template)
        let base = settings.baseURL.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let method: String
        let contentType: String
        let body: Data
        if settings.sendPhoto, let photo = notification.snapshot, text.count <= Self.captionLimit {
            var form = MultipartBody()
            form.field("chat_id", settings.chatId)
            form.field("caption", text)
            form.file("photo", filename: "vigil-\(notification.notice.eventId.uuidString.lowercased()).jpg", contentType: "image/jpeg",
                      data: photo)
            (method, contentType, body) = ("sendPhoto", form.contentType, form.finished())
        } else {
            body = try APIJSON.encode(JSONValue.object(["chat_id": .string(settings.chatId), "text": .string(String(text.prefix(4096)))]))
            (method, contentType) = ("sendMessage", "application/json")
        }
        let response = try await http.post("\(base)/bot\(botToken)/\(method)", contentType: contentType, body: body, service: "Telegram",
                                           retryAfterInBody: Self.retryAfter)
        // The Bot API says ok: false with HTTP 200 in some proxies' hands; believe the body.
        if let answer = try? JSONDecoder().decode(JSONValue.self, from: response.body), answer.objectValue?["ok"] == .bool(false) {
            let description = answer.objectValue?["description"]?.stringValue ?? "unknown error"
            throw NotificationFailure(message: "Telegram refused the message: \(description)", responseCode: response.status, retryable: false)
        }
        return DeliveryReceipt(responseCode: response.status)
    }

    /// `{"ok": false, "error_code": 429, "parameters": {"retry_after": 5}}`.
    static func retryAfter(_ body: Data) -> TimeInterval? {
        guard let answer = try? JSONDecoder().decode(JSONValue.self, from: body) else { return nil }
        return answer.objectValue?["parameters"]?.objectValue?["retry_after"]?.numberValue
    }
}

/// A multipart/form-data body.
struct MultipartBody {
    let boundary = "vigil-" + UUID().uuidString.lowercased()
    private var data = Data()

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        data.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
    }

    mutating func file(_ name: String, filename: String, contentType: String, data file: Data) {
        data.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8))
        data.append(file)
        data.append(Data("\r\n".utf8))
    }

    func finished() -> Data { data + Data("--\(boundary)--\r\n".utf8) }
}

// MARK: - WhatsApp

/// The WhatsApp Cloud API `messages` endpoint: a text message to each recipient, or the named
/// pre-approved template with the alert's text as its one body parameter.
struct WhatsAppNotifier: Notifier {
    var settings: ChannelSettings.WhatsApp
    var template: String
    var accessToken: String
    var http: HTTPDelivery

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryReceipt {
        let text = String(notification.notice.render(template).prefix(4096))
        let base = settings.baseURL.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var status: Int?
        for recipient in settings.recipients {
            var message: [String: JSONValue] = ["messaging_product": .string("whatsapp"), "recipient_type": .string("individual"),
                                                "to": .string(recipient)]
            if let name = settings.templateName {
                message["type"] = .string("template")
                message["template"] = .object([
                    "name": .string(name), "language": .object(["code": .string(settings.templateLanguage)]),
                    "components": .array([.object(["type": .string("body"),
                                                   "parameters": .array([.object(["type": .string("text"), "text": .string(text)])])])]),
                ])
            } else {
                message["type"] = .string("text")
                message["text"] = .object(["preview_url": .bool(false), "body": .string(text)])
            }
            let response = try await http.post("\(base)/\(settings.phoneNumberId)/messages", contentType: "application/json",
                                               body: try APIJSON.encode(JSONValue.object(message)),
                                               headers: [("Authorization", "Bearer \(accessToken)")], service: "WhatsApp")
            status = response.status
        }
        return DeliveryReceipt(responseCode: status)
    }
}

// MARK: - Email

/// SMTP with STARTTLS or TLS and authentication; text and HTML, with the annotated frame inline.
struct EmailNotifier: Notifier {
    var settings: ChannelSettings.Email
    var template: String
    var password: String?
    var timeout: Duration
    var now: @Sendable () -> Date

    func message(_ notification: OutgoingNotification) -> MailMessage {
        let notice = notification.notice
        let text = notice.render(template)
        let escaped = HTMLText.escape
        var html = "<!doctype html><html><body style=\"font-family:sans-serif\">"
        html += "<h2>\(escaped(notice.alertType)) on \(escaped(notice.cameraName))</h2><p>\(escaped(text))</p><table>"
        for (label, value) in [("Severity", notice.severity.rawValue), ("Time", notice.values["timestamp"] ?? ""),
                               ("Where", notice.values["location"] ?? ""), ("Risk", "\(notice.values["risk_score"] ?? "") (\(notice.values["risk_level"] ?? ""))"),
                               ("Confidence", "\(notice.values["confidence"] ?? "")%")] {
            html += "<tr><th align=\"left\">\(label)</th><td>\(escaped(value))</td></tr>"
        }
        html += "</table>"
        if settings.attachSnapshot, notification.snapshot != nil { html += "<p><img src=\"cid:snapshot\" alt=\"Annotated frame\" style=\"max-width:100%\"></p>" }
        html += "<p><a href=\"\(escaped(notice.eventURL))\">Open the event in Vigil</a></p></body></html>"
        let snapshot = settings.attachSnapshot ? notification.snapshot.map { ($0, "vigil-\(notice.eventId.uuidString.lowercased()).jpg") } : nil
        return MailMessage(from: settings.from, to: settings.to, subject: notice.render(settings.subjectTemplate),
                           text: text + "\n\n" + notice.eventURL + "\n", html: html, snapshot: snapshot,
                           headers: [("X-Vigil-Alert-Id", notice.alertId.uuidString.lowercased()), ("X-Vigil-Event", notification.kind)],
                           date: now(), messageId: "\(UUID().uuidString.lowercased())@\(settings.from.split(separator: "@").last ?? "vigil")")
    }

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryReceipt {
        if let address = await Outbound.forbiddenAddress(ofHost: settings.host) {
            throw NotificationFailure(message: "the mail server is at \(address), a link-local address Vigil never sends to", retryable: false)
        }
        let client = SMTPClient(host: settings.host, port: settings.port, security: settings.security, username: settings.username,
                                password: password, caFile: settings.caFile, timeout: timeout)
        do {
            let reply = try await client.send(from: settings.from, to: settings.to, data: message(notification).rendered())
            return DeliveryReceipt(responseCode: reply.code)
        } catch let error as SMTPError {
            throw NotificationFailure(message: error.message, responseCode: error.reply?.code, retryable: error.retryable)
        } catch {
            throw NotificationFailure(message: "email to \(settings.host) failed: \(error)", retryable: true)
        }
    }
}

enum HTMLText {
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
