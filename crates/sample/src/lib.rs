//! # daiko-sample — realistic sample archives, with optional injected defects
//!
//! Generates submission archives (提供用アーカイブファイル) the way a checkup institution
//! sends them to an agency: invented but plausible people (kana names, ages 40–74,
//! addresses, insurance cards, vouchers), complete checkup CDAs (every mandatory and one-of
//! item, two blood-pressure readings and their average, detailed checkups with their
//! reasons, the questionnaire, 階層化 consistent with the values, the occasional urine test
//! not performed or waist omitted at BMI < 20), claims of every 請求区分 (basic, detailed,
//! additional, 人間ドック) whose co-payments are computed with [`daiko_format::money`] over
//! all six co-payment patterns, and the index and summary that match them. About 3 % of
//! checkups carry a result beyond the input range (a clamped PQ then an H/L flag, FORMAT.md
//! §6.4). Guidance archives (実施区分 2) carry first-session and final-evaluation claims of
//! 積極的 and 動機付け支援, early terminations (timing 3) and incomplete initial interviews
//! (timing 5). Output is deterministic for a seed.
//!
//! Alongside the archives, [`write_to_dir`] writes the reference data that agrees with
//! them (client insurers, the institution, voucher ledgers, coverage, contracts with their
//! prices; docs/reference-data.md), so the stage D and contract checks can run too.
//!
//! With a defect rate, about that share of the records (and some archives) carries one
//! injected defect each, and the [`ArchiveManifest`] says which check codes each defect
//! must trigger, which knock-on codes it may add, and at which file, so a checker can be
//! tested against it. An archive carries either one archive-level defect or record
//! defects, never both, because an archive rejection stops the record checks.
//!
//! [`generate_for_persons`] makes the checkup records about given people with the vouchers
//! issued to them ([`GivenPerson`]: a ledger row of vouchers.csv), e.g. to run vouchers
//! issued by daiko's invitation flow through the checker's stage D.
//!
//! Modules: [`people`] (names, addresses, numbers with check digits), [`clinical`]
//! (results, 階層化, CDA entries), [`record`] (checkup documents and claims), [`guidance`],
//! [`defects`], [`reference`](mod@reference).

mod archive;
pub mod clinical;
pub mod defects;
pub mod guidance;
pub mod people;
pub mod record;
pub mod reference;
mod rng;

use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

pub use archive::{generate, generate_for_persons};

/// Which fiscal year the services fall in, and so which schema generation is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    /// FY2023 services, 2018 schema generation (`http://tokuteikenshin.jp/checkup/2007`).
    #[serde(rename = "2018")]
    Fy2023,
    /// FY2024 services, 2024 schema generation.
    #[serde(rename = "2024")]
    Fy2024,
}

impl Period {
    /// From the CLI spelling `2018` / `2024`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "2018" => Some(Period::Fy2023),
            "2024" => Some(Period::Fy2024),
            _ => None,
        }
    }
    pub fn fiscal_year(self) -> i32 {
        match self {
            Period::Fy2023 => 2023,
            Period::Fy2024 => 2024,
        }
    }
    pub fn generation(self) -> daiko_format::Generation {
        daiko_format::Generation::for_fiscal_year(self.fiscal_year())
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    /// Number of checkup archives (実施区分 1; one service month each; at most 120).
    pub archives: usize,
    /// Records (persons) per archive.
    pub records: usize,
    /// Guidance archives (実施区分 2: first sessions and final evaluations) made in addition
    /// to the checkup archives.
    pub guidance_archives: usize,
    pub seed: u64,
    pub period: Period,
    /// Share of records (0.0–1.0) that carry one injected defect; archives get an
    /// archive-level defect with the same probability (except the first archive).
    pub defect_rate: f64,
    /// 送付元: 10-digit institution number; a valid one is invented when `None`.
    pub sender: Option<String>,
    /// 送付先: 8-digit agency number.
    pub receiver: String,
    /// Insurer numbers (8 digits) the persons belong to.
    pub insurers: Vec<String>,
    /// Also inject defects that only a check with the reference folder (`reference/`, see
    /// [`write_to_dir`]) can find (C-09, C-11, C-13, D-03 … D-06, U-01, U-03, the
    /// guidance sequence U-05, and T-06: an archive whose name is already in archives.csv).
    pub reference_defects: bool,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            archives: 1,
            records: 10,
            guidance_archives: 0,
            seed: 1,
            period: Period::Fy2023,
            defect_rate: 0.0,
            sender: None,
            receiver: "99000010".into(),
            insurers: people::default_insurers(),
            reference_defects: false,
        }
    }
}

