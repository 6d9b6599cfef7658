//! Received archives (submissions), their records (one per data/claim pair, the start of a
//! record's lineage) and the archives built for recipients (deliveries).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::recordcrypt::{CARD, VOUCHER};
use crate::{Result, Store, StoreError, Tx, new_id, now};

/// A received archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Submission {
    pub id: String,
    /// データ受領書 number.
    pub receipt_no: String,
    pub org_id: String,
    pub uploaded_by: Option<String>,
    pub channel: String,
    pub archive_name: String,
    pub sha256: String,
    pub size: i64,
    pub blob_key: String,
    /// received | checking | done
    pub status: String,
    pub verdict: Option<String>,
    pub counts_json: Option<String>,
    pub report_key: Option<String>,
    pub received_at: String,
    pub checked_at: Option<String>,
}

const SUB_COLS: &str = "id, receipt_no, org_id, uploaded_by, channel, archive_name, sha256, size, \
     blob_key, status, verdict, counts_json, report_key, received_at, checked_at";

fn sub_from_row(r: &AnyRow) -> Result<Submission> {
    Ok(Submission {
        id: r.try_get("id")?,
        receipt_no: r.try_get("receipt_no")?,
        org_id: r.try_get("org_id")?,
        uploaded_by: r.try_get("uploaded_by")?,
        channel: r.try_get("channel")?,
        archive_name: r.try_get("archive_name")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        blob_key: r.try_get("blob_key")?,
        status: r.try_get("status")?,
        verdict: r.try_get("verdict")?,
        counts_json: r.try_get("counts_json")?,
        report_key: r.try_get("report_key")?,
        received_at: r.try_get("received_at")?,
        checked_at: r.try_get("checked_at")?,
    })
}

/// What intake knows when it registers an archive that is already durably stored.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub uploaded_by: Option<&'a str>,
    pub channel: &'a str,
    pub archive_name: &'a str,
    pub sha256: &'a str,
    pub size: i64,
    pub blob_key: &'a str,
}

/// One data/claim pair and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordRow {
    pub id: String,
    pub submission_id: String,
    pub seq: i64,
    pub data_file: String,
    pub claim_file: String,
    pub insurer: String,
    pub institution: String,
    pub voucher: String,
    pub card_symbol: String,
    pub card_number: String,
    pub service_event_type: i64,
    pub guidance_timing: Option<String>,
    /// YYYYMMDD
    pub service_date: String,
    pub fiscal_year: i64,
    /// accepted | returned | held | rejected (the whole archive was rejected: AR)
    pub outcome: String,
    pub return_reason: Option<String>,
    /// accepted | delivered | invoiced (billed in a closed month) | returned | held | rejected |
    /// paid | withdrawn
    pub state: String,
    pub cost: i64,
    pub copayment: i64,
    pub other_program: i64,
    pub claim: i64,
    pub delivery_id: Option<String>,
}

const REC_COLS: &str = "id, submission_id, seq, data_file, claim_file, insurer, institution, voucher, \
     card_symbol, card_number, service_event_type, guidance_timing, service_date, fiscal_year, \
     outcome, return_reason, state, cost, copayment, other_program, claim, delivery_id";

fn rec_from_row(r: &AnyRow) -> Result<RecordRow> {
    Ok(RecordRow {
        id: r.try_get("id")?,
        submission_id: r.try_get("submission_id")?,
        seq: r.try_get("seq")?,
        data_file: r.try_get("data_file")?,
        claim_file: r.try_get("claim_file")?,
        insurer: r.try_get("insurer")?,
        institution: r.try_get("institution")?,
        voucher: r.try_get("voucher")?,
        card_symbol: r.try_get("card_symbol")?,
        card_number: r.try_get("card_number")?,
        service_event_type: r.try_get("service_event_type")?,
        guidance_timing: r.try_get("guidance_timing")?,
        service_date: r.try_get("service_date")?,
        fiscal_year: r.try_get("fiscal_year")?,
        outcome: r.try_get("outcome")?,
        return_reason: r.try_get("return_reason")?,
        state: r.try_get("state")?,
        cost: r.try_get("cost")?,
        copayment: r.try_get("copayment")?,
        other_program: r.try_get("other_program")?,
        claim: r.try_get("claim")?,
        delivery_id: r.try_get("delivery_id")?,
    })
}

