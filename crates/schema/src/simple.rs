//! Checking one text or attribute value against a simple type: whitespace handling, the
//! lexical space of the primitive, then patterns, enumerations, lengths and integer bounds,
//! in the order XML Schema applies them.

use std::borrow::Cow;

use crate::model::{Atomic, Prim, Simple, Ws};

/// XML whitespace (the only characters XML Schema's whitespace facet touches).
#[inline]
pub(crate) fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `s` without leading and trailing XML whitespace.
#[inline]
pub(crate) fn trim_xml_ws(s: &str) -> &str {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !ws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    // both ends sit next to ASCII bytes, hence on character boundaries
    s.get(start..end).unwrap_or("")
}

/// Whether `s` is empty or only XML whitespace.
#[inline]
pub(crate) fn all_xml_ws(s: &str) -> bool {
    // indentation is a line break and runs of spaces: eight bytes are compared at once, and
    // only a word that is not all spaces is looked at byte by byte
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let b = s.as_bytes();
    let mut words = b.chunks_exact(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        if u64::from_ne_bytes(w) != SPACES && !chunk.iter().all(ws) {
            return false;
        }
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return true;
    }
    // the last eight bytes, overlapping words already seen, cover the rest in one comparison
    if let Some(last) = b.len().checked_sub(8).and_then(|from| b.get(from..)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(last);
        if u64::from_ne_bytes(w) == SPACES {
            return true;
        }
    }
    rest.iter().all(ws)
}

