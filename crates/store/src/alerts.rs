//! The alert outbox (S12): an alert is a row until a receiver has taken it. The server posts
//! it at once and, when the receiver is down, again later with a growing pause, from any of
//! its processes; a sender claims a row with a short lease so two processes do not post the
//! same alert at the same time. What was posted and when is in the audit trail (the server
//! writes `alert.sent` / `alert.failed`); this table only keeps what is still to be sent.

use std::time::Duration;

use sqlx::Row;

use crate::{Result, Store, later, new_id, now};

/// An alert waiting for (or claimed for) delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PendingAlert {
    pub id: String,
    /// `emergency.use`, `emergency.declare`, …
    pub event: String,
    /// The JSON body to post, fixed when the alert was raised.
    pub body: String,
    pub created_at: String,
    /// Attempts so far (a claim counts as one).
    pub attempts: i64,
    pub next_at: String,
    pub last_error: String,
}

const COLS: &str = "id, event, body, created_at, attempts, next_at, last_error";

fn from_row(r: &sqlx::any::AnyRow) -> Result<PendingAlert> {
    Ok(PendingAlert {
        id: r.try_get("id")?,
        event: r.try_get("event")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
        attempts: r.try_get("attempts")?,
        next_at: r.try_get("next_at")?,
        last_error: r.try_get("last_error")?,
    })
}

impl Store {
    /// Keeps an alert for delivery, due now. Answers its id.
    pub async fn enqueue_alert(&self, event: &str, body: &str) -> Result<String> {
        let id = new_id();
        let t = now();
        sqlx::query(
            "INSERT INTO alert_outbox (id, event, body, created_at, attempts, next_at) \
             VALUES ($1, $2, $3, $4, 0, $4)",
        )
        .bind(&id)
        .bind(event)
        .bind(body)
        .bind(&t)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Claims the alert `id` for one delivery attempt if it is still undelivered and nobody
    /// else holds it; `due_only` also requires its retry time to have come. The claim lasts
    /// `lease`; answers the row with the attempt counted.
    pub async fn claim_alert(
        &self,
        id: &str,
        lease: Duration,
        due_only: bool,
    ) -> Result<Option<PendingAlert>> {
        let t = now();
        let due = if due_only { "AND next_at <= $3" } else { "" };
        let n = sqlx::query(crate::sql(format!(
            "UPDATE alert_outbox SET claimed_until = $2, attempts = attempts + 1 \
             WHERE id = $1 AND delivered_at IS NULL {due} \
             AND (claimed_until IS NULL OR claimed_until < $3)"
        )))
        .bind(id)
        .bind(later(lease))
        .bind(&t)
        .execute(self.pool())
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        let row = sqlx::query(crate::sql(format!(
            "SELECT {COLS} FROM alert_outbox WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Ids of undelivered alerts whose retry time has come, oldest first.
    pub async fn due_alerts(&self, limit: i64) -> Result<Vec<String>> {
        let t = now();
        let rows = sqlx::query(
            "SELECT id FROM alert_outbox WHERE delivered_at IS NULL AND next_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY id LIMIT $2",
        )
        .bind(&t)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(Into::into))
            .collect()
    }

    /// The receiver took the alert.
    pub async fn alert_delivered(&self, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE alert_outbox SET delivered_at = $2, claimed_until = NULL, last_error = '' \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The attempt failed with `error`; try again after `retry_in`.
    pub async fn alert_failed(&self, id: &str, error: &str, retry_in: Duration) -> Result<()> {
        sqlx::query(
            "UPDATE alert_outbox SET claimed_until = NULL, last_error = $2, next_at = $3 \
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(later(retry_in))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Alerts not yet delivered, oldest first (for `daiko health`-style reports and tests).
    pub async fn undelivered_alerts(&self) -> Result<Vec<PendingAlert>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {COLS} FROM alert_outbox WHERE delivered_at IS NULL ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
