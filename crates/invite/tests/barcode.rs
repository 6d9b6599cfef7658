//! Customer barcode: Japan Post's worked examples (zipmanual p17, p19, p20 and the
//! extraction examples Japan Post lists for checking an implementation).

use daiko_invite::barcode::{Bar, CustomerBarcode, Symbol, address_number, check_digit};
use proptest::prelude::*;

#[test]
fn japan_post_worked_example_check_digit_9() {
    // p17: 〒100-0013 東京都千代田区霞が関1丁目3番2号 郵便プラザ503室
    let b = CustomerBarcode::new("100-0013", "1丁目3番2号 郵便プラザ503室").unwrap();
    assert_eq!(b.address_number, "1-3-2-503");
    assert_eq!(b.check, Symbol::Digit(9));
    assert_eq!(b.text(), "1000013 1-3-2-503CC4CC4CC4CC4 9");
    let syms = b.symbols();
    assert_eq!(syms.len(), 23);
    assert_eq!(syms[0], Symbol::Start);
    assert_eq!(syms[22], Symbol::Stop);
    assert_eq!(b.bars().len(), 67);
}

#[test]
fn second_published_example_check_digit_cc5() {
    // 東京都千代田区永田町1丁目11-32 (〒100-0014): published digits
    // 1000014 1-11-32 CC4×6, check value 15 = CC5.
    let b = CustomerBarcode::new("1000014", "1丁目11-32").unwrap();
    assert_eq!(b.address_number, "1-11-32");
    assert_eq!(b.check, Symbol::Cc(5));
    let values: String = b
        .data
        .iter()
        .chain([&b.check])
        .map(|s| s.value().unwrap().to_string())
        .collect();
    assert_eq!(values, "100001411011103214141414141415");
}

#[test]
fn extraction_examples() {
    for (address_b, want) in [
        ("3丁目30-8 郵便ビル403号", "3-30-8-403"),
        ("南田茂木 添60-1", "60-1"),
        ("5-6-3 ABCビル10F", "5-6-3-10"),
        ("4丁目 郵便センター6号館", "4-6"),
        ("8丁目 郵便センター10号館", "8-10"),
        ("韮崎400", "400"),
        ("東3丁目-20-5 郵便・A&bコーポB604号", "3-20-5B604"),
        ("十一丁目六番地一号 郵便タワー601", "11-6-1-601"),
        ("6丁目7-14 ABCビル2F", "6-7-14-2"),
        ("出口 6-7 LプラザB 106", "6-7LB106"),
        ("３丁目８０－２５　Ｊ１ビル２－Ｂ", "3-80-25J1-2B"),
        ("百一番地", "101"),
        // 五 is followed by no suffix, so the literal rule leaves it as text.
        ("二十三番地の五", "23"),
        ("二十三番地の五号", "23-5"),
        ("北六条東", ""),
        ("", ""),
    ] {
        assert_eq!(address_number(address_b), want, "{address_b}");
    }
}

#[test]
fn cut_to_13_symbols_at_a_digit_or_hyphen() {
    // p20 example 1: 〒064-0804 29丁目1524-23 第2郵便ハウス501 → 064080429-1524-23-2-
    let b = CustomerBarcode::new("064-0804", "29丁目1524-23 第2郵便ハウス501").unwrap();
    let data: String = b.data.iter().map(|s| s.to_string()).collect();
    assert_eq!(data, "064080429-1524-23-2-");
}

#[test]
fn a_letter_cut_at_the_13th_position_keeps_its_control_code() {
    // p20 example 2: 〒910-0067 3丁目80-25 J1ビル2-B → 91000673-80-25 CC1 9 1-2 CC1
    let b = CustomerBarcode::new("910-0067", "3丁目80-25 J1ビル2-B").unwrap();
    assert_eq!(b.address_number, "3-80-25J1-2B");
    let data: String = b.data.iter().map(|s| s.to_string()).collect();
    assert_eq!(data, "91000673-80-25CC191-2CC1");
    assert_eq!(b.data.len(), 20);
}

#[test]
fn letters_map_to_control_codes() {
    // hyphens next to letters go (補足4), Z = CC3 5, then CC4 padding
    let b = CustomerBarcode::new("1000013", "A1 K2 U3 Z").unwrap();
    assert_eq!(b.address_number, "A1K2U3Z");
    let data: Vec<String> = b.data[7..].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        data,
        [
            "CC1", "0", "1", "CC2", "0", "2", "CC3", "0", "3", "CC3", "5", "CC4", "CC4"
        ]
    );
}

#[test]
fn bar_table() {
    assert_eq!(Symbol::Start.bars(), &[Bar::Long, Bar::Descender]);
    assert_eq!(Symbol::Stop.bars(), &[Bar::Descender, Bar::Long]);
    assert_eq!(
        Symbol::Digit(1).bars(),
        &[Bar::Long, Bar::Long, Bar::Timing]
    );
    assert_eq!(
        Symbol::Hyphen.bars(),
        &[Bar::Timing, Bar::Long, Bar::Timing]
    );
    assert_eq!(
        Symbol::Cc(4).bars(),
        &[Bar::Timing, Bar::Descender, Bar::Ascender]
    );
    assert_eq!(Symbol::Cc(8).bars(), &[Bar::Long, Bar::Long, Bar::Long]);
    // all 19 data symbols have distinct patterns
    let mut seen = std::collections::HashSet::new();
    for v in 0..19 {
        assert!(seen.insert(Symbol::from_value(v).unwrap().bars().to_vec()));
    }
}

#[test]
fn bad_postal_codes() {
    assert!(CustomerBarcode::new("100-001", "1").is_err());
    assert!(CustomerBarcode::new("", "1").is_err());
    assert!(CustomerBarcode::new("１００－００１３", "1").is_ok());
}

proptest! {
    #[test]
    fn check_digit_makes_a_multiple_of_19(values in proptest::collection::vec(0u8..19, 20)) {
        let data: Vec<Symbol> = values.iter().map(|&v| Symbol::from_value(v).unwrap()).collect();
        let c = check_digit(&data);
        let sum: u32 = data.iter().chain([&c]).map(|s| u32::from(s.value().unwrap())).sum();
        prop_assert_eq!(sum % 19, 0);
    }

    #[test]
    fn any_address_gives_20_data_symbols(addr in "\\PC{0,40}") {
        let b = CustomerBarcode::new("1000013", &addr).unwrap();
        prop_assert_eq!(b.data.len(), 20);
        prop_assert_eq!(b.bars().len(), 67);
        prop_assert!(!b.address_number.starts_with('-') && !b.address_number.ends_with('-'));
    }
}
