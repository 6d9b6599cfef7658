//! `daiko bench`: speed measurements whose figures go into docs/performance.md.
//!
//! `daiko bench check` generates checkup archives in memory with `daiko sample`'s
//! generator (fixed seed, so every run measures the same documents), checks them with
//! 1 worker and with all cores, and times `xmllint --noout --schema hc08_V08.xsd` on the
//! same DATA documents as the baseline. Figures are documents per second.

use crate::Exit;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use daiko_check::config::CheckConfig;
use daiko_check::engine::check_archive;
use daiko_check::reference::NoReference;
use daiko_check::sink::NullSink;
use daiko_check::stages::date::Date;
use daiko_format::archive::{Archive, ArchiveLimits, EntryRole};
use std::io::Cursor;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Throughput of `daiko check` against `xmllint --schema` on the same documents.
    Check(BenchCheckArgs),
    /// The server end to end: uploads over HTTP until every record is delivered.
    Serve(crate::bench_serve::BenchServeArgs),
}

#[derive(Debug, Args)]
pub struct BenchCheckArgs {
    /// Archives to generate.
    #[arg(long, default_value_t = 4)]
    pub archives: usize,
    /// Records (checkup documents) per archive.
    #[arg(long, default_value_t = 2500)]
    pub records: usize,
    /// Minimum measuring time per configuration, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Folder with the official XSDs for the xmllint baseline (hc08_V08.xsd);
    /// default ../shared/reference/xsd/2018 when present.
    #[arg(long, value_name = "DIR")]
    pub xsd_dir: Option<PathBuf>,
    /// Documents given to xmllint (a subset keeps the baseline quick).
    #[arg(long, default_value_t = 2000)]
    pub xmllint_docs: usize,
}

pub fn run(cmd: BenchCommand) -> Result<Exit> {
    match cmd {
        BenchCommand::Check(args) => bench_check(args),
        BenchCommand::Serve(args) => crate::bench_serve::run(args),
    }
}

fn bench_check(args: BenchCheckArgs) -> Result<Exit> {
    let cfg = daiko_sample::SampleConfig {
        archives: args.archives,
        records: args.records,
        seed: 1,
        ..daiko_sample::SampleConfig::default()
    };
    eprintln!(
        "generating {} archives × {} records …",
        args.archives, args.records
    );
    let archives = daiko_sample::generate(&cfg).context("generating sample archives")?;
    let docs: usize = archives.len() * args.records;
    let bytes: usize = archives.iter().map(|a| a.zip.len()).sum();
    println!(
        "input: {} archives, {docs} checkup documents (+ {docs} claims), {} KiB zipped",
        archives.len(),
        bytes / 1024
    );

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut results = Vec::new();
    for workers in [1, cores] {
        let mut config = CheckConfig::for_agency(cfg.receiver.clone());
        config.reception_date = Date::today_jst();
        config.workers = Some(workers);
        let (rate, rounds) = measure(Duration::from_secs(args.seconds), || {
            for a in &archives {
                let report = check_archive(
                    &a.name,
                    Cursor::new(&a.zip),
                    &config,
                    &NoReference,
                    &mut NullSink,
                );
                if report.counts.errors > 0 {
                    bail!(
                        "sample archive {} has {} errors: the benchmark needs clean input",
                        a.name,
                        report.counts.errors
                    );
                }
            }
            Ok(docs)
        })?;
        println!(
            "daiko check, {workers} worker(s): {rate:>9.0} checkup documents/s ({rounds} rounds)"
        );
        results.push(rate);
    }

    let xsd_dir = args.xsd_dir.clone().or_else(|| {
        let p = PathBuf::from("../shared/reference/xsd/2018");
        p.join("hc08_V08.xsd").exists().then_some(p)
    });
    match xsd_dir {
        None => println!(
            "xmllint baseline skipped: no XSD folder (pass --xsd-dir DIR with hc08_V08.xsd)"
        ),
        Some(dir) => {
            let rate = xmllint_rate(&archives, &dir, args.xmllint_docs)?;
            println!(
                "xmllint --noout --schema hc08_V08.xsd (1 process, 1 core): {rate:>9.0} documents/s"
            );
            if let Some(best) = results.last() {
                println!("daiko ({cores} workers) / xmllint: {:.1}×", best / rate);
            }
        }
    }
    Ok(Exit::Ok)
}

/// Runs `round` repeatedly for at least `min` and returns (items per second, rounds).
fn measure(min: Duration, mut round: impl FnMut() -> Result<usize>) -> Result<(f64, usize)> {
    round()?; // warm-up
    let start = Instant::now();
    let mut items = 0usize;
    let mut rounds = 0usize;
    while start.elapsed() < min || rounds < 2 {
        items += round()?;
        rounds += 1;
    }
    Ok((items as f64 / start.elapsed().as_secs_f64(), rounds))
}

/// Extracts up to `limit` DATA documents and times one xmllint process validating them.
fn xmllint_rate(
    archives: &[daiko_sample::SampleArchive],
    xsd_dir: &std::path::Path,
    limit: usize,
) -> Result<f64> {
    let schema = xsd_dir.join("hc08_V08.xsd");
    if !schema.exists() {
        bail!("{} not found", schema.display());
    }
    let tmp = std::env::temp_dir().join(format!("daiko-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let mut files = Vec::new();
    'outer: for a in archives {
        let mut archive = Archive::open(&a.name, Cursor::new(&a.zip), ArchiveLimits::default());
        let entries: Vec<_> = archive
            .entries
            .iter()
            .filter(|e| e.role == EntryRole::Data)
            .cloned()
            .collect();
        for e in entries {
            if files.len() >= limit {
                break 'outer;
            }
            let bytes = archive.read(&e).map_err(|i| anyhow::anyhow!("{i:?}"))?;
            let path = tmp.join(format!("d{:06}.xml", files.len()));
            std::fs::write(&path, bytes)?;
            files.push(path);
        }
    }
    let start = Instant::now();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .args(&files)
        .output()
        .context("running xmllint (apt-get install libxml2-utils)")?;
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&tmp);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let valid = stderr.lines().filter(|l| l.ends_with(" validates")).count();
    if valid != files.len() {
        bail!(
            "xmllint validated {valid} of {} documents:\n{}",
            files.len(),
            stderr.lines().take(10).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(files.len() as f64 / secs)
}
