//! Remembered content-model matches: the outcome of matching a content model depends only on
//! the model, the context bits and the sequence of child names, and checkup documents repeat
//! the same shapes thousands of times (every `observation`, every `value`). A successful match
//! is stored as the type each child was matched to; the next element of the same model with
//! the same child names takes those types in one table look-up instead of the particle search.
//!
//! Only successes are stored: a child sequence that does not fit is matched again by the
//! particle search, which also explains the mismatch. The table has a fixed number of slots
//! (a newer shape replaces an older one in its slot), so hostile input cannot grow it, and a
//! hit compares the whole key, so a hash collision can only cost a miss.

use crate::model::TypeRef;

/// Slots in the table (a power of two).
const SLOTS: usize = 4096;
/// Child sequences longer than this (in name bytes) are not remembered.
pub(crate) const MAX_KEY_BYTES: usize = 4096;

struct Slot {
    hash: u64,
    model: usize,
    ctx: u8,
    names: Box<[u8]>,
    types: Box<[TypeRef]>,
}

/// The table of remembered matches (one per thread, reused across documents).
#[derive(Default)]
pub(crate) struct Memo {
    slots: Vec<Option<Slot>>,
}

/// A key under construction: the child names, each followed by a NUL (which no XML name
/// contains); names outside the target namespace are written empty, as the matcher sees them.
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

    fn hash(&self, model: usize, ctx: u8) -> u64 {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = (model as u64 ^ u64::from(ctx).rotate_left(56)).wrapping_mul(K);
        let mut chunks = self.names.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        h ^ (h >> 29)
    }
}

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
}

impl Memo {
    /// Takes this thread's table (hand it back with [`Memo::put_back`]).
    pub fn take() -> Memo {
        MEMO.with(|m| std::mem::take(&mut *m.borrow_mut()))
    }

    pub fn put_back(self) {
        MEMO.with(|m| *m.borrow_mut() = self);
    }

    /// The child types remembered for `model` under `ctx` with the child names of `key`.
    #[inline]
    pub fn get(&self, model: usize, ctx: u8, key: &Key) -> Option<&[TypeRef]> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = key.hash(model, ctx);
        match self.slots.get(hash as usize & (SLOTS - 1)) {
            Some(Some(s))
                if s.hash == hash && s.model == model && s.ctx == ctx && *s.names == *key.names =>
            {
                Some(&s.types)
            }
            _ => None,
        }
    }

    pub fn insert(&mut self, model: usize, ctx: u8, key: &Key, types: Box<[TypeRef]>) {
        if key.names.len() > MAX_KEY_BYTES {
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let hash = key.hash(model, ctx);
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
