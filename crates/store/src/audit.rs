//! The audit trail (監査証跡, S13-S15): append-only rows, each carrying the hash of the row
//! before it, so that changing or deleting any row breaks the chain at that row.
//!
//! `hash = SHA-256(prev_hash ‖ canonical(row))`, where the canonical form joins the fields
//! with U+001F. The first row's `prev_hash` is 64 zeros. Timestamps are UTC.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Backend, Result, Store, Tx, now};

/// What an audit row says (who, when, what, which records, from where).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Login of the person or system ("system" for daiko's own jobs).
    pub actor: String,
    pub role: String,
    /// Organisation number of the actor ("" for agency staff without one).
    pub org: String,
    /// Dotted action name, e.g. `auth.login`, `submission.read`, `delivery.download`.
    pub action: String,
    /// The object acted on (e.g. `submission:<id>`).
    pub target: String,
    /// The personal-data records touched (ids, comma separated), "" when none.
    pub records: String,
    /// Where from (client address, or `cli`).
    pub source: String,
    /// Free detail (outcome, counts); never a secret.
    pub detail: String,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The zero hash that precedes the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn row_hash(prev: &str, seq: i64, at: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    for part in [
        &seq.to_string(),
        at,
        &e.actor,
        &e.role,
        &e.org,
        &e.action,
        &e.target,
        &e.records,
        &e.source,
        &e.detail,
    ] {
        h.update([0x1f]);
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Where verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first row that does not verify (or the first missing sequence number).
    pub seq: i64,
    pub reason: String,
}

/// The outcome of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub rows: u64,
    pub last_hash: String,
    pub broken: Option<ChainBreak>,
}

/// Filters for searching the trail.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub org: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: i64,
}

impl Store {
    /// Appends one audit row inside `tx` (so it commits or rolls back with the operation).
    pub async fn audit_in(&self, tx: &mut Tx, entry: &AuditEntry) -> Result<i64> {
        if tx.backend() == Backend::Postgres {
            // One appender at a time across processes: the chain is a sequence.
            sqlx::query("SELECT pg_advisory_xact_lock(7263540)")
                .execute(tx.conn())
                .await?;
        }
        let last = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(tx.conn())
            .await?;
        let (seq, prev) = match last {
            Some(r) => (
                r.try_get::<i64, _>("seq")? + 1,
                r.try_get::<String, _>("hash")?,
            ),
            None => (1, GENESIS.to_string()),
        };
        let at = now();
        let hash = row_hash(&prev, seq, &at, entry);
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, role, org, action, target, records, source, detail, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(seq)
        .bind(&at)
        .bind(&entry.actor)
        .bind(&entry.role)
        .bind(&entry.org)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.records)
        .bind(&entry.source)
        .bind(&entry.detail)
        .bind(&prev)
        .bind(&hash)
        .execute(tx.conn())
        .await?;
        Ok(seq)
    }

    /// Appends one audit row in its own transaction.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<i64> {
        let mut tx = self.begin().await?;
        let seq = self.audit_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Verifies the whole chain, streaming in pages; names the first bad row.
    pub async fn verify_audit(&self) -> Result<ChainReport> {
        let mut prev = GENESIS.to_string();
        let mut expect_seq = 1i64;
        let mut rows = 0u64;
        loop {
            let page = sqlx::query(
                "SELECT seq, at, actor, role, org, action, target, records, source, detail, \
                 prev_hash, hash FROM audit WHERE seq >= $1 ORDER BY seq LIMIT 5000",
            )
            .bind(expect_seq)
            .fetch_all(self.pool())
            .await?;
            if page.is_empty() {
                break;
            }
            for r in &page {
                let row = audit_row(r)?;
                let broken = |reason: String| ChainBreak {
                    seq: row.seq,
                    reason,
                };
                if row.seq != expect_seq {
                    return Ok(ChainReport {
                        rows,
                        last_hash: prev,
                        broken: Some(ChainBreak {
                            seq: expect_seq,
                            reason: format!("row {expect_seq} is missing (next is {})", row.seq),
                        }),
                    });
                }
                let fail = if row.prev_hash != prev {
                    Some(broken("prev_hash does not match the previous row".into()))
                } else if row_hash(&prev, row.seq, &row.at, &row.entry) != row.hash {
                    Some(broken("content does not match its hash".into()))
                } else {
                    None
                };
                if fail.is_some() {
                    return Ok(ChainReport {
                        rows,
                        last_hash: prev,
                        broken: fail,
                    });
                }
                prev = row.hash;
                expect_seq += 1;
                rows += 1;
            }
        }
        Ok(ChainReport {
            rows,
            last_hash: prev,
            broken: None,
        })
    }

    /// The last row's sequence number and hash (an anchor to keep elsewhere).
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let r = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        r.map(|r| -> Result<(i64, String)> { Ok((r.try_get("seq")?, r.try_get("hash")?)) })
            .transpose()
    }

    /// One audit row by sequence number.
    pub async fn audit_row(&self, seq: i64) -> Result<Option<AuditRow>> {
        let r = sqlx::query(
            "SELECT seq, at, actor, role, org, action, target, records, source, detail, \
             prev_hash, hash FROM audit WHERE seq = $1",
        )
        .bind(seq)
        .fetch_optional(self.pool())
        .await?;
        r.as_ref().map(audit_row).transpose()
    }

    /// The audit rows about an object whose `records` is one of `records` (e.g. the
    /// `card-key:<index>` of a member, S18), oldest first.
    pub async fn audit_of_records(
        &self,
        target: &str,
        records: &[String],
    ) -> Result<Vec<AuditRow>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (2..records.len() + 2).map(|i| format!("${i}")).collect();
        let mut q = sqlx::query(crate::sql(format!(
            "SELECT seq, at, actor, role, org, action, target, records, source, detail, \
             prev_hash, hash FROM audit WHERE target = $1 AND records IN ({}) ORDER BY seq",
            marks.join(", ")
        )))
        .bind(target);
        for r in records {
            q = q.bind(r);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(audit_row).collect()
    }

    /// Searches the trail, newest first.
    pub async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT seq, at, actor, role, org, action, target, records, source, detail, \
             prev_hash, hash FROM audit WHERE 1 = 1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut add = |cond: &str, v: String, binds: &mut Vec<String>| {
            binds.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", binds.len())));
        };
        if let Some(a) = &q.actor {
            add(" AND actor = ?", a.clone(), &mut binds);
        }
        if let Some(a) = &q.action_prefix {
            add(" AND action LIKE ?", format!("{a}%"), &mut binds);
        }
        if let Some(o) = &q.org {
            add(" AND org = ?", o.clone(), &mut binds);
        }
        if let Some(s) = &q.since {
            add(" AND at >= ?", s.clone(), &mut binds);
        }
        if let Some(u) = &q.until {
            add(" AND at < ?", u.clone(), &mut binds);
        }
        let limit = if q.limit <= 0 {
            200
        } else {
            q.limit.min(10_000)
        };
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
        let mut query = sqlx::query(crate::sql(sql.clone()));
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(audit_row).collect()
    }
}

