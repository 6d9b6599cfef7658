//! 全銀協 総合振込 file: layout at the documented byte positions, Shift_JIS, the character
//! set, trailer totals, the validating parser and the round trip.

use std::collections::BTreeMap;

use daiko_billing::*;
use jiff::civil::date;
use proptest::prelude::*;

fn remitter() -> Remitter {
    Remitter {
        code: "1234567890".into(),
        name_kana: "ﾄｸﾃｲｹﾝｼﾝﾀﾞｲｺｳｷｺｳ".into(),
        bank_code: "0005".into(),
        bank_name_kana: "ミツビシユーエフジエイ".into(),
        branch_code: "001".into(),
        branch_name_kana: "ほんてん".into(),
        account_type: 1,
        account_number: "1234567".into(),
    }
}

fn account(holder: &str, number: &str) -> BankAccount {
    BankAccount {
        bank_code: "0009".into(),
        bank_name_kana: "ミツイスミトモ".into(),
        branch_code: "123".into(),
        branch_name_kana: "シンジユク".into(),
        account_type: 1,
        account_number: number.into(),
        holder_kana: holder.into(),
    }
}

fn transfers() -> Vec<Transfer> {
    vec![
        Transfer {
            account: account("イ）ケンシンカイ　シンジュククリニック", "7654321"),
            amount: 1_234_567,
            customer_code: "1311111111".into(),
        },
        Transfer {
            account: BankAccount {
                account_type: 2,
                ..account("ミナトクケンシンセンター", "42")
            },
            amount: 89_000,
            customer_code: "1322222222".into(),
        },
    ]
}

#[test]
fn kana_conversion() {
    assert_eq!(
        to_zengin_kana("イ）ケンシンカイ　シンジュククリニック").unwrap(),
        "ｲ)ｹﾝｼﾝｶｲ ｼﾝｼﾞﾕｸｸﾘﾆﾂｸ"
    );
    assert_eq!(to_zengin_kana("ぱぴぷぺぽ ヴ").unwrap(), "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ ｳﾞ");
    assert_eq!(to_zengin_kana("ｷｬｯｼｭ").unwrap(), "ｷﾔﾂｼﾕ");
    assert_eq!(
        to_zengin_kana("ｍｕｆｇ ｂａｎｋ－１").unwrap(),
        "MUFG BANK-1"
    );
    assert_eq!(to_zengin_kana("サービス・センター").unwrap(), "ｻ-ﾋﾞｽ.ｾﾝﾀ-");
    assert_eq!(to_zengin_kana("ヲ").unwrap(), "ｵ");
    assert_eq!(to_zengin_kana("(ｶ)ABC/1.2").unwrap(), "(ｶ)ABC/1.2");
    for bad in ["健診会", "A&B", "ｶﾌﾞｼｷｶﾞｲｼﾔ,", "a@b", "¥"] {
        let e = to_zengin_kana(bad).unwrap_err();
        assert!(matches!(e, BillingError::KanaChar { .. }), "{bad}: {e}");
        assert!(!e.message_ja().is_empty());
    }
}

fn field(rec: &[u8], from: usize, to: usize) -> String {
    // Columns are 1-based and inclusive, as in docs/billing.md.
    let (s, _, _) = encoding_rs::SHIFT_JIS.decode(&rec[from - 1..to]);
    s.into_owned()
}

