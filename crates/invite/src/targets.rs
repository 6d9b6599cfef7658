//! Who is invited (特定健診の対象者, BUSINESS.md §7.1).
//!
//! Age follows 年齢計算ニ関スル法律 and 民法 art. 143: a person attains age N on the day
//! before the N-th birthday (someone born 29 February attains it on 28 February in common
//! years). For fiscal year FY (1 April FY – 31 March FY+1):
//!
//! * too young: attains 40 after 31 March FY+1 (born 1985-04-01 attains 40 on 2025-03-31
//!   and is a target in FY2024; born 1985-04-02 is not);
//! * too old: attained 75 before 1 April FY (born 1949-04-01 attained 75 on 2024-03-31 and
//!   is not a target in FY2024; born 1949-04-02 attains it on 2024-04-01 and is). Those who
//!   turn 75 during the year are targets until the day before their 75th birthday, when
//!   they move to 後期高齢者医療 ([`TargetDecision::eligible_until`]);
//! * insured on the reference date (default 1 April FY, configurable);
//! * none of the ministerial exclusions set on the roster;
//! * the insurer's member-type filter (e.g. dependants and voluntary members only).
//!
//! Every member gets a [`TargetDecision`] with all the reasons that apply, not only the
//! first.

use crate::roster::{CardKey, Exclusion, Member, MemberType};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The insurer's rules for one fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRules {
    /// 年度 (the year in which it starts, e.g. 2024 for April 2024 – March 2025)
    pub fiscal_year: i16,
    /// 基準日 for "insured on": `None` = 1 April of the fiscal year.
    pub reference_date: Option<Date>,
    /// Member types invited; `None` = all (e.g. `{Dependant, Voluntary}` for an employee
    /// insurer whose employees are covered by the employer's checkup).
    pub member_types: Option<BTreeSet<MemberType>>,
}

impl TargetRules {
    /// All member types, reference date 1 April.
    pub fn new(fiscal_year: i16) -> TargetRules {
        TargetRules {
            fiscal_year,
            reference_date: None,
            member_types: None,
        }
    }
    /// 1 April of the fiscal year.
    pub fn fy_start(&self) -> Date {
        fy_start(self.fiscal_year)
    }
    /// 31 March of the following year.
    pub fn fy_end(&self) -> Date {
        fy_end(self.fiscal_year)
    }
    /// The reference date in force.
    pub fn reference(&self) -> Date {
        self.reference_date.unwrap_or_else(|| self.fy_start())
    }
}

/// 1 April of fiscal year `fy`.
pub fn fy_start(fy: i16) -> Date {
    Date::new(fy, 4, 1).unwrap_or(Date::MIN)
}

/// 31 March of fiscal year `fy` (in the next calendar year).
pub fn fy_end(fy: i16) -> Date {
    Date::new(fy.saturating_add(1), 3, 31).unwrap_or(Date::MAX)
}

/// The day on which someone born on `birth` attains age `n` (the day before the n-th
/// birthday; for 29 February births, 28 February in common years).
pub fn attains_age(birth: Date, n: i16) -> Date {
    // (birth − 1 day) + n years: the eve of the birthday, moved by whole years; jiff clamps
    // 29 Feb to 28 Feb in common years, which is exactly the legal rule for 1 March births
    // in leap years and for 29 February births.
    let eve = birth.yesterday().unwrap_or(birth);
    eve.checked_add(n.years()).unwrap_or(Date::MAX)
}

/// Age on `on` by Japanese reckoning (years attained by that day), 0 before birth.
pub fn age_on(birth: Date, on: Date) -> i16 {
    if on < birth {
        return 0;
    }
    let mut n = on.year() - birth.year();
    while n > 0 && attains_age(birth, n) > on {
        n -= 1;
    }
    while attains_age(birth, n + 1) <= on {
        n += 1;
    }
    n
}

/// Why a member is not a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NotTarget {
    /// Attains 40 only after the fiscal year.
    TooYoung { attains_40: Date },
    /// Attained 75 before the fiscal year.
    TooOld { attained_75: Date },
    /// Not insured on the reference date.
    NotInsured { reference_date: Date },
    /// A ministerial exclusion is set.
    Excluded { exclusion: Exclusion },
    /// The insurer does not invite this member type.
    MemberTypeNotInvited { member_type: MemberType },
}

