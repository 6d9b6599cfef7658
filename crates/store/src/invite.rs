//! Checkup invitations (健診案内) as rows: per-insurer settings, roster versions
//! (被保険者名簿, history kept) with their members, voucher serial counters, issued vouchers
//! (受診券・利用券), letter templates (versioned), letter runs, reminder rounds (受診勧奨) with
//! the message variant per member, and returned-mail marks (宛所不明).
//!
//! The meaning of the JSON columns (members, vouchers, templates, settings) belongs to
//! `daiko-invite` and `daiko_pipeline::invite`; here they are opaque text plus the columns
//! that lookups use. `insurer` is always the 8-digit 保険者番号, as in the `vouchers` ledger.
//!
//! **Issued vouchers and the checker's ledger.** Stage D reads the `vouchers` table (see
//! [`crate::reference`]). Issuing writes each voucher twice in one transaction: into
//! `invite_vouchers` (the agency's issuance record, one voucher of a kind per member and
//! fiscal year) and into `vouchers` (the ledger row), and marks the insurer's `vouchers` kind
//! as loaded. An insurer's own `vouchers.csv` import replaces the `vouchers` rows of that
//! insurer and puts the issued vouchers back in the same transaction
//! ([`Store::replace_vouchers`]), so the checker always sees the union of the insurer's
//! imported ledger and the vouchers issued here. A row of the import with the same key as
//! an issued voucher wins (the insurer's own ledger is authoritative for its rows).
//!
//! **At rest (S18).** Personal columns are sealed ([`crate::colcrypt`]), found by blind
//! indexes. Left in the clear because they say nothing about a person: insurer numbers,
//! fiscal years, kinds, rounds and variants, roster ids, sequence numbers and sizes,
//! timestamps and logins of the staff who acted, the serial counters (`invite_serials`)
//! and the serial floors of imported ledgers (`voucher_serial_floors`: the next serial per
//! prefix; issued numbers are serials of these counters anyway).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::colcrypt::{field_context, is_sealed, ledger_context, seal_with};
use crate::keyring::DataKey;
use crate::{Result, Store, StoreError, Tx, new_id, now};

/// A member's card key (被保険者証等記号・番号・枝番).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
pub struct CardRow {
    pub symbol: String,
    pub number: String,
    pub branch: String,
}

/// One roster import (a version of the insurer's roster).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RosterInfo {
    pub id: String,
    pub insurer: String,
    /// 1, 2, … per insurer; the highest is in force.
    pub version: i64,
    /// SHA-256 (hex) of the imported file.
    pub sha256: String,
    /// `utf8`, `utf8_bom` or `shift_jis`.
    pub encoding: String,
    pub members: i64,
    pub file_name: String,
    pub imported_by: String,
    pub imported_at: String,
}

/// One member of a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub card: CardRow,
    /// `daiko_invite::Member` as JSON.
    pub member_json: String,
}

/// A roster to store.
#[derive(Debug, Clone)]
pub struct NewRoster<'a> {
    pub insurer: &'a str,
    pub sha256: &'a str,
    pub encoding: &'a str,
    pub file_name: &'a str,
    pub imported_by: &'a str,
    pub members: &'a [MemberRow],
}

/// One issued voucher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedRow {
    pub fiscal_year: i64,
    /// 1 受診券, 2 利用券.
    pub kind: i64,
    /// 整理番号 (11 digits).
    pub number: String,
    pub card: CardRow,
    /// The roster version the member came from.
    pub roster_id: String,
    /// `daiko_invite::IssuedVoucher` as JSON.
    pub voucher_json: String,
    /// The checker's ledger row (`row_json` of `vouchers`).
    pub ledger_json: String,
    pub issued_at: String,
    pub issued_by: String,
}

/// A stored letter template version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateRow {
    pub version: i64,
    /// `daiko_invite::LetterTemplate` as JSON.
    pub template_json: String,
    pub created_at: String,
    pub created_by: String,
}

/// One letter run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LetterRun {
    pub id: String,
    pub insurer: String,
    pub fiscal_year: i64,
    pub roster_id: String,
    /// 0 = the built-in template.
    pub template_version: i64,
    pub letters: i64,
    pub files: i64,
    pub unmailable: i64,
    pub barcoded: i64,
    pub run_at: String,
    pub run_by: String,
}

/// A reminder round (受診勧奨) and the variant each member got.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReminderRoundRow {
    pub insurer: String,
    pub fiscal_year: i64,
    pub round: i64,
    /// YYYY-MM-DD.
    pub sent_on: String,
    /// Message variant names, JSON array.
    pub variants_json: String,
    pub created_at: String,
    pub created_by: String,
    /// (member, variant index).
    pub items: Vec<(CardRow, i64)>,
}

/// A returned-mail mark (宛所不明) as stored, its note opened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReturnedMark {
    pub note: String,
    pub marked_at: String,
    pub marked_by: String,
}

/// One issuing run of (insurer, fiscal year, kind) to record.
#[derive(Debug, Clone, Copy)]
pub struct IssuedBatch<'a> {
    pub insurer: &'a str,
    pub fiscal_year: i64,
    /// 1 受診券, 2 利用券.
    pub kind: i64,
    /// The serial the run started at (from [`Store::next_voucher_serial`]).
    pub from_serial: u32,
    /// The counter after the run.
    pub next_serial: u32,
    pub rows: &'a [IssuedRow],
    pub by: &'a str,
}

/// A checkup record of a member this fiscal year (for responders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupSeen {
    pub card_symbol: String,
    pub card_number: String,
    pub voucher: String,
    /// YYYYMMDD.
    pub service_date: String,
}

/// An accepted checkup record of a member this fiscal year with where its CDA is kept
/// (for 利用券: the 保健指導レベル is read from the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupSource {
    pub card_symbol: String,
    pub card_number: String,
    pub voucher: String,
    /// YYYYMMDD.
    pub service_date: String,
    /// `DATA/…` path below the archive's top folder.
    pub data_file: String,
    /// The received archive (submission) the record came in.
    pub archive_name: String,
    pub blob_key: String,
}

/// The table of roster members and its sealed columns, in [`member_fields`] order.
const MEMBERS: &str = "invite_members";
const MEMBER_COLS: [&str; 4] = ["card_symbol", "card_number", "card_branch", "member_json"];

