//! Stage U — duplicates, resubmissions and sequences: U-01, U-02 (within the archive),
//! U-03, U-05 and U-06 against the agency's history.
//!
//! U-04 (withdrawal, 取下げ) is a request an institution makes to the agency outside an
//! archive; the server records it and returns the record with reason 08. It has no rule
//! to apply to an incoming archive.

use crate::catalogue::finding;
use crate::finding::Finding;
use crate::reference::{RecordState, ReferenceData};
use crate::stages::record::{ClaimDoc, Missing, RecordInput, Skipped};

/// U-01, U-03, U-05, U-06 for one record against the history.
pub fn check_history(
    r: &RecordInput<'_>,
    interaction_type: &str,
    reference: &dyn ReferenceData,
    skipped: &mut Skipped,
    out: &mut Vec<Finding>,
) {
    let file = if r.claim_file.is_empty() {
        r.data_file
    } else {
        r.claim_file
    };
    let insurer = r.insurer();
    let voucher = r.voucher_number();

    // U-06: an insurer's 過誤 request must refer to a record the agency forwarded.
    if matches!(interaction_type, "4" | "5") {
        let has_request = match r.claim {
            Some(ClaimDoc::Checkup(c)) => c.insurer_adjudication.is_some(),
            Some(ClaimDoc::Guidance(c)) => c.insurer_adjudication.is_some(),
            None => false,
        };
        if has_request {
            match reference.records_of_voucher(insurer, voucher) {
                None => {
                    skipped.insert(("U-06", Missing::History));
                }
                Some(prior) => {
                    if !prior
                        .iter()
                        .any(|p| matches!(p.state, RecordState::Delivered | RecordState::Paid))
                    {
                        out.push(finding(
                            "U-06",
                            file,
                            "/insurerAdjudicationResult",
                            voucher,
                            &format!("過誤申立ての対象(整理番号 {voucher})は当機関から送付した記録にありません"),
                            &format!("The erroneous-payment request (voucher {voucher}) refers to no record this agency delivered"),
                        ));
                    }
                }
            }
        }
        return;
    }

    if r.is_guidance() {
        // U-05 guidance sequence for this voucher.
        let Some(ClaimDoc::Guidance(g)) = r.claim else {
            return;
        };
        match reference.records_of_voucher(insurer, voucher) {
            None => {
                skipped.insert(("U-05", Missing::History));
                skipped.insert(("U-03", Missing::History));
            }
            Some(prior) => {
                let live: Vec<_> = prior
                    .iter()
                    .filter(|p| !matches!(p.state, RecordState::Returned | RecordState::Withdrawn))
                    .collect();
                let has = |t: &str| live.iter().any(|p| p.guidance_timing.as_deref() == Some(t));
                let timing = g.guidance_timing.as_str();
                let problem = if has("3") {
                    Some((
                        "中止(実施時点3)の後の請求です",
                        "a claim after the guidance was stopped (timing 3)",
                    ))
                } else if timing == "1" && has("1") {
                    Some((
                        "初回の請求が既にあります",
                        "a first-session claim already exists",
                    ))
                } else if timing == "2" && !has("1") {
                    Some((
                        "初回の請求がないまま実績評価の請求です",
                        "a final-evaluation claim without a first-session claim",
                    ))
                } else if timing == "3" && !has("1") {
                    // An early termination stops guidance that started with a first
                    // session, so it needs the first claim just as a final evaluation does.
                    Some((
                        "初回の請求がないまま途中終了の請求です",
                        "an early-termination claim without a first-session claim",
                    ))
                } else {
                    None
                };
                if let Some((ja, en)) = problem {
                    out.push(finding(
                        "U-05",
                        file,
                        "/encounter/guidanceTiming/@code",
                        timing,
                        &format!("利用券 {voucher}: {ja}"),
                        &format!("Guidance voucher {voucher}: {en}"),
                    ));
                }
            }
        }
        return;
    }

    // Checkups: U-01 paid this fiscal year, U-03 active record (resubmission duplicate).
    let Some(fy) = r.fiscal_year() else { return };
    match reference.records_of_person(insurer, r.card_number(), fy) {
        None => {
            skipped.insert(("U-01", Missing::History));
            skipped.insert(("U-03", Missing::History));
        }
        Some(prior) => {
            let checkups = prior.iter().filter(|p| p.service_event_type == 1);
            let mut paid = false;
            let mut active = false;
            for p in checkups {
                paid |= p.state == RecordState::Paid;
                active |= matches!(p.state, RecordState::Active | RecordState::Delivered);
            }
            if paid {
                out.push(finding(
                    "U-01",
                    file,
                    "/subjectPerson/insuranceCard",
                    r.card_number(),
                    &format!("重複: 保険者 {insurer}・番号 {} の方の{fy}年度の健診は支払済みです", r.card_number()),
                    &format!("Duplicate: the FY{fy} checkup of insurer {insurer}, card {} was already paid", r.card_number()),
                ));
            } else if active {
                out.push(finding(
                    "U-03",
                    file,
                    "/subjectPerson/insuranceCard",
                    r.card_number(),
                    &format!("重複: 保険者 {insurer}・番号 {} の方の{fy}年度の健診は受付済み(処理中)です", r.card_number()),
                    &format!("Duplicate: the FY{fy} checkup of insurer {insurer}, card {} is already received and active", r.card_number()),
                ));
            }
        }
    }
}

/// U-02: the same voucher number twice in the archive. `vouchers` are (insurer, voucher)
/// per record in order; returns the indexes of every record in a duplicate group and a
/// finding for each.
pub fn duplicate_vouchers(records: &[(String, String, String)]) -> Vec<(usize, Finding)> {
    let mut seen: std::collections::HashMap<(&str, &str), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, (_, insurer, voucher)) in records.iter().enumerate() {
        if !voucher.is_empty() {
            seen.entry((insurer.as_str(), voucher.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut out = Vec::new();
    for ((insurer, voucher), idx) in &seen {
        if idx.len() < 2 {
            continue;
        }
        for &i in idx {
            let file = records.get(i).map(|r| r.0.as_str()).unwrap_or("");
            out.push((
                i,
                finding(
                    "U-02",
                    file,
                    "",
                    voucher,
                    &format!(
                        "保険者 {insurer} の整理番号 {voucher} がこのアーカイブに{}件あります",
                        idx.len()
                    ),
                    &format!(
                        "Insurer {insurer}'s voucher {voucher} appears {} times in this archive",
                        idx.len()
                    ),
                ),
            ));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}
