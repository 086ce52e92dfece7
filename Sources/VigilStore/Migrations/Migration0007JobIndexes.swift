/// Every queued frame inserts a job, so each index on `jobs` is a write per frame. Seed 001 lists
/// nine; these five are covered by the others and go:
/// - `idx_jobs_status` and `idx_jobs_job_type` are the leading columns of
///   `idx_jobs_status_created_at` and `idx_jobs_job_type_status`;
/// - `idx_jobs_queue_name` and `idx_jobs_priority` serve only claiming, which the partial
///   `idx_jobs_claimable (queue_name, priority, created_at) WHERE status = 'queued'` serves better;
/// - `idx_jobs_created_at` duplicates the BRIN index on the same column for time ranges, and
///   `idx_jobs_status_created_at` for recent jobs of a status.
enum Migration0007JobIndexes {
    static let migration = Migration(version: 7, name: "job_indexes", statements: [
        "DROP INDEX idx_jobs_status",
        "DROP INDEX idx_jobs_job_type",
        "DROP INDEX idx_jobs_queue_name",
        "DROP INDEX idx_jobs_priority",
        "DROP INDEX idx_jobs_created_at",
    ])
}
