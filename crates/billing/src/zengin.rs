//! The 全銀協 総合振込 (種別コード 21) transfer file: how the agency pays institutions through
//! its bank. Fixed-length 120-byte records, each followed by CR LF (banks accept 120 or
//! 120 + CRLF = 122; we write 122 and read either), Shift_JIS (JIS X 0201 characters only):
//!
//! ```text
//! 1 header (one)  2 data (one per transfer)  8 trailer (count, amount)  9 end
//! ```
//!
//! N fields are digits, right-aligned, zero-filled; C fields are half-width characters
//! (digits, upper-case letters, katakana ｱ–ﾝ with ﾞ ﾟ, space and `( ) . - /`), left-aligned,
//! space-filled. The layout, field by field, is in docs/billing.md.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::BillingError;
use crate::settle::Statement;

/// Record length without the line break.
pub const RECORD_LEN: usize = 120;

/// The agency as the transfer's requester (振込依頼人), from the bank's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remitter {
    /// 振込依頼人コード (委託者コード) assigned by the bank, up to 10 digits.
    pub code: String,
    /// 振込依頼人名 (カナ), up to 40 half-width characters after conversion.
    pub name_kana: String,
    /// 仕向銀行番号, 4 digits.
    pub bank_code: String,
    pub bank_name_kana: String,
    /// 仕向支店番号, 3 digits.
    pub branch_code: String,
    pub branch_name_kana: String,
    /// 預金種目: 1 普通, 2 当座, 9 その他.
    pub account_type: u8,
    /// 口座番号, up to 7 digits.
    pub account_number: String,
}

/// An institution's account (振込先口座).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// 被仕向銀行番号 (金融機関コード), 4 digits.
    pub bank_code: String,
    pub bank_name_kana: String,
    /// 被仕向支店番号, 3 digits.
    pub branch_code: String,
    pub branch_name_kana: String,
    /// 預金種目: 1 普通, 2 当座, 4 貯蓄, 9 その他.
    pub account_type: u8,
    /// 口座番号, up to 7 digits.
    pub account_number: String,
    /// 受取人名 (口座名義カナ), up to 30 half-width characters after conversion.
    pub holder_kana: String,
}

impl BankAccount {
    /// Checks the codes and converts the names (to_zengin_kana); returns the account as it
    /// will be written.
    pub fn normalized(&self) -> Result<BankAccount, BillingError> {
        digits("bank_code", &self.bank_code, 4, 4)?;
        digits("branch_code", &self.branch_code, 3, 3)?;
        digits("account_number", &self.account_number, 1, 7)?;
        if !matches!(self.account_type, 1 | 2 | 4 | 9) {
            return Err(field_error(
                "account_type",
                &self.account_type.to_string(),
                "must be 1 (普通), 2 (当座), 4 (貯蓄) or 9",
                "1（普通）・2（当座）・4（貯蓄）・9 のいずれかにしてください",
            ));
        }
        let holder = kana_field("holder_kana", &self.holder_kana, 30)?;
        if holder.trim().is_empty() {
            return Err(field_error("holder_kana", "", "is empty", "が空です"));
        }
        Ok(BankAccount {
            bank_code: self.bank_code.clone(),
            bank_name_kana: kana_field("bank_name_kana", &self.bank_name_kana, 15)?,
            branch_code: self.branch_code.clone(),
            branch_name_kana: kana_field("branch_name_kana", &self.branch_name_kana, 15)?,
            account_type: self.account_type,
            account_number: format!("{:0>7}", self.account_number),
            holder_kana: holder,
        })
    }
}

impl Remitter {
    /// Checks the codes and converts the names; returns the remitter as it will be written.
    pub fn normalized(&self) -> Result<Remitter, BillingError> {
        digits("code", &self.code, 1, 10)?;
        digits("bank_code", &self.bank_code, 4, 4)?;
        digits("branch_code", &self.branch_code, 3, 3)?;
        digits("account_number", &self.account_number, 1, 7)?;
        if !matches!(self.account_type, 1 | 2 | 9) {
            return Err(field_error(
                "account_type",
                &self.account_type.to_string(),
                "must be 1 (普通), 2 (当座) or 9",
                "1（普通）・2（当座）・9 のいずれかにしてください",
            ));
        }
        let name = kana_field("name_kana", &self.name_kana, 40)?;
        if name.trim().is_empty() {
            return Err(field_error("name_kana", "", "is empty", "が空です"));
        }
        Ok(Remitter {
            code: format!("{:0>10}", self.code),
            name_kana: name,
            bank_code: self.bank_code.clone(),
            bank_name_kana: kana_field("bank_name_kana", &self.bank_name_kana, 15)?,
            branch_code: self.branch_code.clone(),
            branch_name_kana: kana_field("branch_name_kana", &self.branch_name_kana, 15)?,
            account_type: self.account_type,
            account_number: format!("{:0>7}", self.account_number),
        })
    }
}

