//! The seam for insurer reference data (保険者等から提供される基準データ).
//!
//! Stage D, the contract-price checks (C-03, C-09, C-10, C-11, C-16), the voucher checks
//! (C-13) and the history checks (T-06, U-01, U-03, U-05, U-06) need data that a
//! standalone archive does not carry. [`ReferenceData`] is the one trait through which the
//! engine asks for it. Every method answers `None` when that kind of data has not been
//! loaded (for that insurer, where the data is per insurer); the engine then reports the
//! check once per archive as skipped (an info finding), never as a failure.
//!
//! Two implementations: [`NoReference`] (nothing loaded: `daiko check` without
//! `--reference`) and [`DirReference`] (a folder of CSV files, docs/reference-data.md).
//! The server implements the same trait on its database.

use crate::stages::date::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The co-payment setting of one category on a voucher, as the insurer issued it
/// (別表6 code 1 none, 2 fixed amount, 3 rate, 4 insurer cap only; a fixed amount or rate
/// may come with a cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CopaymentSetting {
    /// 1-4 (別表6).
    pub code: u8,
    /// Fixed amount in yen (code 2).
    pub amount: Option<u64>,
    /// Rate as the 6-digit scaled value (30 % = 30000) (code 3).
    pub rate: Option<u64>,
    /// 保険者負担上限額 in yen (code 4, or with 2/3).
    pub cap: Option<u64>,
}

/// A voucher of the insurer's issuance ledger (受診券/利用券発行台帳).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VoucherRecord {
    /// 保険者番号 (8 digits)
    pub insurer: String,
    /// 券面種別: 1 受診券 (checkup), 2 利用券 (guidance).
    pub kind: u8,
    /// 整理番号 (11 digits)
    pub number: String,
    /// 被保険者証等記号 (may be empty)
    pub card_symbol: String,
    /// 被保険者証等番号
    pub card_number: String,
    /// 氏名 (kana)
    pub name: String,
    /// 生年月日
    pub birth_date: Option<Date>,
    /// 有効期限
    pub expiry: Option<Date>,
    /// Co-payment settings per category (basic, detail, additional, dock); `None` where
    /// the ledger leaves the category empty.
    pub basic: Option<CopaymentSetting>,
    pub detail: Option<CopaymentSetting>,
    pub additional: Option<CopaymentSetting>,
    pub dock: Option<CopaymentSetting>,
    /// 保健指導区分 (別表12) for a 利用券.
    pub guidance_level: Option<String>,
}

/// 契約形態: an individual contract (個別契約, one insurer ↔ one institution) or a
/// collective contract (集合契約, a representative insurer for many insurers ↔ a coordinator
/// for many institutions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractForm {
    /// 個別契約
    #[default]
    Individual,
    /// 集合契約
    Collective,
}

impl ContractForm {
    /// The name written in `contracts.csv` (`individual` / `collective`).
    pub fn as_str(self) -> &'static str {
        match self {
            ContractForm::Individual => "individual",
            ContractForm::Collective => "collective",
        }
    }
}

/// One contract (契約): insurer × institution × fiscal year × 委託料単価区分, with its
/// validity and prices. A collective contract (集合契約) is signed by a representative
/// insurer (代表保険者, `insurer`) for its member insurers and by a coordinator
/// (契約とりまとめ機関) for its member institutions; it applies to every pair of
/// [`Contract::insurers`] × [`Contract::institutions`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contract {
    /// 契約番号: names the contract across its versions. Given in `contracts.csv` or
    /// derived from the key columns of an individual contract ([`Contract::derived_id`]).
    #[serde(default)]
    pub contract_id: String,
    /// 契約形態.
    #[serde(default)]
    pub form: ContractForm,
    /// 保険者番号: the insurer of an individual contract, the representative insurer
    /// (代表保険者) of a collective one. The contract belongs to this insurer's data.
    pub insurer: String,
    /// 特定健診機関番号 of an individual contract; for a collective contract an optional
    /// single institution besides [`Contract::member_institutions`].
    pub institution: String,
    /// Insurers a collective contract acts for besides the representative (sorted, 8 digits).
    #[serde(default)]
    pub member_insurers: Vec<String>,
    /// 契約とりまとめ機関 (e.g. a prefectural medical association), as the contract names it.
    #[serde(default)]
    pub coordinator: String,
    /// Institutions of a collective contract (sorted, 10 digits).
    #[serde(default)]
    pub member_institutions: Vec<String>,
    pub fiscal_year: i32,
    /// 委託料単価区分: 1 個別, 2 集団.
    pub commission_type: u8,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    /// 基本的な健診 unit price.
    pub basic: Option<u64>,
    /// 詳細な健診 unit prices by 別表8 code (1 anaemia, 2 ECG, 3 fundus, 4 creatinine).
    pub detail: BTreeMap<String, u64>,
    /// 追加健診項目 unit prices by 17-digit item code (the contract's additional-item list).
    pub additional: BTreeMap<String, u64>,
    /// 人間ドック price.
    pub dock: Option<u64>,
    /// Guidance unit prices by 保健指導区分 (別表12).
    pub guidance: BTreeMap<String, u64>,
    /// Guidance payment share (%) by 保健指導実施時点 (別表11).
    pub guidance_shares: BTreeMap<String, u64>,
    /// Whether a burden paid by another programme (他制度負担) is accepted.
    pub other_program_allowed: bool,
}

