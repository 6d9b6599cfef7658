//! The month's documents as the counterparts receive them: the insurer's invoice (請求書)
//! and the institution's payment statement (支払明細書), each as an A4 Japanese PDF drawn
//! through daiko-pdf's layout layer and as CSV for spreadsheets (UTF-8 with BOM, CRLF,
//! Japanese header row).
//!
//! Both show the totals first (count, cost, co-payment, other-programme burden, claim), the
//! agency's fees on their own line, the 過誤 offsets with their 別表10 reason, the
//! subtotals per counterpart (per institution on an invoice, per insurer on a statement)
//! and then every claim line, across as many pages as needed with the header row repeated.

use daiko_pdf::Fonts;
use daiko_pdf::layout::{Align, Cell, Color, Column, Decor, Layout, PageSpec, Style, Table, mm};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::BillingError;
use crate::calendar::YearMonth;
use crate::settle::{ClaimLine, Invoice, Offset, ServiceKind, Statement, Subtotal};

/// The agency as printed on its documents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgencyInfo {
    /// 代行機関名
    pub name: String,
    /// 所在地 (one or more lines, "\n" separated)
    pub address: String,
    /// 電話番号
    pub phone: String,
    /// 適格請求書発行事業者登録番号 (T + 13 digits), printed when set.
    pub registration_number: String,
    /// Where insurers pay the invoice (振込先), as it should be printed.
    pub payee_account: String,
}

const TITLE: Style = Style::bold(18.0);
const BODY: Style = Style::regular(9.0);
const SMALL: Style = Style::regular(7.5);
const HEADING: Style = Style::bold(10.5);

/// 12,345 / −1,234.
pub fn yen(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('−');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 2026年3月12日
pub fn date_ja(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// 2026年3月
pub fn month_ja(m: YearMonth) -> String {
    format!("{}年{}月", m.year, m.month)
}

/// 20260210 → 2026/02/10 (left as is when not 8 digits).
fn service_date(s: &str) -> String {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}/{}/{}", &s[0..4], &s[4..6], &s[6..8])
    } else {
        s.to_string()
    }
}

/// 健診 / 保健指導（初回）…
fn kind_label(l: &ClaimLine) -> String {
    match (l.kind, l.guidance_timing.as_deref()) {
        (ServiceKind::Guidance, Some(t)) => {
            let timing = match t {
                "1" => "初回",
                "2" => "終了",
                "3" => "中止",
                "4" => "その他",
                "5" => "初回未完了",
                other => other,
            };
            format!("{}・{timing}", l.kind.label_ja())
        }
        (k, _) => k.label_ja().to_string(),
    }
}

/// "06 資格喪失後の受診：…" (別表10 code and name, then the insurer's text when it
/// adds something) / "前月繰越 …".
fn reason_label(o: &Offset) -> String {
    if o.is_carry() {
        return format!("前月繰越 {}", o.reason_text).trim_end().to_string();
    }
    let name = crate::settle::erroneous_payment_reason(&o.reason_code).unwrap_or("");
    let text = o.reason_text.trim();
    if text.is_empty() || text == name {
        format!("{} {name}", o.reason_code)
    } else {
        format!("{} {name}：{text}", o.reason_code)
    }
}

fn section(l: &mut Layout<'_>, title: &str) {
    l.space(10.0);
    // A heading stays with a header row and at least one line of its table.
    l.keep(HEADING.line_height() + 3.0 * SMALL.line_height() + 12.0);
    l.paragraph(title, HEADING, Align::Left);
    l.space(2.0);
}

/// The heading block shared by both documents: title, addressee, issuer, big amount.
struct Heading<'a> {
    title: &'a str,
    addressee: String,
    addressee_code: String,
    date_label: &'a str,
    date: Date,
    number: String,
    amount_label: &'a str,
    amount: i64,
    note: String,
}

