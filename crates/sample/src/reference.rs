//! The insurer reference data that matches the samples (docs/reference-data.md): client
//! insurers, the registered institution, voucher ledgers, coverage, and contracts with
//! their unit prices. `daiko check --reference DIR/reference` then runs the stage D and
//! contract checks against the samples; reference defects make the data disagree with an
//! archive on purpose.

use crate::InjectedDefect;
use crate::guidance::GuidanceDraft;
use crate::record::RecordDraft;
use daiko_format::money::{CopaymentRule, MoneyError};
use serde::{Deserialize, Serialize};

/// The contract terms of one insurer with the sample institution (one fiscal year).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractTerms {
    pub insurer: String,
    /// 基本的な健診 price for 委託料単価区分 1 (個別) and 2 (集団).
    pub basic_individual: u64,
    pub basic_group: u64,
    pub dock: u64,
    /// Guidance price for 保健指導区分 1 and 2.
    pub guidance_active: u64,
    pub guidance_motivational: u64,
    /// Payment share (%) of the guidance price due at the first session (保健指導実施時点 1).
    pub first_share: u64,
    /// Whether a burden paid by another programme is accepted (C-11).
    pub other_program: bool,
}

impl ContractTerms {
    /// The terms of the `index`-th insurer (prices vary between insurers, as real contracts do).
    pub fn for_insurer(insurer: &str, index: usize) -> ContractTerms {
        let pick = |xs: &[u64]| xs.get(index % xs.len()).copied().unwrap_or(0);
        ContractTerms {
            insurer: insurer.to_owned(),
            basic_individual: pick(&[8_580, 7_680, 9_310, 8_250]),
            basic_group: pick(&[7_150, 6_600, 6_930, 7_040]),
            dock: pick(&[38_500, 33_000, 44_000, 41_800]),
            guidance_active: pick(&[52_000, 45_000, 60_000, 48_000]),
            guidance_motivational: pick(&[22_000, 18_000, 25_000, 20_000]),
            first_share: pick(&[40, 50, 60, 80]),
            // Municipal 国保 (the 4th default insurer) accepts other-programme burdens.
            other_program: index % 4 == 3,
        }
    }
}

/// A voucher ledger row (vouchers.csv).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherRow {
    pub insurer_number: String,
    /// 券面種別: 1 受診券, 2 利用券.
    pub kind: String,
    pub voucher_number: String,
    pub card_symbol: String,
    pub card_number: String,
    pub name_kana: String,
    pub birth_date: String,
    pub expiry: String,
    pub basic: Setting,
    pub detail: Setting,
    pub additional: Setting,
    pub dock: Setting,
    pub guidance_level: String,
}

/// One category's co-payment setting in the ledger's columns (code, amount, rate, cap).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub code: String,
    pub amount: String,
    pub rate: String,
    pub cap: String,
}

impl Setting {
    pub fn of(rule: Option<CopaymentRule>) -> Setting {
        let s = |v: u64| v.to_string();
        match rule {
            None => Setting::default(),
            Some(CopaymentRule::None) => Setting {
                code: "1".into(),
                ..Setting::default()
            },
            Some(CopaymentRule::Fixed { amount }) => Setting {
                code: "2".into(),
                amount: s(amount),
                ..Setting::default()
            },
            Some(CopaymentRule::Rate { rate }) => Setting {
                code: "3".into(),
                rate: s(u64::from(rate.scaled())),
                ..Setting::default()
            },
            Some(CopaymentRule::Cap { cap }) => Setting {
                code: "4".into(),
                cap: s(cap),
                ..Setting::default()
            },
            Some(CopaymentRule::FixedWithCap { amount, cap }) => Setting {
                code: "2".into(),
                amount: s(amount),
                cap: s(cap),
                ..Setting::default()
            },
            Some(CopaymentRule::RateWithCap { rate, cap }) => Setting {
                code: "3".into(),
                rate: s(u64::from(rate.scaled())),
                cap: s(cap),
                ..Setting::default()
            },
        }
    }
}