impl NotTarget {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            NotTarget::TooYoung { .. } => "too_young",
            NotTarget::TooOld { .. } => "too_old",
            NotTarget::NotInsured { .. } => "not_insured",
            NotTarget::Excluded { .. } => "excluded",
            NotTarget::MemberTypeNotInvited { .. } => "member_type_not_invited",
        }
    }
    pub fn ja(&self) -> String {
        match self {
            NotTarget::TooYoung { attains_40 } => format!("40歳到達が年度後({attains_40})"),
            NotTarget::TooOld { attained_75 } => {
                format!("年度開始前に75歳到達({attained_75})")
            }
            NotTarget::NotInsured { reference_date } => {
                format!("基準日({reference_date})に資格なし")
            }
            NotTarget::Excluded { exclusion } => format!("除外対象者: {}", exclusion.ja()),
            NotTarget::MemberTypeNotInvited { member_type } => {
                format!("案内対象外の区分: {}", member_type.ja())
            }
        }
    }
    pub fn en(&self) -> String {
        match self {
            NotTarget::TooYoung { attains_40 } => {
                format!("attains 40 after the fiscal year ({attains_40})")
            }
            NotTarget::TooOld { attained_75 } => {
                format!("attained 75 before the fiscal year ({attained_75})")
            }
            NotTarget::NotInsured { reference_date } => {
                format!("not insured on the reference date {reference_date}")
            }
            NotTarget::Excluded { exclusion } => format!("excluded: {}", exclusion.en()),
            NotTarget::MemberTypeNotInvited { member_type } => {
                format!("member type not invited: {}", member_type.code())
            }
        }
    }
}

/// The decision for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDecision {
    pub card: CardKey,
    /// Line of the member in the roster.
    pub line: usize,
    pub target: bool,
    /// 年度末年齢: age on 31 March FY+1.
    pub age_at_fy_end: i16,
    /// Last day of eligibility within the fiscal year: the day before the 75th birthday
    /// when that falls in the year, else 31 March FY+1 (or the last insured day if earlier).
    pub eligible_until: Date,
    /// Empty for a target; otherwise every reason that applies.
    pub reasons: Vec<NotTarget>,
}

/// Decides one member.
pub fn decide(member: &Member, rules: &TargetRules) -> TargetDecision {
    let (start, end, reference) = (rules.fy_start(), rules.fy_end(), rules.reference());
    let birth = member.birth_date;
    let mut reasons = Vec::new();
    let attains_40 = attains_age(birth, 40);
    if attains_40 > end {
        reasons.push(NotTarget::TooYoung { attains_40 });
    }
    let attains_75 = attains_age(birth, 75);
    if attains_75 < start {
        reasons.push(NotTarget::TooOld {
            attained_75: attains_75,
        });
    }
    let insured =
        member.insured_from <= reference && member.insured_to.is_none_or(|t| reference <= t);
    if !insured {
        reasons.push(NotTarget::NotInsured {
            reference_date: reference,
        });
    }
    for &exclusion in &member.exclusions {
        reasons.push(NotTarget::Excluded { exclusion });
    }
    if let Some(types) = &rules.member_types
        && !types.contains(&member.member_type)
    {
        reasons.push(NotTarget::MemberTypeNotInvited {
            member_type: member.member_type,
        });
    }
    // Covered by the insurer until the day before the 75th birthday (then 後期高齢者医療).
    let before_75th = birth
        .checked_add(75.years())
        .ok()
        .and_then(|d| d.yesterday().ok())
        .unwrap_or(Date::MAX);
    let mut until = end.min(before_75th);
    if let Some(t) = member.insured_to {
        until = until.min(t);
    }
    TargetDecision {
        card: member.card.clone(),
        line: member.line,
        target: reasons.is_empty(),
        age_at_fy_end: age_on(birth, end),
        eligible_until: until,
        reasons,
    }
}

/// Decides every member, in roster order.
pub fn decide_all(members: &[Member], rules: &TargetRules) -> Vec<TargetDecision> {
    members.iter().map(|m| decide(m, rules)).collect()
}

/// The members that are targets, in roster order.
pub fn targets<'m>(members: &'m [Member], rules: &TargetRules) -> Vec<&'m Member> {
    members.iter().filter(|m| decide(m, rules).target).collect()
}
