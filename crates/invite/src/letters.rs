//! Invitation letters (受診案内) with the voucher (受診券) as A4 PDF, many letters per file.
//!
//! ## Page (A4 portrait, 210 × 297 mm; one page per member)
//!
//! * **Address block** for a 長3 window envelope (120 × 235 mm, A4 folded in three): the
//!   window is taken as 90 × 45 mm at 23 mm from the left and 13 mm from the top edge of
//!   the sheet (the usual 長3 window). The block is printed inside it at
//!   [`ADDRESS_X_MM`] = 25 mm from the left, [`ADDRESS_TOP_MM`] = 16 mm from the top,
//!   [`ADDRESS_WIDTH_MM`] = 85 mm wide: 〒 postal code, address lines, name + 様, and the
//!   customer barcode under the address (Japan Post 10-point size: bar 0.6 mm wide, pitch
//!   1.2 mm, long bar 3.6 mm; 67 bars = 80.4 mm). Members without a postal code get no
//!   barcode (and do not count for the discount, see [`crate::mailing`]). Long addresses
//!   are set smaller (10.5 → 7.5 pt) so the block stays inside the window; one that does
//!   not fit even then is refused ([`LetterError::AddressTooLong`]).
//! * **Sender** (insurer) top right, with the issue date.
//! * **Letter** below the first fold (from 103 mm): title and the body of the insurer's
//!   template ([`LetterTemplate`]) with placeholders filled in.
//! * **Voucher** (受診券) below a cut line at [`VOUCHER_TOP_MM`] = 196 mm: number, expiry,
//!   name, sex, birth date, insurer, card, co-payment per category.
//!
//! A body that would run into the voucher part is refused ([`LetterError::BodyTooLong`]),
//! never cut silently.
//!
//! ## Template placeholders
//!
//! `{氏名}` `{氏名カナ}` `{年度}` `{受診券整理番号}` `{有効期限}` `{自己負担}` (basic checkup)
//! `{自己負担_詳細}` `{自己負担_追加}` `{自己負担_ドック}` `{保険者名}` `{保険者番号}` `{記号}`
//! `{番号}` `{生年月日}` `{発行日}`; `{{` and `}}` print braces. An unknown placeholder or
//! an unclosed brace is an error when the template is compiled ([`LetterTemplate::compile`]),
//! so an insurer's edit is checked before any letter is printed. Paragraphs are separated
//! by blank lines.
//!
//! ## Speed
//!
//! One [`Fonts`] (load once per process) serves every batch; the template is compiled once
//! per batch; pages are laid out in memory and written once per file, so fonts are
//! subset once per file. `examples/letters_bench.rs` measures letters per second.

use crate::barcode::{Bar, CustomerBarcode};
use crate::roster::{Member, Sex};
use crate::vouchers::{IssuedVoucher, VoucherKind, copayment_text};
use daiko_pdf::layout::{Align, Cell, Color, Column, Decor, Layout, PageSpec, Style, Table, mm};
use daiko_pdf::{Fonts, PdfError};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Left edge of the address block, mm from the sheet's left edge.
pub const ADDRESS_X_MM: f32 = 25.0;
/// Top of the address block, mm from the sheet's top edge.
pub const ADDRESS_TOP_MM: f32 = 16.0;
/// Width of the address block, mm.
pub const ADDRESS_WIDTH_MM: f32 = 85.0;
/// Top of the voucher part (cut line), mm from the top edge.
pub const VOUCHER_TOP_MM: f32 = 196.0;
/// Where the letter body starts, mm from the top (below the first fold at 99 mm).
pub const BODY_TOP_MM: f32 = 103.0;
/// Letters per PDF file the CLI is expected to use.
pub const DEFAULT_BATCH: usize = 1000;

/// Barcode size at Japan Post's 10-point standard (mm).
const BAR_WIDTH_MM: f32 = 0.6;
const BAR_PITCH_MM: f32 = 1.2;
const BAR_HEIGHT_MM: f32 = 3.6;

/// The insurer's editable letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterTemplate {
    /// Heading, e.g. `{年度} 特定健康診査のご案内`.
    pub title: String,
    /// Body; paragraphs separated by blank lines.
    pub body: String,
    /// Heading of the voucher part, e.g. `{年度} 特定健康診査受診券`.
    pub voucher_title: String,
    /// Notes printed under the voucher (what to bring, where to book).
    pub voucher_note: String,
}

