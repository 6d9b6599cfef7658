//! `daiko backup` and `daiko restore` (S25). The work is done by `daiko_store::backup`; this
//! module parses arguments, prints, audits and gives errors in Japanese and English.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use daiko_store::KeyringConfig;
use daiko_store::backup::{self, BackupError, Manifest};

use crate::Exit;
use crate::admin::{DataDir, cli_entry, load_config, open_store, runtime};

/// `daiko backup --to DIR [--keep N]` or `daiko backup verify DIR/GENERATION`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The backup target: a generation directory YYYYMMDDTHHMMSSZ is made inside it.
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// Generations to keep; older ones are removed after a successful backup.
    #[arg(long, default_value_t = 7)]
    pub keep: usize,
    /// Database URL (default: the data folder's configuration).
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Check a generation (manifest authentication, every file's hashes) without restoring.
    Verify {
        /// The generation directory (TARGET/YYYYMMDDTHHMMSSZ).
        generation: PathBuf,
    },
}

/// `daiko restore --from DIR/GENERATION --data DIR [--database-url URL]`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The generation directory to restore.
    #[arg(long)]
    pub from: PathBuf,
    /// The empty data folder to restore into.
    #[arg(long)]
    pub data: PathBuf,
    /// For a PostgreSQL backup: the empty target database.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// The error in both languages (the Japanese message first, as the operators read it).
fn bilingual(e: BackupError) -> anyhow::Error {
    anyhow!("{}\n  {e}", e.message_ja())
}

fn keyring_config(data_dir: &Path) -> Result<KeyringConfig> {
    KeyringConfig::from_env(data_dir, &|k| std::env::var(k).ok())
        .map_err(|e| anyhow!("{}\n  {e}", e.message_ja()))
}

fn print_manifest(m: &Manifest) {
    println!(
        "generation {}  backend {}  schema {}  created {}",
        m.generation, m.backend, m.schema_version, m.created_at
    );
    println!(
        "{} files ({} bytes), {} blobs, {} tables, {} rows",
        m.files.len(),
        m.total_size(),
        m.blob_count(),
        m.tables.len(),
        m.tables.iter().map(|t| t.rows).sum::<i64>()
    );
}

pub fn run(data: &DataDir, args: BackupArgs) -> Result<Exit> {
    if let Some(BackupCommand::Verify { generation }) = args.command {
        let keys = keyring_config(&data.data_dir)?;
        return runtime()?.block_on(async move {
            let opened = backup::open(&generation, keys).await.map_err(bilingual)?;
            print_manifest(&opened.manifest);
            println!("verified: manifest authenticated, every file's hashes match / 検証済み");
            opened.close().await;
            Ok(Exit::Ok)
        });
    }
    let Some(to) = args.to else {
        anyhow::bail!("give --to DIR (the backup target) or `verify GENERATION`");
    };
    let config = load_config(data, args.database_url.as_deref())?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        let created = backup::create(&store, &config.data_dir, &to)
            .await
            .map_err(bilingual)?;
        let removed = backup::prune(&to, args.keep).map_err(bilingual)?;
        let m = &created.manifest;
        store
            .audit(&cli_entry(
                "backup.create",
                created.path.display().to_string(),
                format!(
                    "backend {}, {} files, {} blobs, {} bytes, pruned {}",
                    m.backend,
                    m.files.len(),
                    m.blob_count(),
                    m.total_size(),
                    removed.len()
                ),
            ))
            .await?;
        println!("backup written to {}", created.path.display());
        print_manifest(m);
        for r in &removed {
            println!("removed old generation {}", r.display());
        }
        Ok(Exit::Ok)
    })
}

pub fn restore(args: RestoreArgs) -> Result<Exit> {
    let keys = keyring_config(&args.data)?;
    runtime()?.block_on(async move {
        let restored = backup::restore(
            &args.from,
            &args.data,
            args.database_url.as_deref(),
            keys.clone(),
        )
        .await
        .map_err(bilingual)?;
        println!(
            "{:<48} {:>10} {:>10}",
            "compared / 照合", "backup", "restored"
        );
        for c in &restored.comparison {
            println!("{:<48} {:>10} {:>10}", c.what, c.expected, c.restored);
        }
        let store =
            daiko_store::Store::open_with(&args.data, args.database_url.as_deref(), keys).await?;
        store
            .audit(&cli_entry(
                "backup.restore",
                args.from.display().to_string(),
                format!("generation {}", restored.manifest.generation),
            ))
            .await?;
        store.close().await;
        println!(
            "restored generation {} into {}: every table and blob matches / 復元し照合しました",
            restored.manifest.generation,
            args.data.display()
        );
        Ok(Exit::Ok)
    })
}
