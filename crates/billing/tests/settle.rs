//! Month settlement: BUSINESS.md §5.3's worked vectors summed onto invoices, fees, 過誤
//! offsets, negative payments carried forward, and the balancing identities (proptest).

use std::collections::BTreeMap;

use daiko_billing::*;
use daiko_format::money::{CategoryBill, CheckupBill, CopayRate, CopaymentRule, checkup_claim};
use jiff::civil::date;
use proptest::prelude::*;

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

fn rate(p: u32) -> CopayRate {
    CopayRate::from_percent(p).unwrap()
}

/// A checkup claim line whose amounts come from daiko-format's claim arithmetic.
fn checkup_line(
    id: &str,
    insurer: &str,
    institution: &str,
    price: u64,
    rule: CopaymentRule,
    other: u64,
) -> ClaimLine {
    let a = checkup_claim(&CheckupBill {
        basic: Some(CategoryBill { price, rule }),
        detail: None,
        other: None,
        other_program: other,
    })
    .unwrap();
    ClaimLine {
        record_id: id.to_string(),
        insurer: insurer.to_string(),
        institution: institution.to_string(),
        card_number: format!("記号1・{id}"),
        voucher_number: format!("26100{id}"),
        kind: ServiceKind::Checkup,
        guidance_timing: None,
        service_date: "20260210".to_string(),
        cost_total: a.unit_amount as i64,
        copay_total: a.payment_amount as i64,
        other_total: a.payment_by_other_program as i64,
        claim_total: a.claim_amount as i64,
        late: false,
    }
}

/// BUSINESS.md §5.3: (case, T, rule, O, co-payment, claim). "fixed above price" bills 0 and
/// is rejected by C-08, so it never reaches a month.
fn vectors() -> Vec<(&'static str, u64, CopaymentRule, u64, i64, i64)> {
    vec![
        ("none", 9_310, CopaymentRule::None, 0, 0, 9_310),
        (
            "fixed",
            7_680,
            CopaymentRule::Fixed { amount: 1_000 },
            0,
            1_000,
            6_680,
        ),
        (
            "rate30",
            7_680,
            CopaymentRule::Rate { rate: rate(30) },
            0,
            2_304,
            5_376,
        ),
        (
            "rounding",
            7_685,
            CopaymentRule::Rate { rate: rate(30) },
            0,
            2_306,
            5_379,
        ),
        (
            "cap",
            7_680,
            CopaymentRule::Cap { cap: 5_000 },
            0,
            2_680,
            5_000,
        ),
        (
            "cap_above",
            7_680,
            CopaymentRule::Cap { cap: 8_000 },
            0,
            0,
            7_680,
        ),
        (
            "fixed_cap_binding",
            7_680,
            CopaymentRule::FixedWithCap {
                amount: 1_000,
                cap: 6_000,
            },
            0,
            1_680,
            6_000,
        ),
        (
            "fixed_cap_free",
            7_680,
            CopaymentRule::FixedWithCap {
                amount: 1_000,
                cap: 7_000,
            },
            0,
            1_000,
            6_680,
        ),
        (
            "rate_cap",
            7_680,
            CopaymentRule::RateWithCap {
                rate: rate(10),
                cap: 6_000,
            },
            0,
            1_680,
            6_000,
        ),
        (
            "rate_other",
            7_680,
            CopaymentRule::Rate { rate: rate(30) },
            500,
            2_154,
            5_026,
        ),
    ]
}