fn heading(l: &mut Layout<'_>, agency: &AgencyInfo, h: &Heading<'_>) {
    l.paragraph(h.title, TITLE, Align::Center);
    l.space(8.0);
    let top = l.cursor();
    let half = l.body_width() / 2.0;
    let margin = mm(MARGIN_MM);
    // Addressee on the left.
    let mut y = top;
    y += l.text_at(
        margin,
        y,
        half,
        &format!("{} 御中", dash(&h.addressee)),
        Style::bold(12.0),
        Align::Left,
    );
    y += l.text_at(margin, y, half, &h.addressee_code, BODY, Align::Left);
    // Issuer block on the right.
    let mut ry = top;
    let right_x = margin + half + 20.0;
    let right_w = half - 20.0;
    for (text, style) in [
        (format!("{}：{}", h.date_label, date_ja(h.date)), BODY),
        (h.number.clone(), BODY),
    ] {
        ry += l.text_at(right_x, ry, right_w, &text, style, Align::Right);
    }
    ry += 6.0;
    ry += l.text_at(
        right_x,
        ry,
        right_w,
        &agency.name,
        Style::bold(10.5),
        Align::Right,
    );
    for line in agency.address.lines() {
        ry += l.text_at(right_x, ry, right_w, line, BODY, Align::Right);
    }
    if !agency.phone.is_empty() {
        ry += l.text_at(
            right_x,
            ry,
            right_w,
            &format!("TEL {}", agency.phone),
            BODY,
            Align::Right,
        );
    }
    if !agency.registration_number.is_empty() {
        ry += l.text_at(
            right_x,
            ry,
            right_w,
            &format!("登録番号 {}", agency.registration_number),
            BODY,
            Align::Right,
        );
    }
    y += 8.0;
    y += l.text_at(margin, y, half, &h.note, BODY, Align::Left);
    // The amount box under the addressee.
    y += 6.0;
    let box_h = 30.0;
    l.fill_rect(margin, y, half, box_h, Color::SHADE);
    l.frame_rect(margin, y, half, box_h, 1.0);
    l.text_at(
        margin + 8.0,
        y + 9.0,
        half * 0.45,
        h.amount_label,
        Style::bold(11.0),
        Align::Left,
    );
    l.text_at(
        margin + half * 0.4,
        y + 6.0,
        half * 0.6 - 8.0,
        &format!("¥{}－", yen(h.amount)),
        Style::bold(16.0),
        Align::Right,
    );
    y += box_h;
    l.set_cursor(y.max(ry) + 10.0);
}

/// Page margins on every side.
const MARGIN_MM: f32 = 15.0;

fn dash(s: &str) -> String {
    if s.is_empty() {
        "—".to_string()
    } else {
        s.to_string()
    }
}

/// A key / amount / note table, amounts right-aligned, the last row bold.
fn amounts_table(l: &mut Layout<'_>, rows: &[(String, String, String)]) {
    let mut t = Table::new(
        vec![
            Column::new("", 30.0).label(),
            Column::new("", 25.0).align(Align::Right),
            Column::new("", 45.0),
        ],
        BODY,
    );
    t.header = false;
    for (i, (k, v, note)) in rows.iter().enumerate() {
        let mut value = Cell::new(v.clone());
        if i + 1 == rows.len() {
            value = value.bold();
        }
        t.rows
            .push(vec![Cell::new(k.clone()), value, Cell::new(note.clone())]);
    }
    l.table(&t);
}

