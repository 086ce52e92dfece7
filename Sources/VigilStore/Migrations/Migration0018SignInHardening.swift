/// Sign-in that resists guessing and replay: the last two-factor step a user's code was accepted
/// for (a code works once), and an index to purge expired failed-sign-in counters.
enum Migration0018SignInHardening {
    static let migration = Migration(version: 18, name: "sign_in_hardening", statements: [
        "ALTER TABLE users ADD COLUMN mfa_last_step BIGINT",
        "COMMENT ON COLUMN users.mfa_last_step IS 'The 30-second step of the last accepted TOTP code; a code of that step or earlier is refused'",
        "CREATE INDEX idx_login_throttles_updated ON login_throttles (updated_at)",
    ])
}
