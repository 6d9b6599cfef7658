//! The 受付エラー連絡表 PDF of real checks of generated samples, read back with poppler's
//! pdftotext (text, page breaks, "n / N") and rendered with pdftoppm for a look.
//!
//! Without Japanese fonts the tests print "SKIPPED: …" and pass, unless
//! DAIKO_REQUIRE_FONTS=1 (CI). Without poppler-utils the text checks are skipped the same way.

use daiko_check::report::Report;
use daiko_check::{CheckConfig, Date, Finding, Outcome, ReturnReason, Severity, check_archive};
use daiko_check::{NoReference, sink::NullSink};
use daiko_pdf::{Fonts, Lang, PdfError, ReportMeta, error_report_pdf};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn required() -> bool {
    std::env::var("DAIKO_REQUIRE_FONTS").is_ok_and(|v| v == "1")
}

/// The machine's fonts, loaded once for all tests; None (after a SKIPPED line) when absent.
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

fn tool(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_ok()
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("daiko-pdf-{}-{name}", std::process::id()))
}

/// pdftotext of a PDF (pages separated by form feeds); None when poppler is missing.
fn pdftotext(pdf: &[u8], name: &str) -> Option<String> {
    if !tool("pdftotext") {
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
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&path);
    Some(String::from_utf8(out.stdout).unwrap())
}

/// A checked sample archive with returned records and several finding codes.
fn defective_report() -> Report {
    let cfg = daiko_sample::SampleConfig {
        archives: 3,
        records: 30,
        seed: 5,
        defect_rate: 0.35,
        ..Default::default()
    };
    let archives = daiko_sample::generate(&cfg).unwrap();
    let mut best: Option<Report> = None;
    for a in &archives {
        let date = a
            .name
            .split('_')
            .nth(2)
            .and_then(|d| d.get(0..8))
            .and_then(Date::parse)
            .unwrap();
        let config = CheckConfig::for_agency("99000010").received_on(date);
        let r = check_archive(
            &a.name,
            Cursor::new(&a.zip),
            &config,
            &NoReference,
            &mut NullSink,
        );
        if best
            .as_ref()
            .is_none_or(|b| r.counts.returned > b.counts.returned)
        {
            best = Some(r);
        }
    }
    let report = best.unwrap();
    assert!(
        report.counts.returned > 0,
        "the sample has returned records"
    );
    report
}

fn meta() -> ReportMeta {
    ReportMeta {
        agency_name: "テスト代行機関".to_string(),
        receipt_no: Some("R2026-000123".to_string()),
        received_at: Some("2026-11-20 10:15".to_string()),
        printed_at: "2026-11-21 09:00".to_string(),
    }
}

/// A returned-record finding whose message names people with rare characters.
fn rare_name_finding() -> Finding {
    Finding {
        code: "M-07",
        severity: Severity::Error,
        outcome: Outcome::FR,
        return_reason: Some(ReturnReason::MissingEntries),
        file: "DATA/h0000000001.xml".to_string(),
        location: "/ClinicalDocument/recordTarget".to_string(),
        value: "𠮷田 髙橋".to_string(),
        message_ja:
            "【M-07 氏名】受診者 𠮷田花子・髙橋一郎・山﨑 の記録です。対処: 確認してください"
                .to_string(),
        message_en: "[M-07 Name] Subject 𠮷田 髙橋. Fix: check it".to_string(),
    }
}

fn pages(text: &str) -> Vec<&str> {
    let mut p: Vec<&str> = text.split('\u{c}').collect();
    if p.last().is_some_and(|l| l.trim().is_empty()) {
        p.pop();
    }
    p
}

#[test]
fn japanese_report_has_title_archive_codes_and_rare_characters() {
    let Some(fonts) = fonts("japanese report") else {
        return;
    };
    eprintln!("regular chain: {:?}", fonts.chain_names(false));
    eprintln!("bold chain: {:?}", fonts.chain_names(true));
    let mut report = defective_report();
    report.findings.push(rare_name_finding());
    let pdf = error_report_pdf(&report, Lang::Ja, &meta(), fonts).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    write_preview(&pdf, "error_report_ja");
    let Some(text) = pdftotext(&pdf, "ja") else {
        return;
    };
    assert!(text.contains("受付エラー連絡表"), "{text}");
    assert!(
        text.contains(&report.archive.name),
        "archive name in:\n{text}"
    );
    assert!(text.contains("テスト代行機関"));
    assert!(text.contains("R2026-000123"));
    assert!(text.contains("返戻・保留となったレコード"));
    for f in &report.findings {
        assert!(text.contains(f.code), "finding code {} missing", f.code);
    }
    for r in report.records.iter().filter(|r| r.return_reason.is_some()) {
        let reason = r.return_reason.unwrap();
        assert!(
            text.contains(reason.name_ja()),
            "返戻理由 {} missing",
            reason.name_ja()
        );
    }
    assert!(text.contains("髙橋"), "髙 prints");
    assert!(text.contains("山﨑"), "﨑 prints");
    if fonts.has_glyph('𠮷') {
        assert!(text.contains("𠮷田"), "𠮷 prints through the fallback font");
    } else {
        assert!(
            !required(),
            "DAIKO_REQUIRE_FONTS=1 but no font has 𠮷 (install fonts-noto-cjk)"
        );
        eprintln!("SKIPPED: no installed font has 𠮷 (U+20BB7); install fonts-noto-cjk");
    }
    let pages = pages(&text);
    let n = pages.len();
    for (i, p) in pages.iter().enumerate() {
        // pdftotext's word spacing differs between poppler versions ("1 / 4" or "1/4").
        let compact: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            compact.contains(&format!("{}/{}", i + 1, n)),
            "page number on page {}",
            i + 1
        );
    }
}

