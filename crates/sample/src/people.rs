//! Invented people, places and numbers: kana names, addresses with postal codes, insurance
//! cards, voucher numbers, and insurer / institution numbers with valid check digits.
//!
//! Every name and address is composed from short lists of common elements, so the
//! combinations are fictitious; the numbers follow the published formats (CHECKS.md §13.2).

use crate::rng::Rng;

/// Check digit of a payload (CHECKS.md §13.2): from the right, double every other digit
/// starting with the rightmost, add the digit sums, check = (10 − sum mod 10) mod 10.
/// Returns `None` when the payload is not all ASCII digits.
pub fn check_digit(payload: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in payload.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        let v = if i % 2 == 0 { d * 2 } else { d };
        sum += v / 10 + v % 10;
    }
    // The result is < 10 and fits.
    Some(((10 - sum % 10) % 10) as u8)
}

/// The payload followed by its check digit.
pub fn with_check_digit(payload: &str) -> Option<String> {
    check_digit(payload).map(|c| format!("{payload}{c}"))
}

/// Whether the last digit of `number` is the check digit of the rest.
pub fn has_valid_check_digit(number: &str) -> bool {
    let Some((payload, last)) = number.len().checked_sub(1).map(|i| number.split_at(i)) else {
        return false;
    };
    check_digit(payload).is_some_and(|c| last == c.to_string())
}

/// The same number with a wrong check digit (for defects).
pub fn with_wrong_check_digit(number: &str) -> String {
    let Some(i) = number.len().checked_sub(1) else {
        return number.to_owned();
    };
    let (payload, last) = number.split_at(i);
    let d = last.bytes().next().map_or(0, |b| b.wrapping_sub(b'0')) % 10;
    format!("{payload}{}", (d + 1) % 10)
}

const FAMILY_NAMES: &[&str] = &[
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ヤマモト",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
    "ヨシダ",
    "ヤマダ",
    "ササキ",
    "ヤマグチ",
    "マツモト",
    "イノウエ",
    "キムラ",
    "ハヤシ",
    "シミズ",
    "ヤマザキ",
    "モリ",
    "アベ",
    "イケダ",
    "ハシモト",
    "ヤマシタ",
    "イシカワ",
    "ナカジマ",
    "マエダ",
    "フジタ",
    "オガワ",
    "ゴトウ",
    "オカダ",
    "ハセガワ",
    "ムラカミ",
    "コンドウ",
    "イシイ",
    "サイトウ",
    "サカモト",
    "エンドウ",
    "アオキ",
];

const MALE_GIVEN: &[&str] = &[
    "ヒロシ",
    "タケシ",
    "マコト",
    "ツヨシ",
    "アキラ",
    "オサム",
    "ミノル",
    "ススム",
    "カズオ",
    "ヨシオ",
    "マサオ",
    "タカシ",
    "ケンジ",
    "コウジ",
    "シンイチ",
    "ダイスケ",
    "ヨウスケ",
    "テツヤ",
    "ノブユキ",
    "ヒデキ",
    "ユウジ",
    "マサヒロ",
    "カズヒコ",
    "トシオ",
    "イサム",
];

const FEMALE_GIVEN: &[&str] = &[
    "ヨウコ",
    "ケイコ",
    "カズコ",
    "ミチコ",
    "ユミコ",
    "ヒロミ",
    "マユミ",
    "エミ",
    "ナオミ",
    "アケミ",
    "トモコ",
    "ヤスコ",
    "ジュンコ",
    "ユカリ",
    "メグミ",
    "サチコ",
    "ノリコ",
    "ミホ",
    "カオリ",
    "アユミ",
    "リエ",
    "マサコ",
    "ヨシエ",
    "チエ",
    "クミコ",
];

const DOCTOR_FAMILY: &[&str] = &[
    "山田", "佐藤", "鈴木", "高橋", "田中", "中村", "小林", "加藤", "吉田", "松本",
];
const DOCTOR_GIVEN: &[&str] = &[
    "一郎", "健二", "誠", "裕子", "直美", "修", "恵", "隆", "聡子", "浩",
];

