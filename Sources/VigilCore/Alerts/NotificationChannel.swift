import Foundation

/// Seed 002's `channel_type_enum`.
public enum ChannelType: String, Codable, CaseIterable, Sendable {
    case telegram, whatsapp, email, webhook

    /// What the channel's one secret is (stored encrypted, never shown again).
    public var credentialName: String {
        switch self {
        case .telegram: "the bot token"
        case .whatsapp: "the WhatsApp Cloud API access token"
        case .email: "the SMTP password"
        case .webhook: "the HMAC signing secret"
        }
    }
}

/// A notification channel as shown: its settings, never its credential.
public struct NotificationChannel: Codable, Sendable, Equatable {
    public var id: UUID
    /// The site whose rules may send through it; `nil`: every site's.
    public var siteId: UUID?
    public var name: String
    public var channelType: ChannelType
    public var config: JSONValue
    public var hasCredential: Bool
    public var isActive: Bool
    public var createdBy: UUID?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, name: String, channelType: ChannelType, config: JSONValue, hasCredential: Bool, isActive: Bool,
                createdBy: UUID?, createdAt: Date, updatedAt: Date, siteId: UUID? = nil) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.channelType = channelType
        self.config = config
        self.hasCredential = hasCredential
        self.isActive = isActive
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Header values of a webhook often carry tokens: shown as `[redacted]`, like the credential
    /// never shown at all.
    public static let redactedValue = "[redacted]"

    public func redacted() -> NotificationChannel {
        var copy = self
        copy.config = Self.redactingHeaders(config)
        return copy
    }

    /// The channel as someone who may read alerts but not configure them sees it: besides the
    /// headers, a webhook's address (which often carries its token) shows only where it goes.
    public func redactedForReaders() -> NotificationChannel {
        var copy = redacted()
        if var members = copy.config.objectValue, case .string(let address)? = members["url"] {
            let components = URLComponents(string: address)
            members["url"] = .string("\(components?.scheme ?? "https")://\(components?.host ?? "")/\(Self.redactedValue)")
            copy.config = .object(members)
        }
        return copy
    }

    public static func redactingHeaders(_ config: JSONValue) -> JSONValue {
        guard var members = config.objectValue, let headers = members["headers"]?.objectValue else { return config }
        members["headers"] = .object(headers.mapValues { _ in .string(redactedValue) })
        return .object(members)
    }

    /// `config` with each header still reading `[redacted]` given back its stored value, so a
    /// client can send back the settings it read.
    public static func restoringHeaders(_ config: JSONValue, from stored: JSONValue) -> JSONValue {
        guard var members = config.objectValue, let headers = members["headers"]?.objectValue else { return config }
        let old = stored.objectValue?["headers"]?.objectValue ?? [:]
        members["headers"] = .object(headers.reduce(into: [:]) { result, pair in
            result[pair.key] = pair.value == .string(redactedValue) ? old[pair.key] ?? pair.value : pair.value
        })
        return .object(members)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, config
        case siteId = "site_id"
        case channelType = "channel_type", hasCredential = "has_credential", isActive = "is_active", createdBy = "created_by"
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// What a client sends for a channel. `credential` is write-only: given, it replaces the stored one.
public struct NotificationChannelInput: Codable, Sendable, Equatable, StrictInput {
    public var siteId: UUID?
    public var name: String
    public var channelType: ChannelType
    public var config: JSONValue?
    public var credential: String?
    public var isActive: Bool?

    public init(name: String, channelType: ChannelType, config: JSONValue? = nil, credential: String? = nil, isActive: Bool? = nil,
                siteId: UUID? = nil) {
        self.siteId = siteId
        self.name = name
        self.channelType = channelType
        self.config = config
        self.credential = credential
        self.isActive = isActive
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, config, credential
        case siteId = "site_id"
        case channelType = "channel_type", isActive = "is_active"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// Validates everything but whether a credential is stored already (see `ChannelSettings.parse`).
    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 100)
        if let credential { report.check(!credential.isEmpty && credential.storedLength <= 4096, "credential", "must be 1 to 4096 characters") }
        _ = ChannelSettings.parse(channelType, config ?? .object([:]), report: &report)
        return report
    }
}