impl Setting {
    /// The co-payment rule these columns state (the inverse of [`Setting::of`]): `None`
    /// when the code is empty (the category is not covered); an error names what is wrong.
    pub fn rule(&self) -> Result<Option<CopaymentRule>, String> {
        let num = |what: &str, v: &str| -> Result<Option<u64>, String> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                v.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{what} `{v}` is not a whole number"))
            }
        };
        let amount = num("amount", &self.amount)?;
        let rate = num("rate", &self.rate)?;
        let cap = num("cap", &self.cap)?;
        let rate_of = |r: Option<u64>| -> Result<daiko_format::money::CopayRate, String> {
            let r = r.ok_or("code 3 needs a rate")?;
            daiko_format::money::CopayRate::from_scaled(r).map_err(|e| e.to_string())
        };
        let need = |v: Option<u64>, what: &str| v.ok_or(format!("code {} needs {what}", self.code));
        Ok(Some(match (self.code.trim(), cap) {
            ("", _) => return Ok(None),
            ("1", None) => CopaymentRule::None,
            ("1" | "4", Some(cap)) => CopaymentRule::Cap { cap },
            ("2", None) => CopaymentRule::Fixed {
                amount: need(amount, "an amount")?,
            },
            ("2", Some(cap)) => CopaymentRule::FixedWithCap {
                amount: need(amount, "an amount")?,
                cap,
            },
            ("3", None) => CopaymentRule::Rate {
                rate: rate_of(rate)?,
            },
            ("3", Some(cap)) => CopaymentRule::RateWithCap {
                rate: rate_of(rate)?,
                cap,
            },
            (code, _) => {
                return Err(format!(
                    "co-payment code `{code}` is not 1-4 with what it needs"
                ));
            }
        }))
    }
}

/// A coverage row (coverage.csv).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub insurer_number: String,
    pub card_symbol: String,
    pub card_number: String,
    pub valid_from: String,
    pub valid_to: String,
}

/// A prior record (records.csv).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorRecordRow {
    pub insurer_number: String,
    pub card_number: String,
    pub voucher_number: String,
    pub service_event_type: String,
    /// 保健指導実施時点 of a guidance record (empty for checkups).
    pub guidance_timing: String,
    pub service_date: String,
    pub state: String,
}

/// The reference rows one archive contributes (with the contract terms of the run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleReference {
    /// The sending institution (institutions.csv, contracts.csv).
    pub institution: String,
    pub fiscal_year: i32,
    pub contracts: Vec<ContractTerms>,
    pub vouchers: Vec<VoucherRow>,
    pub coverage: Vec<CoverageRow>,
    pub prior_records: Vec<PriorRecordRow>,
    /// Archive names the agency received before (archives.csv; T-06).
    #[serde(default)]
    pub received_archives: Vec<String>,
}

fn csv_line(out: &mut String, cells: &[&str]) {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                (*c).to_owned()
            }
        })
        .collect();
    out.push_str(&quoted.join(","));
    out.push('\n');
}

