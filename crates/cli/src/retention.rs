//! `daiko retention`: retention periods and destruction by crypto-shredding (S26). The work is
//! done by `daiko_store::retention`; this module parses arguments, prints and maps errors.
//!
//! A destruction is filed here as a `destruction` approval by `cli:$USER`; it runs when a
//! second administrator approves it (`daiko approvals approve ID --as LOGIN --totp CODE`).

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use daiko_store::Store;
use daiko_store::retention::{DATA_TYPES, RetentionError};

use crate::Exit;
use crate::admin::{DataDir, cli_entry, load_config, open_store, runtime};

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Retention years per data type (defaults and per-organisation overrides).
    Show,
    /// Set the retention of a data type, for every organisation or one (`--tenant NUMBER`).
    Set {
        /// archives, reports, deliveries, records, rosters or billing (audit is never destroyed).
        data_type: String,
        years: u32,
        /// Organisation number (保険者番号 / 機関番号) or id; without it, the default.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Retention scopes (organisation × fiscal year) and whether they are past retention; an
    /// insurer's 年度 with rosters but no scoped data is listed without keys.
    Due {
        /// Also list scopes not yet due.
        #[arg(long)]
        all: bool,
        /// The day to judge on (YYYY-MM-DD; default today, UTC).
        #[arg(long)]
        on: Option<String>,
    },
    /// File the destruction of one scope for a second administrator's approval.
    Destroy {
        /// Organisation number or id.
        #[arg(long)]
        tenant: String,
        /// The fiscal year (年度) of the scope, e.g. 2019.
        #[arg(long)]
        scope: i32,
    },
    /// Destruction certificates (from the audit trail), what they did to the backups and the
    /// backup purges still pending.
    Certificates,
    /// Run the pending backup purges of destructions now, retries not yet due and failed
    /// ones included (`serve` runs them by itself; this is for installations without a
    /// running server, or after bringing an unreachable location back).
    PurgeBackups,
}

/// Runs the ready backup purges (`at_once`: all pending) and prints what each did; answers
/// whether every one completed.
pub async fn purge_backups(store: &Store, at_once: bool) -> Result<bool> {
    let env = |k: &str| std::env::var(k).ok();
    let owner = format!("cli:{}", std::process::id());
    let mut all_done = true;
    for run in store
        .run_backup_purges(&owner, &env, at_once)
        .await
        .map_err(refused)?
    {
        all_done &= run.done;
        for o in &run.outcomes {
            println!(
                "backup purge {}: {} {}",
                run.approval,
                o.location(),
                o.detail(&run.scope)
            );
        }
        println!(
            "backup purge {} attempt {}: {}",
            run.approval,
            run.attempt,
            if run.done {
                "done / 完了"
            } else {
                "NOT complete, retried later / 未完了（後で再試行）: daiko retention purge-backups"
            }
        );
    }
    Ok(all_done)
}

fn refused(e: RetentionError) -> anyhow::Error {
    match e {
        RetentionError::Store(e) => anyhow!(e),
        e => anyhow!("{} / {e}", e.message_ja()),
    }
}

async fn org_id(store: &Store, tenant: &str) -> Result<String> {
    if let Some(o) = store.org_by_number(tenant).await? {
        return Ok(o.id);
    }
    match store.org(tenant).await? {
        Some(o) => Ok(o.id),
        None => bail!("組織 {tenant} がありません / no organisation {tenant}"),
    }
}

fn today() -> String {
    daiko_store::now().chars().take(10).collect()
}

