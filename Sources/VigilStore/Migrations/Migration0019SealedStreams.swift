/// Camera stream credentials sealed at rest: `rtsp_url` and `snapshot_url` keep the addresses with
/// their credentials redacted (fit for any reader), `stream_credentials` the whole addresses sealed
/// with the installation's key, opened only by the puller that connects. Rows written before this
/// are sealed when Vigil starts (the key is not the database's to know).
enum Migration0019SealedStreams {
    static let migration = Migration(version: 19, name: "sealed_streams", statements: [
        "ALTER TABLE cameras ADD COLUMN stream_credentials BYTEA",
        "COMMENT ON COLUMN cameras.stream_credentials IS 'The stream addresses in full, sealed with the installation key (AES-GCM); NULL when they carry no credential'",
    ])
}
