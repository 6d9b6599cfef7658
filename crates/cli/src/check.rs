//! `daiko check`: run the reception checks over archives and print the reports.

use crate::Exit;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use daiko_check::config::CheckConfig;
use daiko_check::engine::check_archive;
use daiko_check::reference::{DirReference, NoReference, ReferenceData};
use daiko_check::report::{Report, Verdict};
use daiko_check::sink::NullSink;
use daiko_check::stages::date::Date;
use daiko_report::{CsvPrinter, Lang, write_json, write_text};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Archives to check (`{sender}_{receiver}_{YYYYMMDD}{n}_{S}.zip`).
    #[arg(required = true, value_name = "ARCHIVE.zip")]
    pub archives: Vec<PathBuf>,
    /// Output: the clerk's 受付エラー連絡表 (text), JSON Lines, or CSV for Excel.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Language of messages.
    #[arg(long, value_enum, default_value_t = LangArg::Ja)]
    pub lang: LangArg,
    /// This agency's 8-digit number (代行機関番号): archives must be addressed to it (I-04).
    #[arg(long, value_name = "NUMBER")]
    pub agency: Option<String>,
    /// Folder of insurer reference data (vouchers, coverage, contracts, history) for stage D;
    /// format in docs/reference-data.md. Without it those checks are skipped with a note.
    #[arg(long, value_name = "DIR")]
    pub reference: Option<PathBuf>,
    /// Reception date (YYYY-MM-DD or YYYYMMDD) for date and deadline checks; default today (JST).
    #[arg(long, value_name = "DATE")]
    pub reception_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Ja,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Ja => Lang::Ja,
            LangArg::En => Lang::En,
        }
    }
}

/// Builds the check configuration from the command-line options.
pub fn config_from(agency: Option<&str>, reception_date: Option<&str>) -> Result<CheckConfig> {
    let mut config = match agency {
        Some(n) => {
            if n.len() != 8 || !n.bytes().all(|b| b.is_ascii_digit()) {
                bail!("--agency must be the 8-digit agency number (代行機関番号), got {n:?}");
            }
            CheckConfig::for_agency(n)
        }
        None => CheckConfig::default(),
    };
    if let Some(d) = reception_date {
        let date = Date::parse_flexible(d).with_context(|| {
            format!("--reception-date must be YYYY-MM-DD or YYYYMMDD, got {d:?}")
        })?;
        config = config.received_on(date);
    }
    Ok(config)
}

/// Loads reference data from `dir`, or none.
pub fn reference_from(dir: Option<&Path>) -> Result<Box<dyn ReferenceData>> {
    Ok(match dir {
        Some(dir) => Box::new(
            DirReference::load(dir)
                .with_context(|| format!("cannot load reference data from {}", dir.display()))?,
        ),
        None => Box::new(NoReference),
    })
}

/// Checks one archive file.
pub fn check_file(
    path: &Path,
    config: &CheckConfig,
    reference: &dyn ReferenceData,
) -> Result<Report> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a file name", path.display()))?
        .to_string();
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    tracing::info!(archive = %name, bytes = meta.len(), "checking");
    Ok(check_archive(
        &name,
        reader,
        config,
        reference,
        &mut NullSink,
    ))
}

/// One printer for the whole run (CSV writes its BOM and header once).
enum Printer<W: Write> {
    Text(W, Lang),
    Json(W),
    Csv(Box<CsvPrinter<W>>),
}

impl<W: Write> Printer<W> {
    fn print(&mut self, report: &Report) -> std::io::Result<()> {
        match self {
            Printer::Text(out, lang) => {
                write_text(report, *lang, &mut *out)?;
                writeln!(out)?;
                out.flush()
            }
            Printer::Json(out) => {
                write_json(report, &mut *out)?;
                out.flush()
            }
            Printer::Csv(p) => p.write(report),
        }
    }
}

pub fn run(args: CheckArgs) -> Result<Exit> {
    let config = config_from(args.agency.as_deref(), args.reception_date.as_deref())?;
    let reference = reference_from(args.reference.as_deref())?;
    let lang = Lang::from(args.lang);
    let out = BufWriter::new(std::io::stdout().lock());
    let mut printer = match args.format {
        Format::Text => Printer::Text(out, lang),
        Format::Json => Printer::Json(out),
        Format::Csv => Printer::Csv(Box::new(CsvPrinter::new(out, lang)?)),
    };
    let mut unreadable = 0usize;
    let mut all_accepted = true;
    for path in &args.archives {
        match check_file(path, &config, reference.as_ref()) {
            Ok(report) => {
                all_accepted &= report.verdict == Verdict::Accepted;
                printer.print(&report)?;
            }
            Err(e) => {
                eprintln!("daiko: error: {e:#}");
                unreadable += 1;
            }
        }
    }
    if unreadable > 0 {
        bail!(
            "{unreadable} of {} archive(s) could not be read",
            args.archives.len()
        );
    }
    Ok(if all_accepted {
        Exit::Ok
    } else {
        Exit::InputErrors
    })
}
