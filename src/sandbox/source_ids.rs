//! The id flowc gives each distinct source text, so that a call names its source by
//! a number and the text crosses the pipe once per worker (see [`super::protocol`]).
//!
//! Ids are handed out by a counter and never reused: a text forgotten here (the
//! table is bounded) gets a new id when it comes back, so an id a worker still holds
//! always means the text it was sent with. Looking a source up hashes it with
//! [`WordHasher`] rather than the standard SipHash: a code node is a few kilobytes,
//! looked up once per call, and the table's keys are flowc's own plan and
//! candidates, not input from the network, so resistance to crafted collisions buys
//! nothing here (and a collision would only cost a comparison: keys are compared in
//! full).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many texts are kept before the table is emptied. Far above a plan's handful
/// of sources, so a served plan never loses its ids; an optimiser trying candidate
/// after candidate only costs a cleared table now and then.
pub const CAPACITY: usize = 1024;

/// A source and its id, shared by the calls that run it.
#[derive(Debug, Clone)]
pub struct IdentifiedSource {
    pub id: u64,
    pub text: Arc<str>,
}

#[derive(Default)]
pub struct SourceIds {
    by_text: Mutex<HashMap<Arc<str>, u64, BuildHasherDefault<WordHasher>>>,
    next_id: AtomicU64,
}

impl SourceIds {
    /// The id of `text`, given now if the text is new (or was forgotten).
    pub fn identify(&self, text: &str) -> IdentifiedSource {
        // A poisoned lock only means another caller panicked mid-lookup; the map is
        // still a valid map, so it is used as it is.
        let mut by_text = self.by_text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((known, id)) = by_text.get_key_value(text) {
            return IdentifiedSource {
                id: *id,
                text: Arc::clone(known),
            };
        }
        if by_text.len() >= CAPACITY {
            by_text.clear();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text: Arc<str> = Arc::from(text);
        by_text.insert(Arc::clone(&text), id);
        IdentifiedSource { id, text }
    }
}

/// Eight bytes per step, one rotate, xor and multiply each (the scheme of rustc's
/// `FxHasher`): about ten times quicker than SipHash on kilobyte keys, which matters
/// when every call hashes its source.
#[derive(Default)]
pub struct WordHasher {
    state: u64,
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            self.add(u64::from_le_bytes(eight));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut eight = [0u8; 8];
            eight[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(eight) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_keeps_its_id_and_another_text_gets_another() {
        let ids = SourceIds::default();
        let first = ids.identify("def run():\n    return 1\n");
        let again = ids.identify(&String::from("def run():\n    return 1\n"));
        let other = ids.identify("def run():\n    return 2\n");
        assert_eq!(first.id, again.id);
        assert_ne!(first.id, other.id);
        assert_eq!(&*other.text, "def run():\n    return 2\n");
    }

    #[test]
    fn a_forgotten_text_comes_back_under_a_new_id_never_an_old_one() {
        let ids = SourceIds::default();
        let first = ids.identify("source 0");
        let mut seen = std::collections::HashSet::new();
        seen.insert(first.id);
        for n in 1..=CAPACITY {
            assert!(seen.insert(ids.identify(&format!("source {n}")).id), "an id was handed out twice");
        }
        // The table was emptied on the way: "source 0" is new again, with a fresh id.
        let back = ids.identify("source 0");
        assert!(seen.insert(back.id), "a forgotten text got an id already used");
        assert!(ids.by_text.lock().unwrap().len() <= CAPACITY);
    }

    #[test]
    fn the_word_hasher_tells_near_texts_apart() {
        let hash = |text: &str| {
            let mut hasher = WordHasher::default();
            std::hash::Hash::hash(text, &mut hasher);
            hasher.finish()
        };
        let base = "def run(x):\n    return x * 0.5\n".repeat(40);
        let edited = base.replacen("0.5", "0.7", 1);
        assert_ne!(hash(&base), hash(&edited));
        assert_ne!(hash("a"), hash("a\0"));
        assert_eq!(hash(&base), hash(&base.clone()));
    }
}
