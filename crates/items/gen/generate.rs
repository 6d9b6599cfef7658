// Core of the item-data generator (see examples/gen_items.rs for what it derives and why).
// Shared by the example binary and by tests/reference.rs, which checks the shipped files
// are up to date.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// Minimal RFC 4180 reader: quoted fields may hold commas, quotes and newlines.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn read(dir: &Path, name: &str) -> Result<Vec<Vec<String>>, String> {
    let p = dir.join(name);
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(parse_csv(&text))
}

fn col(row: &[String], i: usize) -> String {
    row.get(i).map(|s| clean(s)).unwrap_or_default()
}

/// One line of text, no tabs, trimmed; full-width digits made ASCII.
fn clean(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect();
    s.trim().to_string()
}

/// Code values listed in a note: runs of digits at the start or after a separator,
/// followed by a colon (or directly by a label, as in "、5その他").
fn note_codes(note: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = note.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_start =
            i == 0 || matches!(chars[i - 1], '、' | '､' | ',' | '，' | '。' | ' ' | '　');
        if at_start && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let next = chars.get(j).copied();
            let label_start = match next {
                Some(':') | Some('：') => Some(j + 1),
                Some(c) if !c.is_ascii() && c != '.' && c != '．' => Some(j),
                _ => None,
            };
            if let Some(ls) = label_start {
                let mut k = ls;
                // A label ends at the next list separator, or at ". " where a remark follows.
                while k < chars.len()
                    && !matches!(chars[k], '、' | '､' | '，' | '。')
                    && !(chars[k] == '.' && chars.get(k + 1) == Some(&' '))
                {
                    k += 1;
                }
                let code: String = chars[i..j].iter().collect();
                let label: String = chars[ls..k].iter().collect::<String>().trim().to_string();
                out.push((code, label));
                i = k;
                continue;
            }
        }
        i += 1;
    }
    out
}

struct Row24 {
    case01: String,
    depend: String,
    positive: String,
}

fn positive(abnormal: &str, flag: &str) -> String {
    if abnormal.is_empty() {
        return String::new();
    }
    match flag {
        "2" => format!("={abnormal}"),
        "3" => format!(">={abnormal}"),
        "4" => format!("!={abnormal}"),
        _ => String::new(),
    }
}

fn requirement(case01: &str) -> String {
    match case01 {
        "1" => "mandatory".into(),
        "2" => "detail".into(),
        "0" => "unused".into(),
        "" => "optional".into(),
        c if c.chars().all(|ch| ch.is_ascii_alphabetic()) => format!("oneof:{c}"),
        _ => "optional".into(),
    }
}

const CHECKUP_HEADER: &str = "code\tidentity\tname\ttype\tunit\tmask\tmax_bytes\tresult_system\trequirement\tdepends_on\tpositive\tseries_group\tseries_relation\tmethod\tauthor_item\tset";

/// Byte length a mask allows (digits plus the point), as the tables count it.
fn mask_bytes(mask: &str) -> String {
    if mask.is_empty() {
        String::new()
    } else {
        mask.chars().count().to_string()
    }
}