impl Contract {
    /// Whether the contract is in force on `date`.
    pub fn in_force_on(&self, date: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= date) && self.valid_to.is_none_or(|t| date <= t)
    }

    /// The insurers the contract applies to: the insurer of an individual contract; the
    /// representative and every member insurer of a collective one.
    pub fn insurers(&self) -> Vec<&str> {
        let mut v: Vec<&str> = std::iter::once(self.insurer.as_str())
            .chain(self.member_insurers.iter().map(String::as_str))
            .filter(|s| !s.is_empty())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The institutions the contract applies to: the institution of an individual
    /// contract; the member institutions (and the single institution, if named) of a
    /// collective one.
    pub fn institutions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = std::iter::once(self.institution.as_str())
            .chain(self.member_institutions.iter().map(String::as_str))
            .filter(|s| !s.is_empty())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether the contract binds this insurer and this institution.
    pub fn covers(&self, insurer: &str, institution: &str) -> bool {
        let insurer_ok =
            self.insurer == insurer || self.member_insurers.iter().any(|m| m == insurer);
        let institution_ok = (!self.institution.is_empty() && self.institution == institution)
            || self.member_institutions.iter().any(|m| m == institution);
        insurer_ok && institution_ok
    }

    /// The id of an individual contract written without `contract_id`: its key columns
    /// (institution, fiscal year, 委託料単価区分, validity), so that files of the first
    /// format keep grouping rows exactly as before.
    pub fn derived_id(&self) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            self.institution,
            self.fiscal_year,
            self.commission_type,
            self.valid_from.map(Date::compact).unwrap_or_default(),
            self.valid_to.map(Date::compact).unwrap_or_default()
        )
    }
}

/// Whether `id` is usable as a 契約番号: 1-64 ASCII letters, digits, `-`, `_` or `.`
/// (it appears in URLs and file names).
pub fn valid_contract_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Where a previously received record stands (for U-01, U-03, U-05, U-06, D-05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordState {
    /// Received and accepted or held, not yet paid.
    Active,
    /// Delivered to the insurer (not yet paid).
    Delivered,
    /// Paid by the insurer.
    Paid,
    /// Returned to the institution (may come back as a late claim).
    Returned,
    /// Withdrawn at the institution's request.
    Withdrawn,
}

impl RecordState {
    /// Parses the names used in `records.csv`.
    pub fn parse(s: &str) -> Option<RecordState> {
        Some(match s {
            "active" => RecordState::Active,
            "delivered" => RecordState::Delivered,
            "paid" => RecordState::Paid,
            "returned" => RecordState::Returned,
            "withdrawn" => RecordState::Withdrawn,
            _ => return None,
        })
    }
}

/// A record received earlier (the agency's history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorRecord {
    pub insurer: String,
    /// 被保険者証等番号
    pub card_number: String,
    /// 受診券/利用券整理番号
    pub voucher: String,
    /// 実施区分: 1 checkup, 2 guidance.
    pub service_event_type: u8,
    /// 保健指導実施時点 (別表11) for guidance records.
    pub guidance_timing: Option<String>,
    pub service_date: Option<Date>,
    pub state: RecordState,
}

/// Insurer reference data and the agency's history, as the checks need them. Every method
/// answers `None` when that kind of data has not been loaded (for that insurer).
pub trait ReferenceData: Sync {
    /// D-01/H-02: whether `insurer` is a client with a payment mandate in force on `date`.
    fn insurer_is_client(&self, insurer: &str, date: Date) -> Option<bool>;
    /// T-05/H-08/D-02: whether `institution` is registered with this agency.
    fn institution_is_registered(&self, institution: &str) -> Option<bool>;
    /// D-03/D-05/D-06/C-13: the ledger entries with this voucher number (`kind` 1 受診券,
    /// 2 利用券); `Some(empty)` when the insurer's ledger is loaded and has no such voucher.
    fn vouchers(&self, insurer: &str, kind: u8, number: &str) -> Option<Vec<VoucherRecord>>;
    /// D-04: whether the person (symbol may be empty) is insured on `date`.
    fn is_covered(
        &self,
        insurer: &str,
        card_symbol: &str,
        card_number: &str,
        date: Date,
    ) -> Option<bool>;
    /// C-03/C-09/C-10/C-11/C-16/D-02: the contracts of `insurer` with `institution` for
    /// `fiscal_year`; `Some(empty)` when the insurer's contracts are loaded and none match.
    fn contracts(
        &self,
        insurer: &str,
        institution: &str,
        fiscal_year: i32,
    ) -> Option<Vec<Contract>>;
    /// T-06: whether an archive with this name or these bytes was received before.
    fn archive_received(&self, name: &str, sha256: &str) -> Option<bool>;
    /// U-01/U-03: earlier records of this person (insurer + card number) in `fiscal_year`.
    fn records_of_person(
        &self,
        insurer: &str,
        card_number: &str,
        fiscal_year: i32,
    ) -> Option<Vec<PriorRecord>>;
    /// D-05/U-05/U-06: earlier records that used this voucher.
    fn records_of_voucher(&self, insurer: &str, voucher: &str) -> Option<Vec<PriorRecord>>;
}

