//! Voucher numbering, issuing, and the ledger the checker's stage D reads.

use daiko_check::reference::{CopaymentSetting, parse_vouchers_csv};
use daiko_invite::roster::{CardKey, Member, MemberType, Sex};
use daiko_invite::vouchers::{
    FyMonthDay, SupportLevel, VoucherError, VoucherKind, VoucherNumber, VoucherSettings,
    copayment_text, issue_checkup, issue_guidance, write_vouchers_csv,
};
use jiff::civil::date;
use proptest::prelude::*;
use std::collections::HashSet;

fn member(n: &str) -> Member {
    Member {
        line: 2,
        card: CardKey::new("K", n, ""),
        name: "𠮷田 太郎".into(),
        name_kana: "ヨシダ タロウ".into(),
        sex: Sex::Male,
        birth_date: date(1970, 5, 1),
        postal_code: "1000013".into(),
        address1: "東京都千代田区霞が関".into(),
        address2: "1丁目3番2号".into(),
        address3: String::new(),
        insured_from: date(2000, 4, 1),
        insured_to: None,
        member_type: MemberType::Dependant,
        exclusions: vec![],
        returned_mail: false,
    }
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
            cap: Some(6000),
        }),
        detail: Some(CopaymentSetting {
            code: 3,
            amount: None,
            rate: Some(30000),
            cap: None,
        }),
        additional: None,
        dock: Some(CopaymentSetting {
            code: 4,
            amount: None,
            rate: None,
            cap: Some(20000),
        }),
        guidance: Some(CopaymentSetting {
            code: 1,
            amount: None,
            rate: None,
            cap: None,
        }),
    }
}

#[test]
fn number_scheme() {
    let n = VoucherNumber::new(2024, VoucherKind::Checkup, 24).unwrap();
    assert_eq!(n.as_str(), "24100000024");
    assert_eq!(
        (n.fy2(), n.kind(), n.serial()),
        (24, VoucherKind::Checkup, 24)
    );
    let g = VoucherNumber::new(2030, VoucherKind::Guidance, 99_999_999).unwrap();
    assert_eq!(g.as_str(), "30299999999");
    assert_eq!(VoucherNumber::parse("30299999999"), Some(g));
    assert!(VoucherNumber::new(2024, VoucherKind::Checkup, 0).is_err());
    assert!(VoucherNumber::new(2024, VoucherKind::Checkup, 100_000_000).is_err());
    assert!(VoucherNumber::parse("2410000002").is_none());
    assert!(VoucherNumber::parse("24300000024").is_none());
}

#[test]
fn issuing_is_deterministic_in_card_order_and_continues_serials() {
    let ms: Vec<Member> = ["30", "10", "20"].iter().map(|n| member(n)).collect();
    let input: Vec<(&Member, Option<jiff::civil::Date>)> = ms.iter().map(|m| (m, None)).collect();
    let a = issue_checkup(&settings(), 2024, &input, 5).unwrap();
    let mut rev = input.clone();
    rev.reverse();
    let b = issue_checkup(&settings(), 2024, &rev, 5).unwrap();
    assert_eq!(a, b);
    let nums: Vec<(&str, &str)> = a
        .vouchers
        .iter()
        .map(|v| (v.card.number.as_str(), v.number.as_str()))
        .collect();
    assert_eq!(
        nums,
        vec![
            ("10", "24100000005"),
            ("20", "24100000006"),
            ("30", "24100000007")
        ]
    );
    assert_eq!(a.next_serial, 8);
    assert_eq!(a.vouchers[0].expiry, date(2025, 3, 20));
    assert_eq!(a.vouchers[0].insurer, "06123456");
    // the next run continues without overlap
    let more = [member("40")];
    let c = issue_checkup(&settings(), 2024, &[(&more[0], None)], a.next_serial).unwrap();
    assert_eq!(c.vouchers[0].number.as_str(), "24100000008");
}

#[test]
fn expiry_never_after_eligibility() {
    let m = member("1");
    let until = date(2024, 10, 14); // the day before a 75th birthday
    let a = issue_checkup(&settings(), 2024, &[(&m, Some(until))], 1).unwrap();
    assert_eq!(a.vouchers[0].expiry, until);
    let late = date(2026, 1, 1);
    let a = issue_checkup(&settings(), 2024, &[(&m, Some(late))], 1).unwrap();
    assert_eq!(a.vouchers[0].expiry, date(2025, 3, 20));
}

