//! `daiko contracts …` — contracts (契約) as versioned data (docs/reference-data.md,
//! `contracts.csv`). Each command opens the data folder's store and runs one step of
//! `daiko_pipeline::contracts` (which writes the audit rows).
//!
//! ```text
//! daiko contracts import  --insurer N FILE       the insurer's complete list → new versions
//! daiko contracts export  [--insurer N] [--fiscal-year Y] [--out FILE]
//! daiko contracts history --insurer N [--contract ID]
//! ```
//!
//! Exit codes: 0 done; 1 the file has errors (nothing was imported); 2 the command could
//! not run (no such insurer, database, files).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use daiko_pipeline::contracts;
use daiko_pipeline::reference::ImportError;
use daiko_store::Store;
use daiko_store::orgs::{Org, OrgKind};

use crate::Exit;
use crate::admin::{DataDir, cli_entry, load_config, open_store, runtime};

#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// Import an insurer's contracts.csv: new versions for new or changed contracts, a
    /// withdrawn version for a contract the file no longer lists; nothing is overwritten.
    Import(ImportArgs),
    /// Write the current contracts as contracts.csv (the format import reads).
    Export(ExportArgs),
    /// Every version of an insurer's contracts (who, when, what).
    History(HistoryArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// 保険者番号 of the insurer (the representative insurer of a collective contract).
    #[arg(long)]
    pub insurer: String,
    /// contracts.csv (UTF-8).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this insurer's contracts [default: every insurer].
    #[arg(long)]
    pub insurer: Option<String>,
    /// Only this fiscal year (年度), e.g. 2024.
    #[arg(long)]
    pub fiscal_year: Option<i32>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub insurer: String,
    /// Only this contract (契約番号).
    #[arg(long)]
    pub contract: Option<String>,
    /// Print JSON (every version with its contract) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The insurer organisation of a number (6-8 digits, zero-padded to 8).
async fn insurer(store: &Store, number: &str) -> Result<Org> {
    let padded = format!("{:0>8}", number.trim());
    match store.org_by_number(&padded).await? {
        Some(o) if o.kind == OrgKind::Insurer => Ok(o),
        _ => bail!(
            "保険者番号 {padded} の保険者は登録されていません / no insurer with number {padded} is registered (daiko org add --kind insurer …)"
        ),
    }
}

fn actor() -> String {
    std::env::var("USER").unwrap_or_else(|_| "cli".into())
}

pub fn run(data: &DataDir, cmd: ContractsCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        match cmd {
            ContractsCommand::Import(a) => {
                let org = insurer(&store, &a.insurer).await?;
                let bytes = std::fs::read(&a.file)
                    .with_context(|| format!("cannot read {}", a.file.display()))?;
                match contracts::import_contracts(&store, &org, &bytes, &actor()).await {
                    Ok(r) => {
                        println!(
                            "imported {} contract(s) of {} {}: {} new, {} changed, {} unchanged, {} withdrawn",
                            r.contracts,
                            org.number,
                            org.name,
                            r.summary.added,
                            r.summary.changed,
                            r.summary.unchanged,
                            r.summary.withdrawn
                        );
                        Ok(Exit::Ok)
                    }
                    Err(ImportError::Store(e)) => {
                        Err(anyhow::Error::new(e).context("cannot store the contracts"))
                    }
                    Err(e) => {
                        eprintln!(
                            "daiko: 契約を取り込めません(何も変更していません) / the contracts were not imported (nothing changed): {e}"
                        );
                        Ok(Exit::InputErrors)
                    }
                }
            }
            ContractsCommand::Export(a) => {
                let number = match &a.insurer {
                    Some(n) => Some(insurer(&store, n).await?.number),
                    None => None,
                };
                let csv = contracts::export_csv(&store, number.as_deref(), a.fiscal_year).await?;
                store
                    .audit(&cli_entry(
                        "contracts.export",
                        format!("contracts:{}", number.as_deref().unwrap_or("*")),
                        format!("fiscal_year={:?} bytes={}", a.fiscal_year, csv.len()),
                    ))
                    .await?;
                match &a.out {
                    Some(p) => std::fs::write(p, &csv)
                        .with_context(|| format!("cannot write {}", p.display()))?,
                    None => {
                        use std::io::Write;
                        std::io::stdout()
                            .write_all(&csv)
                            .context("cannot write to standard output")?;
                    }
                }
                Ok(Exit::Ok)
            }
            ContractsCommand::History(a) => {
                let org = insurer(&store, &a.insurer).await?;
                let list = contracts::history(&store, &org.number, a.contract.as_deref()).await?;
                store
                    .audit(&cli_entry(
                        "contracts.history",
                        format!("contracts:{}", org.number),
                        format!("versions={}", list.len()),
                    ))
                    .await?;
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                    return Ok(Exit::Ok);
                }
                println!(
                    "{:<24} {:>3} {:<10} {:>4} {:<9} {:<27} {:<12} state",
                    "contract", "ver", "form", "year", "validity", "created", "author"
                );
                for s in &list {
                    let v = &s.version;
                    let state = if v.withdrawn {
                        "withdrawn"
                    } else if v.superseded_at.is_some() {
                        "superseded"
                    } else {
                        "current"
                    };
                    let validity = format!("{}..{}", v.valid_from, v.valid_to);
                    println!(
                        "{:<24} {:>3} {:<10} {:>4} {:<9} {:<27} {:<12} {state} basic={}",
                        v.contract_id,
                        v.version,
                        v.form,
                        v.fiscal_year,
                        validity,
                        v.created_at,
                        v.author,
                        s.contract
                            .basic
                            .map(|b| b.to_string())
                            .unwrap_or_else(|| "-".into())
                    );
                }
                Ok(Exit::Ok)
            }
        }
    })
}
