//! Claim arithmetic: the worked vectors of BUSINESS.md §5.3 and the invariants of §5.1.

use daiko_format::model::{Charge, DockCharge, Money, Rate};
use daiko_format::money::*;
use proptest::prelude::*;

fn rate(percent: u32) -> CopayRate {
    CopayRate::from_percent(percent).unwrap()
}

/// One row of BUSINESS.md §5.3: T, rule, O → (co-payment, code written, claim).
fn vector(price: u64, rule: CopaymentRule, other: u64, copay: u64, code: &str, claim: u64) {
    let bill = CheckupBill {
        basic: Some(CategoryBill { price, rule }),
        detail: None,
        other: None,
        other_program: other,
    };
    let a = checkup_claim(&bill).unwrap();
    let basic = a.basic.unwrap();
    assert_eq!(basic.copayment, copay, "co-payment of {rule:?}");
    assert_eq!(basic.written.code(), code, "code written for {rule:?}");
    assert_eq!(a.claim_amount, claim, "claim of {rule:?}");
    assert_eq!(a.unit_amount, price);
    assert_eq!(a.payment_amount, copay);
}

#[test]
fn vector_none() {
    vector(9_310, CopaymentRule::None, 0, 0, "1", 9_310);
}

#[test]
fn vector_fixed() {
    vector(
        7_680,
        CopaymentRule::Fixed { amount: 1_000 },
        0,
        1_000,
        "2",
        6_680,
    );
}

#[test]
fn vector_fixed_above_price() {
    vector(
        7_680,
        CopaymentRule::Fixed { amount: 9_000 },
        0,
        7_680,
        "2",
        0,
    );
}

#[test]
fn vector_rate_30_percent() {
    let r = CopayRate::parse("030000").unwrap();
    assert_eq!(r, rate(30));
    vector(7_680, CopaymentRule::Rate { rate: r }, 0, 2_304, "3", 5_376);
}

#[test]
fn vector_rate_rounding_half_up() {
    // 7,685 × 30 % = 2,305.5 → 2,306
    vector(
        7_685,
        CopaymentRule::Rate { rate: rate(30) },
        0,
        2_306,
        "3",
        5_379,
    );
}

#[test]
fn vector_cap() {
    vector(
        7_680,
        CopaymentRule::Cap { cap: 5_000 },
        0,
        2_680,
        "4",
        5_000,
    );
}

#[test]
fn vector_cap_above_price() {
    vector(7_680, CopaymentRule::Cap { cap: 8_000 }, 0, 0, "4", 7_680);
}

#[test]
fn vector_fixed_with_cap_binding() {
    vector(
        7_680,
        CopaymentRule::FixedWithCap {
            amount: 1_000,
            cap: 6_000,
        },
        0,
        1_680,
        "4",
        6_000,
    );
}

#[test]
fn vector_fixed_with_cap_not_binding() {
    vector(
        7_680,
        CopaymentRule::FixedWithCap {
            amount: 1_000,
            cap: 7_000,
        },
        0,
        1_000,
        "2",
        6_680,
    );
}

#[test]
fn vector_rate_with_cap() {
    vector(
        7_680,
        CopaymentRule::RateWithCap {
            rate: rate(10),
            cap: 6_000,
        },
        0,
        1_680,
        "4",
        6_000,
    );
}

#[test]
fn vector_rate_with_other_programme() {
    vector(
        7_680,
        CopaymentRule::Rate { rate: rate(30) },
        500,
        2_154,
        "3",
        5_026,
    );
}

#[test]
fn other_programme_is_consumed_basic_then_detail_then_other() {
    let bill = CheckupBill {
        basic: Some(CategoryBill {
            price: 1_000,
            rule: CopaymentRule::Rate { rate: rate(30) },
        }),
        detail: Some(CategoryBill {
            price: 2_000,
            rule: CopaymentRule::Rate { rate: rate(30) },
        }),
        other: Some(CategoryBill {
            price: 3_000,
            rule: CopaymentRule::Rate { rate: rate(30) },
        }),
        other_program: 1_500,
    };
    let a = checkup_claim(&bill).unwrap();
    let (b, d, o) = (a.basic.unwrap(), a.detail.unwrap(), a.other.unwrap());
    assert_eq!(
        (b.other_applied, d.other_applied, o.other_applied),
        (1_000, 500, 0)
    );
    assert_eq!((b.copayment, d.copayment, o.copayment), (0, 450, 900));
    assert_eq!(a.unit_amount, 6_000);
    assert_eq!(a.payment_amount, 1_350);
    assert_eq!(a.claim_amount, 6_000 - 1_350 - 1_500);
}

