//! Reminders to non-responders (受診勧奨, コール・リコール) and uptake per message variant
//! (BUSINESS.md §7.4).
//!
//! Round k (1, 2, …) goes to every target who has no checkup record this fiscal year
//! (`responders`: from delivered checkup data, employer data or dock data, the caller
//! builds the set) and whose mail did not come back (宛所不明: the roster flag or the
//! `returned` set). Rounds are planned in order: round k needs round k − 1 among the
//! previous rounds, and a round cannot be planned twice.
//!
//! ## Variant assignment (deterministic, documented)
//!
//! A member's variant is `FNV-1a-64(symbol 0x1F number 0x1F branch) mod n`, n the number
//! of variants, over the normalised card (see [`crate::roster::CardKey`]). The same member
//! gets the same variant in every round and every run, so a variant's uptake is not mixed
//! with another's, and the split is close to even for any card numbering.

use crate::roster::{CardKey, Member};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One reminder to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderItem {
    pub card: CardKey,
    /// Index into the round's variants.
    pub variant: usize,
}

/// A planned or sent round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRound {
    /// 1-based round number.
    pub round: u32,
    /// Posting date (responses count from this day).
    pub sent_on: Date,
    /// Message variants (names or template keys), indexed by [`ReminderItem::variant`].
    pub variants: Vec<String>,
    pub items: Vec<ReminderItem>,
}

/// A planned round with what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPlan {
    pub round: ReminderRound,
    /// Targets left out because they already had a checkup.
    pub responded: usize,
    /// Targets left out because their mail came back (宛所不明).
    pub returned: usize,
}

/// Why a round cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReminderError {
    #[error("a round needs at least one message variant")]
    NoVariants,
    #[error("rounds start at 1")]
    RoundZero,
    #[error("round {0} was already planned")]
    RoundExists(u32),
    #[error("round {round} needs round {} first", .round - 1)]
    PreviousMissing { round: u32 },
}

/// FNV-1a, 64 bit (stable across platforms and releases, unlike `std`'s hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The variant (0..n) of a member; see the module doc.
pub fn variant_of(card: &CardKey, n: usize) -> usize {
    let key = format!("{}\u{1f}{}\u{1f}{}", card.symbol, card.number, card.branch);
    (fnv1a(key.as_bytes()) % n.max(1) as u64) as usize
}

/// Plans round `round` for `targets` (the members who are targets this fiscal year).
pub fn plan_round(
    round: u32,
    sent_on: Date,
    variants: &[String],
    targets: &[&Member],
    responders: &HashSet<CardKey>,
    returned: &HashSet<CardKey>,
    previous: &[ReminderRound],
) -> Result<ReminderPlan, ReminderError> {
    if variants.is_empty() {
        return Err(ReminderError::NoVariants);
    }
    if round == 0 {
        return Err(ReminderError::RoundZero);
    }
    if previous.iter().any(|r| r.round == round) {
        return Err(ReminderError::RoundExists(round));
    }
    if round > 1 && !previous.iter().any(|r| r.round == round - 1) {
        return Err(ReminderError::PreviousMissing { round });
    }
    let (mut responded, mut returned_n) = (0, 0);
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    for m in targets {
        if !seen.insert(&m.card) {
            continue; // the same member listed twice gets one reminder
        }
        if responders.contains(&m.card) {
            responded += 1;
        } else if m.returned_mail || returned.contains(&m.card) {
            returned_n += 1;
        } else {
            items.push(ReminderItem {
                card: m.card.clone(),
                variant: variant_of(&m.card, variants.len()),
            });
        }
    }
    items.sort_by(|a, b| a.card.cmp(&b.card));
    Ok(ReminderPlan {
        round: ReminderRound {
            round,
            sent_on,
            variants: variants.to_vec(),
            items,
        },
        responded,
        returned: returned_n,
    })
}

/// Uptake of one variant in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantUptake {
    pub round: u32,
    pub variant: String,
    /// Reminders sent.
    pub sent: usize,
    /// Of those, members with a checkup on or after the posting date.
    pub responded: usize,
}

impl VariantUptake {
    /// responded / sent in per cent (0 when nothing was sent).
    pub fn rate_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.responded as f64 * 100.0 / self.sent as f64
        }
    }
}

/// Uptake per round and variant; `checkup_on` gives each responder's first checkup date
/// this fiscal year.
pub fn uptake(rounds: &[ReminderRound], checkup_on: &HashMap<CardKey, Date>) -> Vec<VariantUptake> {
    let mut out: BTreeMap<(u32, usize), VariantUptake> = BTreeMap::new();
    for r in rounds {
        for (i, name) in r.variants.iter().enumerate() {
            out.insert(
                (r.round, i),
                VariantUptake {
                    round: r.round,
                    variant: name.clone(),
                    sent: 0,
                    responded: 0,
                },
            );
        }
        for item in &r.items {
            if let Some(u) = out.get_mut(&(r.round, item.variant)) {
                u.sent += 1;
                if checkup_on.get(&item.card).is_some_and(|d| *d >= r.sent_on) {
                    u.responded += 1;
                }
            }
        }
    }
    out.into_values().collect()
}
