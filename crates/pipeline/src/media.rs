//! Offline media (SECURITY.md S19): deliveries sealed for one recipient, and sealed files
//! from media fed to intake like an upload.
//!
//! * The agency's keys live in `DATA_DIR/keys/agency.key` (mode 0600, S20), encrypted under
//!   the keyring's agency data key (S18; [`open_agency_keys`] creates them once and encrypts a
//!   clear file from before S18). Its public keys (`daiko-pub-v1:…`) are what
//!   organisations register on their side; an organisation's own public keys are
//!   `Org.media_public_key` here.
//! * **One sealed file per medium.** A sealed file carries one file, so
//!   [`seal_deliveries`] seals one *container*: a plain ZIP (stored, no compression: the
//!   archives inside are already deflated) whose top-level entries are the recipient's
//!   standard archives under their own names, oldest first. One file keeps the medium
//!   simple to carry and to open, and one signature covers the whole set. The deliveries
//!   are not acknowledged by sealing: the recipient acknowledges them as usual.
//! * [`receive_sealed`] opens a file addressed to the agency (the sender's key is the
//!   registered `media_public_key` of the organisation whose number is the sender id;
//!   nothing is decrypted before its signature verified), then: a container (every entry
//!   a top-level `*.zip`) gives each archive to intake; anything else is one archive named
//!   by the sealed file's file name. Each gets its own receipt, channel `media`.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use daiko_seal::{OrgKeys, PublicKeys, SealError};
use daiko_store::audit::AuditEntry;
use daiko_store::keyring::AGENCY_TENANT;
use daiko_store::orgs::Org;
use daiko_store::{Store, StoreError};
use serde::Serialize;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::intake::{IntakeError, Received, Upload, receive_bytes, validate_name};

/// Why sealing or receiving media failed.
#[derive(Debug, Error)]
pub enum MediaError {
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the agency is not set up (daiko init)")]
    NoAgency,
    #[error("organisation {0} has no registered media public key")]
    NoRecipientKey(String),
    #[error("no organisation {0} is registered as a sender of sealed media")]
    UnknownSender(String),
    #[error("{0} has no undelivered archives to seal")]
    NothingToSeal(String),
    #[error("the sealed file exceeds the size limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("container: {0}")]
    Container(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MediaError + '_ {
    move |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the agency's key file lives.
pub fn agency_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("agency.key")
}

/// First line of the agency's key file since S18: the clear key text (`daiko-org-keys-v1`)
/// sealed in a keyring envelope under the agency's data key.
pub const AGENCY_KEY_MAGIC: &str = "daiko-agency-key-v1";
/// The envelope's context: a ciphertext moved to another name does not open.
const AGENCY_KEY_CONTEXT: &[u8] = b"keys/agency.key";

/// Loads the agency's keys, creating them when missing (see [`open_agency_keys`]).
pub async fn ensure_agency_keys(store: &Store, data_dir: &Path) -> Result<OrgKeys, MediaError> {
    Ok(open_agency_keys(store, data_dir).await?.0)
}

/// Loads the agency's keys from `keys/agency.key` (mode 0600; a file group or others may
/// read is refused, S20), creating them when missing. The file holds the keys encrypted
/// (AES-256-GCM) under the keyring's agency data key (S18), so it opens only with the master
/// key and this installation's `data_keys`. A clear key file from before S18 is encrypted
/// in place (written beside it with mode 0600, then renamed over it); the answer's flag
/// tells whether that happened.
pub async fn open_agency_keys(
    store: &Store,
    data_dir: &Path,
) -> Result<(OrgKeys, bool), MediaError> {
    let path = agency_key_path(data_dir);
    if !path.exists() {
        let dir = data_dir.join("keys");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&dir))?;
        }
        let keys = OrgKeys::generate()?;
        let text = sealed_key_text(store, &path, &keys).await?;
        match daiko_seal::write_protected_file(&path, text.as_bytes()) {
            Ok(()) => return Ok((keys, false)),
            // Another process created it at the same moment: read theirs.
            Err(_) if path.exists() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let bytes = daiko_seal::read_protected_file(&path)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad_key_file(&path, "not UTF-8 text"))?;
    if OrgKeys::is_clear_key_text(text) {
        let keys = OrgKeys::from_key_text(&path, text)?;
        replace_with_sealed(store, &path, &keys).await?;
        tracing::warn!(
            "encrypted the agency's clear media key file {} under the keyring (S18)",
            path.display()
        );
        return Ok((keys, true));
    }
    Ok((open_sealed_key_text(store, &path, text).await?, false))
}

fn bad_key_file(path: &Path, detail: &str) -> MediaError {
    MediaError::Seal(SealError::KeyFile {
        path: path.to_path_buf(),
        detail: detail.into(),
    })
}

