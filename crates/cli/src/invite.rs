//! `daiko invite …` — checkup invitations (健診案内) for an insurer subscribed to `invite`
//! (docs/invitations.md, "Operations"). Each command opens the data folder's store, runs one
//! step of `daiko_pipeline::invite` (which writes the audit rows) and prints a summary.
//!
//! ```text
//! daiko invite import-roster --insurer N FILE
//! daiko invite targets   --insurer N --fiscal-year YYYY [--format json|text] [--targets-only]
//! daiko invite issue     --insurer N --fiscal-year YYYY [--kind checkup|guidance]
//! daiko invite letters   --insurer N --fiscal-year YYYY --out DIR [--issued-on DATE]
//! daiko invite reminders --insurer N --fiscal-year YYYY --as-of DATE --out DIR
//! daiko invite uptake    --insurer N --fiscal-year YYYY
//! daiko invite returned  --insurer N --card SYMBOL,NUMBER[,BRANCH] [--clear] [--note TEXT]
//! daiko invite settings  --insurer N [--set FILE.json]
//! daiko invite template  --insurer N [--set FILE.json]
//! ```
//!
//! Exit codes: 0 done; 1 the input has errors (roster rows, settings, template, a Shift_JIS
//! export refused under the `refuse` policy); 2 the command could not run (no such insurer,
//! not subscribed, database).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use daiko_pipeline::invite::daiko_invite::vouchers::VoucherKind;
use daiko_pipeline::invite::{self, Actor, InviteError, OutputFile};
use daiko_store::Store;
use daiko_store::orgs::Org;

use crate::Exit;
use crate::admin::{DataDir, load_config, open_store, runtime};

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Import a member roster CSV (UTF-8 or Shift_JIS) as the insurer's next roster version.
    ImportRoster(ImportArgs),
    /// Target decisions of the roster in force for a fiscal year.
    Targets(TargetsArgs),
    /// Issue 受診券 to every target without one for the year (idempotent); with `--kind
    /// guidance`, 利用券 to members whose accepted checkup gave a support level.
    Issue(IssueArgs),
    /// Letters (PDF per batch) and the mailing list (UTF-8 and Shift_JIS CSV) into a folder.
    Letters(LettersArgs),
    /// Plan the next reminder round as of a date and write its list into a folder.
    Reminders(RemindersArgs),
    /// Uptake per reminder round and message variant.
    Uptake(YearArgs),
    /// Mark (or clear) returned mail (宛所不明) for a member.
    Returned(ReturnedArgs),
    /// Show or set the insurer's invitation settings (JSON).
    Settings(JsonArgs),
    /// Show or set the insurer's letter template (JSON: title, body, voucher_title, voucher_note).
    Template(JsonArgs),
}

#[derive(Debug, Args)]
pub struct InsurerArg {
    /// 保険者番号 (8 digits; 6-digit numbers are zero-padded).
    #[arg(long)]
    pub insurer: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub insurer: InsurerArg,
    /// The roster CSV.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct YearArgs {
    #[command(flatten)]
    pub insurer: InsurerArg,
    /// 年度 (April to March), e.g. 2024.
    #[arg(long)]
    pub fiscal_year: i64,
}

/// Which voucher `issue` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IssueKind {
    /// 受診券 for the targets of the year.
    Checkup,
    /// 利用券 for members whose checkup this year gave 積極的支援 or 動機付け支援.
    Guidance,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    pub year: YearArgs,
    #[arg(long, value_enum, default_value = "checkup")]
    pub kind: IssueKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetsFormat {
    Json,
    Text,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(flatten)]
    pub year: YearArgs,
    #[arg(long, value_enum, default_value = "json")]
    pub format: TargetsFormat,
    /// Print targets only (by default every member is printed, with `target` true/false and
    /// the reasons of non-targets).
    #[arg(long)]
    pub targets_only: bool,
}

#[derive(Debug, Args)]
pub struct LettersArgs {
    #[command(flatten)]
    pub year: YearArgs,
    /// Folder for the PDF files and the mailing lists (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Issue date printed on the letters (default: today in Japan).
    #[arg(long)]
    pub issued_on: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemindersArgs {
    #[command(flatten)]
    pub year: YearArgs,
    /// Posting date of the round (YYYY-MM-DD); checkups on or before it count as responses.
    #[arg(long)]
    pub as_of: String,
    /// Folder for the reminder list CSV (created when missing).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReturnedArgs {
    #[command(flatten)]
    pub insurer: InsurerArg,
    /// The member's card: SYMBOL,NUMBER[,BRANCH].
    #[arg(long)]
    pub card: String,
    /// Clear the mark (the address was corrected).
    #[arg(long)]
    pub clear: bool,
    /// Show the member's mark and the audit rows of its marking and clearing (notes
    /// opened) instead of changing anything; the audit trail names the card key only by
    /// its index (S18).
    #[arg(long, conflicts_with = "clear")]
    pub history: bool,
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    #[command(flatten)]
    pub insurer: InsurerArg,
    /// A JSON file to store (without it the current value is printed).
    #[arg(long)]
    pub set: Option<PathBuf>,
}

fn actor() -> Actor {
    Actor {
        login: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
        role: "cli".into(),
        org: String::new(),
        source: "cli".into(),
    }
}

fn parse_date(s: &str, what: &str) -> Result<jiff::civil::Date> {
    s.parse()
        .with_context(|| format!("{what} must be a date YYYY-MM-DD, got {s:?}"))
}

fn today_in_japan() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
        .date()
}

