//! S19/S20 through the public API: seal → open round trips, and every way a file, a key or a
//! recipient can be wrong is refused without releasing plaintext.

use std::io::Cursor;

use daiko_seal::{
    CHUNK_SIZE, Damage, OrgKeys, PublicKeys, SIGNATURE_LEN, SealError, TAG_LEN, inspect, open,
    open_to_path, seal, sniff,
};

const AGENCY: &str = "daiko-agency";
const INSURER: &str = "12345678";

struct World {
    agency: OrgKeys,
    insurer: OrgKeys,
}

fn world() -> World {
    World {
        agency: OrgKeys::generate().unwrap(),
        insurer: OrgKeys::generate().unwrap(),
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The agency seals for the insurer.
fn seal_for_insurer(w: &World, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let s = seal(
        plain,
        &mut out,
        "result.zip",
        AGENCY,
        &w.agency,
        INSURER,
        w.insurer.public(),
    )
    .unwrap();
    assert_eq!(s.plaintext_bytes, plain.len() as u64);
    assert_eq!(s.sealed_bytes, out.len() as u64);
    assert_eq!(s.recipient_fingerprint, w.insurer.public().fingerprint());
    out
}

/// The insurer opens, knowing only the agency's public keys.
fn open_as_insurer(
    w: &World,
    sealed: &[u8],
) -> (Result<daiko_seal::OpenSummary, SealError>, Vec<u8>) {
    let agency = w.agency.public().clone();
    let mut out = Vec::new();
    let r = open(Cursor::new(sealed), &mut out, INSURER, &w.insurer, |id| {
        (id == AGENCY).then(|| agency.clone())
    });
    (r, out)
}

fn header_len(sealed: &[u8]) -> usize {
    16 + u32::from_be_bytes(sealed[12..16].try_into().unwrap()) as usize
}

#[test]
fn round_trips_at_every_size_class() {
    let w = world();
    let cs = CHUNK_SIZE as usize;
    let mut rng = Rng(0x5eed);
    for len in [0, 1, cs - 1, cs, cs + 1, 3 * cs, 3 * 1024 * 1024 + 17] {
        let plain = rng.bytes(len);
        let sealed = seal_for_insurer(&w, &plain);
        assert!(sniff(&sealed));
        // Plaintext does not appear in the sealed bytes.
        if len >= 64 {
            assert!(!sealed.windows(64).any(|win| win == &plain[..64]));
        }
        let (r, out) = open_as_insurer(&w, &sealed);
        let s = r.unwrap_or_else(|e| panic!("length {len}: {e}"));
        assert_eq!(out, plain, "length {len}");
        assert_eq!(s.bytes, len as u64);
        assert_eq!(s.sender_id, AGENCY);
        assert_eq!(s.file_name, "result.zip");
        let chunks = len.div_ceil(cs).max(1);
        assert_eq!(
            sealed.len(),
            header_len(&sealed) + len + chunks * TAG_LEN + SIGNATURE_LEN,
            "length {len}: exactly {chunks} chunk(s)"
        );
    }
}

#[test]
fn sealing_twice_gives_unrelated_bytes() {
    let w = world();
    let a = seal_for_insurer(&w, b"same input");
    let b = seal_for_insurer(&w, b"same input");
    assert_ne!(a, b);
}

#[test]
fn a_flipped_bit_anywhere_is_refused_without_plaintext() {
    let w = world();
    let plain = Rng(7).bytes(2 * CHUNK_SIZE as usize + 1000);
    let sealed = seal_for_insurer(&w, &plain);
    let h = header_len(&sealed);
    let mut positions: Vec<usize> = (0..h).collect(); // every header byte
    let chunk = CHUNK_SIZE as usize + TAG_LEN;
    for k in 0..3 {
        positions.extend([h + k * chunk, h + k * chunk + 1]); // chunk starts
        positions.push((h + (k + 1) * chunk - 1).min(sealed.len() - SIGNATURE_LEN - 1)); // tags
    }
    positions.extend(sealed.len() - SIGNATURE_LEN..sealed.len()); // the signature
    let mut rng = Rng(42);
    positions.extend((0..150).map(|_| rng.next() as usize % sealed.len()));
    for pos in positions {
        let mut bad = sealed.clone();
        bad[pos] ^= 1 << (rng.next() % 8);
        let (r, out) = open_as_insurer(&w, &bad);
        assert!(r.is_err(), "flip at {pos} was accepted");
        assert!(out.is_empty(), "flip at {pos} released plaintext: {r:?}");
    }
}

#[test]
fn flipped_chunk_or_signature_is_a_bad_signature() {
    let w = world();
    let sealed = seal_for_insurer(&w, &Rng(3).bytes(10_000));
    for pos in [header_len(&sealed) + 5, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[pos] ^= 0x80;
        let (r, _) = open_as_insurer(&w, &bad);
        assert!(
            matches!(&r, Err(SealError::BadSignature { sender }) if sender == AGENCY),
            "{r:?}"
        );
    }
}

#[test]
fn truncated_or_extended_files_are_refused() {
    let w = world();
    let cs = CHUNK_SIZE as usize;
    let sealed = seal_for_insurer(&w, &Rng(9).bytes(3 * cs + 10));
    let h = header_len(&sealed);
    let chunk = cs + TAG_LEN;
    // Drop the last chunk (keep the signature at the end).
    let mut dropped = sealed[..h + 3 * chunk].to_vec();
    dropped.extend_from_slice(&sealed[sealed.len() - SIGNATURE_LEN..]);
    // Cut in the middle, cut the signature, cut to the header, append bytes.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("last chunk dropped", dropped),
        ("cut mid-chunk", sealed[..h + chunk + 100].to_vec()),
        ("signature cut", sealed[..sealed.len() - 1].to_vec()),
        ("header only", sealed[..h].to_vec()),
        ("half a header", sealed[..h / 2].to_vec()),
        ("trailing byte", [&sealed[..], &[0]].concat()),
        (
            "trailing chunk",
            [&sealed[..], &sealed[h..h + chunk]].concat(),
        ),
    ];
    for (what, bad) in cases {
        let (r, out) = open_as_insurer(&w, &bad);
        assert!(
            matches!(
                r,
                Err(SealError::BadSignature { .. } | SealError::Tampered(_))
            ),
            "{what}: {r:?}"
        );
        assert!(out.is_empty(), "{what}");
    }
    let (r, _) = open_as_insurer(&w, &sealed[..h + 40]);
    assert!(
        matches!(r, Err(SealError::Tampered(Damage::Layout))),
        "{r:?}"
    );
}

#[test]
fn reordered_chunks_are_refused() {
    let w = world();
    let cs = CHUNK_SIZE as usize;
    let sealed = seal_for_insurer(&w, &Rng(11).bytes(3 * cs + 10));
    let h = header_len(&sealed);
    let chunk = cs + TAG_LEN;
    let mut bad = sealed[..h].to_vec();
    bad.extend_from_slice(&sealed[h + chunk..h + 2 * chunk]);
    bad.extend_from_slice(&sealed[h..h + chunk]);
    bad.extend_from_slice(&sealed[h + 2 * chunk..]);
    assert_eq!(bad.len(), sealed.len());
    let (r, out) = open_as_insurer(&w, &bad);
    assert!(matches!(r, Err(SealError::BadSignature { .. })), "{r:?}");
    assert!(out.is_empty());
}

#[test]
fn wrong_recipient_id_is_named() {
    let w = world();
    let sealed = seal_for_insurer(&w, b"x");
    let agency = w.agency.public().clone();
    let r = open(
        Cursor::new(&sealed),
        Vec::new(),
        "87654321",
        &w.insurer,
        |_| Some(agency.clone()),
    );
    match r {
        Err(e @ SealError::WrongRecipient { .. }) => {
            let SealError::WrongRecipient { expected, found } = &e else {
                unreachable!()
            };
            assert_eq!(expected, "87654321");
            assert_eq!(found, INSURER);
            assert!(e.to_string().contains("12345678"));
            assert!(e.message_ja().contains("宛先が違います"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_organisations_keys_cannot_open() {
    let w = world();
    let sealed = seal_for_insurer(&w, b"confidential");
    let other = OrgKeys::generate().unwrap();
    let agency = w.agency.public().clone();
    let mut out = Vec::new();
    // Same id, different keys (a stolen file tried with other keys, or a rotated key).
    let r = open(Cursor::new(&sealed), &mut out, INSURER, &other, |_| {
        Some(agency.clone())
    });
    match &r {
        Err(SealError::WrongRecipientKey {
            expected, found, ..
        }) => {
            assert_eq!(expected, &other.public().fingerprint().to_string());
            assert_eq!(found, &w.insurer.public().fingerprint().to_string());
        }
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty());
    // The sender itself cannot open what it sealed for someone else.
    let r = open(Cursor::new(&sealed), Vec::new(), INSURER, &w.agency, |_| {
        Some(w.agency.public().clone())
    });
    assert!(
        matches!(r, Err(SealError::WrongRecipientKey { .. })),
        "{r:?}"
    );
}

#[test]
fn unknown_sender_is_refused() {
    let w = world();
    let sealed = seal_for_insurer(&w, b"x");
    let mut out = Vec::new();
    let r = open(Cursor::new(&sealed), &mut out, INSURER, &w.insurer, |_| {
        None
    });
    assert!(
        matches!(&r, Err(SealError::UnknownSender { sender }) if sender == AGENCY),
        "{r:?}"
    );
    assert!(out.is_empty());
}

#[test]
fn a_sender_key_that_does_not_match_is_a_bad_signature() {
    let w = world();
    let sealed = seal_for_insurer(&w, &Rng(5).bytes(1000));
    let impostor = OrgKeys::generate().unwrap();
    let mut out = Vec::new();
    let r = open(Cursor::new(&sealed), &mut out, INSURER, &w.insurer, |_| {
        Some(impostor.public().clone())
    });
    assert!(matches!(r, Err(SealError::BadSignature { .. })), "{r:?}");
    assert!(out.is_empty());

    // A file sealed by the impostor but claiming to be from the agency is refused too.
    let mut forged = Vec::new();
    seal(
        &b"pay here"[..],
        &mut forged,
        "result.zip",
        AGENCY,
        &impostor,
        INSURER,
        w.insurer.public(),
    )
    .unwrap();
    let (r, out) = open_as_insurer(&w, &forged);
    assert!(matches!(r, Err(SealError::BadSignature { .. })), "{r:?}");
    assert!(out.is_empty());
}

#[test]
fn not_a_sealed_file() {
    let w = world();
    for input in [&b""[..], b"PK\x03\x04rest of a zip", b"DAIKO-SEAL-"] {
        assert!(!sniff(input));
        let (r, _) = open_as_insurer(&w, input);
        assert!(matches!(r, Err(SealError::NotASealedFile)), "{r:?}");
        assert!(r.unwrap_err().message_ja().contains("DAIKO-SEAL-1"));
    }
    assert!(matches!(
        inspect(&b"hello"[..]),
        Err(SealError::NotASealedFile)
    ));
}

#[test]
fn public_keys_text_round_trip_and_rejects_garbage() {
    let k = OrgKeys::generate().unwrap();
    let text = k.public().to_text();
    assert!(text.starts_with("daiko-pub-v1:"));
    let parsed = PublicKeys::parse(&format!("  {text}\n")).unwrap();
    assert_eq!(&parsed, k.public());
    assert_eq!(parsed.fingerprint(), k.public().fingerprint());
    assert_eq!(parsed.fingerprint().to_string().len(), 32);
    assert_ne!(
        parsed.fingerprint(),
        OrgKeys::generate().unwrap().public().fingerprint()
    );
    // A point not on the curve.
    let mut off_curve = k.public().agreement.clone();
    off_curve[64] ^= 1;
    let bad = format!(
        "daiko-pub-v1:{}:{}",
        hex::encode(&off_curve),
        hex::encode(&k.public().verify)
    );
    assert!(matches!(
        PublicKeys::parse(&bad),
        Err(SealError::InvalidPublicKeys(_))
    ));
    for garbage in [
        "",
        "daiko-pub-v1:",
        "daiko-pub-v1:zz:zz",
        "daiko-pub-v2:00:00",
    ] {
        assert!(PublicKeys::parse(garbage).is_err(), "{garbage:?}");
    }
}

#[cfg(unix)]
#[test]
fn key_file_round_trip_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("insurer.keys");
    let w = world();
    w.insurer.to_file(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("daiko-org-keys-v1\n"));
    // Refuses to overwrite existing keys.
    assert!(matches!(
        w.insurer.to_file(&path),
        Err(SealError::KeyFile { .. })
    ));

    let loaded = OrgKeys::from_file(&path).unwrap();
    assert_eq!(loaded.public(), w.insurer.public());
    // The loaded keys really work: open a file sealed before saving.
    let sealed = seal_for_insurer(&w, b"kept across restarts");
    let agency = w.agency.public().clone();
    let mut out = Vec::new();
    open(Cursor::new(&sealed), &mut out, INSURER, &loaded, |_| {
        Some(agency.clone())
    })
    .unwrap();
    assert_eq!(out, b"kept across restarts");
    // And sign: the loaded signing key is the same.
    let mut back = Vec::new();
    seal(
        &b"reply"[..],
        &mut back,
        "r.txt",
        INSURER,
        &loaded,
        AGENCY,
        w.agency.public(),
    )
    .unwrap();
    let insurer_pub = w.insurer.public().clone();
    let mut reply = Vec::new();
    open(Cursor::new(&back), &mut reply, AGENCY, &w.agency, |_| {
        Some(insurer_pub.clone())
    })
    .unwrap();
    assert_eq!(reply, b"reply");
    // Debug never shows private material.
    let dbg = format!("{loaded:?}");
    let secret = text.lines().nth(3).unwrap().split_once(' ').unwrap().1;
    assert!(dbg.contains(&w.insurer.public().fingerprint().to_string()));
    assert!(!dbg.contains(&secret[20..60]), "{dbg}");
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agency.keys");
    OrgKeys::generate().unwrap().to_file(&path).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        match OrgKeys::from_file(&path) {
            Err(e @ SealError::KeyFileTooOpen { .. }) => {
                assert!(e.to_string().contains("agency.keys"), "{e}");
                assert!(e.to_string().contains(&format!("{mode:o}")), "{e}");
                assert!(e.message_ja().contains("chmod 600"));
            }
            other => panic!("mode {mode:o}: {other:?}"),
        }
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    OrgKeys::from_file(&path).unwrap();
}

#[cfg(unix)]
#[test]
fn damaged_key_files_are_refused_with_the_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.keys");
    for text in [
        "",
        "daiko-org-keys-v1\n",
        "daiko-org-keys-v1\nagreement-pkcs8 00\nsigning-pkcs8 00\n",
        "something else\n",
    ] {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        match OrgKeys::from_file(&path) {
            Err(e @ SealError::KeyFile { .. }) => assert!(e.to_string().contains("bad.keys")),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn open_to_path_writes_the_file_on_success_only() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.sealed");
    let plain = Rng(13).bytes(200_000);
    std::fs::write(&src, seal_for_insurer(&w, &plain)).unwrap();
    let dest = dir.path().join("result.zip");
    let agency = w.agency.public().clone();
    let s = open_to_path(&src, &dest, INSURER, &w.insurer, |_| Some(agency.clone())).unwrap();
    assert_eq!(s.bytes, plain.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), plain);

    let dest2 = dir.path().join("never.zip");
    let r = open_to_path(&src, &dest2, INSURER, &w.insurer, |_| None);
    assert!(matches!(r, Err(SealError::UnknownSender { .. })));
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["in.sealed", "result.zip"]);
}