fn member_fields(m: &MemberRow) -> [(&'static str, &str); 4] {
    [
        (MEMBER_COLS[0], m.card.symbol.as_str()),
        (MEMBER_COLS[1], m.card.number.as_str()),
        (MEMBER_COLS[2], m.card.branch.as_str()),
        (MEMBER_COLS[3], m.member_json.as_str()),
    ]
}

/// The table of issued vouchers and the identity of one of its rows (its primary key).
const ISSUED: &str = "invite_vouchers";

/// The table of returned-mail marks.
const RETURNED: &str = "invite_returned_mail";

/// The row identity of an issued voucher's sealed number (by its blind index).
fn issued_number_row(insurer: &str, kind: i64, number_idx: &str) -> String {
    format!("{insurer}/{kind}/{number_idx}")
}

fn issued_row_id(insurer: &str, kind: i64, number: &str) -> String {
    format!("{insurer}/{kind}/{number}")
}

/// Index purpose of a member's whole card key (symbol, number, branch).
const CARD_KEY: &str = "cardkey";

/// The blind index of a card key (unit separators between the parts).
fn card_key_idx(ik: &crate::colcrypt::IndexKey, card: &CardRow) -> String {
    ik.index(
        CARD_KEY,
        &format!("{}\u{1f}{}\u{1f}{}", card.symbol, card.number, card.branch),
    )
}

/// A card key as stored in `table` (S18): symbol, number and branch sealed with the
/// context `<table>.<column>/<scope>/<card key index>`, and the index.
fn seal_card(
    dk: &DataKey,
    ik: &crate::colcrypt::IndexKey,
    table: &str,
    scope: &str,
    card: &CardRow,
) -> Result<[String; 4]> {
    let idx = card_key_idx(ik, card);
    let row = format!("{scope}/{idx}");
    let s = |col: &str, v: &str| seal_with(dk, &field_context(table, col, &row), v.as_bytes());
    Ok([
        s("card_symbol", &card.symbol)?,
        s("card_number", &card.number)?,
        s("card_branch", &card.branch)?,
        idx,
    ])
}

impl Store {
    /// Opens a card key sealed by [`seal_card`] from a row with `card_symbol`,
    /// `card_number`, `card_branch` and `card_key_idx`.
    async fn open_card(&self, table: &str, scope: &str, r: &AnyRow) -> Result<CardRow> {
        let idx: String = r.try_get("card_key_idx")?;
        let row = format!("{scope}/{idx}");
        let mut c = card_from(r)?;
        c.symbol = self
            .open_field(table, "card_symbol", &row, &c.symbol)
            .await?;
        c.number = self
            .open_field(table, "card_number", &row, &c.number)
            .await?;
        c.branch = self
            .open_field(table, "card_branch", &row, &c.branch)
            .await?;
        Ok(c)
    }

    /// Seals the card keys of issued vouchers, reminder items and returned-mail marks
    /// stored in the clear by a version before (run at open, after
    /// [`Store::encrypt_clear_issued_vouchers`]). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_card_keys(&self) -> Result<u64> {
        let mut total = 0u64;
        // (table, the columns of the scope, the columns identifying a row besides the card)
        let tables: [(&str, &[&str]); 3] = [
            (ISSUED, &["insurer", "fiscal_year", "kind"]),
            (
                "invite_reminder_items",
                &["insurer", "fiscal_year", "round"],
            ),
            (RETURNED, &["insurer"]),
        ];
        for (table, scope_cols) in tables {
            let mut where_scope = String::new();
            for (i, c) in scope_cols.iter().enumerate() {
                where_scope.push_str(&format!(" AND {c} = ${}", i + 8));
            }
            let update = format!(
                "UPDATE {table} SET card_symbol = $1, card_number = $2, card_branch = $3, \
                 card_key_idx = $4 WHERE card_symbol = $5 AND card_number = $6 \
                 AND card_branch = $7{where_scope}"
            );
            total += self
                .seal_clear_rows(
                    &format!("card keys of {table}"),
                    &format!(
                        "SELECT {}, card_symbol, card_number, card_branch FROM {table} \
                         WHERE card_key_idx = '' LIMIT 1000",
                        scope_cols.join(", ")
                    ),
                    |r, dk, ik| {
                        let insurer: String = r.try_get("insurer")?;
                        let mut scope = vec![insurer];
                        for c in &scope_cols[1..] {
                            scope.push(r.try_get::<i64, _>(*c)?.to_string());
                        }
                        let card = card_from(r)?;
                        if is_sealed(&card.number) {
                            return Err(StoreError::Corrupt(format!(
                                "{table}: a sealed card key without its index"
                            )));
                        }
                        let sealed = seal_card(dk, ik, table, &scope.join("/"), &card)?;
                        Ok((scope, card, sealed))
                    },
                    |(scope, card, sealed)| {
                        let mut q = sqlx::query(crate::sql(update.clone()));
                        for v in sealed {
                            q = q.bind(v);
                        }
                        q = q.bind(&card.symbol).bind(&card.number).bind(&card.branch);
                        q = q.bind(&scope[0]);
                        for v in &scope[1..] {
                            q = q.bind(v.parse::<i64>().unwrap_or_default());
                        }
                        q
                    },
                )
                .await?;
        }
        Ok(total)
    }

    /// Seals the free-text notes of returned-mail marks stored in the clear by a version
    /// before (run at open, after [`Store::encrypt_clear_card_keys`]: the context names the
    /// card key's index). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_returned_notes(&self) -> Result<u64> {
        self.seal_clear_rows(
            "returned-mail notes",
            "SELECT insurer, card_key_idx, note FROM invite_returned_mail \
             WHERE note <> '' AND note NOT LIKE 'enc1:%' AND card_key_idx <> '' \
             ORDER BY insurer, card_key_idx LIMIT 1000",
            |r, dk, _ik| {
                let insurer: String = r.try_get("insurer")?;
                let idx: String = r.try_get("card_key_idx")?;
                let note: String = r.try_get("note")?;
                let sealed = seal_note(dk, &insurer, &idx, &note)?;
                Ok([insurer, idx, note, sealed])
            },
            |[insurer, idx, note, sealed]| {
                sqlx::query(
                    "UPDATE invite_returned_mail SET note = $1 WHERE insurer = $2 \
                     AND card_key_idx = $3 AND note = $4",
                )
                .bind(sealed)
                .bind(insurer)
                .bind(idx)
                .bind(note)
            },
        )
        .await
    }
}

/// Seals the note of a returned-mail mark, context
/// `invite_returned_mail.note/<insurer>/<card key idx>` (empty stays empty).
fn seal_note(dk: &DataKey, insurer: &str, card_key_idx: &str, note: &str) -> Result<String> {
    if note.is_empty() {
        return Ok(String::new());
    }
    seal_with(
        dk,
        &field_context(RETURNED, "note", &format!("{insurer}/{card_key_idx}")),
        note.as_bytes(),
    )
}