/// Settings every channel has (seed 002's common config).
public struct ChannelLimits: Sendable, Equatable {
    public var timeoutSeconds: Double = 30
    /// Attempts after the first.
    public var retryCount: Int = 3
    public var rateLimitPerMinute: Int = 60

    public init() {}
}

/// A channel's settings, read and checked.
public struct ChannelSettings: Sendable, Equatable {
    public enum Snapshot: String, CaseIterable, Sendable {
        case none, base64, url
    }

    public enum SMTPSecurity: String, CaseIterable, Sendable {
        /// Plain connection upgraded with STARTTLS (port 587); refused if the server does not offer it.
        case starttls
        /// TLS from the first byte (port 465).
        case ssl
        /// No encryption: for a relay on the same machine or network only.
        case none
    }

    public struct Webhook: Sendable, Equatable {
        public var url: URL
        public var headers: [String: String]
        public var snapshot: Snapshot
    }

    public struct Email: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var security: SMTPSecurity
        public var username: String?
        public var from: String
        public var to: [String]
        public var subjectTemplate: String
        public var attachSnapshot: Bool
        /// A PEM file of certificates to trust besides the system's (a relay with its own CA).
        public var caFile: String?
    }

    public struct Telegram: Sendable, Equatable {
        public var chatId: String
        public var baseURL: URL
        public var sendPhoto: Bool
    }

    public struct WhatsApp: Sendable, Equatable {
        public var phoneNumberId: String
        public var recipients: [String]
        public var baseURL: URL
        /// A pre-approved message template to send instead of text (required by WhatsApp outside a 24-hour conversation).
        public var templateName: String?
        public var templateLanguage: String
    }

    public enum Kind: Sendable, Equatable {
        case webhook(Webhook), email(Email), telegram(Telegram), whatsapp(WhatsApp)
    }

    public var kind: Kind
    public var limits: ChannelLimits
    public var messageTemplate: String

    /// Seed 002's default templates, per channel.
    public static func defaultTemplate(for type: ChannelType) -> String {
        switch type {
        case .telegram: "{{alert_type}}: {{message}} at {{timestamp}}. Camera: {{camera_name}}"
        case .whatsapp: "*Alert*: {{alert_type}} at {{location}}. Time: {{timestamp}}. Confidence: {{confidence}}%"
        case .email, .webhook: "{{alert_type}}: {{message}} at {{timestamp}}. Camera: {{camera_name}}. Risk {{risk_score}} ({{risk_level}}). {{event_url}}"
        }
    }

    public static let defaultSubject = "[Vigil] {{severity}}: {{alert_type}} on {{camera_name}}"

    /// Reads `config` for a channel of `type`; problems go to `report` and give nil.
    public static func parse(_ type: ChannelType, _ config: JSONValue, report: inout ValidationReport) -> ChannelSettings? {
        guard var reader = JSONObjectReader(config, field: "config", report: &report) else { return nil }
        var problems = ValidationReport()
        var limits = ChannelLimits()
        limits.timeoutSeconds = reader.number("timeout_seconds", in: 1...120, report: &problems) ?? limits.timeoutSeconds
        limits.retryCount = reader.integer("retry_count", in: 0...10, report: &problems) ?? limits.retryCount
        limits.rateLimitPerMinute = reader.integer("rate_limit_per_min", in: 1...10_000, report: &problems) ?? limits.rateLimitPerMinute
        let template = reader.string("message_template", report: &problems, maxLength: 4000) ?? defaultTemplate(for: type)
        MessageTemplate.validate(template, field: "config.message_template", report: &problems)

        func url(_ key: String, default fallback: String? = nil) -> URL? {
            let text = fallback == nil ? reader.requiredString(key, report: &problems) : reader.string(key, report: &problems) ?? fallback
            guard let text else { return nil }
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                problems.add("config.\(key)", "must be an http:// or https:// address; got '\(text)'")
                return nil
            }
            return url
        }

        var kind: Kind?
        switch type {
        case .webhook:
            let target = url("url")
            let headers = reader.stringMap("headers", report: &problems) ?? [:]
            for name in headers.keys where !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) || name.isEmpty {
                problems.add("config.headers", "'\(name)' is not a header name")
            }
            for name in headers.keys where ["content-type", "content-length", "host", "x-vigil-signature", "x-vigil-timestamp"].contains(name.lowercased()) {
                problems.add("config.headers", "\(name) is set by Vigil and cannot be replaced")
            }
            let snapshot: Snapshot = reader.choice("snapshot", report: &problems) ?? .none
            if let target { kind = .webhook(Webhook(url: target, headers: headers, snapshot: snapshot)) }
        case .email:
            let host = reader.requiredString("host", report: &problems, maxLength: 255)
            let security: SMTPSecurity = reader.choice("security", report: &problems) ?? .starttls
            let port = reader.integer("port", in: 1...65_535, report: &problems) ?? (security == .ssl ? 465 : 587)
            let username = reader.string("username", report: &problems, maxLength: 255)
            let from = reader.requiredString("from", report: &problems, maxLength: 255)
            let to = reader.strings("to", report: &problems) ?? []
            if to.isEmpty { problems.add("config.to", "must list at least one address") }
            for address in [from].compactMap({ $0 }) + to where !EmailAddress.isValid(address) {
                problems.add(to.contains(address) ? "config.to" : "config.from", "'\(address)' is not an email address")
            }
            let subject = reader.string("subject_template", report: &problems, maxLength: 500) ?? defaultSubject
            MessageTemplate.validate(subject, field: "config.subject_template", report: &problems)
            if security == .none, username != nil {
                problems.add("config.security", "none would send the SMTP password unencrypted; use starttls or ssl to log in")
            }
            let attach = reader.bool("attach_snapshot", report: &problems) ?? true
            let caFile = reader.string("ca_file", report: &problems, maxLength: 1000)
            if let host, let from {
                kind = .email(Email(host: host, port: port, security: security, username: username, from: from, to: to,
                                    subjectTemplate: subject, attachSnapshot: attach, caFile: caFile))
            }
        case .telegram:
            let chat = reader.requiredString("chat_id", report: &problems, maxLength: 64)
            let base = url("base_url", default: "https://api.telegram.org")
            let photo = reader.bool("send_photo", report: &problems) ?? true
            if let chat, let base { kind = .telegram(Telegram(chatId: chat, baseURL: base, sendPhoto: photo)) }
        case .whatsapp:
            let phone = reader.requiredString("phone_number_id", report: &problems, maxLength: 50)
            let recipients = reader.strings("recipients", report: &problems) ?? []
            if recipients.isEmpty { problems.add("config.recipients", "must list at least one phone number") }
            for number in recipients where !(number.count >= 6 && number.count <= 20 && number.drop(while: { $0 == "+" }).allSatisfy(\.isNumber)) {
                problems.add("config.recipients", "'\(number)' is not a phone number in international form, like +6591234567")
            }
            let base = url("base_url", default: "https://graph.facebook.com/v21.0")
            let templateName = reader.string("template_name", report: &problems, maxLength: 512)
            let language = reader.string("template_language", report: &problems, maxLength: 15) ?? "en_US"
            if let phone, let base {
                kind = .whatsapp(WhatsApp(phoneNumberId: phone, recipients: recipients, baseURL: base, templateName: templateName,
                                          templateLanguage: language))
            }
        }
        reader.reportUnknown(&problems)
        report.merge(problems)
        guard problems.isValid, let kind else { return nil }
        return ChannelSettings(kind: kind, limits: limits, messageTemplate: template)
    }

    /// Where the channel delivers, as far as its credential is concerned: the webhook's address,
    /// the service's base address, the mail server with its port and encryption. A change of it
    /// must come with the credential again, so a stored secret never goes somewhere new.
    public var destination: String {
        switch kind {
        case .webhook(let webhook): "webhook \(webhook.url.absoluteString)"
        case .telegram(let telegram): "telegram \(telegram.baseURL.absoluteString)"
        case .whatsapp(let whatsapp): "whatsapp \(whatsapp.baseURL.absoluteString)"
        case .email(let email): "smtp \(email.host.lowercased()):\(email.port) \(email.security.rawValue)"
        }
    }

    /// Whether a channel of `type` cannot send without a credential.
    public static func needsCredential(_ type: ChannelType, config: ChannelSettings) -> Bool {
        switch config.kind {
        case .telegram, .whatsapp: true
        case .email(let email): email.username != nil
        case .webhook: false
        }
    }
}

