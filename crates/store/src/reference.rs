//! Insurer reference data as rows: voucher ledgers (受診券/利用券発行台帳), insured-status
//! lists (資格情報) and contracts (契約). A load replaces that kind of data for that insurer
//! in one transaction, so a half-imported file never shows. The row meaning (the CSV
//! formats of docs/reference-data.md) belongs to the pipeline; here rows are opaque JSON
//! plus the columns that lookups use.
//!
//! The numbers are sealed (S18, [`crate::colcrypt`]) under the insurer's data key:
//! `vouchers.number`, `card_symbol` and `card_number` with the context
//! `vouchers.<column>/<insurer>/<kind>/<number idx>/<card idx>`, `insured.card_symbol`,
//! `card_number`, `valid_from` and `valid_to` (資格 dates tell when a person joined or
//! left) with `insured.<column>/<insurer>/<card idx>`; `row_json` keeps its context
//! (the clear number and card number, [`ledger_context`]). Lookups and the ledger's
//! uniqueness go through the insurer's blind indexes `vouchers.number_idx`/`card_idx` and
//! `insured.card_idx` (migration 0008, the purposes of the records' indexes). An empty value
//! stays empty, as does its index.

use sqlx::Row;

use crate::colcrypt::{IndexKey, field_context, is_sealed, ledger_context, seal_with};
use crate::keyring::DataKey;
use crate::recordcrypt::{CARD, VOUCHER};
use crate::{Result, Store, StoreError, new_id, now};

/// The row identity of a sealed `vouchers` column.
fn voucher_row(insurer: &str, kind: i64, number_idx: &str, card_idx: &str) -> String {
    format!("{insurer}/{kind}/{number_idx}/{card_idx}")
}

/// Seals `v` (empty stays empty).
fn seal_nonempty(dk: &DataKey, context: &[u8], v: &str) -> Result<String> {
    if v.is_empty() {
        Ok(String::new())
    } else {
        seal_with(dk, context, v.as_bytes())
    }
}

/// A `vouchers` row as stored: sealed columns and indexes.
pub(crate) struct SealedVoucher {
    pub number: String,
    pub card_symbol: String,
    pub card_number: String,
    pub number_idx: String,
    pub card_idx: String,
}

/// Seals the numbers of a voucher ledger row (no I/O: usable inside a transaction).
pub(crate) fn seal_voucher(
    dk: &DataKey,
    ik: &IndexKey,
    insurer: &str,
    kind: i64,
    number: &str,
    card_symbol: &str,
    card_number: &str,
) -> Result<SealedVoucher> {
    let number_idx = ik.index(VOUCHER, number);
    let card_idx = ik.index(CARD, card_number);
    let row = voucher_row(insurer, kind, &number_idx, &card_idx);
    let s = |col: &str, v: &str| seal_nonempty(dk, &field_context("vouchers", col, &row), v);
    Ok(SealedVoucher {
        number: s("number", number)?,
        card_symbol: s("card_symbol", card_symbol)?,
        card_number: s("card_number", card_number)?,
        number_idx,
        card_idx,
    })
}

/// Seals the card of an insured-status row: (symbol, number, index). Its dates are sealed
/// with the context `insured.<column>/<insurer>/<card idx>` ([`seal_insured_dates`]).
fn seal_insured(
    dk: &DataKey,
    ik: &IndexKey,
    insurer: &str,
    card_symbol: &str,
    card_number: &str,
) -> Result<(String, String, String)> {
    let idx = ik.index(CARD, card_number);
    let row = format!("{insurer}/{idx}");
    Ok((
        seal_nonempty(
            dk,
            &field_context("insured", "card_symbol", &row),
            card_symbol,
        )?,
        seal_nonempty(
            dk,
            &field_context("insured", "card_number", &row),
            card_number,
        )?,
        idx,
    ))
}

