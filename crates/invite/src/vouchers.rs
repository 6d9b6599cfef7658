//! Vouchers: 受診券 (checkup, kind 1) and 利用券 (guidance, kind 2), BUSINESS.md §4.
//!
//! ## Numbering (整理番号, 11 digits; an insurer choice, not a national rule)
//!
//! `YY K SSSSSSSS`: the last two digits of the fiscal year, the voucher kind (1 受診券,
//! 2 利用券) and an 8-digit serial, e.g. `24 1 00000024`. Numbers are unique per insurer,
//! fiscal year and kind as long as the caller keeps the next serial per
//! (insurer, fiscal year, kind) and passes it back: issuing is deterministic —
//! members are numbered in card order (symbol, number, branch) from `next_serial`, and
//! [`Issued::next_serial`] is what to store for the next run.
//!
//! Issued vouchers become the insurer's ledger that the checker's stage D reads
//! (D-03/D-05/D-06, C-13, C-15): [`IssuedVoucher::to_record`] gives
//! [`daiko_check::reference::VoucherRecord`], [`write_vouchers_csv`] the `vouchers.csv`
//! of docs/reference-data.md.

use crate::roster::{CardKey, Member};
use daiko_check::reference::{CopaymentSetting, VoucherRecord};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// 券面種別.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherKind {
    /// 受診券 (1)
    Checkup,
    /// 利用券 (2)
    Guidance,
}

impl VoucherKind {
    pub fn digit(self) -> u8 {
        match self {
            VoucherKind::Checkup => 1,
            VoucherKind::Guidance => 2,
        }
    }
}

/// 保健指導レベル (別表12): 1 積極的支援, 2 動機付け支援, 3 動機付け支援相当.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportLevel {
    Active,
    Motivational,
    MotivationalEquivalent,
}

impl SupportLevel {
    /// The 別表12 code.
    pub fn code(self) -> u8 {
        match self {
            SupportLevel::Active => 1,
            SupportLevel::Motivational => 2,
            SupportLevel::MotivationalEquivalent => 3,
        }
    }
    pub fn from_code(c: u8) -> Option<SupportLevel> {
        match c {
            1 => Some(SupportLevel::Active),
            2 => Some(SupportLevel::Motivational),
            3 => Some(SupportLevel::MotivationalEquivalent),
            _ => None,
        }
    }
    pub fn ja(self) -> &'static str {
        match self {
            SupportLevel::Active => "積極的支援",
            SupportLevel::Motivational => "動機付け支援",
            SupportLevel::MotivationalEquivalent => "動機付け支援相当",
        }
    }
}

/// Largest 8-digit serial.
pub const MAX_SERIAL: u32 = 99_999_999;

/// An 11-digit 整理番号 `YY K SSSSSSSS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VoucherNumber(String);

