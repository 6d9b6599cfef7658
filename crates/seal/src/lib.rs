//! # daiko-seal — sealed files for offline media (SECURITY.md S19)
//!
//! Files that leave or enter the agency on CD-R or USB are *sealed*: encrypted for exactly one
//! recipient organisation (ECDH P-256 + HKDF-SHA-256 + AES-256-GCM) and signed by the sender
//! (ECDSA P-256 / SHA-256). Opening detects tampering, truncation, a wrong key and a wrong
//! recipient, each with its own [`SealError`] (English `Display`, Japanese
//! [`SealError::message_ja`]). All primitives come from aws-lc-rs and are CRYPTREC-listed.
//! There is no way to write an unsealed copy through this API: [`seal`] only produces sealed
//! bytes, and [`open`] only releases plaintext after the signature has verified.
//!
//! **Owns:** the sealed-file format below, organisation key files ([`OrgKeys`], mode 0600,
//! S20) and the public-key text form ([`PublicKeys`], `daiko-pub-v1:…`).
//! **Must not touch:** the store, the database, the network, malware scanning (the intake scans
//! the plaintext after [`open`], S21). Callers decide where keys and files live.
//!
//! ## Format `DAIKO-SEAL-1` (all integers big-endian)
//!
//! ```text
//! header
//!   0    12  magic "DAIKO-SEAL-1" (ASCII)
//!   12    4  body_len: u32, bytes of header body that follow (≤ 1024)
//!   16       body:
//!         2+n  sender id       u16 length + UTF-8 (1–255 bytes, no control chars)
//!         2+n  recipient id    u16 length + UTF-8 (same rules)
//!          16  recipient key fingerprint (PublicKeys::fingerprint)
//!          65  ephemeral ECDH P-256 public key, uncompressed (04 || X || Y)
//!         2+n  file name       u16 length + UTF-8 (bare name: no / \ . .. or control chars)
//!           4  chunk_size: u32 plaintext bytes per chunk (1 KiB – 1 MiB; writer uses 64 KiB)
//!           7  nonce prefix, random
//! chunks, i = 0 .. n-1 (n ≥ 1)
//!   AES-256-GCM(key, nonce_i, aad = the whole header, plaintext_i) = ciphertext_i || tag_i(16)
//!   plaintext_i is exactly chunk_size bytes for i < n-1; the last is 0..=chunk_size bytes
//!   (an empty file is one empty last chunk; a file of exactly k chunks has no extra chunk).
//!   nonce_i = prefix(7) || i as u32 (4) || last flag (1: 0x01 for i = n-1, else 0x00)
//! trailer
//!   64  ECDSA P-256 signature, fixed r || s, by the sender over SHA-256(header || all chunks)
//!
//! key = HKDF-SHA-256(salt = SHA-256(header), ikm = ECDH(ephemeral, recipient agreement key).x,
//!                    info = "DAIKO-SEAL-1 chunk key") → 32 bytes
//! ```
//!
//! The STREAM nonces make a dropped, repeated or reordered chunk fail authentication, and the
//! header as AAD binds every chunk to its sender, recipient and name. The signature makes the
//! whole file the sender's: without it anyone holding the recipient's *public* key could seal.
//!
//! ## Why `open` needs `Seek`
//!
//! [`open`] reads its input twice: pass one hashes the header and all chunks and verifies the
//! signature, pass two decrypts. A file that is not signed by the registered sender key
//! therefore never yields a single byte of plaintext. Pass two re-hashes and refuses if the
//! input changed in between. Because output is streamed, a failure in pass two (possible only
//! when the signer itself sealed garbage, or the medium changed mid-read) can leave a partial
//! output: callers must write to a temporary file and rename it only after `Ok`, as
//! [`open_to_path`] does.
//!
//! Since the signature covers the full length, a truncated or extended file is reported as
//! [`SealError::BadSignature`]; [`SealError::Tampered`] means the length cannot be a sealed
//! file at all, or a signed chunk failed AES-GCM.

mod error;
mod header;
mod keys;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, ECDH_P256, EphemeralPrivateKey};
use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::hkdf;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

