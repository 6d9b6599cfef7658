//! Governance rows (issue 6): the password-reset ledger (S7, パスワード再発行台帳), four-eyes
//! approvals (S10, 二者承認) and maintenance work tickets (S11, 保守作業票), plus the audit
//! queries the auditors' review (S16) and the maintenance report need.
//!
//! The store keeps rows and enforces what a row can enforce (a code is used once and only
//! before it expires; a request cannot be decided by its requester; a decision is made once);
//! what an approved action does is decided by the server.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::{AuditEntry, AuditRow};
use crate::{Result, Store, StoreError, new_id, now};

/// One row of the reset ledger (the code itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PasswordReset {
    pub id: String,
    pub user_id: String,
    /// Identity document type (本人確認書類), e.g. `my-number-card`, `drivers-licence`.
    pub verified_by: String,
    /// The operator who checked the document.
    pub checked_by: String,
    pub note: String,
    /// Who issued the code (a login, or `cli:$USER`).
    pub issued_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
}

/// A reset to record.
#[derive(Debug, Clone)]
pub struct NewReset<'a> {
    pub user_id: &'a str,
    pub verified_by: &'a str,
    pub checked_by: &'a str,
    pub note: &'a str,
    pub issued_by: &'a str,
    /// SHA-256 of the one-time code.
    pub code_hash: &'a str,
    pub expires_at: &'a str,
    /// A hash of a random secret nobody knows: the old (maybe stolen) password stops
    /// working the moment the reset is issued.
    pub locked_password_hash: &'a str,
}

const RESET_COLS: &str =
    "id, user_id, verified_by, checked_by, note, issued_by, created_at, expires_at, used_at";

fn reset_from_row(r: &AnyRow) -> Result<PasswordReset> {
    Ok(PasswordReset {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        verified_by: r.try_get("verified_by")?,
        checked_by: r.try_get("checked_by")?,
        note: r.try_get("note")?,
        issued_by: r.try_get("issued_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
    })
}

/// A request waiting for (or decided by) a second administrator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Approval {
    pub id: String,
    /// `role_grant`, `reprocess`, `maintenance_ticket`, `destruction`, …
    pub kind: String,
    /// The action's parameters (JSON text).
    pub payload: String,
    pub summary: String,
    pub requested_by: String,
    pub requested_at: String,
    /// `pending`, `approved`, `rejected`, `executed` or `failed`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: String,
    /// What the action did (or why it failed), once run.
    pub result: String,
}

const APPROVAL_COLS: &str = "id, kind, payload, summary, requested_by, requested_at, status, \
     decided_by, decided_at, reason, result";

fn approval_from_row(r: &AnyRow) -> Result<Approval> {
    Ok(Approval {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        summary: r.try_get("summary")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        status: r.try_get("status")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        reason: r.try_get("reason")?,
        result: r.try_get("result")?,
    })
}

/// The outcome of [`Store::decide_approval`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Decided now (status `approved` or `rejected`).
    Decided(Box<Approval>),
    NotFound,
    /// Already decided earlier (the current status).
    NotPending(String),
    /// The requester tried to decide their own request (four eyes means two people).
    OwnRequest,
}

/// An approved work ticket of a maintenance account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MaintenanceTicket {
    pub ticket: String,
    pub user_id: String,
    pub description: String,
    /// The window (RFC 3339 UTC): logins are accepted from `window_from` until `window_to`.
    pub window_from: String,
    pub window_to: String,
    pub requested_by: String,
    pub approved_by: String,
    pub approval_id: String,
    pub created_at: String,
}

const TICKET_COLS: &str = "ticket, user_id, description, window_from, window_to, requested_by, \
     approved_by, approval_id, created_at";