fn subtotal_table(
    l: &mut Layout<'_>,
    code_title: &str,
    name_title: &str,
    rows: &[Subtotal],
    carry_label: &str,
) {
    let mut t = Table::new(
        vec![
            Column::new(code_title, 12.0),
            Column::new(name_title, 26.0),
            Column::new("件数", 7.0).align(Align::Right),
            Column::new("費用額", 12.0).align(Align::Right),
            Column::new("窓口負担", 11.0).align(Align::Right),
            Column::new("他制度負担", 10.0).align(Align::Right),
            Column::new("請求額", 12.0).align(Align::Right),
            Column::new("過誤調整", 10.0).align(Align::Right),
        ],
        SMALL,
    );
    let mut total = Subtotal::default();
    for s in rows {
        let (code, name) = if s.code.is_empty() {
            (String::new(), carry_label.to_string())
        } else {
            (s.code.clone(), s.name.clone())
        };
        t.push_texts([
            code,
            name,
            s.records.to_string(),
            yen(s.cost_total),
            yen(s.copay_total),
            yen(s.other_total),
            yen(s.claim_total),
            adjust(s.offset_total),
        ]);
        total.records += s.records;
        total.cost_total += s.cost_total;
        total.copay_total += s.copay_total;
        total.other_total += s.other_total;
        total.claim_total += s.claim_total;
        total.offset_total += s.offset_total;
    }
    t.rows.push(vec![
        Cell::new("合計").span(2).bold().align(Align::Center),
        Cell::new(total.records.to_string()).bold(),
        Cell::new(yen(total.cost_total)).bold(),
        Cell::new(yen(total.copay_total)).bold(),
        Cell::new(yen(total.other_total)).bold(),
        Cell::new(yen(total.claim_total)).bold(),
        Cell::new(adjust(total.offset_total)).bold(),
    ]);
    l.table(&t);
}

fn row(k: &str, v: String, note: &str) -> (String, String, String) {
    (k.to_string(), v, note.to_string())
}

fn money(v: i64) -> String {
    format!("{} 円", yen(v))
}

/// "過誤調整 2 件（下表）", or nothing for none.
fn counted(what: &str, n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{what} {n} 件（下表）")
    }
}

/// An offset amount as a deduction: "−3,000" (0 prints as 0).
fn adjust(v: i64) -> String {
    yen(-v)
}

fn offsets_table(
    l: &mut Layout<'_>,
    counterpart_title: &str,
    offsets: &[Offset],
    counterpart: impl Fn(&Offset) -> String,
) {
    let mut t = Table::new(
        vec![
            Column::new("No.", 5.0).align(Align::Right),
            Column::new(counterpart_title, 13.0),
            Column::new("対象レコード", 16.0),
            Column::new("元請求月", 10.0).align(Align::Center),
            Column::new("理由（別表10）", 40.0),
            Column::new("調整額", 13.0).align(Align::Right),
        ],
        SMALL,
    );
    for (i, o) in offsets.iter().enumerate() {
        t.push_texts([
            (i + 1).to_string(),
            counterpart(o),
            o.record_id.clone().unwrap_or_default(),
            o.origin_month.map(|m| m.to_string()).unwrap_or_default(),
            reason_label(o),
            adjust(o.amount),
        ]);
    }
    l.table(&t);
}

fn lines_table(
    l: &mut Layout<'_>,
    counterpart_title: &str,
    lines: &[ClaimLine],
    counterpart: impl Fn(&ClaimLine) -> String,
) {
    let mut t = Table::new(
        vec![
            Column::new("No.", 4.5).align(Align::Right),
            Column::new(counterpart_title, 10.5),
            Column::new("区分", 12.0),
            Column::new("実施日", 10.0).align(Align::Center),
            Column::new("受診券/利用券", 11.5),
            Column::new("被保険者証", 12.0),
            Column::new("費用額", 9.0).align(Align::Right),
            Column::new("窓口負担", 8.0).align(Align::Right),
            Column::new("他制度", 7.0).align(Align::Right),
            Column::new("請求額", 9.0).align(Align::Right),
            Column::new("備考", 6.5).align(Align::Center),
        ],
        SMALL,
    );
    for (i, x) in lines.iter().enumerate() {
        t.push_texts([
            (i + 1).to_string(),
            counterpart(x),
            kind_label(x),
            service_date(&x.service_date),
            x.voucher_number.clone(),
            x.card_number.clone(),
            yen(x.cost_total),
            yen(x.copay_total),
            yen(x.other_total),
            yen(x.claim_total),
            if x.late {
                "月遅れ".to_string()
            } else {
                String::new()
            },
        ]);
    }
    l.table(&t);
}

fn page() -> PageSpec {
    PageSpec::a4_portrait(MARGIN_MM)
}