impl VoucherNumber {
    /// The number of `serial` (1..=99,999,999) of `kind` in fiscal year `fy`.
    pub fn new(fy: i16, kind: VoucherKind, serial: u32) -> Result<VoucherNumber, VoucherError> {
        if !(1..=MAX_SERIAL).contains(&serial) {
            return Err(VoucherError::SerialOutOfRange { serial });
        }
        Ok(VoucherNumber(format!(
            "{:02}{}{:08}",
            fy.rem_euclid(100),
            kind.digit(),
            serial
        )))
    }
    /// Reads an 11-digit number in this scheme.
    pub fn parse(s: &str) -> Option<VoucherNumber> {
        let ok = s.len() == 11
            && s.bytes().all(|b| b.is_ascii_digit())
            && matches!(s.as_bytes()[2], b'1' | b'2');
        ok.then(|| VoucherNumber(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Last two digits of the fiscal year.
    pub fn fy2(&self) -> u8 {
        self.0[0..2].parse().unwrap_or(0)
    }
    pub fn kind(&self) -> VoucherKind {
        if self.0.as_bytes()[2] == b'2' {
            VoucherKind::Guidance
        } else {
            VoucherKind::Checkup
        }
    }
    pub fn serial(&self) -> u32 {
        self.0[3..].parse().unwrap_or(0)
    }
}

impl std::fmt::Display for VoucherNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A month and day, placed in a fiscal year: April–December in the starting year,
/// January–March in the next (so 3/31 is the end of the fiscal year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FyMonthDay {
    pub month: i8,
    pub day: i8,
}

impl FyMonthDay {
    /// The date in fiscal year `fy`; an impossible day (2/29 in a common year, 4/31) is
    /// an error.
    pub fn in_fy(self, fy: i16) -> Result<Date, VoucherError> {
        let year = if self.month <= 3 { fy + 1 } else { fy };
        Date::new(year, self.month, self.day).map_err(|_| VoucherError::BadExpiry {
            month: self.month,
            day: self.day,
        })
    }
}

/// The insurer's voucher settings (保険者の受診券・利用券設定).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherSettings {
    /// 保険者番号 (8 digits; 6 are zero-padded)
    pub insurer_number: String,
    /// 保険者名, printed
    pub insurer_name: String,
    /// 有効期限 of 受診券 within the fiscal year (e.g. 3/31)
    pub checkup_expiry: FyMonthDay,
    /// 有効期限 of 利用券 within the fiscal year after the one of the checkup
    /// (guidance runs on into the next year); e.g. 3/31 → 31 March FY+2.
    pub guidance_expiry: FyMonthDay,
    /// Co-payment per category (別表6: code 1 none, 2 amount, 3 rate, 4 cap; cap may
    /// accompany 2/3). `None` = the insurer does not pay for that category.
    pub basic: Option<CopaymentSetting>,
    pub detail: Option<CopaymentSetting>,
    pub additional: Option<CopaymentSetting>,
    pub dock: Option<CopaymentSetting>,
    /// Co-payment of guidance (利用券; written to the `basic_…` columns of the ledger).
    pub guidance: Option<CopaymentSetting>,
}

impl VoucherSettings {
    /// Checks the insurer number and every co-payment setting.
    pub fn validate(&self) -> Result<(), VoucherError> {
        let digits = self.insurer_number.trim();
        if !(6..=8).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VoucherError::BadInsurer(self.insurer_number.clone()));
        }
        for (cat, s) in [
            ("basic", &self.basic),
            ("detail", &self.detail),
            ("additional", &self.additional),
            ("dock", &self.dock),
            ("guidance", &self.guidance),
        ] {
            if let Some(s) = s {
                validate_copayment(cat, s)?;
            }
        }
        Ok(())
    }
    /// The insurer number zero-padded to 8 digits.
    pub fn insurer8(&self) -> String {
        format!("{:0>8}", self.insurer_number.trim())
    }
}

fn validate_copayment(category: &'static str, s: &CopaymentSetting) -> Result<(), VoucherError> {
    let bad = |reason: &'static str| VoucherError::BadCopayment { category, reason };
    match s.code {
        1 => {
            if s.amount.is_some() || s.rate.is_some() || s.cap.is_some() {
                return Err(bad("code 1 (none) takes no amount, rate or cap"));
            }
        }
        2 => {
            if s.amount.is_none() || s.rate.is_some() {
                return Err(bad("code 2 needs an amount and no rate"));
            }
        }
        3 => match s.rate {
            Some(r) if r <= 100_000 && s.amount.is_none() => {}
            _ => {
                return Err(bad(
                    "code 3 needs a rate 0..=100000 (30 % = 30000) and no amount",
                ));
            }
        },
        4 => {
            if s.cap.is_none() || s.amount.is_some() || s.rate.is_some() {
                return Err(bad("code 4 needs a cap only"));
            }
        }
        _ => return Err(bad("code must be 1-4")),
    }
    Ok(())
}

/// Why vouchers cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherError {
    #[error("serial {serial} is outside 1..=99999999 (8 digits)")]
    SerialOutOfRange { serial: u32 },
    #[error("not enough serials: {needed} vouchers from serial {next_serial} pass 99999999")]
    SerialsExhausted { next_serial: u32, needed: usize },
    #[error("insurer number {0:?} must have 6-8 digits")]
    BadInsurer(String),
    #[error("co-payment setting of {category}: {reason}")]
    BadCopayment {
        category: &'static str,
        reason: &'static str,
    },
    #[error("expiry {month}/{day} is not a date")]
    BadExpiry { month: i8, day: i8 },
    #[error("member {0} appears twice in one issue")]
    DuplicateMember(CardKey),
}

