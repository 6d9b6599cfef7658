//! Injected defects: each one breaks exactly one rule of CHECKS.md and keeps everything
//! else consistent (amounts downstream of a changed amount are adjusted, the summary is
//! recomputed from the claims, stratification is recomputed when a value it uses moves), so
//! a checker should report the listed codes and at most the documented knock-on codes.
//!
//! Record defects change one data/claim pair; archive defects change the name, the
//! entries, the index or the summary. An archive gets either one archive defect or record
//! defects, never both, so that an archive rejection cannot hide a record finding.

use crate::InjectedDefect;
use crate::archive::Entry;
use crate::clinical::{EntrySpec, Obs, Val, bmi_x10, codes, tenths};
use crate::people;
use crate::record::{Date, RecordDraft};
use crate::rng::Rng;
use daiko_format::money::{CategoryBill, CopaymentRule};
use daiko_format::*;

/// A change to a written file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePatch {
    /// Cut the document short: not well-formed.
    Truncate,
    /// Insert an element the schema does not know.
    UnknownElement,
    /// Use the other generation's namespace.
    OtherGeneration,
    /// Point the schema location at a V07 schema.
    OldSchemaVersion,
}

impl FilePatch {
    pub fn apply(self, bytes: &[u8], generation: Generation) -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        match self {
            FilePatch::Truncate => {
                let mut cut = text.len() * 3 / 5;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.as_bytes()[..cut].to_vec()
            }
            FilePatch::UnknownElement => text
                .replacen(
                    "</encounter>",
                    "  <remarks>sample</remarks>\n  </encounter>",
                    1,
                )
                .into_bytes(),
            FilePatch::OtherGeneration => {
                let other = match generation {
                    Generation::G2018 => Generation::G2024,
                    Generation::G2024 => Generation::G2018,
                };
                text.replace(generation.namespace(), other.namespace())
                    .into_bytes()
            }
            FilePatch::OldSchemaVersion => {
                text.replacen("_V08.xsd\"", "_V07.xsd\"", 1).into_bytes()
            }
        }
    }
}

/// γ-GT (the item of the plausibility defect).
const GGT: &str = "3B090000002327101";

/// Knock-on codes of any record defect: a returned record leaves the receipt short of the
/// summary (S-08).
const RETURN_KNOCK_ON: &[&str] = &["S-08"];

/// The defects that change one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDefect {
    DataNotWellFormed,
    ClaimSchemaInvalid,
    ClaimOtherGeneration,
    ClaimMissing,
    PairNameMismatch,
    InsurerCheckDigit,
    CardNumberTooLong,
    BranchNotTwoDigits,
    BirthDateInvalid,
    AgeUnder40,
    PostalCodeFormat,
    InstitutionCheckDigit,
    VoucherRoot,
    ServiceAfterExpiry,
    ProgramCode,
    ReportKind,
    DocumentBeforeService,
    UnknownItemCode,
    ValueTypeMismatch,
    UnitMismatch,
    FormatMask,
    CodeOutsideSystem,
    TextTooLong,
    MandatoryItemMissing,
    OneOfGroupMissing,
    DependentWithoutParent,
    DetailWithoutItems,
    BmiInconsistent,
    StratificationInconsistent,
    EncounterEventType,
    ClaimTypeMismatch,
    UnitAmountWrong,
    PaymentForBasicWrong,
    PaymentAmountWrong,
    ClaimAmountWrong,
    ZeroClaim,
    ChargeCodeCarriesValue,
    CopaymentNotSixDigits,
    SchemaVersion,
    FileNameGrammar,
    Implausible,
}

/// Which file(s) of the pair a defect's findings belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Data,
    Claim,
    Pair,
}

