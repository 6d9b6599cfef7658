//! Stage C — settlement (決済情報, cc08 / gc08): codes and arithmetic (C-01 … C-16).
//!
//! The arithmetic is recomputed with `daiko_format::money`, the same functions a producer
//! (daiko-sample) writes claims with, so "what daiko writes, daiko accepts".

use crate::catalogue::{finding, finding_with_reason};
use crate::finding::{Finding, ReturnReason};
use crate::reference::{Contract, VoucherRecord};
use crate::stages::record::{Missing, RecordInput, Skipped};
use daiko_format::model::{Charge, CheckupClaim, GuidanceClaim, Money, parse_uint};
use daiko_format::money::{self, CategoryBill, CheckupBill, CopaymentRule, MAX_TOTAL};

/// The contracts and ledger entries of this record, as looked up once by the engine
/// (`None` = that kind of data is not loaded for the insurer).
pub struct ClaimReference<'a> {
    pub contracts: Option<&'a [Contract]>,
    pub vouchers: Option<&'a [VoucherRecord]>,
}

/// An amount as a non-negative integer within the schema's range.
fn total(m: &Money) -> Option<u64> {
    m.amount().filter(|v| *v <= MAX_TOTAL)
}

/// Runs C-01 … C-14 on a checkup claim.
pub fn check_checkup_claim(
    r: &RecordInput<'_>,
    claim: &CheckupClaim,
    refs: &ClaimReference<'_>,
    skipped: &mut Skipped,
    out: &mut Vec<Finding>,
) {
    let file = r.claim_file;
    let s = &claim.settlement;
    check_service_event_type(
        file,
        &claim.service_event_type,
        r.index_service_event_type,
        out,
    );

    // C-14 formats: totals are integers 0..=999,999,999; co-payments are 6-digit strings.
    let mut totals_ok = true;
    let mut amounts: Vec<(&str, &Money)> = vec![
        ("/settlement/unitAmount/@value", &s.unit_amount),
        ("/settlement/paymentAmount/@value", &s.payment_amount),
        ("/settlement/claimAmount/@value", &s.claim_amount),
    ];
    if let Some(m) = &s.payment_by_other_program {
        amounts.push(("/settlement/paymentByOtherProgram/@value", m));
    }
    if let Some(m) = &s.unit_price_basic {
        amounts.push(("/settlement/unitPriceBasic/amount/@value", m));
    }
    for d in &s.unit_price_detail {
        amounts.push(("/settlement/unitPriceDetail/amount/@value", &d.amount));
    }
    for o in &s.unit_price_other {
        amounts.push(("/settlement/unitPriceOther/amount/@value", &o.amount));
    }
    for (loc, m) in amounts {
        if total(m).is_none() {
            totals_ok = false;
            out.push(finding(
                "C-14",
                file,
                loc,
                &m.value,
                &format!("金額「{}」が0〜999,999,999の整数ではありません", m.value),
                &format!("The amount \"{}\" is not an integer 0–999,999,999", m.value),
            ));
        }
    }
    let payments = [
        (
            "/settlement/paymentForBasic/amount/@value",
            s.payment_for_basic.as_ref(),
        ),
        (
            "/settlement/paymentForDetail/amount/@value",
            s.payment_for_detail.as_ref(),
        ),
        (
            "/settlement/paymentForOther/amount/@value",
            s.payment_for_other.as_ref(),
        ),
    ];
    for (loc, m) in payments {
        if let Some(m) = m
            && money::parse_six_digit_amount(&m.value).is_err()
        {
            totals_ok = false;
            out.push(finding(
                "C-14",
                file,
                loc,
                &m.value,
                &format!("窓口負担額「{}」が6桁0埋めの数字ではありません", m.value),
                &format!("The co-payment \"{}\" is not 6 zero-padded digits", m.value),
            ));
        }
    }

    // C-12 窓口負担種別 elements.
    let charges = [
        (
            "/checkupCard/chargeTypeBasic",
            claim.card.charge_basic.as_ref(),
        ),
        (
            "/checkupCard/chargeTypeDetail",
            claim.card.charge_detail.as_ref(),
        ),
        (
            "/checkupCard/chargeTypeOther",
            claim.card.charge_other.as_ref(),
        ),
    ];
    let mut rules: [Option<CopaymentRule>; 3] = [None, None, None];
    let mut rules_ok = true;
    for (i, (loc, c)) in charges.iter().enumerate() {
        if let Some(c) = c {
            match CopaymentRule::from_charge(c) {
                Ok(rule) => {
                    if let Some(slot) = rules.get_mut(i) {
                        *slot = Some(rule);
                    }
                    check_rate_unit(file, loc, c, out);
                }
                Err(e) => {
                    rules_ok = false;
                    out.push(charge_finding(file, loc, c, &e.to_string()));
                }
            }
        }
    }
    let mut dock_rule = None;
    if let Some(d) = &claim.card.charge_dock {
        match CopaymentRule::from_dock_charge(d) {
            Ok(rule) => dock_rule = Some(rule),
            Err(e) => {
                rules_ok = false;
                let code = d.copayment.as_ref().map(|c| c.code.as_str()).unwrap_or("");
                out.push(finding(
                    "C-12",
                    file,
                    "/checkupCard/chargeTypeHumanDryDock",
                    code,
                    &format!("人間ドックの窓口負担の記録が正しくありません({e})"),
                    &format!("The human dock co-payment is malformed ({e})"),
                ));
            }
        }
    }

    // C-02 請求区分 and the prices it requires.
    let claim_type = s.claim_type.as_str();
    let has_basic = s.unit_price_basic.is_some();
    let has_detail = !s.unit_price_detail.is_empty();
    let has_other = !s.unit_price_other.is_empty();
    let shape_ok = match claim_type {
        "1" => has_basic && !has_detail && !has_other,
        "2" => has_basic && has_detail && !has_other,
        "3" => has_basic && !has_detail && has_other,
        "4" => has_basic && has_detail && has_other,
        "5" => !has_basic && !has_detail && s.unit_price_other.len() == 1,
        _ => false,
    };
    if !shape_ok {
        out.push(finding(
            "C-02",
            file,
            "/settlement/claimType/@code",
            claim_type,
            &format!(
                "請求区分「{claim_type}」と単価の記録(基本{}・詳細{}件・追加{}件)が合いません",
                if has_basic { "あり" } else { "なし" },
                s.unit_price_detail.len(),
                s.unit_price_other.len()
            ),
            &format!(
                "The claim type \"{claim_type}\" does not match the prices (basic {}, {} detail, {} additional)",
                if has_basic { "yes" } else { "no" },
                s.unit_price_detail.len(),
                s.unit_price_other.len()
            ),
        ));
    }
    for d in &s.unit_price_detail {
        if !matches!(d.code.as_str(), "1" | "2" | "3" | "4") {
            out.push(finding(
                "C-02",
                file,
                "/settlement/unitPriceDetail/observation/@code",
                &d.code,
                &format!(
                    "詳細な健診の項目コード「{}」は1〜4で入力してください",
                    d.code
                ),
                &format!("The detailed checkup code \"{}\" must be 1–4", d.code),
            ));
        }
    }

    // C-03 委託料単価区分.
    let commission = s.commission_type.as_str();
    if commission != "1" && commission != "2" {
        out.push(finding_with_reason(
            "C-03",
            ReturnReason::FormatDefect,
            file,
            "/settlement/commissionType/@code",
            commission,
            &format!("委託料単価区分「{commission}」は1(個別)か2(集団)で入力してください"),
            &format!("The commission type \"{commission}\" must be 1 (individual) or 2 (group)"),
        ));
    }

    if !totals_ok {
        return;
    }
    let amount = |m: &Money| total(m).unwrap_or(0);
    let basic = s.unit_price_basic.as_ref().map(amount).unwrap_or(0);
    let detail: u64 = s.unit_price_detail.iter().map(|d| amount(&d.amount)).sum();
    let other: u64 = s.unit_price_other.iter().map(|o| amount(&o.amount)).sum();
    let unit_amount = amount(&s.unit_amount);
    let payment_amount = amount(&s.payment_amount);
    let other_program = s.payment_by_other_program.as_ref().map(amount).unwrap_or(0);
    let claim_amount = amount(&s.claim_amount);

    // C-04 単価合計.
    let expected_unit = basic + detail + other;
    if shape_ok && unit_amount != expected_unit {
        out.push(finding(
            "C-04",
            file,
            "/settlement/unitAmount/@value",
            &s.unit_amount.value,
            &format!("単価合計 {unit_amount} 円が単価の合計 {expected_unit} 円(基本{basic}+詳細{detail}+追加{other})と異なります"),
            &format!("Unit amount {unit_amount} ≠ sum of prices {expected_unit} (basic {basic} + detail {detail} + additional {other})"),
        ));
    }

    // C-05 per-category co-payments, recomputed from the voucher settings.
    let paid = |m: Option<&Money>| m.and_then(|m| money::parse_six_digit_amount(&m.value).ok());
    if rules_ok && shape_ok {
        if claim_type == "5" {
            let rule = dock_rule.unwrap_or(CopaymentRule::None);
            match money::dock_claim(other, rule, other_program) {
                Ok(expected) => {
                    let written = paid(s.payment_for_other.as_ref()).unwrap_or(payment_amount);
                    if written != expected.payment_amount {
                        out.push(copay_finding(
                            file,
                            "/settlement/paymentForOther/amount/@value",
                            "人間ドック",
                            "human dock",
                            written,
                            expected.payment_amount,
                        ));
                    }
                }
                Err(e) => out.push(other_program_finding(file, other_program, &e.to_string())),
            }
        } else {
            let cat = |price: u64, present: bool, rule: Option<CopaymentRule>| {
                present.then_some(CategoryBill {
                    price,
                    rule: rule.unwrap_or(CopaymentRule::None),
                })
            };
            let bill = CheckupBill {
                basic: cat(basic, has_basic, rules[0]),
                detail: cat(detail, has_detail, rules[1]),
                other: cat(other, has_other, rules[2]),
                other_program,
            };
            match money::checkup_claim(&bill) {
                Ok(expected) => {
                    let cats = [
                        (
                            "/settlement/paymentForBasic/amount/@value",
                            "基本的な健診",
                            "basic checkup",
                            s.payment_for_basic.as_ref(),
                            expected.basic,
                        ),
                        (
                            "/settlement/paymentForDetail/amount/@value",
                            "詳細な健診",
                            "detailed checkup",
                            s.payment_for_detail.as_ref(),
                            expected.detail,
                        ),
                        (
                            "/settlement/paymentForOther/amount/@value",
                            "追加健診項目",
                            "additional items",
                            s.payment_for_other.as_ref(),
                            expected.other,
                        ),
                    ];
                    for (loc, ja, en, written, exp) in cats {
                        let want = exp.map(|c| c.copayment).unwrap_or(0);
                        let got = paid(written).unwrap_or(0);
                        if got != want {
                            out.push(copay_finding(file, loc, ja, en, got, want));
                        }
                    }
                }
                Err(e) => out.push(other_program_finding(file, other_program, &e.to_string())),
            }
        }
    }

    // C-06 窓口負担金額合計 = Σ paymentFor*.
    let sum_paid: u64 = [
        &s.payment_for_basic,
        &s.payment_for_detail,
        &s.payment_for_other,
    ]
    .iter()
    .map(|m| paid(m.as_ref()).unwrap_or(0))
    .sum();
    let any_paid_written = s.payment_for_basic.is_some()
        || s.payment_for_detail.is_some()
        || s.payment_for_other.is_some();
    if (any_paid_written || payment_amount != 0) && sum_paid != payment_amount {
        out.push(finding(
            "C-06",
            file,
            "/settlement/paymentAmount/@value",
            &s.payment_amount.value,
            &format!("窓口負担金額合計 {payment_amount} 円が区分ごとの窓口負担の合計 {sum_paid} 円と異なります"),
            &format!("Total co-payment {payment_amount} ≠ sum of the category co-payments {sum_paid}"),
        ));
    }

    // C-07 / C-08 請求金額.
    check_claim_amount(
        file,
        unit_amount,
        payment_amount,
        other_program,
        claim_amount,
        &s.claim_amount.value,
        out,
    );

    // C-03, C-09, C-10, C-11 against the contract.
    match refs.contracts {
        None => {
            for code in ["C-03", "C-09", "C-10", "C-11"] {
                skipped.insert((code, Missing::Contracts));
            }
        }
        Some(contracts) => check_against_contract(r, claim, contracts, out),
    }
    // C-13: the expiry equals the ledger.
    check_ledger_expiry(r, refs, skipped, out);
}

