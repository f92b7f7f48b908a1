//! What replay works out once per distinct bodiless request: the findings of checking it
//! against the contract and the recorded requests it matches. For a request without a body
//! both depend only on its method, path and query and on the headers the matcher compares
//! (the operations' `vary`), plus the Authorization header on an operation that takes no key
//! (an OAuth token request, whose match reads Basic credentials). So a request repeating
//! those of one seen before, on an operation that takes a key or none documented, gets the
//! same findings and the same match from here, as strictly as if it were checked again, for
//! the price of a hash and a comparison. Requests with a body are always worked out afresh.
//! At most [`KEPT`] are remembered; past that the memo starts over.

use std::sync::Mutex;

use xxhash_rust::xxh3::xxh3_64_with_seed;

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
    /// Every header name some operation varies on, in one order.
    vary: Vec<String>,
    kept: Mutex<Kept>,
}

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
        let mut vary: Vec<String> = table
            .operations()
            .iter()
            .flat_map(|op| op.vary.iter().cloned())
            .collect();
        vary.sort();
        vary.dedup();
        Memo {
            vary,
            kept: Mutex::new(Kept::default()),
        }
    }

    /// What `request` gave when it was seen before, if it was and is bodiless.
    pub fn get(&self, request: &Request) -> Option<Worked> {
        if !request.body.is_empty() {
            return None;
        }
        let kept = self.lock();
        let entry = kept.get(&self.key(request))?;
        let same = entry.method == request.method
            && entry.path == request.path
            && entry.query == request.query
            && self
                .vary
                .iter()
                .zip(&entry.vary)
                .all(|(name, value)| request.headers.get(name) == value.as_ref());
        same.then(|| entry.worked.clone())
    }

    /// Remembers what `request` (of `operation`) gave, if its like will give the same.
    pub fn keep(&self, request: &Request, operation: Option<&Operation>, worked: &Worked) {
        if !request.body.is_empty() || operation.is_some_and(|op| !op.authenticated) {
            return;
        }
        let vary: Vec<Option<String>> = self
            .vary
            .iter()
            .map(|name| request.headers.get(name).cloned())
            .collect();
        let size = request.path.len()
            + request.query.as_ref().map_or(0, String::len)
            + vary.iter().flatten().map(String::len).sum::<usize>();
        if size > LONGEST {
            return;
        }
        let key = self.key(request);
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

    /// The hash of what a request is remembered by, each part hashed on from the one before
    /// (an entry is compared whole before it is used, so two requests sharing a hash only miss).
    fn key(&self, request: &Request) -> u64 {
        let part = |seed: u64, text: Option<&String>| match text {
            Some(text) => xxh3_64_with_seed(text.as_bytes(), seed),
            None => seed.rotate_left(1) ^ 1,
        };
        let mut hash = part(0, Some(&request.method));
        hash = part(hash, Some(&request.path));
        hash = part(hash, request.query.as_ref());
        for name in &self.vary {
            hash = part(hash, request.headers.get(name));
        }
        hash
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
