//! Organisation keys: a static ECDH P-256 key (to receive) and an ECDSA P-256 key (to sign).

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use aws_lc_rs::agreement::{self, ECDH_P256};
use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
};

use crate::SealError;

/// Length of an uncompressed SEC1 P-256 point: `0x04 || X || Y`.
pub const POINT_LEN: usize = 65;

/// First line of a key file.
const KEY_FILE_MAGIC: &str = "daiko-org-keys-v1";
/// Prefix of the public text form.
const PUB_PREFIX: &str = "daiko-pub-v1:";
/// Key files are a few hundred bytes; refuse to read anything much larger.
const KEY_FILE_MAX: u64 = 16 * 1024;

/// An organisation's private key material (one 機関 / 保険者 / the agency itself).
///
/// Two keys, because one key should serve one purpose: `agreement` lets others seal files
/// *to* us, `signing` proves files come *from* us. Both are P-256 (CRYPTREC-listed).
pub struct OrgKeys {
    agreement: agreement::PrivateKey,
    signing: EcdsaKeyPair,
    public: PublicKeys,
}

impl fmt::Debug for OrgKeys {
    // Never print private material; the fingerprint is enough to tell keys apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgKeys")
            .field("fingerprint", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

impl OrgKeys {
    /// Fresh keys from the system random source.
    pub fn generate() -> Result<Self, SealError> {
        let agreement = agreement::PrivateKey::generate(&ECDH_P256)
            .map_err(|_| SealError::Crypto("ECDH P-256 key generation"))?;
        let signing = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| SealError::Crypto("ECDSA P-256 key generation"))?;
        Self::from_parts(agreement, signing)
    }

    /// Keys from DER: `agreement` as PKCS#8 or RFC 5915 EC private key, `signing` as PKCS#8
    /// (for keys kept in a key service rather than a file).
    pub fn from_der(agreement: &[u8], signing_pkcs8: &[u8]) -> Result<Self, SealError> {
        let agreement = agreement::PrivateKey::from_private_key_der(&ECDH_P256, agreement)
            .map_err(|e| SealError::InvalidPrivateKey(format!("agreement key: {e}")))?;
        let signing = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, signing_pkcs8)
            .map_err(|e| SealError::InvalidPrivateKey(format!("signing key: {e}")))?;
        Self::from_parts(agreement, signing)
    }

    fn from_parts(
        agreement: agreement::PrivateKey,
        signing: EcdsaKeyPair,
    ) -> Result<Self, SealError> {
        let agreement_pub = agreement
            .compute_public_key()
            .map_err(|_| SealError::Crypto("ECDH public key"))?;
        let public = PublicKeys::from_bytes(
            agreement_pub.as_ref().to_vec(),
            signing.public_key().as_ref().to_vec(),
        )?;
        Ok(Self {
            agreement,
            signing,
            public,
        })
    }

    /// The public half, to register with the other side.
    pub fn public(&self) -> &PublicKeys {
        &self.public
    }

    pub(crate) fn agreement(&self) -> &agreement::PrivateKey {
        &self.agreement
    }

    pub(crate) fn signing(&self) -> &EcdsaKeyPair {
        &self.signing
    }

    /// Writes a new key file with mode 0600. Refuses to overwrite an existing file, so a
    /// mistyped path cannot destroy the keys needed to open files already sent to us.
    pub fn to_file(&self, path: &Path) -> Result<(), SealError> {
        let text = self.to_key_text(path)?;
        write_protected_file(path, text.as_bytes())
    }

    /// The clear key file text (`daiko-org-keys-v1`, the DER keys in hex) for a caller that
    /// stores it encrypted (the agency's key under the keyring, S18). `path` names the file
    /// in errors only. Zeroized when dropped.
    pub fn to_key_text(&self, path: &Path) -> Result<Zeroizing<String>, SealError> {
        self.encode(path)
    }

    /// Parses text made by [`OrgKeys::to_key_text`] (after the caller decrypted it); `path`
    /// names the file in errors only.
    pub fn from_key_text(path: &Path, text: &str) -> Result<Self, SealError> {
        Self::decode(path, text)
    }

    /// Whether `text` is a clear key file (`daiko-org-keys-v1`) rather than something else.
    pub fn is_clear_key_text(text: &str) -> bool {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            == Some(KEY_FILE_MAGIC)
    }

    fn encode(&self, path: &Path) -> Result<Zeroizing<String>, SealError> {
        let unspecified = |what: &str| SealError::KeyFile {
            path: path.to_path_buf(),
            detail: format!("cannot serialise {what} key"),
        };
        let agreement: Pkcs8V1Der<'static> = self
            .agreement
            .as_der()
            .map_err(|_| unspecified("agreement"))?;
        let signing = self
            .signing
            .to_pkcs8v1()
            .map_err(|_| unspecified("signing"))?;
        Ok(Zeroizing::new(format!(
            "{KEY_FILE_MAGIC}\n\
             # daiko organisation private keys (SECURITY.md S19/S20). Keep mode 0600; never copy.\n\
             # public: {}\n\
             agreement-pkcs8 {}\n\
             signing-pkcs8 {}\n",
            self.public,
            &*Zeroizing::new(hex::encode(agreement.as_ref())),
            &*Zeroizing::new(hex::encode(signing.as_ref())),
        )))
    }

    /// Reads a key file written by [`OrgKeys::to_file`]. Refuses (S20) a file that group or
    /// others may read, checked on the opened handle so the check and the read see the same file.
    pub fn from_file(path: &Path) -> Result<Self, SealError> {
        let bytes = read_protected_file(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad_key_file(path, "not UTF-8 text"))?;
        Self::decode(path, text)
    }

