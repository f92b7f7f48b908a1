//! Secrets never reach a cassette (DESIGN.md, "Record"), and redaction fails closed.
//! [`Redactor::redact`] rewrites an exchange before anything is written: the Authorization
//! value (kept as `Bearer <redacted>` / `Basic <redacted>`), cookies (dropped), the values of
//! secret-named fields and headers (`fields.rs`: `key`, `clientSecret`, `apiKey`,
//! `x-webhook-secret`, ...; `named.rs` replaces them in JSON bodies), and every secret the scanner finds (`scanner.rs`: `tskey-`
//! tokens, URL passwords, gitleaks' well-known formats, the user's `--redact REGEX`, values
//! redacted elsewhere) in every string, read as it is and decoded (percent, JSON and HuJSON
//! escapes, base64), plus the user's `--redact-field JSON-POINTER`s. A secret becomes
//! `<redacted-N>`, the same N wherever the same value appears in the cassette.
//!
//! [`Redactor::check`] is the final scan, over the very text to be written: it refuses an
//! exchange in which the scanner still finds a secret, and a body it cannot read whole (a
//! content-encoding it cannot undo, a damaged stream: `decode.rs`) unless opaque bodies are
//! allowed; otherwise it hands the text over as [`Scanned`], the only thing the recorder's
//! writer takes. Its error names the place and never the secret. A large exchange's text is
//! scanned in pieces and generated again for writing, never held whole (`streamed.rs`).

mod fields;
mod named;
mod readings;
pub mod rules;
mod scanner;
pub mod streamed;
mod walk;

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;

pub use fields::is_secret_field;

use crate::body::Body;
use crate::cassette::{Headers, Interaction, media_type, parse_query};
use crate::decode;
use scanner::{BUILT_IN, Scanner, splice};
use streamed::{Generate, Passed, Shown};
use walk::{Part, visit_strings, visit_strings_mut};

/// Headers whose whole value is a credential.
const AUTH_HEADERS: &[&str] = &["authorization", "proxy-authorization"];
/// Headers never stored.
const DROPPED_HEADERS: &[&str] = &["cookie", "set-cookie"];
/// Secrets shorter than this are not searched for elsewhere (too many false alarms).
const MIN_SECRET: usize = 8;

/// An exchange the final scan refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{place} still holds {what}")]
pub struct Leak {
    /// Where: `request header authorization`, `response body /key`, ...
    pub place: String,
    pub what: String,
}

/// A `--redact` or `--redact-field` value that cannot do what it says.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("--redact {pattern:?} is not a valid regular expression: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error(
        "--redact {pattern:?} matches the empty string, so it would redact between every two \
         characters; give a pattern that matches at least one character"
    )]
    EmptyMatch { pattern: String },
    #[error("--redact-field {pointer:?} is not a JSON pointer: {reason}")]
    BadPointer { pointer: String, reason: String },
    #[error("TAILTAPE_RECORD_CHUNK={value:?} is not a number of bytes of at least {min}")]
    BadChunk { value: String, min: usize },
}

pub struct Redactor {
    scanner: Scanner,
    /// The user's `--redact-field` pointers into bodies.
    fields: Vec<String>,
    /// Whether a body that cannot be decoded and scanned whole may be stored as sent.
    allow_opaque: bool,
    /// Secret value -> its placeholder.
    placeholders: HashMap<String, String>,
    /// Placeholder numbers already used by the cassette being extended.
    offset: usize,
    /// A text over twice this size is scanned and written in pieces of this size.
    piece: usize,
}

/// An interaction's canonical text (as it sits inside `interactions`) that passed the final
/// scan: what the recorder's writer takes, and the only thing it takes. A small text is held;
/// of a large one, what each piece was (length and digest), to check it against when it is
/// generated again for writing.
#[derive(Debug)]
pub struct Scanned(Passed);

impl Scanned {
    /// The text, when it is held whole.
    pub fn whole(&self) -> Option<&[u8]> {
        match &self.0 {
            Passed::Whole(text) => Some(text),
            Passed::Pieces(_) => None,
        }
    }

