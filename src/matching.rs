//! How a request finds its recorded answer (DESIGN.md, "Replay"). Two requests match when their
//! fingerprints are equal: method; path, percent-decoded segment by segment (an encoded `/`
//! stays distinct from a real one); query as a multiset of pairs; body as
//! a JSON value (key order and white space ignored), as a HuJSON value on operations that take
//! HuJSON, as a multiset of pairs for a form body, byte for byte otherwise; and the headers the
//! operation table lists under `vary` (`accept`, `if-match` on the policy file). The
//! authorization value is never compared, nor the values of secret fields (`client_secret`,
//! `key`, ...; see `redact.rs`): cassettes hold them redacted.
//!
//! Identical recorded requests form one sequence, answered in recorded order. Lookup is one
//! hash probe, whatever the cassette's size. When nothing matches, [`Matcher::nearest`] names
//! the closest recorded request and shows a unified diff of the two.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use similar::TextDiff;

use crate::body::{Body, parse_hujson};
use crate::cassette::{Request, media_type};
use crate::redact::SECRET_FIELDS;
use crate::routes::{Lookup, Media, Operation, OperationTable};

/// What a secret field's value is compared as.
const REDACTED: &str = "<redacted>";

/// The recorded requests, indexed for lookup.
pub struct Matcher {
    /// Fingerprint -> sequence number.
    by_fingerprint: HashMap<String, usize>,
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
        let mut matcher = Matcher {
            by_fingerprint: HashMap::new(),
            sequences: Vec::new(),
            rendered: Vec::new(),
            by_route: HashMap::new(),
        };
        for (index, request) in requests.into_iter().enumerate() {
            let form = Form::of(operation_of(table, request), request);
            let next = matcher.sequences.len();
            let sequence = *matcher
                .by_fingerprint
                .entry(form.fingerprint())
                .or_insert(next);
            if sequence == next {
                matcher.sequences.push(Vec::new());
            }
            matcher.sequences[sequence].push(index);
            for route in form.routes() {
                matcher.by_route.entry(route).or_default().push(index);
            }
            matcher.rendered.push(form.render());
        }
        matcher
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

    /// Everything compared, as one string: equal fingerprints, equal requests.
    fn fingerprint(&self) -> String {
        let mut out = format!("{} {}\n", self.method, self.path);
        for (k, v) in &self.query {
            out.push_str(&format!("?{k}={v}\n"));
        }
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\n"));
        }
        match &self.body {
            CanonicalBody::Empty => {}
            CanonicalBody::Json(value) => {
                out.push_str("json ");
                out.push_str(&value.to_string());
            }
            CanonicalBody::Pairs(pairs) => {
                for (k, v) in pairs {
                    out.push_str(&format!("form {k}={v}\n"));
                }
            }
            CanonicalBody::Text(text) => out.push_str(&format!("text {text}")),
            CanonicalBody::Bytes(bytes) => out.push_str(&format!("bytes {}", BASE64.encode(bytes))),
        }
        out
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
            CanonicalBody::Bytes(bytes) => format!("<{} bytes>", bytes.len()),
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

/// Pairs with the values of secret fields blanked.
fn without_secrets(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            if SECRET_FIELDS.contains(&k.as_str()) {
                (k, REDACTED.into())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// `value` as matching compares it: object keys sorted (so key order does not matter) and the
/// string values of secret fields blanked, at any depth.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let sorted = entries.into_iter().map(|(key, child)| {
                let child = if child.is_string() && SECRET_FIELDS.contains(&key.as_str()) {
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
