//! Governance at the command line (issue 6): `audit review` (S16), `user reset` (S7),
//! `user role` and `approvals …` (S10), `maintenance ticket|report` (S11). The rules live
//! in `daiko_server::governance`; this module parses, prints and maps errors.
//!
//! Requests filed here are made by `cli:$USER`. Decisions need an administrator who
//! authenticates with both factors (`--as LOGIN --totp CODE`, the password from
//! `DAIKO_PASSWORD` or the first line of standard input), so approving stays a second
//! person's act even at the shell.

use std::io::BufRead;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use daiko_server::governance::{self as gov, GovError, IdentityCheck};
use daiko_store::Store;
use daiko_store::audit::AuditEntry;

use crate::Exit;
use crate::admin::{DataDir, load_config, open_store, runtime};

/// The audit entry of a command-line actor.
fn cli_actor() -> AuditEntry {
    AuditEntry {
        actor: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        role: "cli".into(),
        source: "cli".into(),
        ..Default::default()
    }
}

/// A governance refusal with both messages.
pub(crate) fn refused(e: GovError) -> anyhow::Error {
    match e {
        GovError::Store(e) => anyhow!(e),
        e => anyhow!("{} / {}", e.message_ja(), e.message_en()),
    }
}

async fn agency(store: &Store) -> Result<daiko_store::orgs::Org> {
    store
        .agency()
        .await?
        .context("the data folder is not initialised: run `daiko init` first")
}

// ---- audit review (S16) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// First day (YYYY-MM-DD, JST) or an RFC 3339 timestamp.
    #[arg(long)]
    pub from: String,
    /// Last day, included (YYYY-MM-DD, JST), or an RFC 3339 timestamp (excluded).
    #[arg(long)]
    pub to: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReviewFormat,
}

/// `daiko audit review`: exit 0 when nothing needs review, 1 when events are listed.
pub fn review(data: &DataDir, a: ReviewArgs) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let (since, until) = gov::review_period(&a.from, &a.to).map_err(refused)?;
        let rows = store.audit_period(&since, &until, None, None).await?;
        let items = gov::review(&rows, &config.service_hours, &config.review);
        let mut entry = cli_actor();
        entry.action = "audit.review".into();
        entry.target = "audit".into();
        entry.detail = format!("since={since} until={until} items={}", items.len());
        store.audit(&entry).await?;
        match a.format {
            ReviewFormat::Text => print!("{}", gov::review_text(&items, &since, &until)),
            ReviewFormat::Csv => print!("{}", gov::review_csv(&items)),
            ReviewFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "since": since, "until": until, "items": items,
                }))?
            ),
        }
        Ok(if items.is_empty() {
            Exit::Ok
        } else {
            Exit::InputErrors
        })
    })
}

// ---- user reset (S7) and user role (S10) ----

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[arg(long)]
    pub login: String,
    /// The identity document seen (本人確認書類), e.g. my-number-card, drivers-licence.
    #[arg(long)]
    pub verified_by: String,
    /// Who checked it.
    #[arg(long)]
    pub checked_by: String,
    #[arg(long, default_value = "")]
    pub note: String,
}

/// `daiko user reset`: records the identity check and prints the one-time code once.
pub fn reset(data: &DataDir, a: ResetArgs) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let user = store
            .user_by_login(&a.login)
            .await?
            .with_context(|| format!("no user {:?}", a.login))?;
        let check = IdentityCheck {
            verified_by: a.verified_by,
            checked_by: a.checked_by,
            note: a.note,
        };
        let issued = gov::issue_reset(&store, &user, &check, cli_actor())
            .await
            .map_err(refused)?;
        println!(
            "reset recorded for {} (identity: {}, checked by {})",
            user.login, issued.reset.verified_by, issued.reset.checked_by
        );
        println!(
            "one-time code (hand it to the user only; valid until {}, once): {}",
            issued.reset.expires_at, issued.code
        );
        println!("the user redeems it at /login/reset and enrols a new authenticator");
        Ok(Exit::Ok)
    })
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    #[arg(long)]
    pub login: String,
    #[arg(long)]
    pub role: String,
}

/// `daiko user role`: files a role change for a second administrator's approval.
pub fn role(data: &DataDir, a: RoleArgs) -> Result<Exit> {
    let grant = gov::RoleGrant {
        op: "change".into(),
        login: a.login,
        role: a.role,
        org: None,
        name: None,
    };
    file_request(data, "role_grant", serde_json::to_value(grant)?)
}

/// Files a request and prints its id.
pub fn file_request(data: &DataDir, kind: &str, payload: serde_json::Value) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        file_request_in(&store, kind, payload).await
    })
}

/// [`file_request`] on an open store (inside a command's runtime).
pub async fn file_request_in(
    store: &Store,
    kind: &str,
    payload: serde_json::Value,
) -> Result<Exit> {
    let agency = agency(store).await?;
    let a = gov::request(store, &agency, kind, &payload, cli_actor())
        .await
        .map_err(refused)?;
    println!("pending approval {} ({}): {}", a.id, a.kind, a.summary);
    println!(
        "another administrator approves it: daiko approvals approve {} --as LOGIN --totp CODE",
        a.id
    );
    Ok(Exit::Ok)
}

/// Whether `user add` of `role` may act without an approval: only the very first
/// administrator of an installation (four eyes need two administrators to exist).
pub async fn bootstrap_admin(store: &Store, role: &str) -> Result<bool> {
    Ok(role == "admin" && store.enabled_admins().await? == 0)
}