/// No reference data at all: every reference-dependent check is skipped.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoReference;

impl ReferenceData for NoReference {
    fn insurer_is_client(&self, _: &str, _: Date) -> Option<bool> {
        None
    }
    fn institution_is_registered(&self, _: &str) -> Option<bool> {
        None
    }
    fn vouchers(&self, _: &str, _: u8, _: &str) -> Option<Vec<VoucherRecord>> {
        None
    }
    fn is_covered(&self, _: &str, _: &str, _: &str, _: Date) -> Option<bool> {
        None
    }
    fn contracts(&self, _: &str, _: &str, _: i32) -> Option<Vec<Contract>> {
        None
    }
    fn archive_received(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
    fn records_of_person(&self, _: &str, _: &str, _: i32) -> Option<Vec<PriorRecord>> {
        None
    }
    fn records_of_voucher(&self, _: &str, _: &str) -> Option<Vec<PriorRecord>> {
        None
    }
}

// ---------------------------------------------------------------------------------------
// DirReference: a folder of CSV files
// ---------------------------------------------------------------------------------------

/// Why a reference folder could not be loaded. Positions are 1-based; line 1 is the header.
#[derive(Debug, Error)]
pub enum ReferenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: missing column {column:?} in the header")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: line {line}, column {column} ({name}): {message}: {value:?}")]
    Value {
        path: PathBuf,
        line: u64,
        column: usize,
        name: &'static str,
        value: String,
        message: &'static str,
    },
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
}

#[derive(Debug, Clone)]
struct Coverage {
    symbol: String,
    from: Option<Date>,
    to: Option<Date>,
}

#[derive(Debug, Clone)]
struct Mandate {
    from: Option<Date>,
    to: Option<Date>,
}

/// Reference data loaded from a folder of CSV files (UTF-8, header row). Each file is
/// optional; a missing file means that kind of data is not loaded. Per-insurer files
/// (vouchers, coverage, contracts) count as loaded for the insurers that appear in them.
/// The format is documented in docs/reference-data.md.
#[derive(Debug, Default)]
pub struct DirReference {
    insurers: Option<HashMap<String, Vec<Mandate>>>,
    institutions: Option<HashSet<String>>,
    vouchers: Option<HashMap<(String, u8, String), Vec<VoucherRecord>>>,
    voucher_insurers: BTreeSet<String>,
    coverage: Option<HashMap<(String, String), Vec<Coverage>>>,
    coverage_insurers: BTreeSet<String>,
    contracts: Option<HashMap<(String, String, i32), Vec<Contract>>>,
    /// Collective contracts (集合契約), matched on their member lists at lookup.
    collective_contracts: Vec<Contract>,
    contract_insurers: BTreeSet<String>,
    archives: Option<(HashSet<String>, HashSet<String>)>,
    records: Option<Vec<PriorRecord>>,
}

/// One CSV file being read, with its header positions.
struct Table<R: Read> {
    path: PathBuf,
    header: csv::StringRecord,
    reader: csv::Reader<R>,
}

struct Row<'a> {
    path: &'a Path,
    header: &'a csv::StringRecord,
    record: csv::StringRecord,
    line: u64,
}

impl Table<std::fs::File> {
    fn open(dir: &Path, file: &str) -> Result<Option<Table<std::fs::File>>, ReferenceError> {
        let path = dir.join(file);
        if !path.exists() {
            return Ok(None);
        }
        let f = std::fs::File::open(&path).map_err(|source| ReferenceError::Io {
            path: path.clone(),
            source,
        })?;
        Table::from_reader(path, f).map(Some)
    }
}

