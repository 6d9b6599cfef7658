//! Member roster import (被保険者名簿の取込み): a CSV file in UTF-8 (with or without BOM) or
//! Shift_JIS (CP932), detected and decoded strictly, parsed into [`Member`]s.
//!
//! The import is all or nothing: [`parse_roster`] returns either every member or every
//! row-level error it found ([`RosterError`]: line, column, value, reason in Japanese and
//! English), never a partial roster. Columns are found by header name (English or the
//! Japanese alias), so their order is free and unknown columns are ignored; the column
//! list is in docs/invitations.md and on [`Member`].

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The identity of a member on the insurance card (被保険者証等記号・番号・枝番), normalised
/// (trimmed, full-width digits and letters made ASCII). Used as the key everywhere else
/// (targets, vouchers, responders, returned mail).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CardKey {
    /// 被保険者証等記号 (may be empty)
    pub symbol: String,
    /// 被保険者証等番号
    pub number: String,
    /// 枝番 (may be empty)
    pub branch: String,
}

impl CardKey {
    /// A key from the three card fields, normalised as on import.
    pub fn new(symbol: &str, number: &str, branch: &str) -> CardKey {
        CardKey {
            symbol: normalize_ascii(symbol),
            number: normalize_ascii(number),
            branch: normalize_ascii(branch),
        }
    }
}

impl std::fmt::Display for CardKey {
    /// `symbol-number-branch` without empty parts, for messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = [&self.symbol, &self.number, &self.branch]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        f.write_str(&parts.join("-"))
    }
}

/// 性別 (1 male, 2 female as in the XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The XML code: 1 male, 2 female.
    pub fn code(self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }
}

/// 本人・家族の別 as insurers mail by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberType {
    /// 被保険者 (the insured employee / resident)
    Insured,
    /// 被扶養者 (dependant)
    Dependant,
    /// 任意継続被保険者 (voluntary continuing member)
    Voluntary,
}

impl MemberType {
    /// Japanese label.
    pub fn ja(self) -> &'static str {
        match self {
            MemberType::Insured => "被保険者",
            MemberType::Dependant => "被扶養者",
            MemberType::Voluntary => "任意継続被保険者",
        }
    }
    /// Stable code used in files and JSON.
    pub fn code(self) -> &'static str {
        match self {
            MemberType::Insured => "insured",
            MemberType::Dependant => "dependant",
            MemberType::Voluntary => "voluntary",
        }
    }
}

/// The ministerial exclusions from the checkup (厚生労働大臣が定める除外対象者, BUSINESS.md §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// 妊産婦
    Pregnancy,
    /// 6か月以上継続して入院
    LongHospitalisation,
    /// 高確法第55条第1項第2号〜第5号の施設に入所・入居
    Facility,
    /// 刑事施設等に拘禁
    Prison,
    /// 海外在住
    Abroad,
}

impl Exclusion {
    pub const ALL: [Exclusion; 5] = [
        Exclusion::Pregnancy,
        Exclusion::LongHospitalisation,
        Exclusion::Facility,
        Exclusion::Prison,
        Exclusion::Abroad,
    ];
    /// Stable code (also the roster column name without the `excl_` prefix).
    pub fn code(self) -> &'static str {
        match self {
            Exclusion::Pregnancy => "pregnancy",
            Exclusion::LongHospitalisation => "hospital",
            Exclusion::Facility => "facility",
            Exclusion::Prison => "prison",
            Exclusion::Abroad => "abroad",
        }
    }
    pub fn ja(self) -> &'static str {
        match self {
            Exclusion::Pregnancy => "妊産婦",
            Exclusion::LongHospitalisation => "6か月以上の長期入院",
            Exclusion::Facility => "施設入所",
            Exclusion::Prison => "刑事施設等に拘禁",
            Exclusion::Abroad => "海外在住",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Exclusion::Pregnancy => "pregnant or post-partum",
            Exclusion::LongHospitalisation => "hospitalised for 6 months or more",
            Exclusion::Facility => "resident of a listed facility",
            Exclusion::Prison => "held in a prison or similar facility",
            Exclusion::Abroad => "living abroad",
        }
    }
}

