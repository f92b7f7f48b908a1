//! The repeated-member-name check of the tape reader, apart from the grammar because it is a
//! cost of its own: every object of every body pays it. A small object (most API objects, and
//! every object of a cassette's frame) compares its names pair by pair, lengths first, with
//! nothing hashed or allocated; a larger one puts its names in an open-addressed table by an
//! XXH3 hash of their text, so that the check stays linear however many members it has and only
//! names of the same hash are compared. Names with escapes are compared decoded.

use std::borrow::Cow;

use xxhash_rust::xxh3::xxh3_64;

use super::{Kind, Token};

/// Objects with up to this many members compare their names pair by pair.
const PAIRWISE: usize = 12;

/// Objects with up to this many members build their table on the stack.
const ON_STACK: usize = 64;

/// A slot of the table: a name's hash and its tape index; `EMPTY` when free.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    index: u32,
}

const EMPTY: Slot = Slot {
    hash: 0,
    index: u32::MAX,
};

/// Whether the object at tape index `at` (its members written, `count` > 1) names a member
/// twice. `source` is the document's text.
pub(super) fn repeated(source: &str, tape: &[Token], at: usize) -> bool {
    let count = tape[at].count as usize;
    let names = Names { source, tape };
    if count <= PAIRWISE {
        let mut plain = [(0u32, 0u32); PAIRWISE];
        let mut i = at + 1;
        let mut escaped = false;
        for slot in &mut plain[..count] {
            let token = &tape[i];
            escaped |= token.kind != Kind::String;
            *slot = (token.start, token.end);
            i = tape[i + 1].next as usize;
        }
        if !escaped {
            let text = source.as_bytes();
            let raw = |(start, end): (u32, u32)| &text[start as usize..end as usize];
            let plain = &plain[..count];
            return plain
                .iter()
                .enumerate()
                .any(|(k, &a)| plain[..k].iter().any(|&b| raw(a) == raw(b)));
        }
    }
    let size = (count * 2).next_power_of_two();
    let mut on_stack = [EMPTY; 2 * ON_STACK];
    let mut on_heap = Vec::new();
    let table = if size <= on_stack.len() {
        &mut on_stack[..size]
    } else {
        on_heap.resize(size, EMPTY);
        &mut on_heap[..]
    };
    let mask = size - 1;
    let mut i = at + 1;
    for _ in 0..count {
        let token = &tape[i];
        let hash = match token.kind {
            Kind::String => {
                xxh3_64(&source.as_bytes()[token.start as usize + 1..token.end as usize - 1])
            }
            _ => xxh3_64(names.text(i).as_bytes()),
        };
        let mut probe = hash as usize & mask;
        loop {
            let slot = table[probe];
            if slot.index == EMPTY.index {
                table[probe] = Slot {
                    hash,
                    index: i as u32,
                };
                break;
            }
            if slot.hash == hash && names.same(slot.index as usize, i) {
                return true;
            }
            probe = (probe + 1) & mask;
        }
        i = tape[i + 1].next as usize;
    }
    false
}

/// The member names of a document being read.
struct Names<'t> {
    source: &'t str,
    tape: &'t [Token],
}

impl Names<'_> {
    /// Whether the member name tokens at `a` and `b` read the same.
    fn same(&self, a: usize, b: usize) -> bool {
        let (ta, tb) = (&self.tape[a], &self.tape[b]);
        match (ta.kind, tb.kind) {
            (Kind::String, Kind::String) => self.raw(ta) == self.raw(tb),
            _ => self.text(a) == self.text(b),
        }
    }

    fn raw(&self, token: &Token) -> &str {
        &self.source[token.start as usize..token.end as usize]
    }

    /// The decoded name of the member name token at `i`.
    fn text(&self, i: usize) -> Cow<'_, str> {
        let token = &self.tape[i];
        let raw = self.raw(token);
        match token.kind {
            Kind::String => raw[1..raw.len() - 1].into(),
            _ => serde_json::from_str::<String>(raw)
                .expect("a checked string")
                .into(),
        }
    }
}