pub use error::{Damage, SealError};
pub use header::{MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
pub use keys::{Fingerprint, OrgKeys, PublicKeys, read_protected_file, write_protected_file};

use header::{Header, NONCE_PREFIX_LEN, read_full};

/// The first bytes of every sealed file.
pub const MAGIC: &[u8; 12] = b"DAIKO-SEAL-1";
/// Plaintext bytes per chunk written by [`seal`]; memory use is a small multiple of this.
pub const CHUNK_SIZE: u32 = 64 * 1024;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Fixed-size ECDSA P-256 signature (r || s).
pub const SIGNATURE_LEN: usize = 64;

const KDF_INFO: &[u8] = b"DAIKO-SEAL-1 chunk key";

/// What [`seal`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealSummary {
    /// Plaintext bytes read.
    pub plaintext_bytes: u64,
    /// Sealed bytes written (header, chunks, signature).
    pub sealed_bytes: u64,
    /// Number of chunks (at least 1).
    pub chunks: u64,
    /// Fingerprint of the recipient key the file is sealed to.
    pub recipient_fingerprint: Fingerprint,
}

/// What [`open`] verified and wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSummary {
    /// The sender, whose signature verified.
    pub sender_id: String,
    /// The original file name (a bare name; still choose the destination yourself).
    pub file_name: String,
    /// Plaintext bytes written.
    pub bytes: u64,
}

/// The header of a sealed file, read without any key. Nothing here is authenticated until
/// [`open`] succeeds: use it to route or to show "for whom, from whom", never to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedInfo {
    pub sender_id: String,
    pub recipient_id: String,
    pub recipient_fingerprint: Fingerprint,
    pub file_name: String,
    pub chunk_size: u32,
}

/// Whether `bytes` (the start of a file, at least 12 bytes) is a sealed file, for the intake.
pub fn sniff(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Reads only the header (unauthenticated; see [`SealedInfo`]).
pub fn inspect<R: Read>(mut input: R) -> Result<SealedInfo, SealError> {
    let h = Header::read(&mut input)?;
    Ok(SealedInfo {
        sender_id: h.sender_id,
        recipient_id: h.recipient_id,
        recipient_fingerprint: h.recipient_fingerprint,
        file_name: h.file_name,
        chunk_size: h.chunk_size,
    })
}

/// Seals `input` for `recipient` and signs it as `sender`, streaming in [`CHUNK_SIZE`] chunks.
///
/// `file_name` is the bare original name carried in the header. A fresh ephemeral key is made
/// for every call, so sealing the same input twice gives unrelated output.
pub fn seal<R: Read, W: Write>(
    input: R,
    output: W,
    file_name: &str,
    sender_id: &str,
    sender: &OrgKeys,
    recipient_id: &str,
    recipient: &PublicKeys,
) -> Result<SealSummary, SealError> {
    seal_with_chunk_size(
        input,
        output,
        file_name,
        sender_id,
        sender,
        recipient_id,
        recipient,
        CHUNK_SIZE,
    )
}

#[allow(clippy::too_many_arguments)]
fn seal_with_chunk_size<R: Read, W: Write>(
    mut input: R,
    mut output: W,
    file_name: &str,
    sender_id: &str,
    sender: &OrgKeys,
    recipient_id: &str,
    recipient: &PublicKeys,
    chunk_size: u32,
) -> Result<SealSummary, SealError> {
    if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(SealError::InvalidField {
            field: "chunk size",
            reason: "outside 1 KiB – 1 MiB",
        });
    }
    let rng = SystemRandom::new();
    let ephemeral = EphemeralPrivateKey::generate(&ECDH_P256, &rng)
        .map_err(|_| SealError::Crypto("ephemeral key generation"))?;
    let ephemeral_pub: [u8; keys::POINT_LEN] = ephemeral
        .compute_public_key()
        .map_err(|_| SealError::Crypto("ephemeral public key"))?
        .as_ref()
        .try_into()
        .map_err(|_| SealError::Crypto("ephemeral public key length"))?;
    let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
    rng.fill(&mut nonce_prefix)
        .map_err(|_| SealError::Crypto("random nonce prefix"))?;
    let recipient_fingerprint = recipient.fingerprint();
    let header = Header::encode(
        sender_id,
        recipient_id,
        recipient_fingerprint,
        ephemeral_pub,
        file_name,
        chunk_size,
        nonce_prefix,
    )?;
    let key = agreement::agree_ephemeral(
        ephemeral,
        agreement::UnparsedPublicKey::new(&ECDH_P256, &recipient.agreement),
        SealError::InvalidPublicKeys("recipient agreement key rejected"),
        |shared| chunk_key(shared, &header.bytes).map_err(|_| SealError::Crypto("key derivation")),
    )?;

    let mut hash = digest::Context::new(&SHA256);
    output.write_all(&header.bytes)?;
    hash.update(&header.bytes);
    let mut sealed_bytes = header.bytes.len() as u64;
    let mut plaintext_bytes = 0u64;

    let cs = chunk_size as usize;
    let mut buf = vec![0u8; cs];
    let mut filled = read_full(&mut input, &mut buf)?;
    let mut counter: u32 = 0;
    loop {
        // A full chunk is the last only if the input ends right after it: peek one byte.
        let mut peek = [0u8; 1];
        let last = filled < cs || read_full(&mut input, &mut peek)? == 0;
        let tag = key
            .seal_in_place_separate_tag(
                chunk_nonce(&header.nonce_prefix, counter, last),
                Aad::from(&header.bytes[..]),
                &mut buf[..filled],
            )
            .map_err(|_| SealError::Crypto("AES-GCM seal"))?;
        for part in [&buf[..filled], tag.as_ref()] {
            output.write_all(part)?;
            hash.update(part);
        }
        plaintext_bytes += filled as u64;
        sealed_bytes += (filled + TAG_LEN) as u64;
        if last {
            break;
        }
        counter = counter.checked_add(1).ok_or(SealError::InvalidField {
            field: "input",
            reason: "too large (more than 2^32 chunks)",
        })?;
        buf[0] = peek[0];
        filled = 1 + read_full(&mut input, &mut buf[1..])?;
    }

    let signature = sender
        .signing()
        .sign_digest(&hash.finish())
        .map_err(|_| SealError::Crypto("ECDSA sign"))?;
    output.write_all(signature.as_ref())?;
    output.flush()?;
    sealed_bytes += signature.as_ref().len() as u64;
    Ok(SealSummary {
        plaintext_bytes,
        sealed_bytes,
        chunks: u64::from(counter) + 1,
        recipient_fingerprint,
    })
}