/// A prefecture-level area: name, 2-digit code, first postal digits, cities and towns.
struct Area {
    prefecture: &'static str,
    code: &'static str,
    postal_prefixes: &'static [u16],
    cities: &'static [&'static str],
    towns: &'static [&'static str],
}

const AREAS: &[Area] = &[
    Area {
        prefecture: "東京都",
        code: "13",
        postal_prefixes: &[100, 104, 110, 130, 150, 160, 170, 180, 190],
        cities: &[
            "新宿区",
            "世田谷区",
            "練馬区",
            "八王子市",
            "町田市",
            "江東区",
            "杉並区",
        ],
        towns: &["本町", "中央", "緑が丘", "桜台", "東町", "南町", "若葉"],
    },
    Area {
        prefecture: "大阪府",
        code: "27",
        postal_prefixes: &[530, 540, 550, 560, 570, 580, 590],
        cities: &[
            "大阪市北区",
            "堺市堺区",
            "豊中市",
            "吹田市",
            "枚方市",
            "東大阪市",
        ],
        towns: &["本町", "北町", "新町", "旭町", "花園", "朝日"],
    },
    Area {
        prefecture: "北海道",
        code: "01",
        postal_prefixes: &[60, 40, 70, 80, 90],
        cities: &["札幌市中央区", "旭川市", "函館市", "帯広市", "釧路市"],
        towns: &["北一条", "大町", "栄町", "幸町", "末広"],
    },
    Area {
        prefecture: "福岡県",
        code: "40",
        postal_prefixes: &[810, 812, 802, 830, 820],
        cities: &["福岡市中央区", "北九州市小倉北区", "久留米市", "飯塚市"],
        towns: &["天神", "中央町", "城内", "昭和町", "清水"],
    },
    Area {
        prefecture: "愛知県",
        code: "23",
        postal_prefixes: &[450, 460, 440, 444, 470, 480],
        cities: &["名古屋市中区", "豊橋市", "岡崎市", "一宮市", "春日井市"],
        towns: &["栄", "錦", "大須", "新栄", "丸の内"],
    },
];

/// Full-width digits for addresses and card numbers (ORCA-style).
pub fn full_width_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0xFF10 + (c as u32 - '0' as u32)).unwrap_or(c),
            '-' => '－',
            other => other,
        })
        .collect()
}

/// An address with its postal code `NNN-NNNN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    pub text: String,
    pub postal_code: String,
    /// 2-digit prefecture code (used for institution and insurer numbers).
    pub prefecture_code: &'static str,
}

/// A random address.
pub fn address(rng: &mut Rng) -> PostalAddress {
    let area = rng.pick(AREAS);
    address_in(rng, area)
}

fn address_in(rng: &mut Rng, area: &Area) -> PostalAddress {
    let city = rng.pick(area.cities);
    let town = rng.pick(area.towns);
    let block = format!(
        "{}-{}-{}",
        rng.range(1, 6),
        rng.range(1, 30),
        rng.range(1, 25)
    );
    let prefix = rng.pick(area.postal_prefixes);
    PostalAddress {
        text: format!(
            "{}{}{}{}",
            area.prefecture,
            city,
            town,
            full_width_digits(&block)
        ),
        postal_code: format!(
            "{:03}-{:04}",
            prefix + rng.range(0, 9) as u16,
            rng.range(1, 9999)
        ),
        prefecture_code: area.code,
    }
}

/// 男女区分: 1 male, 2 female.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
        }
    }
}

/// A kana name (no blanks, as ORCA writes it).
pub fn kana_name(rng: &mut Rng, sex: Sex) -> String {
    let family = rng.pick(FAMILY_NAMES);
    let given = match sex {
        Sex::Male => rng.pick(MALE_GIVEN),
        Sex::Female => rng.pick(FEMALE_GIVEN),
    };
    format!("{family}{given}")
}

