//! Stage S — the summary file (集計情報, su08) against the claims' totals: S-01 … S-08.

use crate::catalogue::finding;
use crate::finding::Finding;
use daiko_format::model::{Money, Summary, parse_uint};

/// Totals of the claims of an archive, as read (each claim's amounts, 0 where unreadable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimTotals {
    /// Number of claim files.
    pub claims: u64,
    /// Σ unitAmount (checkup) / calculatedAmount (guidance).
    pub cost: u64,
    /// Σ paymentAmount / payment/amount.
    pub payment: u64,
    /// Σ paymentByOtherProgram.
    pub other_program: u64,
    /// Σ claimAmount.
    pub claim: u64,
}

impl ClaimTotals {
    /// Adds one claim's amounts.
    pub fn add(&mut self, a: &crate::report::RecordAmounts) {
        self.claims += 1;
        self.cost = self.cost.saturating_add(a.cost);
        self.payment = self.payment.saturating_add(a.copayment);
        self.other_program = self.other_program.saturating_add(a.other_program);
        self.claim = self.claim.saturating_add(a.claim);
    }
}

/// S-01 … S-07. `index_service_event_type` is the index's 実施区分. `claims_consistent`
/// says whether every claim's own arithmetic holds (no C-07): when one does not, the
/// summary's totals cannot add up either, and that claim is returned rather than the whole
/// archive rejected, so S-07 is not reported.
pub fn check_summary(
    file: &str,
    summary: &Summary,
    index_service_event_type: &str,
    totals: &ClaimTotals,
    claims_consistent: bool,
    out: &mut Vec<Finding>,
) {
    if summary.service_event_type != index_service_event_type {
        out.push(finding(
            "S-01",
            file,
            "/summary/serviceEventType/@code",
            &summary.service_event_type,
            &format!(
                "実施区分 {} が交換用基本情報の {} と異なります",
                summary.service_event_type, index_service_event_type
            ),
            &format!(
                "The service event type {} differs from the index's {}",
                summary.service_event_type, index_service_event_type
            ),
        ));
    }
    let subjects = parse_uint(&summary.total_subject_count);
    if subjects != Some(totals.claims) {
        out.push(finding(
            "S-02",
            file,
            "/summary/totalSubjectCount/@value",
            &summary.total_subject_count,
            &format!(
                "受診者数「{}」が決済ファイル数 {} と異なります",
                summary.total_subject_count, totals.claims
            ),
            &format!(
                "The subject count \"{}\" differs from the {} claim files",
                summary.total_subject_count, totals.claims
            ),
        ));
    }
    let amount = |code: &'static str,
                  path: &str,
                  m: Option<&Money>,
                  expected: u64,
                  what_ja: &str,
                  what_en: &str,
                  out: &mut Vec<Finding>| {
        let written = m.map(|m| m.value.as_str()).unwrap_or("");
        let value = m.and_then(Money::amount).unwrap_or(0);
        let present_ok = m.is_some() || expected == 0;
        if !present_ok || value != expected || (m.is_some() && m.and_then(Money::amount).is_none())
        {
            out.push(finding(
                code,
                file,
                path,
                written,
                &format!("{what_ja}「{written}」が決済情報の合計 {expected} 円と異なります"),
                &format!("{what_en} \"{written}\" differs from the claims' sum {expected} JPY"),
            ));
        }
    };
    amount(
        "S-03",
        "/summary/totalCostAmount/@value",
        Some(&summary.total_cost_amount),
        totals.cost,
        "単価総計",
        "The total cost",
        out,
    );
    amount(
        "S-04",
        "/summary/totalPaymentAmount/@value",
        Some(&summary.total_payment_amount),
        totals.payment,
        "窓口負担総計",
        "The total co-payment",
        out,
    );
    // The other-programme total may be omitted when it is 0.
    amount(
        "S-05",
        "/summary/totalPaymentByOtherProgram/@value",
        summary.total_payment_by_other_program.as_ref(),
        totals.other_program,
        "他制度負担総計",
        "The total other-programme amount",
        out,
    );
    amount(
        "S-06",
        "/summary/totalClaimAmount/@value",
        Some(&summary.total_claim_amount),
        totals.claim,
        "請求総計",
        "The total claim",
        out,
    );
    // S-07: the summary's own arithmetic.
    let cost = summary.total_cost_amount.amount();
    let pay = summary.total_payment_amount.amount();
    let other = match &summary.total_payment_by_other_program {
        None => Some(0),
        Some(m) => m.amount(),
    };
    let claim = summary.total_claim_amount.amount();
    if let (true, Some(cost), Some(pay), Some(other), Some(claim)) =
        (claims_consistent, cost, pay, other, claim)
    {
        let expected = cost.checked_sub(pay).and_then(|v| v.checked_sub(other));
        if expected != Some(claim) {
            out.push(finding(
                "S-07",
                file,
                "/summary/totalClaimAmount/@value",
                &summary.total_claim_amount.value,
                &format!("請求総計 {claim} が 単価総計 {cost} − 窓口負担総計 {pay} − 他制度負担総計 {other} と一致しません"),
                &format!("Total claim {claim} ≠ total cost {cost} − total co-payment {pay} − other programme {other}"),
            ));
        }
    }
}

/// S-08: when some records are not accepted, the receipt shows only the accepted count
/// and amount, which then differ from the summary.
pub fn receipt_note(
    file: &str,
    accepted: usize,
    records: usize,
    accepted_claim: u64,
    out: &mut Vec<Finding>,
) {
    if accepted < records {
        out.push(finding(
            "S-08",
            file,
            "/summary",
            "",
            &format!("受領書には受理分 {accepted}/{records} 件・請求 {accepted_claim} 円のみを記載します"),
            &format!("The receipt shows only the accepted {accepted} of {records} records, claim {accepted_claim} JPY"),
        ));
    }
}
