//! # daiko — the command line
//!
//! Wires the crates together and nothing more: parsing arguments, reading files, choosing a
//! printer, and mapping results to exit codes (0 success / accepted, 1 the input has errors,
//! 2 the command could not run). Reports go to stdout, logs to stderr.
//!
//! ```text
//! daiko check ARCHIVE.zip... [--format text|json|csv] [--lang ja|en] [--agency NUMBER] [--reference DIR]
//! daiko sample --out DIR [--archives N] [--records R] [--seed S] [--period 2018|2024] [--defects RATE] [--check]
//! daiko checks [--format markdown|json]
//! daiko bench check [--archives N] [--records R] [--xsd-dir DIR]
//! daiko demo [--data-dir DIR] [--listen ADDR]
//! daiko --data-dir DIR init --agency-number NUMBER --agency-name NAME
//! daiko --data-dir DIR org add (insurer|institution) --number NUMBER --name NAME
//! daiko --data-dir DIR user add --login LOGIN --role ROLE [--org NUMBER]
//! daiko --data-dir DIR token create --login LOGIN
//! daiko --data-dir DIR serve [--listen ADDR] [--database-url URL]
//! daiko --data-dir DIR worker [--database-url URL]
//! daiko --data-dir DIR audit verify
//! daiko --data-dir DIR media (keygen|seal|open) …
//! daiko --data-dir DIR billing (close|invoices|statements|transfer-file|account|offset|calendar|fees|remitter|agency) …
//! daiko --data-dir DIR backup --to DIR [--keep N] | backup verify GENERATION
//! daiko --data-dir DIR jobs (pause|resume) KIND --as LOGIN --totp CODE | jobs status [--json]
//! daiko restore --from GENERATION --data DIR [--database-url URL]
//! ```

mod admin;
mod backup;
mod bench;
mod bench_serve;
mod billing;
mod check;
mod checks;
mod contracts;
mod demo;
mod governance;
mod invite;
mod jobs;
mod keys;
mod media;
mod retention;
mod sample;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc: many small per-record allocations on every worker thread (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// daiko (代行): clearing house for 特定健診・特定保健指導 data.
#[derive(Debug, Parser)]
#[command(name = "daiko", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    data: admin::DataArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check archives as an agency's reception does (事務点検) and print the report.
    Check(check::CheckArgs),
    /// Print the check catalogue (codes, outcomes, 返戻理由, titles, hints).
    Checks(checks::ChecksArgs),
    /// Write realistic sample archives (optionally with injected defects and a manifest).
    Sample(sample::SampleArgs),
    /// Measure speed (see docs/performance.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Seed a demo agency in the data folder (default ./daiko-demo) and serve the portal.
    Demo(demo::DemoArgs),
    /// Print the current TOTP code of a demo login (folders made by `daiko demo` only).
    DemoCode(demo::DemoCodeArgs),
    /// Initialise a data folder for an agency.
    Init(admin::InitArgs),
    /// Organisations (insurers, institutions).
    #[command(subcommand)]
    Org(admin::OrgCommand),
    /// Contracts (契約): import and export contracts.csv, version history.
    #[command(subcommand)]
    Contracts(contracts::ContractsCommand),
    /// Accounts.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// API tokens for systems.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Serve the API and the portal, with pipeline workers.
    Serve(admin::ServeArgs),
    /// Run pipeline workers only (more processes against a shared PostgreSQL).
    Worker(admin::WorkerArgs),
    /// The audit trail.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// Declare or end maintenance (the portal and API answer with a notice).
    #[command(subcommand)]
    Maintenance(admin::MaintenanceCommand),
    /// Four-eyes approvals (S10): list, request, approve, reject.
    #[command(subcommand)]
    Approvals(governance::ApprovalsCommand),
    /// Declare or close an emergency (break-glass accounts, S12).
    #[command(subcommand)]
    Emergency(admin::EmergencyCommand),
    /// Sealed files for offline media (S19).
    #[command(subcommand)]
    Media(media::MediaCommand),
    /// The billing month: close, invoices, statements, transfer file, accounts, 過誤.
    Billing(billing::BillingArgs),
    /// Checkup invitations (健診案内): roster, targets, vouchers, letters, reminders.
    #[command(subcommand)]
    Invite(invite::InviteCommand),
    /// Keys of encryption at rest: status, new master key, rotation (S18).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Encrypted backup generations: `backup --to DIR [--keep N]`, `backup verify GEN` (S25).
    Backup(backup::BackupArgs),
    /// Restore a backup generation into an empty data folder (and database), then compare (S25).
    Restore(backup::RestoreArgs),
    /// Pause, resume or show pipeline job kinds in every process (S24 degraded mode).
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Retention periods and destruction by crypto-shredding: show, set, due, destroy (S26).
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
}

/// How a command ended, mapped to the process exit code.
pub enum Exit {
    /// 0: success (for `check`: every archive accepted, warnings allowed).
    Ok,
    /// 1: the input has errors (for `check`: an archive rejected or only partly accepted).
    InputErrors,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Checks(args) => checks::run(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Demo(args) => demo::run(&cli.data.or_default("daiko-demo"), args),
        Command::DemoCode(args) => demo::code(&cli.data.or_default("daiko-demo"), args),
        Command::Init(args) => admin::init(&cli.data.or_default("daiko-data"), args),
        Command::Org(cmd) => admin::org(&cli.data.or_default("daiko-data"), cmd),
        Command::Contracts(cmd) => contracts::run(&cli.data.or_default("daiko-data"), cmd),
        Command::User(cmd) => admin::user(&cli.data.or_default("daiko-data"), cmd),
        Command::Token(cmd) => admin::token(&cli.data.or_default("daiko-data"), cmd),
        Command::Serve(args) => admin::serve(&cli.data.or_default("daiko-data"), args),
        Command::Worker(args) => admin::worker(&cli.data.or_default("daiko-data"), args),
        Command::Audit(cmd) => admin::audit(&cli.data.or_default("daiko-data"), cmd),
        Command::Maintenance(cmd) => admin::maintenance(&cli.data.or_default("daiko-data"), cmd),
        Command::Approvals(cmd) => governance::approvals(&cli.data.or_default("daiko-data"), cmd),
        Command::Emergency(cmd) => admin::emergency(&cli.data.or_default("daiko-data"), cmd),
        Command::Media(cmd) => media::run(&cli.data.or_default("daiko-data"), cmd),
        Command::Billing(args) => billing::run(&cli.data.or_default("daiko-data"), args),
        Command::Invite(cmd) => invite::run(&cli.data.or_default("daiko-data"), cmd),
        Command::Keys(cmd) => keys::run(&cli.data.or_default("daiko-data"), cmd),
        Command::Backup(args) => backup::run(&cli.data.or_default("daiko-data"), args),
        Command::Restore(args) => backup::restore(args),
        Command::Jobs(cmd) => jobs::run(&cli.data.or_default("daiko-data"), cmd),
        Command::Retention(cmd) => retention::run(&cli.data.or_default("daiko-data"), cmd),
    };
    match result {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::InputErrors) => ExitCode::from(1),
        Err(e) => {
            eprintln!("daiko: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