impl<R: Read> Table<R> {
    /// A table over any reader; `path` names it in error messages.
    fn from_reader(path: PathBuf, f: R) -> Result<Table<R>, ReferenceError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(f);
        let header = reader
            .headers()
            .map_err(|e| ReferenceError::Csv {
                path: path.clone(),
                line: 1,
                message: e.to_string(),
            })?
            .clone();
        // Strip a UTF-8 BOM from the first header cell.
        let header: csv::StringRecord = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim())
            .collect();
        Ok(Table {
            path,
            header,
            reader,
        })
    }

    fn require(&self, columns: &[&'static str]) -> Result<(), ReferenceError> {
        for c in columns {
            if !self.header.iter().any(|h| h == *c) {
                return Err(ReferenceError::MissingColumn {
                    path: self.path.clone(),
                    column: c,
                });
            }
        }
        Ok(())
    }

    fn for_each(
        &mut self,
        mut f: impl FnMut(&Row<'_>) -> Result<(), ReferenceError>,
    ) -> Result<(), ReferenceError> {
        let mut record = csv::StringRecord::new();
        loop {
            let more = self
                .reader
                .read_record(&mut record)
                .map_err(|e| ReferenceError::Csv {
                    path: self.path.clone(),
                    line: e.position().map(|p| p.line()).unwrap_or(0),
                    message: e.to_string(),
                })?;
            if !more {
                return Ok(());
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let row = Row {
                path: &self.path,
                header: &self.header,
                record: record.clone(),
                line,
            };
            f(&row)?;
        }
    }
}

impl Row<'_> {
    fn col(&self, name: &'static str) -> (usize, &str) {
        match self.header.iter().position(|h| h == name) {
            Some(i) => (i + 1, self.record.get(i).unwrap_or("").trim()),
            None => (0, ""),
        }
    }
    fn err(&self, name: &'static str, message: &'static str) -> ReferenceError {
        let (column, value) = self.col(name);
        ReferenceError::Value {
            path: self.path.to_path_buf(),
            line: self.line,
            column,
            name,
            value: value.to_string(),
            message,
        }
    }
    fn text(&self, name: &'static str) -> String {
        self.col(name).1.to_string()
    }
    fn required(&self, name: &'static str) -> Result<String, ReferenceError> {
        let v = self.text(name);
        if v.is_empty() {
            Err(self.err(name, "required"))
        } else {
            Ok(v)
        }
    }
    fn digits(
        &self,
        name: &'static str,
        len: std::ops::RangeInclusive<usize>,
    ) -> Result<String, ReferenceError> {
        let v = self.required(name)?;
        if !len.contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(name, "wrong number of digits"));
        }
        Ok(v)
    }
    fn insurer(&self, name: &'static str) -> Result<String, ReferenceError> {
        // Insurer numbers are written 6 or 8 digits; keep them zero-padded to 8.
        let v = self.digits(name, 1..=8)?;
        Ok(format!("{v:0>8}"))
    }
    fn date(&self, name: &'static str) -> Result<Option<Date>, ReferenceError> {
        let v = self.col(name).1;
        if v.is_empty() {
            return Ok(None);
        }
        Date::parse_flexible(v)
            .map(Some)
            .ok_or_else(|| self.err(name, "not a date (YYYYMMDD or YYYY-MM-DD)"))
    }
    fn uint(&self, name: &'static str) -> Result<Option<u64>, ReferenceError> {
        let v = self.col(name).1;
        if v.is_empty() {
            return Ok(None);
        }
        daiko_format::model::parse_uint(v)
            .map(Some)
            .ok_or_else(|| self.err(name, "not a non-negative integer"))
    }
    fn copayment(&self, prefix: &'static str) -> Result<Option<CopaymentSetting>, ReferenceError> {
        let (code, amount, rate, cap) = match prefix {
            "basic" => ("basic_code", "basic_amount", "basic_rate", "basic_cap"),
            "detail" => ("detail_code", "detail_amount", "detail_rate", "detail_cap"),
            "additional" => (
                "additional_code",
                "additional_amount",
                "additional_rate",
                "additional_cap",
            ),
            _ => ("dock_code", "dock_amount", "dock_rate", "dock_cap"),
        };
        let Some(c) = self.uint(code)? else {
            return Ok(None);
        };
        if !(1..=4).contains(&c) {
            return Err(self.err(code, "co-payment code must be 1-4"));
        }
        let rate_v = self.uint(rate)?;
        if rate_v.is_some_and(|r| r > 100_000) {
            return Err(self.err(rate, "rate above 100000 (100 %)"));
        }
        let setting = CopaymentSetting {
            code: c as u8,
            amount: self.uint(amount)?,
            rate: rate_v,
            cap: self.uint(cap)?,
        };
        match setting.code {
            2 if setting.amount.is_none() => Err(self.err(amount, "code 2 needs an amount")),
            3 if setting.rate.is_none() => Err(self.err(rate, "code 3 needs a rate")),
            4 if setting.cap.is_none() => Err(self.err(cap, "code 4 needs a cap")),
            _ => Ok(Some(setting)),
        }
    }
}

/// One insured-status row of `coverage.csv` (資格情報): the person is insured from
/// `valid_from` to `valid_to` (open where `None`); an empty symbol matches any symbol.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CoverageRow {
    /// 保険者番号 (8 digits, zero-padded)
    pub insurer: String,
    pub card_symbol: String,
    pub card_number: String,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
}

