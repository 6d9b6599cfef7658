//! Letters per second: renders N invitation letters (default 100,000) in PDF batches of
//! 1,000 on every core, the way `daiko invite letters` is meant to, and prints the rate.
//!
//! `cargo run --release -p daiko-invite --example letters_bench -- [N] [BATCH] [OUT_DIR]`
//! (OUT_DIR: write the PDFs there; default: render only, the bytes are dropped).

use daiko_check::reference::CopaymentSetting;
use daiko_invite::letters::{LetterContext, LetterInput, LetterTemplate, render_letters};
use daiko_invite::roster::{CardKey, Member, MemberType, Sex};
use daiko_invite::vouchers::{FyMonthDay, VoucherSettings, issue_checkup};
use daiko_pdf::Fonts;
use jiff::ToSpan;
use jiff::civil::date;
use std::time::Instant;

const SURNAMES: [&str; 8] = [
    "𠮷田", "髙橋", "山﨑", "佐藤", "鈴木", "田中", "渡辺", "伊藤",
];
const GIVEN: [&str; 6] = ["花子", "太郎", "一郎", "美咲", "健", "直子"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let batch: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1_000);
    let out_dir = args.get(3).cloned();
    let t0 = Instant::now();
    let fonts = Fonts::discover()?;
    let members: Vec<Member> = (0..n)
        .map(|i| Member {
            line: i + 2,
            card: CardKey::new("K1", &format!("{:07}", i), ""),
            name: format!("{} {}", SURNAMES[i % 8], GIVEN[i % 6]),
            name_kana: "ヨシダ ハナコ".into(),
            sex: if i % 2 == 0 { Sex::Female } else { Sex::Male },
            birth_date: date(1950, 4, 2)
                .checked_add((i % 12000) as i64 * 1.day())
                .unwrap_or(date(1960, 1, 1)),
            postal_code: format!("{:07}", 1_000_000 + (i * 7919) % 8_999_999),
            address1: "東京都千代田区霞が関".into(),
            address2: format!("{}丁目{}番{}号", i % 9 + 1, i % 30 + 1, i % 20 + 1),
            address3: if i % 3 == 0 {
                format!("郵便プラザ{}室", 100 + i % 900)
            } else {
                String::new()
            },
            insured_from: date(2000, 4, 1),
            insured_to: None,
            member_type: MemberType::Dependant,
            exclusions: vec![],
            returned_mail: false,
        })
        .collect();
    let settings = VoucherSettings {
        insurer_number: "06123456".into(),
        insurer_name: "だいこう健康保険組合".into(),
        checkup_expiry: FyMonthDay { month: 3, day: 20 },
        guidance_expiry: FyMonthDay { month: 9, day: 30 },
        basic: Some(CopaymentSetting {
            code: 2,
            amount: Some(1000),
            rate: None,
            cap: None,
        }),
        detail: Some(CopaymentSetting {
            code: 1,
            amount: None,
            rate: None,
            cap: None,
        }),
        additional: None,
        dock: None,
        guidance: None,
    };
    let refs: Vec<_> = members.iter().map(|m| (m, None)).collect();
    let issued = issue_checkup(&settings, 2024, &refs, 1)?;
    // Vouchers come back in card order, which is the member order here.
    let inputs: Vec<LetterInput<'_>> = members
        .iter()
        .zip(&issued.vouchers)
        .map(|(member, voucher)| LetterInput { member, voucher })
        .collect();
    let template = LetterTemplate::default().compile()?;
    let ctx = LetterContext {
        fiscal_year: 2024,
        issued_on: date(2024, 6, 1),
        insurer_name: settings.insurer_name.clone(),
        sender: vec![
            "〒100-0001 東京都千代田区千代田1-1".into(),
            "電話 03-0000-0000".into(),
        ],
    };
    let setup = t0.elapsed();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks: Vec<(usize, &[LetterInput<'_>])> =
        inputs.chunks(batch.max(1)).enumerate().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let t1 = Instant::now();
    std::thread::scope(|s| -> Result<(), String> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((k, chunk)) = chunks.get(i) else {
                            return Ok(());
                        };
                        let pdf = render_letters(&fonts, &template, &ctx, chunk)
                            .map_err(|e| e.to_string())?;
                        bytes.fetch_add(pdf.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        if let Some(dir) = &out_dir {
                            std::fs::write(format!("{dir}/letters-{:05}.pdf", k + 1), &pdf)
                                .map_err(|e| e.to_string())?;
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "a worker panicked".to_string())??;
        }
        Ok(())
    })?;
    let secs = t1.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    println!(
        "{n} letters in {} PDF files of {batch} on {threads} threads: {secs:.1} s, {rate:.0} letters/s, {:.1} MB, setup {:.1} s; 100,000 letters would take {:.0} s",
        chunks.len(),
        bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6,
        setup.as_secs_f64(),
        100_000.0 / rate
    );
    Ok(())
}