fn audit_row(r: &sqlx::any::AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
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
    })
}

/// Anchors (S14): the chain's head written outside the database from time to time, one
/// line `seq hash at` per anchor in a file of the data folder. Deleting the newest rows of
/// the audit table leaves an intact-looking chain; the anchors give it away.
pub mod anchors {
    use std::io::Write;
    use std::path::Path;

    use super::ChainBreak;
    use crate::{Result, Store, StoreError};

    /// Appends the current head to `path` when it moved since the last anchor.
    pub async fn write(store: &Store, path: &Path) -> Result<bool> {
        let Some((seq, hash)) = store.audit_head().await? else {
            return Ok(false);
        };
        let last = read(path)?.into_iter().last();
        if last.as_ref().is_some_and(|(s, _)| *s == seq) {
            return Ok(false);
        }
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        writeln!(f, "{seq} {hash} {}", crate::now()).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(true)
    }

    /// The anchors of a file (none when it does not exist).
    pub fn read(path: &Path) -> Result<Vec<(i64, String)>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut it = l.split_whitespace();
                let seq = it.next().and_then(|s| s.parse().ok());
                let hash = it.next().map(str::to_string);
                seq.zip(hash).ok_or_else(|| {
                    StoreError::Corrupt(format!("bad anchor line {l:?} in {}", path.display()))
                })
            })
            .collect()
    }

    /// Checks every anchor against the table: each anchored row must still exist with the
    /// anchored hash. Answers the first anchor that does not hold.
    pub async fn check(store: &Store, path: &Path) -> Result<Option<ChainBreak>> {
        for (seq, hash) in read(path)? {
            match store.audit_row(seq).await? {
                Some(row) if row.hash == hash => {}
                Some(_) => {
                    return Ok(Some(ChainBreak {
                        seq,
                        reason: format!(
                            "row {seq} no longer has the hash anchored in {}",
                            path.display()
                        ),
                    }));
                }
                None => {
                    return Ok(Some(ChainBreak {
                        seq,
                        reason: format!(
                            "row {seq} was anchored in {} but is missing (rows were deleted)",
                            path.display()
                        ),
                    }));
                }
            }
        }
        Ok(None)
    }
}