fn check_service_event_type(file: &str, claim_set: &str, index_set: &str, out: &mut Vec<Finding>) {
    if claim_set != index_set {
        out.push(finding(
            "C-01",
            file,
            "/encounter/serviceEventType/@code",
            claim_set,
            &format!("決済情報の実施区分 {claim_set} が交換用基本情報の {index_set} と異なります"),
            &format!(
                "The claim's service event type {claim_set} differs from the index's {index_set}"
            ),
        ));
    }
}

fn check_rate_unit(file: &str, loc: &str, c: &Charge, out: &mut Vec<Finding>) {
    if let Some(rate) = &c.rate
        && rate.unit.as_deref().is_some_and(|u| u != "%")
    {
        out.push(charge_finding(file, loc, c, "the rate unit must be %"));
    }
}

fn charge_finding(file: &str, loc: &str, c: &Charge, why: &str) -> Finding {
    finding(
        "C-12",
        file,
        loc,
        &c.code,
        &format!("窓口負担種別「{}」の記録が正しくありません({why})", c.code),
        &format!("The co-payment setting \"{}\" is malformed ({why})", c.code),
    )
}

fn copay_finding(file: &str, loc: &str, ja: &str, en: &str, got: u64, want: u64) -> Finding {
    finding(
        "C-05",
        file,
        loc,
        &got.to_string(),
        &format!("{ja}の窓口負担額 {got} 円が受診券の負担設定からの計算値 {want} 円と異なります"),
        &format!(
            "The {en} co-payment {got} JPY differs from {want} JPY computed from the voucher settings"
        ),
    )
}