/// The CSV files of the reference folder: (file name, contents).
pub fn reference_files(
    institution: &str,
    fiscal_year: i32,
    contracts: &[ContractTerms],
    parts: &[&SampleReference],
) -> Vec<(&'static str, String)> {
    let mut insurers = String::new();
    csv_line(
        &mut insurers,
        &["insurer_number", "name", "mandate_from", "mandate_to"],
    );
    for c in contracts {
        csv_line(&mut insurers, &[&c.insurer, "", "", ""]);
    }

    let mut institutions = String::new();
    csv_line(&mut institutions, &["institution_number", "name"]);
    csv_line(&mut institutions, &[institution, ""]);

    let mut vouchers = String::new();
    const HEADER: [&str; 25] = [
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
    let header = HEADER.to_vec();
    csv_line(&mut vouchers, &header);
    for v in parts.iter().flat_map(|p| &p.vouchers) {
        let mut cells: Vec<&str> = vec![
            &v.insurer_number,
            &v.kind,
            &v.voucher_number,
            &v.card_symbol,
            &v.card_number,
            &v.name_kana,
            &v.birth_date,
            &v.expiry,
        ];
        for s in [&v.basic, &v.detail, &v.additional, &v.dock] {
            cells.extend([s.code.as_str(), &s.amount, &s.rate, &s.cap]);
        }
        cells.push(&v.guidance_level);
        csv_line(&mut vouchers, &cells);
    }

    let mut coverage = String::new();
    csv_line(
        &mut coverage,
        &[
            "insurer_number",
            "card_symbol",
            "card_number",
            "valid_from",
            "valid_to",
        ],
    );
    for c in parts.iter().flat_map(|p| &p.coverage) {
        csv_line(
            &mut coverage,
            &[
                &c.insurer_number,
                &c.card_symbol,
                &c.card_number,
                &c.valid_from,
                &c.valid_to,
            ],
        );
    }

    let mut contract_rows = String::new();
    csv_line(
        &mut contract_rows,
        &[
            "insurer_number",
            "institution_number",
            "fiscal_year",
            "commission_type",
            "valid_from",
            "valid_to",
            "item",
            "price",
        ],
    );
    let fy = fiscal_year.to_string();
    for c in contracts {
        for (commission, basic) in [("1", c.basic_individual), ("2", c.basic_group)] {
            let mut rows: Vec<(String, String)> = vec![("basic".into(), basic.to_string())];
            for (code, price) in crate::clinical::DETAIL_PRICES {
                rows.push((format!("detail:{code}"), price.to_string()));
            }
            rows.push((
                format!("additional:{}", crate::clinical::URIC_ACID),
                crate::clinical::URIC_ACID_PRICE.to_string(),
            ));
            rows.push(("dock".into(), c.dock.to_string()));
            rows.push(("guidance:1".into(), c.guidance_active.to_string()));
            rows.push(("guidance:2".into(), c.guidance_motivational.to_string()));
            rows.push(("share:1".into(), c.first_share.to_string()));
            rows.push(("share:2".into(), (100 - c.first_share.min(100)).to_string()));
            // 初回面接未完了: half the first share (the samples' contract term). Early
            // termination (3) is paid by the support done, so it has no fixed share.
            rows.push(("share:5".into(), (c.first_share / 2).to_string()));
            rows.push((
                "other_program".into(),
                if c.other_program { "1" } else { "0" }.into(),
            ));
            for (item, price) in rows {
                csv_line(
                    &mut contract_rows,
                    &[
                        &c.insurer,
                        institution,
                        &fy,
                        commission,
                        "",
                        "",
                        &item,
                        &price,
                    ],
                );
            }
        }
    }

    let mut records = String::new();
    csv_line(
        &mut records,
        &[
            "insurer_number",
            "card_number",
            "voucher_number",
            "service_event_type",
            "guidance_timing",
            "service_date",
            "state",
        ],
    );
    for r in parts.iter().flat_map(|p| &p.prior_records) {
        csv_line(
            &mut records,
            &[
                &r.insurer_number,
                &r.card_number,
                &r.voucher_number,
                &r.service_event_type,
                &r.guidance_timing,
                &r.service_date,
                &r.state,
            ],
        );
    }
    let mut archives = String::new();
    csv_line(&mut archives, &["archive_name", "sha256"]);
    for name in parts.iter().flat_map(|p| &p.received_archives) {
        csv_line(&mut archives, &[name, ""]);
    }

    vec![
        ("insurers.csv", insurers),
        ("institutions.csv", institutions),
        ("vouchers.csv", vouchers),
        ("coverage.csv", coverage),
        ("contracts.csv", contract_rows),
        ("records.csv", records),
        ("archives.csv", archives),
    ]
}

/// Defects that make the reference data (or a claim's price terms) disagree with the
/// archive; injected only when [`crate::SampleConfig::reference_defects`] is set, because
/// a checker finds them only with the reference folder loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceDefect {
    /// The claim's basic price is not the contract price (C-09).
    PriceNotContract,
    /// An other-programme burden where the contract does not accept one (C-11).
    OtherProgramNotAllowed,
    /// The voucher is not in the insurer's ledger (D-03).
    VoucherNotInLedger,
    /// The person's coverage ended before the service date (D-04).
    NotCovered,
    /// The ledger's basic co-payment setting differs from the claim's (D-06).
    LedgerCopayDiffers,
    /// The ledger's expiry differs from the claim's (C-13).
    LedgerExpiryDiffers,
    /// A paid checkup of the same person and voucher exists this fiscal year (U-01, D-05).
    AlreadyPaid,
    /// A live checkup of the same person exists this fiscal year (U-03).
    LiveDuplicate,
}

