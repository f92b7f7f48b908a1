//! How a request finds its recorded answer (DESIGN.md, "Replay"). Two requests match when their
//! canonical forms are equal (`form.rs`): method; path, percent-decoded segment by segment (an
//! encoded `/` stays distinct from a real one); query as a multiset of pairs; body as a JSON
//! value (key order and white space ignored), as a HuJSON value on operations that take HuJSON,
//! as a multiset of pairs for a form body, byte for byte otherwise; and the headers the
//! operation table lists under `vary` (`accept`, `if-match` on the policy file). The
//! authorization value is never compared, nor the values of secret fields (`client_secret`,
//! `key`, `apiKey`, ...; see `redact/fields.rs`): cassettes hold them redacted. The form applies
//! the contract's equivalences (named in `equivalence.rs`; where the schemas say they apply in
//! `shapes.rs`; paths in `path.rs`): date-times as instants, absent ≡ `null` ≡ the documented
//! default, the tailnet's own name ≡ `-`, path aliases, OAuth credentials in Basic auth; so two
//! requests that mean the same have the same form.
//!
//! Identical recorded requests form one sequence, answered in recorded order. Lookup is one
//! hash probe, whatever the cassette's size: a request is kept as the XXH3-128 of its form and a
//! rendering for diffs, not whole. A request without `Accept` that matches nothing gets a second
//! probe, among the recordings as if they had sent no `Accept` either (RFC 9110: no `Accept`
//! accepts any media type). A [`Match`] says which equivalences it used. When nothing matches,
//! [`Matcher::nearest`] names the closest recorded request (`nearest.rs`) and shows a unified
//! diff of the two. A body over [`BODY_SHOWN`] bytes is rendered as a [`summary`] (length,
//! SHA-256, first bytes), so that neither memory nor the diff's time grows with a large body.

mod equivalence;
mod form;
mod nearest;
mod path;
mod shapes;

use std::collections::HashMap;

use similar::TextDiff;

pub use equivalence::Equivalence;
pub use shapes::DOCUMENTED_DEFAULTS;

use crate::cassette::{Request, Response};
use crate::routes::{Lookup, Operation, OperationTable};
use crate::schema::Contract;
use equivalence::Notes;
use form::{ACCEPT, Canon, Form};
use shapes::Shapes;

/// Bodies whose rendering is longer than this (in bytes) are shown by a [`summary`] instead.
pub const BODY_SHOWN: usize = 4096;

/// How many first bytes of a body a [`summary`] shows.
const SUMMARY_HEAD: usize = 64;

/// A body shown by its length, SHA-256 and first bytes: two summaries differ exactly when the
/// bodies do, and the first bytes say what it was.
pub fn summary(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut head = &bytes[..bytes.len().min(SUMMARY_HEAD)];
    // Cut at a character boundary when the body is text.
    while std::str::from_utf8(head).is_err_and(|e| e.error_len().is_none()) && !head.is_empty() {
        head = &head[..head.len() - 1];
    }
    format!(
        "<body of {} bytes, sha256 {}, begins {:?}>",
        bytes.len(),
        hex(digest.as_ref()),
        String::from_utf8_lossy(head)
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The XXH3-128 of a request's form: what lookup compares. A non-cryptographic hash is enough:
/// recorded requests are not chosen to collide, and 128 bits make an accidental collision
/// among millions of them vanishingly unlikely.
type Fingerprint = u128;

/// For tables keyed by hashes (fingerprints), taken as they are (their low 64 bits), or by
/// indices, spread by one multiplication: neither needs SipHash's resistance to chosen keys.
#[derive(Default)]
pub struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only the integer writes below are used; other input is folded in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// A table keyed by hashes or indices (see [`Prehashed`]).
pub type Cheap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Prehashed>>;

type ByFingerprint = Cheap<Fingerprint, usize>;

/// Bytes of memory a hash table's buckets take (entries and control bytes), as hashbrown lays
/// them out: a lower bound on what the allocator gives it.
pub fn map_bytes<K, V, S>(map: &HashMap<K, V, S>) -> usize {
    let capacity = map.capacity();
    let buckets = match capacity {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        n => (n * 8 / 7).next_power_of_two(),
    };
    buckets * (std::mem::size_of::<(K, V)>() + 1)
}

/// Indices of recorded requests that go together, held inline while there is one (most
/// groups, in a large cassette of distinct requests).
#[derive(Debug, Clone)]
pub enum Group<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy> Group<T> {
    pub fn push(&mut self, next: T) {
        match self {
            Group::One(first) => *self = Group::Many(vec![*first, next]),
            Group::Many(all) => all.push(next),
        }
    }

    pub fn as_slice(&self) -> &[T] {
        match self {
            Group::One(one) => std::slice::from_ref(one),
            Group::Many(all) => all,
        }
    }

    /// Bytes of memory it takes besides itself.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Group::One(_) => 0,
            Group::Many(all) => all.capacity() * std::mem::size_of::<T>(),
        }
    }
}