fn pdf_err(e: daiko_pdf::PdfError) -> BillingError {
    BillingError::Pdf(e.to_string())
}

/// The insurer's invoice (請求書) as an A4 PDF.
pub fn invoice_pdf(
    fonts: &Fonts,
    agency: &AgencyInfo,
    inv: &Invoice,
) -> Result<Vec<u8>, BillingError> {
    let mut l = Layout::new(fonts, page()).map_err(pdf_err)?;
    let number = format!("請求番号 {}-{}", inv.month, inv.insurer);
    heading(
        &mut l,
        agency,
        &Heading {
            title: "請　求　書",
            addressee: inv.insurer_name.clone(),
            addressee_code: format!("保険者番号 {}", inv.insurer),
            date_label: "請求日",
            date: inv.invoice_date,
            number,
            amount_label: if inv.amount_due < 0 {
                "ご返金額"
            } else {
                "ご請求金額"
            },
            amount: inv.amount_due.abs(),
            note: format!(
                "{}請求分（特定健診・特定保健指導の委託料）を下記のとおりご請求申し上げます。\nお支払期日：{}",
                month_ja(inv.month),
                date_ja(inv.due_date)
            ),
        },
    );

    section(&mut l, "■ 請求内訳");
    let due_label = if inv.amount_due < 0 {
        "ご返金額"
    } else {
        "ご請求金額"
    };
    amounts_table(
        &mut l,
        &[
            row("請求件数", format!("{} 件", inv.records), ""),
            row("費用額合計（単価合計）", money(inv.cost_total), ""),
            row(
                "窓口負担額合計",
                money(-inv.copay_total),
                "受診者が窓口で支払った額",
            ),
            row(
                "他制度負担額合計",
                money(-inv.other_total),
                "他の制度が負担した額",
            ),
            row(
                "請求額合計",
                money(inv.claim_total),
                "医療機関の請求額の合計",
            ),
            row(
                "代行手数料",
                money(inv.fee_total),
                "当機関の手数料（請求額とは別）",
            ),
            row(
                "過誤調整額",
                money(-inv.offset_total),
                &counted("過誤調整", inv.offsets.len()),
            ),
            row(due_label, money(inv.amount_due.abs()), ""),
        ],
    );
    if !agency.payee_account.is_empty() && inv.amount_due > 0 {
        l.space(4.0);
        l.paragraph(
            &format!("お振込先：{}", agency.payee_account),
            BODY,
            Align::Left,
        );
    }

    section(&mut l, "■ 医療機関別内訳");
    subtotal_table(&mut l, "機関番号", "医療機関名", &inv.per_institution, "");
    if !inv.offsets.is_empty() {
        section(&mut l, "■ 過誤調整（相殺）");
        offsets_table(&mut l, "機関番号", &inv.offsets, |o| {
            o.institution.clone()
        });
    }
    section(&mut l, &format!("■ 請求明細（{} 件）", inv.lines.len()));
    if inv.lines.is_empty() {
        l.paragraph("今月の請求明細はありません。", BODY, Align::Left);
    } else {
        lines_table(&mut l, "機関番号", &inv.lines, |x| {
            x.institution.clone()
        });
    }
    l.space(6.0);
    l.paragraph("以上", BODY, Align::Right);

    let title = format!("請求書 {} {}", inv.month, inv.insurer);
    l.finish(&Decor {
        title: title.clone(),
        language: "ja".into(),
        running_header: Some(format!("{title} {}", inv.insurer_name)),
        footer_left: agency.name.clone(),
        footer_right: title,
        page_numbers: true,
    })
    .map_err(pdf_err)
}