/// The key file text: magic, comments (the public keys, for people), `sealed <hex>`.
async fn sealed_key_text(store: &Store, path: &Path, keys: &OrgKeys) -> Result<String, MediaError> {
    let clear = keys.to_key_text(path)?;
    let sealed = store
        .keyring()
        .encrypt_value(AGENCY_TENANT, AGENCY_KEY_CONTEXT, clear.as_bytes())
        .await?;
    Ok(format!(
        "{AGENCY_KEY_MAGIC}\n\
         # The agency's media private keys (SECURITY.md S18/S20): AES-256-GCM under the keyring's\n\
         # agency data key; they open only with the master key and this installation's database.\n\
         # Keep mode 0600.\n\
         # public: {}\n\
         sealed {}\n",
        keys.public(),
        hex::encode(sealed)
    ))
}

async fn open_sealed_key_text(
    store: &Store,
    path: &Path,
    text: &str,
) -> Result<OrgKeys, MediaError> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    if lines.next() != Some(AGENCY_KEY_MAGIC) {
        return Err(bad_key_file(
            path,
            "first line is neither daiko-agency-key-v1 nor daiko-org-keys-v1",
        ));
    }
    let mut sealed = None;
    for line in lines {
        match line.split_once(' ') {
            Some(("sealed", v)) if sealed.is_none() => {
                sealed = Some(
                    hex::decode(v.trim())
                        .map_err(|_| bad_key_file(path, "sealed value is not hexadecimal"))?,
                );
            }
            Some(("sealed", _)) => return Err(bad_key_file(path, "duplicate field")),
            _ => return Err(bad_key_file(path, "unknown field")),
        }
    }
    let sealed = sealed.ok_or_else(|| bad_key_file(path, "sealed value missing"))?;
    let plain = Zeroizing::new(
        store
            .keyring()
            .decrypt(&path.display().to_string(), AGENCY_KEY_CONTEXT, sealed)
            .await?,
    );
    let clear = std::str::from_utf8(&plain)
        .map_err(|_| bad_key_file(path, "decrypted keys are not UTF-8 text"))?;
    Ok(OrgKeys::from_key_text(path, clear)?)
}

