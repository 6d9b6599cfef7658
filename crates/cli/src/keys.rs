//! `daiko keys`: the keys of encryption at rest (S18). The work is done by
//! `daiko_store::keyring`; this module parses arguments, prints and audits.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use daiko_store::keyring::{MasterSource, append_master_key};
use daiko_store::retention::RESCOPE_ACTION;

use crate::Exit;
use crate::admin::{DataDir, cli_entry, load_config, open_store, runtime};

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Master key ids, data keys per tenant and what each master key wraps (never key material).
    Status,
    /// Append a new master key to the master key file (DAIKO_MASTER_KEY_FILE or the data
    /// folder's keys/master.key); then run `daiko keys rotate`.
    NewMaster,
    /// Rewrap every data key under the newest master key, in one transaction, while servers
    /// keep running. Afterwards `status` shows 0 data keys under the old master key, which can
    /// then be removed from the file.
    Rotate {
        /// Also start a new data key per tenant (the old ones are kept for reading).
        #[arg(long)]
        data_keys: bool,
    },
    /// Encrypt blobs stored in plaintext by a version before S18 (run once after upgrading,
    /// with DAIKO_ALLOW_PLAINTEXT_LEGACY=1 until it has run).
    EncryptLegacy,
    /// Seal blobs written before retention scopes existed (under an organisation's key) again
    /// under the key of their retention scope (organisation × fiscal year of writing), so
    /// that `daiko retention destroy` reaches them (S26). Safe while servers run; a second
    /// run finds nothing to do.
    Rescope,
}

fn source_text(s: &MasterSource) -> String {
    match s {
        MasterSource::Env => "environment (DAIKO_MASTER_KEY)".into(),
        MasterSource::File(p) => format!("file {} (DAIKO_MASTER_KEY_FILE)", p.display()),
        MasterSource::DataFolder(p) => format!(
            "file {} (generated in the data folder: quick start only, move it for production)",
            p.display()
        ),
    }
}

pub fn run(data: &DataDir, cmd: KeysCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        let ring = store.keyring();
        match cmd {
            KeysCommand::Status => {
                let st = ring.status().await?;
                println!("master keys: {}", source_text(&st.source));
                let newest = st.masters.last().map(|(id, _)| id.clone());
                for (id, n) in &st.masters {
                    let mark = if Some(id) == newest.as_ref() {
                        " (newest: wraps new data keys)"
                    } else {
                        ""
                    };
                    println!("  {id}: wraps {n} data keys{mark}");
                }
                for (id, n) in &st.missing_masters {
                    println!("  {id}: NOT CONFIGURED, wraps {n} data keys that cannot be read");
                }
                println!("data keys: {}", st.data_keys.len());
                for k in &st.data_keys {
                    let state = match &k.retired_at {
                        Some(at) => format!("retired {at} (read only)"),
                        None => "current".into(),
                    };
                    println!(
                        "  {}  tenant {}  master {}  created {}  {state}",
                        k.id, k.tenant, k.master, k.created_at
                    );
                }
                Ok(if st.missing_masters.is_empty() {
                    Exit::Ok
                } else {
                    Exit::InputErrors
                })
            }
            KeysCommand::NewMaster => {
                let Some(path) = ring.source().file() else {
                    bail!(
                        "the master keys come from DAIKO_MASTER_KEY: add the new key there (as \
                         `id base64` lines, newest last) and restart; use DAIKO_MASTER_KEY_FILE \
                         to rotate without restarts"
                    );
                };
                let id = append_master_key(path)
                    .with_context(|| format!("cannot add a master key to {}", path.display()))?;
                store
                    .audit(&cli_entry("keys.new_master", id.clone(), String::new()))
                    .await?;
                println!("added master key {id} to {}", path.display());
                println!("next: daiko keys rotate");
                Ok(Exit::Ok)
            }
            KeysCommand::Rotate { data_keys } => {
                let r = ring.rotate_master().await?;
                store
                    .audit(&cli_entry(
                        "keys.rotate",
                        r.master.clone(),
                        format!("rewrapped {}, already {}", r.rewrapped, r.already),
                    ))
                    .await?;
                println!(
                    "rewrapped {} data keys under master key {} ({} already were)",
                    r.rewrapped, r.master, r.already
                );
                if data_keys {
                    let started = ring.new_data_keys().await?;
                    store
                        .audit(&cli_entry(
                            "keys.new_data_keys",
                            String::new(),
                            format!("{} tenants", started.len()),
                        ))
                        .await?;
                    for (tenant, id) in &started {
                        println!("new data key {id} for tenant {tenant}");
                    }
                }
                Ok(Exit::Ok)
            }
            KeysCommand::Rescope => {
                let entry = cli_entry(RESCOPE_ACTION, String::new(), String::new());
                let r = store.rescope_blobs(&entry).await.map_err(|e| match e {
                    daiko_store::retention::RetentionError::Store(e) => anyhow::anyhow!(e),
                    e => anyhow::anyhow!("{} / {e}", e.message_ja()),
                })?;
                for (scope, n) in &r.moved {
                    println!("{n} blobs sealed again under scope {scope}");
                }
                println!(
                    "{} blobs moved into retention scopes, {} already scoped, {} left \
                     (範囲鍵へ再暗号化 {} 件、対応済み {} 件、未対応 {} 件)",
                    r.total(),
                    r.already,
                    r.left,
                    r.total(),
                    r.already,
                    r.left
                );
                Ok(if r.left == 0 {
                    Exit::Ok
                } else {
                    Exit::InputErrors
                })
            }
            KeysCommand::EncryptLegacy => {
                let r = store.encrypt_legacy_blobs().await?;
                let total: u64 = r.encrypted.values().sum();
                // The agency's media key file (S18): a clear one from before is encrypted.
                let agency_key = if store.agency().await?.is_some() {
                    let (_, migrated) =
                        daiko_pipeline::media::open_agency_keys(&store, &config.data_dir).await?;
                    if migrated {
                        "encrypted"
                    } else {
                        "already encrypted"
                    }
                } else {
                    "none (not initialised)"
                };
                store
                    .audit(&cli_entry(
                        "keys.encrypt_legacy",
                        String::new(),
                        format!(
                            "encrypted {total}, already {}, left {}, agency key {agency_key}",
                            r.already, r.left
                        ),
                    ))
                    .await?;
                for (tenant, n) in &r.encrypted {
                    println!("encrypted {n} blobs of tenant {tenant}");
                }
                println!("{total} blobs encrypted, {} already encrypted", r.already);
                println!("agency media key file: {agency_key}");
                if r.left > 0 {
                    println!(
                        "{} blobs rewritten meanwhile were left; run it again / 処理中に書き換えられた {} 件は未処理です。再実行してください",
                        r.left, r.left
                    );
                    return Ok(Exit::InputErrors);
                }
                Ok(Exit::Ok)
            }
        }
    })
}