/// Verifies and opens a sealed file addressed to `recipient_id` / `recipient`.
///
/// Checks, in order: magic ([`SealError::NotASealedFile`]), header, recipient id and key
/// fingerprint ([`SealError::WrongRecipient`], [`SealError::WrongRecipientKey`]), the sender's
/// registered key via `sender_key` ([`SealError::UnknownSender`]), the length, the signature
/// over everything ([`SealError::BadSignature`]) — and only then decrypts into `output`.
/// Write `output` to a temporary file and keep it only on `Ok` (see [`open_to_path`]).
/// `input` is read from its current position to its end.
pub fn open<R: Read + Seek, W: Write>(
    mut input: R,
    mut output: W,
    recipient_id: &str,
    recipient: &OrgKeys,
    sender_key: impl Fn(&str) -> Option<PublicKeys>,
) -> Result<OpenSummary, SealError> {
    let start = input.stream_position()?;
    let header = Header::read(&mut input)?;
    if header.recipient_id != recipient_id {
        return Err(SealError::WrongRecipient {
            expected: recipient_id.to_owned(),
            found: header.recipient_id,
        });
    }
    let ours = recipient.public().fingerprint();
    if header.recipient_fingerprint != ours {
        return Err(SealError::WrongRecipientKey {
            recipient: header.recipient_id,
            expected: ours.to_string(),
            found: header.recipient_fingerprint.to_string(),
        });
    }
    let sender_pub = sender_key(&header.sender_id).ok_or_else(|| SealError::UnknownSender {
        sender: header.sender_id.clone(),
    })?;

    // Layout from the total length: n-1 full chunks, one last chunk of TAG_LEN..=full bytes.
    let body_start = start + header.bytes.len() as u64;
    let total = input.seek(SeekFrom::End(0))?;
    let overhead = (TAG_LEN + SIGNATURE_LEN) as u64;
    if total < body_start + overhead {
        return Err(SealError::Tampered(Damage::Layout));
    }
    let chunks_len = total - body_start - SIGNATURE_LEN as u64;
    let full = u64::from(header.chunk_size) + TAG_LEN as u64;
    let n = chunks_len.div_ceil(full);
    let last_len = chunks_len - (n - 1) * full;
    if last_len < TAG_LEN as u64 || n - 1 > u64::from(u32::MAX) {
        return Err(SealError::Tampered(Damage::Layout));
    }

    // Pass one: hash header and chunks, verify the signature. No plaintext exists yet.
    input.seek(SeekFrom::Start(body_start))?;
    let mut hash = digest::Context::new(&SHA256);
    hash.update(&header.bytes);
    let mut buf = vec![0u8; full as usize];
    let mut remaining = chunks_len;
    while remaining > 0 {
        let want = remaining.min(full) as usize;
        if read_full(&mut input, &mut buf[..want])? != want {
            return Err(SealError::Tampered(Damage::Changed));
        }
        hash.update(&buf[..want]);
        remaining -= want as u64;
    }
    let mut signature = [0u8; SIGNATURE_LEN];
    if read_full(&mut input, &mut signature)? != SIGNATURE_LEN {
        return Err(SealError::Tampered(Damage::Changed));
    }
    let signed = hash.finish();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &sender_pub.verify)
        .verify_digest(&signed, &signature)
        .map_err(|_| SealError::BadSignature {
            sender: header.sender_id.clone(),
        })?;

    // Pass two: decrypt. The key needs our private key, so only the named recipient gets here.
    let key = agreement::agree(
        recipient.agreement(),
        agreement::UnparsedPublicKey::new(&ECDH_P256, &header.ephemeral),
        SealError::Tampered(Damage::Header),
        |shared| chunk_key(shared, &header.bytes).map_err(|_| SealError::Crypto("key derivation")),
    )?;
    input.seek(SeekFrom::Start(body_start))?;
    let mut rehash = digest::Context::new(&SHA256);
    rehash.update(&header.bytes);
    let mut bytes = 0u64;
    for i in 0..n {
        let last = i == n - 1;
        let len = if last { last_len } else { full } as usize;
        if read_full(&mut input, &mut buf[..len])? != len {
            return Err(SealError::Tampered(Damage::Changed));
        }
        rehash.update(&buf[..len]);
        // i <= u32::MAX was checked with the layout.
        let counter = u32::try_from(i).map_err(|_| SealError::Tampered(Damage::Layout))?;
        let plain = key
            .open_in_place(
                chunk_nonce(&header.nonce_prefix, counter, last),
                Aad::from(&header.bytes[..]),
                &mut buf[..len],
            )
            .map_err(|_| SealError::Tampered(Damage::Chunk(i)))?;
        output.write_all(plain)?;
        bytes += plain.len() as u64;
    }
    if rehash.finish().as_ref() != signed.as_ref() {
        return Err(SealError::Tampered(Damage::Changed));
    }
    output.flush()?;
    Ok(OpenSummary {
        sender_id: header.sender_id,
        file_name: header.file_name,
        bytes,
    })
}

