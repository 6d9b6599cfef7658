//! Stage P — file names and data/claim pairing: P-01 … P-05.

use crate::catalogue::finding;
use crate::finding::Finding;
use crate::stages::record::{ClaimDoc, RecordInput};
use daiko_format::archive::ArchiveName;
use daiko_format::model::{DocumentKind, oid};

/// The file name without folder, e.g. `h99100000182023062001000001.xml`.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The pairing key: the file name without its prefix letter.
pub fn pair_key(path: &str) -> &str {
    let base = base_name(path);
    let mut chars = base.chars();
    chars.next();
    chars.as_str()
}

/// P-01 and P-02 for one DATA or CLAIMS file. `guidance` tells the archive's 実施区分.
pub fn check_file_name(
    path: &str,
    guidance: bool,
    archive: Option<&ArchiveName>,
    out: &mut Vec<Finding>,
) {
    let base = base_name(path);
    let in_data = path.starts_with("DATA/");
    let Some(stem) = base.strip_suffix(".xml") else {
        return;
    };
    // P-02: prefix letter by folder.
    let prefix = stem.chars().next().unwrap_or(' ');
    let allowed: &[char] = match (in_data, guidance) {
        (true, false) => &['h'],
        (true, true) => &['g', 'h'],
        (false, false) => &['c'],
        (false, true) => &['c', 'p'],
    };
    if !allowed.contains(&prefix) {
        let list: Vec<String> = allowed.iter().map(|c| c.to_string()).collect();
        out.push(finding(
            "P-02",
            path,
            "",
            &prefix.to_string(),
            &format!(
                "接頭辞「{prefix}」はこのフォルダでは使えません(使える接頭辞: {})",
                list.join("・")
            ),
            &format!(
                "The prefix \"{prefix}\" is not allowed in this folder (allowed: {})",
                list.join(", ")
            ),
        ));
    }
    // P-01: <prefix><institution 10><YYYYMMDD><n><k><serial 6>.
    let rest = pair_key(path).strip_suffix(".xml").unwrap_or("");
    let well_formed = rest.len() == 26 && rest.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        out.push(finding(
            "P-01",
            path,
            "",
            base,
            "ファイル名が「接頭辞+数字26桁.xml」の形ではありません",
            "The file name is not <prefix> + 26 digits + .xml",
        ));
        return;
    }
    if let Some(name) = archive {
        let institution = &rest[0..10];
        let date_n_k = &rest[10..20];
        let expected = format!("{}{}{}", name.date, name.counter, name.service_event_type);
        let sender_differs = name.sender.len() == 10 && institution != name.sender;
        if sender_differs || date_n_k != expected {
            out.push(finding(
                "P-01",
                path,
                "",
                base,
                &format!(
                    "ファイル名の機関番号・作成日・連番・実施区分({institution}・{date_n_k})がアーカイブ名({}・{expected})と一致しません",
                    name.sender
                ),
                &format!(
                    "Institution/date/counter/type in the file name ({institution}, {date_n_k}) differ from the archive name ({}, {expected})",
                    name.sender
                ),
            ));
        }
    }
}

/// P-03: a data file without a claim, or a claim without a data file.
pub fn unpaired(path: &str, out: &mut Vec<Finding>) {
    let (ja, en) = if path.starts_with("DATA/") {
        (
            "対になる決済ファイル(CLAIMS)がありません",
            "There is no claim file (CLAIMS) for this data file",
        )
    } else {
        (
            "対になるデータファイル(DATA)がありません",
            "There is no data file (DATA) for this claim file",
        )
    };
    out.push(finding("P-03", path, "", base_name(path), ja, en));
}

