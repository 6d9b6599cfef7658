//! Stage D — master data (事務点検 against insurer-supplied data): D-01 … D-06, and the
//! registration part of H-08.
//!
//! Every lookup that answers `None` (data not loaded for this insurer) records the check
//! as skipped; the engine reports it once per archive.

use crate::catalogue::{finding, finding_with_reason};
use crate::finding::{Finding, ReturnReason};
use crate::reference::{Contract, CopaymentSetting, ReferenceData, VoucherRecord};
use crate::stages::date::Date;
use crate::stages::record::{ClaimDoc, Missing, RecordInput, Skipped};
use daiko_format::money::{self, CategoryBill, CheckupBill, CopayRate, CopaymentRule};

/// The lookups of one record, made once and shared with stage C.
pub struct MasterData {
    pub contracts: Option<Vec<Contract>>,
    pub vouchers: Option<Vec<VoucherRecord>>,
}

/// Looks up the contracts and ledger entries of a record.
pub fn lookup(r: &RecordInput<'_>, reference: &dyn ReferenceData) -> MasterData {
    let insurer = r.insurer();
    let contracts = r
        .fiscal_year()
        .and_then(|fy| reference.contracts(insurer, r.institution(), fy));
    let kind = if r.is_guidance() { 2 } else { 1 };
    let vouchers = reference.vouchers(insurer, kind, r.voucher_number());
    MasterData {
        contracts,
        vouchers,
    }
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Runs D-01 … D-06 and the registration part of H-08.
pub fn check_master(
    r: &RecordInput<'_>,
    m: &MasterData,
    reference: &dyn ReferenceData,
    skipped: &mut Skipped,
    out: &mut Vec<Finding>,
) {
    let file = if r.claim_file.is_empty() {
        r.data_file
    } else {
        r.claim_file
    };
    let insurer = r.insurer();
    let institution = r.institution();
    let Some(service_date) = r.service_date else {
        return;
    };

    // D-01 保険者 is a client with a mandate in force.
    match reference.insurer_is_client(insurer, service_date) {
        None => {
            skipped.insert(("D-01", Missing::Insurers));
        }
        Some(true) => {}
        Some(false) => out.push(finding(
            "D-01",
            file,
            "/subjectPerson/insuranceCard/insurerNumber/@extension",
            insurer,
            &format!("保険者 {insurer} は実施日 {service_date} 時点で当機関の委託元ではありません"),
            &format!("The insurer {insurer} is not a client of this agency on {service_date}"),
        )),
    }

    // H-08 (registration): the institution is registered with the agency.
    match reference.institution_is_registered(institution) {
        None => {
            skipped.insert(("H-08", Missing::Institutions));
        }
        Some(true) => {}
        Some(false) => out.push(finding_with_reason(
            "H-08",
            ReturnReason::OutsideContract,
            r.data_file,
            "/ClinicalDocument/documentationOf/serviceEvent/performer",
            institution,
            &format!("実施機関 {institution} は当機関に登録されていません"),
            &format!("The institution {institution} is not registered with this agency"),
        )),
    }

    // D-02 the institution is party to a contract in force on the service date.
    match &m.contracts {
        None => {
            skipped.insert(("D-02", Missing::Contracts));
        }
        Some(cs) if cs.iter().any(|c| c.in_force_on(service_date)) => {}
        Some(_) => out.push(finding(
            "D-02",
            file,
            "/subjectPerson/performerOrganization/id/@extension",
            institution,
            &format!("実施日 {service_date} 時点で保険者 {insurer} と実施機関 {institution} の契約がありません"),
            &format!("No contract between insurer {insurer} and institution {institution} on {service_date}"),
        )),
    }

    // D-03, D-05, D-06 against the voucher ledger.
    let voucher = r.voucher_number();
    match &m.vouchers {
        None => {
            for code in ["D-03", "D-05", "D-06"] {
                skipped.insert((code, Missing::Vouchers));
            }
        }
        Some(list) => {
            match list.first() {
                None => out.push(finding(
                    "D-03",
                    file,
                    "/checkupCard/id/@extension",
                    voucher,
                    &format!("整理番号 {voucher} は保険者 {insurer} の発行台帳にありません"),
                    &format!("The voucher {voucher} is not in insurer {insurer}'s ledger"),
                )),
                Some(v) => {
                    check_person(r, v, file, out);
                    if let Some(expiry) = v.expiry
                        && service_date > expiry
                    {
                        out.push(finding(
                        "D-05",
                        file,
                        "/effectiveTime/high/@value",
                        &service_date.compact(),
                        &format!("実施日 {service_date} が台帳の有効期限 {expiry} を過ぎています"),
                        &format!("The service date {service_date} is after the ledger expiry {expiry}"),
                    ));
                    }
                    // H-10 券の年度 from the ledger, when neither the CDA nor the claim
                    // writes an expiry (when they do, stage H has judged it already).
                    let record_expiry = r
                        .cda_voucher("1")
                        .and_then(|v| v.expiry.as_deref())
                        .or(r.claim.and_then(|c| c.expiry()))
                        .and_then(Date::parse);
                    if !r.is_guidance()
                        && record_expiry.is_none()
                        && let Some(expiry) = v.expiry
                    {
                        crate::stages::header::check_voucher_fiscal_year(
                            service_date,
                            expiry,
                            r.data_file,
                            "/ClinicalDocument/documentationOf/serviceEvent/effectiveTime/@value",
                            &service_date.compact(),
                            out,
                        );
                    }
                    check_copayment_settings(r, v, out);
                }
            }
        }
    }
    // D-05 (consumed): the voucher already paid for (checkups; guidance vouchers serve
    // several timings and are judged by U-05).
    if !r.is_guidance() && !voucher.is_empty() {
        match reference.records_of_voucher(insurer, voucher) {
            None => {
                skipped.insert(("D-05", Missing::History));
            }
            Some(prior) => {
                if prior
                    .iter()
                    .any(|p| p.state == crate::reference::RecordState::Paid)
                {
                    out.push(finding(
                        "D-05",
                        file,
                        "/checkupCard/id/@extension",
                        voucher,
                        &format!("整理番号 {voucher} の受診券は支払済みの請求で使用済みです"),
                        &format!("The voucher {voucher} was already used by a paid claim"),
                    ));
                }
            }
        }
    }

    // D-04 資格 on the service date.
    match reference.is_covered(insurer, r.card_symbol(), r.card_number(), service_date) {
        None => {
            skipped.insert(("D-04", Missing::Coverage));
        }
        Some(true) => {}
        Some(false) => out.push(finding(
            "D-04",
            file,
            "/subjectPerson/insuranceCard/number/@extension",
            r.card_number(),
            &format!(
                "被保険者証等番号 {} の方は実施日 {service_date} に資格がありません",
                r.card_number()
            ),
            &format!(
                "The person with card number {} is not insured on {service_date}",
                r.card_number()
            ),
        )),
    }
}

/// D-03 (person): the ledger's voucher belongs to this person.
fn check_person(r: &RecordInput<'_>, v: &VoucherRecord, file: &str, out: &mut Vec<Finding>) {
    let mut diffs: Vec<(&str, &str, String, String)> = Vec::new();
    if v.card_number != r.card_number() {
        diffs.push((
            "被保険者証等番号",
            "card number",
            r.card_number().into(),
            v.card_number.clone(),
        ));
    }
    if !v.card_symbol.is_empty() && !r.card_symbol().is_empty() && v.card_symbol != r.card_symbol()
    {
        diffs.push((
            "被保険者証等記号",
            "card symbol",
            r.card_symbol().into(),
            v.card_symbol.clone(),
        ));
    }
    let name = r
        .claim
        .map(|c| c.subject().name.as_str())
        .unwrap_or(r.doc.patient.name.as_str());
    if !v.name.is_empty() && squeeze(&v.name) != squeeze(name) {
        diffs.push(("氏名", "name", name.into(), v.name.clone()));
    }
    let birth = r
        .claim
        .map(|c| c.subject().birth_time.as_str())
        .unwrap_or(r.doc.patient.birth_time.as_str());
    if let Some(b) = v.birth_date
        && Date::parse(birth) != Some(b)
    {
        diffs.push(("生年月日", "birth date", birth.into(), b.compact()));
    }
    for (ja, en, got, ledger) in diffs {
        out.push(finding(
            "D-03",
            file,
            "/subjectPerson",
            &got,
            &format!(
                "{ja}「{got}」が発行台帳の「{ledger}」と異なります(整理番号 {})",
                v.number
            ),
            &format!(
                "The {en} \"{got}\" differs from the ledger's \"{ledger}\" (voucher {})",
                v.number
            ),
        ));
    }
}

/// The co-payment rule a ledger setting states.
pub fn rule_of(s: &CopaymentSetting) -> Option<CopaymentRule> {
    let rate = || s.rate.and_then(|r| CopayRate::from_scaled(r).ok());
    Some(match (s.code, s.cap) {
        (1, None) => CopaymentRule::None,
        (1, Some(cap)) | (4, Some(cap)) => CopaymentRule::Cap { cap },
        (2, None) => CopaymentRule::Fixed { amount: s.amount? },
        (2, Some(cap)) => CopaymentRule::FixedWithCap {
            amount: s.amount?,
            cap,
        },
        (3, None) => CopaymentRule::Rate { rate: rate()? },
        (3, Some(cap)) => CopaymentRule::RateWithCap { rate: rate()?, cap },
        _ => return None,
    })
}

/// D-06: the co-payments computed from the ledger's settings equal the claim's.
fn check_copayment_settings(r: &RecordInput<'_>, v: &VoucherRecord, out: &mut Vec<Finding>) {
    let Some(ClaimDoc::Checkup(claim)) = r.claim else {
        if let Some(ClaimDoc::Guidance(g)) = r.claim {
            check_guidance_copayment(r, g, v, out);
        }
        return;
    };
    let s = &claim.settlement;
    let amount = |m: &daiko_format::model::Money| m.amount().unwrap_or(0);
    let other_program = s.payment_by_other_program.as_ref().map(amount).unwrap_or(0);
    let paid = |m: &Option<daiko_format::model::Money>| {
        m.as_ref()
            .and_then(|m| money::parse_six_digit_amount(&m.value).ok())
            .unwrap_or(0)
    };
    let rule =
        |x: &Option<CopaymentSetting>| x.as_ref().and_then(rule_of).unwrap_or(CopaymentRule::None);
    let (expected, written) = if s.claim_type == "5" {
        let price = s
            .unit_price_other
            .first()
            .map(|o| amount(&o.amount))
            .unwrap_or(0);
        let Ok(e) = money::dock_claim(price, rule(&v.dock), other_program) else {
            return;
        };
        (
            vec![("人間ドック", "human dock", e.payment_amount)],
            vec![paid(&s.payment_for_other)],
        )
    } else {
        let cat = |present: bool, price: u64, setting: &Option<CopaymentSetting>| {
            present.then_some(CategoryBill {
                price,
                rule: rule(setting),
            })
        };
        let bill = CheckupBill {
            basic: cat(
                s.unit_price_basic.is_some(),
                s.unit_price_basic.as_ref().map(amount).unwrap_or(0),
                &v.basic,
            ),
            detail: cat(
                !s.unit_price_detail.is_empty(),
                s.unit_price_detail.iter().map(|d| amount(&d.amount)).sum(),
                &v.detail,
            ),
            other: cat(
                !s.unit_price_other.is_empty(),
                s.unit_price_other.iter().map(|o| amount(&o.amount)).sum(),
                &v.additional,
            ),
            other_program,
        };
        let Ok(e) = money::checkup_claim(&bill) else {
            return;
        };
        let c = |x: Option<money::CategoryCopayment>| x.map(|c| c.copayment).unwrap_or(0);
        (
            vec![
                ("基本的な健診", "basic checkup", c(e.basic)),
                ("詳細な健診", "detailed checkup", c(e.detail)),
                ("追加健診項目", "additional items", c(e.other)),
            ],
            vec![
                paid(&s.payment_for_basic),
                paid(&s.payment_for_detail),
                paid(&s.payment_for_other),
            ],
        )
    };
    for ((ja, en, want), got) in expected.into_iter().zip(written) {
        if want != got {
            out.push(finding(
                "D-06",
                r.claim_file,
                "/checkupCard",
                &got.to_string(),
                &format!("{ja}の窓口負担 {got} 円が台帳の負担設定からの計算値 {want} 円と異なります"),
                &format!("The {en} co-payment {got} JPY differs from {want} JPY computed from the ledger settings"),
            ));
        }
    }
}

/// D-06 for a guidance claim: the window payment recomputed from the ledger's setting.
fn check_guidance_copayment(
    r: &RecordInput<'_>,
    g: &daiko_format::model::GuidanceClaim,
    v: &VoucherRecord,
    out: &mut Vec<Finding>,
) {
    let Some(setting) = v.basic.as_ref().and_then(rule_of) else {
        return;
    };
    let calculated = g.settlement.calculated_amount.amount().unwrap_or(0);
    let got = g.settlement.payment_amount.amount().unwrap_or(0);
    let want = money::category_copayment(calculated, 0, setting).copayment;
    if want != got {
        out.push(finding(
            "D-06",
            r.claim_file,
            "/settlement/payment/amount/@value",
            &got.to_string(),
            &format!("窓口負担 {got} 円が台帳の負担設定からの計算値 {want} 円と異なります"),
            &format!(
                "The co-payment {got} JPY differs from {want} JPY computed from the ledger settings"
            ),
        ));
    }
}
