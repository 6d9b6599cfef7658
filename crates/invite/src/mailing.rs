//! Mailing lists for print and mail vendors (宛名データ), sorted by postal code, and the
//! counts for Japan Post's barcode discount (BUSINESS.md §7.3).
//!
//! * Order: postal code, then address, then card — [`sort_for_mailing`] puts letters in
//!   this order before they are rendered, so the PDF pages and the list match.
//! * Members flagged 宛所不明 (returned mail) or without a postal code and address are not
//!   mailable ([`mailable`]): they are left out of the list and named in
//!   [`Mailing::unmailable`], never silently dropped.
//! * UTF-8 CSV ([`write_csv_utf8`], with BOM so spreadsheet software reads it) and Shift_JIS
//!   (CP932) CSV ([`write_csv_sjis`]). CP932 cannot carry every name (𠮷 U+20BB7 is outside
//!   it; 髙 and 﨑 are inside it). Nothing is mangled silently: with
//!   [`SjisPolicy::Refuse`] such a row is a row-level error and no file is produced; with
//!   [`SjisPolicy::Mark`] the character is written as 〓 (the JIS substitution mark) and
//!   the row's `gaiji` column lists the original code points (`U+20BB7`) so the vendor
//!   prints them as 外字.
//! * Discount: 3 % for barcoded standard letters when at least 1,000 items of the same
//!   shape and weight are posted at once (料金別納/後納). All letters of a run share one
//!   shape (長3 envelope, one A4 sheet), so the rule reduces to counting barcoded items;
//!   items without a barcode are posted apart at the ordinary rate.

use crate::barcode::CustomerBarcode;
use crate::roster::{CardKey, Member};
use serde::{Deserialize, Serialize};

/// Whether a letter can be posted to this member (address known, not returned before).
pub fn mailable(m: &Member) -> bool {
    !m.returned_mail && m.postal_code.len() == 7 && !m.address1.is_empty()
}

/// Sorts items by the mailing order (postal code, address, card) of their member.
pub fn sort_for_mailing<T>(items: &mut [T], member: impl Fn(&T) -> &Member) {
    items.sort_by(|a, b| {
        let (a, b) = (member(a), member(b));
        (
            &a.postal_code,
            &a.address1,
            &a.address2,
            &a.address3,
            &a.card,
        )
            .cmp(&(
                &b.postal_code,
                &b.address1,
                &b.address2,
                &b.address3,
                &b.card,
            ))
    });
}

/// One letter to post: its member, voucher number and where it was printed.
#[derive(Debug, Clone, Copy)]
pub struct MailItem<'a> {
    pub member: &'a Member,
    /// 受診券整理番号 printed in the letter
    pub voucher_number: &'a str,
    /// PDF file name of the batch
    pub file: &'a str,
    /// Page in that file (1-based)
    pub page: usize,
}

/// One row of the mailing list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailingRow {
    /// 1-based position in postal-code order
    pub seq: usize,
    /// `NNN-NNNN`
    pub postal_code: String,
    pub address1: String,
    pub address2: String,
    pub address3: String,
    pub name: String,
    pub name_kana: String,
    pub card: CardKey,
    pub voucher_number: String,
    /// Customer barcode in readable form (`1000013 1-3-2-503CC4CC4CC4CC4 9`).
    pub barcode: String,
    pub file: String,
    pub page: usize,
}

/// A mailing list and its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailing {
    pub rows: Vec<MailingRow>,
    /// Left out: returned mail (宛所不明) or no postal code / address.
    pub unmailable: Vec<CardKey>,
    pub discount: BarcodeDiscount,
}

/// Counts for the barcode discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarcodeDiscount {
    /// Items on the list.
    pub items: usize,
    /// Items carrying a customer barcode.
    pub barcoded: usize,
    /// Barcoded items reach the 1,000-item minimum.
    pub eligible: bool,
    /// Discount in per mille when eligible (30 = 3 %), else 0.
    pub rate_permille: u32,
}

/// Japan Post's minimum number of same-shape barcoded items.
pub const DISCOUNT_MINIMUM: usize = 1_000;

impl BarcodeDiscount {
    /// Counts `barcoded` of `items`.
    pub fn new(items: usize, barcoded: usize) -> BarcodeDiscount {
        let eligible = barcoded >= DISCOUNT_MINIMUM;
        BarcodeDiscount {
            items,
            barcoded,
            eligible,
            rate_permille: if eligible { 30 } else { 0 },
        }
    }
    /// The discount in yen on `postage_yen` per barcoded item (rounded down; an estimate:
    /// the post office computes it on the posting slip).
    pub fn saving_yen(&self, postage_yen: u64) -> u64 {
        self.barcoded as u64 * postage_yen * u64::from(self.rate_permille) / 1000
    }
}