#[test]
fn records_sit_at_the_documented_columns() {
    let bytes = transfer_file(&remitter(), date(2026, 3, 31), &transfers()).unwrap();
    assert_eq!(bytes.len(), 5 * 122);
    let recs: Vec<&[u8]> = bytes.chunks(122).collect();
    for r in &recs {
        assert_eq!(&r[120..], b"\r\n");
    }
    let h = recs[0];
    assert_eq!(field(h, 1, 1), "1");
    assert_eq!(field(h, 2, 3), "21");
    assert_eq!(field(h, 4, 4), "0");
    assert_eq!(field(h, 5, 14), "1234567890");
    assert_eq!(field(h, 15, 54), format!("{:<40}", "ﾄｸﾃｲｹﾝｼﾝﾀﾞｲｺｳｷｺｳ"));
    assert_eq!(field(h, 55, 58), "0331");
    assert_eq!(field(h, 59, 62), "0005");
    assert_eq!(field(h, 63, 77), format!("{:<15}", "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ"));
    assert_eq!(field(h, 78, 80), "001");
    assert_eq!(field(h, 81, 95), format!("{:<15}", "ﾎﾝﾃﾝ"));
    assert_eq!(field(h, 96, 96), "1");
    assert_eq!(field(h, 97, 103), "1234567");
    assert_eq!(field(h, 104, 120), " ".repeat(17));
    // Half-width katakana are single JIS X 0201 bytes in Shift_JIS: ﾄ = 0xC4.
    assert_eq!(h[14], 0xC4);

    let d = recs[2];
    assert_eq!(field(d, 1, 1), "2");
    assert_eq!(field(d, 2, 5), "0009");
    assert_eq!(field(d, 6, 20), format!("{:<15}", "ﾐﾂｲｽﾐﾄﾓ"));
    assert_eq!(field(d, 21, 23), "123");
    assert_eq!(field(d, 24, 38), format!("{:<15}", "ｼﾝｼﾞﾕｸ"));
    assert_eq!(field(d, 39, 42), "0000");
    assert_eq!(field(d, 43, 43), "2");
    assert_eq!(field(d, 44, 50), "0000042");
    assert_eq!(field(d, 51, 80), format!("{:<30}", "ﾐﾅﾄｸｹﾝｼﾝｾﾝﾀ-"));
    assert_eq!(field(d, 81, 90), "0000089000");
    assert_eq!(field(d, 91, 91), "0");
    assert_eq!(field(d, 92, 101), "1322222222");
    assert_eq!(field(d, 102, 111), "0000000000");
    assert_eq!(field(d, 112, 112), "7");
    assert_eq!(field(d, 113, 120), " ".repeat(8));

    let t = recs[3];
    assert_eq!(field(t, 1, 1), "8");
    assert_eq!(field(t, 2, 7), "000002");
    assert_eq!(field(t, 8, 19), "000001323567");
    assert_eq!(field(t, 20, 120), " ".repeat(101));
    let e = recs[4];
    assert_eq!(field(e, 1, 1), "9");
    assert_eq!(field(e, 2, 120), " ".repeat(119));
}

#[test]
fn round_trip_with_and_without_line_breaks() {
    let bytes = transfer_file(&remitter(), date(2026, 12, 28), &transfers()).unwrap();
    let p = parse_transfer_file(&bytes).unwrap();
    assert!(p.crlf);
    assert_eq!(p.remitter, remitter().normalized().unwrap());
    assert_eq!(p.transfer_month_day, (12, 28));
    let want: Vec<Transfer> = transfers()
        .into_iter()
        .map(|t| Transfer {
            account: t.account.normalized().unwrap(),
            ..t
        })
        .collect();
    assert_eq!(p.transfers, want);
    assert_eq!((p.total_count, p.total_amount), (2, 1_323_567));

    let bare: Vec<u8> = bytes.chunks(122).flat_map(|c| c[..120].to_vec()).collect();
    let q = parse_transfer_file(&bare).unwrap();
    assert!(!q.crlf);
    assert_eq!(q.transfers, p.transfers);
}

#[test]
fn the_parser_refuses_broken_files() {
    let good = transfer_file(&remitter(), date(2026, 3, 31), &transfers()).unwrap();
    let reject = |bytes: &[u8], why: &str| {
        let e = parse_transfer_file(bytes).unwrap_err();
        assert!(
            matches!(e, BillingError::BadTransferFile { .. }),
            "{why}: {e}"
        );
        assert!(!e.message_ja().is_empty());
    };
    // Trailer amount off by one yen.
    let mut b = good.clone();
    let pos = 3 * 122 + 18;
    b[pos] = if b[pos] == b'9' { b'8' } else { b[pos] + 1 };
    reject(&b, "trailer amount");
    // Trailer count.
    let mut b = good.clone();
    b[3 * 122 + 6] = b'3';
    reject(&b, "trailer count");
    // A data amount changed without the trailer.
    let mut b = good.clone();
    b[122 + 85] = b'9';
    reject(&b, "data amount");
    // Missing end record.
    reject(&good[..4 * 122], "no end record");
    // Truncated.
    reject(&good[..good.len() - 1], "length");
    // LF only.
    let lf: Vec<u8> = good
        .chunks(122)
        .flat_map(|c| [&c[..120], b"\n"].concat())
        .collect();
    reject(&lf, "LF only");
    // 種別 11 (給与) is not 総合振込.
    let mut b = good.clone();
    b[1] = b'1';
    b[2] = b'1';
    reject(&b, "kind");
    // A double-byte character in a name.
    let mut b = good.clone();
    b[122 + 50] = 0x82;
    b[122 + 51] = 0xA0;
    reject(&b, "double-byte");
    // A lower-case letter is outside the set.
    let mut b = good.clone();
    b[122 + 50] = b'a';
    reject(&b, "lower case");
    // Data before header.
    let mut b = good.clone();
    b.swap(0, 122);
    reject(&b, "order");
    // Header only.
    let mut b = good[..122].to_vec();
    b.extend_from_slice(&good[3 * 122..]);
    reject(&b, "no data records");
}

