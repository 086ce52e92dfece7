import ArgumentParser
import Foundation
import Logging
import VigilCore
import VigilServer
import VigilStore

#if canImport(Glibc)
import Glibc
#endif

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage the people who sign in.",
                                                    subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; with --admin, a super administrator (the way to create the first one).")

        @OptionGroup var common: CommonOptions

        @Option(help: "Sign-in name: 3 to 50 letters, digits, '.', '_' or '-'.")
        var username: String

        @Option(help: "Email address.")
        var email: String

        @Flag(help: "Make the user a super administrator.")
        var admin = false

        @Option(help: "Role: super_admin, admin, operator or viewer (default viewer; --admin means super_admin).")
        var role: String?

        @Option(name: .customLong("password-file"), help: "Read the password from the first line of this file instead of asking.")
        var passwordFile: String?

        func run() async throws {
            try await reportingFailures {
                let roleName = admin ? Role.superAdminName : (role ?? "viewer")
                let password = try readPassword()
                let username = self.username
                let email = self.email
                let user = try await common.withDatabase { database, logger in
                    do {
                        return try await Accounts.createUser(username: username, email: email, password: password,
                                                             roleName: roleName, actor: "system:cli", database: database,
                                                             logger: logger)
                    } catch StoreError.duplicate {
                        throw ExitMessage("a user with this username or email already exists")
                    }
                }
                print("created \(user.role) \(user.username) (\(user.id.uuidString.lowercased()))")
            }
        }

        private func readPassword() throws -> String {
            if let passwordFile {
                guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                    throw ExitMessage("cannot read \(passwordFile)")
                }
                return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            }
            guard isatty(STDIN_FILENO) == 1 else {
                throw ExitMessage("no terminal to ask for the password on; use --password-file", code: 2)
            }
            let first = String(cString: getpass("Password: "))
            let second = String(cString: getpass("Password again: "))
            guard first == second else { throw ExitMessage("the passwords differ", code: 2) }
            return first
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apikey", abstract: "Manage API keys for machines and integrations.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it once; only its hash is kept.")

        @OptionGroup var common: CommonOptions

        @Option(help: "What the key is for, e.g. front-door-esp32.")
        var name: String

        @Option(help: "Role the key acts with (default api_client).")
        var role = "api_client"

        @Option(name: .customLong("expires-in-days"), help: "Expire the key after this many days.")
        var expiresInDays: Int?

        func run() async throws {
            try await reportingFailures {
                let expiresAt = expiresInDays.map { Date().addingTimeInterval(Double($0) * 86_400) }
                let name = self.name
                let role = self.role
                let created = try await common.withDatabase { database, logger in
                    try await Accounts.createAPIKey(name: name, roleName: role, expiresAt: expiresAt, actor: "system:cli",
                                                    createdBy: nil, database: database, logger: logger)
                }
                print(created.text)
                FileHandle.standardError.write(Data("vigil: key \(created.key.keyPrefix)… for \(created.key.name) (\(created.key.role)); it is shown only now\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never the keys themselves).")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                let keys = try await common.withDatabase { database, logger in
                    try await database.read { try await APIKeyRepository($0, logger: logger).list() }
                }
                for key in keys {
                    let state = key.isActive ? "active" : "revoked"
                    print("\(key.id.uuidString.lowercased())  \(key.keyPrefix)…  \(key.name)  \(key.role)  \(state)")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key at once.")

        @OptionGroup var common: CommonOptions

        @Argument(help: "The key's id or its prefix (vgl_xxxx).")
        var key: String

        func run() async throws {
            try await reportingFailures {
                let reference = key
                let revoked = try await common.withDatabase { database, logger in
                    try await Accounts.revokeAPIKey(reference: reference, actor: "system:cli", database: database, logger: logger)
                }
                guard let revoked else { throw ExitMessage("no active key '\(reference)'") }
                print("revoked \(revoked.keyPrefix)… (\(revoked.name))")
            }
        }
    }
}