fn normalize(value: &str, ws: Ws) -> Cow<'_, str> {
    match ws {
        Ws::Preserve => Cow::Borrowed(value),
        Ws::Replace => {
            if value.contains(['\t', '\n', '\r']) {
                Cow::Owned(value.replace(['\t', '\n', '\r'], " "))
            } else {
                Cow::Borrowed(value)
            }
        }
        Ws::Collapse => {
            let trimmed = trim_xml_ws(value);
            // one pass: a tab or line break, or two spaces in a row, need rewriting
            let mut prev_space = false;
            let needs_work = trimmed.bytes().any(|b| {
                let hit = matches!(b, b'\t' | b'\n' | b'\r') || (b == b' ' && prev_space);
                prev_space = b == b' ';
                hit
            });
            if !needs_work {
                return Cow::Borrowed(trimmed);
            }
            let mut out = String::with_capacity(trimmed.len());
            let mut in_ws = false;
            for c in trimmed.chars() {
                if is_xml_ws(c) {
                    in_ws = true;
                } else {
                    if in_ws {
                        out.push(' ');
                    }
                    in_ws = false;
                    out.push(c);
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Checks `value` against `ty` (of the set given by `v2024`). `Err` explains what is wrong,
/// phrased to follow "`value` ...".
pub(crate) fn check(ty: &Simple, value: &str, v2024: bool) -> Result<(), String> {
    match ty {
        Simple::Atomic(a) => check_atomic(a, value),
        Simple::BySet(old, new) => check(if v2024 { new } else { old }, value, v2024),
        Simple::Union(name, members) => {
            if members.iter().any(|m| check(m, value, v2024).is_ok()) {
                Ok(())
            } else {
                Err(format!("is not a valid `{name}`"))
            }
        }
        Simple::List(name, item, min_items) => {
            let mut count = 0u32;
            for token in value.split(is_xml_ws).filter(|t| !t.is_empty()) {
                count += 1;
                if let Err(why) = check(item, token, v2024) {
                    return Err(format!("is not a valid `{name}`: item `{token}` {why}"));
                }
            }
            match min_items {
                Some(min) if count < *min => Err(format!(
                    "is not a valid `{name}`: needs at least {min} item(s)"
                )),
                _ => Ok(()),
            }
        }
    }
}

/// Whether `ty` is xs:ID (values must be unique in the document).
pub(crate) fn is_id(ty: &Simple) -> bool {
    matches!(ty, Simple::Atomic(Atomic { prim: Prim::Id, .. }))
}

/// Whether `value` equals the fixed value `fixed` in the value space of `ty`.
pub(crate) fn same_value(ty: &Simple, value: &str, fixed: &str) -> bool {
    let ws = match ty {
        Simple::Atomic(a) => a.ws,
        Simple::Union(_, [Simple::Atomic(first), ..]) => first.ws,
        _ => Ws::Collapse,
    };
    match ty {
        Simple::Atomic(Atomic {
            prim: Prim::Boolean,
            ..
        }) => {
            let v = normalize(value, ws);
            let truthy = |s: &str| s == "true" || s == "1";
            truthy(&v) == truthy(fixed)
        }
        _ => normalize(value, ws) == normalize(fixed, ws),
    }
}

fn check_atomic(a: &Atomic, raw: &str) -> Result<(), String> {
    let value = normalize(raw, a.ws);
    let value: &str = &value;
    lexical(a, value)?;
    for p in a.patterns {
        if !(p.matches)(value) {
            return Err(format!("does not match pattern {}", p.text));
        }
    }
    if !a.enumeration.is_empty() && !one_of(a.enumeration, value) {
        return Err(format!("is not one of {}", list_values(a.enumeration)));
    }
    if a.min_len == Some(1) && a.max_len.is_none() {
        // `st`: only emptiness matters, no need to count characters
        if value.is_empty() {
            return Err("is shorter than 1 character(s)".to_string());
        }
    } else if a.min_len.is_some() || a.max_len.is_some() {
        let len = value.chars().count() as u32;
        if let Some(min) = a.min_len
            && len < min
        {
            return Err(format!("is shorter than {min} character(s)"));
        }
        if let Some(max) = a.max_len
            && len > max
        {
            return Err(format!("is longer than {max} character(s)"));
        }
    }
    if a.min.is_some() || a.max.is_some() {
        let n = integer_value(value);
        let lo = a.min.map(i128::from).unwrap_or(i128::MIN);
        let hi = a.max.map(i128::from).unwrap_or(i128::MAX);
        if n < lo || n > hi {
            let lo = a.min.map(|v| v.to_string()).unwrap_or_default();
            let hi = a.max.map(|v| v.to_string()).unwrap_or_default();
            return Err(format!("is outside the range {lo}..={hi}"));
        }
    }
    Ok(())
}

/// Enumeration membership, comparing length and first byte before the bytes.
#[inline]
fn one_of(values: &[&str], value: &str) -> bool {
    let v = value.as_bytes();
    let Some(&first) = v.first() else {
        return values.contains(&"");
    };
    values.iter().any(|e| {
        let e = e.as_bytes();
        e.len() == v.len() && e[0] == first && e == v
    })
}

fn list_values(values: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut out = String::new();
    for (i, v) in values.iter().take(SHOWN).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(v);
        out.push('`');
    }
    if values.len() > SHOWN {
        out.push_str(&format!(" … ({} values)", values.len()));
    }
    out
}

/// The value of a lexically valid xs:integer, saturating far outside the i64 range.
fn integer_value(value: &str) -> i128 {
    let (neg, digits) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let digits = digits.trim_start_matches('0');
    let magnitude: i128 = if digits.len() > 30 {
        i128::MAX / 2
    } else {
        digits.parse().unwrap_or(0)
    };
    if neg { -magnitude } else { magnitude }
}

fn lexical(a: &Atomic, v: &str) -> Result<(), String> {
    let ok = match a.prim {
        Prim::String | Prim::AnyUri => true,
        Prim::Integer => is_integer(v),
        Prim::Decimal => is_decimal(v),
        Prim::Double => is_double(v),
        Prim::Boolean => matches!(v, "true" | "false" | "1" | "0"),
        Prim::Base64 => is_base64(v),
        Prim::NmToken => !v.is_empty() && v.chars().all(is_name_char),
        Prim::Id | Prim::IdRef => is_ncname(v),
    };
    if ok {
        Ok(())
    } else {
        let what = match a.prim {
            Prim::Integer => "an integer",
            Prim::Decimal => "a decimal number",
            Prim::Double => "a number",
            Prim::Boolean => "a boolean (true, false, 1 or 0)",
            Prim::Base64 => "base64 data",
            Prim::NmToken => "a name token",
            Prim::Id | Prim::IdRef => "an XML name without colon",
            Prim::String | Prim::AnyUri => "a string",
        };
        Err(format!("is not {what}"))
    }
}

pub(crate) fn is_integer(v: &str) -> bool {
    let d = v.strip_prefix(['+', '-']).unwrap_or(v);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_decimal(v: &str) -> bool {
    let d = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (int, frac) = match d.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (d, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
    }
}

pub(crate) fn is_double(v: &str) -> bool {
    if matches!(v, "INF" | "-INF" | "NaN") {
        return true;
    }
    match v.find(['e', 'E']) {
        Some(at) => is_decimal(&v[..at]) && is_integer(&v[at + 1..]),
        None => is_decimal(v),
    }
}

fn is_base64(v: &str) -> bool {
    let mut chars = 0usize;
    let mut pad = 0usize;
    for c in v.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' if pad == 0 => chars += 1,
            '=' => pad += 1,
            c if is_xml_ws(c) => {}
            _ => return false,
        }
    }
    pad <= 2 && (chars + pad).is_multiple_of(4)
}

/// Name characters close to the XML 1.0 (4th edition) classes libxml2 uses: letters and
/// ideographs start a name; digits (not the fullwidth ones), `-`, `.` and `·` may follow.
fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || c.is_ascii_digit()
        || matches!(c, '-' | '.' | '\u{B7}')
        || (!c.is_ascii() && c.is_numeric() && !('\u{FF10}'..='\u{FF19}').contains(&c))
}

fn is_ncname(v: &str) -> bool {
    let mut chars = v.chars();
    match chars.next() {
        Some(c) if is_name_start(c) && c != ':' => chars.all(|c| is_name_char(c) && c != ':'),
        _ => false,
    }
}

// ---- pattern helpers used by the rule files (XML Schema patterns are anchored) ----

/// `s` is `min..=max` ASCII digits.
pub(crate) fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `[0-2](\.(0|[1-9][0-9]*))*`: a dotted OID whose arcs have no leading zeros.
pub(crate) fn is_oid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !matches!(b[0], b'0'..=b'2') {
        return false;
    }
    // state after the first arc: each further arc is '.', then '0' alone or [1-9][0-9]*
    let mut i = 1;
    while i < b.len() {
        if b[i] != b'.' {
            return false;
        }
        i += 1;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
    true
}

/// `[^\s]+`: at least one character, none of them whitespace.
pub(crate) fn no_whitespace(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time check against the plain definition, for every length up to three
    /// words and every position of a non-whitespace byte.
    #[test]
    fn all_xml_ws_agrees_with_the_definition() {
        let plain = |s: &str| s.chars().all(is_xml_ws);
        for len in 0..25 {
            for fill in [" ", "\t", "\n", "\r"] {
                let mut base: Vec<String> = vec![" ".to_string(); len];
                if len > 0 {
                    base[0] = "\n".to_string();
                    base[len - 1] = fill.to_string();
                }
                let text: String = base.concat();
                assert_eq!(all_xml_ws(&text), plain(&text), "{text:?}");
                for at in 0..len {
                    for odd in ["x", "\u{3000}", "\u{0b}", "\u{0}"] {
                        let mut t = base.clone();
                        t[at] = odd.to_string();
                        let text: String = t.concat();
                        assert!(!all_xml_ws(&text), "{text:?}");
                        assert_eq!(all_xml_ws(&text), plain(&text), "{text:?}");
                    }
                }
            }
        }
    }
}
