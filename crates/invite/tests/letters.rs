//! Letters as PDF: template checks (no fonts needed), and real rendering read back with
//! poppler's pdftotext (names outside JIS X 0208, voucher numbers, one page per letter).
//!
//! Without Japanese fonts the rendering tests print "SKIPPED: …" and pass, unless
//! DAIKO_REQUIRE_FONTS=1 (CI). Without poppler-utils the text checks are skipped the same way.

use daiko_check::reference::CopaymentSetting;
use daiko_invite::letters::{
    LetterContext, LetterError, LetterInput, LetterTemplate, fiscal_year_label, preview,
    render_letters, wareki,
};
use daiko_invite::roster::{CardKey, Member, MemberType, Sex};
use daiko_invite::vouchers::{
    FyMonthDay, IssuedVoucher, SupportLevel, VoucherSettings, issue_checkup, issue_guidance,
};
use daiko_pdf::Fonts;
use jiff::civil::date;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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
        .join(format!("daiko-invite-{}-{name}", std::process::id()))
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
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

fn member(n: &str, name: &str, kana: &str, postal: &str, a1: &str, a2: &str, a3: &str) -> Member {
    Member {
        line: 2,
        card: CardKey::new("K12", n, "01"),
        name: name.into(),
        name_kana: kana.into(),
        sex: Sex::Female,
        birth_date: date(1960, 7, 7),
        postal_code: postal.into(),
        address1: a1.into(),
        address2: a2.into(),
        address3: a3.into(),
        insured_from: date(2000, 4, 1),
        insured_to: None,
        member_type: MemberType::Dependant,
        exclusions: vec![],
        returned_mail: false,
    }
}

pub fn members() -> Vec<Member> {
    vec![
        member(
            "1",
            "𠮷田 花子",
            "ヨシダ ハナコ",
            "1000013",
            "東京都千代田区霞が関",
            "1丁目3番2号",
            "郵便プラザ503室",
        ),
        member(
            "2",
            "髙橋 一郎",
            "タカハシ イチロウ",
            "0640804",
            "北海道札幌市中央区南四条西",
            "29丁目1524-23",
            "第2郵便ハウス501",
        ),
        member("3", "山﨑 次郎", "ヤマザキ ジロウ", "", "", "", ""),
    ]
}

fn settings() -> VoucherSettings {
    VoucherSettings {
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
        dock: Some(CopaymentSetting {
            code: 4,
            amount: None,
            rate: None,
            cap: Some(20000),
        }),
        guidance: None,
    }
}

fn ctx() -> LetterContext {
    LetterContext {
        fiscal_year: 2024,
        issued_on: date(2024, 6, 1),
        insurer_name: "だいこう健康保険組合".into(),
        sender: vec![
            "〒100-0001 東京都千代田区千代田1-1".into(),
            "電話 03-0000-0000".into(),
        ],
    }
}

fn vouchers(ms: &[Member]) -> Vec<IssuedVoucher> {
    let refs: Vec<_> = ms.iter().map(|m| (m, None)).collect();
    issue_checkup(&settings(), 2024, &refs, 1).unwrap().vouchers
}

#[test]
fn era_dates() {
    assert_eq!(wareki(date(2025, 3, 20)), "令和7年3月20日");
    assert_eq!(wareki(date(2019, 5, 1)), "令和元年5月1日");
    assert_eq!(wareki(date(2019, 4, 30)), "平成31年4月30日");
    assert_eq!(wareki(date(1949, 4, 2)), "昭和24年4月2日");
    assert_eq!(wareki(date(1989, 1, 7)), "昭和64年1月7日");
    assert_eq!(fiscal_year_label(2024), "令和6年度");
    assert_eq!(fiscal_year_label(2019), "平成31年度");
}