#[test]
fn other_programme_above_total_is_an_error() {
    let bill = CheckupBill {
        basic: Some(CategoryBill {
            price: 1_000,
            rule: CopaymentRule::None,
        }),
        other_program: 1_001,
        ..CheckupBill::default()
    };
    assert!(matches!(
        checkup_claim(&bill),
        Err(MoneyError::OtherProgramExceedsPrice { .. })
    ));
}

#[test]
fn written_charges_read_back_to_the_same_co_payment() {
    // A writer emits code 4 when the cap binds; reading that charge recomputes the same amount.
    for rule in [
        CopaymentRule::None,
        CopaymentRule::Fixed { amount: 1_000 },
        CopaymentRule::Rate { rate: rate(30) },
        CopaymentRule::Cap { cap: 5_000 },
        CopaymentRule::FixedWithCap {
            amount: 1_000,
            cap: 6_000,
        },
        CopaymentRule::FixedWithCap {
            amount: 1_000,
            cap: 7_000,
        },
        CopaymentRule::RateWithCap {
            rate: rate(10),
            cap: 6_000,
        },
        CopaymentRule::RateWithCap {
            rate: rate(30),
            cap: 6_000,
        },
    ] {
        let c = category_copayment(7_680, 0, rule);
        let read = CopaymentRule::from_charge(&c.written.to_charge()).unwrap();
        assert_eq!(
            category_copayment(7_680, 0, read).copayment,
            c.copayment,
            "{rule:?}"
        );
    }
}

#[test]
fn written_charge_fields_are_six_digits() {
    let c = WrittenCharge::Fixed(1_000).to_charge();
    assert_eq!(c.code, "2");
    assert_eq!(c.amount.unwrap().value, "001000");
    let r = WrittenCharge::Rate(rate(30)).to_charge();
    assert_eq!(r.rate.unwrap().value, "030000");
    assert_eq!(
        WrittenCharge::None.to_charge(),
        Charge {
            code: "1".into(),
            amount: None,
            rate: None
        }
    );
}

#[test]
fn malformed_charges_are_rejected() {
    let unpadded = Charge {
        code: "2".into(),
        amount: Some(Money::yen(1000)),
        rate: None,
    };
    assert!(CopaymentRule::from_charge(&unpadded).is_err());
    let no_rate = Charge {
        code: "3".into(),
        amount: None,
        rate: None,
    };
    assert!(CopaymentRule::from_charge(&no_rate).is_err());
    let over = Charge {
        code: "3".into(),
        amount: None,
        rate: Some(Rate {
            value: "100001".into(),
            unit: None,
        }),
    };
    assert!(CopaymentRule::from_charge(&over).is_err());
    let code5 = Charge {
        code: "5".into(),
        amount: None,
        rate: None,
    };
    assert!(CopaymentRule::from_charge(&code5).is_err());
}

#[test]
fn dock_block_round_trips() {
    let rule = CopaymentRule::RateWithCap {
        rate: rate(20),
        cap: 30_000,
    };
    let dock: DockCharge = rule.to_dock_charge();
    assert_eq!(CopaymentRule::from_dock_charge(&dock).unwrap(), rule);
    let a = dock_claim(45_000, rule, 0).unwrap();
    // 45,000 − 9,000 = 36,000 > 30,000 → the cap binds: 15,000
    assert_eq!(a.payment_amount, 15_000);
    assert_eq!(a.claim_amount, 30_000);
}

#[test]
fn guidance_claim_amounts() {
    let g = guidance_claim(30_000, 20, 0).unwrap();
    assert_eq!(g.calculated_amount, 6_000);
    assert_eq!(g.claim_amount, 6_000);
    let g = guidance_claim(30_000, 80, 2_000).unwrap();
    assert_eq!((g.calculated_amount, g.claim_amount), (24_000, 22_000));
    // 12,345 × 50 % = 6,172.5 → 6,173 (half up)
    assert_eq!(guidance_calculated_amount(12_345, 50).unwrap(), 6_173);
    assert!(guidance_calculated_amount(1_000, 101).is_err());
    assert!(guidance_claim(1_000, 10, 101).is_err());
}