/// An archive built for a recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    pub id: String,
    pub recipient_id: String,
    /// 種別: 3 (to an insurer), 2 (returns to an institution), 11 (confirmation request).
    pub kind: i64,
    pub submission_id: Option<String>,
    pub archive_name: String,
    pub blob_key: String,
    pub sha256: String,
    pub records: i64,
    pub claim_total: i64,
    pub created_at: String,
    pub received_at: Option<String>,
    pub received_by: Option<String>,
}

const DEL_COLS: &str = "id, recipient_id, kind, submission_id, archive_name, blob_key, sha256, records, \
     claim_total, created_at, received_at, received_by";

fn del_from_row(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        recipient_id: r.try_get("recipient_id")?,
        kind: r.try_get("kind")?,
        submission_id: r.try_get("submission_id")?,
        archive_name: r.try_get("archive_name")?,
        blob_key: r.try_get("blob_key")?,
        sha256: r.try_get("sha256")?,
        records: r.try_get("records")?,
        claim_total: r.try_get("claim_total")?,
        created_at: r.try_get("created_at")?,
        received_at: r.try_get("received_at")?,
        received_by: r.try_get("received_by")?,
    })
}

/// A delivery about to be recorded.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub recipient_id: &'a str,
    pub kind: i64,
    pub submission_id: Option<&'a str>,
    pub archive_name: &'a str,
    pub blob_key: &'a str,
    pub sha256: &'a str,
    pub records: i64,
    pub claim_total: i64,
}