impl Default for LetterTemplate {
    /// A plain Japanese letter an insurer can start editing from.
    fn default() -> LetterTemplate {
        LetterTemplate {
            title: "{年度} 特定健康診査のご案内".into(),
            body: "{氏名} 様\n\n\
                日頃より{保険者名}の事業にご理解とご協力をいただき、ありがとうございます。\n\n\
                生活習慣病の予防と早期発見のため、40歳から74歳の方を対象に特定健康診査(メタボ健診)を実施しています。\
                下の受診券(受診券整理番号 {受診券整理番号})と保険証(資格確認書等)を持って、{有効期限}までに契約健診機関で受診してください。\n\n\
                窓口でのご負担(基本的な健診): {自己負担}\n\n\
                健診機関の一覧と予約方法は同封の案内をご覧ください。すでに職場等で同等の健診を受けた方は、その結果をご提出いただくことで受診に代えることができます。"
                .into(),
            voucher_title: "{年度} 特定健康診査受診券".into(),
            voucher_note: "受診の際は、この受診券と保険証(資格確認書等)を必ず窓口に提出してください。有効期限を過ぎた受診券は使えません。".into(),
        }
    }
}

/// A template value by placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Kana,
    Year,
    VoucherNumber,
    Expiry,
    CopayBasic,
    CopayDetail,
    CopayAdditional,
    CopayDock,
    InsurerName,
    InsurerNumber,
    CardSymbol,
    CardNumber,
    BirthDate,
    IssuedOn,
}

/// Placeholder names (without braces), as the UI may list them.
pub const PLACEHOLDERS: [&str; 15] = [
    "氏名",
    "氏名カナ",
    "年度",
    "受診券整理番号",
    "有効期限",
    "自己負担",
    "自己負担_詳細",
    "自己負担_追加",
    "自己負担_ドック",
    "保険者名",
    "保険者番号",
    "記号",
    "番号",
    "生年月日",
    "発行日",
];

const FIELDS: [Field; 15] = [
    Field::Name,
    Field::Kana,
    Field::Year,
    Field::VoucherNumber,
    Field::Expiry,
    Field::CopayBasic,
    Field::CopayDetail,
    Field::CopayAdditional,
    Field::CopayDock,
    Field::InsurerName,
    Field::InsurerNumber,
    Field::CardSymbol,
    Field::CardNumber,
    Field::BirthDate,
    Field::IssuedOn,
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

/// A template text parsed into literal parts and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compiled(Vec<Part>);

fn compile_text(part: &'static str, s: &str) -> Result<Compiled, LetterError> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                lit.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err(LetterError::Template {
                        part,
                        reason: format!("unclosed {{{name}"),
                    });
                }
                let Some(i) = PLACEHOLDERS.iter().position(|p| *p == name) else {
                    return Err(LetterError::Template {
                        part,
                        reason: format!("unknown placeholder {{{name}}}"),
                    });
                };
                if !lit.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut lit)));
                }
                parts.push(Part::Field(FIELDS[i]));
            }
            '}' => {
                return Err(LetterError::Template {
                    part,
                    reason: "a lone } (write }} for a brace)".into(),
                });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Text(lit));
    }
    Ok(Compiled(parts))
}

/// A checked template, ready to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledTemplate {
    title: Compiled,
    body: Vec<Compiled>,
    voucher_title: Compiled,
    voucher_note: Compiled,
}

impl LetterTemplate {
    /// Checks every placeholder; the error names the part and the placeholder.
    pub fn compile(&self) -> Result<CompiledTemplate, LetterError> {
        let body = self
            .body
            .replace("\r\n", "\n")
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| compile_text("body", p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CompiledTemplate {
            title: compile_text("title", &self.title)?,
            body,
            voucher_title: compile_text("voucher_title", &self.voucher_title)?,
            voucher_note: compile_text("voucher_note", &self.voucher_note)?,
        })
    }
}