fn any_rule() -> impl Strategy<Value = CopaymentRule> {
    let r = (0u64..=100_000).prop_map(|s| CopayRate::from_scaled(s).unwrap());
    prop_oneof![
        Just(CopaymentRule::None),
        (0u64..=999_999).prop_map(|amount| CopaymentRule::Fixed { amount }),
        r.clone().prop_map(|rate| CopaymentRule::Rate { rate }),
        (0u64..=999_999).prop_map(|cap| CopaymentRule::Cap { cap }),
        (0u64..=999_999, 0u64..=999_999)
            .prop_map(|(amount, cap)| CopaymentRule::FixedWithCap { amount, cap }),
        (r, 0u64..=999_999).prop_map(|(rate, cap)| CopaymentRule::RateWithCap { rate, cap }),
    ]
}

fn cap_of(rule: CopaymentRule) -> Option<u64> {
    match rule {
        CopaymentRule::Cap { cap }
        | CopaymentRule::FixedWithCap { cap, .. }
        | CopaymentRule::RateWithCap { cap, .. } => Some(cap),
        _ => None,
    }
}

proptest! {
    #[test]
    fn claim_is_cost_minus_copay_minus_other(
        prices in (0u64..200_000, 0u64..50_000, 0u64..50_000),
        rules in (any_rule(), any_rule(), any_rule()),
        other_share in 0u64..=100,
    ) {
        let total = prices.0 + prices.1 + prices.2;
        let other_program = total * other_share / 100;
        let bill = CheckupBill {
            basic: Some(CategoryBill { price: prices.0, rule: rules.0 }),
            detail: Some(CategoryBill { price: prices.1, rule: rules.1 }),
            other: Some(CategoryBill { price: prices.2, rule: rules.2 }),
            other_program,
        };
        let a = checkup_claim(&bill).unwrap();
        prop_assert_eq!(a.unit_amount, total);
        prop_assert_eq!(a.claim_amount + a.payment_amount + a.payment_by_other_program, a.unit_amount);
        prop_assert!(a.payment_amount <= a.unit_amount);
        for c in [a.basic, a.detail, a.other].into_iter().flatten() {
            prop_assert!(c.copayment + c.other_applied <= c.price);
        }
    }

    #[test]
    fn copay_never_exceeds_cost_and_cap_is_never_exceeded(
        price in 0u64..2_000_000, other in 0u64..2_000_000, rule in any_rule(),
    ) {
        let c = category_copayment(price, other, rule);
        let base = price - c.other_applied;
        prop_assert!(c.copayment <= base);
        if let Some(cap) = cap_of(rule) {
            // The insurer never pays more than its cap: base − copayment ≤ cap.
            prop_assert!(base - c.copayment <= cap);
        }
        // Whatever is written recomputes to the same co-payment.
        let read = CopaymentRule::from_charge(&c.written.to_charge());
        if c.written.to_charge().amount.as_ref().is_none_or(|m| m.value.len() == 6) {
            prop_assert_eq!(category_copayment(price, other, read.unwrap()).copayment, c.copayment);
        }
    }

    #[test]
    fn rate_rounds_half_up(base in 0u64..10_000_000, scaled in 0u64..=100_000) {
        let r = CopayRate::from_scaled(scaled).unwrap();
        let exact_num = u128::from(base) * u128::from(scaled); // yen × 100000
        let got = u128::from(r.apply(base)) * 100_000;
        // got − 0.5 ≤ exact < got + 0.5, with ties going up.
        prop_assert!(got <= exact_num + 50_000);
        prop_assert!(exact_num + 50_000 < got + 100_000);
    }

    #[test]
    fn guidance_claim_is_calculated_minus_payment(price in 0u64..1_000_000, pct in 0u64..=100, pay_share in 0u64..=100) {
        let calc = guidance_calculated_amount(price, pct).unwrap();
        let g = guidance_claim(price, pct, calc * pay_share / 100).unwrap();
        prop_assert_eq!(g.claim_amount + g.payment_amount, g.calculated_amount);
        prop_assert!(g.calculated_amount <= price);
    }
}
