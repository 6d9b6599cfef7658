//! `daiko jobs pause|resume|status` (S24 degraded mode): stop one pipeline job kind in every
//! running `serve` and `daiko worker` (e.g. `route`, the delivery to insurers, while a
//! partner is down) without stopping intake; uploads keep getting receipts and the kind's
//! jobs wait queued until it is resumed, then drain exactly once (S23).
//!
//! The pause is a row in the database (`job_pauses`), read by every claim, so it holds for
//! all processes at their next claim. Pausing and resuming are an administrator's act:
//! `--as LOGIN --totp CODE` (password from `DAIKO_PASSWORD` or standard input, as for
//! `approvals approve`), audited `jobs.pause` / `jobs.resume` with the administrator's login.

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use daiko_pipeline::worker::KINDS;
use daiko_server::governance as gov;
use daiko_store::audit::AuditEntry;

use crate::Exit;
use crate::admin::{DataDir, load_config, open_store, runtime};

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Pause a job kind (check, route, batch) in every process at its next claim.
    Pause(PauseArgs),
    /// Resume a paused job kind: its waiting jobs run.
    Resume(ResumeArgs),
    /// Show each job kind: paused or running, and its jobs by state.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The job kind (check, route, batch).
    pub kind: String,
    /// Why (kept with the pause and in the audit trail).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub admin: AdminArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The job kind (check, route, batch).
    pub kind: String,
    #[command(flatten)]
    pub admin: AdminArgs,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The administrator's login (password: DAIKO_PASSWORD or standard input).
    #[arg(long = "as")]
    pub as_login: String,
    /// The administrator's current TOTP code.
    #[arg(long)]
    pub totp: String,
}

/// A known job kind, or an error naming the known ones.
fn kind_of(kind: &str) -> Result<&'static str> {
    KINDS.iter().copied().find(|k| *k == kind).ok_or_else(|| {
        anyhow!(
            "不明なジョブ種別です: {kind:?}(指定できるもの: {k}) / unknown job kind {kind:?} (known: {k})",
            k = KINDS.join(", ")
        )
    })
}

pub fn run(data: &DataDir, cmd: JobsCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let Some(agency) = store.agency().await? else {
            bail!("the data folder is not initialised: run `daiko init` first");
        };
        let (kind, admin, pause, reason) = match cmd {
            JobsCommand::Status { json } => {
                return status(&store, json).await;
            }
            JobsCommand::Pause(a) => (kind_of(&a.kind)?, a.admin, true, a.reason),
            JobsCommand::Resume(a) => (kind_of(&a.kind)?, a.admin, false, String::new()),
        };
        let user = gov::authenticate_admin(
            &store,
            &admin.as_login,
            &crate::governance::password()?,
            &admin.totp,
        )
        .await
        .map_err(crate::governance::refused)?;
        let entry = AuditEntry {
            actor: user.login.clone(),
            role: user.role.clone(),
            org: agency.number.clone(),
            action: if pause { "jobs.pause" } else { "jobs.resume" }.into(),
            target: format!("job_kind:{kind}"),
            source: "cli".into(),
            detail: reason.trim().to_string(),
            ..Default::default()
        };
        if pause {
            if store.pause_job_kind(kind, reason.trim(), &entry).await? {
                println!("paused: {kind} (every process skips it at its next claim)");
            } else {
                println!("already paused: {kind}");
            }
        } else if store.resume_job_kind(kind, &entry).await? {
            println!("resumed: {kind}");
        } else {
            println!("not paused: {kind}");
        }
        Ok(Exit::Ok)
    })
}

async fn status(store: &daiko_store::Store, json: bool) -> Result<Exit> {
    let pauses = store.job_pauses().await?;
    let counts = store.job_counts_by_kind().await?;
    if json {
        let kinds: Vec<serde_json::Value> = KINDS
            .iter()
            .map(|k| {
                let c = counts
                    .iter()
                    .find(|c| c.kind == *k)
                    .map(|c| c.counts.clone())
                    .unwrap_or_default();
                serde_json::json!({
                    "kind": k,
                    "paused": pauses.iter().find(|p| p.kind == *k),
                    "jobs": c,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "kinds": kinds }));
        return Ok(Exit::Ok);
    }
    println!("kind\tstate\tqueued\trunning\tdone\tfailed\tpaused by / at / reason");
    for k in KINDS {
        let c = counts
            .iter()
            .find(|c| c.kind == k)
            .map(|c| c.counts.clone())
            .unwrap_or_default();
        let (state, who) = match pauses.iter().find(|p| p.kind == k) {
            Some(p) => (
                "paused",
                format!("{} / {} / {}", p.paused_by, p.paused_at, p.reason),
            ),
            None => ("running", String::new()),
        };
        println!(
            "{k}\t{state}\t{}\t{}\t{}\t{}\t{who}",
            c.queued, c.running, c.done, c.failed
        );
    }
    Ok(Exit::Ok)
}