impl RecordDefect {
    pub const ALL: &'static [RecordDefect] = &[
        RecordDefect::DataNotWellFormed,
        RecordDefect::ClaimSchemaInvalid,
        RecordDefect::ClaimOtherGeneration,
        RecordDefect::ClaimMissing,
        RecordDefect::PairNameMismatch,
        RecordDefect::InsurerCheckDigit,
        RecordDefect::CardNumberTooLong,
        RecordDefect::BranchNotTwoDigits,
        RecordDefect::BirthDateInvalid,
        RecordDefect::AgeUnder40,
        RecordDefect::PostalCodeFormat,
        RecordDefect::InstitutionCheckDigit,
        RecordDefect::VoucherRoot,
        RecordDefect::ServiceAfterExpiry,
        RecordDefect::ProgramCode,
        RecordDefect::ReportKind,
        RecordDefect::DocumentBeforeService,
        RecordDefect::UnknownItemCode,
        RecordDefect::ValueTypeMismatch,
        RecordDefect::UnitMismatch,
        RecordDefect::FormatMask,
        RecordDefect::CodeOutsideSystem,
        RecordDefect::TextTooLong,
        RecordDefect::MandatoryItemMissing,
        RecordDefect::OneOfGroupMissing,
        RecordDefect::DependentWithoutParent,
        RecordDefect::DetailWithoutItems,
        RecordDefect::BmiInconsistent,
        RecordDefect::StratificationInconsistent,
        RecordDefect::EncounterEventType,
        RecordDefect::ClaimTypeMismatch,
        RecordDefect::UnitAmountWrong,
        RecordDefect::PaymentForBasicWrong,
        RecordDefect::PaymentAmountWrong,
        RecordDefect::ClaimAmountWrong,
        RecordDefect::ZeroClaim,
        RecordDefect::ChargeCodeCarriesValue,
        RecordDefect::CopaymentNotSixDigits,
        RecordDefect::SchemaVersion,
        RecordDefect::FileNameGrammar,
        RecordDefect::Implausible,
    ];

    /// The stable short name of the defect kind.
    pub fn kind(self) -> &'static str {
        self.spec().0
    }

    /// (kind, codes it must trigger, knock-on codes it may trigger, target, description).
    fn spec(
        self,
    ) -> (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        Target,
        &'static str,
    ) {
        use RecordDefect::*;
        match self {
            DataNotWellFormed => (
                "data-not-well-formed",
                &["X-01"],
                &[],
                Target::Data,
                "the CDA is cut off in the middle",
            ),
            ClaimSchemaInvalid => (
                "claim-schema-invalid",
                &["X-02"],
                &[],
                Target::Claim,
                "the claim's encounter holds an element the schema does not define",
            ),
            ClaimOtherGeneration => (
                "claim-other-generation",
                &["X-03"],
                &["X-02"],
                Target::Claim,
                "the claim uses the other schema generation's namespace",
            ),
            ClaimMissing => (
                "claim-missing",
                &["P-03"],
                &[],
                Target::Data,
                "the claim file of this CDA is left out",
            ),
            PairNameMismatch => (
                "pair-name-mismatch",
                &["P-04"],
                &[],
                Target::Pair,
                "the claim carries a different kana name than the CDA",
            ),
            InsurerCheckDigit => (
                "insurer-check-digit",
                &["H-02"],
                &[],
                Target::Pair,
                "the insurer number (CDA and claim) has a wrong check digit",
            ),
            CardNumberTooLong => (
                "card-number-too-long",
                &["H-03"],
                &["P-04"],
                Target::Pair,
                "the CDA's 被保険者証等番号 has 21 characters",
            ),
            BranchNotTwoDigits => (
                "branch-not-two-digits",
                &["H-04"],
                &["P-04"],
                Target::Pair,
                "the CDA's 被保険者証等枝番 has 3 digits",
            ),
            BirthDateInvalid => (
                "birth-date-invalid",
                &["H-05"],
                &["H-06"],
                Target::Pair,
                "the birth date (CDA and claim) is 31 February",
            ),
            AgeUnder40 => (
                "age-under-40",
                &["H-06"],
                &[],
                Target::Pair,
                "the person is 39 at the end of the fiscal year",
            ),
            PostalCodeFormat => (
                "postal-code-format",
                &["H-07"],
                &["P-04"],
                Target::Pair,
                "the CDA's postal code has no hyphen",
            ),
            InstitutionCheckDigit => (
                "institution-check-digit",
                &["H-08"],
                &["P-04"],
                Target::Pair,
                "the CDA's institution number (author and performer) has a wrong check digit",
            ),
            VoucherRoot => (
                "voucher-root",
                &["H-09"],
                &[],
                Target::Data,
                "the CDA's voucher id root lacks the `.1` + insurer suffix",
            ),
            ServiceAfterExpiry => (
                "service-after-expiry",
                &["H-10"],
                &[],
                Target::Pair,
                "the voucher expired before the service date (CDA and claim)",
            ),
            ProgramCode => (
                "program-code",
                &["H-11"],
                &[],
                Target::Data,
                "the service event's 健診プログラム種別 is 020",
            ),
            ReportKind => (
                "report-kind",
                &["H-01"],
                &[],
                Target::Data,
                "the CDA's 報告区分 is 11 instead of 10",
            ),
            DocumentBeforeService => (
                "document-before-service",
                &["H-12"],
                &[],
                Target::Data,
                "the document and author dates are before the service date",
            ),
            UnknownItemCode => (
                "unknown-item-code",
                &["M-01"],
                &[],
                Target::Data,
                "an observation has an item code that is in no item table",
            ),
            ValueTypeMismatch => (
                "value-type-mismatch",
                &["M-02"],
                &["M-13"],
                Target::Data,
                "the height is written as ST instead of PQ",
            ),
            UnitMismatch => (
                "unit-mismatch",
                &["M-03"],
                &[],
                Target::Data,
                "HDL cholesterol is written with unit mmol/L",
            ),
            FormatMask => (
                "format-mask",
                &["M-04"],
                &[],
                Target::Data,
                "AST has a decimal where the mask is NNNNN",
            ),
            CodeOutsideSystem => (
                "code-outside-system",
                &["M-05"],
                &[],
                Target::Data,
                "urine glucose has code 9, not in code system 2102",
            ),
            TextTooLong => (
                "text-too-long",
                &["M-06"],
                &[],
                Target::Data,
                "the doctor's judgement is longer than 256 bytes",
            ),
            MandatoryItemMissing => (
                "mandatory-item-missing",
                &["M-07"],
                &[],
                Target::Data,
                "服薬2（血糖） is missing",
            ),
            OneOfGroupMissing => (
                "one-of-group-missing",
                &["M-08"],
                &[],
                Target::Data,
                "AST (one-of group G) is missing",
            ),
            DependentWithoutParent => (
                "dependent-without-parent",
                &["M-09"],
                &[],
                Target::Data,
                "具体的な既往歴 is given while 既往歴 says none",
            ),
            DetailWithoutItems => (
                "detail-without-items",
                &["M-10"],
                &[],
                Target::Pair,
                "a billed detailed checkup has no results in the CDA",
            ),
            BmiInconsistent => (
                "bmi-inconsistent",
                &["M-13"],
                &[],
                Target::Data,
                "BMI is 3.0 above weight ÷ height² (stratification follows the written BMI)",
            ),
            StratificationInconsistent => (
                "stratification-inconsistent",
                &["M-14"],
                &[],
                Target::Data,
                "the metabolic-syndrome judgement does not follow from the values",
            ),
            EncounterEventType => (
                "encounter-event-type",
                &["C-01"],
                &["P-05"],
                Target::Claim,
                "the claim's 実施区分 is 2 in a checkup archive",
            ),
            ClaimTypeMismatch => (
                "claim-type-mismatch",
                &["C-02"],
                &[],
                Target::Claim,
                "請求区分 3 (basic + additional) without any additional-item price",
            ),
            UnitAmountWrong => (
                "unit-amount-wrong",
                &["C-04"],
                &[],
                Target::Claim,
                "unitAmount is 1,000 yen above the sum of the prices (claimAmount follows it)",
            ),
            PaymentForBasicWrong => (
                "payment-for-basic-wrong",
                &["C-05"],
                &[],
                Target::Claim,
                "paymentForBasic is 500 yen above the voucher's co-payment (totals follow it)",
            ),
            PaymentAmountWrong => (
                "payment-amount-wrong",
                &["C-06"],
                &[],
                Target::Claim,
                "paymentAmount is 300 yen above the sum of paymentFor* (claimAmount follows it)",
            ),
            ClaimAmountWrong => (
                "claim-amount-wrong",
                &["C-07"],
                // The summary is the sum of the claims, so its totals no longer add up.
                &["S-07"],
                Target::Claim,
                "claimAmount is 100 yen below unitAmount − paymentAmount − other",
            ),
            ZeroClaim => (
                "zero-claim",
                &["C-08"],
                &[],
                Target::Claim,
                "fixed co-payments at least as high as the prices leave a zero claim",
            ),
            ChargeCodeCarriesValue => (
                "charge-code-carries-value",
                &["C-12"],
                &["C-05"],
                Target::Claim,
                "chargeTypeBasic code 1 (none) carries an amount",
            ),
            CopaymentNotSixDigits => (
                "copayment-not-six-digits",
                // The 6-digit rule of C-14 is a schema pattern, so the checker reports the
                // schema violation and may add C-14.
                &["X-02"],
                &["C-14"],
                Target::Claim,
                "paymentForBasic is not a 6-digit zero-padded string",
            ),
            SchemaVersion => (
                "schema-version",
                &["X-05"],
                &[],
                Target::Data,
                "the CDA's schema location names hc08_V07.xsd",
            ),
            FileNameGrammar => (
                "file-name-grammar",
                &["P-01"],
                &[],
                Target::Pair,
                "both file names of the pair have a 7-digit serial (27 digits after the prefix)",
            ),
            Implausible => (
                "implausible-value",
                &["M-12"],
                &[],
                Target::Data,
                "γ-GT is 3500 U/L, above the plausible 3000",
            ),
        }
    }

    /// Whether this defect can be injected into this record.
    pub fn applies_to(self, d: &RecordDraft, generation: Generation) -> bool {
        use RecordDefect::*;
        let claim = d.amounts.claim_amount;
        match self {
            BranchNotTwoDigits => generation == Generation::G2024,
            DependentWithoutParent => d.clinical.history.is_none(),
            DetailWithoutItems => d.has_detail(),
            ClaimTypeMismatch => d.claim.settlement.claim_type == "1",
            PaymentForBasicWrong => {
                claim >= 1_000
                    && d.amounts
                        .basic
                        .is_some_and(|b| b.copayment + b.other_applied + 500 <= b.price)
            }
            PaymentAmountWrong => claim >= 1_000,
            ClaimAmountWrong => claim >= 1_000,
            ChargeCodeCarriesValue => d.bill.basic.is_some_and(|b| b.rule == CopaymentRule::None),
            CopaymentNotSixDigits => d.amounts.basic.is_some(),
            // A flagged (out-of-input-range) γ-GT is exempt from M-12.
            Implausible => {
                d.entries.iter().any(|e| e.has_code(GGT))
                    && d.clinical.out_of_range != Some(crate::clinical::OutOfRange::GgtHigh)
            }
            FormatMask | OneOfGroupMissing => d.entries.iter().any(|e| e.has_code(codes::AST)),
            CodeOutsideSystem => !d.clinical.urine_not_performed,
            // A higher BMI would make the omitted or self-reported waist a defect too (M-08).
            BmiInconsistent => !d.clinical.waist_omitted && !d.clinical.waist_self_reported,
            UnitMismatch => d.entries.iter().any(|e| e.has_code(codes::HDL)),
            ZeroClaim => d.bill.other_program == 0 && d.dock.is_none(),
            _ => true,
        }
    }

    /// Applies the defect to a record.
    pub fn apply(self, d: &mut RecordDraft, rng: &mut Rng) -> Result<Applied, crate::SampleError> {
        use RecordDefect::*;
        let (kind, codes_, may_also, target, description) = self.spec();
        let mut patch = None;
        let mut drop = None;
        match self {
            DataNotWellFormed => patch = Some((d.data_path(), FilePatch::Truncate)),
            SchemaVersion => patch = Some((d.data_path(), FilePatch::OldSchemaVersion)),
            FileNameGrammar => {
                // {institution 10}{date 8}{n}{S} + a 7-digit serial.
                let (head, serial) = d.stem.split_at(d.stem.len().min(20));
                d.stem = format!("{head}0{serial}");
            }
            Implausible => {
                if let Some(o) = find_obs(d, GGT) {
                    o.value = Val::Pq {
                        value: "3500".into(),
                        unit: "U/L".into(),
                    };
                    o.interpretation = Some("H");
                }
            }
            ClaimSchemaInvalid => patch = Some((d.claim_path(), FilePatch::UnknownElement)),
            ClaimOtherGeneration => patch = Some((d.claim_path(), FilePatch::OtherGeneration)),
            ClaimMissing => drop = Some(d.claim_path()),
            PairNameMismatch => {
                let mut other = people::kana_name(rng, d.person.sex);
                while other == d.person.name {
                    other = people::kana_name(rng, d.person.sex);
                }
                d.claim.subject.name = other;
            }
            InsurerCheckDigit => {
                let bad = people::with_wrong_check_digit(&d.person.card.insurer);
                set_insurer(d, &bad);
            }
            CardNumberTooLong => {
                if let Some(id) = d
                    .cda
                    .patient
                    .ids
                    .iter_mut()
                    .find(|i| i.root == oid::CARD_NUMBER)
                {
                    id.extension = people::full_width_digits("123456789012345678901");
                }
            }
            BranchNotTwoDigits => {
                if let Some(id) = d
                    .cda
                    .patient
                    .ids
                    .iter_mut()
                    .find(|i| i.root == oid::CARD_BRANCH)
                {
                    id.extension = "001".into();
                }
            }
            BirthDateInvalid => {
                let bad = format!("{}0231", &d.person.birth[..4.min(d.person.birth.len())]);
                d.cda.patient.birth_time = bad.clone();
                d.claim.subject.birth_time = bad;
            }
            AgeUnder40 => {
                let fy = d.service_date.fiscal_year();
                // Born 1 April, 39 years before the fiscal year ends: 39 on 31 March.
                let birth = Date {
                    y: fy + 1 - 39,
                    m: 4,
                    d: 1,
                };
                d.cda.patient.birth_time = birth.ymd();
                d.claim.subject.birth_time = birth.ymd();
                d.clinical.age_fy_end = 39;
                restratify(d);
            }
            PostalCodeFormat => {
                if let Some(a) = d.cda.patient.addr.as_mut() {
                    a.postal_code = a.postal_code.as_ref().map(|p| p.replace('-', ""));
                }
            }
            InstitutionCheckDigit => {
                let bad = people::with_wrong_check_digit(
                    &d.claim.subject.performer_organization.extension,
                );
                for a in &mut d.cda.authors {
                    if let Some(id) = a.organization.id.as_mut() {
                        id.extension = bad.clone();
                    }
                }
                if let Some(p) = d
                    .cda
                    .service_event
                    .as_mut()
                    .and_then(|s| s.performer.as_mut())
                    .and_then(|o| o.id.as_mut())
                {
                    p.extension = bad;
                }
            }
            VoucherRoot => {
                for v in &mut d.cda.vouchers {
                    v.id.root = oid::CHECKUP_VOUCHER.into();
                }
            }
            ServiceAfterExpiry => {
                let expiry = d.service_date.minus_one_day();
                for v in &mut d.cda.vouchers {
                    v.expiry = Some(expiry.ymd());
                }
                d.claim.card.expiry = Some(expiry.ymd());
            }
            ProgramCode => {
                if let Some(se) = d.cda.service_event.as_mut() {
                    se.code.code = "020".into();
                    se.code.display_name = None;
                }
            }
            ReportKind => {
                if let Some(c) = d.cda.code.as_mut() {
                    c.code = "11".into();
                }
            }
            DocumentBeforeService => {
                let before = d.service_date.minus_one_day();
                d.cda.effective_time = before.ymd();
                for a in &mut d.cda.authors {
                    a.time = before.ymd();
                }
            }
            UnknownItemCode => {
                let obs = Obs {
                    code: "9Z999000000000001".into(),
                    display: "未定義項目".into(),
                    value: Val::Pq {
                        value: "12".into(),
                        unit: "mg/dL".into(),
                    },
                    interpretation: None,
                    method: None,
                    range: None,
                    author: None,
                    negated: false,
                    out_of_range: None,
                };
                let at = d.entries.len().min(8);
                d.entries.insert(at, EntrySpec::Single(obs));
            }
            ValueTypeMismatch => {
                if let Some(o) = find_obs(d, codes::HEIGHT)
                    && let Val::Pq { value, .. } = &o.value
                {
                    o.value = Val::St(value.clone());
                }
            }
            UnitMismatch => {
                if let Some(o) = find_obs(d, codes::HDL) {
                    if let Val::Pq { unit, .. } = &mut o.value {
                        *unit = "mmol/L".into();
                    }
                    o.range = None;
                }
            }
            FormatMask => {
                if let Some(o) = find_obs(d, codes::AST)
                    && let Val::Pq { value, .. } = &mut o.value
                {
                    value.push_str(".5");
                }
            }
            CodeOutsideSystem => {
                if let Some(o) = find_obs(d, codes::URINE_GLUCOSE)
                    && let Val::Co { code, .. } = &mut o.value
                {
                    *code = "9".into();
                }
            }
            TextTooLong => {
                if let Some(o) = find_obs(d, codes::JUDGEMENT) {
                    o.value =
                        Val::St("血圧及び血糖が高めです。生活習慣の改善を要します。".repeat(6));
                }
            }
            MandatoryItemMissing => d.entries.retain(|e| !e.has_code(codes::MEDICATION_GLUCOSE)),
            OneOfGroupMissing => d.entries.retain(|e| !e.has_code(codes::AST)),
            DependentWithoutParent => {
                let pos = d
                    .entries
                    .iter()
                    .position(|e| e.has_code(codes::HISTORY))
                    .map_or(0, |p| p + 1);
                let obs = Obs {
                    code: codes::HISTORY_TEXT.into(),
                    display: "具体的な既往歴".into(),
                    value: Val::St("高血圧症".into()),
                    interpretation: None,
                    method: None,
                    range: None,
                    author: None,
                    negated: false,
                    out_of_range: None,
                };
                d.entries.insert(pos, EntrySpec::Single(obs));
            }
            DetailWithoutItems => {
                d.entries.retain(|e| !matches!(e, EntrySpec::Group { .. }));
            }
            BmiInconsistent => {
                d.clinical.bmi10 = bmi_x10(d.clinical.weight10, d.clinical.height10) + 30;
                let v = tenths(d.clinical.bmi10);
                if let Some(o) = find_obs(d, codes::BMI) {
                    o.value = Val::Pq {
                        value: v,
                        unit: "kg/m2".into(),
                    };
                }
                restratify(d);
            }
            StratificationInconsistent => {
                if let Some(o) = find_obs(d, codes::METABOLIC)
                    && let Val::Cd { code, .. } = &mut o.value
                {
                    *code = if code == "3" { "1".into() } else { "3".into() };
                }
            }
            EncounterEventType => d.claim.service_event_type = "2".into(),
            ClaimTypeMismatch => d.claim.settlement.claim_type = "3".into(),
            UnitAmountWrong => {
                let s = &mut d.claim.settlement;
                s.unit_amount = Money::yen(d.amounts.unit_amount + 1_000);
                s.claim_amount = Money::yen(d.amounts.claim_amount + 1_000);
            }
            PaymentForBasicWrong => {
                if let Some(b) = d.amounts.basic {
                    let s = &mut d.claim.settlement;
                    s.payment_for_basic = Some(Money::yen6(b.copayment + 500));
                    s.payment_amount = Money::yen(d.amounts.payment_amount + 500);
                    s.claim_amount = Money::yen(d.amounts.claim_amount - 500);
                }
            }
            PaymentAmountWrong => {
                let s = &mut d.claim.settlement;
                s.payment_amount = Money::yen(d.amounts.payment_amount + 300);
                s.claim_amount = Money::yen(d.amounts.claim_amount - 300);
            }
            ClaimAmountWrong => {
                d.claim.settlement.claim_amount = Money::yen(d.amounts.claim_amount - 100)
            }
            ZeroClaim => {
                let fixed_over = |c: Option<CategoryBill>| {
                    c.map(|c| CategoryBill {
                        price: c.price,
                        rule: CopaymentRule::Fixed {
                            amount: c.price.div_ceil(1_000) * 1_000,
                        },
                    })
                };
                d.bill.basic = fixed_over(d.bill.basic);
                d.bill.detail = fixed_over(d.bill.detail);
                d.bill.other = fixed_over(d.bill.other);
                d.rebill()?;
            }
            ChargeCodeCarriesValue => {
                if let Some(c) = d.claim.card.charge_basic.as_mut() {
                    c.amount = Some(Money::yen6(0));
                }
            }
            CopaymentNotSixDigits => {
                if let Some(b) = d.amounts.basic {
                    d.claim.settlement.payment_for_basic = Some(Money::yen(b.copayment));
                    if b.copayment >= 100_000 {
                        // Already 6 digits: make it 7 with a leading zero.
                        d.claim.settlement.payment_for_basic = Some(Money {
                            value: format!("0{:06}", b.copayment),
                            currency: Some("JPY".into()),
                        });
                    }
                }
            }
        }
        let files = match target {
            Target::Data => vec![d.data_path()],
            Target::Claim => vec![d.claim_path()],
            Target::Pair => vec![d.data_path(), d.claim_path()],
        };
        Ok(Applied {
            defect: InjectedDefect {
                kind: kind.into(),
                codes: codes_.iter().map(|c| (*c).to_owned()).collect(),
                may_also: may_also
                    .iter()
                    .chain(RETURN_KNOCK_ON)
                    .map(|c| (*c).to_owned())
                    .collect(),
                files,
                description: description.into(),
            },
            patch,
            drop,
        })
    }
}

