//! Insurer reference data as rows: voucher ledgers (受診券/利用券発行台帳), insured-status
//! lists (資格情報) and contracts (契約). A load replaces that kind of data for that insurer
//! in one transaction, so a half-imported file never shows. The row meaning (the CSV
//! formats of docs/reference-data.md) belongs to the pipeline; here rows are opaque JSON
//! plus the columns that lookups use.

use sqlx::Row;

use crate::colcrypt::{ledger_context, seal_with};
use crate::{Result, Store, new_id, now};

/// One voucher ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherRow {
    pub kind: i64,
    pub number: String,
    pub card_symbol: String,
    pub card_number: String,
    pub row_json: String,
}

/// One insured-status row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuredRow {
    pub card_symbol: String,
    pub card_number: String,
    /// YYYYMMDD or empty (open).
    pub valid_from: String,
    pub valid_to: String,
}

/// One contract row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    pub institution: String,
    pub fiscal_year: i64,
    pub row_json: String,
}

/// Which reference kinds an insurer has loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadedKinds {
    pub vouchers: Option<i64>,
    pub insured: Option<i64>,
    pub contracts: Option<i64>,
}

impl Store {
    async fn mark_loaded(
        &self,
        tx: &mut crate::Tx,
        insurer: &str,
        kind: &str,
        rows: usize,
        by: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM reference_loads WHERE insurer = $1 AND kind = $2")
            .bind(insurer)
            .bind(kind)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO reference_loads (insurer, kind, rows, loaded_at, loaded_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(insurer)
        .bind(kind)
        .bind(rows as i64)
        .bind(now())
        .bind(by)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Replaces an insurer's voucher ledger.
    pub async fn replace_vouchers(
        &self,
        insurer: &str,
        rows: &[VoucherRow],
        by: &str,
    ) -> Result<()> {
        // Ledger rows (names, birth dates) are sealed before the transaction (S18).
        let dk = self.field_key(&self.insurer_tenant(insurer).await?).await?;
        let mut sealed = Vec::with_capacity(rows.len());
        for r in rows {
            let ctx = ledger_context(insurer, r.kind, &r.number, &r.card_number);
            sealed.push(seal_with(&dk, &ctx, r.row_json.as_bytes())?);
        }
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM vouchers WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?;
        for (chunk, sealed) in rows.chunks(500).zip(sealed.chunks(500)) {
            let mut sql = String::from(
                "INSERT INTO vouchers (insurer, kind, number, card_symbol, card_number, row_json) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 6;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                ));
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            let mut q = sqlx::query(crate::sql(sql.clone()));
            for (r, row_json) in chunk.iter().zip(sealed) {
                q = q
                    .bind(insurer)
                    .bind(r.kind)
                    .bind(&r.number)
                    .bind(&r.card_symbol)
                    .bind(&r.card_number)
                    .bind(row_json);
            }
            q.execute(tx.conn()).await?;
        }
        self.mark_loaded(&mut tx, insurer, "vouchers", rows.len(), by)
            .await?;
        tx.commit().await
    }

    /// Replaces an insurer's insured-status list.
    pub async fn replace_insured(
        &self,
        insurer: &str,
        rows: &[InsuredRow],
        by: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM insured WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?;
        for chunk in rows.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO insured (insurer, card_symbol, card_number, valid_from, valid_to) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 5;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                ));
            }
            let mut q = sqlx::query(crate::sql(sql.clone()));
            for r in chunk {
                q = q
                    .bind(insurer)
                    .bind(&r.card_symbol)
                    .bind(&r.card_number)
                    .bind(&r.valid_from)
                    .bind(&r.valid_to);
            }
            q.execute(tx.conn()).await?;
        }
        self.mark_loaded(&mut tx, insurer, "insured", rows.len(), by)
            .await?;
        tx.commit().await
    }

    /// Adds contracts of an insurer (history is kept: a later load adds rows, and the
    /// newest load of the same key wins when read).
    pub async fn replace_contracts(
        &self,
        insurer: &str,
        rows: &[ContractRow],
        by: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM contracts WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?;
        let t = now();
        for r in rows {
            sqlx::query(
                "INSERT INTO contracts (id, insurer, institution, fiscal_year, row_json, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(insurer)
            .bind(&r.institution)
            .bind(r.fiscal_year)
            .bind(&r.row_json)
            .bind(&t)
            .execute(tx.conn())
            .await?;
        }
        self.mark_loaded(&mut tx, insurer, "contracts", rows.len(), by)
            .await?;
        tx.commit().await
    }

    /// Which kinds an insurer has loaded (row counts).
    pub async fn loaded_kinds(&self, insurer: &str) -> Result<LoadedKinds> {
        let rows = sqlx::query("SELECT kind, rows FROM reference_loads WHERE insurer = $1")
            .bind(insurer)
            .fetch_all(self.pool())
            .await?;
        let mut k = LoadedKinds::default();
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let n: i64 = r.try_get("rows")?;
            match kind.as_str() {
                "vouchers" => k.vouchers = Some(n),
                "insured" => k.insured = Some(n),
                "contracts" => k.contracts = Some(n),
                _ => {}
            }
        }
        Ok(k)
    }

    /// Ledger rows (JSON) of a voucher number.
    pub async fn voucher_rows(
        &self,
        insurer: &str,
        kind: i64,
        number: &str,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT card_number, row_json FROM vouchers WHERE insurer = $1 AND kind = $2 \
             AND number = $3",
        )
        .bind(insurer)
        .bind(kind)
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let card: String = r.try_get("card_number")?;
            let stored: String = r.try_get("row_json")?;
            out.push(
                self.open_context(
                    &format!("voucher ledger row {insurer}/{kind}/{number}"),
                    &ledger_context(insurer, kind, number, &card),
                    &stored,
                )
                .await?,
            );
        }
        Ok(out)
    }

    /// Seals voucher ledger rows stored in the clear by a version before column encryption
    /// (run at open; S18). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_voucher_ledger(&self) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let rows = sqlx::query(
                "SELECT insurer, kind, number, card_number, row_json FROM vouchers \
                 WHERE row_json NOT LIKE 'enc1:%' ORDER BY insurer, kind, number, card_number \
                 LIMIT 1000",
            )
            .fetch_all(self.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut updates = Vec::with_capacity(rows.len());
            for r in &rows {
                let insurer: String = r.try_get("insurer")?;
                let kind: i64 = r.try_get("kind")?;
                let number: String = r.try_get("number")?;
                let card: String = r.try_get("card_number")?;
                let clear: String = r.try_get("row_json")?;
                let dk = self
                    .field_key(&self.insurer_tenant(&insurer).await?)
                    .await?;
                let ctx = ledger_context(&insurer, kind, &number, &card);
                let new = seal_with(&dk, &ctx, clear.as_bytes())?;
                updates.push((insurer, kind, number, card, clear, new));
            }
            let mut tx = self.begin().await?;
            for (insurer, kind, number, card, clear, new) in &updates {
                total += sqlx::query(
                    "UPDATE vouchers SET row_json = $1 WHERE insurer = $2 AND kind = $3 \
                     AND number = $4 AND card_number = $5 AND row_json = $6",
                )
                .bind(new)
                .bind(insurer)
                .bind(kind)
                .bind(number)
                .bind(card)
                .bind(clear)
                .execute(tx.conn())
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        }
        if total > 0 {
            tracing::info!("encrypted {total} voucher ledger rows stored in the clear (S18)");
        }
        Ok(total)
    }

    /// Insured-status rows of a card number.
    pub async fn insured_rows(&self, insurer: &str, card_number: &str) -> Result<Vec<InsuredRow>> {
        let rows = sqlx::query(
            "SELECT card_symbol, card_number, valid_from, valid_to FROM insured \
             WHERE insurer = $1 AND card_number = $2",
        )
        .bind(insurer)
        .bind(card_number)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| -> Result<InsuredRow> {
                Ok(InsuredRow {
                    card_symbol: r.try_get("card_symbol")?,
                    card_number: r.try_get("card_number")?,
                    valid_from: r.try_get("valid_from")?,
                    valid_to: r.try_get("valid_to")?,
                })
            })
            .collect()
    }

    /// Contract rows (JSON) of an insurer with an institution for a fiscal year.
    pub async fn contract_rows(
        &self,
        insurer: &str,
        institution: &str,
        fiscal_year: i64,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT row_json FROM contracts WHERE insurer = $1 AND institution = $2 AND fiscal_year = $3",
        )
        .bind(insurer)
        .bind(institution)
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?)
    }

    /// All contract rows of an insurer (for export).
    pub async fn contracts_of(&self, insurer: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT row_json FROM contracts WHERE insurer = $1 ORDER BY institution, fiscal_year",
        )
        .bind(insurer)
        .fetch_all(self.pool())
        .await?)
    }
}