/// One member of the roster (被保険者名簿の1行).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Line of the roster file (header = line 1).
    pub line: usize,
    pub card: CardKey,
    /// 氏名 (kanji; any Unicode, e.g. 𠮷, 髙, 﨑)
    pub name: String,
    /// 氏名カナ (katakana)
    pub name_kana: String,
    pub sex: Sex,
    /// 生年月日
    pub birth_date: Date,
    /// 郵便番号, 7 ASCII digits (may be empty: no address known)
    pub postal_code: String,
    /// 住所1: prefecture … town (町域名まで, Japan Post's 住所A)
    pub address1: String,
    /// 住所2: block and house numbers (丁目・番地・号, start of 住所B)
    pub address2: String,
    /// 住所3: building and room (建物名・部屋番号, rest of 住所B)
    pub address3: String,
    /// 資格取得日
    pub insured_from: Date,
    /// Last day insured (資格喪失日の前日); `None` = still insured.
    pub insured_to: Option<Date>,
    pub member_type: MemberType,
    /// Exclusion flags set on the roster, in [`Exclusion::ALL`] order.
    pub exclusions: Vec<Exclusion>,
    /// 宛所不明 (mail came back undelivered)
    pub returned_mail: bool,
}

impl Member {
    /// The address as printed (住所1 住所2 住所3, empty parts left out).
    pub fn address_lines(&self) -> Vec<&str> {
        [&self.address1, &self.address2, &self.address3]
            .into_iter()
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .collect()
    }
    /// Japan Post's 住所B (what follows the town name): 住所2 and 住所3.
    pub fn address_b(&self) -> String {
        format!("{} {}", self.address2, self.address3)
            .trim()
            .to_string()
    }
}

/// The encoding a roster was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterEncoding {
    Utf8,
    Utf8Bom,
    /// Shift_JIS as Windows writes it (CP932 / Windows-31J).
    ShiftJis,
}

/// A successfully imported roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    pub encoding: RosterEncoding,
    pub members: Vec<Member>,
}

/// What is wrong with one cell (or row, or the whole file when `line` is 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterError {
    /// Line in the file (header = 1); 0 for the file as a whole.
    pub line: usize,
    /// Column name (English header name), empty for a whole row or the file.
    pub column: String,
    /// The offending value as read.
    pub value: String,
    pub ja: String,
    pub en: String,
}

impl std::fmt::Display for RosterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column.is_empty()) {
            (0, _) => write!(f, "{} / {}", self.ja, self.en),
            (l, true) => write!(f, "line {l}: {} / {}", self.ja, self.en),
            (l, false) => write!(
                f,
                "line {l}, column {}: {} / {} ({:?})",
                self.column, self.ja, self.en, self.value
            ),
        }
    }
}

/// Every error of a rejected roster (nothing of it was imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("roster rejected: {} error(s); first: {}", .errors.len(), .errors.first().map(|e| e.to_string()).unwrap_or_default())]
pub struct RosterErrors {
    pub errors: Vec<RosterError>,
}

/// The columns, as (English name, Japanese alias, required).
pub const COLUMNS: &[(&str, &str, bool)] = &[
    ("card_symbol", "記号", false),
    ("card_number", "番号", true),
    ("card_branch", "枝番", false),
    ("name", "氏名", true),
    ("name_kana", "氏名カナ", true),
    ("sex", "性別", true),
    ("birth_date", "生年月日", true),
    ("postal_code", "郵便番号", false),
    ("address1", "住所1", false),
    ("address2", "住所2", false),
    ("address3", "住所3", false),
    ("insured_from", "資格取得日", true),
    ("insured_to", "資格終了日", false),
    ("member_type", "本人家族区分", true),
    ("excl_pregnancy", "除外_妊産婦", false),
    ("excl_hospital", "除外_長期入院", false),
    ("excl_facility", "除外_施設入所", false),
    ("excl_prison", "除外_刑事施設", false),
    ("excl_abroad", "除外_海外在住", false),
    ("returned_mail", "宛所不明", false),
];

