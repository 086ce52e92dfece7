import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import VigilCore

/// A reply of an SMTP server: its code and text lines (RFC 5321 §4.2).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var text: String { lines.joined(separator: " ") }
    var isPositive: Bool { (200..<400).contains(code) }
}

/// Why a message was not sent, and whether trying again may help (4xx replies and network
/// trouble may pass; 5xx replies will not).
struct SMTPError: Error, CustomStringConvertible {
    var message: String
    var reply: SMTPReply?
    var retryable: Bool

    var description: String { message }
}

/// Sends one message per connection to an SMTP server: EHLO, STARTTLS or TLS from the start,
/// AUTH PLAIN or LOGIN, MAIL FROM, RCPT TO, DATA.
struct SMTPClient: Sendable {
    var host: String
    var port: Int
    var security: ChannelSettings.SMTPSecurity
    var username: String?
    var password: String?
    /// Extra certificates to trust (a relay with its own CA), as a PEM file.
    var caFile: String?
    var timeout: Duration
    /// The name this machine gives in EHLO.
    var heloName: String = "vigil.localdomain"

    /// Delivers `data` (a complete RFC 5322 message, CRLF line ends) from `from` to `recipients`;
    /// returns the server's last reply.
    func send(from: String, to recipients: [String], data: String) async throws -> SMTPReply {
        try await withThrowingTaskGroup(of: SMTPReply?.self) { group in
            group.addTask { try await conversation(from: from, to: recipients, data: data) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let reply = first else {
                throw SMTPError(message: "the SMTP server \(host):\(port) did not finish within \(timeout)", retryable: true)
            }
            return reply
        }
    }

    private func tlsHandler() throws -> NIOSSLClientHandler {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        // An address is not a name to send as SNI; the certificate is then checked against the address.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: try NIOSSLContext(configuration: configuration), serverHostname: isAddress ? nil : host)
    }

    private func conversation(from: String, to recipients: [String], data: String) async throws -> SMTPReply {
        let (stream, continuation) = AsyncThrowingStream<SMTPReply, any Error>.makeStream()
        let tlsFromStart = security == .ssl ? try tlsHandler() : nil
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsFromStart { try channel.pipeline.syncOperations.addHandler(tlsFromStart) }
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyDecoder(continuation: continuation))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw SMTPError(message: "cannot connect to the SMTP server \(host):\(port): \(error)", retryable: true)
        }
        defer { channel.close(promise: nil) }
        var replies = stream.makeAsyncIterator()

        func next(expecting expected: ClosedRange<Int>, after command: String) async throws -> SMTPReply {
            let reply: SMTPReply?
            do {
                reply = try await replies.next()
            } catch {
                throw SMTPError(message: "the SMTP connection failed after \(command): \(error)", retryable: true)
            }
            guard let reply else {
                throw SMTPError(message: "the SMTP server closed the connection after \(command)", retryable: true)
            }
            guard expected.contains(reply.code) else {
                throw SMTPError(message: "the SMTP server refused \(command): \(reply.code) \(reply.text)", reply: reply,
                                retryable: (400..<500).contains(reply.code))
            }
            return reply
        }

        func command(_ line: String, expecting expected: ClosedRange<Int> = 200...299, shown: String? = nil) async throws -> SMTPReply {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n"))
            return try await next(expecting: expected, after: shown ?? String(line.prefix(while: { $0 != " " && $0 != ":" })))
        }