    /// Gives `out` the text piece by piece, generated again from `source` (the interaction
    /// scanned), each checked against the piece the final scan passed: a text that differs
    /// stops with [`streamed::changed`] before its first piece that differs.
    pub fn write_pieces(
        &self,
        source: &dyn Generate,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.0.write_pieces(source, out)
    }
}

impl Redactor {
    /// A redactor with the user's `--redact` patterns and `--redact-field` pointers; refuses
    /// a pattern that matches the empty string and a pointer that does not start with `/`.
    pub fn new(extra_patterns: &[String], fields: &[String]) -> Result<Redactor, RuleError> {
        let mut scanner = Scanner::default();
        for pattern in extra_patterns {
            scanner.patterns.push(user_pattern(pattern)?);
        }
        for pointer in fields {
            check_pointer(pointer)?;
        }
        Ok(Redactor {
            scanner,
            fields: fields.to_vec(),
            allow_opaque: false,
            placeholders: HashMap::new(),
            offset: 0,
            piece: streamed::piece_size()?,
        })
    }

    /// Lets the final scan pass a body it cannot decode whole (an unknown content-encoding, a
    /// damaged stream) when what it could decode holds no secret; it is stored as sent.
    pub fn allow_opaque_bodies(mut self, allow: bool) -> Redactor {
        self.allow_opaque = allow;
        self
    }

    /// Numbers new placeholders after those already in `text` (a cassette being extended), so
    /// that two secrets never share one.
    pub fn continue_after(&mut self, text: &str) {
        let used = Regex::new(r"<redacted-(\d+)>").expect("a valid pattern");
        self.offset = used
            .captures_iter(text)
            .filter_map(|c| c[1].parse::<usize>().ok())
            .max()
            .unwrap_or(0);
    }

    /// The placeholder of `secret`, the same every time. A value that already is a
    /// placeholder (a recording of a redacted cassette) stays as it is.
    fn placeholder(&mut self, secret: &str) -> String {
        if is_placeholder(secret) {
            return secret.to_string();
        }
        if let Some(placeholder) = self.placeholders.get(secret) {
            return placeholder.clone();
        }
        let placeholder = format!("<redacted-{}>", self.offset + self.placeholders.len() + 1);
        self.placeholders
            .insert(secret.to_string(), placeholder.clone());
        if secret.len() >= MIN_SECRET {
            self.scanner.learn(secret);
        }
        placeholder
    }

    /// Replaces every secret the scanner finds in `text`, in place; a text with nothing to
    /// replace is left untouched (no copy).
    fn scrub(&mut self, text: &mut String) {
        let spans = self.scanner.spans(text);
        if !spans.is_empty() {
            *text = splice(text, spans, |secret| self.placeholder(secret));
        }
    }

    /// Rewrites `interaction` so that no secret is left in it.
    pub fn redact(&mut self, interaction: &mut Interaction) {
        self.redact_named(interaction);
        self.scrub_all(interaction);
    }

    /// What the recorder does: [`Redactor::redact`], then [`Redactor::check`]. An exchange in
    /// which nothing is left to find once the named secrets are replaced (most of them) is
    /// scanned once, as the text to be written, instead of string by string and then again.
    pub fn redact_and_check(&mut self, interaction: &mut Interaction) -> Result<Scanned, Leak> {
        self.redact_named(interaction);
        match self.scan_text(interaction) {
            Ok(passed) if !self.must_walk(interaction) => {
                self.check_encoded(interaction)?;
                Ok(Scanned(passed))
            }
            _ => {
                self.scrub_all(interaction);
                self.check(interaction)
            }
        }
    }