#[test]
fn template_errors_are_caught_before_printing() {
    let mut t = LetterTemplate::default();
    assert!(t.compile().is_ok());
    t.body = "{氏名} 様 {住所}".into();
    let e = t.compile().unwrap_err();
    assert!(
        matches!(e, LetterError::Template { part: "body", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("{住所}"));
    t.body = "{氏名".into();
    assert!(t.compile().unwrap_err().to_string().contains("unclosed"));
    t.body = "a } b".into();
    assert!(t.compile().is_err());
    t.body = "{{literal}} {受診券整理番号}".into();
    let c = t.compile().unwrap();
    let ms = members();
    let vs = vouchers(&ms);
    let (title, body) = preview(
        &c,
        &ctx(),
        &LetterInput {
            member: &ms[0],
            voucher: &vs[0],
        },
    );
    assert_eq!(title, "令和6年度 特定健康診査のご案内");
    assert_eq!(body, vec!["{literal} 24100000001".to_string()]);
}

#[test]
fn default_template_fills_every_field() {
    let ms = members();
    let vs = vouchers(&ms);
    let c = LetterTemplate::default().compile().unwrap();
    let (_, body) = preview(
        &c,
        &ctx(),
        &LetterInput {
            member: &ms[0],
            voucher: &vs[0],
        },
    );
    let all = body.join("\n");
    assert!(all.contains("𠮷田 花子 様"));
    assert!(all.contains("24100000001"));
    assert!(all.contains("令和7年3月20日"));
    assert!(all.contains("1,000円"));
    assert!(!all.contains('{'));
}

#[test]
fn letters_render_names_outside_jis_x_0208_and_barcodes() {
    let Some(fonts) = fonts("letters_render") else {
        return;
    };
    let ms = members();
    let vs = vouchers(&ms);
    let inputs: Vec<_> = ms
        .iter()
        .zip(&vs)
        .map(|(m, v)| LetterInput {
            member: m,
            voucher: v,
        })
        .collect();
    let c = LetterTemplate::default().compile().unwrap();
    let pdf = render_letters(fonts, &c, &ctx(), &inputs).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let png = tmp("letters");
    std::fs::write(png.with_extension("pdf"), &pdf).unwrap();
    eprintln!(
        "letters PDF for a look: {}",
        png.with_extension("pdf").display()
    );
    let Some(text) = pdftotext(&pdf, "letters") else {
        return;
    };
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 3, "one page per letter");
    for (page, (m, v)) in pages.iter().zip(ms.iter().zip(&vs)) {
        let flat: String = page.chars().filter(|c| !c.is_whitespace()).collect();
        let name: String = m.name.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            flat.contains(&format!("{name}様")),
            "{name} 様 missing: {page}"
        );
        assert!(
            flat.contains(v.number.as_str()),
            "voucher number missing: {page}"
        );
        assert!(flat.contains("令和7年3月20日"));
        assert!(flat.contains("特定健康診査受診券"));
    }
    let first: String = pages[0].chars().filter(|c| !c.is_whitespace()).collect();
    assert!(first.contains("〒100-0013"));
    assert!(first.contains("郵便プラザ503室"));
}

#[test]
fn a_body_too_long_for_the_page_is_refused() {
    let Some(fonts) = fonts("body_too_long") else {
        return;
    };
    let ms = members();
    let vs = vouchers(&ms);
    let t = LetterTemplate {
        body: vec!["長い本文です。"; 200].join("\n\n"),
        ..LetterTemplate::default()
    };
    let c = t.compile().unwrap();
    let e = render_letters(
        fonts,
        &c,
        &ctx(),
        &[LetterInput {
            member: &ms[0],
            voucher: &vs[0],
        }],
    )
    .unwrap_err();
    assert!(
        matches!(e, LetterError::BodyTooLong { index: 0, .. }),
        "{e}"
    );
}

#[test]
fn guidance_vouchers_are_not_printed_as_checkup_letters() {
    let Some(fonts) = fonts("guidance_refused") else {
        return;
    };
    let ms = members();
    let g = issue_guidance(&settings(), 2024, &[(&ms[0], SupportLevel::Active)], 1).unwrap();
    let c = LetterTemplate::default().compile().unwrap();
    let e = render_letters(
        fonts,
        &c,
        &ctx(),
        &[LetterInput {
            member: &ms[0],
            voucher: &g.vouchers[0],
        }],
    )
    .unwrap_err();
    assert!(matches!(e, LetterError::NotCheckup { .. }));
}

#[test]
fn long_addresses_shrink_and_impossible_ones_are_refused() {
    let Some(fonts) = fonts("long_address") else {
        return;
    };
    let mut ms = members();
    ms[0].address3 = "郵便プラザ南棟ウエストウイング第三別館五階総務部健康管理課気付".into();
    let vs = vouchers(&ms);
    let c = LetterTemplate::default().compile().unwrap();
    let ok = render_letters(
        fonts,
        &c,
        &ctx(),
        &[LetterInput {
            member: &ms[0],
            voucher: &vs[0],
        }],
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
    if let Some(text) = pdftotext(&ok.unwrap(), "long_address") {
        let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(flat.contains("健康管理課気付"), "the whole address prints");
    }
    ms[0].address3 = "とても長い建物名".repeat(40);
    let e = render_letters(
        fonts,
        &c,
        &ctx(),
        &[LetterInput {
            member: &ms[0],
            voucher: &vs[0],
        }],
    )
    .unwrap_err();
    assert!(
        matches!(e, LetterError::AddressTooLong { index: 0, .. }),
        "{e}"
    );
}