/// Parses one uploaded `vouchers.csv` (docs/reference-data.md) with exactly the rules and
/// messages of [`DirReference::load`]; `name` names the file in errors.
pub fn parse_vouchers_csv(name: &str, r: impl Read) -> Result<Vec<VoucherRecord>, ReferenceError> {
    vouchers_from(Table::from_reader(PathBuf::from(name), r)?)
}

/// Parses one uploaded `coverage.csv` (see [`parse_vouchers_csv`]).
pub fn parse_coverage_csv(name: &str, r: impl Read) -> Result<Vec<CoverageRow>, ReferenceError> {
    coverage_from(Table::from_reader(PathBuf::from(name), r)?)
}

/// Parses one uploaded `contracts.csv` (see [`parse_vouchers_csv`]): rows of the same
/// insurer, institution, fiscal year, 委託料単価区分 and validity build one contract, in the
/// order of their first row.
pub fn parse_contracts_csv(name: &str, r: impl Read) -> Result<Vec<Contract>, ReferenceError> {
    contracts_from(Table::from_reader(PathBuf::from(name), r)?)
}

fn vouchers_from<R: Read>(mut t: Table<R>) -> Result<Vec<VoucherRecord>, ReferenceError> {
    t.require(&["insurer_number", "kind", "voucher_number", "card_number"])?;
    let mut out = Vec::new();
    t.for_each(|row| {
        let kind = match row.col("kind").1 {
            "1" => 1,
            "2" => 2,
            _ => return Err(row.err("kind", "must be 1 (受診券) or 2 (利用券)")),
        };
        out.push(VoucherRecord {
            insurer: row.insurer("insurer_number")?,
            kind,
            number: row.digits("voucher_number", 11..=11)?,
            card_symbol: row.text("card_symbol"),
            card_number: row.required("card_number")?,
            name: row.text("name_kana"),
            birth_date: row.date("birth_date")?,
            expiry: row.date("expiry")?,
            basic: row.copayment("basic")?,
            detail: row.copayment("detail")?,
            additional: row.copayment("additional")?,
            dock: row.copayment("dock")?,
            guidance_level: Some(row.text("guidance_level")).filter(|s| !s.is_empty()),
        });
        Ok(())
    })?;
    Ok(out)
}

fn coverage_from<R: Read>(mut t: Table<R>) -> Result<Vec<CoverageRow>, ReferenceError> {
    t.require(&["insurer_number", "card_number"])?;
    let mut out = Vec::new();
    t.for_each(|row| {
        let insurer = row.insurer("insurer_number")?;
        let card_symbol = row.text("card_symbol");
        let valid_from = row.date("valid_from")?;
        let valid_to = row.date("valid_to")?;
        out.push(CoverageRow {
            insurer,
            card_symbol,
            card_number: row.required("card_number")?,
            valid_from,
            valid_to,
        });
        Ok(())
    })?;
    Ok(out)
}

/// The key columns of a contract that every row of it must repeat identically.
fn same_parties(a: &Contract, b: &Contract) -> bool {
    a.form == b.form
        && a.institution == b.institution
        && a.member_insurers == b.member_insurers
        && a.coordinator == b.coordinator
        && a.member_institutions == b.member_institutions
        && a.fiscal_year == b.fiscal_year
        && a.commission_type == b.commission_type
        && a.valid_from == b.valid_from
        && a.valid_to == b.valid_to
}

impl Row<'_> {
    /// A `;`-separated list of numbers of `len` digits (insurer numbers are zero-padded
    /// to 8), sorted, without duplicates.
    fn number_list(
        &self,
        name: &'static str,
        len: std::ops::RangeInclusive<usize>,
        pad8: bool,
    ) -> Result<Vec<String>, ReferenceError> {
        let mut out = Vec::new();
        for part in self.col(name).1.split(';') {
            let v = part.trim();
            if v.is_empty() {
                continue;
            }
            if !len.contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.err(name, "every number of the list needs its digits"));
            }
            out.push(if pad8 {
                format!("{v:0>8}")
            } else {
                v.to_string()
            });
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