/// The institution's payment statement (支払明細書) as an A4 PDF.
pub fn statement_pdf(
    fonts: &Fonts,
    agency: &AgencyInfo,
    st: &Statement,
) -> Result<Vec<u8>, BillingError> {
    let mut l = Layout::new(fonts, page()).map_err(pdf_err)?;
    let carried = st.carried_forward.as_ref().map_or(0, |o| o.amount);
    let mut note = format!(
        "{}請求分の特定健診・特定保健指導の委託料を下記のとおりお支払いします。\nお支払日：{}",
        month_ja(st.month),
        date_ja(st.payment_date)
    );
    if carried > 0 {
        note.push_str(&format!(
            "\n差引額が不足するため、{} 円を翌月のお支払から差し引きます。",
            yen(carried)
        ));
    }
    heading(
        &mut l,
        agency,
        &Heading {
            title: "支 払 明 細 書",
            addressee: st.institution_name.clone(),
            addressee_code: format!("機関番号 {}", st.institution),
            date_label: "支払日",
            date: st.payment_date,
            number: format!("明細番号 {}-{}", st.month, st.institution),
            amount_label: "お支払金額",
            amount: st.amount_paid,
            note,
        },
    );

    section(&mut l, "■ 支払内訳");
    let mut rows = vec![
        row("支払件数", format!("{} 件", st.records), ""),
        row("費用額合計（単価合計）", money(st.cost_total), ""),
        row(
            "窓口負担額合計",
            money(-st.copay_total),
            "受診者が窓口で支払った額",
        ),
        row(
            "他制度負担額合計",
            money(-st.other_total),
            "他の制度が負担した額",
        ),
        row(
            "請求額合計",
            money(st.claim_total),
            "保険者への請求額の合計",
        ),
        row("代行手数料", money(-st.fee_total), "当機関の手数料（差引）"),
        row(
            "過誤調整額・前月繰越",
            money(-st.offset_total),
            &counted("過誤調整・繰越", st.offsets.len()),
        ),
    ];
    if carried > 0 {
        rows.push(row(
            "翌月繰越額",
            money(carried),
            "翌月のお支払から差し引きます",
        ));
    }
    rows.push(row("お支払金額", money(st.amount_paid), ""));
    amounts_table(&mut l, &rows);

    section(&mut l, "■ 保険者別内訳");
    subtotal_table(
        &mut l,
        "保険者番号",
        "保険者名",
        &st.per_insurer,
        "前月繰越",
    );
    if !st.offsets.is_empty() {
        section(&mut l, "■ 過誤調整（相殺）・前月繰越");
        offsets_table(&mut l, "保険者番号", &st.offsets, |o| {
            o.insurer.clone()
        });
    }
    section(&mut l, &format!("■ 支払明細（{} 件）", st.lines.len()));
    if st.lines.is_empty() {
        l.paragraph("今月の支払明細はありません。", BODY, Align::Left);
    } else {
        lines_table(&mut l, "保険者番号", &st.lines, |x| x.insurer.clone());
    }
    l.space(6.0);
    l.paragraph("以上", BODY, Align::Right);

    let title = format!("支払明細書 {} {}", st.month, st.institution);
    l.finish(&Decor {
        title: title.clone(),
        language: "ja".into(),
        running_header: Some(format!("{title} {}", st.institution_name)),
        footer_left: agency.name.clone(),
        footer_right: title,
        page_numbers: true,
    })
    .map_err(pdf_err)
}

/// CSV header of both documents (行種別 says what a row is).
const CSV_HEADER: [&str; 22] = [
    "行種別",
    "請求月",
    "保険者番号",
    "保険者名",
    "機関番号",
    "機関名",
    "レコードID",
    "区分",
    "指導時期",
    "実施日",
    "受診券整理番号",
    "被保険者証番号",
    "月遅れ",
    "費用額",
    "窓口負担額",
    "他制度負担額",
    "請求額",
    "手数料",
    "過誤調整額",
    "理由コード",
    "理由",
    "差引額",
];

/// A text cell that a spreadsheet would read as a formula is prefixed with `'`.
fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

struct CsvDoc {
    w: csv::Writer<Vec<u8>>,
}