/// What is the same for every letter of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterContext {
    /// 年度 of the vouchers.
    pub fiscal_year: i16,
    /// 発行日 printed on the letter.
    pub issued_on: Date,
    /// 保険者名
    pub insurer_name: String,
    /// Sender block lines (address, phone, office hours), top right.
    pub sender: Vec<String>,
}

/// One letter: a member and the voucher issued to them.
#[derive(Debug, Clone, Copy)]
pub struct LetterInput<'a> {
    pub member: &'a Member,
    pub voucher: &'a IssuedVoucher,
}

/// Why letters could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("template {part}: {reason}")]
    Template { part: &'static str, reason: String },
    #[error(
        "letter {index} (card {card}): the body runs into the voucher part; shorten the template"
    )]
    BodyTooLong { index: usize, card: String },
    #[error(
        "letter {index} (card {card}): the address does not fit the envelope window even at 7.5 pt"
    )]
    AddressTooLong { index: usize, card: String },
    #[error("letter {index} (card {card}): the voucher is a 利用券, not a 受診券")]
    NotCheckup { index: usize, card: String },
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

/// 令和7年3月20日 (era dates as Japanese letters print them; 元年 for year 1).
pub fn wareki(d: Date) -> String {
    let (y, m, day) = (i32::from(d.year()), d.month(), d.day());
    let ymd = (y, m, day);
    let (era, year) = if ymd >= (2019, 5, 1) {
        ("令和", y - 2018)
    } else if ymd >= (1989, 1, 8) {
        ("平成", y - 1988)
    } else if ymd >= (1926, 12, 25) {
        ("昭和", y - 1925)
    } else if ymd >= (1912, 7, 30) {
        ("大正", y - 1911)
    } else {
        return format!("{y}年{m}月{day}日");
    };
    if year == 1 {
        format!("{era}元年{m}月{day}日")
    } else {
        format!("{era}{year}年{m}月{day}日")
    }
}

/// 令和6年度 for fiscal year 2024 (era of 1 April of the year).
pub fn fiscal_year_label(fy: i16) -> String {
    let w = wareki(Date::new(fy, 4, 1).unwrap_or(Date::MIN));
    match w.find('年') {
        Some(i) => format!("{}年度", &w[..i]),
        None => format!("{fy}年度"),
    }
}

fn field_value(f: Field, ctx: &LetterContext, l: &LetterInput<'_>) -> String {
    let (m, v) = (l.member, l.voucher);
    match f {
        Field::Name => m.name.clone(),
        Field::Kana => m.name_kana.clone(),
        Field::Year => fiscal_year_label(ctx.fiscal_year),
        Field::VoucherNumber => v.number.to_string(),
        Field::Expiry => wareki(v.expiry),
        Field::CopayBasic => copayment_text(v.basic.as_ref()),
        Field::CopayDetail => copayment_text(v.detail.as_ref()),
        Field::CopayAdditional => copayment_text(v.additional.as_ref()),
        Field::CopayDock => copayment_text(v.dock.as_ref()),
        Field::InsurerName => ctx.insurer_name.clone(),
        Field::InsurerNumber => v.insurer.clone(),
        Field::CardSymbol => m.card.symbol.clone(),
        Field::CardNumber => m.card.number.clone(),
        Field::BirthDate => wareki(m.birth_date),
        Field::IssuedOn => wareki(ctx.issued_on),
    }
}

fn fill(c: &Compiled, ctx: &LetterContext, l: &LetterInput<'_>) -> String {
    let mut out = String::new();
    for p in &c.0 {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Field(f) => out.push_str(&field_value(*f, ctx, l)),
        }
    }
    out
}

/// The filled texts of one letter (title, body paragraphs), e.g. for a preview in the UI.
pub fn preview(
    template: &CompiledTemplate,
    ctx: &LetterContext,
    letter: &LetterInput<'_>,
) -> (String, Vec<String>) {
    (
        fill(&template.title, ctx, letter),
        template.body.iter().map(|p| fill(p, ctx, letter)).collect(),
    )
}

/// 〒100-0013
fn postal_label(p: &str) -> String {
    if p.len() == 7 {
        format!("〒{}-{}", &p[..3], &p[3..])
    } else {
        String::new()
    }
}

