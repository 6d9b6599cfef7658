//! Remembered outcomes. Checkup documents repeat the same shapes thousands of times (every
//! `observation`, every `value`, the same codes and OIDs), and each outcome depends only on
//! static rules and on what its key holds, so a clean outcome found once is taken again by one
//! table look-up:
//!
//! * content models — key: the model, the context bits and the sequence of child names (as the
//!   matcher sees them); stored: the type each child was matched to;
//! * attribute sets — key: the declaration list, the context bits and the attributes as written
//!   (namespace class, name, value); stored: nothing (the set is valid, and declares no ID);
//! * simple-type values (`ValidValues`) — key: the type, the set and the value.
//!
//! Only clean outcomes are stored: anything that is reported goes through the full check
//! again, which also words the message, so messages, paths and positions cannot change. The
//! tables have a fixed number of slots (a newer entry replaces an older one in its slot), so
//! hostile input cannot grow them, and a hit compares the whole key, so a hash collision can
//! only cost a miss. The keys of content models and attribute sets are hashed and compared
//! piece by piece straight from the tree; they are written out only to be stored (a look-up
//! copies nothing).

use crate::model::TypeRef;
use daiko_format::tree::same_bytes;

/// Slots in the table (a power of two).
const SLOTS: usize = 4096;
/// Keys longer than this are not remembered (bounds a table to a few megabytes; a shape that
/// long is rarely repeated anyway).
pub(crate) const MAX_KEY_BYTES: usize = 1024;

struct Slot {
    hash: u64,
    model: usize,
    ctx: u8,
    names: Box<[u8]>,
    types: Box<[TypeRef]>,
}

/// A table of remembered outcomes (one of each kind per thread, reused across documents).
#[derive(Default)]
pub(crate) struct Memo {
    slots: Vec<Option<Slot>>,
}

/// A key under construction: names (and attribute values), each followed by a NUL (which no
/// XML text contains); child names outside the target namespace are written empty, as the
/// matcher sees them.
#[derive(Default)]
pub(crate) struct Key {
    pub names: Vec<u8>,
}

impl Key {
    pub fn clear(&mut self) {
        self.names.clear();
    }

    #[inline]
    pub fn push(&mut self, name: &str) {
        self.names.extend_from_slice(name.as_bytes());
        self.names.push(0);
    }
}

/// Hashes a key piece by piece, for a key that is never built when it is found (the
/// attribute sets: see [`Memo::get_hashed`]). Any function of the pieces serves: a hit
/// compares the whole stored key.
#[inline]
pub(crate) fn hash_piece(h: u64, piece: &[u8]) -> u64 {
    hash_bytes(h, piece)
}

/// A fast non-cryptographic hash (FxHash-like, eight bytes per step); keys are always
/// compared in full after it.
#[inline]
fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = seed.wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // byte by byte: a variable-length copy would be a memcpy call
        let mut w = 0u64;
        for (i, b) in rest.iter().enumerate() {
            w |= u64::from(*b) << (8 * i);
        }
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// Values already found valid for a simple type: codes, OIDs, units and classes repeat in
/// every record. Only valid values are stored (an invalid one is checked again, which also
/// words the message); values longer than [`VALUE_BYTES`] are not stored. Fixed slots, a
/// newer value replacing an older one in its slot.
#[derive(Default)]
pub(crate) struct ValidValues {
    slots: Vec<ValueSlot>,
}

const VALUE_SLOTS: usize = 4096;
const VALUE_BYTES: usize = 40;

#[derive(Clone, Copy)]
struct ValueSlot {
    /// Address of the simple type, with the low bit set for the 2024 set; 0 = empty slot.
    ty: usize,
    len: u8,
    bytes: [u8; VALUE_BYTES],
}

impl ValidValues {
    #[inline]
    fn slot_of(ty: usize, value: &[u8]) -> usize {
        hash_bytes(ty as u64, value) as usize & (VALUE_SLOTS - 1)
    }

    /// Whether `value` was found valid for the type `ty` (tagged with the set) before.
    #[inline]
    pub fn contains(&self, ty: usize, value: &str) -> bool {
        let v = value.as_bytes();
        if v.len() > VALUE_BYTES || self.slots.is_empty() {
            return false;
        }
        match self.slots.get(Self::slot_of(ty, v)) {
            Some(s) => {
                s.ty == ty
                    && usize::from(s.len) == v.len()
                    && same_bytes(s.bytes.get(..v.len()).unwrap_or(&[]), v)
            }
            None => false,
        }
    }

    pub fn insert(&mut self, ty: usize, value: &str) {
        let v = value.as_bytes();
        if v.len() > VALUE_BYTES {
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize(
                VALUE_SLOTS,
                ValueSlot {
                    ty: 0,
                    len: 0,
                    bytes: [0; VALUE_BYTES],
                },
            );
        }
        let mut bytes = [0u8; VALUE_BYTES];
        if let Some(dst) = bytes.get_mut(..v.len()) {
            dst.copy_from_slice(v);
        }
        if let Some(s) = self.slots.get_mut(Self::slot_of(ty, v)) {
            *s = ValueSlot {
                ty,
                len: v.len() as u8,
                bytes,
            };
        }
    }
}

thread_local! {
    static MEMO: std::cell::RefCell<(Memo, Memo, ValidValues)> = std::cell::RefCell::new(
        (Memo::default(), Memo::default(), ValidValues::default())
    );
}

impl Memo {
    /// Takes this thread's tables (hand them back with [`Memo::put_back`]).
    pub fn take() -> (Memo, Memo, ValidValues) {
        MEMO.with(|m| std::mem::take(&mut *m.borrow_mut()))
    }

    pub fn put_back(tables: (Memo, Memo, ValidValues)) {
        MEMO.with(|m| *m.borrow_mut() = tables);
    }

    /// What is remembered for `model` (a content model or declaration list) under `ctx`
    /// and `hash` (of the key, computed piece by piece with [`hash_piece`]), when
    /// `same_key` takes the stored key as the one looked for (it compares the whole key).
    /// The key itself is built only to be stored ([`Memo::insert_hashed`]).
    #[inline]
    pub fn get_hashed(
        &self,
        hash: u64,
        model: usize,
        ctx: u8,
        same_key: impl FnOnce(&[u8]) -> bool,
    ) -> Option<&[TypeRef]> {
        match self.slots.get(hash as usize & (SLOTS - 1)) {
            Some(Some(s))
                if s.hash == hash && s.model == model && s.ctx == ctx && same_key(&s.names) =>
            {
                Some(&s.types)
            }
            _ => None,
        }
    }

    /// Remembers `types` for `model`, `ctx` and `key`, under the `hash` that
    /// [`Memo::get_hashed`] is then given for the same key.
    pub fn insert_hashed(
        &mut self,
        hash: u64,
        model: usize,
        ctx: u8,
        key: &Key,
        types: Box<[TypeRef]>,
    ) {
        if key.names.len() > MAX_KEY_BYTES {
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        if let Some(slot) = self.slots.get_mut(hash as usize & (SLOTS - 1)) {
            *slot = Some(Slot {
                hash,
                model,
                ctx,
                names: key.names.clone().into_boxed_slice(),
                types,
            });
        }
    }
}
