//! Sealed card and voucher numbers of `records` and their copies in billing (S18).
//!
//! `records.voucher`, `card_symbol` and `card_number` hold `enc1:` envelopes
//! ([`crate::colcrypt`]) under the insurer's data key, context
//! `records.<column>/<record id>`; `voucher_idx` and `card_idx` (migration 0007) hold the
//! insurer's keyed blind indexes (purposes `voucher` and `card`), and every lookup by a
//! number (history of a person, earlier uses of a voucher, stage D) goes through them. A
//! value blanked by retention stays empty, as does its index.
//!
//! Billing copies the sealed values into `billing_lines` as they are (same context, so a
//! line opens like its record) and builds the never-twice ledger keys from the indexes:
//! `CI:<insurer>:<card idx>:<fiscal year>` (`V<voucher idx>` without a card number) and
//! `GI:<insurer>:<voucher idx>:<timing>`. Keys of the clear form (`C:`/`G:`) written by a
//! version before are rewritten at open ([`Store::encrypt_clear_billing`]), so a number
//! billed before keeps blocking a second payment.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Row;

use crate::colcrypt::{IndexKey, field_context, is_sealed, seal_with};
use crate::keyring::{AGENCY_TENANT, DataKey};
use crate::submissions::RecordRow;
use crate::{Result, Store, StoreError};

/// Index purposes (shared with the roster's card index).
pub(crate) const CARD: &str = "card";
pub(crate) const VOUCHER: &str = "voucher";

/// The data and index keys of the insurers of a batch of records.
pub(crate) struct RecordKeys(HashMap<String, (Arc<DataKey>, IndexKey)>);

/// A record's sealed columns and indexes.
pub(crate) struct SealedNumbers {
    pub voucher: String,
    pub card_symbol: String,
    pub card_number: String,
    pub voucher_idx: String,
    pub card_idx: String,
}

impl RecordKeys {
    pub(crate) fn seal(
        &self,
        insurer: &str,
        record_id: &str,
        voucher: &str,
        card_symbol: &str,
        card_number: &str,
    ) -> Result<SealedNumbers> {
        let (dk, ik) = self
            .0
            .get(insurer)
            .ok_or_else(|| StoreError::Corrupt(format!("no record keys for insurer {insurer}")))?;
        seal_numbers(dk, ik, record_id, voucher, card_symbol, card_number)
    }
}

/// Seals a record's numbers under its insurer's keys (no I/O).
fn seal_numbers(
    dk: &DataKey,
    ik: &IndexKey,
    record_id: &str,
    voucher: &str,
    card_symbol: &str,
    card_number: &str,
) -> Result<SealedNumbers> {
    let s =
        |col: &str, v: &str| seal_with(dk, &field_context("records", col, record_id), v.as_bytes());
    Ok(SealedNumbers {
        voucher: s("voucher", voucher)?,
        card_symbol: s("card_symbol", card_symbol)?,
        card_number: s("card_number", card_number)?,
        voucher_idx: ik.index(VOUCHER, voucher),
        card_idx: ik.index(CARD, card_number),
    })
}

/// The never-twice ledger key of a record from its indexes (the same as the SQL in
/// `billing.rs`).
pub(crate) fn ledger_base(
    insurer: &str,
    service_event_type: i64,
    card_idx: &str,
    voucher_idx: &str,
    timing: Option<&str>,
    fiscal_year: i64,
) -> String {
    if service_event_type == 2 {
        format!("GI:{insurer}:{voucher_idx}:{}", timing.unwrap_or(""))
    } else if card_idx.is_empty() {
        format!("CI:{insurer}:V{voucher_idx}:{fiscal_year}")
    } else {
        format!("CI:{insurer}:{card_idx}:{fiscal_year}")
    }
}

impl Store {
    /// Creates the data keys of these insurers when missing. Call it before a write
    /// transaction that inserts records ([`Store::insert_records_in`] falls back to the
    /// agency's key for an insurer without one, as it must not create keys inside a
    /// transaction).
    pub async fn prepare_record_keys(&self, insurers: &[&str]) -> Result<()> {
        for i in insurers {
            let tenant = self.insurer_tenant(i).await?;
            self.field_key(&tenant).await?;
        }
        Ok(())
    }