/// Decodes roster bytes: UTF-8 with BOM, else valid UTF-8, else strict Shift_JIS (CP932).
/// Bytes valid in neither are refused (nothing is replaced).
pub fn decode(bytes: &[u8]) -> Result<(String, RosterEncoding), RosterError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((s.to_string(), RosterEncoding::Utf8Bom)),
            Err(e) => Err(file_error(
                format!(
                    "BOM付きUTF-8ですが{}バイト目以降が不正です",
                    e.valid_up_to() + 4
                ),
                format!(
                    "UTF-8 with BOM but invalid from byte {}",
                    e.valid_up_to() + 4
                ),
            )),
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), RosterEncoding::Utf8));
    }
    match encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(s) => Ok((s.into_owned(), RosterEncoding::ShiftJis)),
        None => Err(file_error(
            "文字コードがUTF-8でもShift_JISでもありません".into(),
            "the file is neither UTF-8 nor Shift_JIS".into(),
        )),
    }
}

fn file_error(ja: String, en: String) -> RosterError {
    RosterError {
        line: 0,
        column: String::new(),
        value: String::new(),
        ja,
        en,
    }
}

/// Parses a roster file (bytes as uploaded): all members, or all errors.
pub fn parse_roster(bytes: &[u8]) -> Result<Roster, RosterErrors> {
    let (text, encoding) = decode(bytes).map_err(|e| RosterErrors { errors: vec![e] })?;
    let mut errors = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            return Err(RosterErrors {
                errors: vec![csv_error(1, &e)],
            });
        }
        None => {
            return Err(RosterErrors {
                errors: vec![file_error(
                    "ファイルが空です".into(),
                    "the file is empty".into(),
                )],
            });
        }
    };
    // Column name → index; English names and Japanese aliases both work.
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        let known = COLUMNS.iter().find(|(n, ja, _)| *n == h || *ja == h);
        if let Some((name, _, _)) = known
            && index.insert(name, i).is_some()
        {
            errors.push(RosterError {
                line: 1,
                column: (*name).to_string(),
                value: h.to_string(),
                ja: "列が重複しています".into(),
                en: "duplicate column".into(),
            });
        }
    }
    for (name, ja, required) in COLUMNS {
        if *required && !index.contains_key(name) {
            errors.push(RosterError {
                line: 1,
                column: (*name).to_string(),
                value: String::new(),
                ja: format!("必須の列「{name}」({ja})がありません"),
                en: format!("required column {name} ({ja}) is missing"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(RosterErrors { errors });
    }
    let mut members = Vec::new();
    let mut seen: HashMap<CardKey, usize> = HashMap::new();
    for (i, rec) in records.enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(i + 2, |p| p.line() as usize);
                errors.push(csv_error(line, &e));
                continue;
            }
        };
        // The csv reader skips blank lines (and its position may point at them), so the
        // line is counted from the record's byte offset past any line breaks.
        let line = rec
            .position()
            .map_or(i + 2, |p| line_at(&text, p.byte() as usize));
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue; // blank line
        }
        let row = Row {
            line,
            rec: &rec,
            index: &index,
        };
        match row.member(&mut errors) {
            Some(m) => {
                if let Some(first) = seen.insert(m.card.clone(), line) {
                    errors.push(RosterError {
                        line,
                        column: "card_number".into(),
                        value: m.card.to_string(),
                        ja: format!("{first}行目と同じ記号・番号・枝番です"),
                        en: format!("same card symbol/number/branch as line {first}"),
                    });
                }
                members.push(m);
            }
            None => continue,
        }
    }
    if errors.is_empty() {
        Ok(Roster { encoding, members })
    } else {
        Err(RosterErrors { errors })
    }
}

