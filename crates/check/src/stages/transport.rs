//! Stage T — transport and submission: the monthly deadline (T-04), the sender's
//! registration (T-05) and archives received before (T-06).
//!
//! T-01 (channel), T-02 (media encryption) and T-03 (cover sheet) concern physical media
//! and the upload channel; an archive handed to the engine has already arrived through an
//! accepted channel, so they are checked at media intake by the operator, not here.

use crate::catalogue::{finding, info};
use crate::config::CheckConfig;
use crate::finding::Finding;
use crate::reference::ReferenceData;

/// T-05 and T-06 for the archive.
pub fn check_submission(
    archive: &str,
    sha256: &str,
    sender: Option<&str>,
    reference: &dyn ReferenceData,
    out: &mut Vec<Finding>,
) {
    if let Some(sender) = sender.filter(|s| s.len() == 10) {
        match reference.institution_is_registered(sender) {
            Some(true) => {}
            Some(false) => out.push(finding(
                "T-05",
                archive,
                "",
                sender,
                &format!("送付元の機関番号 {sender} は当機関に登録されていません"),
                &format!("The sending institution {sender} is not registered with this agency"),
            )),
            None => out.push(info(
                "T-05",
                archive,
                "",
                sender,
                "機関の登録データがないため、送付元の登録確認を省略しました",
                "Skipped: no institution registration data loaded",
            )),
        }
    }
    match reference.archive_received(archive, sha256) {
        Some(true) => out.push(finding(
            "T-06",
            archive,
            "",
            archive,
            "同じ名前または同じ内容のアーカイブを受付済みです",
            "An archive with the same name or the same bytes was received before",
        )),
        Some(false) => {}
        None => out.push(info(
            "T-06",
            archive,
            "",
            "",
            "受付履歴がないため、受付済みかどうかの確認を省略しました",
            "Skipped: no history of received archives loaded",
        )),
    }
}

/// T-04 for the records of one service month: services of month M are due by the
/// deadline in month M+1; later ones move to the next monthly cycle. Reported once per
/// service month and archive.
pub fn check_deadline(
    archive: &str,
    (year, month): (i32, u32),
    records: usize,
    config: &CheckConfig,
    out: &mut Vec<Finding>,
) {
    let Some(deadline) = config.deadline_for_service_month(year, month) else {
        return;
    };
    if config.reception_date > deadline {
        out.push(finding(
            "T-04",
            archive,
            "",
            &format!("{year:04}{month:02}"),
            &format!(
                "{year}年{month}月実施分({records}件)の提出期限 {deadline} を過ぎて受付({})しました",
                config.reception_date
            ),
            &format!(
                "Services of {year}-{month:02} ({records} records) were due by {deadline}; received {}",
                config.reception_date
            ),
        ));
    }
}
