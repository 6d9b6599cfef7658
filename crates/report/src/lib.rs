//! # daiko-report — printers for check reports
//!
//! Turns a [`daiko_check::Report`] into what people and programs read: the clerk's
//! 受付エラー連絡表 as text, JSON Lines (the fixed report shape of PRODUCT.md), and CSV
//! that opens in Excel (UTF-8 with BOM). Printers only format: they never decide outcomes
//! and know nothing of the archive or the engine beyond the report.

use daiko_check::report::{RecordOutcome, Report, Verdict};
use daiko_check::{Finding, Outcome, Severity};
use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

/// The language of human-readable output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語 (default)
    #[default]
    Ja,
    En,
}

impl Lang {
    /// Picks the message of a finding in this language.
    pub fn message(self, f: &Finding) -> &str {
        match self {
            Lang::Ja => &f.message_ja,
            Lang::En => &f.message_en,
        }
    }
}

/// Writes one report as a single JSON line (JSON Lines when called once per archive).
pub fn write_json<W: Write>(report: &Report, mut out: W) -> io::Result<()> {
    serde_json::to_writer(&mut out, report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// CSV output for Excel: a UTF-8 BOM, a header once, then one row per finding of every
/// archive printed (so several archives make one sheet).
pub struct CsvPrinter<W: Write> {
    writer: csv::Writer<W>,
    lang: Lang,
    started: bool,
}

impl<W: Write> CsvPrinter<W> {
    /// A printer writing to `out` in `lang`; writes the UTF-8 BOM that makes Excel read
    /// the file as UTF-8.
    pub fn new(mut out: W, lang: Lang) -> io::Result<Self> {
        out.write_all("\u{feff}".as_bytes())?;
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        Ok(CsvPrinter {
            writer,
            lang,
            started: false,
        })
    }

    /// Writes the rows of one report (the BOM and header before the first).
    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        if !self.started {
            self.started = true;
            let header: [&str; 11] = match self.lang {
                Lang::Ja => [
                    "アーカイブ",
                    "判定",
                    "コード",
                    "重大度",
                    "処理区分",
                    "返戻理由",
                    "ファイル",
                    "位置",
                    "値",
                    "内容",
                    "SHA-256",
                ],
                Lang::En => [
                    "archive",
                    "verdict",
                    "code",
                    "severity",
                    "outcome",
                    "return_reason",
                    "file",
                    "location",
                    "value",
                    "message",
                    "sha256",
                ],
            };
            self.writer.write_record(header).map_err(io::Error::other)?;
        }
        let verdict = verdict_label(report.verdict, self.lang);
        for f in &report.findings {
            let reason = f.return_reason.map(|r| r.code()).unwrap_or("");
            self.writer
                .write_record([
                    report.archive.name.as_str(),
                    verdict,
                    f.code,
                    severity_label(f.severity, self.lang),
                    outcome_code(f.outcome),
                    reason,
                    &f.file,
                    &f.location,
                    &f.value,
                    self.lang.message(f),
                    &report.archive.sha256,
                ])
                .map_err(io::Error::other)?;
        }
        self.writer.flush()
    }
}

/// The label of a verdict.
pub fn verdict_label(v: Verdict, lang: Lang) -> &'static str {
    match (v, lang) {
        (Verdict::Accepted, Lang::Ja) => "受付",
        (Verdict::PartiallyAccepted, Lang::Ja) => "一部受付",
        (Verdict::Rejected, Lang::Ja) => "受付不可",
        (Verdict::Accepted, Lang::En) => "accepted",
        (Verdict::PartiallyAccepted, Lang::En) => "partially accepted",
        (Verdict::Rejected, Lang::En) => "rejected",
    }
}

/// The label of a severity.
pub fn severity_label(s: Severity, lang: Lang) -> &'static str {
    match (s, lang) {
        (Severity::Error, Lang::Ja) => "エラー",
        (Severity::Warning, Lang::Ja) => "警告",
        (Severity::Info, Lang::Ja) => "参考",
        (Severity::Error, Lang::En) => "error",
        (Severity::Warning, Lang::En) => "warning",
        (Severity::Info, Lang::En) => "info",
    }
}

fn outcome_code(o: Outcome) -> &'static str {
    match o {
        Outcome::AR => "AR",
        Outcome::FR => "FR",
        Outcome::W => "W",
        Outcome::CI => "CI",
        Outcome::DEFER => "DEFER",
    }
}

/// The label of an outcome (処理区分).
pub fn outcome_label(o: Outcome, lang: Lang) -> &'static str {
    match (o, lang) {
        (Outcome::AR, Lang::Ja) => "受付不可",
        (Outcome::FR, Lang::Ja) => "返戻",
        (Outcome::W, Lang::Ja) => "警告",
        (Outcome::CI, Lang::Ja) => "保険者確認",
        (Outcome::DEFER, Lang::Ja) => "翌月処理",
        (Outcome::AR, Lang::En) => "archive rejected",
        (Outcome::FR, Lang::En) => "record returned",
        (Outcome::W, Lang::En) => "warning",
        (Outcome::CI, Lang::En) => "held for insurer",
        (Outcome::DEFER, Lang::En) => "next cycle",
    }
}

/// The label of a 実施区分 (1 checkup, 2 guidance; empty otherwise).
pub fn service_label(code: u8, lang: Lang) -> &'static str {
    match (code, lang) {
        (1, Lang::Ja) => "特定健診",
        (2, Lang::Ja) => "特定保健指導",
        (1, Lang::En) => "specific health checkup",
        (2, Lang::En) => "specific health guidance",
        _ => "",
    }
}

/// Pads `s` with spaces to `width` display columns (full-width characters count 2).
fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    let mut out = s.to_string();
    for _ in w..width {
        out.push(' ');
    }
    out
}