#[test]
fn five_hundred_findings_span_pages_with_repeated_header() {
    let Some(fonts) = fonts("500 findings") else {
        return;
    };
    let mut report = defective_report();
    let base = report.findings.clone();
    report.findings = (0..500)
        .map(|i| {
            let mut f = base[i % base.len()].clone();
            f.location = format!("{} #{i:03}", f.location);
            f
        })
        .collect();
    let pdf = error_report_pdf(&report, Lang::Ja, &meta(), fonts).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    write_preview(&pdf, "error_report_500");
    let Some(text) = pdftotext(&pdf, "500") else {
        return;
    };
    let pages = pages(&text);
    let n = pages.len();
    assert!(n >= 5, "500 findings need several pages, got {n}");
    for (i, p) in pages.iter().enumerate() {
        assert!(
            p.contains(&format!("{} / {n}", i + 1)),
            "page {} lacks \"{} / {n}\"",
            i + 1,
            i + 1
        );
        if i > 0 {
            // The findings table continues: its header row is printed again.
            for title in ["コード", "区分", "ファイル・位置・値", "内容", "対処"]
            {
                assert!(
                    p.contains(title),
                    "header {title} not repeated on page {}",
                    i + 1
                );
            }
            assert!(
                p.contains("受付エラー連絡表"),
                "running header on page {}",
                i + 1
            );
        }
    }
    // Every finding row is printed once: its unique location suffix appears.
    for i in 0..500 {
        assert!(text.contains(&format!("#{i:03}")), "finding {i} missing");
    }
}

#[test]
fn english_report() {
    let Some(fonts) = fonts("english report") else {
        return;
    };
    let mut report = defective_report();
    report.findings.push(rare_name_finding());
    let pdf = error_report_pdf(&report, Lang::En, &meta(), fonts).unwrap();
    write_preview(&pdf, "error_report_en");
    let Some(text) = pdftotext(&pdf, "en") else {
        return;
    };
    assert!(text.contains("Reception error report"));
    assert!(text.contains("Returned and held records"));
    assert!(text.contains(&report.archive.name));
    assert!(!text.contains("受付エラー連絡表"));
}

#[test]
fn clean_report_says_no_findings() {
    let Some(fonts) = fonts("clean report") else {
        return;
    };
    let mut report = defective_report();
    report.findings.clear();
    report.records.clear();
    let pdf = error_report_pdf(&report, Lang::Ja, &meta(), fonts).unwrap();
    let Some(text) = pdftotext(&pdf, "clean") else {
        return;
    };
    assert!(text.contains("指摘事項はありません。"));
    assert!(!text.contains("返戻・保留となったレコード"));
    assert_eq!(pages(&text).len(), 1);
}

#[test]
fn empty_font_dir_is_a_typed_error() {
    let dir = tmp("empty-fonts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.ttf"), b"not a font").unwrap();
    let err = Fonts::from_dir(&dir).unwrap_err();
    assert!(matches!(err, PdfError::NoFonts { .. }), "{err:?}");
    assert!(err.to_string().contains("fonts-noto-cjk"), "{err}");
    assert!(err.to_string().contains("DAIKO_FONT_DIR"), "{err}");
    let missing = Fonts::from_dir(dir.join("nope")).unwrap_err();
    assert!(matches!(missing, PdfError::FontIo { .. }), "{missing:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn font_dir_with_noto_collection_picks_the_japanese_face() {
    let noto = Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    if !noto.is_file() {
        assert!(
            !required(),
            "DAIKO_REQUIRE_FONTS=1 but {} is missing",
            noto.display()
        );
        eprintln!("SKIPPED: no Japanese fonts (fonts-noto-cjk not installed)");
        return;
    }
    let dir = tmp("noto-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("NotoSansCJK-Regular.ttc");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(noto, &link).unwrap();
    let fonts = Fonts::from_dir(&dir).unwrap();
    let chain = fonts.chain_names(false);
    assert_eq!(chain.len(), 1, "{chain:?}");
    assert!(chain[0].starts_with("Noto Sans CJK JP"), "{chain:?}");
    assert!(fonts.has_glyph('𠮷'));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_time_of_a_ten_page_report() {
    let Some(fonts) = fonts("render time") else {
        return;
    };
    let mut report = defective_report();
    let base = report.findings.clone();
    report.findings = (0..115).map(|i| base[i % base.len()].clone()).collect();
    let start = std::time::Instant::now();
    let pdf = error_report_pdf(&report, Lang::Ja, &meta(), fonts).unwrap();
    let elapsed = start.elapsed();
    let pages = pdftotext(&pdf, "timing").map(|t| pages(&t).len());
    eprintln!(
        "render_pdf: {} findings, {:?} pages, {} bytes in {:.1} ms (fonts already loaded)",
        report.findings.len(),
        pages,
        pdf.len(),
        elapsed.as_secs_f64() * 1000.0
    );
}

/// Page 1 as PNG in target/pdf-preview/ for a human look (pdftoppm, 80 dpi).
fn write_preview(pdf: &[u8], name: &str) {
    if !tool("pdftoppm") {
        eprintln!("SKIPPED: pdftoppm not installed; no preview of {name}");
        return;
    }
    let Some(target) = Path::new(env!("CARGO_TARGET_TMPDIR")).parent() else {
        return;
    };
    let dir = target.join("pdf-preview");
    std::fs::create_dir_all(&dir).unwrap();
    let pdf_path = dir.join(format!("{name}.pdf"));
    std::fs::write(&pdf_path, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf_path)
        .arg(dir.join(name))
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm failed on {name}");
}