/// Replaces a clear key file by the sealed one: written beside it (mode 0600), synced,
/// renamed over it, the folder synced.
async fn replace_with_sealed(store: &Store, path: &Path, keys: &OrgKeys) -> Result<(), MediaError> {
    let text = sealed_key_text(store, path, keys).await?;
    let tmp = path.with_extension(format!("key.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    daiko_seal::write_protected_file(&tmp, text.as_bytes())?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// What [`seal_deliveries`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealedOut {
    pub path: PathBuf,
    /// The container's name inside the sealed file.
    pub file_name: String,
    /// Delivery ids sealed, in container order.
    pub deliveries: Vec<String>,
    /// Archive names sealed.
    pub archives: Vec<String>,
    /// Bytes of the sealed file.
    pub bytes: u64,
}

/// Seals `recipient`'s not-yet-acknowledged deliveries into one sealed file at `out`.
pub async fn seal_deliveries(
    store: &Store,
    data_dir: &Path,
    recipient: &Org,
    out: &Path,
) -> Result<SealedOut, MediaError> {
    if recipient.media_public_key.trim().is_empty() {
        return Err(MediaError::NoRecipientKey(recipient.number.clone()));
    }
    let recipient_key = PublicKeys::parse(recipient.media_public_key.trim())?;
    let agency = store.agency().await?.ok_or(MediaError::NoAgency)?;
    let keys = ensure_agency_keys(store, data_dir).await?;
    let mut pending: Vec<_> = store
        .deliveries(Some(&recipient.id), 10_000)
        .await?
        .into_iter()
        .filter(|d| d.received_at.is_none())
        .collect();
    pending.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    if pending.is_empty() {
        return Err(MediaError::NothingToSeal(recipient.number.clone()));
    }
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut names = std::collections::HashSet::new();
    let (mut ids, mut archives) = (Vec::new(), Vec::new());
    for d in &pending {
        // Two archives of one name cannot share the container; the later one waits for
        // the next medium.
        if !names.insert(d.archive_name.clone()) {
            continue;
        }
        let bytes = store.blobs().get(&d.blob_key).await?;
        zip.start_file(d.archive_name.as_str(), options)
            .map_err(|e| MediaError::Container(e.to_string()))?;
        zip.write_all(&bytes).map_err(io(out))?;
        ids.push(d.id.clone());
        archives.push(d.archive_name.clone());
    }
    let container = zip
        .finish()
        .map_err(|e| MediaError::Container(e.to_string()))?
        .into_inner();
    let stamp = jiff::Timestamp::now()
        .to_zoned(crate::intake::jst())
        .strftime("%Y%m%d%H%M%S")
        .to_string();
    let file_name = format!("daiko-media-{}-{stamp}.zip", recipient.number);
    let tmp = out.with_extension("partial");
    let written = (|| -> Result<u64, MediaError> {
        let f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        let mut w = std::io::BufWriter::new(f);
        let summary = daiko_seal::seal(
            Cursor::new(&container),
            &mut w,
            &file_name,
            &agency.number,
            &keys,
            &recipient.number,
            &recipient_key,
        )?;
        let f = w.into_inner().map_err(|e| MediaError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, out).map_err(io(out))?;
        Ok(summary.sealed_bytes)
    })();
    let bytes = match written {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    store
        .audit(&AuditEntry {
            actor: "system".into(),
            role: "system".into(),
            org: recipient.number.clone(),
            action: "media.seal".into(),
            target: format!("org:{}", recipient.number),
            records: String::new(),
            source: "cli".into(),
            detail: serde_json::json!({ "deliveries": ids, "file": file_name }).to_string(),
        })
        .await?;
    Ok(SealedOut {
        path: out.to_path_buf(),
        file_name,
        deliveries: ids,
        archives,
        bytes,
    })
}

/// Who reads a sealed file in (for the audit rows and submissions).
#[derive(Debug, Clone, Copy)]
pub struct MediaReader<'a> {
    /// Login of the agency clerk who reads the medium.
    pub uploaded_by: Option<&'a str>,
    pub role: &'a str,
    /// `cli` or the client address.
    pub source: &'a str,
    /// Size limit of the sealed file and of each archive in it.
    pub limit: u64,
}

/// Opens a sealed file addressed to the agency and receives the archive(s) it holds.
pub async fn receive_sealed(
    store: &Store,
    data_dir: &Path,
    path: &Path,
    reader: &MediaReader<'_>,
) -> Result<Vec<Received>, MediaError> {
    let agency = store.agency().await?.ok_or(MediaError::NoAgency)?;
    let keys = ensure_agency_keys(store, data_dir).await?;
    let size = std::fs::metadata(path).map_err(io(path))?.len();
    if size > reader.limit.saturating_add(1 << 20) {
        return Err(MediaError::TooLarge {
            limit: reader.limit,
        });
    }
    let sealed = std::fs::read(path).map_err(io(path))?;
    let info = daiko_seal::inspect(Cursor::new(&sealed))?;
    let sender = store
        .org_by_number(&info.sender_id)
        .await?
        .ok_or_else(|| MediaError::UnknownSender(info.sender_id.clone()))?;
    let sender_key = if sender.media_public_key.trim().is_empty() {
        None
    } else {
        Some(PublicKeys::parse(sender.media_public_key.trim())?)
    };
    let mut plain = Vec::new();
    let opened = daiko_seal::open(
        Cursor::new(&sealed),
        &mut plain,
        &agency.number,
        &keys,
        |id| sender_key.clone().filter(|_| id == sender.number),
    )?;
    let archives = unpack(&opened.file_name, &plain, reader.limit)?;
    let mut out = Vec::new();
    for (name, bytes) in archives {
        let up = Upload {
            org: &sender,
            uploaded_by: reader.uploaded_by,
            role: reader.role,
            channel: "media",
            archive_name: &name,
            source: reader.source,
        };
        out.push(receive_bytes(store, &up, &bytes, reader.limit).await?);
    }
    Ok(out)
}

/// The archives in an opened file: a container's entries, or the file itself.
fn unpack(file_name: &str, plain: &[u8], limit: u64) -> Result<Vec<(String, Vec<u8>)>, MediaError> {
    const MAX_ENTRIES: usize = 10_000;
    let single = || Ok(vec![(file_name.to_string(), plain.to_vec())]);
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(plain)) else {
        return single();
    };
    let Ok(names) = zip
        .file_names()
        .map(|n| n.map(|c| c.into_owned()))
        .collect::<Result<Vec<String>, _>>()
    else {
        return single();
    };
    let container = !names.is_empty()
        && names
            .iter()
            .all(|n| n.to_ascii_lowercase().ends_with(".zip") && validate_name(n).is_ok());
    if !container {
        return single();
    }
    if names.len() > MAX_ENTRIES {
        return Err(MediaError::Container(format!(
            "{} entries (at most {MAX_ENTRIES})",
            names.len()
        )));
    }
    let mut out = Vec::with_capacity(names.len());
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| MediaError::Container(e.to_string()))?;
        let name = f
            .name()
            .map_err(|e| MediaError::Container(e.to_string()))?
            .into_owned();
        let mut bytes = Vec::new();
        (&mut f)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| MediaError::Container(format!("{name}: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(MediaError::Intake(IntakeError::TooLarge { limit }));
        }
        out.push((name, bytes));
    }
    Ok(out)
}