impl CsvDoc {
    fn new() -> CsvDoc {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(4096));
        // Writing to a Vec cannot fail.
        let _ = w.write_record(CSV_HEADER);
        CsvDoc { w }
    }

    fn row(&mut self, cells: [String; 22]) {
        let _ = self.w.write_record(&cells);
    }

    fn line(&mut self, month: YearMonth, names: (&str, &str), x: &ClaimLine) {
        self.row([
            "明細".into(),
            month.to_string(),
            text(&x.insurer),
            text(names.0),
            text(&x.institution),
            text(names.1),
            text(&x.record_id),
            x.kind.label_ja().into(),
            x.guidance_timing.clone().unwrap_or_default(),
            text(&x.service_date),
            text(&x.voucher_number),
            text(&x.card_number),
            if x.late { "1".into() } else { "0".into() },
            x.cost_total.to_string(),
            x.copay_total.to_string(),
            x.other_total.to_string(),
            x.claim_total.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }

    fn offset(&mut self, month: YearMonth, names: (&str, &str), o: &Offset) {
        self.row([
            if o.is_carry() {
                "前月繰越".into()
            } else {
                "過誤調整".into()
            },
            month.to_string(),
            text(&o.insurer),
            text(names.0),
            text(&o.institution),
            text(names.1),
            text(o.record_id.as_deref().unwrap_or("")),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            o.amount.to_string(),
            text(&o.reason_code),
            text(&o.reason_text),
            String::new(),
        ]);
    }

    fn finish(self) -> Vec<u8> {
        let body = self.w.into_inner().unwrap_or_default();
        let mut out = Vec::with_capacity(body.len() + 3);
        out.extend_from_slice(b"\xEF\xBB\xBF");
        out.extend_from_slice(&body);
        out
    }
}

/// The invoice as CSV: one 明細 row per claim line, one 過誤調整 row per offset, then a
/// 合計 row whose 差引額 is the amount due.
pub fn invoice_csv(inv: &Invoice) -> Vec<u8> {
    let mut c = CsvDoc::new();
    let name_of = |code: &str| {
        inv.per_institution
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    for x in &inv.lines {
        c.line(inv.month, (&inv.insurer_name, &name_of(&x.institution)), x);
    }
    for o in &inv.offsets {
        c.offset(inv.month, (&inv.insurer_name, &name_of(&o.institution)), o);
    }
    c.row([
        "合計".into(),
        inv.month.to_string(),
        text(&inv.insurer),
        text(&inv.insurer_name),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        inv.cost_total.to_string(),
        inv.copay_total.to_string(),
        inv.other_total.to_string(),
        inv.claim_total.to_string(),
        inv.fee_total.to_string(),
        inv.offset_total.to_string(),
        String::new(),
        String::new(),
        inv.amount_due.to_string(),
    ]);
    c.finish()
}

/// The statement as CSV: 明細 rows, 過誤調整 / 前月繰越 rows, and a 合計 row whose 差引額
/// is the amount paid (a further 翌月繰越 row when a deficit is carried forward).
pub fn statement_csv(st: &Statement) -> Vec<u8> {
    let mut c = CsvDoc::new();
    let name_of = |code: &str| {
        st.per_insurer
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    for x in &st.lines {
        c.line(st.month, (&name_of(&x.insurer), &st.institution_name), x);
    }
    for o in &st.offsets {
        c.offset(st.month, (&name_of(&o.insurer), &st.institution_name), o);
    }
    c.row([
        "合計".into(),
        st.month.to_string(),
        String::new(),
        String::new(),
        text(&st.institution),
        text(&st.institution_name),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        st.cost_total.to_string(),
        st.copay_total.to_string(),
        st.other_total.to_string(),
        st.claim_total.to_string(),
        st.fee_total.to_string(),
        st.offset_total.to_string(),
        String::new(),
        String::new(),
        st.amount_paid.to_string(),
    ]);
    if let Some(carry) = &st.carried_forward {
        c.row([
            "翌月繰越".into(),
            st.month.to_string(),
            String::new(),
            String::new(),
            text(&st.institution),
            text(&st.institution_name),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            carry.amount.to_string(),
            text(&carry.reason_code),
            text(&carry.reason_text),
            String::new(),
        ]);
    }
    c.finish()
}