/// Renders the letters of one batch into one PDF (one page each, in the given order).
pub fn render_letters(
    fonts: &Fonts,
    template: &CompiledTemplate,
    ctx: &LetterContext,
    letters: &[LetterInput<'_>],
) -> Result<Vec<u8>, LetterError> {
    let spec = PageSpec {
        margin_top: mm(12.0),
        margin_bottom: mm(10.0),
        margin_left: mm(20.0),
        margin_right: mm(20.0),
        ..PageSpec::a4_portrait(20.0)
    };
    let mut lay = Layout::new(fonts, spec)?;
    let label_style = Style::regular(8.5);
    for (index, l) in letters.iter().enumerate() {
        let card = l.member.card.to_string();
        if l.voucher.kind != VoucherKind::Checkup {
            return Err(LetterError::NotCheckup { index, card });
        }
        if index > 0 {
            lay.new_page();
        }
        if !draw_address(&mut lay, l.member) {
            return Err(LetterError::AddressTooLong { index, card });
        }
        // Sender block, top right.
        let mut sender = vec![wareki(ctx.issued_on), ctx.insurer_name.clone()];
        sender.extend(ctx.sender.iter().cloned());
        let mut y = mm(16.0);
        for (i, s) in sender.iter().enumerate() {
            let style = if i == 1 {
                Style::bold(9.5)
            } else {
                Style::regular(8.5)
            };
            y += lay.text_at(mm(120.0), y, mm(70.0), s, style, Align::Right);
        }
        // Letter.
        lay.set_cursor(mm(BODY_TOP_MM));
        lay.paragraph(
            &fill(&template.title, ctx, l),
            Style::bold(14.0),
            Align::Center,
        );
        lay.space(8.0);
        for p in &template.body {
            for line in fill(p, ctx, l).split('\n') {
                lay.paragraph(line, Style::regular(10.0), Align::Left);
            }
            lay.space(4.0);
        }
        if lay.page_count() != index + 1 || lay.cursor() > mm(VOUCHER_TOP_MM - 2.0) {
            return Err(LetterError::BodyTooLong { index, card });
        }
        draw_voucher(&mut lay, template, ctx, l, label_style);
    }
    let decor = Decor {
        title: format!(
            "{} 特定健康診査のご案内",
            fiscal_year_label(ctx.fiscal_year)
        ),
        language: "ja".into(),
        running_header: None,
        footer_left: String::new(),
        footer_right: String::new(),
        page_numbers: false,
    };
    Ok(lay.finish(&decor)?)
}

/// Bottom of the envelope window, mm from the top (13 mm + 45 mm).
const WINDOW_BOTTOM_MM: f32 = 58.0;

/// Address sizes tried in turn until the block fits the window.
const ADDRESS_SIZES: [f32; 4] = [10.5, 9.5, 8.5, 7.5];

/// Draws the address block; `false` when it cannot fit the window even at the smallest
/// size (nothing is drawn then).
fn draw_address(lay: &mut Layout<'_>, m: &Member) -> bool {
    let (x, w) = (mm(ADDRESS_X_MM), mm(ADDRESS_WIDTH_MM));
    let postal = Style::regular(11.0);
    let name_style = Style::regular(14.0);
    let name = format!("{} 様", m.name);
    let barcode = CustomerBarcode::new(&m.postal_code, &m.address_b()).ok();
    let barcode_h = if barcode.is_some() {
        mm(1.5 + BAR_HEIGHT_MM)
    } else {
        0.0
    };
    // Estimated height: wrapped address lines at each size, 5 % wider than measured because
    // line breaks (禁則) do not fall exactly at the width.
    let lines_at = |lay: &Layout<'_>, style: Style| -> f32 {
        m.address_lines()
            .iter()
            .map(|l| (lay.measure(l, style) * 1.05 / w).ceil().max(1.0))
            .sum::<f32>()
    };
    let name_lines = (lay.measure(&name, name_style) / (w - mm(4.0)))
        .ceil()
        .max(1.0);
    let fixed = postal.line_height() + 2.0 + name_lines * name_style.line_height() + barcode_h;
    let room = mm(WINDOW_BOTTOM_MM - ADDRESS_TOP_MM);
    let Some(style) = ADDRESS_SIZES
        .iter()
        .map(|&s| Style::regular(s))
        .find(|&s| fixed + lines_at(lay, s) * s.line_height() <= room)
    else {
        return false;
    };
    let mut y = mm(ADDRESS_TOP_MM);
    y += lay.text_at(x, y, w, &postal_label(&m.postal_code), postal, Align::Left);
    for line in m.address_lines() {
        y += lay.text_at(x, y, w, line, style, Align::Left);
    }
    y += 2.0;
    y += lay.text_at(x + mm(4.0), y, w - mm(4.0), &name, name_style, Align::Left);
    if let Some(code) = barcode {
        draw_barcode(lay, &code, x, y + mm(1.5));
    }
    true
}