    /// Replaces what is secret by its place: authorization values, cookies, secret-named
    /// headers and fields, the `--redact-field`s, binary bodies holding a secret.
    fn redact_named(&mut self, interaction: &mut Interaction) {
        let request = &mut interaction.request;
        self.redact_headers(&mut request.headers);
        if let Some(query) = &request.query {
            request.query = Some(self.redact_pairs(query));
        }
        self.redact_body(&mut request.body, &request.headers);
        let response = &mut interaction.response;
        self.redact_headers(&mut response.headers);
        self.redact_body(&mut response.body, &response.headers);
    }

    /// Replaces every secret the scanner finds in every string, again while that learns new
    /// secrets (one found late may also sit in a string already scrubbed).
    fn scrub_all(&mut self, interaction: &mut Interaction) {
        loop {
            let known = self.placeholders.len();
            visit_strings_mut(interaction, &mut |s| self.scrub(s));
            if self.placeholders.len() == known {
                break;
            }
        }
    }

    fn redact_headers(&mut self, headers: &mut Headers) {
        headers.retain(|name, _| !DROPPED_HEADERS.contains(&name.as_str()));
        for (name, value) in headers.iter_mut() {
            if AUTH_HEADERS.contains(&name.as_str()) {
                *value = self.redact_credential(value);
            } else if is_secret_field(name) && !value.is_empty() {
                *value = self.placeholder(value);
            }
        }
    }

    /// An authorization value: the scheme kept, the credential learned (and, for Basic, each
    /// part of `user:password`: the user part is the API key).
    fn redact_credential(&mut self, value: &str) -> String {
        let (scheme, credential) = value.split_once(' ').unwrap_or(("", value));
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("basic")
            && let Ok(decoded) = BASE64.decode(credential.as_bytes())
        {
            for part in String::from_utf8_lossy(&decoded)
                .split(':')
                .filter(|p| !p.is_empty())
            {
                self.placeholder(part);
            }
        }
        self.placeholder(credential);
        if scheme.is_empty() {
            "<redacted>".into()
        } else {
            format!("{scheme} <redacted>")
        }
    }

    /// A query string or form body: the values of secret-named fields.
    fn redact_pairs(&mut self, text: &str) -> String {
        let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let mut parts = Vec::new();
        for ((name, value), raw) in parse_query(text)
            .into_iter()
            .zip(text.split('&').filter(|p| !p.is_empty()))
        {
            if is_secret_field(&name) && !value.is_empty() {
                let placeholder = self.placeholder(&value);
                parts.push(format!(
                    "{}={}",
                    raw.split('=').next().unwrap_or(""),
                    encode(&placeholder)
                ));
            } else {
                parts.push(raw.to_string());
            }
        }
        parts.join("&")
    }

    fn redact_body(&mut self, body: &mut Body, headers: &Headers) {
        if let Some(encoding) = content_encoding(headers) {
            // Secrets inside an encoding cannot be replaced there; those that can be read
            // are learned, so that they are replaced elsewhere, and the final scan refuses.
            let decoded = decode::decode(encoding, &body.wire_bytes());
            for hit in self.scanner.find(&String::from_utf8_lossy(&decoded.bytes)) {
                self.placeholder(&hit.secret);
            }
            return;
        }
        match body {
            Body::Json(value) => self.redact_value(value),
            Body::Doc(doc) => self.redact_document(doc),
            Body::Text(text)
                if media_type(headers).as_deref() == Some("application/x-www-form-urlencoded") =>
            {
                *text = self.redact_pairs(text);
            }
            Body::Text(_) => {}
            Body::Binary(bytes) => {
                let hits = self.scanner.find(&String::from_utf8_lossy(bytes));
                if !hits.is_empty() {
                    for hit in hits {
                        self.placeholder(&hit.secret);
                    }
                    // Bytes that hold a secret are not kept at all.
                    *body = Body::Text("<redacted binary body>".into());
                }
            }
            Body::Empty => {}
        }
    }