pub fn run(src: &Path, dst: &Path) -> Result<(), String> {
    let t18 = read(src, "XMLhc18tab.csv")?;
    let t24 = read(src, "XMLhc24tab.csv")?;
    let e24 = read(src, "XMLhc24ext.csv")?;
    let g18 = read(src, "XMLhg18tab.csv")?;
    let mut values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    // FY2024: basic table then additional items; rows 0-2 are headers.
    let mut out24 = String::new();
    writeln!(
        out24,
        "# daiko item master, specific health checkup items, FY2024 and later (第4期)."
    )
    .ok();
    writeln!(out24, "# Generated by crates/items/examples/gen_items.rs from the MHLW FY2024 item tables; do not edit by hand.").ok();
    writeln!(out24, "# requirement: from the specific-checkup column; identity: first 5 characters of the code; positive: answer that makes dependants expected.").ok();
    writeln!(out24, "{CHECKUP_HEADER}").ok();
    let mut by_code24: HashMap<String, Row24> = HashMap::new();
    for (rows, set) in [(&t24, "basic"), (&e24, "additional")] {
        for row in rows.iter().skip(3) {
            let code = col(row, 15);
            if code.len() != 17 {
                continue;
            }
            let ty = col(row, 18);
            let format = col(row, 17);
            let (mask, max_bytes) = match ty.as_str() {
                "ST" => (String::new(), format.clone()),
                _ => (format.clone(), mask_bytes(&format)),
            };
            let case01 = col(row, 3);
            let req = if set == "additional" {
                "additional".to_string()
            } else {
                requirement(&case01)
            };
            let pos = positive(&col(row, 31), &col(row, 32));
            let system = col(row, 29);
            if !system.is_empty() {
                for (c, l) in note_codes(&col(row, 28)) {
                    values
                        .entry(system.clone())
                        .or_default()
                        .entry(c)
                        .or_insert(l);
                }
            }
            let relation = col(row, 24);
            let fields = [
                code.clone(),
                code[..5].to_string(),
                col(row, 16),
                ty,
                col(row, 20),
                mask,
                max_bytes,
                system,
                req,
                col(row, 25),
                pos.clone(),
                col(row, 23),
                relation,
                col(row, 26),
                col(row, 22),
                set.to_string(),
            ];
            writeln!(out24, "{}", fields.join("\t")).ok();
            by_code24.insert(
                code,
                Row24 {
                    case01,
                    depend: col(row, 25),
                    positive: pos,
                },
            );
        }
    }

    // FY2018: row 0 is the header.
    let mut out18 = String::new();
    writeln!(
        out18,
        "# daiko item master, specific health checkup items, FY2018-FY2023 (第3期)."
    )
    .ok();
    writeln!(out18, "# Generated by crates/items/examples/gen_items.rs from the MHLW FY2018 item table; do not edit by hand.").ok();
    writeln!(out18, "# The FY2018 table has no requirement/dependency/abnormal columns: requirement, depends_on and positive are taken from the FY2024 row of the same code (optional when the code is FY2018-only); src/rules.rs holds the year differences.").ok();
    writeln!(out18, "{CHECKUP_HEADER}").ok();
    for row in t18.iter().skip(1) {
        let code = col(row, 3);
        if code.len() != 17 {
            continue;
        }
        let ty = col(row, 6);
        let (req, dep, pos) = match by_code24.get(&code) {
            Some(r) => (requirement(&r.case01), r.depend.clone(), r.positive.clone()),
            None => ("optional".to_string(), String::new(), String::new()),
        };
        let mask = if ty == "ST" {
            String::new()
        } else {
            col(row, 8)
        };
        let fields = [
            code.clone(),
            col(row, 14),
            col(row, 4),
            ty,
            col(row, 10),
            mask,
            col(row, 7),
            col(row, 18),
            req,
            dep,
            pos,
            col(row, 12),
            col(row, 13),
            col(row, 16),
            col(row, 11),
            "basic".to_string(),
        ];
        writeln!(out18, "{}", fields.join("\t")).ok();
    }

    // Guidance FY2018: row 0 is the header.
    let mut outg = String::new();
    writeln!(
        outg,
        "# daiko item master, specific health guidance items (FY2018 table, used for every year)."
    )
    .ok();
    writeln!(outg, "# Generated by crates/items/examples/gen_items.rs from the MHLW FY2018 guidance item table; do not edit by hand.").ok();
    writeln!(
        outg,
        "# max_bytes: from the note (\"N バイト\", or \"N 文字\" counted as 2 bytes each)."
    )
    .ok();
    writeln!(
        outg,
        "code\tname\ttype\tunit\tresult_system\tact_mood\tobservation_mood\tmax_bytes"
    )
    .ok();
    let mut seen = BTreeSet::new();
    for row in g18.iter().skip(1) {
        let code = col(row, 2);
        if code.len() != 10 || !seen.insert(code.clone()) {
            continue;
        }
        let note = col(row, 11);
        let system = col(row, 10);
        if !system.is_empty() {
            for (c, l) in note_codes(&note) {
                values
                    .entry(system.clone())
                    .or_default()
                    .entry(c)
                    .or_insert(l);
            }
        }
        let max_bytes = note_limit(&note);
        let obs_mood = col(row, 8);
        let fields = [
            code,
            col(row, 3),
            col(row, 5),
            col(row, 9),
            system,
            col(row, 6),
            if obs_mood == "-" {
                String::new()
            } else {
                obs_mood
            },
            max_bytes,
        ];
        writeln!(outg, "{}", fields.join("\t")).ok();
    }

    let mut outv = String::new();
    writeln!(outv, "# daiko code values per result code system, collected from the notes of the MHLW FY2024 checkup and FY2018 guidance item tables.").ok();
    writeln!(outv, "# Generated by crates/items/examples/gen_items.rs; do not edit by hand. Year-specific sets are overridden in src/rules.rs.").ok();
    writeln!(outv, "code_system\tcode\tlabel").ok();
    for (system, codes) in &values {
        for (c, l) in codes {
            writeln!(outv, "{system}\t{c}\t{l}").ok();
        }
    }

    std::fs::create_dir_all(dst).map_err(|e| e.to_string())?;
    for (name, text) in [
        ("checkup_fy2018.tsv", out18),
        ("checkup_fy2024.tsv", out24),
        ("guidance_fy2018.tsv", outg),
        ("code_values.tsv", outv),
    ] {
        std::fs::write(dst.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn note_limit(note: &str) -> String {
    let digits_before = |marker: &str| -> Option<u32> {
        let idx = note.find(marker)?;
        let head = &note[..idx];
        let d: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let d: String = d.chars().rev().collect();
        d.parse().ok()
    };
    if let Some(b) = digits_before("バイト") {
        return b.to_string();
    }
    if let Some(c) = digits_before("文字") {
        return (c * 2).to_string();
    }
    String::new()
}