impl SampleConfig {
    fn validate(&self) -> Result<(), SampleError> {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if self.archives > 120
            || self.guidance_archives > 120
            || self.archives + self.guidance_archives == 0
        {
            return Err(SampleError::Config(format!(
                "archives must be 0-120 each and at least one in all, found {} checkup and {} guidance",
                self.archives, self.guidance_archives
            )));
        }
        if self.records == 0 || self.records > 99_999 {
            return Err(SampleError::Config(format!(
                "records must be 1-99999, found {}",
                self.records
            )));
        }
        if !(0.0..=1.0).contains(&self.defect_rate) {
            return Err(SampleError::Config(format!(
                "defect rate must be 0.0-1.0, found {}",
                self.defect_rate
            )));
        }
        if let Some(s) = &self.sender
            && !digits(s, 10)
        {
            return Err(SampleError::Config(format!(
                "sender must be a 10-digit institution number, found `{s}`"
            )));
        }
        if !digits(&self.receiver, 8) {
            return Err(SampleError::Config(format!(
                "receiver must be an 8-digit agency number, found `{}`",
                self.receiver
            )));
        }
        if self.insurers.is_empty() {
            return Err(SampleError::Config(
                "at least one insurer number is needed".into(),
            ));
        }
        if let Some(bad) = self.insurers.iter().find(|i| !digits(i, 8)) {
            return Err(SampleError::Config(format!(
                "insurer numbers must have 8 digits, found `{bad}`"
            )));
        }
        Ok(())
    }
}

/// A given person with the 受診券 issued to them (e.g. by daiko's invitation flow), for
/// [`generate_for_persons`]: checkup records about exactly these people, carrying the
/// issued voucher number, expiry and co-payment settings, so the checker's stage D finds
/// them in the issuer's ledger. Nothing about the person is invented but the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenPerson {
    /// The voucher as a ledger row (the vouchers.csv columns): insurer, 整理番号, card
    /// symbol and number, kana name, birth date and expiry (`YYYYMMDD`), co-payment
    /// settings per category (an empty code = not covered).
    pub voucher: reference::VoucherRow,
    /// 男女区分
    pub sex: people::Sex,
    /// 枝番 (written in the 2024 generation).
    pub card_branch: String,
}

impl GivenPerson {
    /// Reads the row into what a record needs; the error names the voucher and the field.
    pub(crate) fn read(&self) -> Result<record::GivenVoucher, SampleError> {
        let v = &self.voucher;
        let bad = |what: &str, why: String| {
            SampleError::Config(format!("given voucher {}: {what}: {why}", v.voucher_number))
        };
        if v.voucher_number.len() != 11 || !v.voucher_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("voucher_number", "must have 11 digits".into()));
        }
        if v.kind != "1" {
            return Err(bad("kind", format!("`{}` is not 1 (受診券)", v.kind)));
        }
        let date = |what: &str, s: &str| {
            record::Date::parse_ymd(s).ok_or_else(|| bad(what, format!("`{s}` is not YYYYMMDD")))
        };
        let rule = |what: &str, s: &reference::Setting| s.rule().map_err(|e| bad(what, e));
        let none = daiko_format::money::CopaymentRule::None;
        Ok(record::GivenVoucher {
            sex: self.sex,
            name_kana: v.name_kana.clone(),
            birth: date("birth_date", &v.birth_date)?,
            card: people::Card {
                insurer: v.insurer_number.clone(),
                symbol: v.card_symbol.clone(),
                number: v.card_number.clone(),
                branch: self.card_branch.clone(),
            },
            expiry: date("expiry", &v.expiry)?,
            basic: rule("basic", &v.basic)?.unwrap_or(none),
            detail: rule("detail", &v.detail)?.unwrap_or(none),
            additional: rule("additional", &v.additional)?,
            dock: rule("dock", &v.dock)?,
        })
    }
}

