//! Tests that need the crate's insides: small chunk sizes, and files re-signed by the real
//! sender after tampering, which exercise the STREAM layer behind the signature.

use std::io::{Cursor, Read, Seek, SeekFrom};

use super::*;

const SMALL: u32 = MIN_CHUNK_SIZE;

struct Parties {
    alice: OrgKeys,
    bob: OrgKeys,
}

fn parties() -> Parties {
    Parties {
        alice: OrgKeys::generate().unwrap(),
        bob: OrgKeys::generate().unwrap(),
    }
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn seal_small(p: &Parties, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    seal_with_chunk_size(
        plain,
        &mut out,
        "data.zip",
        "alice",
        &p.alice,
        "bob",
        p.bob.public(),
        SMALL,
    )
    .unwrap();
    out
}

fn open_bob(p: &Parties, sealed: &[u8]) -> (Result<OpenSummary, SealError>, Vec<u8>) {
    let mut out = Vec::new();
    let alice = p.alice.public().clone();
    let r = open(Cursor::new(sealed), &mut out, "bob", &p.bob, |id| {
        (id == "alice").then(|| alice.clone())
    });
    (r, out)
}

fn header_len(sealed: &[u8]) -> usize {
    16 + u32::from_be_bytes(sealed[12..16].try_into().unwrap()) as usize
}

/// Replaces the trailer with a fresh signature by `sender` over everything before it, as a
/// dishonest or broken sender would.
fn resign(mut sealed: Vec<u8>, sender: &OrgKeys) -> Vec<u8> {
    sealed.truncate(sealed.len() - SIGNATURE_LEN);
    let d = digest::digest(&SHA256, &sealed);
    let sig = sender.signing().sign_digest(&d).unwrap();
    sealed.extend_from_slice(sig.as_ref());
    sealed
}

/// Splits a sealed file into header, chunks and signature.
fn split(sealed: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let h = header_len(sealed);
    let body = &sealed[h..sealed.len() - SIGNATURE_LEN];
    let full = SMALL as usize + TAG_LEN;
    (
        sealed[..h].to_vec(),
        body.chunks(full).map(<[u8]>::to_vec).collect(),
    )
}

fn join(header: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut v = header.to_vec();
    for c in chunks {
        v.extend_from_slice(c);
    }
    v.extend_from_slice(&[0u8; SIGNATURE_LEN]);
    v
}

#[test]
fn small_chunks_round_trip_at_boundaries() {
    let p = parties();
    for len in [0, 1, 1023, 1024, 1025, 2048, 5000] {
        let plain = plaintext(len);
        let sealed = seal_small(&p, &plain);
        let (r, out) = open_bob(&p, &sealed);
        let s = r.unwrap();
        assert_eq!(out, plain, "length {len}");
        assert_eq!(s.bytes, len as u64);
        let (_, chunks) = split(&sealed);
        assert_eq!(chunks.len(), len.div_ceil(1024).max(1), "length {len}");
    }
}

#[test]
fn reordered_chunks_signed_again_fail_authentication() {
    let p = parties();
    let sealed = seal_small(&p, &plaintext(3000));
    let (h, mut chunks) = split(&sealed);
    chunks.swap(0, 1);
    let forged = resign(join(&h, &chunks), &p.alice);
    let (r, _) = open_bob(&p, &forged);
    assert!(
        matches!(r, Err(SealError::Tampered(Damage::Chunk(0)))),
        "{r:?}"
    );
}

#[test]
fn dropped_last_chunk_signed_again_fails_on_the_last_flag() {
    let p = parties();
    let sealed = seal_small(&p, &plaintext(3000));
    let (h, mut chunks) = split(&sealed);
    assert_eq!(chunks.len(), 3);
    chunks.pop();
    let forged = resign(join(&h, &chunks), &p.alice);
    let (r, _) = open_bob(&p, &forged);
    assert!(
        matches!(r, Err(SealError::Tampered(Damage::Chunk(1)))),
        "{r:?}"
    );
}

#[test]
fn repeated_chunk_signed_again_fails() {
    let p = parties();
    let sealed = seal_small(&p, &plaintext(2048));
    let (h, mut chunks) = split(&sealed);
    let first = chunks[0].clone();
    chunks.insert(1, first);
    let forged = resign(join(&h, &chunks), &p.alice);
    let (r, _) = open_bob(&p, &forged);
    assert!(
        matches!(r, Err(SealError::Tampered(Damage::Chunk(1)))),
        "{r:?}"
    );
}

#[test]
fn changed_file_name_signed_again_fails_because_header_is_aad() {
    let p = parties();
    let sealed = seal_small(&p, &plaintext(100));
    let pos = sealed.windows(8).position(|w| w == b"data.zip").unwrap();
    let mut forged = sealed.clone();
    forged[pos] = b'e';
    let forged = resign(forged, &p.alice);
    assert_eq!(inspect(&forged[..]).unwrap().file_name, "eata.zip");
    let (r, out) = open_bob(&p, &forged);
    assert!(
        matches!(r, Err(SealError::Tampered(Damage::Chunk(0)))),
        "{r:?}"
    );
    assert!(out.is_empty());
}

#[test]
fn open_to_path_leaves_nothing_when_a_later_chunk_fails() {
    let p = parties();
    let sealed = seal_small(&p, &plaintext(5000));
    let (h, mut chunks) = split(&sealed);
    chunks.pop();
    let forged = resign(join(&h, &chunks), &p.alice);
    // Plain `open` has already written the good leading chunks when it fails ...
    let (r, out) = open_bob(&p, &forged);
    assert!(r.is_err());
    assert!(!out.is_empty());
    // ... which is why open_to_path writes to a temporary file and removes it.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.sealed");
    std::fs::write(&src, &forged).unwrap();
    let dest = dir.path().join("out.zip");
    let alice = p.alice.public().clone();
    let r = open_to_path(&src, &dest, "bob", &p.bob, |_| Some(alice.clone()));
    assert!(matches!(r, Err(SealError::Tampered(_))), "{r:?}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("in.sealed")]);
}

/// Serves `first` until the second seek to an absolute position (the start of pass two),
/// then `second`: a medium whose content changes between the passes.
struct Shifty {
    first: Vec<u8>,
    second: Vec<u8>,
    pos: u64,
    absolute_seeks: u32,
}

impl Shifty {
    fn data(&self) -> &[u8] {
        if self.absolute_seeks >= 2 {
            &self.second
        } else {
            &self.first
        }
    }
}

impl Read for Shifty {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let data = self.data();
        let start = (self.pos as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Shifty {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => {
                self.absolute_seeks += 1;
                p
            }
            SeekFrom::End(d) => (self.data().len() as i64 + d) as u64,
            SeekFrom::Current(d) => (self.pos as i64 + d) as u64,
        };
        Ok(self.pos)
    }
}

#[test]
fn input_changing_between_passes_is_refused() {
    let p = parties();
    let sealed = seal_small(&p, &plaintext(3000));
    let mut shorter = sealed.clone();
    shorter.truncate(sealed.len() - 200);
    let input = Shifty {
        first: sealed.clone(),
        second: shorter,
        pos: 0,
        absolute_seeks: 0,
    };
    let alice = p.alice.public().clone();
    let mut out = Vec::new();
    let r = open(input, &mut out, "bob", &p.bob, |_| Some(alice.clone()));
    assert!(
        matches!(r, Err(SealError::Tampered(Damage::Changed))),
        "{r:?}"
    );

    // Control: the same reader with unchanged content opens.
    let input = Shifty {
        first: sealed.clone(),
        second: sealed,
        pos: 0,
        absolute_seeks: 0,
    };
    let mut out = Vec::new();
    let r = open(input, &mut out, "bob", &p.bob, |_| Some(alice.clone()));
    assert_eq!(r.unwrap().bytes, 3000);
}

#[test]
fn header_rules() {
    let p = parties();
    for name in ["", ".", "..", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
        let r = seal(
            &b"x"[..],
            Vec::new(),
            name,
            "alice",
            &p.alice,
            "bob",
            p.bob.public(),
        );
        assert!(
            matches!(
                r,
                Err(SealError::InvalidField {
                    field: "file name",
                    ..
                })
            ),
            "{name:?}: {r:?}"
        );
    }
    let r = seal(
        &b"x"[..],
        Vec::new(),
        "a.zip",
        "",
        &p.alice,
        "bob",
        p.bob.public(),
    );
    assert!(matches!(r, Err(SealError::InvalidField { .. })));
    // Japanese ids and names are fine.
    let mut out = Vec::new();
    seal(
        &b"x"[..],
        &mut out,
        "受付票.zip",
        "保険者12345678",
        &p.alice,
        "bob",
        p.bob.public(),
    )
    .unwrap();
    let info = inspect(&out[..]).unwrap();
    assert_eq!(info.sender_id, "保険者12345678");
    assert_eq!(info.file_name, "受付票.zip");
    assert_eq!(info.recipient_fingerprint, p.bob.public().fingerprint());
    assert_eq!(info.chunk_size, CHUNK_SIZE);
}
