//! How a request finds its recorded answer (DESIGN.md, "Replay"). Two requests match when their
//! fingerprints are equal: method; path, percent-decoded segment by segment (an encoded `/`
//! stays distinct from a real one); query as a multiset of pairs; body as
//! a JSON value (key order and white space ignored), as a HuJSON value on operations that take
//! HuJSON, as a multiset of pairs for a form body, byte for byte otherwise; and the headers the
//! operation table lists under `vary` (`accept`, `if-match` on the policy file). The
//! authorization value is never compared, nor the values of secret fields (`client_secret`,
//! `key`, `apiKey`, ...; see `redact/fields.rs`): cassettes hold them redacted.
//!
//! Identical recorded requests form one sequence, answered in recorded order. Lookup is one
//! hash probe, whatever the cassette's size: a request is kept as the SHA-256 of its fingerprint
//! and a rendering for diffs, not whole. When nothing matches, [`Matcher::nearest`] names the
//! closest recorded request and shows a unified diff of the two. A body over [`BODY_SHOWN`]
//! bytes is rendered as a [`summary`] (length, SHA-256, first bytes), so that neither memory nor
//! the diff's time grows with a large body.

use std::collections::HashMap;
use std::io::Write;

use serde_json::Value;
use similar::TextDiff;

use crate::body::{Body, parse_hujson};
use crate::cassette::{Request, media_type};
use crate::redact::is_secret_field;
use crate::routes::{Lookup, Media, Operation, OperationTable};

/// What a secret field's value is compared as.
const REDACTED: &str = "<redacted>";

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

/// The SHA-256 of a request's fingerprint: what lookup compares.
type Fingerprint = [u8; 32];

/// The recorded requests, indexed for lookup.
pub struct Matcher {
    /// Fingerprint -> sequence number.
    by_fingerprint: HashMap<Fingerprint, usize>,
    /// Each sequence: indices of identical recorded requests, in recorded order.
    sequences: Vec<Vec<usize>>,
    /// Each recorded request rendered for diffs.
    rendered: Vec<String>,
    /// `METHOD path` and `path` -> recorded indices, to find the nearest request.
    by_route: HashMap<String, Vec<usize>>,
}

/// The closest recorded request to one that matched nothing.
pub struct Nearest {
    /// Index of the recorded request.
    pub index: usize,
    /// Unified diff from the recorded request to the received one.
    pub diff: String,
}

