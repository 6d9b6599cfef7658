//! Billing rows (請求・支払): closed months, their frozen claim lines, the never-twice
//! ledger, offsets (過誤 and carried-forward negative payments) and institutions' bank
//! accounts.
//!
//! The month close itself is set-based SQL ([`Store::freeze_billing_month_in`]): a million
//! records are frozen with a handful of `INSERT … SELECT` statements inside the caller's
//! transaction, never row by row. The rules (which month, which cut-off, how amounts are
//! settled) belong to `daiko-pipeline` and `daiko-billing`; this module only moves rows.
//!
//! Ledger keys (U-01, U-05): a checkup is `CI:<insurer>:<card index>:<fiscal year>` (the
//! voucher's index stands in, as `V<voucher index>`, when a record has no card number),
//! guidance `GI:<insurer>:<voucher index>:<timing>`, over the blind indexes of the sealed
//! numbers ([`crate::recordcrypt`]; the clear `C:`/`G:` keys of a version before are
//! rewritten at open). Lines carry the records' sealed numbers and are opened when read.
//! The key is the ledger's primary key, so a second payment for the same checkup or
//! guidance timing cannot be written at all. A 過誤 reverses a
//! ledger row by renaming its key to `<key>~<offset id>`, which frees the key for a corrected
//! claim while keeping the history.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Backend, Result, Store, StoreError, Tx, now};

/// A closed month (締め).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BillingMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub closed_at: String,
    pub closed_by: String,
    /// Records received strictly before this instant (RFC 3339 UTC) were eligible.
    pub cutoff: String,
    /// The agency calendar in force at the close (daiko_billing::Calendar JSON).
    pub calendar_json: String,
    /// The fee schedule in force at the close (daiko_billing::FeeSchedule JSON).
    pub fees_json: String,
    pub lines: i64,
    pub claim_total: i64,
    /// Records left out because their ledger key was already billed (JSON array of
    /// [`Excluded`]).
    pub excluded_json: String,
}

const MONTH_COLS: &str = "month, closed_at, closed_by, cutoff, calendar_json, fees_json, lines, claim_total, excluded_json";

fn month_from_row(r: &AnyRow) -> Result<BillingMonth> {
    Ok(BillingMonth {
        month: r.try_get("month")?,
        closed_at: r.try_get("closed_at")?,
        closed_by: r.try_get("closed_by")?,
        cutoff: r.try_get("cutoff")?,
        calendar_json: r.try_get("calendar_json")?,
        fees_json: r.try_get("fees_json")?,
        lines: r.try_get("lines")?,
        claim_total: r.try_get("claim_total")?,
        excluded_json: r.try_get("excluded_json")?,
    })
}

/// One frozen claim line (請求明細): a billed record's amounts as they were at the close.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BillingLine {
    pub record_id: String,
    pub month: String,
    /// 保険者番号.
    pub insurer: String,
    /// 機関番号.
    pub institution: String,
    /// `checkup` (特定健診) or `guidance` (特定保健指導).
    pub kind: String,
    pub card_number: String,
    pub voucher: String,
    /// 別表11 timing (guidance only).
    pub guidance_timing: Option<String>,
    /// YYYYMMDD.
    pub service_date: String,
    pub fiscal_year: i64,
    /// 単価合計.
    pub cost: i64,
    /// 窓口負担合計.
    pub copayment: i64,
    /// 他制度負担.
    pub other_program: i64,
    /// 請求金額.
    pub claim: i64,
    /// 月遅れ: the service month is older than the month before the billing month.
    pub late: bool,
}

const LINE_COLS: &str = "record_id, month, insurer, institution, kind, card_number, voucher, \
     guidance_timing, service_date, fiscal_year, cost, copayment, other_program, claim, late";

