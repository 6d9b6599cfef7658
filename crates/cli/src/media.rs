//! `daiko media …`: sealed files for offline media (CD-R/USB, S19). Files leave the agency
//! only sealed for one recipient and signed by the agency; sealed files that arrive are
//! opened (signature first) and received like an upload.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::Exit;
use crate::admin::{self, DataDir};

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Make a key pair for an organisation's media (prints the public key to register with
    /// `daiko org add … --media-key`); the private key file is written with mode 0600.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the agency's public media key (created at `init`).
    AgencyKey,
    /// Seal the recipient's not-yet-acknowledged deliveries into one file for media.
    Seal {
        /// Recipient organisation number.
        #[arg(long)]
        recipient: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Open a sealed file from media and receive the archives in it (like an upload).
    Open { file: PathBuf },
}

pub fn run(data: &DataDir, cmd: MediaCommand) -> Result<Exit> {
    if let MediaCommand::Keygen { out } = &cmd {
        let keys = daiko_seal::OrgKeys::generate()?;
        keys.to_file(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("{}", keys.public().to_text());
        return Ok(Exit::Ok);
    }
    let config = admin::load_config(data, None)?;
    admin::runtime()?.block_on(async move {
        let store = admin::open_store(&config).await?;
        match cmd {
            MediaCommand::Keygen { .. } => Ok(Exit::Ok),
            MediaCommand::AgencyKey => {
                let keys =
                    daiko_pipeline::media::ensure_agency_keys(&store, &config.data_dir).await?;
                println!("{}", keys.public().to_text());
                Ok(Exit::Ok)
            }
            MediaCommand::Seal { recipient, out } => {
                let org = store
                    .org_by_number(&recipient)
                    .await?
                    .with_context(|| format!("no organisation with number {recipient}"))?;
                let sealed =
                    daiko_pipeline::media::seal_deliveries(&store, &config.data_dir, &org, &out)
                        .await?;
                println!(
                    "sealed {} archives for {} into {} ({} bytes)",
                    sealed.archives.len(),
                    org.number,
                    sealed.path.display(),
                    sealed.bytes
                );
                Ok(Exit::Ok)
            }
            MediaCommand::Open { file } => {
                let reader = daiko_pipeline::media::MediaReader {
                    uploaded_by: None,
                    role: "operator",
                    source: "cli",
                    limit: config.max_upload_bytes,
                };
                let received =
                    daiko_pipeline::media::receive_sealed(&store, &config.data_dir, &file, &reader)
                        .await?;
                for r in received {
                    println!(
                        "{}\t{}\t{}\t{}",
                        r.receipt_no, r.id, r.archive_name, r.sha256
                    );
                }
                Ok(Exit::Ok)
            }
        }
    })
}