    /// The final scan, over the text to be written: no secret the scanner finds (in the text
    /// and in its decoded readings), no credential in an authorization header or
    /// secret-named header, no body that cannot be read whole (unless opaque bodies are
    /// allowed).
    ///
    /// Most exchanges show nothing in their text and are done with one search over it. The
    /// strings themselves are walked, which also names the place, when the text shows a
    /// secret, and for what the text cannot show: the user's patterns (defined on strings),
    /// binary bodies (written as base64) and headers.
    pub fn check(&self, interaction: &Interaction) -> Result<Scanned, Leak> {
        self.check_encoded(interaction)?;
        let scanned = self.scan_text(interaction);
        let shown = scanned.is_err();
        if shown || self.must_walk(interaction) {
            self.check_strings(interaction)?;
        }
        match scanned {
            Ok(passed) => Ok(Scanned(passed)),
            // Found in the text but in no one string: it spans several.
            Err(Shown) => Err(Leak {
                place: format!("{}", interaction.request),
                what: "a string shaped like a secret across several strings".into(),
            }),
        }
    }

    /// The final scan over a generated text alone (what [`Redactor::check`] runs over an
    /// interaction's text after its strings): refused when the scanner finds a secret in it,
    /// whole or in a piece with the end of the text before it.
    pub fn check_text(&self, text: &dyn Generate) -> Result<Scanned, Leak> {
        let generate = |out: &mut streamed::FirstPass<'_>| text.generate(out);
        streamed::first_pass(generate, self.piece, 4096, &|text| self.shows_secret(text))
            .map(Scanned)
            .map_err(|Shown| Leak {
                place: "the text".into(),
                what: "a string shaped like a secret".into(),
            })
    }

    /// Pass 1 of the final scan over `interaction`'s canonical text (`streamed.rs`).
    fn scan_text(&self, interaction: &Interaction) -> Result<Passed, Shown> {
        let generate = |out: &mut streamed::FirstPass<'_>| interaction.write_canonical(out);
        streamed::first_pass(generate, self.piece, text_size(interaction), &|text| {
            self.shows_secret(text)
        })
    }