impl Matcher {
    pub fn new<'r>(
        table: &OperationTable,
        requests: impl IntoIterator<Item = &'r Request>,
    ) -> Self {
        let mut matcher = Matcher::empty();
        for request in requests {
            matcher.add(table, request);
        }
        matcher
    }

    /// A matcher with no recorded request yet; see [`Matcher::add`].
    pub fn empty() -> Self {
        Matcher {
            by_fingerprint: HashMap::new(),
            sequences: Vec::new(),
            rendered: Vec::new(),
            by_route: HashMap::new(),
        }
    }

    /// Adds the next recorded request (its index is the number added before it). Only its
    /// fingerprint's hash and its rendering are kept, so the caller can drop the request.
    pub fn add(&mut self, table: &OperationTable, request: &Request) {
        let index = self.rendered.len();
        let form = Form::of(operation_of(table, request), request);
        let next = self.sequences.len();
        let sequence = *self
            .by_fingerprint
            .entry(form.fingerprint())
            .or_insert(next);
        if sequence == next {
            self.sequences.push(Vec::new());
        }
        self.sequences[sequence].push(index);
        for route in form.routes() {
            self.by_route.entry(route).or_default().push(index);
        }
        self.rendered.push(form.render());
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
        self.by_fingerprint
            .get(&Form::of(operation, request).fingerprint())
            .copied()
    }

    /// Indices of the recorded requests of a sequence, in recorded order.
    pub fn sequence(&self, sequence: usize) -> &[usize] {
        &self.sequences[sequence]
    }

    pub fn sequence_count(&self) -> usize {
        self.sequences.len()
    }

    /// The recorded request most like `request`: among those with the same method and path,
    /// else the same path, else all of them.
    pub fn nearest(&self, table: &OperationTable, request: &Request) -> Option<Nearest> {
        let form = Form::of(operation_of(table, request), request);
        let received = form.render();
        let all: Vec<usize>;
        let candidates = match form.routes().iter().find_map(|r| self.by_route.get(r)) {
            Some(found) => found,
            None => {
                all = (0..self.rendered.len()).collect();
                &all
            }
        };
        let (index, _) = candidates
            .iter()
            .map(|&i| {
                (
                    i,
                    TextDiff::from_lines(self.rendered[i].as_str(), received.as_str()).ratio(),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let diff = TextDiff::from_lines(self.rendered[index].as_str(), received.as_str())
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

/// A request reduced to what matching compares.
struct Form {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: CanonicalBody,
}

enum CanonicalBody {
    Empty,
    Json(Value),
    Pairs(Vec<(String, String)>),
    Text(String),
    Bytes(Vec<u8>),
}

impl Form {
    /// `operation`: the documented operation of the request, if any (it says which body
    /// forms and headers count).
    fn of(operation: Option<&Operation>, request: &Request) -> Form {
        let takes_hujson = operation
            .and_then(|op| op.request.as_ref())
            .is_some_and(|spec| spec.media.contains(&Media::Hujson));
        let mut query = without_secrets(request.query_pairs());
        query.sort();
        let headers = operation
            .map(|op| {
                op.vary
                    .iter()
                    .map(|name| {
                        let value = request.headers.get(name).map_or("", |v| v.trim());
                        (name.clone(), value.to_ascii_lowercase())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let body = match &request.body {
            Body::Empty => CanonicalBody::Empty,
            Body::Json(value) => CanonicalBody::Json(canonical(value)),
            Body::Text(text) if takes_hujson => match parse_hujson(text) {
                Ok(value) => CanonicalBody::Json(canonical(&value)),
                Err(_) => CanonicalBody::Text(text.clone()),
            },
            Body::Text(text)
                if media_type(&request.headers).as_deref()
                    == Some("application/x-www-form-urlencoded") =>
            {
                let mut pairs = without_secrets(crate::cassette::parse_query(text));
                pairs.sort();
                CanonicalBody::Pairs(pairs)
            }
            Body::Text(text) => CanonicalBody::Text(text.clone()),
            Body::Binary(bytes) => CanonicalBody::Bytes(bytes.clone()),
        };
        Form {
            method: request.method.to_ascii_uppercase(),
            path: normalise_path(&request.path),
            query,
            headers,
            body,
        }
    }

    /// The SHA-256 of everything compared, written out unambiguously: equal fingerprints,
    /// equal requests. The text is hashed as it is written, never held whole.
    fn fingerprint(&self) -> Fingerprint {
        let mut out = Hashing(ring::digest::Context::new(&ring::digest::SHA256));
        // Lengths before free text keep the parts apart (no value can fake a separator).
        let mut part = |tag: &str, text: &str| {
            let _ = write!(out, "{tag}{}:", text.len());
            let _ = out.write_all(text.as_bytes());
        };
        part("M", &self.method);
        part("P", &self.path);
        for (k, v) in &self.query {
            part("Q", k);
            part("=", v);
        }
        for (k, v) in &self.headers {
            part("H", k);
            part("=", v);
        }
        match &self.body {
            CanonicalBody::Empty => part("E", ""),
            CanonicalBody::Json(value) => {
                part("J", "");
                let _ = serde_json::to_writer(&mut out, value);
            }
            CanonicalBody::Pairs(pairs) => {
                for (k, v) in pairs {
                    part("F", k);
                    part("=", v);
                }
            }
            CanonicalBody::Text(text) => part("T", text),
            CanonicalBody::Bytes(bytes) => {
                let _ = write!(out, "B{}:", bytes.len());
                let _ = out.write_all(bytes);
            }
        }
        let digest = out.0.finish();
        let mut fingerprint = [0; 32];
        fingerprint.copy_from_slice(digest.as_ref());
        fingerprint
    }

    /// A readable form for diffs: request line, significant headers, pretty body with sorted
    /// keys, so a diff shows the differing field on its own line. `tskey-` tokens are masked.
    fn render(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut out = format!("{} {}", self.method, self.path);
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query.join("&"));
        }
        out.push('\n');
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\n"));
        }
        let body = match &self.body {
            CanonicalBody::Empty => String::new(),
            CanonicalBody::Json(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
            CanonicalBody::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            CanonicalBody::Text(text) => text.clone(),
            CanonicalBody::Bytes(bytes) => summary(bytes),
        };
        let body = if body.len() > BODY_SHOWN {
            summary(body.as_bytes())
        } else {
            body
        };
        if !body.is_empty() {
            out.push('\n');
            out.push_str(&body);
            out.push('\n');
        }
        crate::redact::mask_tokens(&out)
    }

    /// Keys to look for the nearest request under: `METHOD path`, then `path`.
    fn routes(&self) -> [String; 2] {
        [format!("{} {}", self.method, self.path), self.path.clone()]
    }
}

/// Feeds what is written to a SHA-256.
struct Hashing(ring::digest::Context);

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Pairs with the values of secret fields blanked.
fn without_secrets(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            if is_secret_field(&k) {
                (k, REDACTED.into())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// `value` as matching compares it: object keys sorted (so key order does not matter) and the
/// string and number values of secret fields blanked, at any depth.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let sorted = entries.into_iter().map(|(key, child)| {
                let child = if (child.is_string() || child.is_number()) && is_secret_field(key) {
                    Value::String(REDACTED.into())
                } else {
                    canonical(child)
                };
                (key.clone(), child)
            });
            Value::Object(sorted.collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        scalar => scalar.clone(),
    }
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
