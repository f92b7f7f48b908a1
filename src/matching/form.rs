//! A request reduced to what matching compares (its form), the XXH3-128 of that form (its
//! fingerprint), and a rendering of it for diffs. The form is canonical: every equivalence of
//! `equivalence.rs` is applied while it is built, so that two requests that mean the same have
//! the same form, and each rewrite is noted ([`Notes`]) to say later which equivalences a match
//! used.

use std::fmt::Write as _;

use base64::Engine;
use serde_json::Value;
use xxhash_rust::xxh3::Xxh3;

use super::equivalence::{Equivalence, Notes, instant, is_param};
use super::path::{Tailnets, canonical_path};
use super::shapes::{OperationShapes, Shape, Shapes};
use super::{BODY_SHOWN, Fingerprint, normalise_path, summary};
use crate::body::{Body, parse_hujson};
use crate::cassette::{Request, media_type, parse_query};
use crate::redact::is_secret_field;
use crate::routes::{Media, Operation};

/// What a secret field's value is compared as.
const REDACTED: &str = "<redacted>";

/// The header whose absence accepts any media type.
pub const ACCEPT: &str = "accept";

/// What the forms of all requests are built with: the schemas' shapes and the tailnet's names.
#[derive(Debug, Default)]
pub struct Canon {
    pub shapes: Shapes,
    pub tailnets: Tailnets,
}

/// A request reduced to what matching compares.
#[derive(Debug, Clone)]
pub struct Form {
    pub method: String,
    pub path: String,
    query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    body: CanonicalBody,
}

#[derive(Debug, Clone)]
enum CanonicalBody {
    Empty,
    Json(Value),
    Pairs(Vec<(String, String)>),
    Text(String),
    Bytes(Vec<u8>),
}

