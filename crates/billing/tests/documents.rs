//! Invoice and statement documents: CSV (BOM, CRLF, Japanese header, totals that add up) and
//! PDF read back with poppler's pdftotext.
//!
//! Without Japanese fonts the PDF tests print "SKIPPED: …" and pass, unless
//! DAIKO_REQUIRE_FONTS=1 (CI). Without poppler-utils the text checks are skipped the same way.
//! With DAIKO_BILLING_PDF_DIR set, the PDFs are also written there for a look.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use daiko_billing::*;
use daiko_pdf::Fonts;

fn required() -> bool {
    std::env::var("DAIKO_REQUIRE_FONTS").is_ok_and(|v| v == "1")
}

fn fonts(test: &str) -> Option<&'static Fonts> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    match FONTS.get_or_init(|| Fonts::discover().map_err(|e| e.to_string())) {
        Ok(f) => Some(f),
        Err(e) if required() => panic!("DAIKO_REQUIRE_FONTS=1 but: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: no Japanese fonts ({test}): {e}");
            None
        }
    }
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("daiko-billing-{}-{name}", std::process::id()))
}

fn keep(pdf: &[u8], name: &str) {
    if let Ok(dir) = std::env::var("DAIKO_BILLING_PDF_DIR") {
        std::fs::write(Path::new(&dir).join(format!("{name}.pdf")), pdf).unwrap();
    }
}