fn other_program_finding(file: &str, other: u64, why: &str) -> Finding {
    finding(
        "C-07",
        file,
        "/settlement/paymentByOtherProgram/@value",
        &other.to_string(),
        &format!("他制度負担金額 {other} 円が単価を超えています({why})"),
        &format!("The other-programme amount {other} JPY exceeds the prices ({why})"),
    )
}

/// C-07 and C-08.
fn check_claim_amount(
    file: &str,
    cost: u64,
    payment: u64,
    other: u64,
    claim: u64,
    written: &str,
    out: &mut Vec<Finding>,
) {
    let loc = "/settlement/claimAmount/@value";
    match cost.checked_sub(payment).and_then(|v| v.checked_sub(other)) {
        None => out.push(finding(
            "C-07",
            file,
            loc,
            written,
            &format!("単価合計 {cost} − 窓口負担 {payment} − 他制度負担 {other} がマイナスになります"),
            &format!("Cost {cost} − co-payment {payment} − other programme {other} is negative"),
        )),
        Some(expected) if expected != claim => out.push(finding(
            "C-07",
            file,
            loc,
            written,
            &format!("請求金額 {claim} 円が 単価合計 {cost} − 窓口負担 {payment} − 他制度負担 {other} = {expected} 円と異なります"),
            &format!("Claim {claim} ≠ cost {cost} − co-payment {payment} − other programme {other} = {expected}"),
        )),
        Some(_) => {}
    }
    if claim == 0 {
        out.push(finding(
            "C-08",
            file,
            loc,
            written,
            "請求金額が0円です",
            "The claim amount is 0 JPY",
        ));
    }
}