impl ReferenceDefect {
    pub const ALL: &'static [ReferenceDefect] = &[
        ReferenceDefect::PriceNotContract,
        ReferenceDefect::OtherProgramNotAllowed,
        ReferenceDefect::VoucherNotInLedger,
        ReferenceDefect::NotCovered,
        ReferenceDefect::LedgerCopayDiffers,
        ReferenceDefect::LedgerExpiryDiffers,
        ReferenceDefect::AlreadyPaid,
        ReferenceDefect::LiveDuplicate,
    ];

    /// (kind, codes, whether the claim alone is the file, description).
    pub fn spec(self) -> (&'static str, &'static [&'static str], bool, &'static str) {
        use ReferenceDefect::*;
        match self {
            PriceNotContract => (
                "price-not-contract",
                &["C-09"],
                true,
                "the basic price is 110 yen above the contract price (amounts follow it)",
            ),
            OtherProgramNotAllowed => (
                "other-program-not-allowed",
                &["C-11"],
                true,
                "an other-programme burden of 500 yen under a contract that accepts none",
            ),
            VoucherNotInLedger => (
                "voucher-not-in-ledger",
                &["D-03"],
                false,
                "the voucher is missing from vouchers.csv",
            ),
            NotCovered => (
                "not-covered",
                &["D-04"],
                false,
                "coverage.csv ends the person's coverage before the service date",
            ),
            LedgerCopayDiffers => (
                "ledger-copay-differs",
                &["D-06"],
                false,
                "vouchers.csv has another basic co-payment setting than the claim",
            ),
            LedgerExpiryDiffers => (
                "ledger-expiry-differs",
                &["C-13"],
                false,
                "vouchers.csv has another expiry than the claim",
            ),
            AlreadyPaid => (
                "already-paid",
                &["U-01", "D-05"],
                false,
                "records.csv holds a paid checkup with the same voucher this fiscal year",
            ),
            LiveDuplicate => (
                "live-duplicate",
                &["U-03"],
                false,
                "records.csv holds a live checkup of the same person this fiscal year",
            ),
        }
    }
}

/// Guidance sequence defects (U-05) that only the agency's history shows; injected only
/// with [`crate::SampleConfig::reference_defects`], on guidance records without another
/// defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidanceSequenceDefect {
    /// A final evaluation or early termination whose first-session claim is missing from
    /// records.csv.
    FinalWithoutFirst,
    /// A first-session claim whose voucher already has a paid first-session claim in
    /// records.csv.
    SecondFirstSession,
}