/// What applying a record defect produced.
pub struct Applied {
    pub defect: InjectedDefect,
    /// A text change to one written file (path, patch).
    pub patch: Option<(String, FilePatch)>,
    /// A file to leave out of the archive.
    pub drop: Option<String>,
}

fn find_obs<'a>(d: &'a mut RecordDraft, code: &str) -> Option<&'a mut Obs> {
    d.entries.iter_mut().find_map(|e| e.obs_mut(code))
}

/// Rewrites 9N501/9N506 from the (changed) clinical values.
fn restratify(d: &mut RecordDraft) {
    let (metabolic, level) = d.clinical.stratify(d.service_date.fiscal_year());
    if let Some(Obs {
        value: Val::Cd { code, .. },
        ..
    }) = find_obs(d, codes::METABOLIC)
    {
        *code = metabolic.to_string();
    }
    if let Some(Obs {
        value: Val::Cd { code, .. },
        ..
    }) = find_obs(d, "9N506000000000011")
    {
        *code = level.to_string();
    }
}

fn set_insurer(d: &mut RecordDraft, insurer: &str) {
    for id in &mut d.cda.patient.ids {
        if id.root == oid::INSURER {
            id.extension = insurer.to_owned();
        }
    }
    for v in &mut d.cda.vouchers {
        v.id.root = format!("{}.1{}", oid::CHECKUP_VOUCHER, insurer);
        if let Some(s) = v.scoping_organization.as_mut() {
            s.extension = insurer.to_owned();
        }
    }
    d.claim.subject.insurance_card.insurer_number.extension = insurer.to_owned();
}