/// C-03, C-09, C-10, C-11 for a checkup claim.
fn check_against_contract(
    r: &RecordInput<'_>,
    claim: &CheckupClaim,
    contracts: &[Contract],
    out: &mut Vec<Finding>,
) {
    let file = r.claim_file;
    let s = &claim.settlement;
    let in_force: Vec<&Contract> = contracts
        .iter()
        .filter(|c| r.service_date.is_none_or(|d| c.in_force_on(d)))
        .collect();
    if in_force.is_empty() {
        // No contract at all is D-02; nothing to compare prices with.
        return;
    }
    let commission: u8 = match s.commission_type.as_str() {
        "1" => 1,
        "2" => 2,
        _ => return,
    };
    let price_of = |m: &Option<Money>| m.as_ref().and_then(Money::amount);
    let candidates: Vec<&&Contract> = in_force
        .iter()
        .filter(|c| c.commission_type == commission)
        .collect();
    // Several contracts may be in force (e.g. a group contract and an individual one with
    // the same commission type): the claim is judged against the one whose main price it
    // uses, else the first.
    let main_price_matches = |c: &Contract| {
        if s.claim_type == "5" {
            s.unit_price_other.first().and_then(|o| o.amount.amount()) == c.dock
        } else {
            price_of(&s.unit_price_basic) == c.basic
        }
    };
    let Some(contract) = candidates
        .iter()
        .find(|c| main_price_matches(c))
        .or(candidates.first())
        .map(|c| **c)
    else {
        out.push(finding(
            "C-03",
            file,
            "/settlement/commissionType/@code",
            &s.commission_type,
            &format!("委託料単価区分 {commission} の契約がありません"),
            &format!("There is no contract with commission type {commission}"),
        ));
        return;
    };
    let price = |m: &Money| m.amount().unwrap_or(0);
    let mismatch = |out: &mut Vec<Finding>,
                    loc: &str,
                    what_ja: &str,
                    what_en: &str,
                    got: u64,
                    want: Option<u64>| match want {
        Some(w) if w == got => {}
        Some(w) => out.push(finding(
            "C-09",
            file,
            loc,
            &got.to_string(),
            &format!("{what_ja}の単価 {got} 円が契約単価 {w} 円と異なります"),
            &format!("The {what_en} price {got} JPY differs from the contract price {w} JPY"),
        )),
        None => out.push(finding(
            "C-09",
            file,
            loc,
            &got.to_string(),
            &format!("{what_ja}の契約単価がありません"),
            &format!("The contract has no {what_en} price"),
        )),
    };
    if s.claim_type == "5" {
        if let Some(o) = s.unit_price_other.first() {
            mismatch(
                out,
                "/settlement/unitPriceOther/amount/@value",
                "人間ドック",
                "human dock",
                price(&o.amount),
                contract.dock,
            );
        }
    } else {
        if let Some(b) = &s.unit_price_basic {
            mismatch(
                out,
                "/settlement/unitPriceBasic/amount/@value",
                "基本的な健診",
                "basic checkup",
                price(b),
                contract.basic,
            );
        }
        for d in &s.unit_price_detail {
            let (ja, en) = (
                format!("詳細な健診(項目{})", d.code),
                format!("detailed checkup {}", d.code),
            );
            mismatch(
                out,
                "/settlement/unitPriceDetail/amount/@value",
                &ja,
                &en,
                price(&d.amount),
                contract.detail.get(&d.code).copied(),
            );
        }
        for o in &s.unit_price_other {
            let Some(item) = &o.item else { continue };
            match contract.additional.get(&item.code) {
                None => out.push(finding(
                    "C-10",
                    file,
                    "/settlement/unitPriceOther/observation/@code",
                    &item.code,
                    &format!("追加健診項目 {} は契約の追加項目にありません", item.code),
                    &format!("The additional item {} is not in the contract", item.code),
                )),
                Some(w) => {
                    let (ja, en) = (
                        format!("追加健診項目 {}", item.code),
                        format!("additional item {}", item.code),
                    );
                    mismatch(
                        out,
                        "/settlement/unitPriceOther/amount/@value",
                        &ja,
                        &en,
                        price(&o.amount),
                        Some(*w),
                    );
                }
            }
        }
    }
    let other_program = s
        .payment_by_other_program
        .as_ref()
        .and_then(Money::amount)
        .unwrap_or(0);
    if other_program > 0 && !contract.other_program_allowed {
        out.push(finding(
            "C-11",
            file,
            "/settlement/paymentByOtherProgram/@value",
            &other_program.to_string(),
            &format!("他制度負担金額 {other_program} 円がありますが、契約で認められていません"),
            &format!("An other-programme amount of {other_program} JPY is present but the contract does not allow it"),
        ));
    }
}