impl GuidanceSequenceDefect {
    pub const ALL: &'static [GuidanceSequenceDefect] = &[
        GuidanceSequenceDefect::FinalWithoutFirst,
        GuidanceSequenceDefect::SecondFirstSession,
    ];

    /// Whether the defect fits a record of this timing.
    pub fn fits(self, d: &GuidanceDraft) -> bool {
        match self {
            GuidanceSequenceDefect::FinalWithoutFirst => matches!(d.timing, 2 | 3),
            GuidanceSequenceDefect::SecondFirstSession => d.timing == 1,
        }
    }

    /// The manifest entry (U-05 at the claim; S-08 when the record is returned).
    pub fn describe(self, d: &GuidanceDraft) -> InjectedDefect {
        let (kind, description) = match self {
            GuidanceSequenceDefect::FinalWithoutFirst => (
                "guidance-final-without-first",
                "records.csv has no first-session claim for this final or stopped guidance",
            ),
            GuidanceSequenceDefect::SecondFirstSession => (
                "guidance-second-first-session",
                "records.csv already holds a paid first-session claim of this guidance voucher",
            ),
        };
        InjectedDefect {
            kind: kind.into(),
            codes: vec!["U-05".into()],
            may_also: vec!["S-08".into()],
            files: vec![d.data_path(), d.claim_path()],
            description: description.into(),
        }
    }

    /// Makes the history disagree with the record.
    pub fn apply_to_rows(self, d: &GuidanceDraft, r: &mut SampleReference) {
        let c = &d.claim;
        let insurer = &c.subject.insurance_card.insurer_number.extension;
        let voucher = c
            .card
            .id
            .as_ref()
            .map(|i| i.extension.clone())
            .unwrap_or_default();
        match self {
            GuidanceSequenceDefect::FinalWithoutFirst => r.prior_records.retain(|p| {
                !(p.insurer_number == *insurer
                    && p.voucher_number == voucher
                    && p.guidance_timing == "1")
            }),
            GuidanceSequenceDefect::SecondFirstSession => {
                // The earlier first session, a month before this one.
                let mut earlier = d.first_session;
                for _ in 0..30 {
                    earlier = earlier.minus_one_day();
                }
                r.prior_records.push(PriorRecordRow {
                    insurer_number: insurer.clone(),
                    card_number: c.subject.insurance_card.number.extension.clone(),
                    voucher_number: voucher,
                    service_event_type: "2".into(),
                    guidance_timing: "1".into(),
                    service_date: earlier.ymd(),
                    state: "paid".into(),
                })
            }
        }
    }
}

/// Deals reference defects in turn; a kind that does not fit a record stays first in line.
#[derive(Debug)]
pub struct ReferenceDeck {
    cards: Vec<ReferenceDefect>,
    next: usize,
}

impl Default for ReferenceDeck {
    fn default() -> Self {
        ReferenceDeck {
            cards: ReferenceDefect::ALL.to_vec(),
            next: 0,
        }
    }
}

impl ReferenceDeck {
    pub fn deal(
        &mut self,
        d: &RecordDraft,
        terms: Option<&ContractTerms>,
    ) -> Option<ReferenceDefect> {
        let n = self.cards.len();
        for k in 0..n {
            let at = (self.next + k) % n;
            let defect = self.cards.get(at).copied()?;
            if fits(defect, d, terms) {
                self.cards.swap(self.next % n, at);
                self.next += 1;
                return Some(defect);
            }
        }
        None
    }
}

fn fits(defect: ReferenceDefect, d: &RecordDraft, terms: Option<&ContractTerms>) -> bool {
    let basic = d.amounts.basic;
    match defect {
        ReferenceDefect::PriceNotContract => d.bill.basic.is_some(),
        ReferenceDefect::OtherProgramNotAllowed => {
            terms.is_some_and(|t| !t.other_program)
                && d.bill.basic.is_some()
                && d.bill.other_program == 0
        }
        ReferenceDefect::LedgerCopayDiffers => {
            basic.is_some_and(|b| b.copayment + b.other_applied + 100 <= b.price)
        }
        _ => true,
    }
}

