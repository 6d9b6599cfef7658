//! The sealed-file header: encoding, bounded reading, and the rules for ids and file names.

use std::io::Read;

use crate::keys::{Fingerprint, POINT_LEN};
use crate::{Damage, MAGIC, SealError};

/// Length of the random nonce prefix; with the 4-byte counter and 1-byte last flag it makes
/// the 12-byte AES-GCM nonce.
pub const NONCE_PREFIX_LEN: usize = 7;
/// The body can hold at most two 255-byte ids and a 255-byte name plus fixed fields.
const MAX_BODY_LEN: u32 = 1024;
/// Bounds on the chunk size a reader accepts, so memory stays bounded whatever the header says.
pub const MIN_CHUNK_SIZE: u32 = 1024;
pub const MAX_CHUNK_SIZE: u32 = 1024 * 1024;
/// Longest id or file name, in UTF-8 bytes.
const MAX_TEXT_LEN: usize = 255;

/// A parsed header together with its exact bytes (the AAD of every chunk).
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub bytes: Vec<u8>,
    pub sender_id: String,
    pub recipient_id: String,
    pub recipient_fingerprint: Fingerprint,
    pub ephemeral: [u8; POINT_LEN],
    pub file_name: String,
    pub chunk_size: u32,
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl Header {
    pub fn encode(
        sender_id: &str,
        recipient_id: &str,
        recipient_fingerprint: Fingerprint,
        ephemeral: [u8; POINT_LEN],
        file_name: &str,
        chunk_size: u32,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, SealError> {
        check_id("sender id", sender_id)?;
        check_id("recipient id", recipient_id)?;
        check_file_name(file_name)?;
        let mut body = Vec::with_capacity(128);
        put_text(&mut body, sender_id);
        put_text(&mut body, recipient_id);
        body.extend_from_slice(&recipient_fingerprint.0);
        body.extend_from_slice(&ephemeral);
        put_text(&mut body, file_name);
        body.extend_from_slice(&chunk_size.to_be_bytes());
        body.extend_from_slice(&nonce_prefix);
        let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + body.len());
        bytes.extend_from_slice(MAGIC);
        // Bounded by the checks above (3 × 257 + 92 < 1024), so the cast cannot truncate.
        bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&body);
        Ok(Self {
            bytes,
            sender_id: sender_id.to_owned(),
            recipient_id: recipient_id.to_owned(),
            recipient_fingerprint,
            ephemeral,
            file_name: file_name.to_owned(),
            chunk_size,
            nonce_prefix,
        })
    }

    /// Reads exactly one header from `input`, never more than `16 + MAX_BODY_LEN` bytes.
    pub fn read<R: Read>(input: &mut R) -> Result<Self, SealError> {
        let mut magic = [0u8; MAGIC.len()];
        if read_full(input, &mut magic)? != magic.len() || &magic != MAGIC {
            return Err(SealError::NotASealedFile);
        }
        let mut len = [0u8; 4];
        if read_full(input, &mut len)? != 4 {
            return Err(SealError::Tampered(Damage::Header));
        }
        let body_len = u32::from_be_bytes(len);
        if body_len > MAX_BODY_LEN {
            return Err(SealError::Tampered(Damage::Header));
        }
        let mut bytes = Vec::with_capacity(16 + body_len as usize);
        bytes.extend_from_slice(&magic);
        bytes.extend_from_slice(&len);
        bytes.resize(16 + body_len as usize, 0);
        if read_full(input, &mut bytes[16..])? != body_len as usize {
            return Err(SealError::Tampered(Damage::Header));
        }
        Self::parse_body(bytes).ok_or(SealError::Tampered(Damage::Header))
    }

    fn parse_body(bytes: Vec<u8>) -> Option<Self> {
        let mut c = Cursor(&bytes[16..]);
        let sender_id = c.text()?;
        let recipient_id = c.text()?;
        let recipient_fingerprint = Fingerprint(c.array()?);
        let ephemeral: [u8; POINT_LEN] = c.array()?;
        let file_name = c.text()?;
        let chunk_size = u32::from_be_bytes(c.array()?);
        let nonce_prefix = c.array()?;
        if !c.0.is_empty() || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return None;
        }
        check_id("", &sender_id).ok()?;
        check_id("", &recipient_id).ok()?;
        check_file_name(&file_name).ok()?;
        Some(Self {
            bytes,
            sender_id,
            recipient_id,
            recipient_fingerprint,
            ephemeral,
            file_name,
            chunk_size,
            nonce_prefix,
        })
    }
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    // Callers check s.len() <= MAX_TEXT_LEN first.
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn text(&mut self) -> Option<String> {
        let len = u16::from_be_bytes(self.array()?) as usize;
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).ok()
    }
}

/// Organisation ids (保険者番号, 機関番号, or the agency's own id): 1–255 bytes, no control characters.
fn check_id(field: &'static str, id: &str) -> Result<(), SealError> {
    let reason = if id.is_empty() {
        "empty"
    } else if id.len() > MAX_TEXT_LEN {
        "longer than 255 bytes"
    } else if id.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(SealError::InvalidField { field, reason })
}

/// The original file name travels in the header; it must be a bare name so that nobody
/// opening the file can be led to write outside their directory.
fn check_file_name(name: &str) -> Result<(), SealError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > MAX_TEXT_LEN {
        "longer than 255 bytes"
    } else if name == "." || name == ".." {
        "is . or .."
    } else if name.contains(['/', '\\']) {
        "contains a path separator"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(SealError::InvalidField {
        field: "file name",
        reason,
    })
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
pub(crate) fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