/// Why samples could not be generated or written.
#[derive(Debug, Error)]
pub enum SampleError {
    #[error("invalid sample configuration: {0}")]
    Config(String),
    #[error("claim arithmetic: {0}")]
    Money(#[from] daiko_format::money::MoneyError),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("manifest: {0}")]
    Json(#[from] serde_json::Error),
}

/// One generated archive.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleArchive {
    /// File name, `{sender}_{receiver}_{YYYYMMDD}{n}_{S}.zip`.
    pub name: String,
    /// The ZIP bytes.
    pub zip: Vec<u8>,
    pub manifest: ArchiveManifest,
    /// Reference data (ledger, coverage, contracts) that agrees with this archive, except
    /// where a reference defect says otherwise.
    pub reference: reference::SampleReference,
}

/// What one archive holds and which defects were injected into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    /// The archive file name.
    pub archive: String,
    /// "2018" or "2024".
    pub generation: String,
    /// 実施区分 (1 checkup, 2 guidance).
    pub service_event_type: u8,
    pub records: Vec<RecordManifest>,
    pub defects: Vec<InjectedDefect>,
}

/// One record (data/claim pair) of an archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordManifest {
    /// `DATA/h….xml` (paths are relative to the archive's top folder).
    pub data_file: String,
    /// `CLAIMS/c….xml`
    pub claim_file: String,
    pub insurer: String,
    pub voucher: String,
    /// 請求区分 1-4 (empty for guidance).
    pub claim_type: String,
    /// 保健指導区分 of a guidance record (1 積極的支援, 2 動機付け支援).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance_level: Option<String>,
    /// Co-payment pattern (BUSINESS.md §5.1, 1-6) of the basic (or 人間ドック), detailed
    /// and additional categories on the voucher.
    pub copayment_basic: u8,
    pub copayment_detail: Option<u8>,
    pub copayment_other: Option<u8>,
    /// 他制度負担金額 (0 when none).
    pub other_program: u64,
    /// 請求金額 as written.
    pub claim_amount: String,
}

/// One injected defect: the codes a checker must report, at one of `files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedDefect {
    /// Stable short name of the defect kind, e.g. `payment-for-basic-wrong`.
    pub kind: String,
    /// Check codes (CHECKS.md) this defect must trigger.
    pub codes: Vec<String>,
    /// Knock-on codes a checker may also report for this defect (documented, not required),
    /// at `files` or at the index or summary (e.g. S-07 after a wrong claim amount, S-08
    /// when the record is returned).
    pub may_also: Vec<String>,
    /// Where the findings belong: entry paths relative to the top folder (`DATA/h….xml`,
    /// `ix08_V08.xml`), or the archive file name for archive-level defects. A finding at
    /// any one of them counts.
    pub files: Vec<String>,
    /// What was changed, in English.
    pub description: String,
}

/// The manifest of a whole run, written as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub archives: Vec<ArchiveManifest>,
}

/// Writes every archive as `DIR/{name}`, the manifest as `DIR/manifest.json`, and the
/// matching reference data as CSV files in `DIR/reference/` (for `daiko check --reference`).
pub fn write_to_dir(archives: &[SampleArchive], dir: &Path) -> Result<(), SampleError> {
    std::fs::create_dir_all(dir)?;
    for a in archives {
        std::fs::write(dir.join(&a.name), &a.zip)?;
    }
    if let Some(first) = archives.first() {
        let parts: Vec<&reference::SampleReference> =
            archives.iter().map(|a| &a.reference).collect();
        let files = reference::reference_files(
            &first.reference.institution,
            first.reference.fiscal_year,
            &first.reference.contracts,
            &parts,
        );
        let ref_dir = dir.join("reference");
        std::fs::create_dir_all(&ref_dir)?;
        for (name, text) in files {
            std::fs::write(ref_dir.join(name), text)?;
        }
    }
    let manifest = Manifest {
        archives: archives.iter().map(|a| a.manifest.clone()).collect(),
    };
    let json = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(dir.join("manifest.json"), json + "\n")?;
    Ok(())
}