    fn decode(path: &Path, text: &str) -> Result<Self, SealError> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        if lines.next() != Some(KEY_FILE_MAGIC) {
            return Err(bad_key_file(path, "first line is not daiko-org-keys-v1"));
        }
        let mut agreement = None;
        let mut signing = None;
        for line in lines {
            let (name, value) = line
                .split_once(' ')
                .ok_or_else(|| bad_key_file(path, "line without a value"))?;
            let bytes = Zeroizing::new(
                hex::decode(value.trim())
                    .map_err(|_| bad_key_file(path, "value is not hexadecimal"))?,
            );
            let slot = match name {
                "agreement-pkcs8" => &mut agreement,
                "signing-pkcs8" => &mut signing,
                _ => return Err(bad_key_file(path, "unknown field")),
            };
            if slot.replace(bytes).is_some() {
                return Err(bad_key_file(path, "duplicate field"));
            }
        }
        let agreement = agreement.ok_or_else(|| bad_key_file(path, "agreement-pkcs8 missing"))?;
        let signing = signing.ok_or_else(|| bad_key_file(path, "signing-pkcs8 missing"))?;
        Self::from_der(&agreement, &signing).map_err(|e| SealError::KeyFile {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }
}

/// Reads a small secret file (a key file), refusing (S20) one that group or others may read,
/// checked on the opened handle so the check and the read see the same file, and one larger
/// than a key file can be. The bytes are zeroized when dropped.
pub fn read_protected_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let file = std::fs::File::open(path).map_err(|e| key_file_io(path, e))?;
    let meta = file.metadata().map_err(|e| key_file_io(path, e))?;
    if !meta.is_file() {
        return Err(bad_key_file(path, "not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SealError::KeyFileTooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    // Room for the whole file up front: no reallocation leaves copies of the key behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_FILE_MAX as usize + 2));
    file.take(KEY_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| key_file_io(path, e))?;
    if bytes.len() as u64 > KEY_FILE_MAX {
        return Err(bad_key_file(path, "file too large"));
    }
    Ok(bytes)
}

/// Writes a new secret file with mode 0600 and syncs it; refuses to overwrite an existing
/// file (the error's detail then is the `AlreadyExists` I/O error). A failed write removes
/// the partial file.
pub fn write_protected_file(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| key_file_io(path, e))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(key_file_io(path, e));
    }
    Ok(())
}

fn key_file_io(path: &Path, e: std::io::Error) -> SealError {
    SealError::KeyFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn bad_key_file(path: &Path, detail: &str) -> SealError {
    SealError::KeyFile {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// The public half of [`OrgKeys`]: what the server stores per organisation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PublicKeys {
    /// ECDH P-256 public key, uncompressed point (65 bytes).
    pub agreement: Vec<u8>,
    /// ECDSA P-256 public key, uncompressed point (65 bytes).
    pub verify: Vec<u8>,
}

/// First 16 bytes of SHA-256 over a [`PublicKeys`]; shown to people comparing keys by phone
/// and written into every sealed header to name the recipient key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl PublicKeys {
    /// Checks both points are valid P-256 points in uncompressed form (one canonical
    /// encoding, so one key has one fingerprint).
    pub fn from_bytes(agreement: Vec<u8>, verify: Vec<u8>) -> Result<Self, SealError> {
        check_point(&agreement)?;
        check_point(&verify)?;
        agreement::ParsedPublicKey::try_from(&agreement::UnparsedPublicKey::new(
            &ECDH_P256, &agreement,
        ))
        .map_err(|_| SealError::InvalidPublicKeys("agreement key is not a P-256 point"))?;
        signature::ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &verify)
            .map_err(|_| SealError::InvalidPublicKeys("verify key is not a P-256 point"))?;
        Ok(Self { agreement, verify })
    }

    /// Parses `daiko-pub-v1:<agreement hex>:<verify hex>` (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let rest = text
            .trim()
            .strip_prefix(PUB_PREFIX)
            .ok_or(SealError::InvalidPublicKeys(
                "does not start with daiko-pub-v1:",
            ))?;
        let (a, v) = rest.split_once(':').ok_or(SealError::InvalidPublicKeys(
            "expected two keys separated by ':'",
        ))?;
        let a = hex::decode(a).map_err(|_| SealError::InvalidPublicKeys("not hexadecimal"))?;
        let v = hex::decode(v).map_err(|_| SealError::InvalidPublicKeys("not hexadecimal"))?;
        Self::from_bytes(a, v)
    }

    /// The text form for pasting into the server (`Display` gives the same).
    pub fn to_text(&self) -> String {
        format!(
            "{PUB_PREFIX}{}:{}",
            hex::encode(&self.agreement),
            hex::encode(&self.verify)
        )
    }

    /// SHA-256 over `daiko-pub-v1` || agreement || verify, first 16 bytes.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut ctx = digest::Context::new(&SHA256);
        ctx.update(b"daiko-pub-v1");
        ctx.update(&self.agreement);
        ctx.update(&self.verify);
        let d = ctx.finish();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d.as_ref()[..16]);
        Fingerprint(out)
    }
}

impl fmt::Display for PublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn check_point(bytes: &[u8]) -> Result<(), SealError> {
    if bytes.len() != POINT_LEN || bytes[0] != 0x04 {
        return Err(SealError::InvalidPublicKeys(
            "expected an uncompressed P-256 point (65 bytes starting 04)",
        ));
    }
    Ok(())
}