fn card_from(r: &AnyRow) -> Result<CardRow> {
    Ok(CardRow {
        symbol: r.try_get("card_symbol")?,
        number: r.try_get("card_number")?,
        branch: r.try_get("card_branch")?,
    })
}

fn roster_from(r: &AnyRow) -> Result<RosterInfo> {
    Ok(RosterInfo {
        id: r.try_get("id")?,
        insurer: r.try_get("insurer")?,
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        encoding: r.try_get("encoding")?,
        members: r.try_get("members")?,
        file_name: r.try_get("file_name")?,
        imported_by: r.try_get("imported_by")?,
        imported_at: r.try_get("imported_at")?,
    })
}

const ROSTER_COLS: &str =
    "id, insurer, version, sha256, encoding, members, file_name, imported_by, imported_at";
const ISSUED_COLS: &str = "fiscal_year, kind, number, card_symbol, card_number, card_branch, \
     roster_id, voucher_json, ledger_json, issued_at, issued_by";

fn issued_from(r: &AnyRow) -> Result<IssuedRow> {
    Ok(IssuedRow {
        fiscal_year: r.try_get("fiscal_year")?,
        kind: r.try_get("kind")?,
        number: r.try_get("number")?,
        card: card_from(r)?,
        roster_id: r.try_get("roster_id")?,
        voucher_json: r.try_get("voucher_json")?,
        ledger_json: r.try_get("ledger_json")?,
        issued_at: r.try_get("issued_at")?,
        issued_by: r.try_get("issued_by")?,
    })
}

fn letter_run_from(r: &AnyRow) -> Result<LetterRun> {
    Ok(LetterRun {
        id: r.try_get("id")?,
        insurer: r.try_get("insurer")?,
        fiscal_year: r.try_get("fiscal_year")?,
        roster_id: r.try_get("roster_id")?,
        template_version: r.try_get("template_version")?,
        letters: r.try_get("letters")?,
        files: r.try_get("files")?,
        unmailable: r.try_get("unmailable")?,
        barcoded: r.try_get("barcoded")?,
        run_at: r.try_get("run_at")?,
        run_by: r.try_get("run_by")?,
    })
}

impl Store {
    // ---- settings ----