fn ticket_from_row(r: &AnyRow) -> Result<MaintenanceTicket> {
    Ok(MaintenanceTicket {
        ticket: r.try_get("ticket")?,
        user_id: r.try_get("user_id")?,
        description: r.try_get("description")?,
        window_from: r.try_get("window_from")?,
        window_to: r.try_get("window_to")?,
        requested_by: r.try_get("requested_by")?,
        approved_by: r.try_get("approved_by")?,
        approval_id: r.try_get("approval_id")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    // ---- S7: password-reset ledger ----

    /// Records a reset in the ledger and its audit row in one transaction; older unused
    /// codes of the user expire, the old password stops working and open sessions end.
    pub async fn add_password_reset(
        &self,
        r: &NewReset<'_>,
        audit: &AuditEntry,
    ) -> Result<PasswordReset> {
        if r.verified_by.trim().is_empty() || r.checked_by.trim().is_empty() {
            return Err(StoreError::Corrupt(
                "a password reset needs the identity document and who checked it".into(),
            ));
        }
        let id = new_id();
        let t = now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE password_resets SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL \
             AND expires_at > $1",
        )
        .bind(&t)
        .bind(r.user_id)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO password_resets (id, user_id, verified_by, checked_by, note, issued_by, \
             created_at, code_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(r.user_id)
        .bind(r.verified_by.trim())
        .bind(r.checked_by.trim())
        .bind(r.note)
        .bind(r.issued_by)
        .bind(&t)
        .bind(r.code_hash)
        .bind(r.expires_at)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 1 WHERE id = $2")
            .bind(r.locked_password_hash)
            .bind(r.user_id)
            .execute(tx.conn())
            .await?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL")
            .bind(&t)
            .bind(r.user_id)
            .execute(tx.conn())
            .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        self.password_reset(&id).await?.ok_or(StoreError::NotFound {
            what: "password reset",
            key: id,
        })
    }

    pub async fn password_reset(&self, id: &str) -> Result<Option<PasswordReset>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {RESET_COLS} FROM password_resets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(reset_from_row).transpose()
    }

    /// The ledger, newest first (optionally of one user).
    pub async fn password_resets(&self, user_id: Option<&str>) -> Result<Vec<PasswordReset>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {RESET_COLS} FROM password_resets WHERE ($1 = '' OR user_id = $1) \
             ORDER BY created_at DESC"
        )))
        .bind(user_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(reset_from_row).collect()
    }

    /// Redeems a one-time code of `user_id`: only unused and unexpired codes work, and only
    /// once (the conditional update decides between two concurrent attempts). On success the
    /// new password is set, the second factor is cleared for re-enrolment, failures and locks
    /// are cleared, and the audit row is written — all in one transaction.
    pub async fn redeem_password_reset(
        &self,
        user_id: &str,
        code_hash: &str,
        new_password_hash: &str,
        audit: &AuditEntry,
    ) -> Result<Option<PasswordReset>> {
        let t = now();
        let mut tx = self.begin().await?;
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1 WHERE code_hash = $2 AND user_id = $3 \
             AND used_at IS NULL AND expires_at > $1 RETURNING id",
        )
        .bind(&t)
        .bind(code_hash)
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = 0, totp_secret = '', \
             totp_last_step = NULL, failed_logins = 0, locked_until = NULL WHERE id = $2",
        )
        .bind(new_password_hash)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        self.password_reset(&id).await
    }

    // ---- S10: four-eyes approvals ----

    /// Files a request (status `pending`) and its audit row in one transaction.
    pub async fn request_approval(
        &self,
        kind: &str,
        payload: &str,
        summary: &str,
        requested_by: &str,
        audit: &AuditEntry,
    ) -> Result<Approval> {
        let id = new_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO approvals (id, kind, payload, summary, requested_by, requested_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
        )
        .bind(&id)
        .bind(kind)
        .bind(payload)
        .bind(summary)
        .bind(requested_by)
        .bind(now())
        .execute(tx.conn())
        .await?;
        let mut audit = audit.clone();
        if audit.target.is_empty() {
            audit.target = format!("approval:{id}");
        }
        self.audit_in(&mut tx, &audit).await?;
        tx.commit().await?;
        self.approval(&id).await?.ok_or(StoreError::NotFound {
            what: "approval",
            key: id,
        })
    }

    pub async fn approval(&self, id: &str) -> Result<Option<Approval>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {APPROVAL_COLS} FROM approvals WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(approval_from_row).transpose()
    }

    /// Requests, oldest first, optionally of one status.
    pub async fn approvals(&self, status: Option<&str>) -> Result<Vec<Approval>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {APPROVAL_COLS} FROM approvals WHERE ($1 = '' OR status = $1) \
             ORDER BY requested_at, id"
        )))
        .bind(status.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(approval_from_row).collect()
    }

    /// Approves or rejects a pending request as `decided_by`, who must not be its
    /// requester; the decision and its audit row commit together, and a request is decided
    /// once (two concurrent approvers: one wins).
    pub async fn decide_approval(
        &self,
        id: &str,
        decided_by: &str,
        approve: bool,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<Decision> {
        let Some(current) = self.approval(id).await? else {
            return Ok(Decision::NotFound);
        };
        if current.requested_by == decided_by {
            return Ok(Decision::OwnRequest);
        }
        let status = if approve { "approved" } else { "rejected" };
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, reason = $4 \
             WHERE id = $5 AND status = 'pending' AND requested_by <> $2",
        )
        .bind(status)
        .bind(decided_by)
        .bind(now())
        .bind(reason)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if n != 1 {
            drop(tx);
            let now_status = self
                .approval(id)
                .await?
                .map(|a| a.status)
                .unwrap_or_default();
            return Ok(Decision::NotPending(now_status));
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(match self.approval(id).await? {
            Some(a) => Decision::Decided(Box::new(a)),
            None => Decision::NotFound,
        })
    }

    /// Records what an approved action did: `executed` or `failed` with the result text.
    pub async fn finish_approval(&self, id: &str, ok: bool, result: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE approvals SET status = $1, result = $2 WHERE id = $3 AND status = 'approved'",
        )
        .bind(if ok { "executed" } else { "failed" })
        .bind(result)
        .bind(id)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// Changes a user's role (run only by an approved `role_grant`); open sessions end so
    /// that the new role takes effect at the next sign-in.
    pub async fn set_user_role(&self, user_id: &str, role: &str, audit: &AuditEntry) -> Result<()> {
        if !crate::users::ROLES.contains(&role) {
            return Err(StoreError::Corrupt(format!("unknown role {role:?}")));
        }
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role)
            .bind(user_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound {
                what: "user",
                key: user_id.to_string(),
            });
        }
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL")
            .bind(now())
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await
    }

    /// How many enabled administrator accounts exist (four eyes needs two).
    pub async fn enabled_admins(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
                .fetch_one(self.pool())
                .await?,
        )
    }

    // ---- S11: maintenance tickets ----

    /// Registers an approved ticket (with its audit row).
    pub async fn add_maintenance_ticket(
        &self,
        t: &MaintenanceTicket,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO maintenance_tickets (ticket, user_id, description, window_from, window_to, \
             requested_by, approved_by, approval_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&t.ticket)
        .bind(&t.user_id)
        .bind(&t.description)
        .bind(&t.window_from)
        .bind(&t.window_to)
        .bind(&t.requested_by)
        .bind(&t.approved_by)
        .bind(&t.approval_id)
        .bind(&t.created_at)
        .execute(tx.conn())
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await
    }

    pub async fn maintenance_ticket(&self, ticket: &str) -> Result<Option<MaintenanceTicket>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {TICKET_COLS} FROM maintenance_tickets WHERE ticket = $1"
        )))
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ticket_from_row).transpose()
    }

    /// The ticket of `user_id` whose window contains `at` (stored timestamp form).
    pub async fn active_maintenance_ticket(
        &self,
        user_id: &str,
        at: &str,
    ) -> Result<Option<MaintenanceTicket>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {TICKET_COLS} FROM maintenance_tickets WHERE user_id = $1 \
             AND window_from <= $2 AND window_to > $2 ORDER BY window_from LIMIT 1"
        )))
        .bind(user_id)
        .bind(at)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ticket_from_row).transpose()
    }

    // ---- audit queries for the review (S16) and the maintenance report (S11) ----

    /// Every audit row with `since <= at < until`, oldest first, optionally of one actor
    /// and of one organisation. Reads in pages, so a long period does not need one huge
    /// statement.
    pub async fn audit_period(
        &self,
        since: &str,
        until: &str,
        actor: Option<&str>,
        org: Option<&str>,
    ) -> Result<Vec<AuditRow>> {
        let mut out = Vec::new();
        let mut after = 0i64;
        loop {
            let page = sqlx::query(
                "SELECT seq, at, actor, role, org, action, target, records, source, detail, \
                 prev_hash, hash FROM audit WHERE at >= $1 AND at < $2 AND seq > $3 \
                 AND ($4 = '' OR actor = $4) AND ($5 = '' OR org = $5) ORDER BY seq LIMIT 5000",
            )
            .bind(since)
            .bind(until)
            .bind(after)
            .bind(actor.unwrap_or(""))
            .bind(org.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
            let Some(last) = page.last() else { break };
            after = last.try_get("seq")?;
            for r in &page {
                out.push(AuditRow {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    entry: AuditEntry {
                        actor: r.try_get("actor")?,
                        role: r.try_get("role")?,
                        org: r.try_get("org")?,
                        action: r.try_get("action")?,
                        target: r.try_get("target")?,
                        records: r.try_get("records")?,
                        source: r.try_get("source")?,
                        detail: r.try_get("detail")?,
                    },
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                });
            }
            if page.len() < 5000 {
                break;
            }
        }
        Ok(out)
    }
}