fn line_from_row(r: &AnyRow) -> Result<BillingLine> {
    Ok(BillingLine {
        record_id: r.try_get("record_id")?,
        month: r.try_get("month")?,
        insurer: r.try_get("insurer")?,
        institution: r.try_get("institution")?,
        kind: r.try_get("kind")?,
        card_number: r.try_get("card_number")?,
        voucher: r.try_get("voucher")?,
        guidance_timing: r.try_get("guidance_timing")?,
        service_date: r.try_get("service_date")?,
        fiscal_year: r.try_get("fiscal_year")?,
        cost: r.try_get("cost")?,
        copayment: r.try_get("copayment")?,
        other_program: r.try_get("other_program")?,
        claim: r.try_get("claim")?,
        late: r.try_get::<i64, _>("late")? != 0,
    })
}

/// A row of the never-twice ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerRow {
    pub key: String,
    pub record_id: String,
    pub month: String,
    /// `billed`, or `reversed` after a 過誤.
    pub state: String,
}

/// An offset (相殺): a 過誤 taken back from an institution and credited to the insurer, or a
/// negative payment carried forward (`reason_code` = `carry`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OffsetRow {
    pub id: String,
    pub insurer: String,
    pub institution: String,
    pub record_id: Option<String>,
    /// 別表10 過誤返戻理由 code, or `carry`.
    pub reason_code: String,
    pub reason_text: String,
    /// Yen, > 0: reduces the amount due and the payment.
    pub amount: i64,
    pub requested_at: String,
    pub requested_by: String,
    /// The month it was settled in; `None` while pending.
    pub month: Option<String>,
    /// The month the offset record was billed in (or the month a carry comes from).
    pub origin_month: Option<String>,
}

const OFFSET_COLS: &str = "id, insurer, institution, record_id, reason_code, reason_text, amount, \
     requested_at, requested_by, month, origin_month";

fn offset_from_row(r: &AnyRow) -> Result<OffsetRow> {
    Ok(OffsetRow {
        id: r.try_get("id")?,
        insurer: r.try_get("insurer")?,
        institution: r.try_get("institution")?,
        record_id: r.try_get("record_id")?,
        reason_code: r.try_get("reason_code")?,
        reason_text: r.try_get("reason_text")?,
        amount: r.try_get("amount")?,
        requested_at: r.try_get("requested_at")?,
        requested_by: r.try_get("requested_by")?,
        month: r.try_get("month")?,
        origin_month: r.try_get("origin_month")?,
    })
}

/// An offset about to be recorded (pending: it joins the next close).
#[derive(Debug, Clone)]
pub struct NewOffset<'a> {
    pub id: &'a str,
    pub insurer: &'a str,
    pub institution: &'a str,
    pub record_id: Option<&'a str>,
    pub reason_code: &'a str,
    pub reason_text: &'a str,
    pub amount: i64,
    pub requested_by: &'a str,
    pub origin_month: Option<&'a str>,
}

/// What a month close freezes (the rules computed these values).
#[derive(Debug, Clone)]
pub struct FreezeMonth<'a> {
    /// `YYYY-MM`.
    pub month: &'a str,
    /// Records received strictly before this instant (RFC 3339 UTC as stored) are eligible.
    pub cutoff: &'a str,
    /// `YYYYMM`: records whose service month is before this are 月遅れ (late).
    pub late_before: &'a str,
    pub closed_by: &'a str,
    pub calendar_json: &'a str,
    pub fees_json: &'a str,
}

/// A record left unbilled because its ledger key is already taken (U-01/U-05).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Excluded {
    pub record_id: String,
    pub key: String,
    /// The record that holds the key (billed earlier or in the same close).
    pub billed_record_id: String,
    pub billed_month: String,
}

/// An institution's sums in a closed month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionTotals {
    pub institution: String,
    pub lines: i64,
    pub claim_total: i64,
    pub offset_total: i64,
}

/// The counts of a freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeOutcome {
    pub lines: i64,
    pub claim_total: i64,
    /// Pending offsets assigned to the month.
    pub offsets: i64,
    pub excluded: Vec<Excluded>,
}

/// The ledger key of a record, as SQL over `records r` (module doc), built from the blind
/// indexes of the numbers (`crate::recordcrypt::ledger_base` must give the same text).
const KEY_SQL: &str = "CASE WHEN r.service_event_type = 2 \
     THEN 'GI:' || r.insurer || ':' || r.voucher_idx || ':' || COALESCE(r.guidance_timing, '') \
     ELSE 'CI:' || r.insurer || ':' || \
          (CASE WHEN r.card_idx = '' THEN 'V' || r.voucher_idx ELSE r.card_idx END) || ':' || \
          CAST(r.fiscal_year AS TEXT) END";