/// Gives record `second` the voucher number of record `first` (U-02): both pairs are
/// reported.
pub fn duplicate_voucher(
    drafts: &mut [RecordDraft],
    first: usize,
    second: usize,
) -> Vec<InjectedDefect> {
    let Some(voucher) = drafts.get(first).map(|d| d.voucher.clone()) else {
        return Vec::new();
    };
    let Some(d) = drafts.get_mut(second) else {
        return Vec::new();
    };
    d.voucher = voucher.clone();
    for v in &mut d.cda.vouchers {
        v.id.extension = voucher.clone();
    }
    if let Some(id) = d.claim.card.id.as_mut() {
        id.extension = voucher;
    }
    [first, second]
        .iter()
        .filter_map(|&i| drafts.get(i))
        .map(|d| InjectedDefect {
            kind: "duplicate-voucher".into(),
            codes: vec!["U-02".into()],
            may_also: RETURN_KNOCK_ON.iter().map(|c| (*c).to_owned()).collect(),
            files: vec![d.data_path(), d.claim_path()],
            description: "two records of the archive carry the same voucher number".into(),
        })
        .collect()
}

/// Which records get which defect.
pub struct RecordPlan {
    pub singles: Vec<(usize, RecordDefect)>,
    pub duplicate_vouchers: Vec<(usize, usize)>,
}