/// 1-based line of the first non-line-break character at or after `byte`.
fn line_at(text: &str, byte: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = byte.min(bytes.len());
    while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
        at += 1;
    }
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count()
}

fn csv_error(line: usize, e: &csv::Error) -> RosterError {
    RosterError {
        line,
        column: String::new(),
        value: String::new(),
        ja: format!("CSVとして読めません: {e}"),
        en: format!("not valid CSV: {e}"),
    }
}

struct Row<'a> {
    line: usize,
    rec: &'a csv::StringRecord,
    index: &'a HashMap<&'static str, usize>,
}

impl Row<'_> {
    fn raw(&self, col: &str) -> &str {
        self.index
            .get(col)
            .and_then(|&i| self.rec.get(i))
            .map(str::trim)
            .unwrap_or("")
    }

    fn err(&self, col: &str, ja: impl Into<String>, en: impl Into<String>) -> RosterError {
        RosterError {
            line: self.line,
            column: col.to_string(),
            value: self.raw(col).to_string(),
            ja: ja.into(),
            en: en.into(),
        }
    }

    fn required(&self, col: &str, errors: &mut Vec<RosterError>) -> Option<String> {
        let v = self.raw(col);
        if v.is_empty() {
            errors.push(self.err(col, "値がありません", "value is missing"));
            return None;
        }
        if v.chars().any(char::is_control) {
            errors.push(self.err(
                col,
                "制御文字が含まれています",
                "contains a control character",
            ));
            return None;
        }
        Some(v.to_string())
    }

    fn text(&self, col: &str, errors: &mut Vec<RosterError>) -> String {
        let v = self.raw(col);
        if v.chars().any(char::is_control) {
            errors.push(self.err(
                col,
                "制御文字が含まれています",
                "contains a control character",
            ));
        }
        v.to_string()
    }

    fn date(&self, col: &str, errors: &mut Vec<RosterError>) -> Option<Option<Date>> {
        let v = self.raw(col);
        if v.is_empty() {
            return Some(None);
        }
        match parse_date(v) {
            Some(d) => Some(Some(d)),
            None => {
                errors.push(self.err(
                    col,
                    "日付が不正です(YYYY-MM-DD、YYYYMMDD、YYYY/MM/DD)",
                    "invalid date (YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)",
                ));
                None
            }
        }
    }

    fn flag(&self, col: &str, errors: &mut Vec<RosterError>) -> bool {
        match parse_flag(self.raw(col)) {
            Some(b) => b,
            None => {
                errors.push(self.err(
                    col,
                    "フラグは1/0、true/false、○/空欄のいずれかです",
                    "a flag must be 1/0, true/false, ○ or empty",
                ));
                false
            }
        }
    }

    /// The member of this row; errors are pushed (and None returned) when any cell is bad.
    fn member(&self, errors: &mut Vec<RosterError>) -> Option<Member> {
        let before = errors.len();
        let number = self.required("card_number", errors);
        let symbol = self.text("card_symbol", errors);
        let branch = self.text("card_branch", errors);
        let name = self.required("name", errors);
        let kana = self
            .required("name_kana", errors)
            .map(|k| normalize_space(&k));
        if let Some(k) = &kana
            && !k.chars().all(is_kana_name_char)
        {
            errors.push(self.err(
                "name_kana",
                "氏名カナにカタカナ以外の文字があります",
                "name_kana must be katakana",
            ));
        }
        let sex = match self.raw("sex") {
            "1" | "M" | "m" | "male" | "男" | "男性" => Some(Sex::Male),
            "2" | "F" | "f" | "female" | "女" | "女性" => Some(Sex::Female),
            _ => {
                errors.push(self.err(
                    "sex",
                    "性別は1(男)または2(女)です",
                    "sex must be 1 (male) or 2 (female)",
                ));
                None
            }
        };
        let birth = self.date("birth_date", errors).flatten();
        if birth.is_none() && self.raw("birth_date").is_empty() {
            errors.push(self.err("birth_date", "値がありません", "value is missing"));
        }
        let postal = normalize_ascii(self.raw("postal_code")).replace('-', "");
        let seven_digits = postal.len() == 7 && postal.bytes().all(|b| b.is_ascii_digit());
        if !postal.is_empty() && !seven_digits {
            errors.push(self.err(
                "postal_code",
                "郵便番号は7桁です(例 100-0013)",
                "postal code must have 7 digits (e.g. 100-0013)",
            ));
        }
        let address1 = self.text("address1", errors);
        let address2 = self.text("address2", errors);
        let address3 = self.text("address3", errors);
        if !postal.is_empty() && address1.is_empty() {
            errors.push(self.err(
                "address1",
                "郵便番号があるのに住所1がありません",
                "postal code given but address1 is empty",
            ));
        }
        let from = self.date("insured_from", errors).flatten();
        if from.is_none() && self.raw("insured_from").is_empty() {
            errors.push(self.err("insured_from", "値がありません", "value is missing"));
        }
        let to = self.date("insured_to", errors).flatten();
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push(self.err(
                "insured_to",
                "資格終了日が資格取得日より前です",
                "insured_to is before insured_from",
            ));
        }
        let member_type = match self.raw("member_type") {
            "1" | "被保険者" | "本人" | "insured" => Some(MemberType::Insured),
            "2" | "被扶養者" | "家族" | "dependant" | "dependent" => {
                Some(MemberType::Dependant)
            }
            "3" | "任意継続" | "任意継続被保険者" | "voluntary" => {
                Some(MemberType::Voluntary)
            }
            _ => {
                errors.push(self.err(
                    "member_type",
                    "本人家族区分は1(被保険者)、2(被扶養者)、3(任意継続)のいずれかです",
                    "member_type must be 1 (insured), 2 (dependant) or 3 (voluntary)",
                ));
                None
            }
        };
        let mut exclusions = Vec::new();
        for e in Exclusion::ALL {
            if self.flag(&format!("excl_{}", e.code()), errors) {
                exclusions.push(e);
            }
        }
        let returned_mail = self.flag("returned_mail", errors);
        if errors.len() > before {
            return None;
        }
        Some(Member {
            line: self.line,
            card: CardKey::new(&symbol, &number?, &branch),
            name: name?,
            name_kana: kana?,
            sex: sex?,
            birth_date: birth?,
            postal_code: postal,
            address1,
            address2,
            address3,
            insured_from: from?,
            insured_to: to,
            member_type: member_type?,
            exclusions,
            returned_mail,
        })
    }
}

