//! `daiko sample`: write realistic archives (and injected defects with a manifest).

use crate::Exit;
use anyhow::{Context, Result, bail};
use clap::Args;
use daiko_report::{Lang, write_text};
use daiko_sample::{Period, SampleConfig};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Folder to write the archives and manifest.json into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of archives (one service month each).
    #[arg(long, default_value_t = 1)]
    pub archives: usize,
    /// Records (persons) per archive.
    #[arg(long, default_value_t = 10)]
    pub records: usize,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Schema generation: 2018 (FY2023 services) or 2024 (FY2024 services).
    #[arg(long, default_value = "2018", value_parser = ["2018", "2024"])]
    pub period: String,
    /// Share of records (0.0–1.0) that get one injected defect; manifest.json lists the
    /// check codes each defect must trigger.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub defects: f64,
    /// Guidance archives (実施区分 2) to write besides the checkup archives.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub guidance: usize,
    /// Also inject defects that only insurer reference data reveals (stage D, contract
    /// prices, history); check with `--reference DIR/reference` to see them.
    #[arg(long)]
    pub reference_defects: bool,
    /// After writing, check every archive and print the 受付エラー連絡表 (the quick start).
    #[arg(long)]
    pub check: bool,
    /// Language of the printed reports with --check.
    #[arg(long, value_enum, default_value_t = crate::check::LangArg::Ja)]
    pub lang: crate::check::LangArg,
}

pub fn run(args: SampleArgs) -> Result<Exit> {
    let period = match Period::parse(&args.period) {
        Some(p) => p,
        None => bail!("--period must be 2018 or 2024, got {:?}", args.period),
    };
    let config = SampleConfig {
        archives: args.archives,
        records: args.records,
        seed: args.seed,
        period,
        defect_rate: args.defects,
        guidance_archives: args.guidance,
        reference_defects: args.reference_defects,
        ..SampleConfig::default()
    };
    let archives = daiko_sample::generate(&config).context("generating samples")?;
    daiko_sample::write_to_dir(&archives, &args.out)
        .with_context(|| format!("writing samples to {}", args.out.display()))?;
    let defects: usize = archives.iter().map(|a| a.manifest.defects.len()).sum();
    eprintln!(
        "wrote {} archive(s) with {} record(s) each and manifest.json to {} ({defects} injected defect(s))",
        archives.len(),
        args.records,
        args.out.display()
    );
    if !args.check {
        return Ok(Exit::Ok);
    }
    // The reference data written beside the archives (vouchers, coverage, contracts,
    // history) lets the check run stage D as an agency would.
    let reference_dir = args.out.join("reference");
    let reference =
        crate::check::reference_from(reference_dir.is_dir().then_some(reference_dir.as_path()))?;
    let mut out = std::io::stdout().lock();
    for a in &archives {
        // Judge each archive as if received on the day it was made (the date in its name),
        // so the monthly deadline (T-04) reads as it would have then.
        let made_on = daiko_format::archive::ArchiveName::parse(&a.name)
            .ok()
            .map(|n| n.date);
        let check_config = crate::check::config_from(Some(&config.receiver), made_on.as_deref())?;
        let report =
            crate::check::check_file(&args.out.join(&a.name), &check_config, reference.as_ref())?;
        write_text(&report, Lang::from(args.lang), &mut out)?;
        writeln!(out)?;
    }
    Ok(Exit::Ok)
}
