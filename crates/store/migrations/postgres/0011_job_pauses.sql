-- S24 degraded mode: job kinds paused by an administrator (`daiko jobs pause KIND`).
-- Every worker, in `serve` or `daiko worker`, in any process, skips a paused kind at its
-- next claim (store/src/jobs.rs claim_job); the jobs wait queued until it is resumed.
-- Keep in step with ../sqlite/0011_job_pauses.sql.
CREATE TABLE job_pauses (
    kind       TEXT PRIMARY KEY,
    paused_by  TEXT NOT NULL,
    paused_at  TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT ''
);