impl Form {
    /// `operation`: the documented operation of the request, if any (it says which body forms,
    /// headers and equivalences count).
    pub fn of(canon: &Canon, operation: Option<&Operation>, request: &Request) -> (Form, Notes) {
        let mut notes = Notes::default();
        let shapes = operation.and_then(|op| canon.shapes.of(op));
        let takes = |media| {
            operation
                .and_then(|op| op.request.as_ref())
                .is_some_and(|spec| spec.media.contains(&media))
        };
        let mut query = without_secrets(request.query_pairs());
        if let Some(shapes) = shapes {
            params(
                &mut query,
                |name| shapes.query.get(name).or(shapes.query.get("*")),
                &mut notes,
                "query",
            );
        }
        query.sort();
        let headers = operation
            .map(|op| {
                op.vary
                    .iter()
                    .map(|name| {
                        let mut value = request
                            .headers
                            .get(name)
                            .map_or("", |v| v.trim())
                            .to_ascii_lowercase();
                        if name == ACCEPT && value == "*/*" {
                            notes.note(Equivalence::AcceptAny, &[ACCEPT], &value);
                            value.clear();
                        }
                        (name.clone(), value)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut body = match &request.body {
            Body::Empty => CanonicalBody::Empty,
            Body::Json(_) | Body::Doc(_) => CanonicalBody::Json(json(
                &request.body.json().expect("a JSON body"),
                body_shape(shapes),
                &mut String::new(),
                &mut notes,
            )),
            Body::Text(text) if takes(Media::Hujson) => match parse_hujson(text) {
                Ok(value) => CanonicalBody::Json(json(
                    &value,
                    body_shape(shapes),
                    &mut String::new(),
                    &mut notes,
                )),
                Err(_) => CanonicalBody::Text(text.clone()),
            },
            Body::Text(text)
                if media_type(&request.headers).as_deref() == Some(Media::Form.mime()) =>
            {
                let mut pairs = without_secrets(parse_query(text));
                let shape = body_shape(shapes);
                params(
                    &mut pairs,
                    |name| shape.and_then(|s| s.property(name).0),
                    &mut notes,
                    "form",
                );
                CanonicalBody::Pairs(pairs)
            }
            Body::Text(text) => CanonicalBody::Text(text.clone()),
            Body::Binary(bytes) => CanonicalBody::Bytes(bytes.clone()),
        };
        if operation.is_some_and(|op| !op.authenticated) && takes(Media::Form) {
            body = with_basic_credentials(body, request, &mut notes);
        }
        if let CanonicalBody::Pairs(pairs) = &mut body {
            pairs.sort();
        }
        let mut path = normalise_path(&request.path);
        if let Some(rewritten) =
            operation.and_then(|op| canonical_path(op, &path, &canon.tailnets, &mut notes))
        {
            path = rewritten;
        }
        let form = Form {
            method: request.method.to_ascii_uppercase(),
            path,
            query,
            headers,
            body,
        };
        (form, notes)
    }

    /// The same form with no `accept` value: what a request without `Accept` would have.
    pub fn without_accept(&self) -> Option<Form> {
        let (_, value) = self.headers.iter().find(|(name, _)| name == ACCEPT)?;
        if value.is_empty() {
            return None;
        }
        let mut form = self.clone();
        for (name, value) in &mut form.headers {
            if name == ACCEPT {
                value.clear();
            }
        }
        Some(form)
    }

    /// The XXH3-128 of everything compared, written out unambiguously: equal fingerprints,
    /// equal requests. The text is hashed as it is written, never held whole.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut out = Hashing(Xxh3::new());
        // A tag and a length before free text keep the parts apart (no value can fake a
        // separator).
        let mut part = |tag: u8, text: &[u8]| {
            out.0.update(&[tag]);
            out.0.update(&(text.len() as u64).to_le_bytes());
            out.0.update(text);
        };
        part(b'M', self.method.as_bytes());
        part(b'P', self.path.as_bytes());
        for (k, v) in &self.query {
            part(b'Q', k.as_bytes());
            part(b'=', v.as_bytes());
        }
        for (k, v) in &self.headers {
            part(b'H', k.as_bytes());
            part(b'=', v.as_bytes());
        }
        match &self.body {
            CanonicalBody::Empty => part(b'E', b""),
            CanonicalBody::Json(value) => {
                // Last, and JSON text ends itself.
                part(b'J', b"");
                let _ = serde_json::to_writer(&mut out, value);
            }
            CanonicalBody::Pairs(pairs) => {
                for (k, v) in pairs {
                    part(b'F', k.as_bytes());
                    part(b'=', v.as_bytes());
                }
            }
            CanonicalBody::Text(text) => part(b'T', text.as_bytes()),
            CanonicalBody::Bytes(bytes) => part(b'B', bytes),
        }
        out.0.digest128()
    }

    /// A readable form for diffs: request line, significant headers, pretty body with sorted
    /// keys, so a diff shows the differing field on its own line. `tskey-` tokens are masked.
    pub fn render(&self) -> String {
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
}

fn body_shape(shapes: Option<&OperationShapes>) -> Option<&Shape> {
    shapes.map(|s| &s.body)
}

/// Query or form pairs as compared: a date-time value as its instant, and a pair left out
/// when its value is its parameter's default (`shape_of` gives a parameter's shape).
fn params<'s>(
    pairs: &mut Vec<(String, String)>,
    shape_of: impl Fn(&str) -> Option<&'s Shape>,
    notes: &mut Notes,
    side: &str,
) {
    pairs.retain_mut(|(key, value)| {
        let Some(shape) = shape_of(key) else {
            return true;
        };
        if shape.default.as_ref().is_some_and(|d| is_param(d, value)) {
            notes.note(Equivalence::AbsentDefault, &[side, key], value);
            return false;
        }
        if shape.date_time
            && let Some(canonical) = instant(value)
            && &canonical != value
        {
            notes.note(Equivalence::DateTimeInstant, &[side, key], value);
            *value = canonical;
        }
        true
    });
}

/// A JSON body as compared: object keys sorted (so key order does not matter), the string and
/// number values of secret fields blanked at any depth, and, where `shape` (the schema) says
/// so, date-times as instants and optional properties that are `null` or their default left
/// out. `at` holds the JSON pointer of `value` (one buffer for the whole walk).
fn json(value: &Value, shape: Option<&Shape>, at: &mut String, notes: &mut Notes) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut out = serde_json::Map::new();
            for (key, child) in entries {
                if (child.is_string() || child.is_number()) && is_secret_field(key) {
                    out.insert(key.clone(), Value::String(REDACTED.into()));
                    continue;
                }
                let (child_shape, optional) = match shape {
                    Some(shape) => shape.property(key),
                    None => (None, false),
                };
                let len = at.len();
                at.push('/');
                at.push_str(key);
                if optional && child.is_null() {
                    notes.note(Equivalence::AbsentNull, &[at], "null");
                } else if optional && child_shape.and_then(|s| s.default.as_ref()) == Some(child) {
                    notes.note(Equivalence::AbsentDefault, &[at], &child.to_string());
                } else {
                    out.insert(key.clone(), json(child, child_shape, at, notes));
                }
                at.truncate(len);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let item_shape = shape.and_then(|s| s.items.as_deref());
            let items = items.iter().enumerate().map(|(i, item)| {
                let len = at.len();
                let _ = write!(at, "/{i}");
                let item = json(item, item_shape, at, notes);
                at.truncate(len);
                item
            });
            Value::Array(items.collect())
        }
        Value::String(text) if shape.is_some_and(|s| s.date_time) => match instant(text) {
            Some(canonical) => {
                if &canonical != text {
                    notes.note(Equivalence::DateTimeInstant, &[at], text);
                }
                Value::String(canonical)
            }
            None => value.clone(),
        },
        scalar => scalar.clone(),
    }
}

/// A token request's form with the client credentials of an `Authorization: Basic` header
/// added, when the form does not carry a `client_id` itself (RFC 6749 2.3.1: a client may send
/// them either way). The secret is compared as redacted, as everywhere.
fn with_basic_credentials(
    body: CanonicalBody,
    request: &Request,
    notes: &mut Notes,
) -> CanonicalBody {
    let mut pairs = match body {
        CanonicalBody::Pairs(pairs) => pairs,
        CanonicalBody::Empty => Vec::new(),
        other => return other,
    };
    let was_empty = pairs.is_empty();
    let client = request
        .headers
        .get("authorization")
        .and_then(|value| basic_client_id(value));
    match client {
        Some(id) if !pairs.iter().any(|(k, _)| k == "client_id") => {
            notes.note(Equivalence::OauthBasicCredentials, &["authorization"], &id);
            pairs.push(("client_id".into(), id));
            pairs.push(("client_secret".into(), REDACTED.into()));
            CanonicalBody::Pairs(pairs)
        }
        _ if was_empty => CanonicalBody::Empty,
        _ => CanonicalBody::Pairs(pairs),
    }
}

/// The client id of an `Authorization: Basic` value: the user part of `id:secret`,
/// form-decoded as RFC 6749 2.3.1 says the client encodes it.
fn basic_client_id(value: &str) -> Option<String> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, _) = text.split_once(':')?;
    let (id, _) = parse_query(&format!("{id}=")).into_iter().next()?;
    (!id.is_empty()).then_some(id)
}

/// Feeds what is written to an XXH3-128.
struct Hashing(Xxh3);

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

#[cfg(test)]
mod tests {
    use super::basic_client_id;

    #[test]
    fn the_client_id_comes_form_decoded_from_basic_credentials_only() {
        // "k%2B1:s" is the id "k+1" encoded as RFC 6749 2.3.1 says.
        assert_eq!(
            basic_client_id("Basic ayUyQjE6cw==").as_deref(),
            Some("k+1")
        );
        assert_eq!(
            basic_client_id("basic a09hN0NsMUNOVFJMOnNlY3JldA==").as_deref(),
            Some("kOa7Cl1CNTRL")
        );
        assert_eq!(basic_client_id("Bearer a09hN0NsMUNOVFJMOnNlY3JldA=="), None);
        assert_eq!(basic_client_id("Basic not base64!"), None);
        assert_eq!(basic_client_id("Basic <redacted>"), None);
        // No colon: not `id:secret`.
        assert_eq!(basic_client_id("Basic a09hN0NsMUNOVFJM"), None);
    }
}
