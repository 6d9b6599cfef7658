//! Mailing list order, unmailable members, Shift_JIS export that never mangles silently,
//! and the barcode discount counts.

use daiko_invite::mailing::{
    BarcodeDiscount, MailItem, SjisExportError, SjisPolicy, build_mailing, write_csv_sjis,
    write_csv_utf8,
};
use daiko_invite::roster::{CardKey, Member, MemberType, Sex};
use jiff::civil::date;

fn member(n: &str, name: &str, postal: &str, a2: &str) -> Member {
    Member {
        line: 2,
        card: CardKey::new("K", n, ""),
        name: name.into(),
        name_kana: "カナ".into(),
        sex: Sex::Male,
        birth_date: date(1970, 1, 1),
        postal_code: postal.into(),
        address1: if postal.is_empty() {
            String::new()
        } else {
            "東京都千代田区霞が関".into()
        },
        address2: a2.into(),
        address3: String::new(),
        insured_from: date(2000, 4, 1),
        insured_to: None,
        member_type: MemberType::Insured,
        exclusions: vec![],
        returned_mail: false,
    }
}

fn items(ms: &[Member]) -> Vec<MailItem<'_>> {
    ms.iter()
        .enumerate()
        .map(|(i, m)| MailItem {
            member: m,
            voucher_number: "24100000001",
            file: "letters-00001.pdf",
            page: i + 1,
        })
        .collect()
}

#[test]
fn sorted_by_postal_code_and_unmailable_named() {
    let mut returned = member("4", "戻り 太郎", "1000013", "1丁目");
    returned.returned_mail = true;
    let ms = vec![
        member("1", "髙橋 一郎", "9100067", "3丁目80-25"),
        member("2", "𠮷田 花子", "1000013", "1丁目3番2号"),
        member("3", "住所 なし", "", ""),
        returned,
        member("5", "山﨑 次郎", "0640804", "29丁目1524-23"),
    ];
    let m = build_mailing(&items(&ms));
    let order: Vec<&str> = m.rows.iter().map(|r| r.postal_code.as_str()).collect();
    assert_eq!(order, ["064-0804", "100-0013", "910-0067"]);
    assert_eq!(m.rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        m.unmailable,
        vec![CardKey::new("K", "3", ""), CardKey::new("K", "4", "")]
    );
    let code = daiko_invite::barcode::CustomerBarcode::new("1000013", "1丁目3番2号").unwrap();
    assert_eq!(m.rows[1].barcode, code.text());
    assert!(m.rows[1].barcode.starts_with("1000013 1-3-2CC4"));
    assert_eq!(m.discount, BarcodeDiscount::new(3, 3));
    assert!(!m.discount.eligible);
    let utf8 = write_csv_utf8(&m.rows).unwrap();
    assert!(utf8.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&utf8[3..]).unwrap();
    assert!(text.contains("𠮷田 花子"));
    assert!(text.lines().next().unwrap().starts_with("seq,postal_code,"));
}

#[test]
fn shift_jis_refuses_or_marks_characters_outside_cp932() {
    let ms = vec![
        member("1", "𠮷田 花子", "1000013", "1丁目"),
        member("2", "髙橋 﨑子", "1000014", "2丁目"),
    ];
    let m = build_mailing(&items(&ms));
    match write_csv_sjis(&m.rows, SjisPolicy::Refuse) {
        Err(SjisExportError::Unmappable(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].seq, 1);
            assert_eq!(errors[0].column, "name");
            assert_eq!(errors[0].chars, vec!["U+20BB7 𠮷".to_string()]);
            assert!(errors[0].ja.contains("𠮷") && errors[0].en.contains("U+20BB7"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let bytes = write_csv_sjis(&m.rows, SjisPolicy::Mark).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with(",gaiji"));
    assert!(lines[1].contains("〓田 花子"), "{}", lines[1]);
    assert!(lines[1].ends_with(",name:U+20BB7"), "{}", lines[1]);
    // 髙 and 﨑 are in CP932 and survive unchanged, with an empty gaiji column
    assert!(lines[2].contains("髙橋 﨑子"), "{}", lines[2]);
    assert!(lines[2].ends_with(','), "{}", lines[2]);
}

#[test]
fn discount_needs_1000_barcoded_items() {
    assert!(!BarcodeDiscount::new(1500, 999).eligible);
    let d = BarcodeDiscount::new(1500, 1000);
    assert!(d.eligible);
    assert_eq!(d.rate_permille, 30);
    assert_eq!(d.saving_yen(110), 3300);
    assert_eq!(BarcodeDiscount::new(999, 999).saving_yen(110), 0);
}
