import Foundation
import NIOSSL
import PostgresNIO

/// Where Vigil's database is: a server named by a URL, or the embedded cluster's socket.
public struct DatabaseLocation: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public enum TLSMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(endpoint: Endpoint, username: String, password: String?, database: String, tls: TLSMode) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=disable|prefer|require`.
    /// A `host=/folder` query item (libpq's form) selects the unix socket in that folder.
    public init(url text: String) throws(DatabaseLocationError) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw .invalid("must start with postgres:// or postgresql://")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw .invalid("names no database (postgres://user@host/DATABASE)") }
        guard let username = components.user, !username.isEmpty else {
            throw .invalid("names no user (postgres://USER@host/database)")
        }
        let tls: TLSMode
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        case let other: throw .invalid("sslmode '\(other)' is not one of disable, prefer, require")
        }
        if let socketFolder = query["host"], socketFolder.hasPrefix("/") {
            let port = components.port ?? 5432
            self.init(endpoint: .unixSocket(path: "\(socketFolder)/.s.PGSQL.\(port)"), username: username,
                      password: components.password, database: database, tls: .disable)
        } else {
            guard let host = components.host, !host.isEmpty else { throw .invalid("names no host") }
            self.init(endpoint: .tcp(host: host, port: components.port ?? 5432), username: username,
                      password: components.password, database: database, tls: tls)
        }
    }

    /// The same server, another database on it (tests copy a template into fresh databases).
    public func with(database: String) -> DatabaseLocation {
        var copy = self
        copy.database = database
        return copy
    }

    public var isLocal: Bool {
        switch endpoint {
        case .unixSocket: true
        case .tcp(let host, _): ["localhost", "127.0.0.1", "::1"].contains(host)
        }
    }

    /// The configuration of one standalone connection, for administrative work outside the pool.
    public var connectionConfiguration: PostgresConnection.Configuration {
        get throws {
            switch endpoint {
            case .unixSocket(let path):
                return .init(unixSocketPath: path, username: username, password: password, database: database)
            case .tcp(let host, let port):
                let tlsSetting: PostgresConnection.Configuration.TLS = switch tls {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
                return .init(host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
            }
        }
    }

    public func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            let tlsSetting: PostgresClient.Configuration.TLS = switch tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database,
                                  tls: tlsSetting)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

public enum DatabaseLocationError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): "the database URL \(reason)"
        }
    }
}
