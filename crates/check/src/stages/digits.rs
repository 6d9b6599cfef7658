//! Check digits of institution and insurer numbers (CHECKS.md §13.2).
//!
//! Both end in a mod-10 "Luhn" digit: from the right of the payload, double every other
//! digit starting with the rightmost, add the digit sums, check = (10 − sum mod 10) mod 10.

/// The check digit of `payload` (ASCII digits), or `None` when it holds anything else or
/// is empty.
pub fn luhn_check_digit(payload: &str) -> Option<u8> {
    if payload.is_empty() || !payload.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, b) in payload.bytes().rev().enumerate() {
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 {
            let x = d * 2;
            x / 10 + x % 10
        } else {
            d
        };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether `number` (all ASCII digits, at least 2) ends in the check digit of the rest.
pub fn has_valid_check_digit(number: &str) -> bool {
    let Some((last, payload)) = number.as_bytes().split_last() else {
        return false;
    };
    if !last.is_ascii_digit() {
        return false;
    }
    // `payload` is a prefix of a &str cut before an ASCII byte: still valid UTF-8.
    let payload = &number[..payload.len()];
    luhn_check_digit(payload) == Some(last - b'0')
}

/// 特定健診機関番号 / 特定保健指導機関番号: exactly 10 digits with a valid check digit.
pub fn is_valid_institution_number(number: &str) -> bool {
    number.len() == 10 && has_valid_check_digit(number)
}

/// 保険者番号: exactly 8 digits (zero-padded) with a valid check digit.
pub fn is_valid_insurer_number(number: &str) -> bool {
    number.len() == 8 && has_valid_check_digit(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_of_checks_md() {
        for n in [
            "2813303589",
            "2813300114",
            "2813301351",
            "6631111116",
            "5521111111",
        ] {
            assert!(is_valid_institution_number(n), "{n}");
        }
        for n in ["06137251", "06132013", "00280081", "00010017", "01130012"] {
            assert!(is_valid_insurer_number(n), "{n}");
        }
        assert!(!is_valid_institution_number("2813303588"));
        assert!(!is_valid_insurer_number("06137252"));
        assert!(!is_valid_insurer_number("0613725"));
        assert!(!is_valid_institution_number("28133035８9"));
        assert!(!has_valid_check_digit(""));
    }
}