/// C-13: the voucher expiry in the claim equals the ledger's.
fn check_ledger_expiry(
    r: &RecordInput<'_>,
    refs: &ClaimReference<'_>,
    skipped: &mut Skipped,
    out: &mut Vec<Finding>,
) {
    let Some(claim) = r.claim else { return };
    match refs.vouchers {
        None => {
            skipped.insert(("C-13", Missing::Vouchers));
        }
        Some(vouchers) => {
            let Some(v) = vouchers.first() else { return }; // not in the ledger: D-03
            let written = claim.expiry().unwrap_or("");
            let ledger = v.expiry.map(|d| d.compact()).unwrap_or_default();
            if !ledger.is_empty() && written != ledger {
                out.push(finding_with_reason(
                    "C-13",
                    ReturnReason::OutsideValidity,
                    r.claim_file,
                    "/effectiveTime/high/@value",
                    written,
                    &format!("有効期限「{written}」が台帳の有効期限 {ledger} と異なります"),
                    &format!("The expiry \"{written}\" differs from the ledger's {ledger}"),
                ));
            }
        }
    }
}

/// Runs C-01, C-07, C-08, C-12, C-14, C-15, C-16 on a guidance claim.
pub fn check_guidance_claim(
    r: &RecordInput<'_>,
    claim: &GuidanceClaim,
    refs: &ClaimReference<'_>,
    skipped: &mut Skipped,
    out: &mut Vec<Finding>,
) {
    let file = r.claim_file;
    let s = &claim.settlement;
    check_service_event_type(
        file,
        &claim.service_event_type,
        r.index_service_event_type,
        out,
    );

    let mut ok = true;
    for (loc, m) in [
        ("/settlement/unitPrice/amount/@value", &s.unit_price),
        ("/settlement/calculatedAmount/@value", &s.calculated_amount),
        ("/settlement/payment/amount/@value", &s.payment_amount),
        ("/settlement/claimAmount/@value", &s.claim_amount),
    ] {
        if total(m).is_none() {
            ok = false;
            out.push(finding(
                "C-14",
                file,
                loc,
                &m.value,
                &format!("金額「{}」が0〜999,999,999の整数ではありません", m.value),
                &format!("The amount \"{}\" is not an integer 0–999,999,999", m.value),
            ));
        }
    }
    for (loc, c) in [
        (
            "/healthGuidanceCard/copayment",
            claim.card.copayment.as_ref(),
        ),
        (
            "/healthGuidanceCard/maxInsuranceLimit",
            claim.card.max_insurance_limit.as_ref(),
        ),
    ] {
        if let Some(c) = c {
            if let Err(e) = CopaymentRule::from_charge(c) {
                out.push(charge_finding(file, loc, c, &e.to_string()));
            } else {
                check_rate_unit(file, loc, c, out);
            }
        }
    }

    // C-15 保健指導区分, 算定金額, 請求金額, 窓口負担徴収.
    let level = claim.guidance_level.as_str();
    if !matches!(level, "1" | "2" | "3") {
        out.push(finding(
            "C-15",
            file,
            "/encounter/guidanceLevel/@code",
            level,
            &format!("保健指導区分「{level}」は1〜3で入力してください"),
            &format!("The guidance level \"{level}\" must be 1–3"),
        ));
    } else if let Some(v) = refs.vouchers.and_then(|v| v.first())
        && let Some(ledger_level) = &v.guidance_level
        && ledger_level != level
    {
        out.push(finding(
            "C-15",
            file,
            "/encounter/guidanceLevel/@code",
            level,
            &format!("保健指導区分 {level} が利用券の区分 {ledger_level} と異なります"),
            &format!("The guidance level {level} differs from the voucher's {ledger_level}"),
        ));
    }
    if !matches!(s.payment_status.as_str(), "1" | "2") {
        out.push(finding(
            "C-15",
            file,
            "/settlement/payment/status/@code",
            &s.payment_status,
            &format!(
                "窓口負担徴収区分「{}」は1か2で入力してください",
                s.payment_status
            ),
            &format!("The payment status \"{}\" must be 1 or 2", s.payment_status),
        ));
    }
    let rate = parse_uint(&s.payment_rate.value).filter(|v| *v <= 100);
    if rate.is_none() {
        ok = false;
        out.push(finding(
            "C-15",
            file,
            "/settlement/paymentRate/@value",
            &s.payment_rate.value,
            &format!(
                "支払割合「{}」が0〜100の整数ではありません",
                s.payment_rate.value
            ),
            &format!(
                "The payment rate \"{}\" is not an integer 0–100",
                s.payment_rate.value
            ),
        ));
    }
    if ok && let Some(rate) = rate {
        let unit = total(&s.unit_price).unwrap_or(0);
        let calculated = total(&s.calculated_amount).unwrap_or(0);
        let payment = total(&s.payment_amount).unwrap_or(0);
        let claim_amount = total(&s.claim_amount).unwrap_or(0);
        if let Ok(expected) = money::guidance_calculated_amount(unit, rate)
            && expected != calculated
        {
            out.push(finding(
                "C-15",
                file,
                "/settlement/calculatedAmount/@value",
                &s.calculated_amount.value,
                &format!("算定金額 {calculated} 円が 契約単価 {unit} × 支払割合 {rate}% = {expected} 円と異なります"),
                &format!("Calculated amount {calculated} ≠ unit price {unit} × rate {rate}% = {expected}"),
            ));
        }
        check_claim_amount(
            file,
            calculated,
            payment,
            0,
            claim_amount,
            &s.claim_amount.value,
            out,
        );

        // C-16 支払割合 against the contract's share for this timing.
        match refs.contracts {
            None => {
                skipped.insert(("C-16", Missing::Contracts));
            }
            Some(contracts) => {
                let in_force = contracts
                    .iter()
                    .find(|c| r.service_date.is_none_or(|d| c.in_force_on(d)));
                if let Some(c) = in_force
                    && let Some(share) = c.guidance_shares.get(&claim.guidance_timing)
                    && *share != rate
                {
                    out.push(finding(
                        "C-16",
                        file,
                        "/settlement/paymentRate/@value",
                        &s.payment_rate.value,
                        &format!("支払割合 {rate}% が契約の割合 {share}%(実施時点 {})と異なります", claim.guidance_timing),
                        &format!("The payment rate {rate}% differs from the contract's {share}% for timing {}", claim.guidance_timing),
                    ));
                }
                if let Some(c) = in_force
                    && let Some(price) = c.guidance.get(level)
                    && *price != unit
                {
                    out.push(finding(
                        "C-09",
                        file,
                        "/settlement/unitPrice/amount/@value",
                        &s.unit_price.value,
                        &format!("契約単価 {unit} 円が契約の単価 {price} 円と異なります"),
                        &format!(
                            "The unit price {unit} JPY differs from the contract's {price} JPY"
                        ),
                    ));
                }
            }
        }
    }
    check_ledger_expiry(r, refs, skipped, out);
}