#[test]
fn the_writer_refuses_what_a_bank_would() {
    let d = date(2026, 3, 31);
    assert!(matches!(
        transfer_file(&remitter(), d, &[]),
        Err(BillingError::NoTransfers)
    ));
    let mut t = transfers();
    t[0].amount = 0;
    assert!(transfer_file(&remitter(), d, &t).is_err());
    let mut t = transfers();
    t[0].account.holder_kana = "山田太郎".into();
    let e = transfer_file(&remitter(), d, &t).unwrap_err();
    assert!(
        matches!(&e, BillingError::KanaChar { field, .. } if field == "holder_kana"),
        "{e}"
    );
    let mut t = transfers();
    t[0].account.holder_kana = "ア".repeat(31);
    assert!(matches!(
        transfer_file(&remitter(), d, &t),
        Err(BillingError::BankField { .. })
    ));
    let mut t = transfers();
    t[0].account.bank_code = "123".into();
    assert!(transfer_file(&remitter(), d, &t).is_err());
    let mut t = transfers();
    t[0].account.account_type = 3;
    assert!(transfer_file(&remitter(), d, &t).is_err());
    let mut r = remitter();
    r.code = "12345678901".into();
    assert!(transfer_file(&r, d, &transfers()).is_err());
}

#[test]
fn transfers_follow_the_statements() {
    let lines: Vec<ClaimLine> = [
        ("R1", "1311111111", 12_000),
        ("R2", "1322222222", 8_000),
        ("R3", "1333333333", 100),
    ]
    .iter()
    .map(|(id, inst, claim)| ClaimLine {
        record_id: id.to_string(),
        insurer: "06130012".into(),
        institution: inst.to_string(),
        card_number: "1".into(),
        voucher_number: "1".into(),
        kind: ServiceKind::Checkup,
        guidance_timing: None,
        service_date: "20260201".into(),
        cost_total: *claim,
        copay_total: 0,
        other_total: 0,
        claim_total: *claim,
        late: false,
    })
    .collect();
    let fees = FeeSchedule {
        institution_per_statement: 500,
        ..FeeSchedule::default()
    };
    let s = settle(
        "2026-03".parse().unwrap(),
        &Calendar::default(),
        &fees,
        &lines,
        &[],
        &BTreeMap::new(),
    )
    .unwrap();
    let mut accounts = BTreeMap::new();
    accounts.insert("1311111111".to_string(), account("ｱ", "1"));
    // 1333333333 is paid nothing (100 − 500 is carried forward), so needs no account.
    let e = transfers_from_statements(&s.statements, &accounts).unwrap_err();
    assert!(
        matches!(&e, BillingError::MissingAccounts { institutions } if institutions == &["1322222222".to_string()]),
        "{e}"
    );
    accounts.insert("1322222222".to_string(), account("ｲ", "2"));
    let t = transfers_from_statements(&s.statements, &accounts).unwrap();
    assert_eq!(t.len(), 2);
    let bytes = transfer_file(&remitter(), s.statements[0].payment_date, &t).unwrap();
    let p = parse_transfer_file(&bytes).unwrap();
    let paid: i64 = s.statements.iter().map(|x| x.amount_paid).sum();
    assert_eq!(p.total_amount, paid);
    assert_eq!(p.total_amount, 11_500 + 7_500);
    assert_eq!(p.transfer_month_day, (3, 31));
}

proptest! {
    #[test]
    fn any_valid_transfer_list_round_trips(
        entries in prop::collection::vec(
            ("[ｱ-ﾝ][ｱ-ﾝﾞﾟ A-Z0-9().\\-/]{0,29}", 1i64..=9_999_999_999, "[0-9]{1,7}", "[0-9]{1,10}", prop::sample::select(vec![1u8, 2, 4, 9])),
            1..30,
        ),
    ) {
        let ts: Vec<Transfer> = entries.iter().map(|(holder, amount, number, customer, kind)| Transfer {
            account: BankAccount { account_type: *kind, ..account(holder.trim_end(), number) },
            amount: *amount,
            customer_code: customer.clone(),
        }).collect();
        let bytes = transfer_file(&remitter(), date(2026, 7, 31), &ts).unwrap();
        prop_assert_eq!(bytes.len(), (ts.len() + 3) * 122);
        let p = parse_transfer_file(&bytes).unwrap();
        prop_assert_eq!(p.total_count, ts.len() as i64);
        prop_assert_eq!(p.total_amount, ts.iter().map(|t| t.amount).sum::<i64>());
        for (got, want) in p.transfers.iter().zip(&ts) {
            prop_assert_eq!(&got.account, &want.account.normalized().unwrap());
            prop_assert_eq!(got.amount, want.amount);
            prop_assert_eq!(got.customer_code.clone(), format!("{:0>10}", want.customer_code));
        }
    }
}