/// The recorded requests rendered for diffs, one after the other in one string (a string each
/// would cost its own allocation and three words).
#[derive(Debug, Default)]
pub struct Renderings {
    text: String,
    /// Where each ends in `text`.
    ends: Vec<usize>,
}

impl Renderings {
    fn push(&mut self, rendered: &str) {
        self.text.push_str(rendered);
        self.ends.push(self.text.len());
    }

    pub fn get(&self, index: usize) -> &str {
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start..self.ends[index]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn heap_bytes(&self) -> usize {
        self.text.len() + self.ends.len() * std::mem::size_of::<usize>()
    }
}

/// The recorded requests, indexed for lookup.
pub struct Matcher {
    canon: Canon,
    /// Fingerprint -> sequence number.
    by_fingerprint: ByFingerprint,
    /// Fingerprint with no `accept` value -> sequence number (the first recorded), for requests
    /// without `Accept`.
    by_any_accept: ByFingerprint,
    /// Each sequence: indices of identical recorded requests, in recorded order.
    sequences: Vec<Group<usize>>,
    /// Each recorded request rendered for diffs.
    rendered: Renderings,
    /// What the equivalences rewrote in each recorded request, for those where they did.
    notes: Cheap<usize, Notes>,
    nearest: nearest::Index,
}

/// A request that matched a sequence of recorded requests.
#[derive(Clone)]
pub struct Match {
    pub sequence: usize,
    notes: Notes,
    /// Found only by the second probe, as a request without `Accept`.
    any_accept: bool,
}

/// The closest recorded request to one that matched nothing.
pub struct Nearest {
    /// Index of the recorded request.
    pub index: usize,
    /// Unified diff from the recorded request to the received one.
    pub diff: String,
}

impl Matcher {
    pub fn new<'r>(contract: &Contract, requests: impl IntoIterator<Item = &'r Request>) -> Self {
        let mut matcher = Matcher::empty(contract);
        for request in requests {
            matcher.add(contract.table(), request);
        }
        matcher
    }

    /// A matcher with no recorded request yet; see [`Matcher::add`].
    pub fn empty(contract: &Contract) -> Self {
        Matcher {
            canon: Canon {
                shapes: Shapes::new(contract),
                tailnets: Default::default(),
            },
            by_fingerprint: ByFingerprint::default(),
            by_any_accept: ByFingerprint::default(),
            sequences: Vec::new(),
            rendered: Renderings::default(),
            notes: Cheap::default(),
            nearest: nearest::Index::default(),
        }
    }

    /// Learns the tailnet's own name from a recorded exchange, if it shows it; call it before
    /// [`Matcher::add`] of the same request.
    pub fn learn(&mut self, table: &OperationTable, request: &Request, response: &Response) {
        self.canon.tailnets.learn(table, request, response);
    }

    /// Takes `name` as the recorded tailnet's own, the same as `-` (a cassette's
    /// `recorded.tailnet`).
    pub fn own_tailnet(&mut self, name: &str) {
        self.canon.tailnets.insert(name);
    }

    /// Adds the next recorded request (its index is the number added before it). Only its
    /// fingerprint's hash and its rendering are kept, so the caller can drop the request.
    pub fn add(&mut self, table: &OperationTable, request: &Request) {
        let index = self.rendered.len();
        let operation = operation_of(table, request);
        let (form, notes) = Form::of(&self.canon, operation, request);
        let next = self.sequences.len();
        let sequence = *self
            .by_fingerprint
            .entry(form.fingerprint())
            .or_insert(next);
        if sequence == next {
            self.sequences.push(Group::One(index));
        } else {
            self.sequences[sequence].push(index);
        }
        if let Some(any) = form.without_accept() {
            self.by_any_accept
                .entry(any.fingerprint())
                .or_insert(sequence);
        }
        self.nearest.add(index, operation, &form);
        self.rendered.push(&form.render());
        if notes != Notes::default() {
            self.notes.insert(index, notes);
        }
    }

    /// Bytes of memory the index over the recorded requests takes at least: its tables'
    /// buckets, the groups, the renderings and the notes (long arrays by their length: their
    /// spare capacity is mostly never touched, so not resident; the allocator's own overhead
    /// comes on top). The schemas' shapes, fixed by the contract, are not counted.
    pub fn heap_bytes(&self) -> usize {
        map_bytes(&self.by_fingerprint)
            + map_bytes(&self.by_any_accept)
            + self.sequences.len() * std::mem::size_of::<Group<usize>>()
            + self.sequences.iter().map(Group::heap_bytes).sum::<usize>()
            + self.rendered.heap_bytes()
            + map_bytes(&self.notes)
            + self.nearest.heap_bytes()
    }

