//! Roster import: encodings, row-level errors, all-or-nothing, names outside JIS X 0208.

use daiko_invite::roster::{Exclusion, MemberType, RosterEncoding, Sex, parse_roster};

const HEADER: &str = "card_symbol,card_number,card_branch,name,name_kana,sex,birth_date,postal_code,address1,address2,address3,insured_from,insured_to,member_type,excl_pregnancy,excl_hospital,excl_facility,excl_prison,excl_abroad,returned_mail";

fn csv(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s
}

const ROW_YOSHIDA: &str = "A1,1001,01,𠮷田 太郎,ヨシダ タロウ,1,1980-05-01,100-0013,東京都千代田区霞が関,1丁目3番2号,郵便プラザ503室,2000-04-01,,1,,,,,,";
const ROW_TAKA: &str = "A1,1002,,髙橋 花子,タカハシ ハナコ,2,19790101,1000014,東京都千代田区永田町,1丁目11-32,,2010/04/01,2030-03-31,被扶養者,0,0,1,0,0,1";
const ROW_SAKI: &str =
    "A1,1003,,山﨑 一,ヤマザキ ハジメ,M,1960-02-29,,,,,2001-04-01,,任意継続,○,,,,,";

#[test]
fn utf8_with_and_without_bom_keeps_names_outside_jis_x_0208() {
    let text = csv(&[ROW_YOSHIDA, ROW_TAKA, ROW_SAKI]);
    let plain = parse_roster(text.as_bytes()).unwrap();
    assert_eq!(plain.encoding, RosterEncoding::Utf8);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let with_bom = parse_roster(&bom).unwrap();
    assert_eq!(with_bom.encoding, RosterEncoding::Utf8Bom);
    assert_eq!(plain.members, with_bom.members);
    let m = &plain.members;
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].name, "𠮷田 太郎");
    assert_eq!(m[1].name, "髙橋 花子");
    assert_eq!(m[2].name, "山﨑 一");
    assert_eq!(m[0].card.branch, "01");
    assert_eq!(m[0].postal_code, "1000013");
    assert_eq!(m[0].address_b(), "1丁目3番2号 郵便プラザ503室");
    assert_eq!(m[0].member_type, MemberType::Insured);
    assert_eq!(m[1].member_type, MemberType::Dependant);
    assert_eq!(m[2].member_type, MemberType::Voluntary);
    assert_eq!(m[1].sex, Sex::Female);
    assert_eq!(m[1].exclusions, vec![Exclusion::Facility]);
    assert!(m[1].returned_mail);
    assert_eq!(m[2].exclusions, vec![Exclusion::Pregnancy]);
    assert_eq!(m[2].birth_date.to_string(), "1960-02-29");
    assert_eq!(
        m[1].insured_to.map(|d| d.to_string()).as_deref(),
        Some("2030-03-31")
    );
    assert_eq!(m[0].line, 2);
}

#[test]
fn shift_jis_is_detected_and_decoded() {
    // 髙 and 﨑 are in CP932 (IBM/NEC extensions), so a Shift_JIS roster can carry them.
    let text = csv(&[ROW_TAKA, ROW_SAKI]);
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "must really be Shift_JIS"
    );
    let r = parse_roster(&bytes).unwrap();
    assert_eq!(r.encoding, RosterEncoding::ShiftJis);
    assert_eq!(r.members[0].name, "髙橋 花子");
    assert_eq!(r.members[1].name, "山﨑 一");
    assert_eq!(r.members[1].name_kana, "ヤマザキ ハジメ");
}

#[test]
fn bytes_in_neither_encoding_are_refused_not_replaced() {
    let mut bytes = csv(&[ROW_TAKA]).into_bytes();
    bytes.extend_from_slice(&[0x82, 0xFF, 0x0A]); // invalid in UTF-8 and in Shift_JIS
    let e = parse_roster(&bytes).unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].line, 0);
    assert!(
        e.errors[0].en.contains("neither UTF-8 nor Shift_JIS"),
        "{e}"
    );
}

#[test]
fn bad_rows_give_every_error_and_nothing_is_imported() {
    let text = csv(&[
        ROW_YOSHIDA,
        "A1,1004,,鈴木 一郎,スズキ イチロウ,3,1980-13-01,12345,東京都,,,2000-04-01,1999-01-01,4,x,,,,,",
        "A1,1005,,,suzuki,1,1980-01-01,,,,,,,1,,,,,,",
        // duplicate card of the first row
        "A1,1001,01,𠮷田 次郎,ヨシダ ジロウ,1,1981-05-01,,,,,2000-04-01,,1,,,,,,",
    ]);
    let e = parse_roster(text.as_bytes()).unwrap_err();
    let got: Vec<(usize, &str)> = e
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    for want in [
        (3, "sex"),
        (3, "birth_date"),
        (3, "postal_code"),
        (3, "member_type"),
        (3, "excl_pregnancy"),
        (4, "name"),
        (4, "name_kana"),
        (4, "insured_from"),
        (5, "card_number"),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {got:?}");
    }
    for err in &e.errors {
        assert!(!err.ja.is_empty() && !err.en.is_empty());
    }
    let bad_month = e.errors.iter().find(|e| e.column == "birth_date").unwrap();
    assert_eq!(bad_month.value, "1980-13-01");
}

#[test]
fn insured_to_before_insured_from_is_an_error() {
    let text = csv(&["A1,1,,甲,コウ,1,1980-01-01,,,,,2000-04-01,1999-03-31,1,,,,,,"]);
    let e = parse_roster(text.as_bytes()).unwrap_err();
    assert_eq!(e.errors[0].column, "insured_to");
}

#[test]
fn missing_required_columns_are_named() {
    let e = parse_roster("card_number,name\n1,甲\n".as_bytes()).unwrap_err();
    let cols: Vec<&str> = e.errors.iter().map(|e| e.column.as_str()).collect();
    for c in [
        "name_kana",
        "sex",
        "birth_date",
        "insured_from",
        "member_type",
    ] {
        assert!(cols.contains(&c), "{c} not reported: {cols:?}");
    }
    assert!(e.errors.iter().all(|e| e.line == 1));
}

#[test]
fn japanese_headers_any_order_and_blank_lines() {
    let text = "氏名,番号,氏名カナ,性別,生年月日,資格取得日,本人家族区分,extra\n\n山田 花子,77,ヤマダ ハナコ,女,1970-04-01,2000-04-01,2,ignored\n";
    let r = parse_roster(text.as_bytes()).unwrap();
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].card.number, "77");
    assert_eq!(r.members[0].line, 3);
    assert_eq!(r.members[0].sex, Sex::Female);
}

#[test]
fn empty_file_is_an_error() {
    assert!(parse_roster(b"").is_err());
}