/// The record defect kinds of a run, dealt in a shuffled order that carries over from
/// archive to archive, so a run covers as many kinds as it has defective records.
pub struct RecordDeck {
    /// `None` = the duplicate-voucher pair (U-02).
    cards: Vec<Option<RecordDefect>>,
    next: usize,
}

impl RecordDeck {
    pub fn shuffled(rng: &mut Rng) -> RecordDeck {
        let mut cards: Vec<Option<RecordDefect>> =
            RecordDefect::ALL.iter().copied().map(Some).collect();
        cards.push(None);
        rng.shuffle(&mut cards);
        RecordDeck { cards, next: 0 }
    }

    /// The next card that `fits`; a card that does not fit stays for the next deal.
    fn deal(
        &mut self,
        fits: impl Fn(Option<RecordDefect>) -> bool,
    ) -> Option<Option<RecordDefect>> {
        let n = self.cards.len();
        for k in 0..n {
            let at = (self.next + k) % n;
            let card = self.cards[at];
            if fits(card) {
                self.cards.swap(self.next % n, at);
                self.next += 1;
                return Some(card);
            }
        }
        None
    }
}

/// Chooses about `rate` of the records and a defect for each, from the run's deck.
pub fn plan_records(
    rng: &mut Rng,
    drafts: &[RecordDraft],
    generation: Generation,
    rate: f64,
    deck: &mut RecordDeck,
) -> RecordPlan {
    let mut taken = vec![false; drafts.len()];
    let mut plan = RecordPlan {
        singles: Vec::new(),
        duplicate_vouchers: Vec::new(),
    };
    for i in 0..drafts.len() {
        if taken[i] || !rng.chance(rate) {
            continue;
        }
        // The duplicate-voucher partner: a later record of the same insurer.
        let insurer = &drafts[i].person.card.insurer;
        let partner =
            (i + 1..drafts.len()).find(|&j| !taken[j] && drafts[j].person.card.insurer == *insurer);
        let card = deck.deal(|c| match c {
            Some(defect) => defect.applies_to(&drafts[i], generation),
            None => partner.is_some(),
        });
        match (card, partner) {
            (Some(Some(defect)), _) => {
                taken[i] = true;
                plan.singles.push((i, defect));
            }
            (Some(None), Some(j)) => {
                taken[i] = true;
                taken[j] = true;
                plan.duplicate_vouchers.push((i, j));
            }
            _ => {}
        }
    }
    plan
}