/// Lines are read in pages of this size, so a month of a million lines never sits in memory
/// twice (rows and typed lines).
const PAGE: i64 = 20_000;

async fn lines_with<T>(
    store: &Store,
    conn: &mut AnyConnection,
    month: &str,
    page: i64,
    mut f: impl FnMut(BillingLine) -> T,
) -> Result<Vec<T>> {
    let page = page.max(1);
    let mut out = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let rows = match &after {
            None => {
                sqlx::query(crate::sql(format!(
                    "SELECT {LINE_COLS} FROM billing_lines WHERE month = $1 \
                     ORDER BY institution, record_id LIMIT {page}"
                )))
                .bind(month)
                .fetch_all(&mut *conn)
                .await?
            }
            Some((inst, rec)) => {
                sqlx::query(crate::sql(format!(
                    "SELECT {LINE_COLS} FROM billing_lines WHERE month = $1 \
                     AND (institution > $2 OR (institution = $2 AND record_id > $3)) \
                     ORDER BY institution, record_id LIMIT {page}"
                )))
                .bind(month)
                .bind(inst)
                .bind(rec)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        let n = rows.len();
        let mut last = None;
        for r in &rows {
            let line = store.open_line(line_from_row(r)?).await?;
            last = Some((line.institution.clone(), line.record_id.clone()));
            out.push(f(line));
        }
        if (n as i64) < page {
            return Ok(out);
        }
        after = last;
    }
}

async fn offsets_of_month(conn: &mut AnyConnection, month: &str) -> Result<Vec<OffsetRow>> {
    let rows = sqlx::query(crate::sql(format!(
        "SELECT {OFFSET_COLS} FROM billing_offsets WHERE month = $1 ORDER BY institution, id"
    )))
    .bind(month)
    .fetch_all(conn)
    .await?;
    rows.iter().map(offset_from_row).collect()
}

impl Store {
    /// Opens the sealed numbers of a line (they were copied from its record, with its
    /// context).
    async fn open_line(&self, mut l: BillingLine) -> Result<BillingLine> {
        l.card_number = self
            .open_record_field(
                "card_number",
                &l.record_id,
                std::mem::take(&mut l.card_number),
            )
            .await?;
        l.voucher = self
            .open_record_field("voucher", &l.record_id, std::mem::take(&mut l.voucher))
            .await?;
        Ok(l)
    }

    /// Freezes month `f.month` inside `tx`: registers the month, picks every eligible record
    /// (state accepted or delivered, received before the cut-off, insurer subscribed to
    /// `billing`, never billed, its submission not destroyed by retention: its numbers are
    /// blank), gives each ledger key to the earliest record that wants it
    /// and was not billed before, writes the lines, marks delivered records `invoiced`
    /// (accepted ones keep their state: their delivery is still due) and assigns pending
    /// offsets. Fails with [`StoreError::Duplicate`] when the month is already closed.
    pub async fn freeze_billing_month_in(
        &self,
        tx: &mut Tx,
        f: &FreezeMonth<'_>,
    ) -> Result<FreezeOutcome> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT month FROM billing_months WHERE month = $1")
                .bind(f.month)
                .fetch_optional(tx.conn())
                .await?;
        if exists.is_some() {
            return Err(StoreError::Duplicate {
                what: "billing month",
                key: f.month.to_string(),
            });
        }
        sqlx::query(crate::sql(format!(
            "INSERT INTO billing_months ({MONTH_COLS}) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, '[]')"
        )))
        .bind(f.month)
        .bind(now())
        .bind(f.closed_by)
        .bind(f.cutoff)
        .bind(f.calendar_json)
        .bind(f.fees_json)
        .execute(tx.conn())
        .await?;

        // SQLite: a bigger page cache for this connection while a month's rows and their
        // indexes are written (the default 2 MB makes a million random index inserts go to
        // disk page by page); restored afterwards.
        let sqlite = tx.backend() == Backend::Sqlite;
        let mut cache_size: Option<i64> = None;
        if sqlite {
            cache_size = Some(
                sqlx::query_scalar("PRAGMA cache_size")
                    .fetch_one(tx.conn())
                    .await?,
            );
            sqlx::query("PRAGMA cache_size = -524288")
                .execute(tx.conn())
                .await?;
        }

        // Candidates, once, with everything a line needs, the ledger key, whether an earlier
        // month holds the key, and the rank of the claim among this month's claims for the
        // key (the earliest received wins). A temporary table dropped before commit (DDL is
        // transactional on both databases, so a failure leaves nothing behind).
        for stmt in [
            "DROP TABLE IF EXISTS billing_candidates",
            "CREATE TEMPORARY TABLE billing_candidates (record_id TEXT PRIMARY KEY, \
             key TEXT NOT NULL, received_at TEXT NOT NULL, insurer TEXT NOT NULL, \
             institution TEXT NOT NULL, kind TEXT NOT NULL, card_number TEXT NOT NULL, \
             voucher TEXT NOT NULL, guidance_timing TEXT, service_date TEXT NOT NULL, \
             fiscal_year BIGINT NOT NULL, cost BIGINT NOT NULL, copayment BIGINT NOT NULL, \
             other_program BIGINT NOT NULL, claim BIGINT NOT NULL, late BIGINT NOT NULL, \
             taken BIGINT NOT NULL, rn BIGINT NOT NULL)",
        ] {
            sqlx::query(stmt).execute(tx.conn()).await?;
        }
        sqlx::query(crate::sql(format!(
            "INSERT INTO billing_candidates (record_id, key, received_at, insurer, institution, \
               kind, card_number, voucher, guidance_timing, service_date, fiscal_year, cost, \
               copayment, other_program, claim, late, taken, rn) \
             SELECT x.record_id, x.key, x.received_at, x.insurer, x.institution, x.kind, \
               x.card_number, x.voucher, x.guidance_timing, x.service_date, x.fiscal_year, \
               x.cost, x.copayment, x.other_program, x.claim, x.late, \
               CASE WHEN EXISTS (SELECT 1 FROM billing_ledger l WHERE l.key = x.key) \
                 THEN 1 ELSE 0 END, \
               ROW_NUMBER() OVER (PARTITION BY x.key ORDER BY x.received_at, x.record_id) \
             FROM ( \
               SELECT r.id AS record_id, {KEY_SQL} AS key, s.received_at, r.insurer, \
                 r.institution, \
                 CASE WHEN r.service_event_type = 2 THEN 'guidance' ELSE 'checkup' END AS kind, \
                 r.card_number, r.voucher, r.guidance_timing, r.service_date, r.fiscal_year, \
                 r.cost, r.copayment, r.other_program, r.claim, \
                 CASE WHEN SUBSTR(r.service_date, 1, 6) < $2 THEN 1 ELSE 0 END AS late \
               FROM records r \
               JOIN submissions s ON s.id = r.submission_id \
               JOIN orgs o ON o.number = r.insurer AND o.kind = 'insurer' \
               WHERE r.state IN ('accepted', 'delivered') \
                 AND s.received_at < $1 AND s.status <> 'destroyed' \
                 AND (',' || o.services || ',') LIKE '%,billing,%' \
                 AND NOT EXISTS (SELECT 1 FROM billing_lines b WHERE b.record_id = r.id) \
             ) x"
        )))
        .bind(f.cutoff)
        .bind(f.late_before)
        .execute(tx.conn())
        .await?;
        // The winners: a key billed in an earlier month is never billed again (U-01/U-05).
        // Inserted in key and record order, so the indexes grow at their ends.
        sqlx::query(
            "INSERT INTO billing_ledger (key, record_id, month, state) \
             SELECT key, record_id, $1, 'billed' FROM billing_candidates \
             WHERE rn = 1 AND taken = 0 ORDER BY key",
        )
        .bind(f.month)
        .execute(tx.conn())
        .await?;
        sqlx::query(crate::sql(format!(
            "INSERT INTO billing_lines ({LINE_COLS}) \
             SELECT record_id, $1, insurer, institution, kind, card_number, voucher, \
               guidance_timing, service_date, fiscal_year, cost, copayment, other_program, \
               claim, late \
             FROM billing_candidates WHERE rn = 1 AND taken = 0 ORDER BY record_id"
        )))
        .bind(f.month)
        .execute(tx.conn())
        .await?;
        let excluded_rows = sqlx::query(
            "SELECT c.record_id, c.key, l.record_id AS billed_record_id, l.month AS billed_month \
             FROM billing_candidates c JOIN billing_ledger l ON l.key = c.key \
             WHERE (c.rn > 1 OR c.taken = 1) AND l.record_id <> c.record_id \
             ORDER BY c.record_id",
        )
        .fetch_all(tx.conn())
        .await?;
        let mut excluded = Vec::with_capacity(excluded_rows.len());
        for r in &excluded_rows {
            excluded.push(Excluded {
                record_id: r.try_get("record_id")?,
                key: r.try_get("key")?,
                billed_record_id: r.try_get("billed_record_id")?,
                billed_month: r.try_get("billed_month")?,
            });
        }
        sqlx::query(
            "UPDATE records SET state = 'invoiced' WHERE state = 'delivered' AND id IN \
             (SELECT record_id FROM billing_candidates WHERE rn = 1 AND taken = 0)",
        )
        .execute(tx.conn())
        .await?;
        sqlx::query("DROP TABLE billing_candidates")
            .execute(tx.conn())
            .await?;
        if let Some(n) = cache_size {
            sqlx::query(crate::sql(format!("PRAGMA cache_size = {n}")))
                .execute(tx.conn())
                .await?;
        }
        // Pending offsets requested before the cut-off, and carries from earlier months.
        let offsets = sqlx::query(
            "UPDATE billing_offsets SET month = $1 WHERE month IS NULL \
             AND (requested_at < $2 OR (origin_month IS NOT NULL AND origin_month < $1))",
        )
        .bind(f.month)
        .bind(f.cutoff)
        .execute(tx.conn())
        .await?
        .rows_affected() as i64;
        let totals = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(claim), 0) AS BIGINT) AS claim_total \
             FROM billing_lines WHERE month = $1",
        )
        .bind(f.month)
        .fetch_one(tx.conn())
        .await?;
        let lines: i64 = totals.try_get("n")?;
        let claim_total: i64 = totals.try_get("claim_total")?;
        let excluded_json = serde_json::to_string(&excluded)
            .map_err(|e| StoreError::Corrupt(format!("excluded list: {e}")))?;
        sqlx::query(
            "UPDATE billing_months SET lines = $1, claim_total = $2, excluded_json = $3 \
             WHERE month = $4",
        )
        .bind(lines)
        .bind(claim_total)
        .bind(&excluded_json)
        .bind(f.month)
        .execute(tx.conn())
        .await?;
        Ok(FreezeOutcome {
            lines,
            claim_total,
            offsets,
            excluded,
        })
    }

    /// A closed month, or `None` when it was never closed.
    pub async fn billing_month(&self, month: &str) -> Result<Option<BillingMonth>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {MONTH_COLS} FROM billing_months WHERE month = $1"
        )))
        .bind(month)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(month_from_row).transpose()
    }

    /// [`Store::billing_month`] inside a transaction.
    pub async fn billing_month_in(&self, tx: &mut Tx, month: &str) -> Result<Option<BillingMonth>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {MONTH_COLS} FROM billing_months WHERE month = $1"
        )))
        .bind(month)
        .fetch_optional(tx.conn())
        .await?;
        row.as_ref().map(month_from_row).transpose()
    }

    /// Per institution of a month (inside `tx`): (institution, lines, Σ claim, Σ offsets),
    /// by institution number. What a close needs to carry negative payments forward without
    /// reading every line.
    pub async fn institution_totals_in(
        &self,
        tx: &mut Tx,
        month: &str,
    ) -> Result<Vec<InstitutionTotals>> {
        let mut out: std::collections::BTreeMap<String, InstitutionTotals> =
            std::collections::BTreeMap::new();
        let rows = sqlx::query(
            "SELECT institution, COUNT(*) AS n, CAST(SUM(claim) AS BIGINT) AS claim_total \
             FROM billing_lines WHERE month = $1 GROUP BY institution",
        )
        .bind(month)
        .fetch_all(tx.conn())
        .await?;
        for r in &rows {
            let institution: String = r.try_get("institution")?;
            let t = out
                .entry(institution.clone())
                .or_insert_with(|| InstitutionTotals {
                    institution,
                    ..InstitutionTotals::default()
                });
            t.lines = r.try_get("n")?;
            t.claim_total = r.try_get("claim_total")?;
        }
        let rows = sqlx::query(
            "SELECT institution, CAST(SUM(amount) AS BIGINT) AS offset_total \
             FROM billing_offsets WHERE month = $1 GROUP BY institution",
        )
        .bind(month)
        .fetch_all(tx.conn())
        .await?;
        for r in &rows {
            let institution: String = r.try_get("institution")?;
            let t = out
                .entry(institution.clone())
                .or_insert_with(|| InstitutionTotals {
                    institution,
                    ..InstitutionTotals::default()
                });
            t.offset_total = r.try_get("offset_total")?;
        }
        Ok(out.into_values().collect())
    }

    /// Lines of a month (inside `tx`) whose amounts do not add up (claim ≠ cost − co-payment
    /// − other burden, or a negative amount): up to 20 record ids.
    pub async fn inconsistent_lines_in(&self, tx: &mut Tx, month: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT record_id FROM billing_lines WHERE month = $1 \
             AND (claim <> cost - copayment - other_program OR claim < 0 OR cost < 0 \
                  OR copayment < 0 OR other_program < 0) \
             ORDER BY record_id LIMIT 20",
        )
        .bind(month)
        .fetch_all(tx.conn())
        .await?)
    }

    /// The latest closed month (`YYYY-MM`), if any.
    pub async fn latest_billing_month_in(&self, tx: &mut Tx) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT MAX(month) FROM billing_months")
            .fetch_one(tx.conn())
            .await?)
    }

    /// Closed months, oldest first.
    pub async fn billing_months(&self) -> Result<Vec<BillingMonth>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {MONTH_COLS} FROM billing_months ORDER BY month"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(month_from_row).collect()
    }

    /// The frozen lines of a month, ordered by (institution, record id), each mapped by `f`.
    pub async fn billing_lines_with<T>(
        &self,
        month: &str,
        f: impl FnMut(BillingLine) -> T,
    ) -> Result<Vec<T>> {
        self.billing_lines_paged_with(month, PAGE, f).await
    }

    /// [`Store::billing_lines_with`] with a chosen page size (tests of the paging).
    #[doc(hidden)]
    pub async fn billing_lines_paged_with<T>(
        &self,
        month: &str,
        page: i64,
        f: impl FnMut(BillingLine) -> T,
    ) -> Result<Vec<T>> {
        let mut conn = self.pool().acquire().await?;
        lines_with(self, &mut conn, month, page, f).await
    }

    /// [`Store::billing_lines_with`] inside a transaction (sees the lines it froze).
    pub async fn billing_lines_with_in<T>(
        &self,
        tx: &mut Tx,
        month: &str,
        f: impl FnMut(BillingLine) -> T,
    ) -> Result<Vec<T>> {
        lines_with(self, tx.conn(), month, PAGE, f).await
    }

    /// The frozen line of a record, if it was billed.
    pub async fn billing_line(&self, record_id: &str) -> Result<Option<BillingLine>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {LINE_COLS} FROM billing_lines WHERE record_id = $1"
        )))
        .bind(record_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.open_line(line_from_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    /// The ledger rows of a record (at most one: `record_id` is unique).
    pub async fn ledger_of_record(&self, record_id: &str) -> Result<Option<LedgerRow>> {
        let row = sqlx::query(
            "SELECT key, record_id, month, state FROM billing_ledger WHERE record_id = $1",
        )
        .bind(record_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(LedgerRow {
                key: r.try_get("key")?,
                record_id: r.try_get("record_id")?,
                month: r.try_get("month")?,
                state: r.try_get("state")?,
            })
        })
        .transpose()
    }

    /// How many ledger rows hold a key (0 or 1: the key is the primary key).
    pub async fn ledger_key_count(&self, key: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM billing_ledger WHERE key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Reverses a record's ledger row after a 過誤 (module doc). Answers whether a billed
    /// row was reversed.
    pub async fn reverse_ledger_in(
        &self,
        tx: &mut Tx,
        record_id: &str,
        offset_id: &str,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE billing_ledger SET key = key || '~' || $1, state = 'reversed' \
             WHERE record_id = $2 AND state = 'billed'",
        )
        .bind(offset_id)
        .bind(record_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a pending offset (inside `tx`).
    pub async fn insert_offset_in(&self, tx: &mut Tx, o: &NewOffset<'_>) -> Result<()> {
        sqlx::query(crate::sql(format!(
            "INSERT INTO billing_offsets ({OFFSET_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)"
        )))
        .bind(o.id)
        .bind(o.insurer)
        .bind(o.institution)
        .bind(o.record_id)
        .bind(o.reason_code)
        .bind(o.reason_text)
        .bind(o.amount)
        .bind(now())
        .bind(o.requested_by)
        .bind(o.origin_month)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// The offsets settled in a month, ordered by (institution, id).
    pub async fn offsets_of_month(&self, month: &str) -> Result<Vec<OffsetRow>> {
        let mut conn = self.pool().acquire().await?;
        offsets_of_month(&mut conn, month).await
    }

    /// [`Store::offsets_of_month`] inside a transaction.
    pub async fn offsets_of_month_in(&self, tx: &mut Tx, month: &str) -> Result<Vec<OffsetRow>> {
        offsets_of_month(tx.conn(), month).await
    }

    /// Offsets not yet settled, oldest first.
    pub async fn pending_offsets(&self) -> Result<Vec<OffsetRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {OFFSET_COLS} FROM billing_offsets WHERE month IS NULL ORDER BY requested_at, id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(offset_from_row).collect()
    }

    /// The 過誤 offset of a record, if one was registered.
    pub async fn offset_of_record(&self, record_id: &str) -> Result<Option<OffsetRow>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {OFFSET_COLS} FROM billing_offsets WHERE record_id = $1"
        )))
        .bind(record_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(offset_from_row).transpose()
    }

    /// Moves a record from one of `from` states to `to` (inside `tx`); answers whether it
    /// moved. Used for a 過誤 on a record that was never billed (withdrawn instead).
    pub async fn set_record_state_in(
        &self,
        tx: &mut Tx,
        record_id: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool> {
        let list = (0..from.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        if list.is_empty() {
            return Ok(false);
        }
        let mut q = sqlx::query(crate::sql(format!(
            "UPDATE records SET state = $1 WHERE id = $2 AND state IN ({list})"
        )))
        .bind(to)
        .bind(record_id);
        for s in from {
            q = q.bind(*s);
        }
        Ok(q.execute(tx.conn()).await?.rows_affected() == 1)
    }

    /// Registers or replaces an organisation's bank account (JSON of
    /// daiko_billing::BankAccount), inside `tx`.
    pub async fn set_bank_account_in(
        &self,
        tx: &mut Tx,
        org_id: &str,
        account_json: &str,
        by: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM bank_accounts WHERE org_id = $1")
            .bind(org_id)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO bank_accounts (org_id, account_json, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(account_json)
        .bind(now())
        .bind(by)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// An organisation's bank account JSON.
    pub async fn bank_account(&self, org_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT account_json FROM bank_accounts WHERE org_id = $1")
                .bind(org_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Every bank account: (organisation number, account JSON), by number.
    pub async fn bank_accounts(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT o.number, b.account_json FROM bank_accounts b JOIN orgs o ON o.id = b.org_id \
             ORDER BY o.number",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("number")?, r.try_get("account_json")?)))
            .collect()
    }
}