fn contracts_from<R: Read>(mut t: Table<R>) -> Result<Vec<Contract>, ReferenceError> {
    t.require(&[
        "insurer_number",
        "institution_number",
        "fiscal_year",
        "commission_type",
        "item",
        "price",
    ])?;
    // One row per price; rows with the same insurer and contract_id build one contract
    // (without contract_id: the same institution, fiscal year, 委託料単価区分 and validity).
    let mut list: Vec<Contract> = Vec::new();
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    t.for_each(|row| {
        let form = match row.col("form").1 {
            "" | "individual" => ContractForm::Individual,
            "collective" => ContractForm::Collective,
            _ => return Err(row.err("form", "must be individual (個別) or collective (集合)")),
        };
        let collective = form == ContractForm::Collective;
        let insurer = row.insurer("insurer_number")?;
        if !row.col("representative_insurer").1.is_empty() {
            if !collective {
                return Err(row.err(
                    "representative_insurer",
                    "only a collective contract has a representative insurer",
                ));
            }
            if row.insurer("representative_insurer")? != insurer {
                return Err(row.err(
                    "representative_insurer",
                    "must equal insurer_number (the representative insurer holds a collective contract)",
                ));
            }
        }
        let member_insurers = row.number_list("member_insurers", 1..=8, true)?;
        let coordinator = row.text("coordinator");
        let member_institutions = row.number_list("member_institutions", 10..=10, false)?;
        if !collective {
            for (name, empty) in [
                ("member_insurers", member_insurers.is_empty()),
                ("coordinator", coordinator.is_empty()),
                ("member_institutions", member_institutions.is_empty()),
            ] {
                if !empty {
                    return Err(row.err(name, "only for a collective contract (form=collective)"));
                }
            }
        }
        let institution = if collective && row.col("institution_number").1.is_empty() {
            if member_institutions.is_empty() {
                return Err(row.err(
                    "member_institutions",
                    "a collective contract needs its member institutions",
                ));
            }
            String::new()
        } else {
            row.digits("institution_number", 10..=10)?
        };
        let fy: i32 = row
            .digits("fiscal_year", 4..=4)?
            .parse()
            .map_err(|_| row.err("fiscal_year", "not a year"))?;
        let commission_type = match row.col("commission_type").1 {
            "1" => 1,
            "2" => 2,
            _ => return Err(row.err("commission_type", "must be 1 (個別) or 2 (集団)")),
        };
        let valid_from = row.date("valid_from")?;
        let valid_to = row.date("valid_to")?;
        let price = row
            .uint("price")?
            .ok_or_else(|| row.err("price", "required"))?;
        let mut contract = Contract {
            form,
            insurer: insurer.clone(),
            institution,
            member_insurers: member_insurers.into_iter().filter(|m| *m != insurer).collect(),
            coordinator,
            member_institutions,
            fiscal_year: fy,
            commission_type,
            valid_from,
            valid_to,
            ..Contract::default()
        };
        contract.contract_id = match row.col("contract_id").1 {
            "" if collective => {
                return Err(row.err("contract_id", "a collective contract needs a contract_id"));
            }
            "" => contract.derived_id(),
            id if valid_contract_id(id) => id.to_string(),
            _ => {
                return Err(row.err(
                    "contract_id",
                    "1-64 letters, digits, '-', '_' or '.'",
                ));
            }
        };
        let idx = match by_key.get(&(insurer.clone(), contract.contract_id.clone())) {
            Some(&i) => {
                if !list.get(i).is_some_and(|c| same_parties(c, &contract)) {
                    return Err(row.err(
                        "contract_id",
                        "rows of one contract differ in form, parties, fiscal year, commission type or validity",
                    ));
                }
                i
            }
            None => {
                by_key.insert((insurer, contract.contract_id.clone()), list.len());
                list.push(contract);
                list.len() - 1
            }
        };
        let Some(c) = list.get_mut(idx) else {
            return Ok(());
        };
        let item = row.text("item");
        let (kind, key) = item.split_once(':').unwrap_or((item.as_str(), ""));
        match (kind, key) {
            ("basic", "") => c.basic = Some(price),
            ("dock", "") => c.dock = Some(price),
            ("detail", k) if matches!(k, "1" | "2" | "3" | "4") => {
                c.detail.insert(k.to_string(), price);
            }
            ("additional", k) if k.len() == 17 => {
                c.additional.insert(k.to_string(), price);
            }
            ("guidance", k) if matches!(k, "1" | "2" | "3") => {
                c.guidance.insert(k.to_string(), price);
            }
            ("share", k) if matches!(k, "1" | "2" | "3" | "4" | "5") => {
                if price > 100 {
                    return Err(row.err("price", "a share is a percentage 0-100"));
                }
                c.guidance_shares.insert(k.to_string(), price);
            }
            ("other_program", "") => c.other_program_allowed = price != 0,
            _ => return Err(row.err("item", "unknown item (see docs/reference-data.md)")),
        }
        Ok(())
    })?;
    Ok(list)
}

/// The columns of `contracts.csv` as [`write_contracts_csv`] writes them (the full format
/// of docs/reference-data.md, which [`parse_contracts_csv`] reads back).
pub const CONTRACT_COLUMNS: [&str; 14] = [
    "contract_id",
    "form",
    "insurer_number",
    "representative_insurer",
    "member_insurers",
    "institution_number",
    "coordinator",
    "member_institutions",
    "fiscal_year",
    "commission_type",
    "valid_from",
    "valid_to",
    "item",
    "price",
];