    /// The insurer's invitation settings (JSON), `None` when never set.
    pub async fn invite_settings(&self, insurer: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT settings_json FROM invite_settings WHERE insurer = $1")
                .bind(insurer)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Stores the insurer's invitation settings (JSON), replacing earlier ones.
    pub async fn set_invite_settings(&self, insurer: &str, json: &str, by: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM invite_settings WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO invite_settings (insurer, settings_json, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(insurer)
        .bind(json)
        .bind(now())
        .bind(by)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    // ---- rosters ----

    /// Stores a roster as the insurer's next version (all members or nothing).
    /// Every member field is sealed under the insurer's data key (S18, [`crate::colcrypt`]).
    pub async fn add_roster(&self, r: &NewRoster<'_>) -> Result<RosterInfo> {
        let id = new_id();
        // Sealed before the transaction: the tenant's first data key may need an insert.
        let dk = self
            .field_key(&self.insurer_tenant(r.insurer).await?)
            .await?;
        let mut sealed = Vec::with_capacity(r.members.len());
        for (seq, m) in r.members.iter().enumerate() {
            let row = format!("{id}/{seq}");
            let mut cols = [String::new(), String::new(), String::new(), String::new()];
            for (out, (col, value)) in cols.iter_mut().zip(member_fields(m)) {
                *out = seal_with(&dk, &field_context(MEMBERS, col, &row), value.as_bytes())?;
            }
            sealed.push(cols);
        }
        let mut tx = self.begin().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM invite_rosters WHERE insurer = $1")
                .bind(r.insurer)
                .fetch_one(tx.conn())
                .await?;
        let info = RosterInfo {
            id,
            insurer: r.insurer.to_string(),
            version: last.unwrap_or(0) + 1,
            sha256: r.sha256.to_string(),
            encoding: r.encoding.to_string(),
            members: r.members.len() as i64,
            file_name: r.file_name.to_string(),
            imported_by: r.imported_by.to_string(),
            imported_at: now(),
        };
        sqlx::query(crate::sql(format!(
            "INSERT INTO invite_rosters ({ROSTER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(&info.id)
        .bind(&info.insurer)
        .bind(info.version)
        .bind(&info.sha256)
        .bind(&info.encoding)
        .bind(info.members)
        .bind(&info.file_name)
        .bind(&info.imported_by)
        .bind(&info.imported_at)
        .execute(tx.conn())
        .await?;
        let mut seq = 0i64;
        for chunk in sealed.chunks(400) {
            let mut sql = String::from(
                "INSERT INTO invite_members (roster_id, seq, card_symbol, card_number, card_branch, member_json) VALUES ",
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
            let mut q = sqlx::query(crate::sql(sql));
            for [symbol, number, branch, json] in chunk {
                q = q
                    .bind(&info.id)
                    .bind(seq)
                    .bind(symbol)
                    .bind(number)
                    .bind(branch)
                    .bind(json);
                seq += 1;
            }
            q.execute(tx.conn()).await?;
        }
        tx.commit().await?;
        Ok(info)
    }

    /// The insurer's roster versions, newest first.
    pub async fn rosters(&self, insurer: &str) -> Result<Vec<RosterInfo>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {ROSTER_COLS} FROM invite_rosters WHERE insurer = $1 ORDER BY version DESC"
        )))
        .bind(insurer)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(roster_from).collect()
    }

    /// The roster in force (the newest version), if any.
    pub async fn current_roster(&self, insurer: &str) -> Result<Option<RosterInfo>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {ROSTER_COLS} FROM invite_rosters WHERE insurer = $1 ORDER BY version DESC LIMIT 1"
        )))
        .bind(insurer)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(roster_from).transpose()
    }

    /// The members of a roster version, in file order (decrypted).
    pub async fn roster_members(&self, roster_id: &str) -> Result<Vec<MemberRow>> {
        let rows = sqlx::query(
            "SELECT seq, card_symbol, card_number, card_branch, member_json FROM invite_members \
             WHERE roster_id = $1 ORDER BY seq",
        )
        .bind(roster_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            let row = format!("{roster_id}/{seq}");
            let mut open = Vec::with_capacity(4);
            for col in MEMBER_COLS {
                let stored: String = r.try_get(col)?;
                open.push(self.open_field(MEMBERS, col, &row, &stored).await?);
            }
            let [symbol, number, branch, member_json]: [String; 4] = open
                .try_into()
                .map_err(|_| StoreError::Corrupt("roster member columns".into()))?;
            out.push(MemberRow {
                card: CardRow {
                    symbol,
                    number,
                    branch,
                },
                member_json,
            });
        }
        Ok(out)
    }

    /// Seals roster member fields stored in the clear by a version before column
    /// encryption (run at open; S18). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_roster_members(&self) -> Result<u64> {
        self.seal_clear_rows(
            "roster members",
            "SELECT m.roster_id, m.seq, m.card_symbol, m.card_number, m.card_branch, \
             m.member_json, r.insurer FROM invite_members m \
             JOIN invite_rosters r ON r.id = m.roster_id \
             WHERE m.member_json NOT LIKE 'enc1:%' OR m.card_symbol NOT LIKE 'enc1:%' \
             OR m.card_number NOT LIKE 'enc1:%' OR m.card_branch NOT LIKE 'enc1:%' \
             ORDER BY m.roster_id, m.seq LIMIT 1000",
            |r, dk, _ik| {
                let roster: String = r.try_get("roster_id")?;
                let seq: i64 = r.try_get("seq")?;
                let row = format!("{roster}/{seq}");
                let mut cols = Vec::with_capacity(4);
                for col in MEMBER_COLS {
                    let stored: String = r.try_get(col)?;
                    let new = if is_sealed(&stored) {
                        stored.clone()
                    } else {
                        seal_with(dk, &field_context(MEMBERS, col, &row), stored.as_bytes())?
                    };
                    cols.push((stored, new));
                }
                Ok((roster, seq, cols))
            },
            |(roster, seq, cols)| {
                let mut q = sqlx::query(
                    "UPDATE invite_members SET card_symbol = $1, card_number = $2, \
                     card_branch = $3, member_json = $4 WHERE roster_id = $5 AND seq = $6 \
                     AND card_symbol = $7 AND card_number = $8 AND card_branch = $9 \
                     AND member_json = $10",
                );
                for (_, new) in cols {
                    q = q.bind(new);
                }
                q = q.bind(roster).bind(seq);
                for (old, _) in cols {
                    q = q.bind(old);
                }
                q
            },
        )
        .await
    }

    // ---- vouchers ----

    /// The next serial to use for (insurer, fiscal year, kind): the stored counter
    /// (`invite_serials`), but never at or below a serial already present in the checker's
    /// ledger with this year's and kind's prefix (an insurer's imported vouchers.csv may use
    /// the same numbering), so issued numbers never collide with imported ones. The ledger's
    /// numbers are sealed (S18): the import records the serial after its highest number per
    /// prefix (`voucher_serial_floors`), so this opens no number; a ledger stored before
    /// that table is measured once ([`Store::fill_serial_floors`]).
    pub async fn next_voucher_serial(
        &self,
        insurer: &str,
        fiscal_year: i64,
        kind: i64,
    ) -> Result<u32> {
        let pending: Option<String> = sqlx::query_scalar(
            "SELECT insurer FROM voucher_serial_floors_pending WHERE insurer = $1",
        )
        .bind(insurer)
        .fetch_optional(self.pool())
        .await?;
        if pending.is_some() {
            self.fill_serial_floors(insurer).await?;
        }
        let counter: Option<i64> = sqlx::query_scalar(
            "SELECT next_serial FROM invite_serials WHERE insurer = $1 AND fiscal_year = $2 AND kind = $3",
        )
        .bind(insurer)
        .bind(fiscal_year)
        .bind(kind)
        .fetch_optional(self.pool())
        .await?;
        let prefix = format!("{:02}{}", fiscal_year.rem_euclid(100), kind);
        let after_ledger: Option<i64> = sqlx::query_scalar(
            "SELECT next_serial FROM voucher_serial_floors WHERE insurer = $1 AND kind = $2 \
             AND prefix = $3",
        )
        .bind(insurer)
        .bind(kind)
        .bind(&prefix)
        .fetch_optional(self.pool())
        .await?;
        let next = counter.unwrap_or(1).max(after_ledger.unwrap_or(1)).max(1);
        u32::try_from(next).map_err(|_| StoreError::Corrupt(format!("voucher serial {next}")))
    }

    /// Measures the serial floors of an insurer's ledger stored before they were recorded
    /// at import (migration 0009): opens its numbers once. A ledger imported meanwhile
    /// wrote its own floors and is left alone.
    pub(crate) async fn fill_serial_floors(&self, insurer: &str) -> Result<()> {
        let numbers = self.ledger_numbers(insurer).await?;
        let floors = serial_floors(numbers.iter().map(|(k, n)| (*k, n.as_str())));
        let mut tx = self.begin().await?;
        let mine = sqlx::query("DELETE FROM voucher_serial_floors_pending WHERE insurer = $1")
            .bind(insurer)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if mine > 0 {
            write_serial_floors(&mut tx, insurer, &floors).await?;
        }
        tx.commit().await
    }

    /// [`Store::fill_serial_floors`] for every ledger still pending (run at open, after the
    /// ledger's numbers are sealed).
    pub(crate) async fn fill_pending_serial_floors(&self) -> Result<()> {
        let pending: Vec<String> = sqlx::query_scalar(
            "SELECT insurer FROM voucher_serial_floors_pending ORDER BY insurer",
        )
        .fetch_all(self.pool())
        .await?;
        for insurer in &pending {
            self.fill_serial_floors(insurer).await?;
        }
        Ok(())
    }

    /// Records issued vouchers of one (insurer, fiscal year, kind) in one transaction: the
    /// issuance rows, the ledger rows the checker reads, the new serial counter and the
    /// ledger's load mark. `from_serial` is the serial the run started at (from
    /// [`Store::next_voucher_serial`]); when another run moved the counter meanwhile,
    /// nothing is written ([`StoreError::Duplicate`]). A member already holding a voucher
    /// of the kind for the year also refuses the whole run (unique violation).
    pub async fn record_issued_vouchers(&self, batch: &IssuedBatch<'_>) -> Result<()> {
        let IssuedBatch {
            insurer,
            fiscal_year,
            kind,
            from_serial,
            next_serial,
            rows,
            by,
        } = *batch;
        // The voucher JSON (name, kana, birth date) is sealed before the transaction (S18).
        let dk = self.field_key(&self.insurer_tenant(insurer).await?).await?;
        let ik = self.index_key(insurer).await?;
        let mut sealed = Vec::with_capacity(rows.len());
        for r in rows {
            let row = issued_row_id(insurer, r.kind, &r.number);
            let voucher = seal_with(
                &dk,
                &field_context(ISSUED, "voucher_json", &row),
                r.voucher_json.as_bytes(),
            )?;
            let ledger = seal_with(
                &dk,
                &ledger_context(insurer, r.kind, &r.number, &r.card.number),
                r.ledger_json.as_bytes(),
            )?;
            let numbers = crate::reference::seal_voucher(
                &dk,
                &ik,
                insurer,
                r.kind,
                &r.number,
                &r.card.symbol,
                &r.card.number,
            )?;
            let card = seal_card(
                &dk,
                &ik,
                ISSUED,
                &format!("{insurer}/{}/{}", r.fiscal_year, r.kind),
                &r.card,
            )?;
            sealed.push((voucher, ledger, numbers, card));
        }
        let mut tx = self.begin().await?;
        let counter: Option<i64> = sqlx::query_scalar(
            "SELECT next_serial FROM invite_serials WHERE insurer = $1 AND fiscal_year = $2 AND kind = $3",
        )
        .bind(insurer)
        .bind(fiscal_year)
        .bind(kind)
        .fetch_optional(tx.conn())
        .await?;
        let moved = || StoreError::Duplicate {
            what: "voucher serial",
            key: format!("{insurer}/{fiscal_year}/{kind}"),
        };
        match counter {
            Some(c) => {
                if c > i64::from(from_serial) {
                    return Err(moved());
                }
                sqlx::query(
                    "UPDATE invite_serials SET next_serial = $4 \
                     WHERE insurer = $1 AND fiscal_year = $2 AND kind = $3 AND next_serial = $5",
                )
                .bind(insurer)
                .bind(fiscal_year)
                .bind(kind)
                .bind(i64::from(next_serial))
                .bind(c)
                .execute(tx.conn())
                .await
                .map_err(StoreError::from)
                .and_then(|r| {
                    if r.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(moved())
                    }
                })?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO invite_serials (insurer, fiscal_year, kind, next_serial) VALUES ($1, $2, $3, $4)",
                )
                .bind(insurer)
                .bind(fiscal_year)
                .bind(kind)
                .bind(i64::from(next_serial))
                .execute(tx.conn())
                .await?;
            }
        }
        // No number twice in the ledger (S18: checked by the blind index, not by opening
        // numbers): a number already there (an imported row the serial floors missed)
        // refuses the whole run.
        let mut by_kind: std::collections::BTreeMap<i64, Vec<(&str, &str)>> = Default::default();
        for (r, (_, _, numbers, _)) in rows.iter().zip(&sealed) {
            by_kind
                .entry(r.kind)
                .or_default()
                .push((numbers.number_idx.as_str(), r.number.as_str()));
        }
        for (k, idxs) in &by_kind {
            for chunk in idxs.chunks(500) {
                let marks: Vec<String> = (3..chunk.len() + 3).map(|i| format!("${i}")).collect();
                let mut q = sqlx::query_scalar::<_, String>(crate::sql(format!(
                    "SELECT number_idx FROM vouchers WHERE insurer = $1 AND kind = $2 \
                     AND number_idx IN ({}) LIMIT 1",
                    marks.join(", ")
                )))
                .bind(insurer)
                .bind(k);
                for (idx, _) in chunk {
                    q = q.bind(*idx);
                }
                if let Some(taken) = q.fetch_optional(tx.conn()).await? {
                    let number = chunk
                        .iter()
                        .find(|(idx, _)| *idx == taken)
                        .map_or("", |(_, n)| *n);
                    return Err(StoreError::Duplicate {
                        what: "voucher number in the ledger",
                        key: format!("{insurer}/{k}/{number}"),
                    });
                }
            }
        }
        for (r, (voucher_json, ledger_json, numbers, card)) in rows.iter().zip(&sealed) {
            sqlx::query(crate::sql(format!(
                "INSERT INTO invite_vouchers (insurer, {ISSUED_COLS}, card_key_idx, number_idx) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )))
            .bind(insurer)
            .bind(r.fiscal_year)
            .bind(r.kind)
            .bind(seal_with(
                &dk,
                &field_context(
                    ISSUED,
                    "number",
                    &issued_number_row(insurer, r.kind, &numbers.number_idx),
                ),
                r.number.as_bytes(),
            )?)
            .bind(&card[0])
            .bind(&card[1])
            .bind(&card[2])
            .bind(&r.roster_id)
            .bind(voucher_json)
            .bind(ledger_json)
            .bind(&r.issued_at)
            .bind(&r.issued_by)
            .bind(&card[3])
            .bind(&numbers.number_idx)
            .execute(tx.conn())
            .await?;
            crate::reference::insert_sealed_voucher(&mut tx, insurer, r.kind, numbers, ledger_json)
                .await?;
        }
        mark_vouchers_loaded(&mut tx, insurer, by).await?;
        tx.commit().await
    }

    /// Issued vouchers of an insurer for a fiscal year (all kinds when `kind` is `None`),
    /// in number order.
    pub async fn issued_vouchers(
        &self,
        insurer: &str,
        fiscal_year: i64,
        kind: Option<i64>,
    ) -> Result<Vec<IssuedRow>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {ISSUED_COLS}, card_key_idx, number_idx FROM invite_vouchers \
             WHERE insurer = $1 AND fiscal_year = $2 AND ($3 = 0 OR kind = $3)"
        )))
        .bind(insurer)
        .bind(fiscal_year)
        .bind(kind.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut v = issued_from(r)?;
            v.number = self.open_issued_number(insurer, v.kind, r).await?;
            v.card = self
                .open_card(ISSUED, &format!("{insurer}/{fiscal_year}/{}", v.kind), r)
                .await?;
            let row = issued_row_id(insurer, v.kind, &v.number);
            v.voucher_json = self
                .open_field(ISSUED, "voucher_json", &row, &v.voucher_json)
                .await?;
            v.ledger_json = self
                .open_context(
                    &format!("{ISSUED}.ledger_json of {row}"),
                    &ledger_context(insurer, v.kind, &v.number, &v.card.number),
                    &v.ledger_json,
                )
                .await?;
            out.push(v);
        }
        out.sort_by(|a, b| (a.kind, &a.number).cmp(&(b.kind, &b.number)));
        Ok(out)
    }

    /// Opens the sealed number of an issued voucher (a row with `number` and `number_idx`).
    async fn open_issued_number(&self, insurer: &str, kind: i64, r: &AnyRow) -> Result<String> {
        let idx: String = r.try_get("number_idx")?;
        let stored: String = r.try_get("number")?;
        self.open_field(
            ISSUED,
            "number",
            &issued_number_row(insurer, kind, &idx),
            &stored,
        )
        .await
    }

    /// Seals the numbers of issued vouchers stored in the clear by a version before (run at
    /// open, after [`Store::encrypt_clear_issued_vouchers`], whose contexts use the clear
    /// number). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_issued_numbers(&self) -> Result<u64> {
        self.seal_clear_rows(
            "issued voucher numbers",
            "SELECT insurer, kind, number FROM invite_vouchers WHERE number_idx = '' \
             AND number <> '' LIMIT 1000",
            |r, dk, ik| {
                let insurer: String = r.try_get("insurer")?;
                let kind: i64 = r.try_get("kind")?;
                let number: String = r.try_get("number")?;
                if is_sealed(&number) {
                    return Err(StoreError::Corrupt(format!(
                        "an issued voucher of {insurer} sealed without its index"
                    )));
                }
                let idx = ik.index(crate::recordcrypt::VOUCHER, &number);
                let sealed = seal_with(
                    dk,
                    &field_context(ISSUED, "number", &issued_number_row(&insurer, kind, &idx)),
                    number.as_bytes(),
                )?;
                Ok((insurer, kind, [number, sealed, idx]))
            },
            |(insurer, kind, [number, sealed, idx])| {
                sqlx::query(
                    "UPDATE invite_vouchers SET number = $1, number_idx = $2 WHERE insurer = $3 \
                     AND kind = $4 AND number = $5",
                )
                .bind(sealed)
                .bind(idx)
                .bind(insurer)
                .bind(kind)
                .bind(number)
            },
        )
        .await
    }

    /// Seals issued vouchers' JSON stored in the clear by a version before column
    /// encryption (run at open; S18). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_issued_vouchers(&self) -> Result<u64> {
        self.seal_clear_rows(
            "issued vouchers",
            "SELECT insurer, kind, number, card_number, voucher_json, ledger_json \
             FROM invite_vouchers WHERE voucher_json NOT LIKE 'enc1:%' \
             OR ledger_json NOT LIKE 'enc1:%' ORDER BY insurer, kind, number LIMIT 1000",
            |r, dk, _ik| {
                let insurer: String = r.try_get("insurer")?;
                let kind: i64 = r.try_get("kind")?;
                let number: String = r.try_get("number")?;
                let card_number: String = r.try_get("card_number")?;
                let voucher: String = r.try_get("voucher_json")?;
                let ledger: String = r.try_get("ledger_json")?;
                let ctx = field_context(
                    ISSUED,
                    "voucher_json",
                    &issued_row_id(&insurer, kind, &number),
                );
                let new_voucher = if is_sealed(&voucher) {
                    voucher.clone()
                } else {
                    seal_with(dk, &ctx, voucher.as_bytes())?
                };
                let new_ledger = if is_sealed(&ledger) {
                    ledger.clone()
                } else {
                    let ctx = ledger_context(&insurer, kind, &number, &card_number);
                    seal_with(dk, &ctx, ledger.as_bytes())?
                };
                Ok((
                    insurer,
                    kind,
                    number,
                    [voucher, ledger],
                    [new_voucher, new_ledger],
                ))
            },
            |(insurer, kind, number, [voucher, ledger], [new_voucher, new_ledger])| {
                sqlx::query(
                    "UPDATE invite_vouchers SET voucher_json = $1, ledger_json = $2 \
                     WHERE insurer = $3 AND kind = $4 AND number = $5 AND voucher_json = $6 \
                     AND ledger_json = $7",
                )
                .bind(new_voucher)
                .bind(new_ledger)
                .bind(insurer)
                .bind(kind)
                .bind(number)
                .bind(voucher)
                .bind(ledger)
            },
        )
        .await
    }

    // ---- templates ----

    /// Stores a new template version; answers its version number.
    pub async fn add_invite_template(&self, insurer: &str, json: &str, by: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM invite_templates WHERE insurer = $1")
                .bind(insurer)
                .fetch_one(tx.conn())
                .await?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO invite_templates (insurer, version, template_json, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(insurer)
        .bind(version)
        .bind(json)
        .bind(now())
        .bind(by)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// The insurer's template versions, newest first.
    pub async fn invite_templates(&self, insurer: &str) -> Result<Vec<TemplateRow>> {
        let rows = sqlx::query(
            "SELECT version, template_json, created_at, created_by FROM invite_templates \
             WHERE insurer = $1 ORDER BY version DESC",
        )
        .bind(insurer)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TemplateRow {
                    version: r.try_get("version")?,
                    template_json: r.try_get("template_json")?,
                    created_at: r.try_get("created_at")?,
                    created_by: r.try_get("created_by")?,
                })
            })
            .collect()
    }

    // ---- letter runs ----

    /// Records a letter run (its id is filled in when empty); answers the id.
    pub async fn add_letter_run(&self, run: &LetterRun) -> Result<String> {
        let id = if run.id.is_empty() {
            new_id()
        } else {
            run.id.clone()
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO invite_letter_runs (id, insurer, fiscal_year, roster_id, template_version, \
             letters, files, unmailable, barcoded, run_at, run_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&run.insurer)
        .bind(run.fiscal_year)
        .bind(&run.roster_id)
        .bind(run.template_version)
        .bind(run.letters)
        .bind(run.files)
        .bind(run.unmailable)
        .bind(run.barcoded)
        .bind(&run.run_at)
        .bind(&run.run_by)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Letter runs of an insurer and fiscal year, newest first.
    pub async fn letter_runs(&self, insurer: &str, fiscal_year: i64) -> Result<Vec<LetterRun>> {
        let rows = sqlx::query(
            "SELECT id, insurer, fiscal_year, roster_id, template_version, letters, files, \
             unmailable, barcoded, run_at, run_by FROM invite_letter_runs \
             WHERE insurer = $1 AND fiscal_year = $2 ORDER BY run_at DESC",
        )
        .bind(insurer)
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(letter_run_from).collect()
    }

    // ---- reminders ----

    /// Stores a reminder round with its members; a round stored twice is
    /// [`StoreError::Duplicate`].
    pub async fn add_reminder_round(&self, r: &ReminderRoundRow) -> Result<()> {
        // Card keys are sealed before the transaction (S18).
        let dk = self
            .field_key(&self.insurer_tenant(&r.insurer).await?)
            .await?;
        let ik = self.index_key(&r.insurer).await?;
        let scope = format!("{}/{}/{}", r.insurer, r.fiscal_year, r.round);
        let mut sealed = Vec::with_capacity(r.items.len());
        for (card, variant) in &r.items {
            sealed.push((
                seal_card(&dk, &ik, "invite_reminder_items", &scope, card)?,
                *variant,
            ));
        }
        let mut tx = self.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT round FROM invite_reminder_rounds WHERE insurer = $1 AND fiscal_year = $2 AND round = $3",
        )
        .bind(&r.insurer)
        .bind(r.fiscal_year)
        .bind(r.round)
        .fetch_optional(tx.conn())
        .await?;
        if exists.is_some() {
            return Err(StoreError::Duplicate {
                what: "reminder round",
                key: format!("{}/{}/{}", r.insurer, r.fiscal_year, r.round),
            });
        }
        sqlx::query(
            "INSERT INTO invite_reminder_rounds (insurer, fiscal_year, round, sent_on, variants_json, \
             created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.insurer)
        .bind(r.fiscal_year)
        .bind(r.round)
        .bind(&r.sent_on)
        .bind(&r.variants_json)
        .bind(&r.created_at)
        .bind(&r.created_by)
        .execute(tx.conn())
        .await?;
        for chunk in sealed.chunks(400) {
            let mut sql = String::from(
                "INSERT INTO invite_reminder_items (insurer, fiscal_year, round, card_symbol, \
                 card_number, card_branch, variant, card_key_idx) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 8;
                if i > 0 {
                    sql.push_str(", ");
                }
                let p: Vec<String> = (1..=8).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!("({})", p.join(", ")));
            }
            let mut q = sqlx::query(crate::sql(sql));
            for (card, variant) in chunk {
                q = q
                    .bind(&r.insurer)
                    .bind(r.fiscal_year)
                    .bind(r.round)
                    .bind(&card[0])
                    .bind(&card[1])
                    .bind(&card[2])
                    .bind(*variant)
                    .bind(&card[3]);
            }
            q.execute(tx.conn()).await?;
        }
        tx.commit().await
    }

    /// The reminder rounds of an insurer and fiscal year with their members, in round order.
    pub async fn reminder_rounds(
        &self,
        insurer: &str,
        fiscal_year: i64,
    ) -> Result<Vec<ReminderRoundRow>> {
        let rounds = sqlx::query(
            "SELECT round, sent_on, variants_json, created_at, created_by FROM invite_reminder_rounds \
             WHERE insurer = $1 AND fiscal_year = $2 ORDER BY round",
        )
        .bind(insurer)
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rounds.len());
        for r in rounds {
            let round: i64 = r.try_get("round")?;
            let rows = sqlx::query(
                "SELECT card_symbol, card_number, card_branch, card_key_idx, variant \
                 FROM invite_reminder_items WHERE insurer = $1 AND fiscal_year = $2 AND round = $3",
            )
            .bind(insurer)
            .bind(fiscal_year)
            .bind(round)
            .fetch_all(self.pool())
            .await?;
            let scope = format!("{insurer}/{fiscal_year}/{round}");
            let mut items = Vec::with_capacity(rows.len());
            for i in &rows {
                items.push((
                    self.open_card("invite_reminder_items", &scope, i).await?,
                    i.try_get::<i64, _>("variant")?,
                ));
            }
            items.sort();
            out.push(ReminderRoundRow {
                insurer: insurer.to_string(),
                fiscal_year,
                round,
                sent_on: r.try_get("sent_on")?,
                variants_json: r.try_get("variants_json")?,
                created_at: r.try_get("created_at")?,
                created_by: r.try_get("created_by")?,
                items,
            });
        }
        Ok(out)
    }

    // ---- returned mail ----

    /// Marks a member's mail as returned (宛所不明); marking again keeps the first mark.
    pub async fn mark_returned_mail(
        &self,
        insurer: &str,
        card: &CardRow,
        note: &str,
        by: &str,
    ) -> Result<()> {
        let dk = self.field_key(&self.insurer_tenant(insurer).await?).await?;
        let ik = self.index_key(insurer).await?;
        let sealed = seal_card(&dk, &ik, RETURNED, insurer, card)?;
        let note = seal_note(&dk, insurer, &sealed[3], note)?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO invite_returned_mail (insurer, card_symbol, card_number, card_branch, note, \
             marked_at, marked_by, card_key_idx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING",
        )
        .bind(insurer)
        .bind(&sealed[0])
        .bind(&sealed[1])
        .bind(&sealed[2])
        .bind(&note)
        .bind(now())
        .bind(by)
        .bind(&sealed[3])
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// The lookup key of a member's card key (the blind index `card_key_idx` of issued
    /// vouchers, reminder items and returned-mail marks): audit rows about the member name
    /// it instead of the card key (S18).
    pub async fn card_key_index(&self, insurer: &str, card: &CardRow) -> Result<String> {
        Ok(card_key_idx(&self.index_key(insurer).await?, card))
    }

    /// A member's returned-mail mark with its note opened, if marked.
    pub async fn returned_mail_mark(
        &self,
        insurer: &str,
        card: &CardRow,
    ) -> Result<Option<ReturnedMark>> {
        let idx = self.card_key_index(insurer, card).await?;
        let row = sqlx::query(
            "SELECT note, marked_at, marked_by FROM invite_returned_mail \
             WHERE insurer = $1 AND card_key_idx = $2",
        )
        .bind(insurer)
        .bind(&idx)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let note: String = r.try_get("note")?;
        let note = if note.is_empty() {
            note
        } else {
            self.open_field(RETURNED, "note", &format!("{insurer}/{idx}"), &note)
                .await?
        };
        Ok(Some(ReturnedMark {
            note,
            marked_at: r.try_get("marked_at")?,
            marked_by: r.try_get("marked_by")?,
        }))
    }

    /// Seals the note of a returned-mail audit row (`invite.returned.*`, whose `records`
    /// name the card key's index): context `audit.detail/<insurer>/<card key idx>`, so it
    /// opens only under the insurer's keys and for that member. Empty stays empty.
    pub async fn seal_returned_audit_note(
        &self,
        insurer: &str,
        card_key_idx: &str,
        note: &str,
    ) -> Result<String> {
        if note.is_empty() {
            return Ok(String::new());
        }
        self.seal_field(
            &self.insurer_tenant(insurer).await?,
            "audit",
            "detail",
            &format!("{insurer}/{card_key_idx}"),
            note,
        )
        .await
    }

    /// Opens a note sealed by [`Store::seal_returned_audit_note`]; a clear one (written by
    /// a version before) is answered as it is.
    pub async fn open_returned_audit_note(
        &self,
        insurer: &str,
        card_key_idx: &str,
        stored: &str,
    ) -> Result<String> {
        if !is_sealed(stored) {
            return Ok(stored.to_string());
        }
        self.open_field(
            "audit",
            "detail",
            &format!("{insurer}/{card_key_idx}"),
            stored,
        )
        .await
    }

    /// Removes a returned-mail mark (the member's address was corrected); answers whether
    /// there was one.
    pub async fn unmark_returned_mail(&self, insurer: &str, card: &CardRow) -> Result<bool> {
        let idx = card_key_idx(&self.index_key(insurer).await?, card);
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "DELETE FROM invite_returned_mail WHERE insurer = $1 AND card_key_idx = $2",
        )
        .bind(insurer)
        .bind(&idx)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Members of the insurer whose mail came back.
    pub async fn returned_mail(&self, insurer: &str) -> Result<Vec<CardRow>> {
        let rows = sqlx::query(
            "SELECT card_symbol, card_number, card_branch, card_key_idx FROM invite_returned_mail \
             WHERE insurer = $1",
        )
        .bind(insurer)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_card(RETURNED, insurer, r).await?);
        }
        out.sort();
        Ok(out)
    }

    // ---- responders ----

    /// Checkup records (実施区分 1) of the insurer in a fiscal year that count as a
    /// checkup taken: every state except `rejected` and `returned` (those were refused and
    /// will come again).
    pub async fn checkups_of_year(
        &self,
        insurer: &str,
        fiscal_year: i64,
    ) -> Result<Vec<CheckupSeen>> {
        let rows = sqlx::query(
            "SELECT id, card_symbol, card_number, voucher, service_date FROM records \
             WHERE insurer = $1 AND fiscal_year = $2 AND service_event_type = 1 \
             AND state NOT IN ('rejected', 'returned') ORDER BY service_date",
        )
        .bind(insurer)
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let (card_symbol, card_number, voucher) = self
                .open_record_numbers(
                    &id,
                    r.try_get("card_symbol")?,
                    r.try_get("card_number")?,
                    r.try_get("voucher")?,
                )
                .await?;
            out.push(CheckupSeen {
                card_symbol,
                card_number,
                voucher,
                service_date: r.try_get("service_date")?,
            });
        }
        Ok(out)
    }

    /// Checkup records (実施区分 1) of the insurer in a fiscal year that the checker
    /// accepted and that were not withdrawn or sent back since (states `accepted`,
    /// `delivered`, `paid`), with the archive that holds each CDA; in service-date order.
    pub async fn checkup_sources_of_year(
        &self,
        insurer: &str,
        fiscal_year: i64,
    ) -> Result<Vec<CheckupSource>> {
        let rows = sqlx::query(
            "SELECT r.id, r.card_symbol, r.card_number, r.voucher, r.service_date, r.data_file, \
             s.archive_name, s.blob_key FROM records r JOIN submissions s ON s.id = r.submission_id \
             WHERE r.insurer = $1 AND r.fiscal_year = $2 AND r.service_event_type = 1 \
             AND r.outcome = 'accepted' AND r.state IN ('accepted', 'delivered', 'paid') \
             AND r.data_file <> '' ORDER BY r.service_date, r.submission_id, r.seq",
        )
        .bind(insurer)
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let (card_symbol, card_number, voucher) = self
                .open_record_numbers(
                    &id,
                    r.try_get("card_symbol")?,
                    r.try_get("card_number")?,
                    r.try_get("voucher")?,
                )
                .await?;
            out.push(CheckupSource {
                card_symbol,
                card_number,
                voucher,
                service_date: r.try_get("service_date")?,
                data_file: r.try_get("data_file")?,
                archive_name: r.try_get("archive_name")?,
                blob_key: r.try_get("blob_key")?,
            });
        }
        Ok(out)
    }
}

