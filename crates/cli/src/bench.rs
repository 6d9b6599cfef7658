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
    /// The billing month close of N claims on a temporary SQLite data folder.
    Close(BenchCloseArgs),
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
        BenchCommand::Close(args) => bench_close(args),
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

#[derive(Debug, Args)]
pub struct BenchCloseArgs {
    /// Accepted claims in the month.
    #[arg(long, default_value_t = 100_000)]
    pub claims: usize,
    /// Institutions the claims come from (one submission each).
    #[arg(long, default_value_t = 500)]
    pub institutions: usize,
    /// Insurers the claims are billed to.
    #[arg(long, default_value_t = 50)]
    pub insurers: usize,
}

/// `daiko bench close`: a temporary SQLite data folder filled with `claims` accepted and
/// delivered records (inserted directly, in bulk: the checker is not what is measured), then
/// the month close and the settlement timed separately, and the totals checked.
fn bench_close(args: BenchCloseArgs) -> Result<Exit> {
    use daiko_billing::FeeSchedule;
    use daiko_store::Store;
    use daiko_store::orgs::OrgKind;
    use daiko_store::submissions::{NewSubmission, RecordRow};

    if args.claims == 0 || args.institutions == 0 || args.insurers == 0 {
        bail!("--claims, --institutions and --insurers must be at least 1");
    }
    let tmp = std::env::temp_dir().join(format!("daiko-bench-close-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = crate::admin::runtime()?.block_on(async {
        let store = Store::open(&tmp, None)
            .await
            .context("cannot open the temporary data folder")?;
        store
            .add_org(OrgKind::Agency, "99000010", "ベンチ代行機関", &[])
            .await?;
        let insurers: Vec<String> = (0..args.insurers).map(|i| format!("0699{i:04}")).collect();
        for (i, n) in insurers.iter().enumerate() {
            store
                .add_org(
                    OrgKind::Insurer,
                    n,
                    &format!("保険者{i}"),
                    &["check", "route", "billing"],
                )
                .await?;
        }
        let mut institutions = Vec::new();
        for i in 0..args.institutions {
            let number = format!("13{i:08}");
            let org = store
                .add_org(OrgKind::Institution, &number, &format!("健診機関{i}"), &[])
                .await?;
            institutions.push((number, org.id));
        }
        daiko_pipeline::billing::set_fees(
            &store,
            &FeeSchedule {
                insurer_per_record: 50,
                insurer_per_invoice: 1000,
                institution_per_record: 30,
                institution_per_statement: 500,
            },
            "bench",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

        eprintln!("inserting {} records …", args.claims);
        let t = Instant::now();
        let per_inst = args.claims.div_ceil(args.institutions);
        let mut expected: i64 = 0;
        let mut made = 0usize;
        for (k, (number, org_id)) in institutions.iter().enumerate() {
            if made >= args.claims {
                break;
            }
            let sub = format!("bench-sub-{k}");
            let n = per_inst.min(args.claims - made);
            let mut tx = store.begin().await?;
            let receipt = store.next_receipt_no(&mut tx, "20000101").await?;
            store
                .insert_submission_in(
                    &mut tx,
                    &NewSubmission {
                        id: &sub,
                        org_id,
                        uploaded_by: None,
                        channel: "api",
                        archive_name: &format!("{sub}.zip"),
                        sha256: &sub,
                        size: 0,
                        blob_key: &format!("archives/{sub}.zip"),
                    },
                    &receipt,
                )
                .await?;
            let rows: Vec<RecordRow> = (0..n)
                .map(|j| {
                    let g = made + j;
                    // One person per claim (no U-01 exclusions); one in ten is guidance.
                    let guidance = g % 10 == 9;
                    let cost: i64 = 7000 + (g % 13) as i64 * 310;
                    let copay: i64 = match g % 4 {
                        0 => 0,
                        1 => 1000,
                        2 => (cost * 3 + 5) / 10,
                        _ => cost.min(500),
                    };
                    let other: i64 = if g.is_multiple_of(17) { 200 } else { 0 };
                    RecordRow {
                        id: format!("r{g:08}"),
                        submission_id: sub.clone(),
                        seq: j as i64,
                        data_file: format!("DATA/h{g}.xml"),
                        claim_file: format!("CLAIMS/c{g}.xml"),
                        insurer: insurers[g % insurers.len()].clone(),
                        institution: number.clone(),
                        voucher: format!("{g:011}"),
                        card_symbol: String::new(),
                        card_number: format!("{g:08}"),
                        service_event_type: if guidance { 2 } else { 1 },
                        guidance_timing: guidance.then(|| "1".to_string()),
                        service_date: "20260915".into(),
                        fiscal_year: 2026,
                        outcome: "accepted".into(),
                        return_reason: None,
                        state: "delivered".into(),
                        cost,
                        copayment: copay,
                        other_program: other,
                        claim: cost - copay - other,
                        delivery_id: None,
                    }
                })
                .collect();
            expected += rows.iter().map(|r| r.claim).sum::<i64>();
            store.insert_records_in(&mut tx, &rows).await?;
            tx.commit().await?;
            made += n;
        }
        let insert = t.elapsed();
        println!(
            "insert: {made} records in {:.1} s (setup, not part of the close)",
            insert.as_secs_f64()
        );

        let cal = daiko_pipeline::billing::calendar(&store)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let month = cal.billing_month_of(jiff::Timestamp::now());
        let after =
            daiko_pipeline::billing::cutoff(&cal, month) + jiff::SignedDuration::from_secs(1);
        let t = Instant::now();
        let closed = daiko_pipeline::billing::close_month_at(&store, month, "bench", after)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let close = t.elapsed();
        if closed.lines != made as i64 || closed.claim_total != expected {
            bail!(
                "the close froze {} lines / {} yen, expected {made} / {expected}",
                closed.lines,
                closed.claim_total
            );
        }
        println!(
            "close_month {month}: {} lines, {} yen in {:.2} s",
            closed.lines,
            closed.claim_total,
            close.as_secs_f64()
        );
        let t = Instant::now();
        let st = daiko_pipeline::billing::settlement(&store, month)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .context("the month is not closed")?;
        let settle = t.elapsed();
        let invoiced: i64 = st.invoices.iter().map(|i| i.claim_total).sum();
        if invoiced != expected {
            bail!("invoices total {invoiced} yen, expected {expected}");
        }
        println!(
            "settlement: {} invoices, {} statements in {:.2} s",
            st.invoices.len(),
            st.statements.len(),
            settle.as_secs_f64()
        );
        let t = Instant::now();
        let again = daiko_pipeline::billing::close_month_at(&store, month, "bench", after)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !again.already_closed {
            bail!("the second close was not a no-op");
        }
        println!("second close (no-op): {:.3} s", t.elapsed().as_secs_f64());
        println!(
            "close + settlement: {:.2} s for {made} claims",
            (close + settle).as_secs_f64()
        );
        store.close().await;
        Ok(Exit::Ok)
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result
}