/// Writes the clerk's 受付エラー連絡表 (reception error notice) for one archive: the
/// archive and its verdict, counts, then every finding grouped by severity (errors that
/// reject or return first) with code, outcome, 返戻理由, file, location, value and a message
/// ending in a fix hint, and finally the returned and held records.
pub fn write_text<W: Write>(report: &Report, lang: Lang, mut out: W) -> io::Result<()> {
    let a = &report.archive;
    let c = &report.counts;
    let rule = "=".repeat(78);
    let thin = "-".repeat(78);
    let (title, l_archive, l_sender, l_receiver, l_service, l_generation, l_verdict, l_counts) =
        match lang {
            Lang::Ja => (
                "受付エラー連絡表",
                "アーカイブ",
                "送付元",
                "送付先",
                "実施区分",
                "様式世代",
                "判定",
                "件数",
            ),
            Lang::En => (
                "Reception error report",
                "Archive",
                "Sender",
                "Receiver",
                "Service",
                "Generation",
                "Verdict",
                "Counts",
            ),
        };
    writeln!(out, "{rule}")?;
    writeln!(out, "{title}")?;
    writeln!(out, "{rule}")?;
    writeln!(out, "{}: {}", pad(l_archive, 10), a.name)?;
    writeln!(out, "{}: {}", pad("SHA-256", 10), a.sha256)?;
    writeln!(out, "{}: {}", pad(l_sender, 10), a.sender)?;
    writeln!(out, "{}: {}", pad(l_receiver, 10), a.receiver)?;
    writeln!(
        out,
        "{}: {} {}",
        pad(l_service, 10),
        a.service_event_type,
        service_label(a.service_event_type, lang)
    )?;
    writeln!(out, "{}: {}", pad(l_generation, 10), a.generation)?;
    writeln!(
        out,
        "{}: {}",
        pad(l_verdict, 10),
        verdict_label(report.verdict, lang)
    )?;
    match lang {
        Lang::Ja => writeln!(
            out,
            "{}: 全{}件 / 受付{}件 / 返戻{}件 / 保留{}件  (エラー{} 警告{})",
            pad(l_counts, 10),
            c.records,
            c.accepted,
            c.returned,
            c.held,
            c.errors,
            c.warnings
        )?,
        Lang::En => writeln!(
            out,
            "{}: {} records / {} accepted / {} returned / {} held  ({} errors, {} warnings)",
            pad(l_counts, 10),
            c.records,
            c.accepted,
            c.returned,
            c.held,
            c.errors,
            c.warnings
        )?,
    }

    let groups: [(Severity, &str, &str); 3] = [
        (
            Severity::Error,
            "■ エラー（受付不可・返戻）",
            "■ Errors (archive rejected / record returned)",
        ),
        (Severity::Warning, "■ 警告・確認", "■ Warnings and holds"),
        (Severity::Info, "■ 参考", "■ Notes"),
    ];
    let mut n = 0usize;
    for (severity, ja, en) in groups {
        let items: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if items.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", if lang == Lang::Ja { ja } else { en })?;
        writeln!(out, "{thin}")?;
        for f in items {
            n += 1;
            if f.severity == Severity::Info {
                // Notes (mostly checks skipped for lack of reference data) take one line each.
                writeln!(out, "{n:>4}. [{}] {}", f.code, lang.message(f))?;
                continue;
            }
            let reason = match (f.return_reason, lang) {
                (Some(r), Lang::Ja) => format!("  返戻理由 {} {}", r.code(), r.name_ja()),
                (Some(r), Lang::En) => format!("  return reason {}", r.code()),
                (None, _) => String::new(),
            };
            writeln!(
                out,
                "{n:>4}. [{}] {}{}",
                f.code,
                outcome_label(f.outcome, lang),
                reason
            )?;
            let (l_file, l_loc, l_val) = match lang {
                Lang::Ja => ("ファイル", "位置", "値"),
                Lang::En => ("file", "location", "value"),
            };
            writeln!(out, "      {}: {}", pad(l_file, 8), f.file)?;
            if !f.location.is_empty() {
                writeln!(out, "      {}: {}", pad(l_loc, 8), f.location)?;
            }
            if !f.value.is_empty() {
                writeln!(out, "      {}: {}", pad(l_val, 8), f.value)?;
            }
            writeln!(out, "      {}", lang.message(f))?;
        }
    }

    let flagged: Vec<_> = report
        .records
        .iter()
        .filter(|r| r.outcome != RecordOutcome::Accepted)
        .collect();
    if !flagged.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            match lang {
                Lang::Ja => "■ 返戻・保留となったレコード",
                Lang::En => "■ Returned and held records",
            }
        )?;
        writeln!(out, "{thin}")?;
        for r in flagged {
            let outcome = match (r.outcome, lang) {
                (RecordOutcome::Returned, Lang::Ja) => "返戻",
                (RecordOutcome::Held, Lang::Ja) => "保留",
                (RecordOutcome::Returned, Lang::En) => "returned",
                (RecordOutcome::Held, Lang::En) => "held",
                (RecordOutcome::Accepted, _) => "",
            };
            let reason = r.return_reason.map(|x| x.code()).unwrap_or("");
            writeln!(
                out,
                "  {} {:>2}  {}  {} {}  {}",
                pad(outcome, 8),
                reason,
                r.data_file,
                if lang == Lang::Ja {
                    "保険者"
                } else {
                    "insurer"
                },
                r.insurer,
                r.voucher
            )?;
        }
    }
    if report.findings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            match lang {
                Lang::Ja => "指摘事項はありません。",
                Lang::En => "No findings.",
            }
        )?;
    }
    writeln!(out, "{rule}")?;
    Ok(())
}