fn names() -> BTreeMap<String, String> {
    [
        ("06130012", "全国健康保険協会東京支部"),
        ("39131015", "東京都後期高齢者医療広域連合"),
        ("1311111111", "医療法人社団 健診会 新宿クリニック"),
        ("1322222222", "港区健診センター"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn worked_vectors_sum_onto_invoices_and_statements_to_the_yen() {
    let insurers = ["06130012", "39131015"];
    let institutions = ["1311111111", "1322222222"];
    let mut lines = Vec::new();
    for (i, (case, t, rule, o, copay, claim)) in vectors().into_iter().enumerate() {
        let l = checkup_line(
            &format!("R{i:03}"),
            insurers[i / 5],
            institutions[i % 2],
            t,
            rule,
            o,
        );
        // The line carries exactly the table's co-payment and claim.
        assert_eq!((l.copay_total, l.claim_total), (copay, claim), "{case}");
        lines.push(l);
    }
    let s = settle(
        ym("2026-03"),
        &Calendar::default(),
        &FeeSchedule::default(),
        &lines,
        &[],
        &names(),
    )
    .unwrap();
    assert_eq!(s.invoices.len(), 2);
    let a = &s.invoices[0];
    assert_eq!(a.insurer, "06130012");
    assert_eq!(a.insurer_name, "全国健康保険協会東京支部");
    // Rows 1-5 of the table: T 9,310 + 7,680 + 7,680 + 7,685 + 7,680.
    assert_eq!(
        (
            a.records,
            a.cost_total,
            a.copay_total,
            a.other_total,
            a.claim_total
        ),
        (5, 40_035, 8_290, 0, 31_745)
    );
    assert_eq!(a.amount_due, 31_745);
    let b = &s.invoices[1];
    assert_eq!(
        (
            b.records,
            b.cost_total,
            b.copay_total,
            b.other_total,
            b.claim_total
        ),
        (5, 38_400, 6_514, 500, 31_386)
    );
    assert_eq!(a.invoice_date, date(2026, 3, 12));
    assert_eq!(a.due_date, date(2026, 3, 19));
    // Per-institution subtotals add up to the invoice.
    for inv in &s.invoices {
        let sum: i64 = inv.per_institution.iter().map(|p| p.claim_total).sum();
        assert_eq!(sum, inv.claim_total);
        assert_eq!(inv.per_institution.len(), 2);
    }
    // No fees, no offsets: each institution is paid exactly its claims.
    let paid: i64 = s.statements.iter().map(|st| st.amount_paid).sum();
    assert_eq!(paid, 31_745 + 31_386);
    assert_eq!(s.statements[0].institution, "1311111111");
    assert_eq!(s.statements[0].payment_date, date(2026, 3, 31));
}

fn offset(id: &str, insurer: &str, institution: &str, amount: i64) -> Offset {
    Offset {
        id: id.to_string(),
        insurer: insurer.to_string(),
        institution: institution.to_string(),
        record_id: Some(format!("old-{id}")),
        reason_code: "06".to_string(),
        reason_text: "資格喪失後の受診".to_string(),
        amount,
        origin_month: Some(ym("2026-01")),
    }
}

#[test]
fn fees_and_offsets_on_both_sides() {
    let lines = vec![
        checkup_line(
            "R1",
            "06130012",
            "1311111111",
            9_310,
            CopaymentRule::None,
            0,
        ),
        checkup_line(
            "R2",
            "06130012",
            "1311111111",
            7_680,
            CopaymentRule::Fixed { amount: 1_000 },
            0,
        ),
        checkup_line(
            "R3",
            "06130012",
            "1322222222",
            7_680,
            CopaymentRule::Cap { cap: 5_000 },
            0,
        ),
    ];
    let fees = FeeSchedule {
        insurer_per_record: 50,
        insurer_per_invoice: 1_000,
        institution_per_record: 30,
        institution_per_statement: 500,
    };
    let offsets = vec![offset("K1", "06130012", "1311111111", 3_000)];
    let s = settle(
        ym("2026-03"),
        &Calendar::default(),
        &fees,
        &lines,
        &offsets,
        &names(),
    )
    .unwrap();
    let inv = &s.invoices[0];
    assert_eq!(inv.claim_total, 9_310 + 6_680 + 5_000);
    assert_eq!(inv.fee_total, 3 * 50 + 1_000);
    assert_eq!(inv.offset_total, 3_000);
    assert_eq!(inv.amount_due, 20_990 + 1_150 - 3_000);
    assert_eq!(inv.offsets.len(), 1);
    let shinjuku = &s.statements[0];
    assert_eq!(shinjuku.fee_total, 2 * 30 + 500);
    assert_eq!(shinjuku.offset_total, 3_000);
    assert_eq!(shinjuku.amount_paid, 15_990 - 560 - 3_000);
    assert!(shinjuku.carried_forward.is_none());
    let minato = &s.statements[1];
    assert_eq!(minato.amount_paid, 5_000 - 530);
    // The summary keeps the interface's field order.
    let json = serde_json::to_string(&inv.summary()).unwrap();
    assert!(json.starts_with(
        r#"{"insurer":"06130012","records":3,"cost_total":24670,"copay_total":3680,"other_total":0,"claim_total":20990,"fee_total":1150,"offset_total":3000,"amount_due":19140"#
    ), "{json}");
    let json = serde_json::to_string(&shinjuku.summary()).unwrap();
    assert!(json.starts_with(
        r#"{"institution":"1311111111","records":2,"claim_total":15990,"fee_total":560,"offset_total":3000,"amount_paid":12430"#
    ), "{json}");
    assert_eq!(inv.summary_json()["amount_due"], 19_140);
    assert_eq!(shinjuku.summary_json()["amount_paid"], 12_430);
}

#[test]
fn a_negative_payment_is_carried_forward_and_offset_next_month() {
    let lines = vec![checkup_line(
        "R1",
        "06130012",
        "1311111111",
        7_680,
        CopaymentRule::None,
        0,
    )];
    // The insurer withdraws a 10,000 yen record paid in January; March's claims are smaller.
    let offsets = vec![offset("K1", "06130012", "1311111111", 10_000)];
    let fees = FeeSchedule {
        institution_per_statement: 200,
        ..FeeSchedule::default()
    };
    let march = settle(
        ym("2026-03"),
        &Calendar::default(),
        &fees,
        &lines,
        &offsets,
        &names(),
    )
    .unwrap();
    let st = &march.statements[0];
    assert_eq!(st.amount_paid, 0);
    let carry = st.carried_forward.clone().unwrap();
    assert_eq!(carry.amount, 10_000 + 200 - 7_680);
    assert_eq!(carry.reason_code, CARRY);
    assert_eq!(carry.origin_month, Some(ym("2026-03")));
    // The insurer still gets the whole offset.
    assert_eq!(march.invoices[0].amount_due, 7_680 - 10_000);

    // April: the carry lowers the institution's payment but no insurer's invoice.
    let april_lines = vec![checkup_line(
        "R2",
        "39131015",
        "1311111111",
        9_310,
        CopaymentRule::None,
        0,
    )];
    let april = settle(
        ym("2026-04"),
        &Calendar::default(),
        &fees,
        &april_lines,
        std::slice::from_ref(&carry),
        &names(),
    )
    .unwrap();
    assert_eq!(april.invoices.len(), 1);
    assert_eq!(april.invoices[0].offset_total, 0);
    assert_eq!(april.invoices[0].amount_due, 9_310);
    let st = &april.statements[0];
    assert_eq!(st.offset_total, carry.amount);
    assert_eq!(st.amount_paid, 9_310 - 200 - carry.amount);
    // The carry is listed under the empty insurer code.
    assert!(
        st.per_insurer
            .iter()
            .any(|p| p.code.is_empty() && p.offset_total == carry.amount)
    );
}

#[test]
fn an_offset_alone_makes_a_document_without_fixed_fees() {
    let fees = FeeSchedule {
        insurer_per_invoice: 1_000,
        institution_per_statement: 500,
        ..FeeSchedule::default()
    };
    let s = settle(
        ym("2026-03"),
        &Calendar::default(),
        &fees,
        &[],
        &[offset("K1", "06130012", "1311111111", 4_000)],
        &names(),
    )
    .unwrap();
    assert_eq!(s.invoices[0].fee_total, 0);
    assert_eq!(s.invoices[0].amount_due, -4_000);
    assert_eq!(s.statements[0].fee_total, 0);
    assert_eq!(
        s.statements[0].carried_forward.as_ref().unwrap().amount,
        4_000
    );
}

#[test]
fn malformed_input_is_refused() {
    let good = checkup_line(
        "R1",
        "06130012",
        "1311111111",
        7_680,
        CopaymentRule::None,
        0,
    );
    let cal = Calendar::default();
    let fees = FeeSchedule::default();
    let n = names();
    let m = ym("2026-03");
    let dup = settle(m, &cal, &fees, &[good.clone(), good.clone()], &[], &n).unwrap_err();
    assert!(matches!(dup, BillingError::DuplicateRecord { .. }), "{dup}");
    let mut wrong = good.clone();
    wrong.claim_total += 1;
    assert!(matches!(
        settle(m, &cal, &fees, &[wrong], &[], &n),
        Err(BillingError::BadLine { .. })
    ));
    let mut negative = good.clone();
    negative.copay_total = -1;
    negative.claim_total = negative.cost_total + 1;
    assert!(matches!(
        settle(m, &cal, &fees, &[negative], &[], &n),
        Err(BillingError::BadLine { .. })
    ));
    let zero = offset("K1", "06130012", "1311111111", 0);
    assert!(matches!(
        settle(m, &cal, &fees, &[], &[zero], &n),
        Err(BillingError::BadOffset { .. })
    ));
    let mut no_insurer = offset("K1", "", "1311111111", 10);
    assert!(settle(m, &cal, &fees, &[], &[no_insurer.clone()], &n).is_err());
    no_insurer.reason_code = CARRY.to_string();
    assert!(settle(m, &cal, &fees, &[], &[no_insurer], &n).is_ok());
    let mut unknown_reason = offset("K1", "06130012", "1311111111", 10);
    unknown_reason.reason_code = "1204".into();
    let e = settle(m, &cal, &fees, &[], &[unknown_reason], &n).unwrap_err();
    assert!(matches!(e, BillingError::BadOffset { .. }), "{e}");
    let twice = offset("K1", "06130012", "1311111111", 10);
    assert!(settle(m, &cal, &fees, &[], &[twice.clone(), twice], &n).is_err());
    let bad_fee = FeeSchedule {
        insurer_per_record: -1,
        ..FeeSchedule::default()
    };
    let e = settle(m, &cal, &bad_fee, &[good], &[], &n).unwrap_err();
    assert!(!e.message_ja().is_empty());
}

fn arb_line() -> impl Strategy<Value = (usize, usize, i64, i64, i64, bool)> {
    (
        0usize..4,
        0usize..5,
        0i64..200_000,
        0i64..100_000,
        0i64..5_000,
        any::<bool>(),
    )
}

fn arb_offset() -> impl Strategy<Value = (usize, usize, i64, bool)> {
    (0usize..4, 0usize..6, 1i64..80_000, any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn settlement_identities_hold(
        raw_lines in prop::collection::vec(arb_line(), 0..60),
        raw_offsets in prop::collection::vec(arb_offset(), 0..8),
        fees in (0i64..500, 0i64..5_000, 0i64..500, 0i64..5_000),
        rotate in 0usize..60,
    ) {
        let insurers = ["01130012", "06130012", "39131015", "67130016"];
        let institutions = ["1310000001", "1310000002", "1320000003", "2710000004", "2710000005", "0110000006"];
        let mut lines: Vec<ClaimLine> = raw_lines.iter().enumerate().map(|(i, &(ins, inst, cost, copay, other, guidance))| {
            let copay = copay.min(cost);
            let other = other.min(cost - copay);
            ClaimLine {
                record_id: format!("R{i:05}"),
                insurer: insurers[ins].to_string(),
                institution: institutions[inst].to_string(),
                card_number: format!("{i}"),
                voucher_number: format!("V{i}"),
                kind: if guidance { ServiceKind::Guidance } else { ServiceKind::Checkup },
                guidance_timing: guidance.then(|| "1".to_string()),
                service_date: "20260215".to_string(),
                cost_total: cost,
                copay_total: copay,
                other_total: other,
                claim_total: cost - copay - other,
                late: i % 7 == 0,
            }
        }).collect();
        let offsets: Vec<Offset> = raw_offsets.iter().enumerate().map(|(i, &(ins, inst, amount, carry))| Offset {
            id: format!("K{i}"),
            insurer: if carry { String::new() } else { insurers[ins].to_string() },
            institution: institutions[inst].to_string(),
            record_id: None,
            reason_code: if carry { CARRY.to_string() } else { "04".to_string() },
            reason_text: "理由".to_string(),
            amount,
            origin_month: None,
        }).collect();
        let fees = FeeSchedule {
            insurer_per_record: fees.0,
            insurer_per_invoice: fees.1,
            institution_per_record: fees.2,
            institution_per_statement: fees.3,
        };
        let m = ym("2026-06");
        let s = settle(m, &Calendar::default(), &fees, &lines, &offsets, &BTreeMap::new()).unwrap();

        for inv in &s.invoices {
            prop_assert_eq!(inv.amount_due, inv.claim_total + inv.fee_total - inv.offset_total);
            let mine: Vec<&ClaimLine> = lines.iter().filter(|l| l.insurer == inv.insurer).collect();
            prop_assert_eq!(inv.records, mine.len() as i64);
            prop_assert_eq!(inv.claim_total, mine.iter().map(|l| l.claim_total).sum::<i64>());
            prop_assert_eq!(inv.cost_total, mine.iter().map(|l| l.cost_total).sum::<i64>());
            let expected_fee = if mine.is_empty() { 0 } else { fees.insurer_per_record * mine.len() as i64 + fees.insurer_per_invoice };
            prop_assert_eq!(inv.fee_total, expected_fee);
            prop_assert_eq!(inv.per_institution.iter().map(|p| p.claim_total).sum::<i64>(), inv.claim_total);
            prop_assert_eq!(inv.per_institution.iter().map(|p| p.offset_total).sum::<i64>(), inv.offset_total);
            prop_assert!(inv.lines.windows(2).all(|w| (&w[0].institution, &w[0].record_id) < (&w[1].institution, &w[1].record_id)));
        }
        let mut carried = 0;
        for st in &s.statements {
            let c = st.carried_forward.as_ref().map_or(0, |o| o.amount);
            prop_assert!(st.amount_paid >= 0);
            prop_assert!(c >= 0);
            prop_assert!(st.amount_paid == 0 || c == 0);
            prop_assert_eq!(st.amount_paid - c, st.claim_total - st.fee_total - st.offset_total);
            prop_assert_eq!(st.per_insurer.iter().map(|p| p.claim_total).sum::<i64>(), st.claim_total);
            carried += c;
        }
        let paid: i64 = s.statements.iter().map(|x| x.amount_paid).sum();
        let inv_claims: i64 = s.invoices.iter().map(|x| x.claim_total).sum();
        let st_fees: i64 = s.statements.iter().map(|x| x.fee_total).sum();
        let st_offsets: i64 = s.statements.iter().map(|x| x.offset_total).sum();
        prop_assert_eq!(paid - carried, inv_claims - st_fees - st_offsets);
        prop_assert_eq!(inv_claims, lines.iter().map(|l| l.claim_total).sum::<i64>());
        prop_assert_eq!(st_offsets, offsets.iter().map(|o| o.amount).sum::<i64>());
        let inv_offsets: i64 = s.invoices.iter().map(|x| x.offset_total).sum();
        prop_assert_eq!(inv_offsets, offsets.iter().filter(|o| !o.is_carry()).map(|o| o.amount).sum::<i64>());
        // Every line on exactly one invoice and one statement.
        prop_assert_eq!(s.invoices.iter().map(|x| x.lines.len()).sum::<usize>(), lines.len());
        prop_assert_eq!(s.statements.iter().map(|x| x.lines.len()).sum::<usize>(), lines.len());
        // Sorted by number; independent of input order.
        prop_assert!(s.invoices.windows(2).all(|w| w[0].insurer < w[1].insurer));
        prop_assert!(s.statements.windows(2).all(|w| w[0].institution < w[1].institution));
        if !lines.is_empty() {
            let k = rotate % lines.len();
            lines.rotate_left(k);
            lines.reverse();
            let again = settle(m, &Calendar::default(), &fees, &lines, &offsets, &BTreeMap::new()).unwrap();
            prop_assert_eq!(again, s);
        }
    }
}

#[test]
fn guidance_claims_sum_with_checkups() {
    // §5.2: a 積極的支援 price of 60,000 yen split 40 % at the start (timing 1) and 60 % at the
    // final evaluation (timing 2), 2,000 yen paid at the window at the start.
    let start = daiko_format::money::guidance_claim(60_000, 40, 2_000).unwrap();
    let fin = daiko_format::money::guidance_claim(60_000, 60, 0).unwrap();
    let guidance = |id: &str, timing: &str, a: daiko_format::money::GuidanceAmounts| ClaimLine {
        record_id: id.into(),
        insurer: "06130012".into(),
        institution: "1311111111".into(),
        card_number: "記号1・1".into(),
        voucher_number: "26200000001".into(),
        kind: ServiceKind::Guidance,
        guidance_timing: Some(timing.into()),
        service_date: "20260220".into(),
        cost_total: a.calculated_amount as i64,
        copay_total: a.payment_amount as i64,
        other_total: 0,
        claim_total: a.claim_amount as i64,
        late: false,
    };
    let lines = vec![
        guidance("G1", "1", start),
        guidance("G2", "2", fin),
        checkup_line(
            "C1",
            "06130012",
            "1311111111",
            7_685,
            CopaymentRule::Rate { rate: rate(30) },
            0,
        ),
    ];
    let s = settle(
        ym("2026-03"),
        &Calendar::default(),
        &FeeSchedule::default(),
        &lines,
        &[],
        &names(),
    )
    .unwrap();
    let inv = &s.invoices[0];
    assert_eq!(inv.cost_total, 24_000 + 36_000 + 7_685);
    assert_eq!(inv.copay_total, 2_000 + 2_306);
    assert_eq!(inv.claim_total, 22_000 + 36_000 + 5_379);
    assert_eq!(s.statements[0].amount_paid, inv.claim_total);
}
