//! Japan Post customer barcode (カスタマバーコード), BUSINESS.md §7.3.
//!
//! Sources: 日本郵便「郵便番号・バーコードマニュアル」 (post.japanpost.jp/zipcode/zipmanual/):
//! p11 (characters and bar combinations, dimensions), p17 (overview and the worked example
//! 〒100-0013 霞が関1丁目3番2号 郵便プラザ503室 → check digit 9), p19 (抜き出しの基本ルール and
//! 補足ルール), p20 (20-character limit and the letter split at the 13th address position),
//! p21 (check digit). The bar table agrees with the open-source encoders Zint / Okapi
//! (`JapanPost`, table "FFT FDA DFA …" for 1234567890-, CC1…CC8).
//!
//! A barcode is 23 symbols: start, the 7-digit postal code, 13 address-number symbols
//! (padded with CC4), the check digit, stop; each symbol is 3 bars (start and stop 2), 67
//! bars in all.
//!
//! ## Address number (住所表示番号) extraction, from 住所B (what follows the town name)
//!
//! 0. full-width digits, letters and hyphens become ASCII (not in the manual; harmless);
//! 1. 補足1: kanji numerals right before 丁目・丁・番地・番・号・地割・線・の・ノ become digits
//!    (十一丁目 → 11丁目, 百一番地 → 101番地); other kanji numerals stay text (北六条);
//! 2. lower-case letters become upper case; `&` `/` `・` `.` are removed;
//! 3. kept are digits, hyphens and single letters (two or more letters in a row are text);
//!    `F` right after a digit is a floor (2F, 10F) and is text (補足2・3);
//! 4. any text before a kept character becomes one hyphen; hyphens collapse; a leading or
//!    trailing hyphen is removed;
//! 5. 補足4: hyphens next to a letter are removed (`3-20-5-B604` → `3-20-5B604`).
//!
//! The number is then encoded (a letter is two symbols: CC1 + 0–9 for A–J, CC2 + 0–9
//! for K–T, CC3 + 0–5 for U–Z), cut to 13 symbols (a letter cut in two keeps its CC) and
//! padded with CC4.

use serde::{Deserialize, Serialize};

/// One character of the barcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Symbol {
    Digit(u8),
    Hyphen,
    /// Control code CC1–CC8.
    Cc(u8),
    Start,
    Stop,
}

/// The four bar shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Bar {
    /// ロングバー: full height
    Long,
    /// セミロングバー (上): top two thirds
    Ascender,
    /// セミロングバー (下): bottom two thirds
    Descender,
    /// タイミングバー: middle third
    Timing,
}

impl Bar {
    /// Top and bottom of the bar as fractions of the full height, from the top.
    pub fn span(self) -> (f32, f32) {
        match self {
            Bar::Long => (0.0, 1.0),
            Bar::Ascender => (0.0, 2.0 / 3.0),
            Bar::Descender => (1.0 / 3.0, 1.0),
            Bar::Timing => (1.0 / 3.0, 2.0 / 3.0),
        }
    }
}

use Bar::{Ascender as A, Descender as D, Long as L, Timing as T};

/// Bars of 0–9, "-", CC1–CC8 in check-digit value order (manual p11).
const TABLE: [[Bar; 3]; 19] = [
    [L, T, T], // 0
    [L, L, T], // 1
    [L, D, A], // 2
    [D, L, A], // 3
    [L, A, D], // 4
    [L, T, L], // 5
    [D, A, L], // 6
    [A, L, D], // 7
    [A, D, L], // 8
    [T, L, L], // 9
    [T, L, T], // -
    [D, A, T], // CC1
    [D, T, A], // CC2
    [A, D, T], // CC3
    [T, D, A], // CC4
    [A, T, D], // CC5
    [T, A, D], // CC6
    [T, T, L], // CC7
    [L, L, L], // CC8
];

impl Symbol {
    /// The check-digit value: 0–9, hyphen 10, CC1–CC8 11–18; none for start/stop.
    pub fn value(self) -> Option<u8> {
        match self {
            Symbol::Digit(d) if d <= 9 => Some(d),
            Symbol::Hyphen => Some(10),
            Symbol::Cc(n) if (1..=8).contains(&n) => Some(10 + n),
            _ => None,
        }
    }
    /// The symbol of a check-digit value 0–18.
    pub fn from_value(v: u8) -> Option<Symbol> {
        match v {
            0..=9 => Some(Symbol::Digit(v)),
            10 => Some(Symbol::Hyphen),
            11..=18 => Some(Symbol::Cc(v - 10)),
            _ => None,
        }
    }
    /// Its bars (3; start and stop 2).
    pub fn bars(self) -> &'static [Bar] {
        match self {
            Symbol::Start => &[L, D],
            Symbol::Stop => &[D, L],
            s => match s.value() {
                Some(v) => &TABLE[v as usize],
                None => &[],
            },
        }
    }
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Symbol::Digit(d) => write!(f, "{d}"),
            Symbol::Hyphen => f.write_str("-"),
            Symbol::Cc(n) => write!(f, "CC{n}"),
            Symbol::Start => f.write_str("STC"),
            Symbol::Stop => f.write_str("SPC"),
        }
    }
}

/// Why no barcode can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("postal code {0:?} must have 7 digits")]
    PostalCode(String),
}

/// The check digit of the 20 data symbols: the value that brings the sum to a multiple of
/// 19 (manual p21).
pub fn check_digit(data: &[Symbol]) -> Symbol {
    let sum: u32 = data.iter().filter_map(|s| s.value()).map(u32::from).sum();
    let v = (19 - sum % 19) % 19;
    Symbol::from_value(v as u8).unwrap_or(Symbol::Digit(0))
}