        _ = try await next(expecting: 220...220, after: "connecting")
        var hello = try await command("EHLO \(heloName)")
        if security == .starttls {
            guard Self.capabilities(hello).keys.contains("STARTTLS") else {
                throw SMTPError(message: "the SMTP server \(host) does not offer STARTTLS; set security to ssl, or none for a local relay",
                                retryable: false)
            }
            _ = try await command("STARTTLS", expecting: 220...220)
            let handler = try tlsHandler()
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
            hello = try await command("EHLO \(heloName)")
        }
        if let username {
            let methods = Self.capabilities(hello)["AUTH"] ?? []
            let password = self.password ?? ""
            if methods.contains("PLAIN") || !methods.contains("LOGIN") {
                let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                _ = try await command("AUTH PLAIN \(token)", expecting: 235...235, shown: "AUTH PLAIN")
            } else {
                _ = try await command("AUTH LOGIN", expecting: 334...334)
                _ = try await command(Data(username.utf8).base64EncodedString(), expecting: 334...334, shown: "the user name")
                _ = try await command(Data(password.utf8).base64EncodedString(), expecting: 235...235, shown: "the password")
            }
        }
        _ = try await command("MAIL FROM:<\(from)>")
        for recipient in recipients {
            _ = try await command("RCPT TO:<\(recipient)>", expecting: 250...251)
        }
        _ = try await command("DATA", expecting: 354...354)
        let accepted = try await command(Self.dotStuffed(data) + "\r\n.", shown: "the message")
        // The message is accepted; a QUIT the server does not hear changes nothing.
        try? await channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n"))
        return accepted
    }

    /// EHLO's extensions: keyword → parameters (`AUTH` → `["PLAIN", "LOGIN"]`).
    static func capabilities(_ reply: SMTPReply) -> [String: [String]] {
        var found: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ").map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            found[keyword] = Array(words.dropFirst())
        }
        return found
    }

    /// A line of the message that starts with a dot gets another (RFC 5321 §4.5.2).
    static func dotStuffed(_ data: String) -> String {
        data.components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n")
    }
}

/// Turns the server's bytes into replies: lines `250-...` continue a reply, `250 ...` ends it.
private final class SMTPReplyDecoder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    private var pending = ""
    private var lines: [String] = []

    init(continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readString(length: buffer.readableBytes) ?? ""
        while let end = pending.range(of: "\r\n") ?? pending.range(of: "\n") {
            let line = String(pending[..<end.lowerBound])
            pending.removeSubrange(..<end.upperBound)
            guard line.count >= 3, let code = Int(line.prefix(3)) else {
                continuation.finish(throwing: SMTPError(message: "the SMTP server sent an unreadable line: \(line.prefix(80))", retryable: true))
                return
            }
            lines.append(line.count > 4 ? String(line.dropFirst(4)) : "")
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " {
                continuation.yield(SMTPReply(code: code, lines: lines))
                lines = []
            }
        }
        if pending.utf8.count > 64 * 1024 {
            continuation.finish(throwing: SMTPError(message: "the SMTP server sent an overlong line", retryable: true))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
    }
}

/// An RFC 5322 message: text and HTML alternatives, and the snapshot as an attachment or
/// shown inline in the HTML.
struct MailMessage: Sendable {
    var from: String
    var to: [String]
    var subject: String
    var text: String
    var html: String
    var snapshot: (data: Data, filename: String)?
    var headers: [(String, String)] = []
    var date: Date
    var messageId: String

    func rendered() -> String {
        let boundary = "vigil-\(messageId.prefix(while: { $0 != "@" }))"
        var head = [
            "From: \(from)", "To: \(to.joined(separator: ", "))", "Subject: \(Self.encodedHeader(subject))",
            "Date: \(Self.rfc5322Date(date))", "Message-ID: <\(messageId)>", "MIME-Version: 1.0",
        ]
        head += headers.map { "\($0.0): \($0.1)" }
        let alternative = [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)-alt\"", "",
            "--\(boundary)-alt", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
            Self.base64Lines(Data(text.utf8)),
            "--\(boundary)-alt", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", "",
            Self.base64Lines(Data(html.utf8)),
            "--\(boundary)-alt--",
        ]
        guard let snapshot else {
            return (head + alternative).joined(separator: "\r\n") + "\r\n"
        }
        // multipart/related keeps the image beside the HTML that shows it (cid:snapshot); mail
        // programs also offer it as an attachment.
        return (head + [
            "Content-Type: multipart/related; boundary=\"\(boundary)\"", "",
            "--\(boundary)",
        ] + alternative + [
            "--\(boundary)",
            "Content-Type: image/jpeg; name=\"\(snapshot.filename)\"", "Content-Transfer-Encoding: base64",
            "Content-ID: <snapshot>", "Content-Disposition: inline; filename=\"\(snapshot.filename)\"", "",
            Self.base64Lines(snapshot.data),
            "--\(boundary)--",
        ]).joined(separator: "\r\n") + "\r\n"
    }

    static func base64Lines(_ data: Data) -> String {
        data.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    /// RFC 2047 for a header with anything but printable ASCII; CR and LF never pass.
    static func encodedHeader(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard flat.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 }) else {
            return "=?utf-8?B?\(Data(flat.utf8).base64EncodedString())?="
        }
        return flat
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