/// Input errors end with exit 1 after printing both messages; anything else is exit 2.
fn finish<T>(r: Result<T, InviteError>, ok: impl FnOnce(T) -> Result<Exit>) -> Result<Exit> {
    match r {
        Ok(v) => ok(v),
        Err(e @ (InviteError::NoSuchInsurer(_) | InviteError::NotSubscribed(_))) => {
            bail!("{}\n{}", e.ja(), e.en())
        }
        Err(e) if e.is_input_error() => {
            eprintln!("daiko: {}", e.ja());
            eprintln!("daiko: {}", e.en());
            Ok(Exit::InputErrors)
        }
        Err(e) => bail!("{}\n{}", e.ja(), e.en()),
    }
}

fn write_files(dir: &Path, files: &[OutputFile]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for f in files {
        let path = dir.join(&f.name);
        std::fs::write(&path, &f.bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn insurer(store: &Store, number: &str) -> Result<Org> {
    invite::invite_insurer(store, number)
        .await
        .map_err(|e| anyhow::anyhow!("{}\n{}", e.ja(), e.en()))
}

pub fn run(data: &DataDir, cmd: InviteCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let who = actor();
        match cmd {
            InviteCommand::ImportRoster(a) => {
                let org = insurer(&store, &a.insurer.insurer).await?;
                let bytes = std::fs::read(&a.file)
                    .with_context(|| format!("cannot read {}", a.file.display()))?;
                let name = a
                    .file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match invite::import_roster(&store, &org, &bytes, &name, &who).await {
                    Ok(info) => {
                        println!(
                            "imported roster version {} of {} {}: {} members ({}, sha256 {})",
                            info.version,
                            org.number,
                            org.name,
                            info.members,
                            info.encoding,
                            info.sha256
                        );
                        Ok(Exit::Ok)
                    }
                    Err(InviteError::Roster(errors)) => {
                        eprintln!(
                            "daiko: 名簿を取り込めません(何も取り込んでいません) / the roster was not imported (nothing was): {} error(s)",
                            errors.errors.len()
                        );
                        for e in &errors.errors {
                            eprintln!("{e}");
                        }
                        Ok(Exit::InputErrors)
                    }
                    Err(e) => finish(Err::<(), _>(e), |()| Ok(Exit::Ok)),
                }
            }
            InviteCommand::Targets(a) => {
                let org = insurer(&store, &a.year.insurer.insurer).await?;
                finish(
                    invite::targets(&store, &org, a.year.fiscal_year, &who).await,
                    |t| {
                        let list: Vec<_> = t
                            .decisions
                            .iter()
                            .filter(|d| d.target || !a.targets_only)
                            .collect();
                        match a.format {
                            TargetsFormat::Json => {
                                let v: Vec<serde_json::Value> =
                                    list.iter().map(|d| invite::decision_json(d)).collect();
                                println!("{}", serde_json::to_string_pretty(&v)?);
                            }
                            TargetsFormat::Text => {
                                for d in list {
                                    let why: Vec<String> =
                                        d.reasons.iter().map(|r| r.en()).collect();
                                    println!(
                                        "{}\t{}\t{}",
                                        d.card,
                                        if d.target { "target" } else { "not_target" },
                                        why.join("; ")
                                    );
                                }
                                eprintln!(
                                    "roster version {}: {} members, {} targets in FY{}",
                                    t.roster.version, t.members, t.targets, t.fiscal_year
                                );
                            }
                        }
                        Ok(Exit::Ok)
                    },
                )
            }
            InviteCommand::Issue(a) => {
                let org = insurer(&store, &a.year.insurer.insurer).await?;
                let kind = match a.kind {
                    IssueKind::Checkup => VoucherKind::Checkup,
                    IssueKind::Guidance => VoucherKind::Guidance,
                };
                finish(
                    invite::issue_kind(&store, &org, a.year.fiscal_year, kind, &who).await,
                    |r| {
                        let (targets, what) = match r.kind {
                            VoucherKind::Checkup => ("targets", "vouchers"),
                            VoucherKind::Guidance => {
                                ("members with a support level", "guidance vouchers (利用券)")
                            }
                        };
                        println!(
                            "FY{}: {} {targets}, {} {what} issued{}, {} already held one",
                            r.fiscal_year,
                            r.targets,
                            r.issued,
                            match (&r.first_number, &r.last_number) {
                                (Some(f), Some(l)) => format!(" ({f}–{l})"),
                                _ => String::new(),
                            },
                            r.already
                        );
                        Ok(Exit::Ok)
                    },
                )
            }
            InviteCommand::Letters(a) => {
                let org = insurer(&store, &a.year.insurer.insurer).await?;
                let issued_on = match &a.issued_on {
                    Some(d) => parse_date(d, "--issued-on")?,
                    None => today_in_japan(),
                };
                let out = a.out.clone();
                finish(
                    invite::letters(&store, &org, a.year.fiscal_year, issued_on, &who).await,
                    |o| {
                        write_files(&out, &o.files)?;
                        println!(
                            "{} letters in {} PDF file(s) written to {}; {} unmailable; barcoded {} (discount {}, estimated saving {} yen)",
                            o.run.letters,
                            o.run.files,
                            out.display(),
                            o.unmailable.len(),
                            o.discount.barcoded,
                            if o.discount.eligible { "yes" } else { "no" },
                            o.saving_yen
                        );
                        for c in &o.unmailable {
                            eprintln!("unmailable: {c}");
                        }
                        if o.sjis_errors.is_empty() {
                            return Ok(Exit::Ok);
                        }
                        eprintln!(
                            "daiko: Shift_JIS の宛名データは作成していません / the Shift_JIS mailing list was refused:"
                        );
                        for e in &o.sjis_errors {
                            eprintln!("seq {}, {}: {} / {}", e.seq, e.column, e.ja, e.en);
                        }
                        Ok(Exit::InputErrors)
                    },
                )
            }
            InviteCommand::Reminders(a) => {
                let org = insurer(&store, &a.year.insurer.insurer).await?;
                let as_of = parse_date(&a.as_of, "--as-of")?;
                let out = a.out.clone();
                finish(
                    invite::reminders(&store, &org, a.year.fiscal_year, as_of, &who).await,
                    |r| {
                        write_files(&out, &r.files)?;
                        let per: Vec<String> = r
                            .variants
                            .iter()
                            .zip(&r.per_variant)
                            .map(|(v, n)| format!("{v}: {n}"))
                            .collect();
                        println!(
                            "round {} as of {}: {} reminders ({}); {} responded, {} returned mail, {} without address",
                            r.round,
                            r.sent_on,
                            r.reminded,
                            per.join(", "),
                            r.responded,
                            r.returned,
                            r.unmailable
                        );
                        Ok(Exit::Ok)
                    },
                )
            }
            InviteCommand::Uptake(a) => {
                let org = insurer(&store, &a.insurer.insurer).await?;
                finish(
                    invite::uptake(&store, &org, a.fiscal_year).await,
                    |rows| {
                        println!("{}", serde_json::to_string_pretty(&rows)?);
                        Ok(Exit::Ok)
                    },
                )
            }
            InviteCommand::Returned(a) => {
                let org = insurer(&store, &a.insurer.insurer).await?;
                let parts: Vec<&str> = a.card.split(',').collect();
                let card = match parts.as_slice() {
                    [s, n] => invite::daiko_invite::CardKey::new(s, n, ""),
                    [s, n, b] => invite::daiko_invite::CardKey::new(s, n, b),
                    _ => bail!("--card must be SYMBOL,NUMBER[,BRANCH], got {:?}", a.card),
                };
                if a.history {
                    finish(
                        invite::returned_mail_history(&store, &org, &card, &who).await,
                        |h| {
                            println!("{}", serde_json::to_string_pretty(&h)?);
                            Ok(Exit::Ok)
                        },
                    )
                } else {
                    finish(
                        invite::set_returned_mail(&store, &org, &card, !a.clear, &a.note, &who)
                            .await,
                        |()| {
                            println!(
                                "{} {card}",
                                if a.clear { "cleared" } else { "marked returned" }
                            );
                            Ok(Exit::Ok)
                        },
                    )
                }
            }
            InviteCommand::Settings(a) => {
                let org = insurer(&store, &a.insurer.insurer).await?;
                if let Some(path) = &a.set {
                    let bytes = std::fs::read(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let r = match invite::parse_settings(&bytes) {
                        Ok(s) => invite::save_settings(&store, &org, &s, &who).await,
                        Err(e) => Err(e),
                    };
                    return finish(r, |()| {
                        println!("settings of {} saved", org.number);
                        Ok(Exit::Ok)
                    });
                }
                finish(invite::settings(&store, &org).await, |s| {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                    Ok(Exit::Ok)
                })
            }
            InviteCommand::Template(a) => {
                let org = insurer(&store, &a.insurer.insurer).await?;
                if let Some(path) = &a.set {
                    let bytes = std::fs::read(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let r = match serde_json::from_slice(&bytes) {
                        Ok(t) => invite::save_template(&store, &org, &t, &who).await,
                        Err(e) => Err(InviteError::BadTemplate(e.to_string())),
                    };
                    return finish(r, |v| {
                        println!("template version {v} of {} saved", org.number);
                        Ok(Exit::Ok)
                    });
                }
                finish(invite::template(&store, &org).await, |(v, t)| {
                    eprintln!("template version {v} (0 = built-in)");
                    println!("{}", serde_json::to_string_pretty(&t)?);
                    Ok(Exit::Ok)
                })
            }
        }
    })
}