/// The defects that change the archive as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveDefect {
    NameDate,
    PathTraversal,
    StrayFile,
    /// A file at the root of the ZIP, beside the top folder (A-06, a warning).
    RootFile,
    IndexInteractionType,
    IndexSender,
    IndexReceiver,
    IndexEventType,
    IndexRecordCount,
    SummaryEventType,
    SummarySubjectCount,
    SummaryCost,
    SummaryPayment,
    SummaryClaim,
    NoIndex,
    NoSummary,
    NonAsciiName,
    CreationInFuture,
    SummaryOtherProgram,
}

/// What applying an archive defect produced.
pub struct ArchiveApplied {
    pub defect: InjectedDefect,
    /// A new base name for the zip and its top folder.
    pub rename: Option<String>,
    pub extra_entries: Vec<Entry>,
    /// Root files (`ix08_V08.xml`, `su08_V08.xml`) to leave out.
    pub omit: Vec<&'static str>,
}

impl ArchiveDefect {
    pub const ALL: &'static [ArchiveDefect] = &[
        ArchiveDefect::NameDate,
        ArchiveDefect::PathTraversal,
        ArchiveDefect::StrayFile,
        ArchiveDefect::RootFile,
        ArchiveDefect::IndexInteractionType,
        ArchiveDefect::IndexSender,
        ArchiveDefect::IndexReceiver,
        ArchiveDefect::IndexEventType,
        ArchiveDefect::IndexRecordCount,
        ArchiveDefect::SummaryEventType,
        ArchiveDefect::SummarySubjectCount,
        ArchiveDefect::SummaryCost,
        ArchiveDefect::SummaryPayment,
        ArchiveDefect::SummaryClaim,
        ArchiveDefect::NoIndex,
        ArchiveDefect::NoSummary,
        ArchiveDefect::NonAsciiName,
        ArchiveDefect::CreationInFuture,
        ArchiveDefect::SummaryOtherProgram,
    ];

    /// Applies the defect to the index/summary models or the archive layout. `base` is
    /// the archive's base name.
    pub fn apply(
        self,
        index: &mut Index,
        summary: &mut Summary,
        base: &str,
        rng: &mut Rng,
    ) -> ArchiveApplied {
        use ArchiveDefect::*;
        const ARCHIVE: &str = "{archive}";
        const IX: &str = "ix08_V08.xml";
        const SU: &str = "su08_V08.xml";
        let mut rename = None;
        let mut extra = Vec::new();
        let mut omit = Vec::new();
        let bump =
            |m: &Money, by: i64| Money::yen(m.amount().unwrap_or(0).saturating_add_signed(by));
        let (kind, codes_, may_also, file, description): (&str, &[&str], &[&str], &str, &str) =
            match self {
                NameDate => {
                    // {sender}_{receiver}_{YYYYMMDD}{n}_{S}: month 13 is no calendar date.
                    let parts: Vec<&str> = base.split('_').collect();
                    if let [s, r, dn, k] = parts.as_slice() {
                        let bad = format!("{}13{}", &dn[..4.min(dn.len())], &dn[6.min(dn.len())..]);
                        rename = Some(format!("{s}_{r}_{bad}_{k}"));
                    }
                    (
                        "archive-name-date",
                        &["A-02"],
                        &["A-03", "P-01", "I-02"],
                        ARCHIVE,
                        "the archive name's date has month 13",
                    )
                }
                PathTraversal => {
                    extra.push(Entry {
                        path: format!("{base}/../escape.xml"),
                        bytes: b"<x/>".to_vec(),
                        raw: true,
                    });
                    (
                        "path-traversal-entry",
                        &["A-09"],
                        &["A-03", "A-06"],
                        ARCHIVE,
                        "an entry name climbs out of the top folder with `..`",
                    )
                }
                StrayFile => {
                    extra.push(Entry {
                        path: "memo.txt".into(),
                        bytes: "送付メモ\n".as_bytes().to_vec(),
                        raw: false,
                    });
                    (
                        "stray-file",
                        &["A-06"],
                        &[],
                        ARCHIVE,
                        "the top folder holds a file that is not part of the format",
                    )
                }
                RootFile => {
                    extra.push(Entry {
                        path: "readme.txt".into(),
                        bytes: b"sent by the checkup institution\n".to_vec(),
                        raw: true,
                    });
                    (
                        "root-file",
                        &["A-06"],
                        &[],
                        ARCHIVE,
                        "a file at the root of the ZIP, beside the top folder",
                    )
                }
                IndexInteractionType => {
                    index.interaction_type = "6".into();
                    (
                        "index-interaction-type",
                        &["I-01"],
                        &["I-03", "I-04"],
                        IX,
                        "種別 is 6 (institution → insurer) in an archive sent to the agency",
                    )
                }
                IndexSender => {
                    let other =
                        people::with_check_digit(&format!("131{:06}", rng.range(100_000, 999_999)))
                            .unwrap_or_default();
                    let other = if other == index.sender.extension {
                        people::with_wrong_check_digit(&other)
                    } else {
                        other
                    };
                    index.sender.extension = other;
                    (
                        "index-sender",
                        &["I-03"],
                        &["I-07"],
                        IX,
                        "the index's sender is another institution than the archive name's",
                    )
                }
                IndexReceiver => {
                    if let Some(r) = index.receiver.as_mut() {
                        r.extension = if r.extension == "99000028" {
                            "99000036".into()
                        } else {
                            "99000028".into()
                        };
                    }
                    (
                        "index-receiver",
                        &["I-04"],
                        &[],
                        IX,
                        "the index's receiver is another agency than the archive name's",
                    )
                }
                IndexEventType => {
                    index.service_event_type = "2".into();
                    (
                        "index-event-type",
                        &["I-05"],
                        &["S-01", "C-01", "P-05"],
                        IX,
                        "the index's 実施区分 is 2 while the archive carries checkups",
                    )
                }
                IndexRecordCount => {
                    let n: u64 = index.total_record_count.parse().unwrap_or(0);
                    index.total_record_count = (n + 1).to_string();
                    (
                        "index-record-count",
                        &["I-06"],
                        &[],
                        IX,
                        "totalRecordCount is one more than the files in DATA and CLAIMS",
                    )
                }
                SummaryEventType => {
                    summary.service_event_type = "2".into();
                    (
                        "summary-event-type",
                        &["S-01"],
                        &["P-05"],
                        SU,
                        "the summary's 実施区分 differs from the index",
                    )
                }
                SummarySubjectCount => {
                    let n: u64 = summary.total_subject_count.parse().unwrap_or(0);
                    summary.total_subject_count = (n + 1).to_string();
                    (
                        "summary-subject-count",
                        &["S-02"],
                        &[],
                        SU,
                        "totalSubjectCount is one more than the claims",
                    )
                }
                SummaryCost => {
                    summary.total_cost_amount = bump(&summary.total_cost_amount, 1_000);
                    (
                        "summary-cost",
                        &["S-03"],
                        &["S-07"],
                        SU,
                        "totalCostAmount is 1,000 yen above Σ unitAmount",
                    )
                }
                SummaryPayment => {
                    summary.total_payment_amount = bump(&summary.total_payment_amount, 500);
                    (
                        "summary-payment",
                        &["S-04"],
                        &["S-07"],
                        SU,
                        "totalPaymentAmount is 500 yen above Σ paymentAmount",
                    )
                }
                SummaryClaim => {
                    let claim = summary.total_claim_amount.amount().unwrap_or(0);
                    summary.total_claim_amount = Money::yen(claim.saturating_sub(100));
                    (
                        "summary-claim",
                        &["S-06"],
                        &["S-07"],
                        SU,
                        "totalClaimAmount is 100 yen below Σ claimAmount",
                    )
                }
                NoIndex => {
                    omit.push(IX);
                    (
                        "no-index",
                        &["A-04"],
                        &[],
                        ARCHIVE,
                        "the index ix08_V08.xml is left out",
                    )
                }
                NoSummary => {
                    omit.push(SU);
                    (
                        "no-summary",
                        &["A-05"],
                        &[],
                        ARCHIVE,
                        "the summary su08_V08.xml is left out although claims are present",
                    )
                }
                NonAsciiName => {
                    extra.push(Entry {
                        path: "送付メモ.txt".into(),
                        bytes: "送付メモ\n".as_bytes().to_vec(),
                        raw: false,
                    });
                    (
                        "non-ascii-name",
                        &["A-10"],
                        &["A-06"],
                        ARCHIVE,
                        "an entry name has non-ASCII characters",
                    )
                }
                CreationInFuture => {
                    let d = Date::parse_ymd(&index.creation_time).map(|d| d.plus_days(40));
                    if let Some(d) = d {
                        index.creation_time = d.ymd();
                    }
                    (
                        "creation-in-future",
                        &["I-02"],
                        &[],
                        IX,
                        "the index's creationTime is 40 days after the archive date",
                    )
                }
                SummaryOtherProgram => {
                    let other = summary
                        .total_payment_by_other_program
                        .as_ref()
                        .and_then(Money::amount)
                        .unwrap_or(0);
                    summary.total_payment_by_other_program = Some(Money::yen(other + 100));
                    (
                        "summary-other-program",
                        &["S-05"],
                        &["S-07"],
                        SU,
                        "totalPaymentByOtherProgram is 100 yen above Σ paymentByOtherProgram",
                    )
                }
            };
        ArchiveApplied {
            defect: InjectedDefect {
                kind: kind.into(),
                codes: codes_.iter().map(|c| (*c).to_owned()).collect(),
                may_also: may_also.iter().map(|c| (*c).to_owned()).collect(),
                files: vec![file.to_owned()],
                description: description.into(),
            },
            rename,
            extra_entries: extra,
            omit,
        }
    }
}
