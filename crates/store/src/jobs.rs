//! The durable job queue. A job is a row; a worker claims it with a lease, does the work,
//! and completes it in the same transaction that writes the work's effects — and only while
//! it still holds the lease. A crash (kill -9) leaves the job `running` with a lease that
//! runs out, after which another worker claims it again: effects happen exactly once
//! (S23). On PostgreSQL workers in many processes claim with `FOR UPDATE SKIP LOCKED`.
//!
//! A job kind can be paused (S24 degraded mode, `daiko jobs pause KIND`): the pause is a
//! row of `job_pauses`, read by the claim's own statement, so every worker of every process
//! honours it at its next claim; the kind's jobs stay queued until it is resumed.

use std::time::Duration;

use sqlx::Row;

use crate::{Backend, Result, Store, Tx, later, now};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub attempts: i64,
    pub lease_owner: String,
}

/// Counts of jobs by state (for the health page and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

/// A paused job kind (S24).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobPause {
    pub kind: String,
    /// Login of the administrator who paused it.
    pub paused_by: String,
    pub paused_at: String,
    pub reason: String,
}

/// Counts of jobs of one kind by state (`daiko jobs status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindCounts {
    pub kind: String,
    pub counts: JobCounts,
}

impl Store {
    /// Creates a job unless one of the same kind and subject exists (answers whether it
    /// was created).
    pub async fn enqueue_in(&self, tx: &mut Tx, kind: &str, subject: &str) -> Result<bool> {
        let t = now();
        let n = sqlx::query(
            "INSERT INTO jobs (kind, subject, state, run_after, created_at) \
             VALUES ($1, $2, 'queued', $3, $3) ON CONFLICT (kind, subject) DO NOTHING",
        )
        .bind(kind)
        .bind(subject)
        .bind(&t)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.queued_job |= n == 1;
        Ok(n == 1)
    }

    pub async fn enqueue(&self, kind: &str, subject: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let created = self.enqueue_in(&mut tx, kind, subject).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Claims the oldest ready job of the given kinds for `owner` with a lease of `lease`.
    pub async fn claim_job(
        &self,
        owner: &str,
        kinds: &[&str],
        lease: Duration,
    ) -> Result<Option<Job>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let t = now();
        let until = later(lease);
        let kinds_list = (0..kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        // A paused kind is skipped here, in the claiming statement itself (S24).
        let ready = format!(
            "kind IN ({kinds_list}) AND kind NOT IN (SELECT kind FROM job_pauses) \
             AND ((state = 'queued' AND run_after <= $3) \
             OR (state = 'running' AND lease_until < $3))"
        );
        let sql = match self.backend() {
            Backend::Postgres => format!(
                "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
                 attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE {ready} \
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, kind, subject, attempts"
            ),
            Backend::Sqlite => format!(
                "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
                 attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE {ready} \
                 ORDER BY id LIMIT 1) RETURNING id, kind, subject, attempts"
            ),
        };
        let mut tx = self.begin().await?;
        let mut q = sqlx::query(crate::sql(sql.clone()))
            .bind(owner)
            .bind(&until)
            .bind(&t);
        for k in kinds {
            q = q.bind(*k);
        }
        let row = q.fetch_optional(tx.conn()).await?;
        tx.commit().await?;
        row.map(|r| -> Result<Job> {
            Ok(Job {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                subject: r.try_get("subject")?,
                attempts: r.try_get("attempts")?,
                lease_owner: owner.to_string(),
            })
        })
        .transpose()
    }

    /// Extends a running job's lease (long jobs call this periodically).
    pub async fn renew_lease(&self, job: &Job, lease: Duration) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(later(lease))
        .bind(job.id)
        .bind(&job.lease_owner)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Marks the job done inside the transaction that wrote its effects. Answers false when
    /// the lease was lost (another worker took the job): the caller must then roll back.
    pub async fn complete_job_in(&self, tx: &mut Tx, job: &Job) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $1, lease_until = NULL, last_error = NULL \
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now())
        .bind(job.id)
        .bind(&job.lease_owner)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a failure: retried after `retry_after`, or `failed` for good once
    /// `max_attempts` is reached.
    pub async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        retry_after: Duration,
        max_attempts: i64,
    ) -> Result<()> {
        let state = if job.attempts >= max_attempts {
            "failed"
        } else {
            "queued"
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE jobs SET state = $1, run_after = $2, last_error = $3, lease_owner = NULL, \
             lease_until = NULL WHERE id = $4 AND lease_owner = $5",
        )
        .bind(state)
        .bind(later(retry_after))
        .bind(error)
        .bind(job.id)
        .bind(&job.lease_owner)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// Puts every `running` job back in the queue. Only for a single-process installation
    /// at start-up (SQLite), where no other worker can be alive.
    pub async fn requeue_running_jobs(&self) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL WHERE state = 'running'",
        )
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Re-queues failed jobs of a kind (an operator's retry after fixing the cause).
    pub async fn retry_failed_jobs(&self, kind: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1 WHERE state = 'failed' AND kind = $2",
        )
        .bind(now())
        .bind(kind)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub async fn job_counts(&self) -> Result<JobCounts> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(self.pool())
            .await?;
        let mut c = JobCounts::default();
        for r in rows {
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            match state.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "done" => c.done = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        Ok(c)
    }

    /// Pauses a job kind with its audit row in one transaction; answers false when it was
    /// already paused (then nothing is written).
    pub async fn pause_job_kind(
        &self,
        kind: &str,
        reason: &str,
        entry: &crate::audit::AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO job_pauses (kind, paused_by, paused_at, reason) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind) DO NOTHING",
        )
        .bind(kind)
        .bind(&entry.actor)
        .bind(now())
        .bind(reason)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if n == 1 {
            self.audit_in(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Resumes a paused job kind with its audit row; answers false when it was not paused.
    /// Wakes this process's workers (others find the jobs at their next poll).
    pub async fn resume_job_kind(
        &self,
        kind: &str,
        entry: &crate::audit::AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM job_pauses WHERE kind = $1")
            .bind(kind)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if n == 1 {
            self.audit_in(&mut tx, entry).await?;
            tx.queued_job = true;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The paused job kinds, by kind.
    pub async fn job_pauses(&self) -> Result<Vec<JobPause>> {
        let rows =
            sqlx::query("SELECT kind, paused_by, paused_at, reason FROM job_pauses ORDER BY kind")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(JobPause {
                    kind: r.try_get("kind")?,
                    paused_by: r.try_get("paused_by")?,
                    paused_at: r.try_get("paused_at")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// Counts of jobs by kind and state, by kind.
    pub async fn job_counts_by_kind(&self) -> Result<Vec<KindCounts>> {
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<KindCounts> = Vec::new();
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            if out.last().is_none_or(|k| k.kind != kind) {
                out.push(KindCounts {
                    kind,
                    counts: JobCounts::default(),
                });
            }
            if let Some(k) = out.last_mut() {
                match state.as_str() {
                    "queued" => k.counts.queued = n,
                    "running" => k.counts.running = n,
                    "done" => k.counts.done = n,
                    "failed" => k.counts.failed = n,
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// The state of the job of a kind and subject, if any.
    pub async fn job_state(&self, kind: &str, subject: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT state FROM jobs WHERE kind = $1 AND subject = $2")
                .bind(kind)
                .bind(subject)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