impl Store {
    /// Issues the next receipt number (データ受領書番号) of a JST day `yyyymmdd`, inside
    /// the transaction that registers the submission: `R` + date + `-` + 6-digit sequence.
    pub async fn next_receipt_no(&self, tx: &mut Tx, yyyymmdd: &str) -> Result<String> {
        let key = format!("receipt_seq:{yyyymmdd}");
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, '1') ON CONFLICT (key) DO UPDATE \
             SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)",
        )
        .bind(&key)
        .execute(tx.conn())
        .await?;
        let v: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(&key)
            .fetch_one(tx.conn())
            .await?;
        let n: u64 = v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("receipt counter {v:?}")))?;
        Ok(format!("R{yyyymmdd}-{n:06}"))
    }

    /// Registers a durably stored archive (inside `tx`, with its receipt number).
    pub async fn insert_submission_in(
        &self,
        tx: &mut Tx,
        s: &NewSubmission<'_>,
        receipt_no: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO submissions (id, receipt_no, org_id, uploaded_by, channel, archive_name, \
             sha256, size, blob_key, status, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'received', $10)",
        )
        .bind(s.id)
        .bind(receipt_no)
        .bind(s.org_id)
        .bind(s.uploaded_by)
        .bind(s.channel)
        .bind(s.archive_name)
        .bind(s.sha256)
        .bind(s.size)
        .bind(s.blob_key)
        .bind(now())
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn submission(&self, id: &str) -> Result<Option<Submission>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {SUB_COLS} FROM submissions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(sub_from_row).transpose()
    }

    /// Submissions, newest first, optionally of one organisation.
    pub async fn submissions(&self, org_id: Option<&str>, limit: i64) -> Result<Vec<Submission>> {
        let limit = limit.clamp(1, 10_000);
        let rows = match org_id {
            Some(o) => {
                sqlx::query(crate::sql(format!(
                    "SELECT {SUB_COLS} FROM submissions WHERE org_id = $1 ORDER BY received_at DESC LIMIT {limit}"
                )))
                .bind(o)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(crate::sql(format!(
                    "SELECT {SUB_COLS} FROM submissions ORDER BY received_at DESC LIMIT {limit}"
                )))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(sub_from_row).collect()
    }

    /// Whether an archive with this name or hash was received before (T-06), other than
    /// `except_id`.
    pub async fn archive_seen(&self, name: &str, sha256: &str, except_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM submissions WHERE (archive_name = $1 OR sha256 = $2) AND id <> $3",
        )
        .bind(name)
        .bind(sha256)
        .bind(except_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    pub async fn set_submission_status(&self, tx: &mut Tx, id: &str, status: &str) -> Result<()> {
        sqlx::query("UPDATE submissions SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(id)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Stores the check result of a submission (inside the job's transaction).
    pub async fn finish_check_in(
        &self,
        tx: &mut Tx,
        id: &str,
        verdict: &str,
        counts_json: &str,
        report_key: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE submissions SET status = 'done', verdict = $1, counts_json = $2, report_key = $3, \
             checked_at = $4 WHERE id = $5",
        )
        .bind(verdict)
        .bind(counts_json)
        .bind(report_key)
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Inserts records in batches (inside the job's transaction). Ids are filled in when
    /// empty.
    ///
    /// Card and voucher numbers are sealed under the insurer's data key with their blind
    /// indexes ([`crate::recordcrypt`]); call [`Store::prepare_record_keys`] before the
    /// transaction so that an insurer without a data key gets one (else the agency's key
    /// seals them).
    pub async fn insert_records_in(&self, tx: &mut Tx, records: &[RecordRow]) -> Result<()> {
        let insurers: Vec<&str> = records.iter().map(|r| r.insurer.as_str()).collect();
        let keys = self.record_keys(&insurers).await?;
        // One cached prepared statement executed per row: with the `Any` driver this is far
        // faster than multi-row statements with thousands of parameters.
        let sql = format!(
            "INSERT INTO records ({REC_COLS}, voucher_idx, card_idx) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24)"
        );
        for r in records {
            let id = if r.id.is_empty() {
                new_id()
            } else {
                r.id.clone()
            };
            let sealed = keys.seal(&r.insurer, &id, &r.voucher, &r.card_symbol, &r.card_number)?;
            sqlx::query(crate::sql(sql.clone()))
                .bind(id)
                .bind(&r.submission_id)
                .bind(r.seq)
                .bind(&r.data_file)
                .bind(&r.claim_file)
                .bind(&r.insurer)
                .bind(&r.institution)
                .bind(&sealed.voucher)
                .bind(&sealed.card_symbol)
                .bind(&sealed.card_number)
                .bind(r.service_event_type)
                .bind(&r.guidance_timing)
                .bind(&r.service_date)
                .bind(r.fiscal_year)
                .bind(&r.outcome)
                .bind(&r.return_reason)
                .bind(&r.state)
                .bind(r.cost)
                .bind(r.copayment)
                .bind(r.other_program)
                .bind(r.claim)
                .bind(&r.delivery_id)
                .bind(&sealed.voucher_idx)
                .bind(&sealed.card_idx)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// The records of a submission, in archive order.
    pub async fn records_of_submission(&self, submission_id: &str) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {REC_COLS} FROM records WHERE submission_id = $1 ORDER BY seq"
        )))
        .bind(submission_id)
        .fetch_all(self.pool())
        .await?;
        self.open_records(&rows).await
    }

    pub async fn record(&self, id: &str) -> Result<Option<RecordRow>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {REC_COLS} FROM records WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.open_record(rec_from_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    /// Accepted records of an insurer not yet in any delivery (for batching).
    pub async fn undelivered_records(&self, insurer: &str, state: &str) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {REC_COLS} FROM records WHERE insurer = $1 AND state = $2 AND delivery_id IS NULL \
             ORDER BY submission_id, seq"
        )))
        .bind(insurer)
        .bind(state)
        .fetch_all(self.pool())
        .await?;
        self.open_records(&rows).await
    }

    /// Earlier records of a person in a fiscal year (U-01/U-03).
    pub async fn records_of_person(
        &self,
        insurer: &str,
        card_number: &str,
        fiscal_year: i64,
    ) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {REC_COLS} FROM records WHERE insurer = $1 AND card_idx = $2 AND fiscal_year = $3"
        )))
        .bind(insurer)
        .bind(self.index_key(insurer).await?.index(CARD, card_number))
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?;
        self.open_records(&rows).await
    }

    /// Earlier records of many people of one insurer in the given fiscal years (the
    /// batched form of [`Store::records_of_person`], for prefetching a whole archive).
    pub async fn records_of_people(
        &self,
        insurer: &str,
        card_numbers: &[String],
        fiscal_years: &[i64],
    ) -> Result<Vec<RecordRow>> {
        let years = fiscal_years
            .iter()
            .map(|y| y.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if years.is_empty() {
            return Ok(Vec::new());
        }
        self.records_where_in(
            &format!("insurer = $1 AND fiscal_year IN ({years}) AND card_idx"),
            insurer,
            &self.indexes(insurer, CARD, card_numbers).await?,
        )
        .await
    }

    /// Earlier records that used any of these vouchers (batched [`Store::records_of_voucher`]).
    pub async fn records_of_vouchers(
        &self,
        insurer: &str,
        vouchers: &[String],
    ) -> Result<Vec<RecordRow>> {
        let idx = self.indexes(insurer, VOUCHER, vouchers).await?;
        self.records_where_in("insurer = $1 AND voucher_idx", insurer, &idx)
            .await
    }

    /// The blind indexes of `values` (deduplicated).
    async fn indexes(
        &self,
        insurer: &str,
        purpose: &str,
        values: &[String],
    ) -> Result<Vec<String>> {
        let ik = self.index_key(insurer).await?;
        let mut out: Vec<String> = values.iter().map(|v| ik.index(purpose, v)).collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Opens the sealed numbers of rows read from `records`.
    async fn open_records(&self, rows: &[AnyRow]) -> Result<Vec<RecordRow>> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.open_record(rec_from_row(r)?).await?);
        }
        Ok(out)
    }

    /// `SELECT … WHERE {prefix} IN (…)` in chunks; `$1` is the insurer.
    async fn records_where_in(
        &self,
        prefix: &str,
        insurer: &str,
        values: &[String],
    ) -> Result<Vec<RecordRow>> {
        let mut out = Vec::new();
        for chunk in values.chunks(500) {
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {REC_COLS} FROM records WHERE {prefix} IN ({list}) ORDER BY submission_id, seq"
            );
            let mut q = sqlx::query(crate::sql(sql)).bind(insurer);
            for v in chunk {
                q = q.bind(v);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push(self.open_record(rec_from_row(&r)?).await?);
            }
        }
        Ok(out)
    }

    /// Earlier records that used a voucher (D-05/U-05/U-06).
    pub async fn records_of_voucher(&self, insurer: &str, voucher: &str) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {REC_COLS} FROM records WHERE insurer = $1 AND voucher_idx = $2"
        )))
        .bind(insurer)
        .bind(self.index_key(insurer).await?.index(VOUCHER, voucher))
        .fetch_all(self.pool())
        .await?;
        self.open_records(&rows).await
    }

    /// The records a delivery carries (for audit rows and lineage).
    pub async fn records_of_delivery(&self, delivery_id: &str) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {REC_COLS} FROM records WHERE delivery_id = $1 ORDER BY submission_id, seq"
        )))
        .bind(delivery_id)
        .fetch_all(self.pool())
        .await?;
        self.open_records(&rows).await
    }

    /// Records the delivery and points its records at it (inside the job's transaction).
    pub async fn insert_delivery_in(
        &self,
        tx: &mut Tx,
        d: &NewDelivery<'_>,
        record_ids: &[String],
        record_state: &str,
    ) -> Result<()> {
        sqlx::query(crate::sql(format!(
            "INSERT INTO deliveries ({DEL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)"
        )))
        .bind(d.id)
        .bind(d.recipient_id)
        .bind(d.kind)
        .bind(d.submission_id)
        .bind(d.archive_name)
        .bind(d.blob_key)
        .bind(d.sha256)
        .bind(d.records)
        .bind(d.claim_total)
        .bind(now())
        .execute(tx.conn())
        .await?;
        for id in record_ids {
            sqlx::query("UPDATE records SET delivery_id = $1, state = $2 WHERE id = $3")
                .bind(d.id)
                .bind(record_state)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {DEL_COLS} FROM deliveries WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(del_from_row).transpose()
    }

    /// Deliveries for a recipient (or all), newest first.
    pub async fn deliveries(
        &self,
        recipient_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let limit = limit.clamp(1, 10_000);
        let rows = match recipient_id {
            Some(r) => {
                sqlx::query(crate::sql(format!(
                    "SELECT {DEL_COLS} FROM deliveries WHERE recipient_id = $1 ORDER BY created_at DESC LIMIT {limit}"
                )))
                .bind(r)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(crate::sql(format!(
                    "SELECT {DEL_COLS} FROM deliveries ORDER BY created_at DESC LIMIT {limit}"
                )))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(del_from_row).collect()
    }

    /// Deliveries built from one submission.
    pub async fn deliveries_of_submission(&self, submission_id: &str) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {DEL_COLS} FROM deliveries WHERE submission_id = $1 ORDER BY created_at"
        )))
        .bind(submission_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(del_from_row).collect()
    }

    /// Acknowledges receipt of a delivery (first acknowledgement wins; answers whether this
    /// call recorded it).
    pub async fn acknowledge_delivery(&self, id: &str, by: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE deliveries SET received_at = $1, received_by = $2 WHERE id = $3 AND received_at IS NULL",
        )
        .bind(now())
        .bind(by)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }
}