fn pdftotext(pdf: &[u8], name: &str) -> Option<String> {
    if Command::new("pdftotext").arg("-v").output().is_err() {
        assert!(
            !required(),
            "DAIKO_REQUIRE_FONTS=1 but pdftotext is not installed"
        );
        eprintln!(
            "SKIPPED: pdftotext not installed (poppler-utils); text checks of {name} skipped"
        );
        return None;
    }
    let path = tmp(&format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

fn names() -> BTreeMap<String, String> {
    [
        ("06130012", "全国健康保険協会東京支部"),
        ("39131015", "東京都後期高齢者医療広域連合"),
        ("1311111111", "医療法人社団 𠮷田会 髙橋クリニック"),
        ("1322222222", "港区健診センター"),
        ("1333333333", "新宿ヘルスケア診療所"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A month with 130 lines (several detail pages), both services, late claims, a 過誤
/// offset, a carried-forward deficit from last month and fees.
fn month() -> Settlement {
    let insurers = ["06130012", "39131015"];
    let institutions = ["1311111111", "1322222222"];
    let mut lines = Vec::new();
    for i in 0..130i64 {
        let guidance = i % 10 == 9;
        let cost = if guidance {
            20_000
        } else {
            7_680 + (i % 4) * 1_215
        };
        let copay = if guidance {
            0
        } else {
            [0, 1_000, 2_304, 2_680][(i % 4) as usize]
        };
        let other = if i % 13 == 0 && !guidance { 500 } else { 0 };
        lines.push(ClaimLine {
            record_id: format!("2026030{:05}", i),
            insurer: insurers[((i / 3) % 2) as usize].to_string(),
            institution: institutions[((i / 2) % 2) as usize].to_string(),
            card_number: format!("記号{}・{}", 100 + i % 7, 5000 + i),
            voucher_number: format!("26{:09}", 100_000 + i),
            kind: if guidance {
                ServiceKind::Guidance
            } else {
                ServiceKind::Checkup
            },
            guidance_timing: guidance.then(|| if i % 20 == 9 { "1" } else { "2" }.to_string()),
            service_date: format!("202602{:02}", 1 + i % 28),
            cost_total: cost,
            copay_total: copay,
            other_total: other,
            claim_total: cost - copay - other,
            late: i % 17 == 0,
        });
    }
    let offsets = vec![
        Offset {
            id: "K1".into(),
            insurer: "06130012".into(),
            institution: "1311111111".into(),
            record_id: Some("2026010000042".into()),
            reason_code: "06".into(),
            reason_text: "資格喪失後の受診".into(),
            amount: 6_680,
            origin_month: Some("2026-01".parse().unwrap()),
        },
        Offset {
            id: "carry:2026-02:1333333333".into(),
            insurer: String::new(),
            institution: "1333333333".into(),
            record_id: None,
            reason_code: CARRY.into(),
            reason_text: "2026-02 支払不足額の繰越".into(),
            amount: 1_200,
            origin_month: Some("2026-02".parse().unwrap()),
        },
    ];
    let fees = FeeSchedule {
        insurer_per_record: 50,
        insurer_per_invoice: 1_000,
        institution_per_record: 30,
        institution_per_statement: 500,
    };
    settle(
        "2026-03".parse().unwrap(),
        &Calendar::default(),
        &fees,
        &lines,
        &offsets,
        &names(),
    )
    .unwrap()
}

fn agency() -> AgencyInfo {
    AgencyInfo {
        name: "特定健診データ代行機構".into(),
        address: "〒100-0001\n東京都千代田区千代田1-1".into(),
        phone: "03-0000-0000".into(),
        registration_number: "T1234567890123".into(),
        payee_account: "みずほ銀行 本店 普通 1234567 トクテイケンシンダイコウキコウ".into(),
    }
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let body = &bytes[3..];
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.ends_with("\r\n"));
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "CRLF only"
    );
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

#[test]
fn invoice_csv_adds_up() {
    let s = month();
    for inv in &s.invoices {
        let rows = parse_csv(&invoice_csv(inv));
        let h = &rows[0];
        assert_eq!(h[0], "行種別");
        let claim = col(h, "請求額");
        let details: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "明細").collect();
        assert_eq!(details.len() as i64, inv.records);
        let sum: i64 = details
            .iter()
            .map(|r| r[claim].parse::<i64>().unwrap())
            .sum();
        let total = rows.iter().find(|r| r[0] == "合計").unwrap();
        assert_eq!(total[claim].parse::<i64>().unwrap(), sum);
        assert_eq!(
            total[col(h, "差引額")].parse::<i64>().unwrap(),
            inv.amount_due
        );
        assert_eq!(
            total[col(h, "手数料")].parse::<i64>().unwrap(),
            inv.fee_total
        );
        let offsets: i64 = rows
            .iter()
            .filter(|r| r[0] == "過誤調整")
            .map(|r| r[col(h, "過誤調整額")].parse::<i64>().unwrap())
            .sum();
        assert_eq!(offsets, inv.offset_total);
        // Institution names come from the subtotals.
        assert!(
            details
                .iter()
                .any(|r| r[col(h, "機関名")] == "港区健診センター")
        );
    }
}

#[test]
fn statement_csv_adds_up_and_shows_the_carry() {
    let s = month();
    let carried = s
        .statements
        .iter()
        .find(|x| x.institution == "1333333333")
        .unwrap();
    let rows = parse_csv(&statement_csv(carried));
    let h = &rows[0];
    assert!(
        rows.iter()
            .any(|r| r[0] == "前月繰越" && r[col(h, "過誤調整額")] == "1200")
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "翌月繰越" && r[col(h, "過誤調整額")] == "1200")
    );
    let st = &s.statements[0];
    let rows = parse_csv(&statement_csv(st));
    let total = rows.iter().find(|r| r[0] == "合計").unwrap();
    assert_eq!(
        total[col(h, "差引額")].parse::<i64>().unwrap(),
        st.amount_paid
    );
    assert_eq!(
        st.amount_paid,
        st.claim_total - st.fee_total - st.offset_total,
        "no carry on this statement"
    );
}

#[test]
fn csv_cells_that_look_like_formulas_are_quoted() {
    let mut s = month();
    let inv = &mut s.invoices[0];
    inv.insurer_name = "=HYPERLINK(\"x\")".into();
    let rows = parse_csv(&invoice_csv(inv));
    assert!(
        rows.iter()
            .filter(|r| r[0] == "明細")
            .all(|r| r[3].starts_with("'="))
    );
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn invoice_pdf_reads_back() {
    let Some(f) = fonts("invoice_pdf_reads_back") else {
        return;
    };
    let s = month();
    let inv = &s.invoices[0];
    let pdf = invoice_pdf(f, &agency(), inv).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    keep(&pdf, "invoice");
    let Some(text) = pdftotext(&pdf, "invoice") else {
        return;
    };
    let t = squash(&text);
    for want in [
        "請求書".to_string(),
        "全国健康保険協会東京支部御中".into(),
        "保険者番号06130012".into(),
        "ご請求金額".into(),
        format!("¥{}", documents::yen(inv.amount_due)),
        "代行手数料".into(),
        format!("{}円", documents::yen(inv.fee_total)),
        "06資格喪失後の受診".into(),
        "𠮷田会髙橋クリニック".into(),
        "港区健診センター".into(),
        "月遅れ".into(),
        "保健指導・初回".into(),
        "お支払期日：2026年3月19日".into(),
        "請求日：2026年3月12日".into(),
        "登録番号T1234567890123".into(),
    ] {
        assert!(t.contains(&squash(&want)), "missing {want:?} in\n{text}");
    }
    // 65 detail lines run over several pages, numbered n / N.
    let pages = text.matches('\u{c}').count();
    assert!(pages >= 2, "{pages} pages");
    assert!(t.contains(&format!("1/{pages}")), "page numbers");
    // The last detail line is printed.
    assert!(t.contains("65"), "line 65");
}

#[test]
fn statement_pdf_reads_back() {
    let Some(f) = fonts("statement_pdf_reads_back") else {
        return;
    };
    let s = month();
    let st = &s.statements[0];
    let pdf = statement_pdf(f, &agency(), st).unwrap();
    keep(&pdf, "statement");
    let carried = s
        .statements
        .iter()
        .find(|x| x.institution == "1333333333")
        .unwrap();
    let pdf2 = statement_pdf(f, &agency(), carried).unwrap();
    keep(&pdf2, "statement-carry");
    let Some(text) = pdftotext(&pdf, "statement") else {
        return;
    };
    let t = squash(&text);
    for want in [
        "支払明細書".to_string(),
        "医療法人社団𠮷田会髙橋クリニック御中".into(),
        "お支払金額".into(),
        format!("¥{}", documents::yen(st.amount_paid)),
        "全国健康保険協会東京支部".into(),
        "東京都後期高齢者医療広域連合".into(),
        format!("−{}円", documents::yen(st.fee_total)),
        "06資格喪失後の受診".into(),
        "お支払日：2026年3月31日".into(),
    ] {
        assert!(t.contains(&squash(&want)), "missing {want:?} in\n{text}");
    }
    let Some(text) = pdftotext(&pdf2, "statement-carry") else {
        return;
    };
    let t = squash(&text);
    assert!(t.contains("前月繰越"), "{text}");
    assert!(t.contains("翌月繰越額"), "{text}");
}

#[test]
fn amounts_print_with_separators() {
    assert_eq!(documents::yen(0), "0");
    assert_eq!(documents::yen(999), "999");
    assert_eq!(documents::yen(1_000), "1,000");
    assert_eq!(documents::yen(-1_234_567), "−1,234,567");
    assert_eq!(documents::yen(12_345_678_901), "12,345,678,901");
}