    /// The sequence of recorded requests identical to `request`, if any. With nothing recorded (a
    /// new recording) the request is not even looked up.
    pub fn find(&self, table: &OperationTable, request: &Request) -> Option<usize> {
        if self.sequences.is_empty() {
            return None;
        }
        self.find_for(operation_of(table, request), request)
    }

    /// [`Matcher::find`] for a request whose operation was already looked up.
    pub fn find_for(&self, operation: Option<&Operation>, request: &Request) -> Option<usize> {
        self.find_match(operation, request).map(|m| m.sequence)
    }

    /// The sequence `request` matches and how: one probe, and a second among the recordings
    /// as if without `Accept` when the request has none.
    pub fn find_match(&self, operation: Option<&Operation>, request: &Request) -> Option<Match> {
        let (form, notes) = Form::of(&self.canon, operation, request);
        let fingerprint = form.fingerprint();
        if let Some(&sequence) = self.by_fingerprint.get(&fingerprint) {
            return Some(Match {
                sequence,
                notes,
                any_accept: false,
            });
        }
        let sends_no_accept = form
            .headers
            .iter()
            .any(|(name, value)| name == ACCEPT && value.is_empty());
        if !sends_no_accept {
            return None;
        }
        let sequence = *self.by_any_accept.get(&fingerprint)?;
        Some(Match {
            sequence,
            notes,
            any_accept: true,
        })
    }

    /// The equivalences a match used to pair its request with recorded request `index` (of
    /// its sequence), by stable name; empty when the two were written alike.
    pub fn equivalences(&self, found: &Match, index: usize) -> Vec<&'static str> {
        let none = Notes::default();
        let mut used: Vec<&'static str> = found
            .notes
            .differing(self.notes.get(&index).unwrap_or(&none))
            .map(Equivalence::name)
            .collect();
        if found.any_accept && !used.contains(&Equivalence::AcceptAny.name()) {
            used.push(Equivalence::AcceptAny.name());
        }
        used
    }

    /// Indices of the recorded requests of a sequence, in recorded order.
    pub fn sequence(&self, sequence: usize) -> &[usize] {
        self.sequences[sequence].as_slice()
    }

    pub fn sequence_count(&self) -> usize {
        self.sequences.len()
    }

    /// The recorded request most like `request` (see `nearest.rs` for the ranking).
    pub fn nearest(&self, table: &OperationTable, request: &Request) -> Option<Nearest> {
        let operation = operation_of(table, request);
        let (form, _) = Form::of(&self.canon, operation, request);
        let received = form.render();
        let index = match self.nearest.candidates(operation, &form) {
            Some(found) => {
                nearest::rank(&self.rendered, found.iter().map(|&i| i as usize), &received)
            }
            None => nearest::rank(&self.rendered, 0..self.rendered.len(), &received),
        }?;
        let diff = TextDiff::from_lines(self.rendered.get(index), received.as_str())
            .unified_diff()
            .context_radius(3)
            .header("recorded", "received")
            .to_string();
        Some(Nearest { index, diff })
    }
}

/// The documented operation of `request`, if any, found on its normalised path (so that
/// `/api/v2/%64evice/x` routes as `/api/v2/device/x`, while `a%2Fb` stays one segment).
fn operation_of<'t>(table: &'t OperationTable, request: &Request) -> Option<&'t Operation> {
    match table.lookup(&request.method, &normalise_path(&request.path)) {
        Lookup::Found { operation, .. } => Some(operation),
        _ => None,
    }
}

/// `path` with each segment percent-decoded, except that an encoded `/` (and `%` itself) stays
/// encoded: `a%2Fb` is one segment holding a slash, not two segments, so it must not match a
/// recording of `a/b`. Two paths are the same request exactly when their normal forms are equal.
pub fn normalise_path(path: &str) -> String {
    if !path.contains('%') {
        return path.to_string();
    }
    path.split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .replace('%', "%25")
                .replace('/', "%2F")
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::normalise_path;

    #[test]
    fn an_encoded_slash_stays_distinct_and_other_escapes_are_decoded() {
        assert_eq!(normalise_path("/a/custom%3Ax"), "/a/custom:x");
        assert_eq!(normalise_path("/a/b%2Fc"), "/a/b%2Fc");
        assert_eq!(normalise_path("/a/b%2fc"), "/a/b%2Fc");
        assert_ne!(normalise_path("/a/b%2Fc"), normalise_path("/a/b/c"));
        assert_ne!(normalise_path("/a/b%252Fc"), normalise_path("/a/b%2Fc"));
        assert_eq!(normalise_path("/plain/path"), "/plain/path");
    }
}
