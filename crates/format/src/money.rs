//! Claim arithmetic (決済情報の計算): window co-payments (窓口負担), checkup claim totals and
//! guidance claim amounts, as described in BUSINESS.md §5.
//!
//! Everything is integer yen; rates are kept as the 6-digit scaled value the files carry
//! (value ÷ 100000 = ratio, so 30 % is `030000`). No floating point is used anywhere.
//!
//! The writer of a claim (daiko-sample, an institution's software) and the checker (C-04…C-07,
//! C-15) use the same functions, so a claim daiko writes is a claim daiko accepts.

use crate::model::{Charge, DockCharge, Money, Rate};
use thiserror::Error;

/// Scale of a co-payment rate: `rate/@value` ÷ 100000 = ratio (100 % = 100000).
pub const RATE_SCALE: u64 = 100_000;

/// Largest amount the schema allows for totals and prices (9 digits).
pub const MAX_TOTAL: u64 = 999_999_999;

/// Largest amount a 6-digit co-payment field can hold.
pub const MAX_SIX_DIGIT: u64 = 999_999;

/// Why an amount could not be computed or a written charge could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// A co-payment rate above 100 % (scaled value above 100000).
    #[error("co-payment rate {0} exceeds 100000 (100 %)")]
    RateAboveHundredPercent(u64),
    /// A rate or amount that is not the required digit string.
    #[error("{field}: {value:?} is not a valid {expected}")]
    BadValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A 窓口負担 code outside 1-4, or a code without the value it requires.
    #[error("窓口負担 code {code:?}: {message}")]
    BadCharge { code: String, message: &'static str },
    /// The other-programme burden is larger than everything it could be set against.
    #[error("other-programme burden {other} exceeds the total price {total}")]
    OtherProgramExceedsPrice { other: u64, total: u64 },
    /// The window payment is larger than the amount it is deducted from.
    #[error("window payment {payment} exceeds the calculated amount {calculated}")]
    PaymentExceedsCalculated { payment: u64, calculated: u64 },
    /// A guidance payment rate outside 0-100 %.
    #[error("guidance payment rate {0} % is outside 0-100")]
    GuidanceRateOutOfRange(u64),
    /// A sum does not fit in 64 bits.
    #[error("amount overflow")]
    Overflow,
}

/// Rounds `numerator / denominator` half up (四捨五入) to an integer; `denominator > 0`.
fn div_round_half_up(numerator: u128, denominator: u128) -> u128 {
    (numerator + denominator / 2) / denominator
}

/// A co-payment rate (窓口負担率) in units of 1/100000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CopayRate(u32);

impl CopayRate {
    /// A rate from its scaled value (30 % = 30000); at most 100000.
    pub fn from_scaled(scaled: u64) -> Result<CopayRate, MoneyError> {
        if scaled > RATE_SCALE {
            return Err(MoneyError::RateAboveHundredPercent(scaled));
        }
        // Fits: at most 100000.
        Ok(CopayRate(scaled as u32))
    }
    /// A whole-percent rate (30 → 30 %).
    pub fn from_percent(percent: u32) -> Result<CopayRate, MoneyError> {
        CopayRate::from_scaled(u64::from(percent) * 1000)
    }
    /// Parses `rate/@value` as written: exactly 6 ASCII digits.
    pub fn parse(value: &str) -> Result<CopayRate, MoneyError> {
        if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::BadValue {
                field: "rate/@value",
                value: value.to_owned(),
                expected: "6-digit rate",
            });
        }
        let scaled: u64 = value.parse().map_err(|_| MoneyError::BadValue {
            field: "rate/@value",
            value: value.to_owned(),
            expected: "6-digit rate",
        })?;
        CopayRate::from_scaled(scaled)
    }
    /// The scaled value (30 % = 30000).
    pub fn scaled(self) -> u32 {
        self.0
    }
    /// The 6-digit field value (`030000`).
    pub fn to_field(self) -> String {
        format!("{:06}", self.0)
    }
    /// `base × rate`, rounded half up to 1 yen (1円未満の端数は四捨五入).
    pub fn apply(self, base: u64) -> u64 {
        let v = div_round_half_up(
            u128::from(base) * u128::from(self.0),
            u128::from(RATE_SCALE),
        );
        // rate ≤ 1, so the result is ≤ base and fits.
        v as u64
    }
}