/// A customer barcode for one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerBarcode {
    /// 7 digits
    pub postal_code: String,
    /// 住所表示番号 as extracted (before the 13-symbol cut), e.g. `1-3-2-503`
    pub address_number: String,
    /// The 20 data symbols (postal code + 13 address symbols).
    pub data: Vec<Symbol>,
    pub check: Symbol,
}

impl CustomerBarcode {
    /// The barcode of a postal code (`100-0013` or `1000013`, full-width digits accepted)
    /// and 住所B (block, house, building; Japan Post's "町域名以降の住所").
    pub fn new(postal_code: &str, address_b: &str) -> Result<CustomerBarcode, BarcodeError> {
        let postal: String = crate::roster::normalize_ascii(postal_code).replace('-', "");
        if postal.len() != 7 || !postal.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BarcodeError::PostalCode(postal_code.to_string()));
        }
        let number = address_number(address_b);
        let mut data: Vec<Symbol> = postal.bytes().map(|b| Symbol::Digit(b - b'0')).collect();
        let mut addr = encode_address(&number);
        addr.truncate(13);
        addr.resize(13, Symbol::Cc(4));
        data.extend(addr);
        let check = check_digit(&data);
        Ok(CustomerBarcode {
            postal_code: postal,
            address_number: number,
            data,
            check,
        })
    }

    /// All 23 symbols: start, data, check digit, stop.
    pub fn symbols(&self) -> Vec<Symbol> {
        let mut s = Vec::with_capacity(23);
        s.push(Symbol::Start);
        s.extend(&self.data);
        s.push(self.check);
        s.push(Symbol::Stop);
        s
    }

    /// The 67 bars, left to right.
    pub fn bars(&self) -> Vec<Bar> {
        self.symbols()
            .into_iter()
            .flat_map(|s| s.bars().iter().copied())
            .collect()
    }

    /// Readable form, e.g. `1000013 1-3-2-503CC4CC4CC4CC4 9`: for mailing lists and checks.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.data.iter().enumerate() {
            if i == 7 {
                out.push(' ');
            }
            out.push_str(&s.to_string());
        }
        out.push(' ');
        out.push_str(&self.check.to_string());
        out
    }
}

/// Symbols of an extracted address number (letters are two symbols each).
fn encode_address(number: &str) -> Vec<Symbol> {
    let mut out = Vec::new();
    for c in number.chars() {
        match c {
            '0'..='9' => out.push(Symbol::Digit(c as u8 - b'0')),
            '-' => out.push(Symbol::Hyphen),
            'A'..='Z' => {
                let i = c as u8 - b'A';
                out.push(Symbol::Cc(1 + i / 10));
                out.push(Symbol::Digit(i % 10));
            }
            _ => {}
        }
    }
    out
}

const SUFFIXES: [&str; 9] = ["丁目", "丁", "番地", "番", "号", "地割", "線", "の", "ノ"];

fn kanji_digit(c: char) -> Option<u32> {
    "〇一二三四五六七八九"
        .chars()
        .position(|k| k == c)
        .map(|p| p as u32)
}

fn kanji_unit(c: char) -> Option<u32> {
    match c {
        '十' => Some(10),
        '百' => Some(100),
        '千' => Some(1000),
        _ => None,
    }
}

/// 十一 → 11, 百一 → 101, 二〇三 → 203.
fn kanji_number(s: &[char]) -> u32 {
    let (mut total, mut pending): (u32, Option<u32>) = (0, None);
    for &c in s {
        if let Some(d) = kanji_digit(c) {
            pending = Some(pending.unwrap_or(0) * 10 + d);
        } else if let Some(u) = kanji_unit(c) {
            total += pending.unwrap_or(1) * u;
            pending = None;
        }
    }
    total + pending.unwrap_or(0)
}

/// 補足1: kanji numerals right before a block/house suffix become ASCII digits.
fn convert_kanji_numerals(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (kanji_digit(chars[i]).is_some() || kanji_unit(chars[i]).is_some())
        {
            i += 1;
        }
        if i > start {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            if SUFFIXES.iter().any(|s| rest.starts_with(s)) {
                out.extend(kanji_number(&chars[start..i]).to_string().chars());
            } else {
                out.extend_from_slice(&chars[start..i]);
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Extracts the 住所表示番号 from 住所B (see the module doc), e.g.
/// `1丁目3番2号 郵便プラザ503室` → `1-3-2-503`.
pub fn address_number(address_b: &str) -> String {
    let chars: Vec<char> = crate::roster::normalize_ascii(address_b).chars().collect();
    let chars: Vec<char> = convert_kanji_numerals(&chars)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| !matches!(c, '&' | '/' | '・' | '.' | '＆' | '／' | '．' | '･'))
        .collect();
    let is_letter = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_uppercase());
    let kept = |i: usize| -> bool {
        let c = chars[i];
        if c.is_ascii_digit() || c == '-' {
            return true;
        }
        if !c.is_ascii_uppercase() {
            return false;
        }
        let single = !(is_letter(i + 1) || i > 0 && is_letter(i - 1));
        let floor = c == 'F' && i > 0 && chars[i - 1].is_ascii_digit();
        single && !floor
    };
    let mut out = String::new();
    let mut gap = false;
    for (i, &c) in chars.iter().enumerate() {
        if !kept(i) {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        gap = false;
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    // 補足4: no hyphen next to a letter.
    let v: Vec<char> = out.chars().collect();
    v.iter()
        .enumerate()
        .filter(|&(i, &c)| {
            c != '-'
                || !(i > 0 && v[i - 1].is_ascii_uppercase()
                    || v.get(i + 1).is_some_and(|n| n.is_ascii_uppercase()))
        })
        .map(|(_, &c)| c)
        .collect()
}
