//! Value-format helpers: numeric format masks and byte lengths as the item tables count them.

/// A numeric format mask such as `NNN.N`: at most `integer` digits before the point and at
/// most `decimals` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mask {
    pub integer: u8,
    pub decimals: u8,
}

impl Mask {
    /// Parses `N`, `NNNN`, `NN.NN`, `N.NNN`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Mask> {
        let (int, dec) = match s.split_once('.') {
            Some((i, d)) => (i, d),
            None => (s, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b == b'N') || !dec.bytes().all(|b| b == b'N') {
            return None;
        }
        Some(Mask {
            integer: u8::try_from(int.len()).ok()?,
            decimals: u8::try_from(dec.len()).ok()?,
        })
    }

    /// Whether a PQ `value` as written fits: ASCII digits, at least one before the point,
    /// at most `integer` before and `decimals` after (fewer decimals are accepted).
    pub fn fits(&self, value: &str) -> bool {
        let (int, dec) = match value.split_once('.') {
            Some((i, d)) => (i, Some(d)),
            None => (value, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if int.len() > usize::from(self.integer) {
            return false;
        }
        match dec {
            None => true,
            Some(d) => {
                !d.is_empty()
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && d.len() <= usize::from(self.decimals)
            }
        }
    }

    /// The mask as written (`NNN.N`).
    pub fn as_string(&self) -> String {
        let mut s = "N".repeat(usize::from(self.integer));
        if self.decimals > 0 {
            s.push('.');
            s.push_str(&"N".repeat(usize::from(self.decimals)));
        }
        s
    }

    /// The largest value the mask can hold (e.g. 999.9), for messages.
    pub fn max_value(&self) -> f64 {
        10f64.powi(i32::from(self.integer)) - 10f64.powi(-i32::from(self.decimals))
    }
}

/// Byte length as the item tables count it (文字列換算): half-width characters (ASCII and
/// half-width katakana) 1 byte, everything else (full-width) 2 bytes.
pub fn table_byte_length(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c) {
                1
            } else {
                2
            }
        })
        .sum()
}

/// Parses a PQ value as written (`172.4`) into a number; `None` for anything else.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty()
        || t.len() > 32
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_parse_and_fit() {
        let m = Mask::parse("NNN.N").unwrap();
        assert_eq!((m.integer, m.decimals), (3, 1));
        assert!(m.fits("172.4"));
        assert!(m.fits("78"));
        assert!(m.fits("0.5"));
        assert!(!m.fits(".5"));
        assert!(!m.fits("1000.0"));
        assert!(!m.fits("172.45"));
        assert!(!m.fits("172."));
        assert!(!m.fits("-1"));
        assert!(!m.fits("1e3"));
        assert!(!m.fits(""));
        let i = Mask::parse("NNNN").unwrap();
        assert!(i.fits("2000"));
        assert!(!i.fits("100.5"));
        assert_eq!(Mask::parse("N.NNN").unwrap().as_string(), "N.NNN");
        assert!(Mask::parse("256").is_none());
        assert!((m.max_value() - 999.9).abs() < 1e-9);
    }

    #[test]
    fn full_width_counts_two_bytes() {
        assert_eq!(table_byte_length("abc"), 3);
        assert_eq!(table_byte_length("見本"), 4);
        assert_eq!(table_byte_length("ｱｲｳ"), 3);
        assert_eq!(table_byte_length("Ａ1"), 3);
    }
}