/// A doctor's name in kanji with a full-width space.
pub fn doctor_name(rng: &mut Rng) -> String {
    format!(
        "{}\u{3000}{}",
        rng.pick(DOCTOR_FAMILY),
        rng.pick(DOCTOR_GIVEN)
    )
}

/// A checkup institution (特定健診機関).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    /// 10 digits: prefecture 2 + kind 1 + 6 + check digit.
    pub number: String,
    pub name: String,
    pub telecom: String,
    pub address: PostalAddress,
}

/// An institution; `number` is used when given (the configured sender).
pub fn institution(rng: &mut Rng, number: Option<&str>) -> Institution {
    let address = address(rng);
    let number = match number {
        Some(n) => n.to_owned(),
        None => {
            // Prefecture code 99 (none has it): an invented number that cannot name a real
            // institution.
            let payload = format!("991{:06}", rng.range(100, 999_999));
            with_check_digit(&payload).unwrap_or(payload)
        }
    };
    const KINDS: &[&str] = &[
        "健診クリニック",
        "総合健診センター",
        "内科医院",
        "健康管理センター",
    ];
    const PLACES: &[&str] = &["さくら", "みどり", "青葉", "中央", "ひかり", "あおぞら"];
    Institution {
        name: format!("{}{}", rng.pick(PLACES), rng.pick(KINDS)),
        telecom: format!(
            "tel:0{}-{:04}-{:04}",
            rng.range(3, 99),
            rng.range(1000, 9999),
            rng.range(0, 9999)
        ),
        number,
        address,
    }
}

/// A default insurer number for an index: 法別 + prefecture + serial + check digit.
pub fn insurer_number(houbetsu: &str, prefecture: &str, serial: u32) -> String {
    let payload = format!("{houbetsu}{prefecture}{:03}", serial % 1000);
    with_check_digit(&payload).unwrap_or(payload)
}

/// The default insurers: a health insurance society, 協会けんぽ, a mutual-aid
/// association and a municipal 国保 (zero-padded 6-digit number). Like the shared examples
/// they use the prefecture code 99, which no prefecture has, so no real insurer is named.
pub fn default_insurers() -> Vec<String> {
    vec![
        insurer_number("06", "99", 201),
        insurer_number("01", "99", 1),
        insurer_number("31", "99", 12),
        insurer_number("00", "99", 101),
    ]
}

/// A person's insurance card (被保険者証).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub insurer: String,
    /// 記号 (full-width digits)
    pub symbol: String,
    /// 番号 (full-width digits)
    pub number: String,
    /// 枝番 (2 digits)
    pub branch: String,
}

pub fn card(rng: &mut Rng, insurer: &str) -> Card {
    Card {
        insurer: insurer.to_owned(),
        symbol: full_width_digits(&format!("{}", rng.range(1, 9999))),
        number: full_width_digits(&format!("{}", rng.range(1, 999_999))),
        branch: format!("{:02}", rng.range(0, 3)),
    }
}

/// A person of the sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub sex: Sex,
    pub name: String,
    /// YYYYMMDD
    pub birth: String,
    pub address: PostalAddress,
    pub card: Card,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_vectors_of_checks_md() {
        for valid in [
            "2813303589",
            "2813300114",
            "2813301351",
            "06137251",
            "06990014",
            "9910000018",
        ] {
            assert!(has_valid_check_digit(valid), "{valid}");
        }
        for invalid in ["2813303588", "06137252"] {
            assert!(!has_valid_check_digit(invalid), "{invalid}");
        }
        assert_eq!(with_check_digit("3312001").as_deref(), Some("33120015"));
        assert!(!has_valid_check_digit(&with_wrong_check_digit("06137251")));
    }

    #[test]
    fn default_insurers_are_valid() {
        for i in default_insurers() {
            assert_eq!(i.len(), 8);
            assert!(has_valid_check_digit(&i), "{i}");
        }
    }
}