#[test]
fn errors() {
    let m = member("1");
    let dup = [(&m, None), (&m, None)];
    assert!(matches!(
        issue_checkup(&settings(), 2024, &dup, 1),
        Err(VoucherError::DuplicateMember(_))
    ));
    assert!(matches!(
        issue_checkup(&settings(), 2024, &[(&m, None)], 99_999_999),
        Ok(ref i) if i.next_serial == 100_000_000
    ));
    let two = [member("1"), member("2")];
    let refs: Vec<_> = two.iter().map(|m| (m, None)).collect();
    assert!(matches!(
        issue_checkup(&settings(), 2024, &refs, 99_999_999),
        Err(VoucherError::SerialsExhausted { .. })
    ));
    let mut s = settings();
    s.basic = Some(CopaymentSetting {
        code: 3,
        amount: None,
        rate: None,
        cap: None,
    });
    assert!(matches!(
        issue_checkup(&s, 2024, &[(&m, None)], 1),
        Err(VoucherError::BadCopayment {
            category: "basic",
            ..
        })
    ));
    let mut s = settings();
    s.checkup_expiry = FyMonthDay { month: 2, day: 29 };
    assert!(
        issue_checkup(&s, 2024, &[(&m, None)], 1).is_err(),
        "2025-02-29 does not exist"
    );
    assert!(
        issue_checkup(&s, 2023, &[(&m, None)], 1).is_ok(),
        "2024-02-29 exists"
    );
    let mut s = settings();
    s.insurer_number = "12a45678".into();
    assert!(matches!(
        issue_checkup(&s, 2024, &[(&m, None)], 1),
        Err(VoucherError::BadInsurer(_))
    ));
}

#[test]
fn ledger_csv_is_read_back_by_the_checker_exactly() {
    let ms = [member("1"), member("2")];
    let ck = issue_checkup(&settings(), 2024, &[(&ms[0], None), (&ms[1], None)], 1).unwrap();
    let gd = issue_guidance(
        &settings(),
        2024,
        &[(&ms[1], SupportLevel::Motivational)],
        1,
    )
    .unwrap();
    assert_eq!(gd.vouchers[0].number.as_str(), "24200000001");
    assert_eq!(gd.vouchers[0].expiry, date(2025, 9, 30));
    let all: Vec<_> = ck.vouchers.iter().chain(&gd.vouchers).cloned().collect();
    let mut buf = Vec::new();
    write_vouchers_csv(&mut buf, &all).unwrap();
    let read = parse_vouchers_csv("vouchers.csv", buf.as_slice()).unwrap();
    let want: Vec<_> = all.iter().map(|v| v.to_record()).collect();
    assert_eq!(read, want);
    assert_eq!(read[2].kind, 2);
    assert_eq!(read[2].guidance_level.as_deref(), Some("2"));
    assert_eq!(read[2].basic.map(|b| b.code), Some(1));
    assert_eq!(read[0].name, "ヨシダ タロウ");
    assert_eq!(read[0].dock.and_then(|d| d.cap), Some(20000));
}

#[test]
fn copayment_texts() {
    let s = settings();
    assert_eq!(
        copayment_text(s.basic.as_ref()),
        "1,000円(保険者負担上限6,000円)"
    );
    assert_eq!(copayment_text(s.detail.as_ref()), "費用の30%");
    assert_eq!(
        copayment_text(s.dock.as_ref()),
        "保険者負担上限20,000円を超える額"
    );
    assert_eq!(copayment_text(s.guidance.as_ref()), "無料");
    assert_eq!(copayment_text(None), "対象外");
}

proptest! {
    /// Any batch split into runs that pass next_serial along yields unique numbers.
    #[test]
    fn numbers_unique_across_runs(sizes in proptest::collection::vec(0usize..40, 1..6), start in 1u32..1000) {
        let mut next = start;
        let mut seen = HashSet::new();
        for (k, size) in sizes.into_iter().enumerate() {
            let ms: Vec<Member> = (0..size).map(|i| member(&format!("{k}-{i}"))).collect();
            let refs: Vec<_> = ms.iter().map(|m| (m, None)).collect();
            let out = issue_checkup(&settings(), 2024, &refs, next).unwrap();
            for v in &out.vouchers {
                prop_assert!(seen.insert(v.number.clone()));
                prop_assert_eq!(v.number.as_str().len(), 11);
            }
            next = out.next_serial;
        }
    }
}

/// The ledger as a reference folder: the checker's loader reads it and its stage-D seam
/// (`ReferenceData::vouchers`) finds every issued voucher by insurer, kind and number.
#[test]
fn reference_folder_serves_the_issued_vouchers_to_stage_d() {
    use daiko_check::reference::{DirReference, ReferenceData};
    let ms = [member("1"), member("2"), member("3")];
    let refs: Vec<_> = ms.iter().map(|m| (m, None)).collect();
    let ck = issue_checkup(&settings(), 2024, &refs, 100).unwrap();
    let gd = issue_guidance(&settings(), 2024, &[(&ms[2], SupportLevel::Active)], 7).unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("daiko-invite-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let all: Vec<_> = ck.vouchers.iter().chain(&gd.vouchers).cloned().collect();
    let file = std::fs::File::create(dir.join("vouchers.csv")).unwrap();
    write_vouchers_csv(file, &all).unwrap();
    let reference = DirReference::load(&dir).unwrap();
    for v in &all {
        let found = reference
            .vouchers("06123456", v.kind.digit(), v.number.as_str())
            .expect("the insurer's ledger is loaded");
        assert_eq!(found, vec![v.to_record()]);
    }
    assert_eq!(
        reference.vouchers("06123456", 1, "24199999999"),
        Some(vec![]),
        "an unknown number is absent from a loaded ledger (D-03 fires)"
    );
    assert_eq!(reference.vouchers("06999999", 1, "24100000100"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