/// One issued voucher (a row of the issuance ledger 発行台帳).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedVoucher {
    /// 保険者番号 (8 digits)
    pub insurer: String,
    pub kind: VoucherKind,
    pub number: VoucherNumber,
    pub fiscal_year: i16,
    pub card: CardKey,
    /// 氏名 (kanji), printed
    pub name: String,
    /// 氏名カナ, in the ledger
    pub name_kana: String,
    pub birth_date: Date,
    /// 有効期限
    pub expiry: Date,
    pub basic: Option<CopaymentSetting>,
    pub detail: Option<CopaymentSetting>,
    pub additional: Option<CopaymentSetting>,
    pub dock: Option<CopaymentSetting>,
    /// 利用券 only
    pub guidance_level: Option<SupportLevel>,
}

impl IssuedVoucher {
    /// The checker's ledger record (stage D).
    pub fn to_record(&self) -> VoucherRecord {
        VoucherRecord {
            insurer: self.insurer.clone(),
            kind: self.kind.digit(),
            number: self.number.as_str().to_string(),
            card_symbol: self.card.symbol.clone(),
            card_number: self.card.number.clone(),
            name: self.name_kana.clone(),
            birth_date: check_date(self.birth_date),
            expiry: check_date(self.expiry),
            basic: self.basic,
            detail: self.detail,
            additional: self.additional,
            dock: self.dock,
            guidance_level: self.guidance_level.map(|l| l.code().to_string()),
        }
    }
}

fn check_date(d: Date) -> Option<daiko_check::Date> {
    daiko_check::Date::new(i32::from(d.year()), d.month() as u32, d.day() as u32)
}

/// The outcome of one issuing run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub vouchers: Vec<IssuedVoucher>,
    /// The serial to pass next time for the same insurer, fiscal year and kind.
    pub next_serial: u32,
}

/// Issues 受診券 to `members` (normally the targets) for fiscal year `fy`, numbered in
/// card order from `next_serial`. The expiry is the insurer's, but never after
/// the member's last eligible day when given (`eligible_until`, e.g. the day before the
/// 75th birthday: [`crate::targets::TargetDecision::eligible_until`]).
pub fn issue_checkup(
    settings: &VoucherSettings,
    fy: i16,
    members: &[(&Member, Option<Date>)],
    next_serial: u32,
) -> Result<Issued, VoucherError> {
    settings.validate()?;
    let expiry = settings.checkup_expiry.in_fy(fy)?;
    let items: Vec<(&Member, Date, Option<SupportLevel>)> = members
        .iter()
        .map(|(m, until)| (*m, until.map_or(expiry, |u| u.min(expiry)), None))
        .collect();
    issue(settings, fy, VoucherKind::Checkup, items, next_serial)
}

/// Issues 利用券 to members whose checkup gave a support level (別表12), for the fiscal
/// year `fy` of the checkup; expiry is `guidance_expiry` in fiscal year `fy + 1`.
pub fn issue_guidance(
    settings: &VoucherSettings,
    fy: i16,
    members: &[(&Member, SupportLevel)],
    next_serial: u32,
) -> Result<Issued, VoucherError> {
    settings.validate()?;
    let expiry = settings.guidance_expiry.in_fy(fy + 1)?;
    let items = members
        .iter()
        .map(|(m, level)| (*m, expiry, Some(*level)))
        .collect();
    issue(settings, fy, VoucherKind::Guidance, items, next_serial)
}