// ---- approvals (S10) ----

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// List requests (default: pending).
    List {
        /// pending, approved, rejected, executed, failed or all.
        #[arg(long, default_value = "pending")]
        status: String,
    },
    /// Request bulk reprocessing or destruction (role grants: `user add`/`user role`;
    /// tickets: `maintenance ticket`).
    Request {
        /// reprocess or destruction.
        #[arg(long)]
        kind: String,
        /// JSON payload, e.g. '{"job_kind":"check"}' or '{"scope":"…"}'.
        #[arg(long)]
        payload: String,
    },
    /// Approve (and run) a request as an administrator other than the requester.
    Approve(DecideArgs),
    /// Reject a request as an administrator other than the requester.
    Reject(DecideArgs),
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    pub id: String,
    /// The deciding administrator's login (password: DAIKO_PASSWORD or standard input).
    #[arg(long = "as")]
    pub as_login: String,
    /// The administrator's current TOTP code.
    #[arg(long)]
    pub totp: String,
    #[arg(long, default_value = "")]
    pub reason: String,
}

pub(crate) fn password() -> Result<String> {
    if let Ok(p) = std::env::var("DAIKO_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("no password: set DAIKO_PASSWORD or give it on standard input");
    }
    Ok(p)
}

pub fn approvals(data: &DataDir, cmd: ApprovalsCommand) -> Result<Exit> {
    if let ApprovalsCommand::Request { kind, payload } = &cmd {
        let payload: serde_json::Value =
            serde_json::from_str(payload).context("--payload is not JSON")?;
        return file_request(data, kind, payload);
    }
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let agency = agency(&store).await?;
        let (d, approve) = match cmd {
            ApprovalsCommand::List { status } => {
                let filter = (status != "all").then_some(status.as_str());
                for a in store.approvals(filter).await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        a.id,
                        a.status,
                        a.kind,
                        a.requested_by,
                        a.requested_at,
                        a.decided_by.as_deref().unwrap_or("-"),
                        a.summary
                    );
                }
                return Ok(Exit::Ok);
            }
            ApprovalsCommand::Request { .. } => unreachable!("handled above"),
            ApprovalsCommand::Approve(d) => (d, true),
            ApprovalsCommand::Reject(d) => (d, false),
        };
        let admin = gov::authenticate_admin(&store, &d.as_login, &password()?, &d.totp)
            .await
            .map_err(refused)?;
        let entry = AuditEntry {
            actor: admin.login.clone(),
            role: admin.role.clone(),
            org: agency.number.clone(),
            source: "cli".into(),
            ..Default::default()
        };
        let done = gov::decide(&store, &agency, &d.id, approve, &d.reason, entry)
            .await
            .map_err(refused)?;
        println!(
            "{} {} ({}): {}",
            done.approval.status, done.approval.id, done.approval.kind, done.approval.summary
        );
        let executed = done.outcome.is_some();
        if let Some(o) = done.outcome {
            if let Some(pw) = o.get("initial_password").and_then(|v| v.as_str()) {
                println!("initial password (shown once; must be changed at first login): {pw}");
            } else {
                println!("{o}");
            }
        }
        // S26: the destruction queued its backup purge; without a running server nothing
        // else would run it, so this process does (a server's worker may take it first).
        if done.approval.kind == daiko_store::retention::KIND && executed {
            crate::retention::purge_backups(&store, false).await?;
        }
        Ok(Exit::Ok)
    })
}

// ---- maintenance tickets (S11) ----

#[derive(Debug, Args)]
pub struct TicketArgs {
    /// The work ticket's id (e.g. the change number).
    #[arg(long)]
    pub ticket: String,
    /// The engineer's personal maintenance account.
    #[arg(long)]
    pub login: String,
    /// Window start and end (RFC 3339).
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    /// What is to be done (compared with the actions in the report).
    #[arg(long)]
    pub description: String,
}

pub fn ticket(data: &DataDir, a: TicketArgs) -> Result<Exit> {
    let t = gov::TicketRequest {
        ticket: a.ticket,
        login: a.login,
        from: a.from,
        to: a.to,
        description: a.description,
    };
    file_request(data, "maintenance_ticket", serde_json::to_value(t)?)
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long)]
    pub ticket: String,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `daiko maintenance report --ticket T`: the ticket against what its account did.
pub fn report(data: &DataDir, a: ReportArgs) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let r = gov::ticket_report(&store, &a.ticket)
            .await
            .map_err(refused)?;
        let mut entry = cli_actor();
        entry.action = "maintenance.report".into();
        entry.target = format!("ticket:{}", a.ticket);
        entry.detail = format!("{} actions", r.actions.len());
        store.audit(&entry).await?;
        if a.format == "json" {
            println!("{}", serde_json::to_string_pretty(&r)?);
            return Ok(Exit::Ok);
        }
        let t = &r.ticket;
        println!("保守作業票 / maintenance ticket {}", t.ticket);
        println!("  account:     {}", r.login);
        println!("  window:      {} – {}", t.window_from, t.window_to);
        println!("  work:        {}", t.description);
        println!(
            "  requested:   {}   approved: {}",
            t.requested_by, t.approved_by
        );
        println!("作業記録 / actions ({}):", r.actions.len());
        for row in &r.actions {
            let e = &row.entry;
            println!(
                "  {}  {:<22} {:<40} {}",
                row.at, e.action, e.target, e.detail
            );
        }
        if r.outside_window > 0 {
            println!("WARNING: {} requests outside the window", r.outside_window);
        }
        Ok(Exit::Ok)
    })
}
