//! What replay works out once per distinct bodiless request: the findings of checking it
//! against the contract and the recorded requests it matches. For a request without a body
//! both depend only on its method, path and query and on the headers the matcher compares
//! (the operations' `vary`), plus the Authorization header on an operation that takes no key
//! (an OAuth token request, whose match reads Basic credentials). So a request repeating
//! those of one seen before, on an operation that takes a key or none documented, gets the
//! same findings and the same match from here, as strictly as if it were checked again, for
//! the price of a hash and a comparison, read from the request as it arrived (`asked.rs`).
//! Requests with a body are always worked out afresh.
//! At most [`KEPT`] are remembered; past that the memo starts over.

use std::borrow::Cow;
use std::sync::Mutex;

use hyper::header::HeaderName;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::asked::Asked;
use crate::cassette::Request;
use crate::finding::Issue;
use crate::matching::{Cheap, Match};
use crate::routes::{Operation, OperationTable};

/// How many distinct requests are remembered at most.
pub const KEPT: usize = 256;

/// A request longer than this (path, query and compared headers, in bytes) is not remembered.
const LONGEST: usize = 4096;

/// What checking and matching one request gave.
#[derive(Clone)]
pub struct Worked {
    pub issues: Vec<Issue>,
    pub found: Option<Match>,
}

pub struct Memo {
    /// Every header name some operation varies on, in one order; `None` (nothing is
    /// remembered) if there are more than [`VARY_MAX`] or one is no header name.
    vary: Option<Vec<HeaderName>>,
    kept: Mutex<Kept>,
}

/// The most header names the memo compares requests by (the operations vary on two).
const VARY_MAX: usize = 8;

/// A request's values of the memo's header names, in their order.
type Values<'r> = [Option<Cow<'r, str>>; VARY_MAX];

/// Remembered requests by the hash of what they are compared by.
type Kept = Cheap<u64, Entry>;

/// One remembered request: what it is compared by, and what it gave.
struct Entry {
    method: String,
    path: String,
    query: Option<String>,
    vary: Vec<Option<String>>,
    worked: Worked,
}

impl Memo {
    pub fn new(table: &OperationTable) -> Memo {
        let mut vary: Vec<&String> = table.operations().iter().flat_map(|op| &op.vary).collect();
        vary.sort();
        vary.dedup();
        let vary = vary
            .into_iter()
            .map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect::<Option<Vec<HeaderName>>>()
            .filter(|names| names.len() <= VARY_MAX);
        Memo {
            vary,
            kept: Mutex::new(Kept::default()),
        }
    }

    /// What `request` gave when it was seen before, if it was and is bodiless.
    pub fn get(&self, request: &(impl Asked + ?Sized)) -> Option<Worked> {
        if !request.bodiless() {
            return None;
        }
        let (names, values) = self.values(request)?;
        let values = &values[..names.len()];
        let key = self.key(request, values);
        let kept = self.lock();
        let entry = kept.get(&key)?;
        let same = entry.method == request.method()
            && entry.path == request.path()
            && entry.query.as_deref() == request.query()
            && values
                .iter()
                .zip(&entry.vary)
                .all(|(value, kept)| value.as_deref() == kept.as_deref());
        same.then(|| entry.worked.clone())
    }

    /// Remembers what `request` (of `operation`) gave, if its like will give the same.
    pub fn keep(&self, request: &Request, operation: Option<&Operation>, worked: &Worked) {
        if !request.body.is_empty() || operation.is_some_and(|op| !op.authenticated) {
            return;
        }
        let Some((names, values)) = self.values(request) else {
            return;
        };
        let values = &values[..names.len()];
        let size = request.path.len()
            + request.query.as_ref().map_or(0, String::len)
            + values.iter().flatten().map(|v| v.len()).sum::<usize>();
        if size > LONGEST {
            return;
        }
        let key = self.key(request, values);
        let vary = values
            .iter()
            .map(|value| value.as_deref().map(str::to_string))
            .collect();
        let mut kept = self.lock();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(
            key,
            Entry {
                method: request.method.clone(),
                path: request.path.clone(),
                query: request.query.clone(),
                vary,
                worked: worked.clone(),
            },
        );
    }

    /// The memo's header names and `request`'s values of them, each looked up once; `None` if
    /// the memo remembers nothing.
    fn values<'r>(
        &self,
        request: &'r (impl Asked + ?Sized),
    ) -> Option<(&[HeaderName], Values<'r>)> {
        let names = self.vary.as_deref()?;
        let mut values = Values::default();
        for (value, name) in values.iter_mut().zip(names) {
            *value = request.header(name);
        }
        Some((names, values))
    }

    /// The hash of what a request is remembered by (`values`: of the memo's header names), each
    /// part hashed on from the one before (an entry is compared whole before it is used, so two
    /// requests sharing a hash only miss).
    fn key(&self, request: &(impl Asked + ?Sized), values: &[Option<Cow<'_, str>>]) -> u64 {
        let part = |seed: u64, text: Option<&str>| match text {
            Some(text) => xxh3_64_with_seed(text.as_bytes(), seed),
            None => seed.rotate_left(1) ^ 1,
        };
        let mut hash = part(0, Some(request.method()));
        hash = part(hash, Some(request.path()));
        hash = part(hash, request.query());
        for value in values {
            hash = part(hash, value.as_deref());
        }
        hash
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