pub fn run(data: &DataDir, cmd: RetentionCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        let mut entry = cli_entry("", String::new(), String::new());
        entry.actor = format!("cli:{}", entry.actor);
        match cmd {
            RetentionCommand::Show => {
                let p = store.retention_policy().await.map_err(refused)?;
                println!("default retention (years):");
                for t in DATA_TYPES {
                    if *t == "audit" {
                        println!("  audit: never destroyed by retention");
                    } else {
                        println!("  {t}: {}", p.years("", t));
                    }
                }
                for (org, m) in &p.tenants {
                    let name = store
                        .org(org)
                        .await?
                        .map(|o| o.number)
                        .unwrap_or_else(|| org.clone());
                    for (t, y) in m {
                        println!("  {name} {t}: {y}");
                    }
                }
            }
            RetentionCommand::Set {
                data_type,
                years,
                tenant,
            } => {
                let org = match tenant {
                    Some(t) => Some(org_id(&store, &t).await?),
                    None => None,
                };
                let mut p = store.retention_policy().await.map_err(refused)?;
                p.set(org.as_deref(), &data_type, years).map_err(refused)?;
                store
                    .set_retention_policy(&p, &entry)
                    .await
                    .map_err(refused)?;
                println!("{data_type}: {years} years");
            }
            RetentionCommand::Due { all, on } => {
                let day = on.unwrap_or_else(today);
                for s in store.retention_scopes(&day).await.map_err(refused)? {
                    if !s.due && !all {
                        continue;
                    }
                    let number = store
                        .org(&s.org)
                        .await?
                        .map(|o| o.number)
                        .unwrap_or_default();
                    let counts: Vec<String> =
                        s.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    // No keys: an insurer's 年度 of rosters and invitations only.
                    let keys = if s.key_ids.is_empty() {
                        "- (rosters only/名簿のみ)".to_string()
                    } else {
                        s.key_ids.join(",")
                    };
                    println!(
                        "{} tenant={number} fiscal_year={} {} from {} keys={keys} {}",
                        s.scope,
                        s.fiscal_year,
                        if s.due { "DUE" } else { "kept" },
                        s.due_from,
                        counts.join(" ")
                    );
                }
                // S26: blobs written before scopes existed are not destroyed by scope.
                for (org, n) in store.unscoped_blobs().await.map_err(refused)? {
                    let number = store
                        .org(&org)
                        .await?
                        .map(|o| o.number)
                        .unwrap_or_default();
                    println!(
                        "{org} tenant={number} UNSCOPED blobs={n}: under the organisation key, \
                         not destroyed by scope; run `daiko keys rescope` / 組織鍵のままで範囲廃棄の対象外"
                    );
                }
            }
            RetentionCommand::Destroy { tenant, scope } => {
                let org = org_id(&store, &tenant).await?;
                let a = store
                    .request_destruction(&format!("{org}/{scope}"), &today(), &entry)
                    .await
                    .map_err(refused)?;
                println!("approval {} pending: {}", a.id, a.summary);
                println!(
                    "another administrator approves it: daiko approvals approve {} --as LOGIN --totp CODE",
                    a.id
                );
            }
            RetentionCommand::Certificates => {
                for (seq, c) in store.destruction_certificates().await.map_err(refused)? {
                    let counts: Vec<String> =
                        c.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!(
                        "audit #{seq} {} scope={} keys={} {} manifest_sha256={} requested_by={} approved_by={} approval={}",
                        c.destroyed_at,
                        c.scope,
                        c.key_ids.join(","),
                        counts.join(" "),
                        c.manifest_sha256,
                        c.requested_by,
                        c.approved_by,
                        c.approval
                    );
                }
                // Backup purges still to run (a worker of `serve` or `purge-backups`).
                for p in store.pending_backup_purges().await.map_err(refused)? {
                    println!(
                        "backup purge PENDING/未完了 scope={} approval={} state={} attempts={} next={} {}",
                        p.scope, p.approval, p.state, p.attempts, p.run_after, p.last_error
                    );
                }
                // What each destruction did to the backups (S25): failures are severity=high.
                for p in store.backup_purges().await.map_err(refused)? {
                    println!(
                        "backup purge audit #{} {} {} {}{}",
                        p.seq,
                        p.at,
                        p.location,
                        if p.failed() { "UNREACHABLE/未消去 " } else { "" },
                        p.detail
                    );
                }
            }
            RetentionCommand::PurgeBackups => {
                let done = purge_backups(&store, true).await?;
                // Still pending: incomplete, or being run by another process's worker.
                let pending = store.pending_backup_purges().await.map_err(refused)?;
                for p in &pending {
                    println!(
                        "backup purge PENDING/未完了 scope={} approval={} state={} attempts={}",
                        p.scope, p.approval, p.state, p.attempts
                    );
                }
                if !done || !pending.is_empty() {
                    return Ok(Exit::InputErrors);
                }
            }
        }
        Ok(Exit::Ok)
    })
}