/// The `(item, price)` rows of one contract in the order export writes them.
pub fn contract_items(c: &Contract) -> Vec<(String, u64)> {
    let mut items = Vec::new();
    if let Some(p) = c.basic {
        items.push(("basic".to_string(), p));
    }
    items.extend(c.detail.iter().map(|(k, p)| (format!("detail:{k}"), *p)));
    items.extend(
        c.additional
            .iter()
            .map(|(k, p)| (format!("additional:{k}"), *p)),
    );
    if let Some(p) = c.dock {
        items.push(("dock".to_string(), p));
    }
    items.extend(
        c.guidance
            .iter()
            .map(|(k, p)| (format!("guidance:{k}"), *p)),
    );
    items.extend(
        c.guidance_shares
            .iter()
            .map(|(k, p)| (format!("share:{k}"), *p)),
    );
    // Always written, so every contract has at least one row and the flag round-trips.
    items.push((
        "other_program".to_string(),
        u64::from(c.other_program_allowed),
    ));
    items
}

/// Writes contracts as `contracts.csv` (UTF-8, header row, one row per price) in the
/// format [`parse_contracts_csv`] reads: parsing the output gives the same contracts.
pub fn write_contracts_csv(
    contracts: &[Contract],
    w: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(CONTRACT_COLUMNS)?;
    for c in contracts {
        let collective = c.form == ContractForm::Collective;
        let date = |d: Option<Date>| d.map(Date::compact).unwrap_or_default();
        let id = if c.contract_id.is_empty() {
            c.derived_id()
        } else {
            c.contract_id.clone()
        };
        for (item, price) in contract_items(c) {
            out.write_record([
                id.as_str(),
                c.form.as_str(),
                c.insurer.as_str(),
                if collective { c.insurer.as_str() } else { "" },
                &c.member_insurers.join(";"),
                c.institution.as_str(),
                c.coordinator.as_str(),
                &c.member_institutions.join(";"),
                &c.fiscal_year.to_string(),
                &c.commission_type.to_string(),
                &date(c.valid_from),
                &date(c.valid_to),
                &item,
                &price.to_string(),
            ])?;
        }
    }
    out.flush().map_err(csv::Error::from)
}

impl DirReference {
    /// Loads every known file present in `dir` (see docs/reference-data.md).
    pub fn load(dir: &Path) -> Result<DirReference, ReferenceError> {
        if !dir.is_dir() {
            return Err(ReferenceError::NotADirectory(dir.to_path_buf()));
        }
        let mut r = DirReference::default();

        if let Some(mut t) = Table::open(dir, "insurers.csv")? {
            t.require(&["insurer_number"])?;
            let mut map: HashMap<String, Vec<Mandate>> = HashMap::new();
            t.for_each(|row| {
                let m = Mandate {
                    from: row.date("mandate_from")?,
                    to: row.date("mandate_to")?,
                };
                map.entry(row.insurer("insurer_number")?)
                    .or_default()
                    .push(m);
                Ok(())
            })?;
            r.insurers = Some(map);
        }

        if let Some(mut t) = Table::open(dir, "institutions.csv")? {
            t.require(&["institution_number"])?;
            let mut set = HashSet::new();
            t.for_each(|row| {
                set.insert(row.digits("institution_number", 10..=10)?);
                Ok(())
            })?;
            r.institutions = Some(set);
        }

        if let Some(t) = Table::open(dir, "vouchers.csv")? {
            let mut map: HashMap<(String, u8, String), Vec<VoucherRecord>> = HashMap::new();
            let mut insurers = BTreeSet::new();
            for v in vouchers_from(t)? {
                insurers.insert(v.insurer.clone());
                map.entry((v.insurer.clone(), v.kind, v.number.clone()))
                    .or_default()
                    .push(v);
            }
            r.vouchers = Some(map);
            r.voucher_insurers = insurers;
        }

        if let Some(t) = Table::open(dir, "coverage.csv")? {
            let mut map: HashMap<(String, String), Vec<Coverage>> = HashMap::new();
            let mut insurers = BTreeSet::new();
            for c in coverage_from(t)? {
                insurers.insert(c.insurer.clone());
                map.entry((c.insurer, c.card_number))
                    .or_default()
                    .push(Coverage {
                        symbol: c.card_symbol,
                        from: c.valid_from,
                        to: c.valid_to,
                    });
            }
            r.coverage = Some(map);
            r.coverage_insurers = insurers;
        }

        if let Some(t) = Table::open(dir, "contracts.csv")? {
            let mut map: HashMap<(String, String, i32), Vec<Contract>> = HashMap::new();
            let mut insurers = BTreeSet::new();
            for c in contracts_from(t)? {
                insurers.extend(c.insurers().into_iter().map(str::to_string));
                if c.form == ContractForm::Collective {
                    r.collective_contracts.push(c);
                    continue;
                }
                map.entry((c.insurer.clone(), c.institution.clone(), c.fiscal_year))
                    .or_default()
                    .push(c);
            }
            r.contracts = Some(map);
            r.contract_insurers = insurers;
        }

        if let Some(mut t) = Table::open(dir, "archives.csv")? {
            t.require(&["archive_name"])?;
            let (mut names, mut hashes) = (HashSet::new(), HashSet::new());
            t.for_each(|row| {
                names.insert(row.required("archive_name")?);
                let h = row.text("sha256").to_ascii_lowercase();
                if !h.is_empty() {
                    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(row.err("sha256", "not 64 hex digits"));
                    }
                    hashes.insert(h);
                }
                Ok(())
            })?;
            r.archives = Some((names, hashes));
        }