fn issue(
    settings: &VoucherSettings,
    fy: i16,
    kind: VoucherKind,
    mut items: Vec<(&Member, Date, Option<SupportLevel>)>,
    next_serial: u32,
) -> Result<Issued, VoucherError> {
    items.sort_by(|a, b| a.0.card.cmp(&b.0.card));
    if let Some(w) = items.windows(2).find(|w| w[0].0.card == w[1].0.card) {
        return Err(VoucherError::DuplicateMember(w[0].0.card.clone()));
    }
    let start = next_serial.max(1);
    let last = u64::from(start) + items.len() as u64;
    if last > u64::from(MAX_SERIAL) + 1 {
        return Err(VoucherError::SerialsExhausted {
            next_serial: start,
            needed: items.len(),
        });
    }
    let insurer = settings.insurer8();
    let mut vouchers = Vec::with_capacity(items.len());
    for (i, (m, expiry, level)) in items.into_iter().enumerate() {
        let serial = start + i as u32;
        let (basic, detail, additional, dock) = match kind {
            VoucherKind::Checkup => (
                settings.basic,
                settings.detail,
                settings.additional,
                settings.dock,
            ),
            VoucherKind::Guidance => (settings.guidance, None, None, None),
        };
        vouchers.push(IssuedVoucher {
            insurer: insurer.clone(),
            kind,
            number: VoucherNumber::new(fy, kind, serial)?,
            fiscal_year: fy,
            card: m.card.clone(),
            name: m.name.clone(),
            name_kana: m.name_kana.clone(),
            birth_date: m.birth_date,
            expiry,
            basic,
            detail,
            additional,
            dock,
            guidance_level: level,
        });
    }
    Ok(Issued {
        vouchers,
        next_serial: last as u32,
    })
}

/// The `vouchers.csv` header of docs/reference-data.md.
pub const VOUCHERS_CSV_HEADER: [&str; 25] = [
    "insurer_number",
    "kind",
    "voucher_number",
    "card_symbol",
    "card_number",
    "name_kana",
    "birth_date",
    "expiry",
    "basic_code",
    "basic_amount",
    "basic_rate",
    "basic_cap",
    "detail_code",
    "detail_amount",
    "detail_rate",
    "detail_cap",
    "additional_code",
    "additional_amount",
    "additional_rate",
    "additional_cap",
    "dock_code",
    "dock_amount",
    "dock_rate",
    "dock_cap",
    "guidance_level",
];

/// Writes vouchers as `vouchers.csv` (UTF-8, dates `YYYYMMDD`), which
/// `daiko_check::reference::parse_vouchers_csv` and `daiko check --reference` read.
pub fn write_vouchers_csv<W: std::io::Write>(
    w: W,
    vouchers: &[IssuedVoucher],
) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(VOUCHERS_CSV_HEADER)?;
    for v in vouchers {
        let mut row: Vec<String> = vec![
            v.insurer.clone(),
            v.kind.digit().to_string(),
            v.number.to_string(),
            v.card.symbol.clone(),
            v.card.number.clone(),
            v.name_kana.clone(),
            v.birth_date.strftime("%Y%m%d").to_string(),
            v.expiry.strftime("%Y%m%d").to_string(),
        ];
        for c in [v.basic, v.detail, v.additional, v.dock] {
            match c {
                Some(c) => row.extend([c.code.to_string(), opt(c.amount), opt(c.rate), opt(c.cap)]),
                None => row.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        row.push(
            v.guidance_level
                .map(|l| l.code().to_string())
                .unwrap_or_default(),
        );
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The co-payment as printed on the letter, e.g. "1,000円", "費用の30%", "無料",
/// "上限 5,000円を超える額".
pub fn copayment_text(s: Option<&CopaymentSetting>) -> String {
    let Some(s) = s else {
        return "対象外".to_string();
    };
    let base = match s.code {
        1 => "無料".to_string(),
        2 => format!("{}円", yen(s.amount.unwrap_or(0))),
        3 => {
            let r = s.rate.unwrap_or(0);
            // 6-digit scaled rate: 30000 = 30 %; show one decimal only when needed.
            if r % 1000 == 0 {
                format!("費用の{}%", r / 1000)
            } else {
                format!("費用の{}.{:02}%", r / 1000, (r % 1000) / 10)
            }
        }
        4 => format!("保険者負担上限{}円を超える額", yen(s.cap.unwrap_or(0))),
        _ => String::new(),
    };
    match (s.code, s.cap) {
        (2 | 3, Some(cap)) => format!("{base}(保険者負担上限{}円)", yen(cap)),
        _ => base,
    }
}

/// 1234567 → "1,234,567".
pub fn yen(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