/// One payment to an institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub account: BankAccount,
    /// 振込金額, 1 to 9,999,999,999 yen.
    pub amount: i64,
    /// 顧客コード1: the institution number (up to 10 digits), so the bank's result file
    /// names the institution.
    pub customer_code: String,
}

/// A transfer file read back and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTransferFile {
    pub remitter: Remitter,
    /// 振込指定日 (month, day) as written (the file carries no year).
    pub transfer_month_day: (i8, i8),
    pub transfers: Vec<Transfer>,
    /// Trailer 合計件数 and 合計金額 (checked equal to the data records).
    pub total_count: i64,
    pub total_amount: i64,
    /// True when records are followed by CR LF.
    pub crlf: bool,
}

fn field_error(field: &str, value: &str, en: &str, ja: &str) -> BillingError {
    BillingError::BankField {
        field: field.to_string(),
        value: value.to_string(),
        en: en.to_string(),
        ja: ja.to_string(),
    }
}

fn digits(field: &str, v: &str, min: usize, max: usize) -> Result<(), BillingError> {
    if v.len() < min || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
        let (en, ja) = if min == max {
            (
                format!("must be {min} digits"),
                format!("は数字 {min} 桁にしてください"),
            )
        } else {
            (
                format!("must be {min} to {max} digits"),
                format!("は数字 {min}〜{max} 桁にしてください"),
            )
        };
        return Err(field_error(field, v, &en, &ja));
    }
    Ok(())
}

fn kana_field(field: &str, v: &str, max: usize) -> Result<String, BillingError> {
    let k = to_zengin_kana(v).map_err(|e| match e {
        BillingError::KanaChar { ch, .. } => BillingError::KanaChar {
            field: field.to_string(),
            ch,
        },
        other => other,
    })?;
    // Every allowed character is one byte in Shift_JIS, so chars = bytes.
    let len = k.chars().count();
    if len > max {
        return Err(field_error(
            field,
            &k,
            &format!("is {len} half-width characters, at most {max} fit"),
            &format!("は半角 {len} 文字です（{max} 文字まで）"),
        ));
    }
    Ok(k)
}

const FULL: &str =
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";
const HALF: &str = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ";
const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボ";
const VOICED_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホ";
const SEMI: &str = "パピプペポ";
const SEMI_BASE: &str = "ハヒフヘホ";
/// Small kana are not in the set: banks write them large (キュウ → ｷﾕｳ).
const SMALL: &str = "ァィゥェォッャュョヮヵヶｧｨｩｪｫｯｬｭｮ";
const SMALL_LARGE: &str = "アイウエオツヤユヨワカケアイウエオツヤユヨ";
/// Obsolete kana written as they sound; ｦ is outside the set too.
const OLD: &str = "ヲヰヱｦ";
const OLD_AS: &str = "オイエオ";

fn lookup(from: &str, to: &str, c: char) -> Option<char> {
    from.chars()
        .position(|x| x == c)
        .and_then(|i| to.chars().nth(i))
}

fn half_of(c: char) -> Option<char> {
    lookup(FULL, HALF, c)
}

/// True for a character allowed in a 全銀 C field.
pub fn is_zengin_char(c: char) -> bool {
    c.is_ascii_digit()
        || c.is_ascii_uppercase()
        || matches!(c, ' ' | '(' | ')' | '.' | '-' | '/')
        || ('\u{FF71}'..='\u{FF9F}').contains(&c) // ｱ..ﾝ ﾞ ﾟ
}