/// `YYYY-MM-DD`, `YYYYMMDD` or `YYYY/MM/DD` (full-width digits accepted).
pub fn parse_date(s: &str) -> Option<Date> {
    let s = normalize_ascii(s);
    let parts: Vec<&str> = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        vec![&s[0..4], &s[4..6], &s[6..8]]
    } else {
        s.split(['-', '/']).collect()
    };
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return None;
    }
    let y: i16 = y.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    let d: i8 = d.parse().ok()?;
    Date::new(y, m, d).ok()
}

fn parse_flag(s: &str) -> Option<bool> {
    match s.trim() {
        "" | "0" | "false" | "FALSE" | "no" | "N" | "n" | "×" | "無" | "いいえ" => Some(false),
        "1" | "true" | "TRUE" | "yes" | "Y" | "y" | "○" | "〇" | "有" | "はい" => Some(true),
        _ => None,
    }
}

/// Full-width ASCII (０-９, Ａ-Ｚ, －) to ASCII, trimmed.
pub fn normalize_ascii(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            '－' | '‐' | '−' | '‑' => '-',
            _ => c,
        })
        .collect()
}

/// Ideographic and repeated spaces become one ASCII space (kana names are compared without
/// blanks by the checker, but printed with one).
fn normalize_space(s: &str) -> String {
    s.split([' ', '\u{3000}'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_kana_name_char(c: char) -> bool {
    matches!(c, '\u{30A0}'..='\u{30FF}' | '\u{FF66}'..='\u{FF9F}' | ' ')
}