    /// Whether the scanner finds a secret in the text to be written.
    fn shows_secret(&self, text: &[u8]) -> bool {
        let text = match std::str::from_utf8(text) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(text),
        };
        !self.scanner.find(&text).is_empty()
    }

    /// Bodies stored with their content-encoding (it could not be undone for storage, or it
    /// is a request's): what decodes must hold no secret, and what does not decode is
    /// refused unless opaque bodies are allowed.
    fn check_encoded(&self, interaction: &Interaction) -> Result<(), Leak> {
        for (side, part) in [
            (
                "request",
                (&interaction.request.headers, &interaction.request.body),
            ),
            (
                "response",
                (&interaction.response.headers, &interaction.response.body),
            ),
        ] {
            let (headers, body) = part;
            let Some(encoding) = content_encoding(headers).filter(|_| !body.is_empty()) else {
                continue;
            };
            let decoded = decode::decode(encoding, &body.wire_bytes());
            let place = format!("{side} body (content-encoding {encoding})");
            if let Some(hit) = self
                .scanner
                .find(&String::from_utf8_lossy(&decoded.bytes))
                .first()
            {
                return Err(Leak {
                    place,
                    what: format!("{} inside its encoding", hit.what),
                });
            }
            if let Some(incomplete) = decoded.incomplete.filter(|_| !self.allow_opaque) {
                return Err(Leak {
                    place,
                    what: format!(
                        "a body that cannot be scanned whole: {incomplete} \
                         (--allow-opaque-bodies stores such bodies as sent)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether the strings must be walked although the text shows no secret: an
    /// authorization or secret-named header kept its value, or the exchange holds what the
    /// text cannot show.
    fn must_walk(&self, interaction: &Interaction) -> bool {
        let (request, response) = (&interaction.request, &interaction.response);
        let header = [&request.headers, &response.headers]
            .into_iter()
            .flatten()
            .any(|(name, value)| holds_credential(name, value));
        let binary = [&request.body, &response.body]
            .into_iter()
            .any(|body| matches!(body, Body::Binary(_)));
        !self.scanner.patterns.is_empty() || binary || header
    }

    fn check_strings(&self, interaction: &Interaction) -> Result<(), Leak> {
        let mut leak = None;
        visit_strings(interaction, &mut |place, s| {
            if leak.is_some() {
                return;
            }
            let what = if matches!(place.part, Part::Header(name) if holds_credential(name, s)) {
                "a credential".to_string()
            } else if let Some(hit) = self.scanner.find(s).first() {
                hit.what.to_string()
            } else {
                return;
            };
            // A place is a JSON pointer, and an object key may itself be the secret.
            leak = Some(Leak {
                place: self.mask(&place.to_string()),
                what,
            });
        });
        leak.map_or(Ok(()), Err)
    }

    /// `text` with every secret shown as `<secret>`.
    fn mask(&self, text: &str) -> String {
        self.scanner
            .replace(text, |_| "<secret>".into())
            .unwrap_or_else(|| text.to_string())
    }
}

/// A user's `--redact` pattern, refused when it does not compile or matches the empty string.
fn user_pattern(pattern: &str) -> Result<Regex, RuleError> {
    let regex = Regex::new(pattern).map_err(|err| RuleError::BadPattern {
        pattern: pattern.into(),
        reason: err.to_string(),
    })?;
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|err| RuleError::BadPattern {
            pattern: pattern.into(),
            reason: err.to_string(),
        })?;
    if hir.properties().minimum_len() == Some(0) {
        return Err(RuleError::EmptyMatch {
            pattern: pattern.into(),
        });
    }
    Ok(regex)
}

/// A `--redact-field` pointer: RFC 6901, naming a member (not the whole body, "").
fn check_pointer(pointer: &str) -> Result<(), RuleError> {
    let bad = |reason: String| RuleError::BadPointer {
        pointer: pointer.into(),
        reason,
    };
    if pointer.is_empty() {
        return Err(bad(
            "the empty pointer names the whole body; name a field, as in /key".into(),
        ));
    }
    if !pointer.starts_with('/') {
        return Err(bad(format!("a pointer starts with / (as in /{pointer})")));
    }
    let mut chars = pointer.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(bad("~ must be followed by 0 (for ~) or 1 (for /)".into()));
        }
    }
    Ok(())
}

/// The content-encoding of a body, when it is encoded.
fn content_encoding(headers: &Headers) -> Option<&str> {
    headers
        .get("content-encoding")
        .map(String::as_str)
        .filter(|encoding| decode::is_encoded(encoding))
}

/// About how many bytes an interaction's canonical text takes: its buffer is sized once, as a
/// large answer's would be copied at each doubling (and held twice while it is).
fn text_size(interaction: &Interaction) -> usize {
    4096 + interaction.request.body.size_hint() + interaction.response.body.size_hint()
}

/// Whether a header still carries a credential: an authorization or secret-named header
/// whose value was not replaced.
fn holds_credential(name: &str, value: &str) -> bool {
    if AUTH_HEADERS.contains(&name) {
        !value.ends_with("<redacted>")
    } else {
        is_secret_field(name) && !value.is_empty() && !is_placeholder(value)
    }
}

/// `<redacted>` or `<redacted-N>`.
fn is_placeholder(value: &str) -> bool {
    value
        .strip_prefix("<redacted")
        .and_then(|rest| rest.strip_suffix('>'))
        .is_some_and(|n| {
            n.is_empty()
                || n.strip_prefix('-')
                    .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
        })
}

/// Replaces every secret the built-in searches find (what follows `tskey-`, URL passwords,
/// gitleaks' formats) with `<redacted>`: for text shown to people (logs, reports, diffs),
/// which must never carry a key.
pub fn mask_tokens(text: &str) -> String {
    BUILT_IN
        .replace(text, |secret| {
            if secret.starts_with("tskey-") {
                "tskey-<redacted>".into()
            } else {
                "<redacted>".into()
            }
        })
        .unwrap_or_else(|| text.to_string())
}