/// Applies the claim side of a reference defect (C-09, C-11) and describes the defect.
pub fn apply_to_record(
    defect: ReferenceDefect,
    d: &mut RecordDraft,
) -> Result<InjectedDefect, MoneyError> {
    match defect {
        ReferenceDefect::PriceNotContract => {
            if let Some(b) = d.bill.basic.as_mut() {
                b.price += 110;
            }
            d.rebill()?;
        }
        ReferenceDefect::OtherProgramNotAllowed => {
            d.bill.other_program = 500;
            d.rebill()?;
        }
        _ => {}
    }
    let (kind, codes, claim_only, description) = defect.spec();
    Ok(InjectedDefect {
        kind: kind.into(),
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        may_also: vec!["S-08".into()],
        files: if claim_only {
            vec![d.claim_path()]
        } else {
            vec![d.data_path(), d.claim_path()]
        },
        description: description.into(),
    })
}

/// Applies the reference side of a defect to the rows.
pub fn apply_to_rows(defect: ReferenceDefect, d: &RecordDraft, r: &mut SampleReference) {
    let insurer = &d.claim.subject.insurance_card.insurer_number.extension;
    let card_number = &d.claim.subject.insurance_card.number.extension;
    let row = r
        .vouchers
        .iter_mut()
        .find(|v| v.kind == "1" && v.voucher_number == d.voucher && v.insurer_number == *insurer);
    let fy = d.service_date.fiscal_year();
    match defect {
        ReferenceDefect::VoucherNotInLedger => {
            r.vouchers.retain(|v| {
                !(v.kind == "1" && v.voucher_number == d.voucher && v.insurer_number == *insurer)
            });
        }
        ReferenceDefect::NotCovered => {
            for c in r
                .coverage
                .iter_mut()
                .filter(|c| c.insurer_number == *insurer && c.card_number == *card_number)
            {
                c.valid_to = d.service_date.minus_one_day().ymd();
            }
        }
        ReferenceDefect::LedgerCopayDiffers => {
            if let (Some(v), Some(b)) = (row, d.amounts.basic) {
                v.basic = Setting {
                    code: "2".into(),
                    amount: (b.copayment + 100).to_string(),
                    ..Setting::default()
                };
            }
        }
        ReferenceDefect::LedgerExpiryDiffers => {
            if let Some(v) = row {
                v.expiry = format!("{}0630", fy + 1);
            }
        }
        ReferenceDefect::AlreadyPaid | ReferenceDefect::LiveDuplicate => {
            let paid = defect == ReferenceDefect::AlreadyPaid;
            // The live duplicate came with another voucher of the same person.
            let voucher = if paid {
                d.voucher.clone()
            } else {
                let (head, last) = d.voucher.split_at(d.voucher.len().saturating_sub(1));
                let digit = last.bytes().next().map_or(0, |b| b.wrapping_sub(b'0') % 10);
                format!("{head}{}", (digit + 5) % 10)
            };
            r.prior_records.push(PriorRecordRow {
                insurer_number: insurer.clone(),
                card_number: card_number.clone(),
                voucher_number: voucher,
                service_event_type: "1".into(),
                guidance_timing: String::new(),
                service_date: format!("{fy}0415"),
                state: if paid { "paid" } else { "active" }.into(),
            });
        }
        ReferenceDefect::PriceNotContract | ReferenceDefect::OtherProgramNotAllowed => {}
    }
}

fn coverage_of(insurer: &str, symbol: Option<&str>, number: &str) -> CoverageRow {
    CoverageRow {
        insurer_number: insurer.to_owned(),
        card_symbol: symbol.unwrap_or_default().to_owned(),
        card_number: number.to_owned(),
        valid_from: "20150401".into(),
        valid_to: String::new(),
    }
}