/// The co-payment setting of one category on a voucher (受診券の窓口負担), one of the six
/// patterns of BUSINESS.md §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopaymentRule {
    /// Pattern 1: 負担なし.
    None,
    /// Pattern 2: 定額負担 of `amount` yen.
    Fixed { amount: u64 },
    /// Pattern 3: 定率負担.
    Rate { rate: CopayRate },
    /// Pattern 4: 保険者負担上限額 only: the person pays what exceeds `cap`.
    Cap { cap: u64 },
    /// Pattern 5: fixed amount with an insurer cap.
    FixedWithCap { amount: u64, cap: u64 },
    /// Pattern 6: rate with an insurer cap.
    RateWithCap { rate: CopayRate, cap: u64 },
}

impl CopaymentRule {
    /// The pattern number 1-6 of BUSINESS.md §5.1.
    pub fn pattern(&self) -> u8 {
        match self {
            CopaymentRule::None => 1,
            CopaymentRule::Fixed { .. } => 2,
            CopaymentRule::Rate { .. } => 3,
            CopaymentRule::Cap { .. } => 4,
            CopaymentRule::FixedWithCap { .. } => 5,
            CopaymentRule::RateWithCap { .. } => 6,
        }
    }

    /// The rule a written `chargeType*` element states (codes 1-4 of 別表6): code 1 carries
    /// nothing, codes 2 and 4 an `amount`, code 3 a `rate`; anything else is an error. A written
    /// charge never shows patterns 5/6: the writer emits code 4 when the cap binds and the
    /// plain fixed/rate code otherwise, and both recompute to the same co-payment.
    pub fn from_charge(charge: &Charge) -> Result<CopaymentRule, MoneyError> {
        let bad = |message: &'static str| MoneyError::BadCharge {
            code: charge.code.clone(),
            message,
        };
        let amount = || -> Result<u64, MoneyError> {
            if charge.rate.is_some() {
                return Err(bad("carries a rate where an amount belongs"));
            }
            let m = charge
                .amount
                .as_ref()
                .ok_or_else(|| bad("requires an amount"))?;
            parse_six_digit_amount(&m.value)
        };
        match charge.code.as_str() {
            "1" if charge.amount.is_some() || charge.rate.is_some() => {
                Err(bad("means no co-payment and carries no value"))
            }
            "1" => Ok(CopaymentRule::None),
            "2" => Ok(CopaymentRule::Fixed { amount: amount()? }),
            "3" => {
                if charge.amount.is_some() {
                    return Err(bad("carries an amount where a rate belongs"));
                }
                let r = charge.rate.as_ref().ok_or_else(|| bad("requires a rate"))?;
                Ok(CopaymentRule::Rate {
                    rate: CopayRate::parse(&r.value)?,
                })
            }
            "4" => Ok(CopaymentRule::Cap { cap: amount()? }),
            _ => Err(bad("is not one of 1-4")),
        }
    }

    /// The rule of a 人間ドック block: `copayment` (code 1-3) combined with
    /// `maxInsuranceLimit` (code 4 + cap). An absent copayment means none.
    pub fn from_dock_charge(dock: &DockCharge) -> Result<CopaymentRule, MoneyError> {
        let base = match &dock.copayment {
            Some(c) if c.code == "4" => {
                return Err(MoneyError::BadCharge {
                    code: c.code.clone(),
                    message: "dock copayment must be 1-3",
                });
            }
            Some(c) => CopaymentRule::from_charge(c)?,
            None => CopaymentRule::None,
        };
        let cap = match &dock.max_insurance_limit {
            None => return Ok(base),
            Some(limit) => match CopaymentRule::from_charge(limit)? {
                CopaymentRule::Cap { cap } => cap,
                _ => {
                    return Err(MoneyError::BadCharge {
                        code: limit.code.clone(),
                        message: "maxInsuranceLimit must be code 4",
                    });
                }
            },
        };
        Ok(match base {
            CopaymentRule::None => CopaymentRule::Cap { cap },
            CopaymentRule::Fixed { amount } => CopaymentRule::FixedWithCap { amount, cap },
            CopaymentRule::Rate { rate } => CopaymentRule::RateWithCap { rate, cap },
            // from_charge only yields the three above for codes 1-3.
            other => other,
        })
    }

    /// The 人間ドック block for this rule: the fixed/rate part as `copayment`, the cap (if
    /// any) as `maxInsuranceLimit` code 4.
    pub fn to_dock_charge(&self) -> DockCharge {
        let (base, cap) = match *self {
            CopaymentRule::None => (WrittenCharge::None, None),
            CopaymentRule::Fixed { amount } => (WrittenCharge::Fixed(amount), None),
            CopaymentRule::Rate { rate } => (WrittenCharge::Rate(rate), None),
            CopaymentRule::Cap { cap } => (WrittenCharge::None, Some(cap)),
            CopaymentRule::FixedWithCap { amount, cap } => {
                (WrittenCharge::Fixed(amount), Some(cap))
            }
            CopaymentRule::RateWithCap { rate, cap } => (WrittenCharge::Rate(rate), Some(cap)),
        };
        DockCharge {
            copayment: Some(base.to_charge()),
            max_insurance_limit: cap.map(|c| WrittenCharge::Cap(c).to_charge()),
        }
    }
}

