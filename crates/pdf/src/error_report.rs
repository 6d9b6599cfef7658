//! The 受付エラー連絡表 (reception error report) of one checked archive, as an A4 form:
//! the same content as the text printer of daiko-report, in ruled tables.

use crate::PdfError;
use crate::fonts::Fonts;
use crate::layout::{Align, Cell, Column, Decor, Layout, PageSpec, Style, Table};
use daiko_check::report::{RecordOutcome, Report};
use daiko_check::{Finding, Severity};

/// The language of the printed form (the same as daiko-report's printers).
pub use daiko_report::Lang;
use daiko_report::{outcome_label, service_label, severity_label, verdict_label};

/// Facts about the reception that are not in the check report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportMeta {
    /// The 代行機関 issuing the form.
    pub agency_name: String,
    /// 受付番号, once the archive is registered.
    pub receipt_no: Option<String>,
    /// 受付日時 as it should be printed.
    pub received_at: Option<String>,
    /// 印刷日時 as it should be printed.
    pub printed_at: String,
}

const BODY: Style = Style::regular(9.0);
const SMALL: Style = Style::regular(8.5);

/// Renders the 受付エラー連絡表 of `report` as a PDF (A4 portrait, 15 mm margins).
pub fn error_report_pdf(
    report: &Report,
    lang: Lang,
    meta: &ReportMeta,
    fonts: &Fonts,
) -> Result<Vec<u8>, PdfError> {
    let ja = lang == Lang::Ja;
    let t = |j: &'static str, e: &'static str| if ja { j } else { e };
    let a = &report.archive;
    let c = &report.counts;
    let mut l = Layout::new(fonts, PageSpec::a4_portrait(15.0))?;

    let title = t("受付エラー連絡表", "Reception error report");
    l.paragraph(title, Style::bold(16.0), Align::Center);
    l.space(2.0);
    if !meta.agency_name.is_empty() {
        l.paragraph(&meta.agency_name, Style::regular(10.0), Align::Right);
    }
    l.space(6.0);

    // The archive and the reception, as a key/value grid.
    let dash = |v: &str| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.to_string()
        }
    };
    let mut grid = Table::new(
        vec![
            Column::new("", 18.0).label(),
            Column::new("", 32.0),
            Column::new("", 18.0).label(),
            Column::new("", 32.0),
        ],
        BODY,
    );
    grid.header = false;
    grid.rows.push(vec![
        Cell::new(t("アーカイブ", "Archive")),
        Cell::new(dash(&a.name)).span(3),
    ]);
    grid.rows.push(vec![
        Cell::new("SHA-256"),
        Cell::new(dash(&a.sha256)).span(3),
    ]);
    grid.push_texts([
        t("送付元（機関番号）", "Sender (inst. no.)").to_string(),
        dash(&a.sender),
        t("送付先", "Receiver").to_string(),
        dash(&a.receiver),
    ]);
    grid.push_texts([
        t("受付番号", "Receipt no.").to_string(),
        dash(meta.receipt_no.as_deref().unwrap_or("")),
        t("受付日時", "Received at").to_string(),
        dash(meta.received_at.as_deref().unwrap_or("")),
    ]);
    let service = match service_label(a.service_event_type, lang) {
        "" => dash(""),
        s => format!("{} {}", a.service_event_type, s),
    };
    grid.push_texts([
        t("実施区分", "Service").to_string(),
        service,
        t("様式世代", "Generation").to_string(),
        dash(&a.generation),
    ]);
    grid.rows.push(vec![
        Cell::new(t("判定", "Verdict")),
        Cell::new(verdict_label(report.verdict, lang)).bold(),
        Cell::new(t("印刷日時", "Printed at")),
        Cell::new(dash(&meta.printed_at)),
    ]);
    l.table(&grid);
    l.space(8.0);

    // Counts.
    let counts = [
        (t("全件数", "Records"), c.records),
        (t("受付", "Accepted"), c.accepted),
        (t("返戻", "Returned"), c.returned),
        (t("保留", "Held"), c.held),
        (t("エラー", "Errors"), c.errors),
        (t("警告", "Warnings"), c.warnings),
    ];
    let mut table = Table::new(
        counts
            .iter()
            .map(|(label, _)| Column::new(*label, 1.0).align(Align::Right))
            .collect(),
        BODY,
    );
    table.push_texts(counts.iter().map(|(_, n)| {
        if ja {
            format!("{n} 件")
        } else {
            n.to_string()
        }
    }));
    l.table(&table);

    // Records that were not accepted.
    let flagged: Vec<_> = report
        .records
        .iter()
        .filter(|r| r.outcome != RecordOutcome::Accepted)
        .collect();
    if !flagged.is_empty() {
        section(
            &mut l,
            t(
                "■ 返戻・保留となったレコード",
                "■ Returned and held records",
            ),
        );
        let mut table = Table::new(
            vec![
                Column::new("No.", 4.0).align(Align::Right),
                Column::new(t("データファイル", "Data file"), 30.0),
                Column::new(t("保険者番号", "Insurer"), 12.0),
                Column::new(t("受診券整理番号", "Voucher"), 15.0),
                Column::new(t("結果", "Outcome"), 8.0).align(Align::Center),
                Column::new(t("返戻理由", "Return reason"), 18.0),
            ],
            SMALL,
        );
        for (i, r) in flagged.iter().enumerate() {
            let outcome = match (r.outcome, lang) {
                (RecordOutcome::Returned, Lang::Ja) => "返戻",
                (RecordOutcome::Held, Lang::Ja) => "保留",
                (RecordOutcome::Returned, Lang::En) => "returned",
                (RecordOutcome::Held, Lang::En) => "held",
                (RecordOutcome::Accepted, _) => "",
            };
            let reason = r
                .return_reason
                .map(|x| format!("{} {}", x.code(), x.name_ja()))
                .unwrap_or_default();
            table.push_texts([
                (i + 1).to_string(),
                r.data_file.clone(),
                r.insurer.clone(),
                r.voucher.clone(),
                outcome.to_string(),
                reason,
            ]);
        }
        l.table(&table);
    }

    // Findings, errors first (as in the text form).
    section(&mut l, t("■ 指摘事項", "■ Findings"));
    if report.findings.is_empty() {
        l.paragraph(
            t("指摘事項はありません。", "No findings."),
            BODY,
            Align::Left,
        );
    } else {
        let mut table = Table::new(
            vec![
                Column::new("No.", 4.5).align(Align::Right),
                Column::new(t("コード", "Code"), 7.0),
                Column::new(t("区分", "Kind"), 10.0),
                Column::new(t("ファイル・位置・値", "File / location / value"), 31.0),
                Column::new(t("内容", "Message"), 28.0),
                Column::new(t("対処", "How to fix"), 19.5),
            ],
            SMALL,
        )
        // The closing 以上 stays on the page of the last finding.
        .keep_after(6.0 + BODY.line_height());
        let mut sorted: Vec<&Finding> = report.findings.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity)); // stable: keeps order within
        for (i, f) in sorted.iter().enumerate() {
            let mut kind = severity_label(f.severity, lang).to_string();
            if f.severity != Severity::Info {
                kind.push('\n');
                kind.push_str(outcome_label(f.outcome, lang));
            }
            if let Some(r) = f.return_reason {
                kind.push_str(&format!(" {}", r.code()));
            }
            // File, location and value stacked in one wide cell: paths wrap less.
            let mut place = f.file.clone();
            for (label, v) in [("", &f.location), (t("値: ", "value: "), &f.value)] {
                if !v.is_empty() {
                    place.push('\n');
                    place.push_str(label);
                    place.push_str(v);
                }
            }
            let (message, hint) = split_hint(f, lang);
            table.push_texts([
                (i + 1).to_string(),
                f.code.to_string(),
                kind,
                place,
                message,
                hint,
            ]);
        }
        l.table(&table);
    }
    l.space(6.0);
    l.paragraph(t("以上", "End of report"), BODY, Align::Right);

    let decor = Decor {
        title: format!("{title} {}", a.name),
        language: t("ja", "en").to_string(),
        running_header: Some(format!("{title}  {}", a.name)),
        footer_left: a.name.clone(),
        footer_right: if meta.printed_at.is_empty() {
            meta.agency_name.clone()
        } else {
            format!(
                "{}  {} {}",
                meta.agency_name,
                t("印刷", "printed"),
                meta.printed_at
            )
        },
        page_numbers: true,
    };
    l.finish(&decor)
}

fn section(l: &mut Layout<'_>, title: &str) {
    let style = Style::bold(10.5);
    l.space(10.0);
    // Keep a heading with at least a header row and one line below it.
    l.keep(style.line_height() + 40.0);
    l.paragraph(title, style, Align::Left);
    l.space(2.0);
}

/// The message and the fix hint of a finding: the catalogue's messages end in
/// "対処: …" / " Fix: …"; where they do not, the catalogue row's hint is used.
fn split_hint(f: &Finding, lang: Lang) -> (String, String) {
    let (message, marker) = match lang {
        Lang::Ja => (&f.message_ja, "対処: "),
        Lang::En => (&f.message_en, " Fix: "),
    };
    if let Some(pos) = message.rfind(marker) {
        let (m, h) = message.split_at(pos);
        return (
            m.trim_end().to_string(),
            h[marker.len()..].trim().to_string(),
        );
    }
    let hint = match (f.severity, daiko_check::catalogue::check(f.code)) {
        (Severity::Info, _) | (_, None) => "",
        (_, Some(c)) => match lang {
            Lang::Ja => c.hint_ja,
            Lang::En => c.hint_en,
        },
    };
    (message.clone(), hint.to_string())
}