/// Converts a name to the 全銀 character set: full-width letters, digits and symbols to
/// half-width, lower-case to upper-case, hiragana and katakana to half-width katakana
/// (voiced marks as separate ﾞ ﾟ), small kana to large, ヲ to ｵ, long-vowel marks and dashes
/// to `-`, ・ to `.`, full-width space to space. Any other character (kanji, ･, symbols
/// outside `( ) . - /`) is refused: an account name must be given in kana.
pub fn to_zengin_kana(s: &str) -> Result<String, BillingError> {
    let mut out = String::with_capacity(s.len());
    for c0 in s.chars() {
        // Full-width ASCII → ASCII; hiragana → katakana.
        let c = match c0 {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c0 as u32 - 0xFEE0).unwrap_or(c0),
            '\u{3041}'..='\u{3096}' => char::from_u32(c0 as u32 + 0x60).unwrap_or(c0),
            '\u{3000}' => ' ',
            _ => c0,
        };
        let c = c.to_ascii_uppercase();
        if let Some(h) = half_of(c) {
            out.push(h);
        } else if let Some(base) = lookup(VOICED, VOICED_BASE, c).and_then(half_of) {
            out.push(base);
            out.push('ﾞ');
        } else if c == 'ヴ' {
            out.push_str("ｳﾞ");
        } else if let Some(base) = lookup(SEMI, SEMI_BASE, c).and_then(half_of) {
            out.push(base);
            out.push('ﾟ');
        } else if let Some(large) = lookup(SMALL, SMALL_LARGE, c).and_then(half_of) {
            out.push(large);
        } else if let Some(k) = lookup(OLD, OLD_AS, c).and_then(half_of) {
            out.push(k);
        } else if matches!(
            c,
            'ー' | 'ｰ' | '－' | '‐' | '−' | '―' | '–' | '—' | '～' | '〜'
        ) {
            out.push('-');
        } else if matches!(c, '・' | '．') {
            out.push('.');
        } else if matches!(c, '゛' | '\u{3099}') {
            out.push('ﾞ');
        } else if matches!(c, '゜' | '\u{309A}') {
            out.push('ﾟ');
        } else if is_zengin_char(c) {
            out.push(c);
        } else {
            return Err(BillingError::KanaChar {
                field: String::new(),
                ch: c0,
            });
        }
    }
    Ok(out)
}

/// Encodes one record's text (already restricted to the 全銀 set) to Shift_JIS bytes.
fn sjis(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    bytes.into_owned()
}

/// A record under construction: fields appended in order, checked to 120 bytes at the end.
struct Record(String);