        if let Some(mut t) = Table::open(dir, "records.csv")? {
            t.require(&[
                "insurer_number",
                "card_number",
                "voucher_number",
                "service_event_type",
                "state",
            ])?;
            let mut list = Vec::new();
            t.for_each(|row| {
                let set = match row.col("service_event_type").1 {
                    "1" => 1,
                    "2" => 2,
                    _ => return Err(row.err("service_event_type", "must be 1 or 2")),
                };
                let state = RecordState::parse(row.col("state").1).ok_or_else(|| {
                    row.err(
                        "state",
                        "must be active, delivered, paid, returned or withdrawn",
                    )
                })?;
                list.push(PriorRecord {
                    insurer: row.insurer("insurer_number")?,
                    card_number: row.required("card_number")?,
                    voucher: row.required("voucher_number")?,
                    service_event_type: set,
                    guidance_timing: Some(row.text("guidance_timing")).filter(|s| !s.is_empty()),
                    service_date: row.date("service_date")?,
                    state,
                });
                Ok(())
            })?;
            r.records = Some(list);
        }

        Ok(r)
    }
}

impl ReferenceData for DirReference {
    fn insurer_is_client(&self, insurer: &str, date: Date) -> Option<bool> {
        let map = self.insurers.as_ref()?;
        Some(map.get(insurer).is_some_and(|ms| {
            ms.iter()
                .any(|m| m.from.is_none_or(|f| f <= date) && m.to.is_none_or(|t| date <= t))
        }))
    }
    fn institution_is_registered(&self, institution: &str) -> Option<bool> {
        Some(self.institutions.as_ref()?.contains(institution))
    }
    fn vouchers(&self, insurer: &str, kind: u8, number: &str) -> Option<Vec<VoucherRecord>> {
        let map = self.vouchers.as_ref()?;
        if !self.voucher_insurers.contains(insurer) {
            return None;
        }
        Some(
            map.get(&(insurer.to_string(), kind, number.to_string()))
                .cloned()
                .unwrap_or_default(),
        )
    }
    fn is_covered(
        &self,
        insurer: &str,
        card_symbol: &str,
        card_number: &str,
        date: Date,
    ) -> Option<bool> {
        let map = self.coverage.as_ref()?;
        if !self.coverage_insurers.contains(insurer) {
            return None;
        }
        Some(
            map.get(&(insurer.to_string(), card_number.to_string()))
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        (c.symbol.is_empty() || c.symbol == card_symbol)
                            && c.from.is_none_or(|f| f <= date)
                            && c.to.is_none_or(|t| date <= t)
                    })
                }),
        )
    }
    fn contracts(
        &self,
        insurer: &str,
        institution: &str,
        fiscal_year: i32,
    ) -> Option<Vec<Contract>> {
        let map = self.contracts.as_ref()?;
        if !self.contract_insurers.contains(insurer) {
            return None;
        }
        // Individual contracts first (the more specific terms), then collective ones, each
        // in file order; the server answers in the same order.
        let mut list = map
            .get(&(insurer.to_string(), institution.to_string(), fiscal_year))
            .cloned()
            .unwrap_or_default();
        list.extend(
            self.collective_contracts
                .iter()
                .filter(|c| c.fiscal_year == fiscal_year && c.covers(insurer, institution))
                .cloned(),
        );
        Some(list)
    }
    fn archive_received(&self, name: &str, sha256: &str) -> Option<bool> {
        let (names, hashes) = self.archives.as_ref()?;
        Some(names.contains(name) || hashes.contains(&sha256.to_ascii_lowercase()))
    }
    fn records_of_person(
        &self,
        insurer: &str,
        card_number: &str,
        fiscal_year: i32,
    ) -> Option<Vec<PriorRecord>> {
        let list = self.records.as_ref()?;
        Some(
            list.iter()
                .filter(|r| {
                    r.insurer == insurer
                        && r.card_number == card_number
                        && r.service_date
                            .is_some_and(|d| d.fiscal_year() == fiscal_year)
                })
                .cloned()
                .collect(),
        )
    }
    fn records_of_voucher(&self, insurer: &str, voucher: &str) -> Option<Vec<PriorRecord>> {
        let list = self.records.as_ref()?;
        Some(
            list.iter()
                .filter(|r| r.insurer == insurer && r.voucher == voucher)
                .cloned()
                .collect(),
        )
    }
}
