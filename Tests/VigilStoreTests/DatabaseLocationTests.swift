import Testing
import VigilStore

@Suite("Database URLs")
struct DatabaseLocationTests {
    @Test("a TCP URL with every part")
    func tcp() throws {
        let location = try DatabaseLocation(url: "postgres://vigil:s3cret@db.example:6543/vigil?sslmode=require")
        #expect(location.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(location.username == "vigil")
        #expect(location.password == "s3cret")
        #expect(location.database == "vigil")
        #expect(location.tls == .require)
        #expect(!location.isLocal)
    }

    @Test("libpq's host=/folder form selects the unix socket")
    func socket() throws {
        let location = try DatabaseLocation(url: "postgresql://vigil@/vigil?host=/srv/vigil/run")
        #expect(location.endpoint == .unixSocket(path: "/srv/vigil/run/.s.PGSQL.5432"))
        #expect(location.isLocal)
    }

    @Test("malformed URLs say what is wrong", arguments: [
        ("mysql://u@h/db", "the database URL must start with postgres:// or postgresql://"),
        ("postgres://u@h/", "the database URL names no database (postgres://user@host/DATABASE)"),
        ("postgres://h/db", "the database URL names no user (postgres://USER@host/database)"),
        ("postgres://u@h/db?sslmode=sometimes", "the database URL sslmode 'sometimes' is not one of disable, prefer, require"),
    ])
    func malformed(url: String, message: String) {
        #expect(throws: DatabaseLocationError.invalid(String(message.dropFirst("the database URL ".count)))) {
            try DatabaseLocation(url: url)
        }
    }
}
