//! Stage A — the archive (提供用アーカイブファイル): turns what the archive reader found
//! ([`ArchiveIssue`]) into findings, and checks the file counts.

use crate::catalogue::{finding, finding_with_outcome};
use crate::finding::{Finding, Outcome};
use daiko_format::archive::{ArchiveIssue, Entry, EntryRole};

/// A-01 …: one finding per issue. `archive` is the archive's file name,
/// used as the file of archive-level findings.
pub fn issue_findings(archive: &str, issues: &[ArchiveIssue], out: &mut Vec<Finding>) {
    for issue in issues {
        out.push(issue_finding(archive, issue));
    }
}

/// The finding for one archive issue.
pub fn issue_finding(archive: &str, issue: &ArchiveIssue) -> Finding {
    match issue {
        ArchiveIssue::NotZip(why) => finding(
            "A-01",
            archive,
            "",
            "",
            &format!("ZIPとして読み取れません({why})"),
            &format!("The file cannot be read as a ZIP archive ({why})"),
        ),
        ArchiveIssue::BadName(why) => finding(
            "A-02",
            archive,
            "",
            archive,
            &format!("アーカイブ名が規則に合いません({why})"),
            &format!("The archive name does not follow the rule ({why})"),
        ),
        ArchiveIssue::TopFolder(why) => finding(
            "A-03",
            archive,
            "",
            "",
            &format!("最上位フォルダが正しくありません({why})"),
            &format!("The top folder is wrong ({why})"),
        ),
        ArchiveIssue::NoIndex => finding(
            "A-04",
            archive,
            "ix08_V08.xml",
            "",
            "交換用基本情報ファイル ix08_V08.xml がありません",
            "The index file ix08_V08.xml is missing",
        ),
        ArchiveIssue::NoSummary => finding(
            "A-05",
            archive,
            "su08_V08.xml",
            "",
            "決済ファイルがあるのに集計情報ファイル su08_V08.xml がありません",
            "Claim files are present but the summary file su08_V08.xml is missing",
        ),
        ArchiveIssue::Unexpected { entry } => {
            // A folder outside the layout rejects the archive; a stray file only warns.
            let outcome = if entry.ends_with('/') {
                Outcome::AR
            } else {
                Outcome::W
            };
            finding_with_outcome(
                "A-06",
                outcome,
                archive,
                entry,
                entry,
                &format!("想定外の項目 {entry} があります"),
                &format!("Unexpected entry {entry}"),
            )
        }
        ArchiveIssue::NoXsdFolder => finding(
            "A-07",
            archive,
            "XSD/",
            "",
            "XSDフォルダがありません(受付は当機関のスキーマで行います)",
            "The XSD folder is missing (the agency validates with its own schemas)",
        ),
        ArchiveIssue::Unsafe { entry, reason } => finding(
            "A-09",
            archive,
            entry,
            entry,
            &format!("安全でない項目があります: {entry}({reason})"),
            &format!("Unsafe entry {entry}: {reason}"),
        ),
        ArchiveIssue::NonAscii { entry } => finding(
            "A-10",
            archive,
            entry,
            entry,
            &format!("フォルダ名・ファイル名に半角英数字以外が含まれます: {entry}"),
            &format!("A folder or file name is not ASCII: {entry}"),
        ),
    }
}

/// at least one data file, and for settlement exchanges at least one claim file.
pub fn file_counts(
    archive: &str,
    entries: &[Entry],
    claims_expected: bool,
    out: &mut Vec<Finding>,
) {
    let data = entries.iter().filter(|e| e.role == EntryRole::Data).count();
    let claims = entries
        .iter()
        .filter(|e| e.role == EntryRole::Claim)
        .count();
    if data == 0 {
        out.push(finding(
            "A-08",
            archive,
            "DATA/",
            "0",
            "DATAフォルダにデータファイルがありません",
            "There are no data files in DATA",
        ));
    }
    if claims_expected && claims == 0 {
        out.push(finding(
            "A-08",
            archive,
            "CLAIMS/",
            "0",
            "CLAIMSフォルダに決済ファイルがありません",
            "There are no claim files in CLAIMS",
        ));
    }
}