/// Ledger and coverage rows that agree with the checkup claims as written.
pub fn checkup_rows(drafts: &[RecordDraft]) -> SampleReference {
    let mut r = SampleReference::default();
    for d in drafts {
        let c = &d.claim;
        let card = &c.subject.insurance_card;
        let symbol = card.symbol.as_ref().map(|s| s.extension.as_str());
        r.vouchers.push(VoucherRow {
            insurer_number: card.insurer_number.extension.clone(),
            kind: "1".into(),
            voucher_number: c
                .card
                .id
                .as_ref()
                .map(|i| i.extension.clone())
                .unwrap_or_default(),
            card_symbol: symbol.unwrap_or_default().to_owned(),
            card_number: card.number.extension.clone(),
            name_kana: c.subject.name.clone(),
            // The person's real birth date (a defect may have written an impossible one).
            birth_date: d.person.birth.clone(),
            expiry: c.card.expiry.clone().unwrap_or_default(),
            basic: Setting::of(d.bill.basic.map(|b| b.rule)),
            detail: Setting::of(d.bill.detail.map(|b| b.rule)),
            additional: Setting::of(d.bill.other.map(|b| b.rule)),
            dock: Setting::of(d.dock.map(|b| b.rule)),
            guidance_level: String::new(),
        });
        r.coverage.push(coverage_of(
            &card.insurer_number.extension,
            symbol,
            &card.number.extension,
        ));
    }
    r
}

/// Ledger (利用券) and coverage rows that agree with the guidance claims.
pub fn guidance_rows(drafts: &[GuidanceDraft]) -> SampleReference {
    let mut r = SampleReference::default();
    for d in drafts {
        let c = &d.claim;
        let card = &c.subject.insurance_card;
        let symbol = card.symbol.as_ref().map(|s| s.extension.as_str());
        r.vouchers.push(VoucherRow {
            insurer_number: card.insurer_number.extension.clone(),
            kind: "2".into(),
            voucher_number: c
                .card
                .id
                .as_ref()
                .map(|i| i.extension.clone())
                .unwrap_or_default(),
            card_symbol: symbol.unwrap_or_default().to_owned(),
            card_number: card.number.extension.clone(),
            name_kana: c.subject.name.clone(),
            birth_date: c.subject.birth_time.clone(),
            expiry: c.card.expiry.clone().unwrap_or_default(),
            basic: Setting::of(Some(d.rule)),
            guidance_level: d.level.to_string(),
            ..VoucherRow::default()
        });
        r.coverage.push(coverage_of(
            &card.insurer_number.extension,
            symbol,
            &card.number.extension,
        ));
        if matches!(d.timing, 2 | 3) {
            // The first session of this programme was received (and paid) before (U-05).
            r.prior_records.push(PriorRecordRow {
                insurer_number: card.insurer_number.extension.clone(),
                card_number: card.number.extension.clone(),
                voucher_number: c
                    .card
                    .id
                    .as_ref()
                    .map(|i| i.extension.clone())
                    .unwrap_or_default(),
                service_event_type: "2".into(),
                guidance_timing: "1".into(),
                service_date: d.first_session.ymd(),
                state: "paid".into(),
            });
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use daiko_format::money::CopayRate;

    #[test]
    fn a_setting_reads_back_as_the_rule_it_was_written_from() {
        let rate = CopayRate::from_percent(30).unwrap();
        for rule in [
            CopaymentRule::None,
            CopaymentRule::Fixed { amount: 1_000 },
            CopaymentRule::Rate { rate },
            CopaymentRule::Cap { cap: 5_000 },
            CopaymentRule::FixedWithCap {
                amount: 500,
                cap: 6_000,
            },
            CopaymentRule::RateWithCap { rate, cap: 7_000 },
        ] {
            assert_eq!(Setting::of(Some(rule)).rule(), Ok(Some(rule)), "{rule:?}");
        }
        assert_eq!(Setting::of(None).rule(), Ok(None));
        let bad = Setting {
            code: "2".into(),
            ..Setting::default()
        };
        assert!(bad.rule().unwrap_err().contains("amount"));
        let bad = Setting {
            code: "7".into(),
            ..Setting::default()
        };
        assert!(bad.rule().is_err());
    }
}