enum EmailAddress {
    /// A plain `local@domain` address: enough to catch typos, not a full RFC 5322 parser.
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" })
    }
}

/// Notification text with `{{placeholder}}`s (seed 002's templates).
public enum MessageTemplate {
    public static let placeholders = [
        "alert_type", "message", "camera_name", "location", "zone_name", "site_name", "timestamp", "risk_score", "risk_level",
        "confidence", "severity", "event_url", "alert_id", "event_id", "repeat_count",
    ]

    public static func validate(_ template: String, field: String, report: inout ValidationReport) {
        for name in PlaceholderText.names(in: template, opening: "{{", closing: "}}") where !placeholders.contains(name) {
            report.add(field, "{{\(name)}} is not a placeholder; use \(placeholders.map { "{{\($0)}}" }.joined(separator: ", "))")
        }
    }

    public static func render(_ template: String, values: [String: String]) -> String {
        PlaceholderText.fill(template, opening: "{{", closing: "}}") { values[$0] ?? "" }
    }
}

/// An alert as a notification tells it: the values of the template placeholders.
public struct AlertNotice: Sendable, Equatable {
    public var alertId: UUID
    public var eventId: UUID
    public var alertType: String
    public var severity: Severity
    public var message: String
    public var cameraName: String
    public var location: String?
    public var zoneName: String?
    public var siteName: String
    public var occurredAt: Date
    public var timeZone: TimeZone
    public var riskScore: Int?
    public var riskLevel: RiskLevel?
    public var confidence: Double?
    public var eventURL: String
    public var repeatCount: Int