impl Store {
    /// The issued vouchers of an insurer as ledger rows: (kind, number, card symbol, card
    /// number, sealed ledger JSON), put back into the ledger by a vouchers.csv import.
    pub(crate) async fn issued_ledger_rows(
        &self,
        insurer: &str,
    ) -> Result<Vec<(i64, String, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT fiscal_year, kind, number, card_symbol, card_number, card_branch, \
             card_key_idx, number_idx, ledger_json FROM invite_vouchers WHERE insurer = $1",
        )
        .bind(insurer)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let fy: i64 = r.try_get("fiscal_year")?;
            let kind: i64 = r.try_get("kind")?;
            let card = self
                .open_card(ISSUED, &format!("{insurer}/{fy}/{kind}"), r)
                .await?;
            out.push((
                kind,
                self.open_issued_number(insurer, kind, r).await?,
                card.symbol,
                card.number,
                r.try_get("ledger_json")?,
            ));
        }
        Ok(out)
    }
}

/// The serial after the highest ledger number per (kind, prefix): the prefix is the first
/// three characters of an 11-character number (fiscal year's last two digits and the kind
/// digit). The highest number is compared as text, and one whose serial is not a number
/// gives 1 (as when the ledger was searched at each issuance).
pub(crate) fn serial_floors<'a>(
    numbers: impl IntoIterator<Item = (i64, &'a str)>,
) -> std::collections::BTreeMap<(i64, String), i64> {
    let mut max: std::collections::BTreeMap<(i64, String), &str> = Default::default();
    for (kind, n) in numbers {
        let Some(prefix) = n.get(..3).filter(|_| n.len() == 11) else {
            continue;
        };
        let e = max.entry((kind, prefix.to_string())).or_insert(n);
        if n > *e {
            *e = n;
        }
    }
    max.into_iter()
        .map(|(k, n)| {
            let next = n
                .get(3..)
                .and_then(|s| s.parse::<i64>().ok())
                .map_or(1, |s| s + 1);
            (k, next)
        })
        .collect()
}