/// Draws the 67 bars with the top-left corner at (x, top), in pt.
pub fn draw_barcode(lay: &mut Layout<'_>, code: &CustomerBarcode, x: f32, top: f32) {
    let (w, pitch, h) = (mm(BAR_WIDTH_MM), mm(BAR_PITCH_MM), mm(BAR_HEIGHT_MM));
    let rects = code
        .bars()
        .into_iter()
        .enumerate()
        .map(|(i, bar): (usize, Bar)| {
            let (t, b) = bar.span();
            (x + i as f32 * pitch, top + t * h, w, (b - t) * h)
        })
        .collect();
    lay.fill_rects(rects, Color::BLACK);
}

fn draw_voucher(
    lay: &mut Layout<'_>,
    template: &CompiledTemplate,
    ctx: &LetterContext,
    l: &LetterInput<'_>,
    small: Style,
) {
    let top = mm(VOUCHER_TOP_MM);
    // Cut line with its label.
    let (left, right) = (mm(10.0), mm(200.0));
    let mut x = left;
    while x < right {
        lay.line((x, top), ((x + mm(2.0)).min(right), top), 0.5);
        x += mm(3.5);
    }
    lay.text_at(
        left,
        top + 1.0,
        right - left,
        "きりとり線",
        Style::regular(7.0).with_color(Color::GRAY),
        Align::Center,
    );
    lay.set_cursor(top + mm(6.0));
    lay.paragraph(
        &fill(&template.voucher_title, ctx, l),
        Style::bold(12.0),
        Align::Center,
    );
    lay.space(3.0);
    let (m, v) = (l.member, l.voucher);
    let sex = match m.sex {
        Sex::Male => "男",
        Sex::Female => "女",
    };
    let card = format!(
        "記号 {}  番号 {}{}",
        m.card.symbol,
        m.card.number,
        if m.card.branch.is_empty() {
            String::new()
        } else {
            format!("  枝番 {}", m.card.branch)
        }
    );
    let mut t = Table::new(
        vec![
            Column::new("", 1.2).label(),
            Column::new("", 2.3),
            Column::new("", 1.2).label(),
            Column::new("", 2.3),
        ],
        Style::regular(9.0),
    );
    t.header = false;
    let rows: [[String; 4]; 6] = [
        [
            "受診券整理番号".into(),
            v.number.to_string(),
            "有効期限".into(),
            wareki(v.expiry),
        ],
        [
            "氏名".into(),
            format!("{}({})", m.name, m.name_kana),
            "性別".into(),
            sex.into(),
        ],
        [
            "生年月日".into(),
            wareki(m.birth_date),
            "交付日".into(),
            wareki(ctx.issued_on),
        ],
        [
            "保険者番号".into(),
            v.insurer.clone(),
            "保険者名".into(),
            ctx.insurer_name.clone(),
        ],
        [
            "被保険者証".into(),
            card,
            "基本的な健診".into(),
            copayment_text(v.basic.as_ref()),
        ],
        [
            "詳細な健診".into(),
            copayment_text(v.detail.as_ref()),
            "追加健診・人間ドック".into(),
            format!(
                "{} / {}",
                copayment_text(v.additional.as_ref()),
                copayment_text(v.dock.as_ref())
            ),
        ],
    ];
    for r in rows {
        t.rows.push(r.into_iter().map(Cell::new).collect());
    }
    lay.table(&t);
    lay.space(3.0);
    lay.paragraph(&fill(&template.voucher_note, ctx, l), small, Align::Left);
}