/// Parses a 6-digit zero-padded amount (`001000`).
pub fn parse_six_digit_amount(value: &str) -> Result<u64, MoneyError> {
    if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::BadValue {
            field: "amount/@value",
            value: value.to_owned(),
            expected: "6-digit zero-padded amount",
        });
    }
    value.parse().map_err(|_| MoneyError::BadValue {
        field: "amount/@value",
        value: value.to_owned(),
        expected: "6-digit zero-padded amount",
    })
}

/// A `chargeType*` element as it is written in a claim (別表6 code + value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrittenCharge {
    /// Code 1, no value.
    None,
    /// Code 2 with `amount`.
    Fixed(u64),
    /// Code 3 with `rate`.
    Rate(CopayRate),
    /// Code 4 with the cap in `amount`.
    Cap(u64),
}

impl WrittenCharge {
    /// The 別表6 code: "1"…"4".
    pub fn code(&self) -> &'static str {
        match self {
            WrittenCharge::None => "1",
            WrittenCharge::Fixed(_) => "2",
            WrittenCharge::Rate(_) => "3",
            WrittenCharge::Cap(_) => "4",
        }
    }
    /// The model element: 6-digit padded amount or rate with unit `%`.
    pub fn to_charge(&self) -> Charge {
        let mut charge = Charge {
            code: self.code().to_owned(),
            amount: None,
            rate: None,
        };
        match *self {
            WrittenCharge::None => {}
            WrittenCharge::Fixed(a) | WrittenCharge::Cap(a) => charge.amount = Some(Money::yen6(a)),
            WrittenCharge::Rate(r) => {
                charge.rate = Some(Rate {
                    value: r.to_field(),
                    unit: Some("%".into()),
                })
            }
        }
        charge
    }
}

/// The co-payment of one category (basic, detailed, additional, dock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryCopayment {
    /// Category unit price T.
    pub price: u64,
    /// Part of the other-programme burden set against this category (≤ T).
    pub other_applied: u64,
    /// What the person pays at the window for this category (≤ T − other_applied).
    pub copayment: u64,
    /// The `chargeType*` element to write (code 4 when a cap binds).
    pub written: WrittenCharge,
}

/// Computes one category's co-payment with `other_remaining` (O) of the other-programme
/// burden still unconsumed. Returns the category result; the caller carries
/// `other_remaining - other_applied` to the next category.
pub fn category_copayment(
    price: u64,
    other_remaining: u64,
    rule: CopaymentRule,
) -> CategoryCopayment {
    let other_applied = other_remaining.min(price);
    let base = price - other_applied;
    let (copayment, written) = match rule {
        CopaymentRule::None => (0, WrittenCharge::None),
        CopaymentRule::Fixed { amount } => (amount.min(base), WrittenCharge::Fixed(amount)),
        CopaymentRule::Rate { rate } => (rate.apply(base), WrittenCharge::Rate(rate)),
        CopaymentRule::Cap { cap } => (base.saturating_sub(cap), WrittenCharge::Cap(cap)),
        CopaymentRule::FixedWithCap { amount, cap } => {
            if base.saturating_sub(amount) > cap {
                (base - cap, WrittenCharge::Cap(cap))
            } else {
                (amount.min(base), WrittenCharge::Fixed(amount))
            }
        }
        CopaymentRule::RateWithCap { rate, cap } => {
            let rate_amount = rate.apply(base);
            if base - rate_amount > cap {
                (base - cap, WrittenCharge::Cap(cap))
            } else {
                (rate_amount, WrittenCharge::Rate(rate))
            }
        }
    };
    CategoryCopayment {
        price,
        other_applied,
        copayment,
        written,
    }
}

/// One category of a checkup bill: its unit price and the voucher's co-payment rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryBill {
    /// Category price: the basic price, the sum of the detailed prices, or the sum of the
    /// additional-item prices.
    pub price: u64,
    pub rule: CopaymentRule,
}

/// What a checkup claim bills (請求区分 1-4), before co-payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckupBill {
    pub basic: Option<CategoryBill>,
    pub detail: Option<CategoryBill>,
    pub other: Option<CategoryBill>,
    /// 他制度負担金額 (0 in most contracts).
    pub other_program: u64,
}