/// [`open`] from the file `sealed` into `destination`, all or nothing: the plaintext goes to a
/// new temporary file (mode 0600) next to `destination`, is synced, and is renamed over
/// `destination` only on success; on any error the temporary file is removed.
pub fn open_to_path(
    sealed: &Path,
    destination: &Path,
    recipient_id: &str,
    recipient: &OrgKeys,
    sender_key: impl Fn(&str) -> Option<PublicKeys>,
) -> Result<OpenSummary, SealError> {
    let input = std::io::BufReader::new(std::fs::File::open(sealed)?);
    let dir = match destination.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut suffix = [0u8; 8];
    SystemRandom::new()
        .fill(&mut suffix)
        .map_err(|_| SealError::Crypto("random temporary name"))?;
    let temp = dir.join(format!(".daiko-open-{}.partial", hex::encode(suffix)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&temp)?;
    let result = (|| {
        let mut out = std::io::BufWriter::new(file);
        let summary = open(input, &mut out, recipient_id, recipient, sender_key)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, destination)?;
        Ok(summary)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn chunk_key(shared: &[u8], header: &[u8]) -> Result<LessSafeKey, Unspecified> {
    let salt_digest = digest::digest(&SHA256, header);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt_digest.as_ref()).extract(shared);
    let info = [KDF_INFO];
    let okm = prk.expand(&info, &AES_256_GCM)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    n[NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&counter.to_be_bytes());
    n[NONCE_LEN - 1] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

#[cfg(test)]
mod tests;
