//! `daiko backup` and `daiko restore` (S25). The work is done by `daiko_store::backup`; this
//! module parses arguments, prints, audits and gives errors in Japanese and English.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use daiko_store::KeyringConfig;
use daiko_store::backup::{self, BackupError, Generation, Manifest, Target};

use crate::Exit;
use crate::admin::{DataDir, cli_entry, load_config, open_store, runtime};

/// `daiko backup --to DIR|s3://BUCKET/PREFIX [--keep N]` or `daiko backup verify GENERATION`.
/// An S3-compatible target is configured by the environment only (`DAIKO_S3_ENDPOINT`,
/// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The backup target, a directory or s3://BUCKET/PREFIX: a generation YYYYMMDDTHHMMSSZ
    /// is made inside it.
    #[arg(long)]
    pub to: Option<String>,
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
        /// The generation: TARGET/YYYYMMDDTHHMMSSZ, a directory or s3://BUCKET/PREFIX/….
        generation: String,
    },
}

/// `daiko restore --from GENERATION --data DIR [--database-url URL]`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The generation to restore: a directory or s3://BUCKET/PREFIX/YYYYMMDDTHHMMSSZ.
    #[arg(long)]
    pub from: String,
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

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
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
        let generation = Generation::parse(&generation, &env).map_err(bilingual)?;
        return runtime()?.block_on(async move {
            let opened = backup::open(&generation, keys).await.map_err(bilingual)?;
            print_manifest(&opened.manifest);
            println!("verified: manifest authenticated, every file's hashes match / 検証済み");
            opened.close().await;
            Ok(Exit::Ok)
        });
    }
    let Some(to) = args.to else {
        anyhow::bail!(
            "give --to DIR or --to s3://BUCKET/PREFIX (the backup target) or `verify GENERATION`"
        );
    };
    let to = Target::parse(&to, &env).map_err(bilingual)?;
    let config = load_config(data, args.database_url.as_deref())?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        let created = backup::create(&store, &config.data_dir, &to)
            .await
            .map_err(bilingual)?;
        let removed = backup::prune(&to, args.keep).await.map_err(bilingual)?;
        let m = &created.manifest;
        store
            .audit(&cli_entry(
                "backup.create",
                created.location.clone(),
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
        println!("backup written to {}", created.location);
        print_manifest(m);
        for r in &removed {
            println!("removed old generation {r}");
        }
        Ok(Exit::Ok)
    })
}

pub fn restore(args: RestoreArgs) -> Result<Exit> {
    let keys = keyring_config(&args.data)?;
    let from = Generation::parse(&args.from, &env).map_err(bilingual)?;
    runtime()?.block_on(async move {
        let restored = backup::restore(
            &from,
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
                from.location(),
                format!("generation {}", restored.manifest.generation),
            ))
            .await?;
        store.close().await;
        println!(
            "restored generation {} into {}: every table and blob matches / 復元し照合しました",
            restored.manifest.generation,
            args.data.display()
        );
        // S26: destructions recorded at this location are applied again.
        for scope in &restored.reapplied {
            println!("destroyed again (destruction after this generation) / 廃棄を再適用: {scope}");
        }
        println!(
            "note: destructions are re-applied as recorded by this and newer generations at \
             this location; ones recorded nowhere here are not known / 注意: 廃棄はこの場所の\
             この世代と新しい世代の記録に基づいて再適用しました。記録のない廃棄は反映できません"
        );
        for w in &restored.warnings {
            eprintln!("警告: {}\nwarning: {}", w.ja(), w.en());
        }
        Ok(Exit::Ok)
    })
}