/// Seals the valid-from/to dates of an insured-status row (empty stays empty: open).
fn seal_insured_dates(
    dk: &DataKey,
    insurer: &str,
    card_idx: &str,
    valid_from: &str,
    valid_to: &str,
) -> Result<(String, String)> {
    let row = format!("{insurer}/{card_idx}");
    Ok((
        seal_nonempty(
            dk,
            &field_context("insured", "valid_from", &row),
            valid_from,
        )?,
        seal_nonempty(dk, &field_context("insured", "valid_to", &row), valid_to)?,
    ))
}

/// Inserts a sealed ledger row (a row already present for the same number and card is
/// kept).
pub(crate) async fn insert_sealed_voucher(
    tx: &mut crate::Tx,
    insurer: &str,
    kind: i64,
    v: &SealedVoucher,
    row_json: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO vouchers (insurer, kind, number, card_symbol, card_number, row_json, \
         number_idx, card_idx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(insurer)
    .bind(kind)
    .bind(&v.number)
    .bind(&v.card_symbol)
    .bind(&v.card_number)
    .bind(row_json)
    .bind(&v.number_idx)
    .bind(&v.card_idx)
    .execute(tx.conn())
    .await?;
    Ok(())
}

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

    /// Replaces an insurer's voucher ledger. The vouchers daiko issued for the insurer
    /// are put back after the imported rows (an imported row of the same number and card
    /// wins).
    pub async fn replace_vouchers(
        &self,
        insurer: &str,
        rows: &[VoucherRow],
        by: &str,
    ) -> Result<()> {
        // Numbers and ledger rows (names, birth dates) are sealed before the transaction.
        let dk = self.field_key(&self.insurer_tenant(insurer).await?).await?;
        let ik = self.index_key(insurer).await?;
        let mut sealed = Vec::with_capacity(rows.len());
        for r in rows {
            let ctx = ledger_context(insurer, r.kind, &r.number, &r.card_number);
            sealed.push((
                r.kind,
                seal_voucher(
                    &dk,
                    &ik,
                    insurer,
                    r.kind,
                    &r.number,
                    &r.card_symbol,
                    &r.card_number,
                )?,
                seal_with(&dk, &ctx, r.row_json.as_bytes())?,
            ));
        }
        let issued = self.issued_ledger_rows(insurer).await?;
        let mut issued_sealed = Vec::with_capacity(issued.len());
        for (kind, number, symbol, card, ledger_json) in &issued {
            issued_sealed.push((
                *kind,
                seal_voucher(&dk, &ik, insurer, *kind, number, symbol, card)?,
                ledger_json,
            ));
        }
        // The serial after the highest number per prefix, so issuing never opens the ledger.
        let floors = crate::invite::serial_floors(
            rows.iter()
                .map(|r| (r.kind, r.number.as_str()))
                .chain(issued.iter().map(|(k, n, ..)| (*k, n.as_str()))),
        );
        let mut tx = self.begin().await?;
        // Vouchers issued meanwhile would be lost from the ledger: refuse, the caller retries.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invite_vouchers WHERE insurer = $1")
            .bind(insurer)
            .fetch_one(tx.conn())
            .await?;
        if n != issued.len() as i64 {
            return Err(StoreError::Duplicate {
                what: "voucher ledger import during an issuance",
                key: insurer.to_string(),
            });
        }
        sqlx::query("DELETE FROM vouchers WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?;
        for chunk in sealed.chunks(400) {
            let mut sql = String::from(
                "INSERT INTO vouchers (insurer, kind, number, card_symbol, card_number, row_json, \
                 number_idx, card_idx) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 8;
                if i > 0 {
                    sql.push_str(", ");
                }
                let p: Vec<String> = (1..=8).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!("({})", p.join(", ")));
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            let mut q = sqlx::query(crate::sql(sql.clone()));
            for (kind, v, row_json) in chunk {
                q = q
                    .bind(insurer)
                    .bind(kind)
                    .bind(&v.number)
                    .bind(&v.card_symbol)
                    .bind(&v.card_number)
                    .bind(row_json)
                    .bind(&v.number_idx)
                    .bind(&v.card_idx);
            }
            q.execute(tx.conn()).await?;
        }
        for (kind, v, ledger_json) in &issued_sealed {
            insert_sealed_voucher(&mut tx, insurer, *kind, v, ledger_json).await?;
        }
        crate::invite::write_serial_floors(&mut tx, insurer, &floors).await?;
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
        let dk = self.field_key(&self.insurer_tenant(insurer).await?).await?;
        let ik = self.index_key(insurer).await?;
        let mut sealed = Vec::with_capacity(rows.len());
        for r in rows {
            let (symbol, card, idx) =
                seal_insured(&dk, &ik, insurer, &r.card_symbol, &r.card_number)?;
            let (from, to) = seal_insured_dates(&dk, insurer, &idx, &r.valid_from, &r.valid_to)?;
            sealed.push((symbol, card, idx, from, to));
        }
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM insured WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?;
        for sealed in sealed.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO insured (insurer, card_symbol, card_number, valid_from, valid_to, \
                 card_idx) VALUES ",
            );
            for i in 0..sealed.len() {
                let b = i * 6;
                if i > 0 {
                    sql.push_str(", ");
                }
                let p: Vec<String> = (1..=6).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!("({})", p.join(", ")));
            }
            let mut q = sqlx::query(crate::sql(sql.clone()));
            for (symbol, card, idx, from, to) in sealed {
                q = q
                    .bind(insurer)
                    .bind(symbol)
                    .bind(card)
                    .bind(from)
                    .bind(to)
                    .bind(idx);
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

    /// Ledger rows (JSON) of a voucher number (found by its blind index).
    pub async fn voucher_rows(
        &self,
        insurer: &str,
        kind: i64,
        number: &str,
    ) -> Result<Vec<String>> {
        let ik = self.index_key(insurer).await?;
        let number_idx = ik.index(VOUCHER, number);
        if number_idx.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT card_number, card_idx, row_json FROM vouchers WHERE insurer = $1 \
             AND kind = $2 AND number_idx = $3",
        )
        .bind(insurer)
        .bind(kind)
        .bind(&number_idx)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let card_idx: String = r.try_get("card_idx")?;
            let card = self
                .open_voucher_column(
                    insurer,
                    kind,
                    &number_idx,
                    &card_idx,
                    "card_number",
                    r.try_get("card_number")?,
                )
                .await?;
            let stored: String = r.try_get("row_json")?;
            out.push(
                self.open_context(
                    &format!("voucher ledger row {insurer}/{kind}/{number_idx}"),
                    &ledger_context(insurer, kind, number, &card),
                    &stored,
                )
                .await?,
            );
        }
        Ok(out)
    }

    /// Opens a sealed `vouchers` column (empty stays empty).
    pub(crate) async fn open_voucher_column(
        &self,
        insurer: &str,
        kind: i64,
        number_idx: &str,
        card_idx: &str,
        column: &str,
        stored: String,
    ) -> Result<String> {
        if stored.is_empty() {
            return Ok(stored);
        }
        self.open_field(
            "vouchers",
            column,
            &voucher_row(insurer, kind, number_idx, card_idx),
            &stored,
        )
        .await
    }

    /// The clear (kind, number) of an insurer's whole ledger: opened once per ledger stored
    /// before the serial floors (migration 0009), [`Store::fill_serial_floors`].
    pub(crate) async fn ledger_numbers(&self, insurer: &str) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT kind, number, number_idx, card_idx FROM vouchers WHERE insurer = $1",
        )
        .bind(insurer)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: i64 = r.try_get("kind")?;
            let number_idx: String = r.try_get("number_idx")?;
            let card_idx: String = r.try_get("card_idx")?;
            let number = self
                .open_voucher_column(
                    insurer,
                    kind,
                    &number_idx,
                    &card_idx,
                    "number",
                    r.try_get("number")?,
                )
                .await?;
            out.push((kind, number));
        }
        Ok(out)
    }

    /// Seals the numbers of voucher ledger rows and the card and dates of insured-status
    /// rows stored in the clear by a version before (run at open, after
    /// [`Store::encrypt_clear_voucher_ledger`]), with their indexes. Answers how many rows
    /// were rewritten.
    pub(crate) async fn encrypt_clear_reference(&self) -> Result<u64> {
        let vouchers = self
            .seal_clear_rows(
                "voucher ledger rows",
                "SELECT insurer, kind, number, card_symbol, card_number FROM vouchers \
                 WHERE (number <> '' AND number NOT LIKE 'enc1:%') \
                 OR (card_symbol <> '' AND card_symbol NOT LIKE 'enc1:%') \
                 OR (card_number <> '' AND card_number NOT LIKE 'enc1:%') \
                 ORDER BY insurer, kind, number, card_number LIMIT 1000",
                |r, dk, ik| {
                    let insurer: String = r.try_get("insurer")?;
                    let kind: i64 = r.try_get("kind")?;
                    let number: String = r.try_get("number")?;
                    let symbol: String = r.try_get("card_symbol")?;
                    let card: String = r.try_get("card_number")?;
                    if [&number, &symbol, &card].iter().any(|v| is_sealed(v)) {
                        return Err(StoreError::Corrupt(format!(
                            "voucher ledger row of {insurer} partly sealed"
                        )));
                    }
                    let v = seal_voucher(dk, ik, &insurer, kind, &number, &symbol, &card)?;
                    Ok((insurer, kind, [number, symbol, card], v))
                },
                |(insurer, kind, [number, symbol, card], v)| {
                    sqlx::query(
                        "UPDATE vouchers SET number = $1, card_symbol = $2, card_number = $3, \
                         number_idx = $4, card_idx = $5 WHERE insurer = $6 AND kind = $7 \
                         AND number = $8 AND card_symbol = $9 AND card_number = $10",
                    )
                    .bind(&v.number)
                    .bind(&v.card_symbol)
                    .bind(&v.card_number)
                    .bind(&v.number_idx)
                    .bind(&v.card_idx)
                    .bind(insurer)
                    .bind(kind)
                    .bind(number)
                    .bind(symbol)
                    .bind(card)
                },
            )
            .await?;
        // Identical rows get the same values (the table has no row identity).
        let insured = self
            .seal_clear_rows(
                "insured-status rows",
                "SELECT DISTINCT insurer, card_symbol, card_number, card_idx, valid_from, \
                 valid_to FROM insured \
                 WHERE (card_symbol <> '' AND card_symbol NOT LIKE 'enc1:%') \
                 OR (card_number <> '' AND card_number NOT LIKE 'enc1:%') \
                 OR (valid_from <> '' AND valid_from NOT LIKE 'enc1:%') \
                 OR (valid_to <> '' AND valid_to NOT LIKE 'enc1:%') \
                 ORDER BY insurer, card_symbol, card_number, card_idx, valid_from, valid_to \
                 LIMIT 1000",
                |r, dk, ik| {
                    let insurer: String = r.try_get("insurer")?;
                    let old: [String; 5] = [
                        r.try_get("card_symbol")?,
                        r.try_get("card_number")?,
                        r.try_get("card_idx")?,
                        r.try_get("valid_from")?,
                        r.try_get("valid_to")?,
                    ];
                    let [symbol, card, idx, from, to] = &old;
                    let clear = |v: &String| !v.is_empty() && !is_sealed(v);
                    let (s_symbol, s_card, s_idx) = if clear(symbol) || clear(card) {
                        if is_sealed(symbol) || is_sealed(card) || !idx.is_empty() {
                            return Err(StoreError::Corrupt(format!(
                                "insured-status row of {insurer} partly sealed"
                            )));
                        }
                        seal_insured(dk, ik, &insurer, symbol, card)?
                    } else {
                        (symbol.clone(), card.clone(), idx.clone())
                    };
                    let row = format!("{insurer}/{s_idx}");
                    let date = |col: &str, v: &String| {
                        if clear(v) {
                            seal_with(dk, &field_context("insured", col, &row), v.as_bytes())
                        } else {
                            Ok(v.clone())
                        }
                    };
                    let new = [
                        s_symbol,
                        s_card,
                        s_idx.clone(),
                        date("valid_from", from)?,
                        date("valid_to", to)?,
                    ];
                    Ok((insurer, old, new))
                },
                |(insurer, old, new)| {
                    let mut q = sqlx::query(
                        "UPDATE insured SET card_symbol = $1, card_number = $2, card_idx = $3, \
                         valid_from = $4, valid_to = $5 WHERE insurer = $6 AND card_symbol = $7 \
                         AND card_number = $8 AND card_idx = $9 AND valid_from = $10 \
                         AND valid_to = $11",
                    );
                    for v in new {
                        q = q.bind(v);
                    }
                    q = q.bind(insurer);
                    for v in old {
                        q = q.bind(v);
                    }
                    q
                },
            )
            .await?;
        Ok(vouchers + insured)
    }

    /// Seals voucher ledger rows stored in the clear by a version before column encryption
    /// (run at open; S18). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_voucher_ledger(&self) -> Result<u64> {
        self.seal_clear_rows(
            "voucher ledger rows (JSON)",
            "SELECT insurer, kind, number, card_number, row_json FROM vouchers \
             WHERE row_json NOT LIKE 'enc1:%' ORDER BY insurer, kind, number, card_number \
             LIMIT 1000",
            |r, dk, _ik| {
                let insurer: String = r.try_get("insurer")?;
                let kind: i64 = r.try_get("kind")?;
                let number: String = r.try_get("number")?;
                let card: String = r.try_get("card_number")?;
                let clear: String = r.try_get("row_json")?;
                let ctx = ledger_context(&insurer, kind, &number, &card);
                let new = seal_with(dk, &ctx, clear.as_bytes())?;
                Ok((insurer, kind, [number, card, clear, new]))
            },
            |(insurer, kind, [number, card, clear, new])| {
                sqlx::query(
                    "UPDATE vouchers SET row_json = $1 WHERE insurer = $2 AND kind = $3 \
                     AND number = $4 AND card_number = $5 AND row_json = $6",
                )
                .bind(new)
                .bind(insurer)
                .bind(kind)
                .bind(number)
                .bind(card)
                .bind(clear)
            },
        )
        .await
    }

    /// Insured-status rows of a card number (found by its blind index).
    pub async fn insured_rows(&self, insurer: &str, card_number: &str) -> Result<Vec<InsuredRow>> {
        let ik = self.index_key(insurer).await?;
        let idx = ik.index(CARD, card_number);
        if idx.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT card_symbol, card_number, valid_from, valid_to FROM insured \
             WHERE insurer = $1 AND card_idx = $2",
        )
        .bind(insurer)
        .bind(&idx)
        .fetch_all(self.pool())
        .await?;
        let row = format!("{insurer}/{idx}");
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let open = |col: &'static str, stored: String| {
                let row = row.clone();
                async move {
                    if stored.is_empty() {
                        Ok(stored)
                    } else {
                        self.open_field("insured", col, &row, &stored).await
                    }
                }
            };
            out.push(InsuredRow {
                card_symbol: open("card_symbol", r.try_get("card_symbol")?).await?,
                card_number: open("card_number", r.try_get("card_number")?).await?,
                valid_from: open("valid_from", r.try_get("valid_from")?).await?,
                valid_to: open("valid_to", r.try_get("valid_to")?).await?,
            });
        }
        Ok(out)
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