impl Record {
    fn new() -> Record {
        Record(String::with_capacity(RECORD_LEN))
    }
    /// N field: right-aligned, zero-filled.
    fn n(&mut self, v: impl std::fmt::Display, width: usize) -> &mut Record {
        let s = v.to_string();
        self.0.push_str(&format!("{s:0>width$}"));
        self
    }
    /// C field: left-aligned, space-filled.
    fn c(&mut self, v: &str, width: usize) -> &mut Record {
        let pad = width.saturating_sub(v.chars().count());
        self.0.push_str(v);
        self.0.extend(std::iter::repeat_n(' ', pad));
        self
    }
    fn finish(&self, out: &mut Vec<u8>) -> Result<(), BillingError> {
        let bytes = sjis(&self.0);
        if bytes.len() != RECORD_LEN {
            // Field widths are checked before; this guards the layout itself.
            return Err(BillingError::BadTransferFile {
                record: 0,
                en: format!("a record came out {} bytes long", bytes.len()),
                ja: format!("レコード長が {} バイトになりました", bytes.len()),
            });
        }
        out.extend_from_slice(&bytes);
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// The largest amount one data record can carry (N10).
pub const MAX_TRANSFER: i64 = 9_999_999_999;

/// Writes the transfer file for `payment_date`: header, one data record per transfer in
/// the given order, trailer with the count and total, end record. Refuses an empty list,
/// amounts ≤ 0 or above [`MAX_TRANSFER`], bad codes and names outside the character set.
pub fn transfer_file(
    r: &Remitter,
    payment_date: Date,
    transfers: &[Transfer],
) -> Result<Vec<u8>, BillingError> {
    let r = r.normalized()?;
    if transfers.is_empty() {
        return Err(BillingError::NoTransfers);
    }
    if transfers.len() > 999_999 {
        return Err(BillingError::BadTransferFile {
            record: 0,
            en: "more than 999,999 transfers in one file".into(),
            ja: "1 ファイルの振込は 999,999 件までです".into(),
        });
    }
    let mut out = Vec::with_capacity((transfers.len() + 3) * (RECORD_LEN + 2));
    Record::new()
        .n(1, 1)
        .n(21, 2)
        .n(0, 1)
        .n(&r.code, 10)
        .c(&r.name_kana, 40)
        .n(
            format!("{:02}{:02}", payment_date.month(), payment_date.day()),
            4,
        )
        .n(&r.bank_code, 4)
        .c(&r.bank_name_kana, 15)
        .n(&r.branch_code, 3)
        .c(&r.branch_name_kana, 15)
        .n(r.account_type, 1)
        .n(&r.account_number, 7)
        .c("", 17)
        .finish(&mut out)?;
    let mut total: i64 = 0;
    for t in transfers {
        let a = t.account.normalized()?;
        if !(1..=MAX_TRANSFER).contains(&t.amount) {
            return Err(field_error(
                "amount",
                &t.amount.to_string(),
                "must be between 1 and 9,999,999,999 yen",
                "は 1〜9,999,999,999 円にしてください",
            ));
        }
        digits("customer_code", &t.customer_code, 1, 10)?;
        total = total.checked_add(t.amount).ok_or(BillingError::Overflow)?;
        Record::new()
            .n(2, 1)
            .n(&a.bank_code, 4)
            .c(&a.bank_name_kana, 15)
            .n(&a.branch_code, 3)
            .c(&a.branch_name_kana, 15)
            .n(0, 4) // 手形交換所番号: unused
            .n(a.account_type, 1)
            .n(&a.account_number, 7)
            .c(&a.holder_kana, 30)
            .n(t.amount, 10)
            .n(0, 1) // 新規コード: 0 (その他)
            .n(&t.customer_code, 10)
            .n(0, 10) // 顧客コード2
            .n(7, 1) // 振込指定区分: 7 電信扱
            .c("", 1) // 識別表示: space (顧客コード, not EDI)
            .c("", 7)
            .finish(&mut out)?;
    }
    if total > 999_999_999_999 {
        return Err(BillingError::Overflow);
    }
    Record::new()
        .n(8, 1)
        .n(transfers.len(), 6)
        .n(total, 12)
        .c("", 101)
        .finish(&mut out)?;
    Record::new().n(9, 1).c("", 119).finish(&mut out)?;
    Ok(out)
}

/// The transfers for a month's statements: one per institution with `amount_paid > 0`, in
/// institution order. Every paid institution needs an account; the missing ones are
/// listed together in the error.
pub fn transfers_from_statements(
    statements: &[Statement],
    accounts: &BTreeMap<String, BankAccount>,
) -> Result<Vec<Transfer>, BillingError> {
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for st in statements.iter().filter(|s| s.amount_paid > 0) {
        match accounts.get(&st.institution) {
            Some(a) => out.push(Transfer {
                account: a.clone(),
                amount: st.amount_paid,
                customer_code: st.institution.clone(),
            }),
            None => missing.push(st.institution.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(BillingError::MissingAccounts {
            institutions: missing,
        });
    }
    Ok(out)
}

/// A field cursor over one decoded record.
struct Fields<'a> {
    text: &'a [char],
    pos: usize,
    record: usize,
}

impl<'a> Fields<'a> {
    fn bad(&self, en: String, ja: String) -> BillingError {
        BillingError::BadTransferFile {
            record: self.record,
            en,
            ja,
        }
    }
    fn take(&mut self, width: usize) -> String {
        let end = (self.pos + width).min(self.text.len());
        let s: String = self.text[self.pos..end].iter().collect();
        self.pos = end;
        s
    }
    fn n(&mut self, name: &str, width: usize) -> Result<String, BillingError> {
        let at = self.pos + 1;
        let s = self.take(width);
        if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(
                format!("{name} (column {at}, {width} digits) is {s:?}, not digits"),
                format!("{name}（{at} 桁目から {width} 桁）が数字ではありません: {s:?}"),
            ));
        }
        Ok(s)
    }
    fn num(&mut self, name: &str, width: usize) -> Result<i64, BillingError> {
        let s = self.n(name, width)?;
        s.parse()
            .map_err(|_| self.bad(format!("{name} {s:?}"), format!("{name} {s:?}")))
    }
    fn c(&mut self, name: &str, width: usize) -> Result<String, BillingError> {
        let at = self.pos + 1;
        let s = self.take(width);
        if let Some(ch) = s.chars().find(|c| !is_zengin_char(*c)) {
            return Err(self.bad(
                format!("{name} (column {at}) has {ch:?}, outside the 全銀 character set"),
                format!("{name}（{at} 桁目から）に全銀で使えない文字 {ch:?} があります"),
            ));
        }
        Ok(s.trim_end().to_string())
    }
    fn expect(&mut self, name: &str, width: usize, want: &str) -> Result<(), BillingError> {
        let got = self.n(name, width)?;
        if got != want {
            return Err(self.bad(
                format!("{name} is {got}, expected {want}"),
                format!("{name} が {got} です（{want} であるべき）"),
            ));
        }
        Ok(())
    }
    fn blank(&mut self, name: &str, width: usize) -> Result<(), BillingError> {
        let s = self.c(name, width)?;
        if !s.is_empty() {
            return Err(self.bad(
                format!("{name} must be spaces, got {s:?}"),
                format!("{name} は空白であるべきです: {s:?}"),
            ));
        }
        Ok(())
    }
}

/// Reads and validates a 総合振込 file: 120-byte records (all without line breaks, or all
/// followed by CR LF), Shift_JIS single-byte characters only, header (種別 21, コード区分 0),
/// at least one data record, one trailer whose count and total equal the data records, one
/// end record, nothing after it.
pub fn parse_transfer_file(bytes: &[u8]) -> Result<ParsedTransferFile, BillingError> {
    let file_err =
        |record: usize, en: String, ja: String| BillingError::BadTransferFile { record, en, ja };
    let crlf = bytes.len() >= RECORD_LEN + 2 && &bytes[RECORD_LEN..RECORD_LEN + 2] == b"\r\n";
    let step = if crlf { RECORD_LEN + 2 } else { RECORD_LEN };
    if bytes.is_empty() || !bytes.len().is_multiple_of(step) {
        return Err(file_err(
            0,
            format!(
                "{} bytes is not a whole number of {step}-byte records",
                bytes.len()
            ),
            format!(
                "{} バイトは {step} バイトのレコードの整数倍ではありません",
                bytes.len()
            ),
        ));
    }
    let mut records: Vec<Vec<char>> = Vec::with_capacity(bytes.len() / step);
    for (i, chunk) in bytes.chunks(step).enumerate() {
        let n = i + 1;
        if crlf && &chunk[RECORD_LEN..] != b"\r\n" {
            return Err(file_err(
                n,
                "the record does not end with CR LF".into(),
                "レコードが CR LF で終わっていません".into(),
            ));
        }
        let body = &chunk[..RECORD_LEN];
        // Every allowed character is one byte; a double-byte lead would shorten the record.
        if let Some(b) = body
            .iter()
            .find(|b| matches!(b, 0x81..=0x9F | 0xE0..=0xFC | 0x00..=0x1F | 0x7F))
        {
            return Err(file_err(
                n,
                format!("byte 0x{b:02X} is not a single-byte character"),
                format!("1 バイト文字でないバイト 0x{b:02X} があります"),
            ));
        }
        let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(body);
        if had_errors {
            return Err(file_err(
                n,
                "not valid Shift_JIS".into(),
                "Shift_JIS として読めません".into(),
            ));
        }
        records.push(text.chars().collect());
    }

    let kinds: Vec<char> = records
        .iter()
        .map(|r| r.first().copied().unwrap_or(' '))
        .collect();
    let data_count = kinds.iter().filter(|k| **k == '2').count();
    let order_ok = kinds.len() >= 4
        && kinds[0] == '1'
        && kinds[1..kinds.len() - 2].iter().all(|k| *k == '2')
        && kinds[kinds.len() - 2] == '8'
        && kinds[kinds.len() - 1] == '9';
    if !order_ok {
        let got: String = kinds.iter().collect();
        return Err(file_err(
            0,
            format!("records must be 1, 2…2 (at least one), 8, 9; got {got}"),
            format!("レコードの順序は 1・2…2（1 件以上）・8・9 です（実際: {got}）"),
        ));
    }

    // Header.
    let mut f = Fields {
        text: &records[0],
        pos: 0,
        record: 1,
    };
    f.expect("データ区分", 1, "1")?;
    f.expect("種別コード", 2, "21")?;
    f.expect("コード区分", 1, "0")?;
    let code = f.n("振込依頼人コード", 10)?;
    let name_kana = f.c("振込依頼人名", 40)?;
    let mmdd = f.n("振込指定日", 4)?;
    let bank_code = f.n("仕向銀行番号", 4)?;
    let bank_name_kana = f.c("仕向銀行名", 15)?;
    let branch_code = f.n("仕向支店番号", 3)?;
    let branch_name_kana = f.c("仕向支店名", 15)?;
    let account_type = f.num("預金種目", 1)? as u8;
    let account_number = f.n("口座番号", 7)?;
    f.blank("ダミー", 17)?;
    let month: i8 = mmdd[0..2].parse().unwrap_or(0);
    let day: i8 = mmdd[2..4].parse().unwrap_or(0);
    if Date::new(2024, month, day).is_err() {
        return Err(f.bad(
            format!("振込指定日 {mmdd} is not a date"),
            format!("振込指定日 {mmdd} が日付ではありません"),
        ));
    }
    let remitter = Remitter {
        code,
        name_kana,
        bank_code,
        bank_name_kana,
        branch_code,
        branch_name_kana,
        account_type,
        account_number,
    };

    let mut transfers = Vec::with_capacity(data_count);
    let mut sum: i64 = 0;
    for (i, rec) in records[1..=data_count].iter().enumerate() {
        let mut f = Fields {
            text: rec,
            pos: 0,
            record: i + 2,
        };
        f.expect("データ区分", 1, "2")?;
        let bank_code = f.n("被仕向銀行番号", 4)?;
        let bank_name_kana = f.c("被仕向銀行名", 15)?;
        let branch_code = f.n("被仕向支店番号", 3)?;
        let branch_name_kana = f.c("被仕向支店名", 15)?;
        f.n("手形交換所番号", 4)?;
        let account_type = f.num("預金種目", 1)? as u8;
        if !matches!(account_type, 1 | 2 | 4 | 9) {
            return Err(f.bad(
                format!("預金種目 {account_type} is not 1, 2, 4 or 9"),
                format!("預金種目 {account_type} が不正です"),
            ));
        }
        let account_number = f.n("口座番号", 7)?;
        let holder_kana = f.c("受取人名", 30)?;
        let amount = f.num("振込金額", 10)?;
        if amount <= 0 {
            return Err(f.bad("振込金額 is 0".into(), "振込金額が 0 です".into()));
        }
        f.n("新規コード", 1)?;
        let customer = f.n("顧客コード1", 10)?;
        f.n("顧客コード2", 10)?;
        f.c("振込指定区分", 1)?;
        f.c("識別表示", 1)?;
        f.blank("ダミー", 7)?;
        sum = sum.checked_add(amount).ok_or(BillingError::Overflow)?;
        transfers.push(Transfer {
            account: BankAccount {
                bank_code,
                bank_name_kana,
                branch_code,
                branch_name_kana,
                account_type,
                account_number,
                holder_kana,
            },
            amount,
            customer_code: customer,
        });
    }

    let trailer_no = data_count + 2;
    let mut f = Fields {
        text: &records[trailer_no - 1],
        pos: 0,
        record: trailer_no,
    };
    f.expect("データ区分", 1, "8")?;
    let total_count = f.num("合計件数", 6)?;
    let total_amount = f.num("合計金額", 12)?;
    f.blank("ダミー", 101)?;
    if total_count != data_count as i64 {
        return Err(f.bad(
            format!("trailer count {total_count} but {data_count} data records"),
            format!("トレーラの合計件数 {total_count} がデータ件数 {data_count} と一致しません"),
        ));
    }
    if total_amount != sum {
        return Err(f.bad(
            format!("trailer amount {total_amount} but the data records total {sum}"),
            format!("トレーラの合計金額 {total_amount} がデータの合計 {sum} と一致しません"),
        ));
    }
    let mut f = Fields {
        text: &records[trailer_no],
        pos: 0,
        record: trailer_no + 1,
    };
    f.expect("データ区分", 1, "9")?;
    f.blank("ダミー", 119)?;

    Ok(ParsedTransferFile {
        remitter,
        transfer_month_day: (month, day),
        transfers,
        total_count,
        total_amount,
        crlf,
    })
}