    public init(alertId: UUID, eventId: UUID, alertType: String, severity: Severity, message: String, cameraName: String, location: String?,
                zoneName: String?, siteName: String, occurredAt: Date, timeZone: TimeZone, riskScore: Int?, riskLevel: RiskLevel?,
                confidence: Double?, eventURL: String, repeatCount: Int) {
        self.alertId = alertId
        self.eventId = eventId
        self.alertType = alertType
        self.severity = severity
        self.message = message
        self.cameraName = cameraName
        self.location = location
        self.zoneName = zoneName
        self.siteName = siteName
        self.occurredAt = occurredAt
        self.timeZone = timeZone
        self.riskScore = riskScore
        self.riskLevel = riskLevel
        self.confidence = confidence
        self.eventURL = eventURL
        self.repeatCount = repeatCount
    }

    public var values: [String: String] {
        [
            "alert_type": alertType, "message": message, "camera_name": cameraName,
            "location": [zoneName, location ?? cameraName].compactMap { $0 }.joined(separator: ", "),
            "zone_name": zoneName ?? "", "site_name": siteName, "timestamp": AlertMessage.localTime(occurredAt, in: timeZone),
            "risk_score": riskScore.map(String.init) ?? "n/a", "risk_level": riskLevel?.rawValue ?? "n/a",
            "confidence": confidence.map { String(Int(($0 * 100).rounded())) } ?? "n/a", "severity": severity.rawValue,
            "event_url": eventURL, "alert_id": alertId.uuidString.lowercased(), "event_id": eventId.uuidString.lowercased(),
            "repeat_count": String(repeatCount),
        ]
    }

    public func render(_ template: String) -> String { MessageTemplate.render(template, values: values) }
}
