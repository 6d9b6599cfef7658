//! Times `settle` on N generated claim lines (default 1,000,000) over 50 insurers and 2,000
//! institutions: `cargo run --release -p daiko-billing --example settle_bench -- 1000000`.

use std::collections::BTreeMap;
use std::time::Instant;

use daiko_billing::*;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let lines: Vec<ClaimLine> = (0..n)
        .map(|i| {
            let cost = 7_680 + (i % 5) as i64 * 1_000;
            let copay = (i % 3) as i64 * 500;
            ClaimLine {
                record_id: format!("R{i:09}"),
                insurer: format!("{:08}", 6_130_000 + i % 50),
                institution: format!("{:010}", 1_310_000_000 + (i * 7919) % 2_000),
                card_number: format!("K{}・{}", i % 97, i),
                voucher_number: format!("26{i:09}"),
                kind: ServiceKind::Checkup,
                guidance_timing: None,
                service_date: "20260215".into(),
                cost_total: cost,
                copay_total: copay,
                other_total: 0,
                claim_total: cost - copay,
                late: false,
            }
        })
        .collect();
    let fees = FeeSchedule {
        insurer_per_record: 50,
        insurer_per_invoice: 1_000,
        institution_per_record: 30,
        institution_per_statement: 500,
    };
    let start = Instant::now();
    let s = settle(
        "2026-03".parse().expect("month"),
        &Calendar::default(),
        &fees,
        &lines,
        &[],
        &BTreeMap::new(),
    )
    .expect("settle");
    let took = start.elapsed();
    let due: i64 = s.invoices.iter().map(|i| i.amount_due).sum();
    println!(
        "settle: {n} lines, {} invoices, {} statements, Σ amount_due {due} yen, {:.2} s",
        s.invoices.len(),
        s.statements.len(),
        took.as_secs_f64()
    );
}
