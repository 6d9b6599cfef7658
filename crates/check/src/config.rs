//! What one agency configures for its reception checks.

use crate::finding::Outcome;
use crate::stages::date::Date;
use daiko_format::archive::ArchiveLimits;
use daiko_format::read::ParseLimits;
use std::collections::{BTreeMap, BTreeSet};

/// Configuration of one check run.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// 代行機関番号 (8 digits) of this agency. When `None`, I-04 checks only that the index
    /// receiver equals the archive-name receiver, and says so in an info finding.
    pub agency_number: Option<String>,
    /// 受付日: the day the archive is received. Used for "not in the future" (I-02, H-10)
    /// and the monthly deadline (T-04).
    pub reception_date: Date,
    /// Day of the month by which the previous month's services must be received (T-04);
    /// moved to the next business day when it falls on a weekend or a holiday.
    pub deadline_day: u32,
    /// Holidays (besides Saturdays and Sundays) for the deadline rule.
    pub holidays: BTreeSet<Date>,
    /// Limits on reading the archive.
    pub archive_limits: ArchiveLimits,
    /// Limits on parsing one XML document.
    pub parse_limits: ParseLimits,
    /// Per-agency outcome overrides by check code (CHECKS.md decision 2), e.g.
    /// `H-06 → FR` for an agency that returns out-of-age checkups.
    pub outcome_overrides: BTreeMap<String, Outcome>,
    /// Whether settlement files (CLAIMS) are expected (a settlement exchange). A data-only
    /// exchange (`false`) may come without CLAIMS and without a summary.
    pub claims_expected: bool,
    /// Worker threads for the per-record stages; `None` = available parallelism.
    pub workers: Option<usize>,
    /// Which XML tree the DATA and CLAIMS files are read into. The findings are the same
    /// either way (`crates/check/tests/xml_reader.rs` compares the reports); `Reference`
    /// exists for that comparison and for measuring.
    pub xml_reader: XmlReader,
}

/// The XML tree the record files are read into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XmlReader {
    /// daiko's flat tree, with roxmltree where the flat reader refuses a document or a
    /// reader needs text the flat tree keeps no node for.
    #[default]
    Flat,
    /// roxmltree only (the reference).
    Reference,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            agency_number: None,
            reception_date: Date::today_jst(),
            deadline_day: 5,
            holidays: BTreeSet::new(),
            archive_limits: ArchiveLimits::default(),
            parse_limits: ParseLimits::default(),
            outcome_overrides: BTreeMap::new(),
            claims_expected: true,
            workers: None,
            xml_reader: XmlReader::default(),
        }
    }
}

impl CheckConfig {
    /// A default configuration for the agency `number`.
    pub fn for_agency(number: impl Into<String>) -> Self {
        CheckConfig {
            agency_number: Some(number.into()),
            ..CheckConfig::default()
        }
    }

    /// Sets the reception date.
    pub fn received_on(mut self, date: Date) -> Self {
        self.reception_date = date;
        self
    }

    /// Sets an outcome override from text such as `H-06=FR` (CLI and configuration files).
    /// The code must be in the catalogue and the outcome one of AR, FR, W, CI, DEFER.
    pub fn set_override(&mut self, spec: &str) -> Result<(), ConfigError> {
        let (code, outcome) = spec.split_once('=').ok_or_else(|| {
            ConfigError::Override(format!("expected CODE=OUTCOME, found `{spec}`"))
        })?;
        let code = code.trim();
        let check = crate::catalogue::check(code)
            .ok_or_else(|| ConfigError::Override(format!("unknown check code `{code}`")))?;
        let outcome = parse_outcome(outcome.trim()).ok_or_else(|| {
            ConfigError::Override(format!(
                "expected AR, FR, W, CI or DEFER for {code}, found `{}`",
                outcome.trim()
            ))
        })?;
        self.outcome_overrides
            .insert(check.code.to_string(), outcome);
        Ok(())
    }

    /// The outcome an agency has chosen for `code`, if it overrides the catalogue.
    pub fn override_for(&self, code: &str) -> Option<Outcome> {
        self.outcome_overrides.get(code).copied()
    }

    /// The last day on which services of `year`/`month` are received in time (T-04): the
    /// deadline day of the following month, moved forward past weekends and holidays.
    pub fn deadline_for_service_month(&self, year: i32, month: u32) -> Option<Date> {
        let (y, m) = if month >= 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let day = self
            .deadline_day
            .clamp(1, crate::stages::date::days_in_month(y, m).max(1));
        let mut d = Date::new(y, m, day)?;
        while d.weekday() >= 5 || self.holidays.contains(&d) {
            d = d.succ();
        }
        Some(d)
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("outcome override: {0}")]
    Override(String),
}

/// Parses an outcome as written in CHECKS.md (`AR`, `FR`, `W`, `CI`, `DEFER`).
pub fn parse_outcome(s: &str) -> Option<Outcome> {
    Some(match s {
        "AR" => Outcome::AR,
        "FR" => Outcome::FR,
        "W" => Outcome::W,
        "CI" => Outcome::CI,
        "DEFER" => Outcome::DEFER,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_moves_past_weekends_and_holidays() {
        let mut c = CheckConfig::default();
        // 2024-05-05 is a Sunday; 2024-05-06 a substitute holiday.
        c.holidays.insert(Date::new(2024, 5, 6).unwrap());
        assert_eq!(c.deadline_for_service_month(2024, 4), Date::new(2024, 5, 7));
        // 2024-12-05 is a Thursday.
        assert_eq!(
            c.deadline_for_service_month(2024, 11),
            Date::new(2024, 12, 5)
        );
        // December services are due in January of the next year (2025-01-05 is a Sunday).
        assert_eq!(
            c.deadline_for_service_month(2024, 12),
            Date::new(2025, 1, 6)
        );
    }

    #[test]
    fn overrides_are_validated() {
        let mut c = CheckConfig::default();
        c.set_override("H-06=FR").unwrap();
        assert_eq!(c.override_for("H-06"), Some(Outcome::FR));
        assert!(c.set_override("Z-99=FR").is_err());
        assert!(c.set_override("H-06=maybe").is_err());
        assert!(c.set_override("H-06").is_err());
    }
}