    /// The keys for records of these insurers without creating any (usable inside a write
    /// transaction): the insurer's current data key, else the agency's.
    pub(crate) async fn record_keys(&self, insurers: &[&str]) -> Result<RecordKeys> {
        let mut map = HashMap::new();
        for &i in insurers {
            if map.contains_key(i) {
                continue;
            }
            let tenant = self.insurer_tenant(i).await?;
            let dk = match self.keyring().current_existing(&tenant).await? {
                Some(dk) => dk,
                None => self
                    .keyring()
                    .current_existing(AGENCY_TENANT)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("the agency has no data key".into()))?,
            };
            map.insert(i.to_string(), (dk, self.index_key(i).await?));
        }
        Ok(RecordKeys(map))
    }

    /// Opens a sealed record column (empty stays empty: blanked by retention).
    pub(crate) async fn open_record_field(
        &self,
        column: &str,
        record_id: &str,
        stored: String,
    ) -> Result<String> {
        if stored.is_empty() {
            return Ok(stored);
        }
        self.open_field("records", column, record_id, &stored).await
    }

    /// Opens the sealed numbers of a record read from the database.
    pub(crate) async fn open_record(&self, mut r: RecordRow) -> Result<RecordRow> {
        (r.card_symbol, r.card_number, r.voucher) = self
            .open_record_numbers(
                &r.id,
                std::mem::take(&mut r.card_symbol),
                std::mem::take(&mut r.card_number),
                std::mem::take(&mut r.voucher),
            )
            .await?;
        Ok(r)
    }

    /// Opens a record's sealed card symbol, card number and voucher number (in that order).
    pub(crate) async fn open_record_numbers(
        &self,
        record_id: &str,
        card_symbol: String,
        card_number: String,
        voucher: String,
    ) -> Result<(String, String, String)> {
        Ok((
            self.open_record_field("card_symbol", record_id, card_symbol)
                .await?,
            self.open_record_field("card_number", record_id, card_number)
                .await?,
            self.open_record_field("voucher", record_id, voucher)
                .await?,
        ))
    }

    /// Seals card and voucher numbers of records stored in the clear by a version before
    /// (run at open), with their indexes. Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_records(&self) -> Result<u64> {
        self.seal_clear_rows(
            "records",
            "SELECT id, insurer, voucher, card_symbol, card_number FROM records \
             WHERE (voucher <> '' AND voucher NOT LIKE 'enc1:%') \
             OR (card_symbol <> '' AND card_symbol NOT LIKE 'enc1:%') \
             OR (card_number <> '' AND card_number NOT LIKE 'enc1:%') \
             ORDER BY id LIMIT 1000",
            |r, dk, ik| {
                let old: [String; 4] = [
                    r.try_get("id")?,
                    r.try_get("voucher")?,
                    r.try_get("card_symbol")?,
                    r.try_get("card_number")?,
                ];
                let s = seal_numbers(dk, ik, &old[0], &old[1], &old[2], &old[3])?;
                Ok((old, s))
            },
            |([id, voucher, symbol, card], s)| {
                sqlx::query(
                    "UPDATE records SET voucher = $1, card_symbol = $2, card_number = $3, \
                     voucher_idx = $4, card_idx = $5 WHERE id = $6 AND voucher = $7 \
                     AND card_symbol = $8 AND card_number = $9",
                )
                .bind(&s.voucher)
                .bind(&s.card_symbol)
                .bind(&s.card_number)
                .bind(&s.voucher_idx)
                .bind(&s.card_idx)
                .bind(id)
                .bind(voucher)
                .bind(symbol)
                .bind(card)
            },
        )
        .await
    }

    /// Rewrites billing data of a version before: ledger keys of the clear form become
    /// index keys (module doc), clear numbers in billing lines are sealed, and the excluded
    /// lists of closed months name the index keys. Run at open after
    /// [`Store::encrypt_clear_records`]. Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_billing(&self) -> Result<u64> {
        // Ledger keys.
        let mut total = self
            .seal_clear_rows(
                "billing ledger keys",
                "SELECT l.key, l.record_id, l.state, r.insurer, r.service_event_type, \
                 r.guidance_timing, r.fiscal_year, r.card_idx, r.voucher_idx, r.voucher, \
                 r.card_number FROM billing_ledger l JOIN records r ON r.id = l.record_id \
                 WHERE l.key LIKE 'C:%' OR l.key LIKE 'G:%' ORDER BY l.key LIMIT 1000",
                |r, _dk, ik| {
                    let key: String = r.try_get("key")?;
                    let insurer: String = r.try_get("insurer")?;
                    let state: String = r.try_get("state")?;
                    let (base, suffix) = match key.rfind('~') {
                        Some(at) if state == "reversed" => (&key[..at], &key[at..]),
                        _ => (key.as_str(), ""),
                    };
                    let voucher: String = r.try_get("voucher")?;
                    let card: String = r.try_get("card_number")?;
                    let new_base = if voucher.is_empty() && card.is_empty() {
                        // Blanked by retention: the numbers live on in the old key only.
                        format!("XI:{insurer}:{}", ik.index("ledger", base))
                    } else {
                        let timing: Option<String> = r.try_get("guidance_timing")?;
                        ledger_base(
                            &insurer,
                            r.try_get("service_event_type")?,
                            &r.try_get::<String, _>("card_idx")?,
                            &r.try_get::<String, _>("voucher_idx")?,
                            timing.as_deref(),
                            r.try_get("fiscal_year")?,
                        )
                    };
                    let new = format!("{new_base}{suffix}");
                    Ok((key, new))
                },
                |(old, new)| {
                    sqlx::query("UPDATE billing_ledger SET key = $1 WHERE key = $2")
                        .bind(new)
                        .bind(old)
                },
            )
            .await?;
        // Lines.
        total += self
            .seal_clear_rows(
                "billing lines",
                "SELECT record_id, insurer, card_number, voucher FROM billing_lines \
                 WHERE (card_number <> '' AND card_number NOT LIKE 'enc1:%') \
                 OR (voucher <> '' AND voucher NOT LIKE 'enc1:%') ORDER BY record_id LIMIT 1000",
                |r, dk, ik| {
                    let old: [String; 3] = [
                        r.try_get("record_id")?,
                        r.try_get("card_number")?,
                        r.try_get("voucher")?,
                    ];
                    let s = seal_numbers(dk, ik, &old[0], &old[2], "", &old[1])?;
                    let keep = |old: &String, new: String| {
                        if old.is_empty() || is_sealed(old) {
                            old.clone()
                        } else {
                            new
                        }
                    };
                    let new = [keep(&old[1], s.card_number), keep(&old[2], s.voucher)];
                    Ok((old, new))
                },
                |([id, card, voucher], [new_card, new_voucher])| {
                    sqlx::query(
                        "UPDATE billing_lines SET card_number = $1, voucher = $2 \
                         WHERE record_id = $3 AND card_number = $4 AND voucher = $5",
                    )
                    .bind(new_card)
                    .bind(new_voucher)
                    .bind(id)
                    .bind(card)
                    .bind(voucher)
                },
            )
            .await?;
        // Excluded lists of closed months.
        let months = sqlx::query(
            "SELECT month, excluded_json FROM billing_months \
             WHERE excluded_json LIKE '%\"key\":\"C:%' OR excluded_json LIKE '%\"key\":\"G:%'",
        )
        .fetch_all(self.pool())
        .await?;
        for m in &months {
            let month: String = m.try_get("month")?;
            let old: String = m.try_get("excluded_json")?;
            let mut list: Vec<serde_json::Value> = serde_json::from_str(&old)
                .map_err(|e| StoreError::Corrupt(format!("excluded list of {month}: {e}")))?;
            for x in &mut list {
                let Some(key) = x.get("key").and_then(|k| k.as_str()).map(str::to_string) else {
                    continue;
                };
                if !(key.starts_with("C:") || key.starts_with("G:")) {
                    continue;
                }
                let billed = x
                    .get("billed_record_id")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_string();
                let row = sqlx::query("SELECT key, state FROM billing_ledger WHERE record_id = $1")
                    .bind(&billed)
                    .fetch_optional(self.pool())
                    .await?;
                let new = match row {
                    Some(r) => {
                        let k: String = r.try_get("key")?;
                        let state: String = r.try_get("state")?;
                        match k.rfind('~') {
                            Some(at) if state == "reversed" => k[..at].to_string(),
                            _ => k,
                        }
                    }
                    None => {
                        let insurer = key.split(':').nth(1).unwrap_or_default();
                        let ik = self.index_key(insurer).await?;
                        format!("XI:{insurer}:{}", ik.index("ledger", &key))
                    }
                };
                x["key"] = serde_json::Value::String(new);
            }
            let new = serde_json::to_string(&list)
                .map_err(|e| StoreError::Corrupt(format!("excluded list of {month}: {e}")))?;
            let mut tx = self.begin().await?;
            total += sqlx::query(
                "UPDATE billing_months SET excluded_json = $1 WHERE month = $2 AND excluded_json = $3",
            )
            .bind(&new)
            .bind(&month)
            .bind(&old)
            .execute(tx.conn())
            .await?
            .rows_affected();
            tx.commit().await?;
        }
        Ok(total)
    }
}