/// P-05: the document kinds of a pair agree with the index's 実施区分.
pub fn check_kind(path: &str, kind: DocumentKind, index_set: &str, out: &mut Vec<Finding>) {
    let set = match kind {
        DocumentKind::CheckupCda | DocumentKind::CheckupClaim => "1",
        DocumentKind::GuidanceCda | DocumentKind::GuidanceClaim => "2",
        _ => return,
    };
    if (index_set == "1" || index_set == "2") && set != index_set {
        out.push(finding(
            "P-05",
            path,
            "",
            set,
            &format!(
                "実施区分 {index_set} のアーカイブに実施区分 {set} のファイルが含まれています"
            ),
            &format!("A file of service event type {set} is in an archive of type {index_set}"),
        ));
    }
}

/// Removes blanks (half- and full-width) for comparing kana names.
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .collect()
}

/// P-04: the fields present in both files are equal.
pub fn check_pair_content(r: &RecordInput<'_>, out: &mut Vec<Finding>) {
    let Some(claim) = r.claim else { return };
    let s = claim.subject();
    let p = &r.doc.patient;
    let mut diffs: Vec<(&str, &str, String, String)> = Vec::new();
    let mut cmp = |ja: &'static str, en: &'static str, cda: Option<&str>, clm: Option<&str>| {
        if let (Some(a), Some(b)) = (cda, clm)
            && a != b
        {
            diffs.push((ja, en, a.to_string(), b.to_string()));
        }
    };
    cmp(
        "保険者番号",
        "insurer number",
        p.id(oid::INSURER),
        Some(&s.insurance_card.insurer_number.extension),
    );
    cmp(
        "被保険者証等記号",
        "card symbol",
        p.id(oid::CARD_SYMBOL),
        s.insurance_card
            .symbol
            .as_ref()
            .map(|i| i.extension.as_str()),
    );
    cmp(
        "被保険者証等番号",
        "card number",
        p.id(oid::CARD_NUMBER),
        Some(&s.insurance_card.number.extension),
    );
    cmp(
        "被保険者証等枝番",
        "card branch",
        p.id(oid::CARD_BRANCH),
        s.insurance_card
            .branch
            .as_ref()
            .map(|i| i.extension.as_str()),
    );
    let (n1, n2) = (squeeze(&p.name), squeeze(&s.name));
    cmp("氏名", "name", Some(&n1), Some(&n2));
    cmp(
        "生年月日",
        "birth date",
        Some(&p.birth_time),
        Some(&s.birth_time),
    );
    cmp("男女区分", "sex", Some(&p.gender.code), Some(&s.gender));
    cmp(
        "郵便番号",
        "postal code",
        p.addr.as_ref().and_then(|a| a.postal_code.as_deref()),
        s.addr.postal_code.as_deref(),
    );
    let cda_institution = r
        .doc
        .service_event
        .as_ref()
        .and_then(|e| e.performer.as_ref())
        .and_then(|o| o.id.as_ref())
        .or_else(|| {
            r.doc
                .authors
                .first()
                .and_then(|a| a.organization.id.as_ref())
        })
        .map(|i| i.extension.as_str());
    cmp(
        "実施機関番号",
        "institution number",
        cda_institution,
        Some(&s.performer_organization.extension),
    );
    let kind = if matches!(claim, ClaimDoc::Guidance(_)) {
        "2"
    } else {
        "1"
    };
    let cda_voucher = r.cda_voucher(kind);
    cmp(
        "整理番号",
        "voucher number",
        cda_voucher.map(|v| v.id.extension.as_str()),
        claim.voucher().map(|i| i.extension.as_str()),
    );
    cmp(
        "有効期限",
        "voucher expiry",
        cda_voucher.and_then(|v| v.expiry.as_deref()),
        claim.expiry(),
    );
    for (ja, en, a, b) in diffs {
        out.push(finding(
            "P-04",
            r.claim_file,
            "/subjectPerson",
            &b,
            &format!("{ja}が健診データ「{a}」と決済情報「{b}」で異なります"),
            &format!("The {en} differs: \"{a}\" in the data file, \"{b}\" in the claim"),
        ));
    }
}