/// The settlement amounts of a checkup claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckupAmounts {
    pub basic: Option<CategoryCopayment>,
    pub detail: Option<CategoryCopayment>,
    pub other: Option<CategoryCopayment>,
    /// 単価合計
    pub unit_amount: u64,
    /// 窓口負担金額合計
    pub payment_amount: u64,
    /// 他制度負担金額 (written only when non-zero)
    pub payment_by_other_program: u64,
    /// 請求金額
    pub claim_amount: u64,
}

/// Computes a checkup claim (請求区分 1-4): per-category co-payments with the
/// other-programme burden consumed basic → detailed → additional, then
/// unitAmount = Σ prices, paymentAmount = Σ co-payments,
/// claimAmount = unitAmount − paymentAmount − paymentByOtherProgram.
pub fn checkup_claim(bill: &CheckupBill) -> Result<CheckupAmounts, MoneyError> {
    let mut remaining = bill.other_program;
    let mut step = |cat: Option<CategoryBill>| {
        cat.map(|c| {
            let r = category_copayment(c.price, remaining, c.rule);
            remaining -= r.other_applied;
            r
        })
    };
    let basic = step(bill.basic);
    let detail = step(bill.detail);
    let other = step(bill.other);
    let cats = [basic, detail, other];
    let unit_amount = cats
        .iter()
        .flatten()
        .try_fold(0u64, |acc, c| acc.checked_add(c.price))
        .ok_or(MoneyError::Overflow)?;
    if remaining > 0 {
        return Err(MoneyError::OtherProgramExceedsPrice {
            other: bill.other_program,
            total: unit_amount,
        });
    }
    let payment_amount: u64 = cats.iter().flatten().map(|c| c.copayment).sum();
    // Each category has copayment + other_applied ≤ price, so this cannot underflow.
    let claim_amount = unit_amount - payment_amount - bill.other_program;
    Ok(CheckupAmounts {
        basic,
        detail,
        other,
        unit_amount,
        payment_amount,
        payment_by_other_program: bill.other_program,
        claim_amount,
    })
}

/// Computes a 人間ドック claim (請求区分 5): the dock price is the only category.
pub fn dock_claim(
    price: u64,
    rule: CopaymentRule,
    other_program: u64,
) -> Result<CheckupAmounts, MoneyError> {
    if other_program > price {
        return Err(MoneyError::OtherProgramExceedsPrice {
            other: other_program,
            total: price,
        });
    }
    let dock = category_copayment(price, other_program, rule);
    Ok(CheckupAmounts {
        basic: None,
        detail: None,
        other: Some(dock),
        unit_amount: price,
        payment_amount: dock.copayment,
        payment_by_other_program: other_program,
        claim_amount: price - dock.copayment - other_program,
    })
}

/// The amounts of a guidance claim (gc08 settlement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuidanceAmounts {
    /// 算定金額
    pub calculated_amount: u64,
    /// 窓口負担金額 (`payment/amount`)
    pub payment_amount: u64,
    /// 請求金額
    pub claim_amount: u64,
}

/// 算定金額 = unitPrice × paymentRate / 100.
///
/// Rounding: half up to 1 yen, the same 四捨五入 rule as the checkup co-payment
/// (BUSINESS.md leaves the guidance rounding open; with whole-percent rates and whole-yen
/// prices a fraction only arises when unitPrice × rate is not a multiple of 100).
pub fn guidance_calculated_amount(
    unit_price: u64,
    payment_rate_percent: u64,
) -> Result<u64, MoneyError> {
    if payment_rate_percent > 100 {
        return Err(MoneyError::GuidanceRateOutOfRange(payment_rate_percent));
    }
    let v = div_round_half_up(
        u128::from(unit_price) * u128::from(payment_rate_percent),
        100,
    );
    // rate ≤ 100 %, so v ≤ unit_price.
    Ok(v as u64)
}

/// Computes a guidance claim: calculatedAmount as [`guidance_calculated_amount`],
/// claimAmount = calculatedAmount − window payment.
pub fn guidance_claim(
    unit_price: u64,
    payment_rate_percent: u64,
    window_payment: u64,
) -> Result<GuidanceAmounts, MoneyError> {
    let calculated_amount = guidance_calculated_amount(unit_price, payment_rate_percent)?;
    let claim_amount = calculated_amount.checked_sub(window_payment).ok_or(
        MoneyError::PaymentExceedsCalculated {
            payment: window_payment,
            calculated: calculated_amount,
        },
    )?;
    Ok(GuidanceAmounts {
        calculated_amount,
        payment_amount: window_payment,
        claim_amount,
    })
}