/// Builds the mailing list in postal-code order.
pub fn build_mailing(items: &[MailItem<'_>]) -> Mailing {
    let mut items: Vec<MailItem<'_>> = items.to_vec();
    sort_for_mailing(&mut items, |i| i.member);
    let mut rows = Vec::new();
    let mut unmailable = Vec::new();
    let mut barcoded = 0;
    for i in items {
        let m = i.member;
        if !mailable(m) {
            unmailable.push(m.card.clone());
            continue;
        }
        let barcode = CustomerBarcode::new(&m.postal_code, &m.address_b())
            .map(|b| b.text())
            .unwrap_or_default();
        if !barcode.is_empty() {
            barcoded += 1;
        }
        rows.push(MailingRow {
            seq: rows.len() + 1,
            postal_code: format!("{}-{}", &m.postal_code[..3], &m.postal_code[3..]),
            address1: m.address1.clone(),
            address2: m.address2.clone(),
            address3: m.address3.clone(),
            name: m.name.clone(),
            name_kana: m.name_kana.clone(),
            card: m.card.clone(),
            voucher_number: i.voucher_number.to_string(),
            barcode,
            file: i.file.to_string(),
            page: i.page,
        });
    }
    let discount = BarcodeDiscount::new(rows.len(), barcoded);
    Mailing {
        rows,
        unmailable,
        discount,
    }
}

/// The CSV header (the Shift_JIS file adds `gaiji`).
pub const HEADER: [&str; 14] = [
    "seq",
    "postal_code",
    "address1",
    "address2",
    "address3",
    "name",
    "name_kana",
    "card_symbol",
    "card_number",
    "card_branch",
    "voucher_number",
    "barcode",
    "file",
    "page",
];

fn fields(r: &MailingRow) -> [String; 14] {
    [
        r.seq.to_string(),
        r.postal_code.clone(),
        r.address1.clone(),
        r.address2.clone(),
        r.address3.clone(),
        r.name.clone(),
        r.name_kana.clone(),
        r.card.symbol.clone(),
        r.card.number.clone(),
        r.card.branch.clone(),
        r.voucher_number.clone(),
        r.barcode.clone(),
        r.file.clone(),
        r.page.to_string(),
    ]
}

/// UTF-8 CSV with a BOM.
pub fn write_csv_utf8(rows: &[MailingRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(HEADER)?;
    for r in rows {
        w.write_record(fields(r))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// What to do with characters Shift_JIS (CP932) cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SjisPolicy {
    /// Refuse the export with a row-level error per affected cell.
    Refuse,
    /// Write 〓 and list the code points in the `gaiji` column.
    Mark,
}

/// A cell that Shift_JIS cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SjisError {
    /// Row number in the list (`seq`).
    pub seq: usize,
    pub column: String,
    /// The characters outside CP932, e.g. `U+20BB7 𠮷`.
    pub chars: Vec<String>,
    pub ja: String,
    pub en: String,
}

/// Why the Shift_JIS export failed.
#[derive(Debug, thiserror::Error)]
pub enum SjisExportError {
    #[error("{} cell(s) have characters outside Shift_JIS (CP932); first: row {}, {}", .0.len(), .0.first().map(|e| e.seq).unwrap_or(0), .0.first().map(|e| e.column.as_str()).unwrap_or(""))]
    Unmappable(Vec<SjisError>),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// Characters of `s` outside CP932.
fn outside_cp932(s: &str) -> Vec<char> {
    let mut buf = [0u8; 4];
    s.chars()
        .filter(|c| {
            let (_, _, bad) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
            bad
        })
        .collect()
}

/// Shift_JIS (CP932) CSV with a trailing `gaiji` column.
pub fn write_csv_sjis(rows: &[MailingRow], policy: SjisPolicy) -> Result<Vec<u8>, SjisExportError> {
    let mut errors = Vec::new();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = HEADER.to_vec();
    header.push("gaiji");
    w.write_record(&header)?;
    for r in rows {
        let mut cells: Vec<String> = Vec::with_capacity(15);
        let mut gaiji: Vec<String> = Vec::new();
        for (col, value) in HEADER.iter().zip(fields(r)) {
            let bad = outside_cp932(&value);
            if bad.is_empty() {
                cells.push(value);
                continue;
            }
            let listed: Vec<String> = bad
                .iter()
                .map(|c| format!("U+{:04X} {c}", *c as u32))
                .collect();
            if policy == SjisPolicy::Refuse {
                errors.push(SjisError {
                    seq: r.seq,
                    column: (*col).to_string(),
                    ja: format!(
                        "Shift_JIS(CP932)で表せない文字があります: {}",
                        listed.join(", ")
                    ),
                    en: format!(
                        "characters outside Shift_JIS (CP932): {}",
                        listed.join(", ")
                    ),
                    chars: listed,
                });
                // Nothing is written when any cell is refused; keep the row shape.
                cells.push(String::new());
            } else {
                for c in &bad {
                    let code = format!("{col}:U+{:04X}", *c as u32);
                    if !gaiji.contains(&code) {
                        gaiji.push(code);
                    }
                }
                cells.push(
                    value
                        .chars()
                        .map(|c| if bad.contains(&c) { '〓' } else { c })
                        .collect(),
                );
            }
        }
        cells.push(gaiji.join(" "));
        w.write_record(&cells)?;
    }
    if !errors.is_empty() {
        return Err(SjisExportError::Unmappable(errors));
    }
    let text = w
        .into_inner()
        .map_err(|e| SjisExportError::Csv(e.into_error().into()))?;
    // Every character is CP932 now (checked above), so encoding cannot replace anything.
    let text = String::from_utf8_lossy(&text);
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    Ok(bytes.into_owned())
}