/// Replaces an insurer's serial floors (inside an import or [`Store::fill_serial_floors`]).
pub(crate) async fn write_serial_floors(
    tx: &mut Tx,
    insurer: &str,
    floors: &std::collections::BTreeMap<(i64, String), i64>,
) -> Result<()> {
    sqlx::query("DELETE FROM voucher_serial_floors WHERE insurer = $1")
        .bind(insurer)
        .execute(tx.conn())
        .await?;
    for ((kind, prefix), next) in floors {
        sqlx::query(
            "INSERT INTO voucher_serial_floors (insurer, kind, prefix, next_serial) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(insurer)
        .bind(kind)
        .bind(prefix)
        .bind(next)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query("DELETE FROM voucher_serial_floors_pending WHERE insurer = $1")
        .bind(insurer)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Marks the insurer's `vouchers` kind as loaded with the current ledger size, so stage D
/// runs for it (an insurer that never imported vouchers.csv has issued ones now). The
/// re-insert of the mark fires the copy trigger, which finds nothing new.
async fn mark_vouchers_loaded(tx: &mut Tx, insurer: &str, by: &str) -> Result<()> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vouchers WHERE insurer = $1")
        .bind(insurer)
        .fetch_one(tx.conn())
        .await?;
    sqlx::query("DELETE FROM reference_loads WHERE insurer = $1 AND kind = 'vouchers'")
        .bind(insurer)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO reference_loads (insurer, kind, rows, loaded_at, loaded_by) \
         VALUES ($1, 'vouchers', $2, $3, $4)",
    )
    .bind(insurer)
    .bind(n)
    .bind(now())
    .bind(by)
    .execute(tx.conn())
    .await?;
    Ok(())
}
