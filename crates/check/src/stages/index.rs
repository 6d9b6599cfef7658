//! Stage I — the index file (交換用基本情報, ix08): I-01 … I-07.

use crate::catalogue::{finding, finding_with_outcome, info};
use crate::finding::{Finding, Outcome};
use crate::stages::date::Date;
use crate::stages::digits;
use daiko_format::archive::ArchiveName;
use daiko_format::model::{Index, oid};

/// Where the index is and what it is compared with.
pub struct IndexContext<'a> {
    /// `ix08_V08.xml`
    pub file: &'a str,
    pub archive_name: Option<&'a ArchiveName>,
    /// 代行機関番号 of this agency, when configured.
    pub agency_number: Option<&'a str>,
    pub reception_date: Date,
    /// Number of files under DATA and CLAIMS.
    pub record_files: usize,
}

/// Runs I-01 … I-07.
pub fn check_index(index: &Index, cx: &IndexContext<'_>, out: &mut Vec<Finding>) {
    let file = cx.file;
    let sender_is_insurer = index.sender.root == oid::INSURER;

    // I-01 種別: an institution (or agency) sends 1; an insurer sends 4/5 (過誤).
    let allowed: &[&str] = if sender_is_insurer {
        &["4", "5"]
    } else {
        &["1"]
    };
    if !allowed.contains(&index.interaction_type.as_str()) {
        out.push(finding(
            "I-01",
            file,
            "/index/interactionType/@code",
            &index.interaction_type,
            &format!(
                "種別が「{}」です(期待値: {})",
                index.interaction_type,
                allowed.join("・")
            ),
            &format!(
                "The interaction type is \"{}\" (expected {})",
                index.interaction_type,
                allowed.join(" or ")
            ),
        ));
    }

    // I-02 作成日: a date, not in the future (AR), not after the archive date (W).
    let loc = "/index/creationTime/@value";
    match Date::parse(&index.creation_time) {
        None => out.push(finding(
            "I-02",
            file,
            loc,
            &index.creation_time,
            "作成日が正しい日付(YYYYMMDD)ではありません",
            "The creation date is not a valid date (YYYYMMDD)",
        )),
        Some(d) if d > cx.reception_date => out.push(finding(
            "I-02",
            file,
            loc,
            &index.creation_time,
            &format!(
                "作成日 {d} が受付日 {} より後(未来日)です",
                cx.reception_date
            ),
            &format!(
                "The creation date {d} is after the reception date {}",
                cx.reception_date
            ),
        )),
        Some(d) => {
            if let Some(archive_date) = cx.archive_name.and_then(|n| Date::parse(&n.date))
                && d > archive_date
            {
                out.push(finding_with_outcome(
                    "I-02",
                    Outcome::W,
                    file,
                    loc,
                    &index.creation_time,
                    &format!("作成日 {d} がアーカイブ名の日付 {archive_date} より後です"),
                    &format!("The creation date {d} is after the archive-name date {archive_date}"),
                ));
            }
        }
    }

    // I-03 送付元.
    let sender = &index.sender;
    let loc = "/index/sender/id/@extension";
    let ext = sender.extension.as_str();
    let all_digits = !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit());
    let shape_ok = all_digits
        && match sender.root.as_str() {
            oid::INSTITUTION => ext.len() == 10,
            oid::AGENCY => ext.len() == 8,
            oid::INSURER => ext.len() <= 8,
            _ => false,
        };
    if !shape_ok {
        out.push(finding(
            "I-03",
            file,
            loc,
            &format!("{}:{}", sender.root, sender.extension),
            "送付元は機関番号(10桁)・代行機関番号(8桁)・保険者番号(8桁以内)のいずれかで設定してください",
            "The sender must be an institution (10 digits), agency (8 digits) or insurer (up to 8 digits) number",
        ));
    } else if let Some(name) = cx.archive_name {
        let padded = if sender.root == oid::INSURER {
            format!("{ext:0>8}")
        } else {
            ext.to_string()
        };
        if padded != name.sender {
            out.push(finding(
                "I-03",
                file,
                loc,
                ext,
                &format!(
                    "送付元 {ext} がアーカイブ名の送付元 {} と異なります",
                    name.sender
                ),
                &format!(
                    "The sender {ext} differs from the archive-name sender {}",
                    name.sender
                ),
            ));
        }
    }

    // I-04 送付先.
    let loc = "/index/receiver/id/@extension";
    match &index.receiver {
        None => out.push(finding(
            "I-04",
            file,
            "/index/receiver",
            "",
            "送付先がありません",
            "The receiver is missing",
        )),
        Some(receiver) => {
            if index.interaction_type == "1" && receiver.root != oid::AGENCY {
                out.push(finding(
                    "I-04",
                    file,
                    "/index/receiver/id/@root",
                    &receiver.root,
                    "種別1の送付先は代行機関番号(OID …103)でなければなりません",
                    "For interaction type 1 the receiver must be an agency number (OID …103)",
                ));
            }
            if let Some(name) = cx.archive_name
                && receiver.extension != name.receiver
            {
                out.push(finding(
                    "I-04",
                    file,
                    loc,
                    &receiver.extension,
                    &format!(
                        "送付先 {} がアーカイブ名の送付先 {} と異なります",
                        receiver.extension, name.receiver
                    ),
                    &format!(
                        "The receiver {} differs from the archive-name receiver {}",
                        receiver.extension, name.receiver
                    ),
                ));
            }
            match cx.agency_number {
                Some(ours) if receiver.extension != ours => out.push(finding(
                    "I-04",
                    file,
                    loc,
                    &receiver.extension,
                    &format!("送付先 {} は当代行機関の番号 {ours} ではありません", receiver.extension),
                    &format!("The receiver {} is not this agency's number {ours}", receiver.extension),
                )),
                Some(_) => {}
                None => out.push(info(
                    "I-04",
                    file,
                    loc,
                    &receiver.extension,
                    "代行機関番号が設定されていないため、送付先はアーカイブ名との一致のみ確認しました",
                    "No agency number is configured: the receiver was only compared with the archive name",
                )),
            }
        }
    }

    // I-05 実施区分.
    let loc = "/index/serviceEventType/@code";
    let set = index.service_event_type.as_str();
    if set != "1" && set != "2" {
        out.push(finding(
            "I-05",
            file,
            loc,
            set,
            &format!("実施区分が「{set}」です(1 健診 / 2 保健指導)"),
            &format!("The service event type is \"{set}\" (1 checkup / 2 guidance)"),
        ));
    } else if let Some(name) = cx.archive_name
        && set != name.service_event_type.to_string()
    {
        out.push(finding(
            "I-05",
            file,
            loc,
            set,
            &format!(
                "実施区分 {set} がアーカイブ名の実施区分 {} と異なります",
                name.service_event_type
            ),
            &format!(
                "The service event type {set} differs from the archive name's {}",
                name.service_event_type
            ),
        ));
    }

    // I-06 総ファイル数.
    let loc = "/index/totalRecordCount/@value";
    let declared = daiko_format::model::parse_uint(&index.total_record_count);
    if declared != Some(cx.record_files as u64) {
        out.push(finding(
            "I-06",
            file,
            loc,
            &index.total_record_count,
            &format!(
                "総ファイル数「{}」がDATAとCLAIMSのファイル数の合計 {} と異なります",
                index.total_record_count, cx.record_files
            ),
            &format!(
                "The total record count \"{}\" differs from the {} files in DATA and CLAIMS",
                index.total_record_count, cx.record_files
            ),
        ));
    }

    // I-07 検証番号 of an institution or insurer sender.
    if shape_ok {
        let valid = match sender.root.as_str() {
            oid::INSTITUTION => digits::is_valid_institution_number(ext),
            oid::INSURER => digits::is_valid_insurer_number(&format!("{ext:0>8}")),
            _ => true,
        };
        if !valid {
            out.push(finding(
                "I-07",
                file,
                "/index/sender/id/@extension",
                ext,
                &format!("送付元番号 {ext} の検証番号(末尾1桁)が正しくありません"),
                &format!("The check digit (last digit) of the sender number {ext} is wrong"),
            ));
        }
    }
}
