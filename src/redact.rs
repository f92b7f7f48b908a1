//! Secrets never reach a cassette (DESIGN.md, "Record"). [`Redactor::redact`] rewrites an
//! exchange before anything is written: the Authorization value (kept as `Bearer <redacted>` /
//! `Basic <redacted>`), cookies (dropped), every `tskey-…` token in headers, query and bodies,
//! the values of secret-bearing fields ([`SECRET_FIELDS`]: the created auth key's `key`, OAuth
//! `access_token`s and client secrets in JSON or form bodies, webhook `secret`s, log streaming
//! tokens and cloud credentials), and whatever the user adds with
//! `--redact REGEX` and `--redact-field JSON-POINTER`. A secret becomes `<redacted-N>`, the same
//! N wherever the same value appears in the cassette.
//!
//! [`Redactor::check`] is the final scan, over the very text to be written: it refuses an
//! exchange that still holds a string shaped like a secret, or a value that was redacted
//! elsewhere, and otherwise hands the text over as [`Scanned`], the only thing the recorder's
//! writer takes. Its error names the place and never the secret.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use memchr::memmem::Finder;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;
use serde_json::Value;

use crate::body::Body;
use crate::cassette::{Headers, Interaction, media_type, parse_query};

/// JSON and form fields whose values are secrets wherever they appear: the created auth key, OAuth
/// tokens and client secrets (the token exchange, OAuth apps, posture integrations), webhook
/// secrets, and the credentials of log streaming destinations.
pub const SECRET_FIELDS: &[&str] = &[
    "key",
    "secret",
    "client_secret",
    "clientSecret",
    "access_token",
    "refresh_token",
    "id_token",
    "password",
    "token",
    "s3SecretAccessKey",
    "gcsCredentials",
];
/// Headers whose whole value is a credential.
const AUTH_HEADERS: &[&str] = &["authorization", "proxy-authorization"];
/// Headers never stored.
const DROPPED_HEADERS: &[&str] = &["cookie", "set-cookie"];
/// Tailscale API keys, auth keys, OAuth client secrets, access tokens, webhook secrets.
const TOKEN: &str = r"tskey-[A-Za-z0-9][A-Za-z0-9_-]*";
/// Where a token can start; the token pattern runs only where this is found.
static TOKEN_START: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("tskey-"));
/// Secrets shorter than this are not searched for elsewhere (too many false alarms).
const MIN_SECRET: usize = 8;

/// An exchange the final scan refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{place} still holds {what}")]
pub struct Leak {
    /// Where: `request header authorization`, `response body /key`, ...
    pub place: String,
    pub what: &'static str,
}

pub struct Redactor {
    /// The token pattern and the user's `--redact` patterns.
    patterns: Vec<Regex>,
    /// The user's `--redact-field` pointers into bodies.
    fields: Vec<String>,
    /// Secret value -> its placeholder.
    placeholders: HashMap<String, String>,
    /// Placeholder numbers already used by the cassette being extended.
    offset: usize,
    /// The secrets long enough to look for elsewhere, each with its placeholder and a searcher
    /// built once (every string of every exchange is searched for them).
    known: Vec<Known>,
}

struct Known {
    secret: String,
    placeholder: String,
    /// Finds the secret in a string.
    finder: Finder<'static>,
    /// Finds it in JSON text, where it appears escaped.
    escaped: Finder<'static>,
}

impl Known {
    fn new(secret: &str, placeholder: String) -> Known {
        let escaped = serde_json::to_string(secret).expect("a string serializes");
        Known {
            secret: secret.to_string(),
            placeholder,
            finder: Finder::new(secret).into_owned(),
            escaped: Finder::new(&escaped[1..escaped.len() - 1]).into_owned(),
        }
    }

    fn is_in(&self, text: &str) -> bool {
        self.finder.find(text.as_bytes()).is_some()
    }
}

/// An interaction's canonical text (as it sits inside `interactions`) that passed the final
/// scan: what the recorder's writer takes, and the only thing it takes.
#[derive(Debug)]
pub struct Scanned(Vec<u8>);

impl Scanned {
    pub fn text(&self) -> &[u8] {
        &self.0
    }
}

impl Redactor {
    pub fn new(extra_patterns: &[String], fields: &[String]) -> Result<Redactor, regex::Error> {
        let mut patterns = vec![Regex::new(TOKEN)?];
        for pattern in extra_patterns {
            patterns.push(Regex::new(pattern)?);
        }
        Ok(Redactor {
            patterns,
            fields: fields.to_vec(),
            placeholders: HashMap::new(),
            offset: 0,
            known: Vec::new(),
        })
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
            // Longest first, so that a secret holding another is replaced whole.
            let at = self
                .known
                .partition_point(|k| k.secret.len() >= secret.len());
            self.known
                .insert(at, Known::new(secret, placeholder.clone()));
        }
        placeholder
    }

    /// Where the patterns that can match `text` start: the token pattern (first) only where
    /// `tskey-` is, so that most strings skip the regex.
    fn first_pattern(&self, text: &str) -> usize {
        match TOKEN_START.find(text.as_bytes()) {
            Some(_) => 0,
            None => 1,
        }
    }

    fn shaped_like_secret(&self, text: &str) -> bool {
        self.patterns[self.first_pattern(text)..]
            .iter()
            .any(|p| p.is_match(text))
    }

    /// Replaces every pattern match and every secret already known in `text`, in place; a text
    /// with nothing to replace is left untouched (no copy).
    fn scrub(&mut self, text: &mut String) {
        for i in self.first_pattern(text)..self.patterns.len() {
            let found: Vec<String> = self.patterns[i]
                .find_iter(text)
                .map(|m| m.as_str().to_string())
                .collect();
            let mut replacements: Vec<(String, String)> = found
                .into_iter()
                .map(|secret| {
                    let placeholder = self.placeholder(&secret);
                    (secret, placeholder)
                })
                .collect();
            // Longest first: a match may hold a shorter one (`tskey-auth` in a whole token).
            replacements.sort_by_key(|(secret, _)| std::cmp::Reverse(secret.len()));
            for (secret, placeholder) in replacements {
                *text = text.replace(&secret, &placeholder);
            }
        }
        for known in &self.known {
            if known.is_in(text) {
                *text = text.replace(&known.secret, &known.placeholder);
            }
        }
    }

    /// Rewrites `interaction` so that no secret is left in it.
    pub fn redact(&mut self, interaction: &mut Interaction) {
        let before = self.placeholders.len();
        let request = &mut interaction.request;
        self.redact_headers(&mut request.headers);
        if let Some(query) = &request.query {
            request.query = Some(self.redact_pairs(query));
        }
        self.redact_body(&mut request.body, &request.headers);
        let response = &mut interaction.response;
        self.redact_headers(&mut response.headers);
        self.redact_body(&mut response.body, &response.headers);
        // A secret first seen in a later part may also sit in an earlier one.
        let mut known = before;
        while self.placeholders.len() > known {
            known = self.placeholders.len();
            self.rescrub(interaction);
        }
    }

    fn redact_headers(&mut self, headers: &mut Headers) {
        headers.retain(|name, _| !DROPPED_HEADERS.contains(&name.as_str()));
        for name in AUTH_HEADERS {
            if let Some(value) = headers.get_mut(*name) {
                let (scheme, credential) = value.split_once(' ').unwrap_or(("", value.as_str()));
                let (scheme, credential) = (scheme.to_string(), credential.trim().to_string());
                if scheme.eq_ignore_ascii_case("basic") {
                    // `user:password` in base64: the user part is the API key.
                    if let Ok(decoded) = BASE64.decode(credential.as_bytes()) {
                        for part in String::from_utf8_lossy(&decoded)
                            .split(':')
                            .filter(|p| !p.is_empty())
                        {
                            self.placeholder(part);
                        }
                    }
                }
                self.placeholder(&credential);
                *value = if scheme.is_empty() {
                    "<redacted>".into()
                } else {
                    format!("{scheme} <redacted>")
                };
            }
        }
        for (name, value) in headers.iter_mut() {
            if !AUTH_HEADERS.contains(&name.as_str()) {
                self.scrub(value);
            }
        }
    }

    /// A query string or form body: secret fields by name, then tokens anywhere.
    fn redact_pairs(&mut self, text: &str) -> String {
        let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let mut parts = Vec::new();
        for ((name, value), raw) in parse_query(text)
            .into_iter()
            .zip(text.split('&').filter(|p| !p.is_empty()))
        {
            if SECRET_FIELDS.contains(&name.as_str()) && !value.is_empty() {
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
        let mut pairs = parts.join("&");
        self.scrub(&mut pairs);
        pairs
    }

    fn redact_body(&mut self, body: &mut Body, headers: &Headers) {
        match body {
            Body::Json(value) => {
                self.redact_json(value);
                for pointer in self.fields.clone() {
                    if let Some(target) = value.pointer_mut(&pointer) {
                        let secret = match &*target {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        *target = Value::String(self.placeholder(&secret));
                    }
                }
            }
            Body::Text(text)
                if media_type(headers).as_deref() == Some("application/x-www-form-urlencoded") =>
            {
                *text = self.redact_pairs(text);
            }
            Body::Text(text) => self.scrub(text),
            Body::Binary(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                if self.shaped_like_secret(&text) {
                    // Bytes that hold a secret are not kept at all.
                    *body = Body::Text("<redacted binary body>".into());
                }
            }
            Body::Empty => {}
        }
    }

    fn redact_json(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (name, child) in map.iter_mut() {
                    match child {
                        Value::String(secret)
                            if SECRET_FIELDS.contains(&name.as_str()) && !secret.is_empty() =>
                        {
                            *secret = self.placeholder(secret);
                        }
                        _ => self.redact_json(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            Value::String(text) => self.scrub(text),
            _ => {}
        }
    }

    /// Replaces secrets learned while redacting this exchange wherever else they occur in it.
    fn rescrub(&mut self, interaction: &mut Interaction) {
        visit_strings_mut(interaction, &mut |s| self.scrub(s));
    }

    /// The final scan, over the text to be written: no string shaped like a secret, no value
    /// redacted elsewhere, no credential in an authorization header.
    ///
    /// JSON text escapes each character on its own, so the text shows every `tskey-` and every
    /// known secret (escaped) that any string holds; most exchanges show none and are done with
    /// one pass over their text. The strings themselves are walked, which also names the place,
    /// when the text shows one of them, and for what the text cannot show: the user's patterns
    /// (defined on strings) and binary bodies (written as base64).
    pub fn check(&self, interaction: &Interaction) -> Result<Scanned, Leak> {
        let mut text = Vec::with_capacity(4096);
        interaction.write_canonical(&mut text);
        if self.must_walk(interaction, &text) {
            self.check_strings(interaction)?;
        }
        Ok(Scanned(text))
    }

    /// Whether the strings must be walked: the text shows a token or a known secret, an
    /// authorization header kept its credential, or the exchange holds what the text cannot
    /// show.
    fn must_walk(&self, interaction: &Interaction, text: &[u8]) -> bool {
        let (request, response) = (&interaction.request, &interaction.response);
        let credential = [&request.headers, &response.headers]
            .into_iter()
            .flatten()
            .any(|(name, value)| holds_credential(name, value));
        let binary = [&request.body, &response.body]
            .into_iter()
            .any(|body| matches!(body, Body::Binary(_)));
        self.patterns.len() > 1
            || binary
            || credential
            || TOKEN_START.find(text).is_some()
            || self
                .known
                .iter()
                .any(|known| known.escaped.find(text).is_some())
    }

    fn check_strings(&self, interaction: &Interaction) -> Result<(), Leak> {
        let mut leak = None;
        visit_strings(interaction, &mut |place, s| {
            if leak.is_some() {
                return;
            }
            let what = if matches!(place.part, Part::Header(name) if holds_credential(name, s)) {
                "a credential"
            } else if self.shaped_like_secret(s) {
                "a string shaped like a secret"
            } else if self.known.iter().any(|known| known.is_in(s)) {
                "a value redacted elsewhere"
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

    /// `text` with every pattern match and every known secret shown as `<secret>`.
    fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for pattern in &self.patterns {
            out = pattern.replace_all(&out, "<secret>").into_owned();
        }
        for known in &self.known {
            out = out.replace(&known.secret, "<secret>");
        }
        out
    }
}

/// Whether a header still carries a credential: an authorization header whose value was not
/// replaced.
fn holds_credential(name: &str, value: &str) -> bool {
    AUTH_HEADERS.contains(&name) && !value.ends_with("<redacted>")
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

/// Where a string sits in an exchange; written out (`response body /devices/0/name`) only when
/// a leak is reported, so that a clean exchange is scanned without building names.
struct Place<'a> {
    side: &'static str,
    part: Part<'a>,
    /// Object keys and array indices down to the string, for a body.
    path: &'a [Step<'a>],
}

#[derive(Clone, Copy)]
enum Part<'a> {
    Method,
    Path,
    HeaderName,
    Header(&'a str),
    Query,
    Body,
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.part {
            Part::Method => return write!(f, "{} method", self.side),
            Part::Path => return write!(f, "{} path", self.side),
            Part::HeaderName => return write!(f, "{} header name", self.side),
            Part::Header(name) => return write!(f, "{} header {name}", self.side),
            Part::Query => return write!(f, "{} query", self.side),
            Part::Body => write!(f, "{} body", self.side)?,
        }
        if !self.path.is_empty() {
            f.write_str(" ")?;
        }
        for step in self.path {
            match step {
                Step::Key(key) => write!(f, "/{}", key.replace('~', "~0").replace('/', "~1"))?,
                Step::Index(i) => write!(f, "/{i}")?,
            }
        }
        Ok(())
    }
}

/// Calls `f(place, string)` for every string of an exchange as the cassette holds it: the
/// method and path, header names and values, the query, and every string in a body (JSON
/// strings and object keys, text).
fn visit_strings(interaction: &Interaction, f: &mut impl FnMut(&Place, &str)) {
    for (part, line) in [
        (Part::Method, &interaction.request.method),
        (Part::Path, &interaction.request.path),
    ] {
        let place = Place {
            side: "request",
            part,
            path: &[],
        };
        f(&place, line);
    }
    for (side, headers, query, body) in [
        (
            "request",
            &interaction.request.headers,
            interaction.request.query.as_deref(),
            &interaction.request.body,
        ),
        (
            "response",
            &interaction.response.headers,
            None,
            &interaction.response.body,
        ),
    ] {
        let at = |part| Place {
            side,
            part,
            path: &[],
        };
        for (name, value) in headers {
            f(&at(Part::HeaderName), name);
            f(&at(Part::Header(name)), value);
        }
        if let Some(query) = query {
            f(&at(Part::Query), query);
        }
        match body {
            Body::Json(value) => visit_json(value, side, &mut Vec::new(), f),
            Body::Text(text) => f(&at(Part::Body), text),
            Body::Binary(bytes) => f(&at(Part::Body), &String::from_utf8_lossy(bytes)),
            Body::Empty => {}
        }
    }
}

fn body_place<'a>(side: &'static str, path: &'a [Step<'a>]) -> Place<'a> {
    Place {
        side,
        part: Part::Body,
        path,
    }
}

fn visit_json<'v>(
    value: &'v Value,
    side: &'static str,
    path: &mut Vec<Step<'v>>,
    f: &mut impl FnMut(&Place, &str),
) {
    match value {
        Value::String(s) => f(&body_place(side, path), s),
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key));
                f(&body_place(side, path), key);
                visit_json(child, side, path, f);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                visit_json(child, side, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

fn visit_strings_mut(interaction: &mut Interaction, f: &mut impl FnMut(&mut String)) {
    for (headers, body) in [
        (
            &mut interaction.request.headers,
            &mut interaction.request.body,
        ),
        (
            &mut interaction.response.headers,
            &mut interaction.response.body,
        ),
    ] {
        headers.values_mut().for_each(&mut *f);
        match body {
            Body::Json(value) => visit_json_mut(value, f),
            Body::Text(text) => f(text),
            Body::Binary(_) | Body::Empty => {}
        }
    }
    if let Some(query) = &mut interaction.request.query {
        f(query);
    }
}

fn visit_json_mut(value: &mut Value, f: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Object(map) => map.values_mut().for_each(|child| visit_json_mut(child, f)),
        Value::Array(items) => items.iter_mut().for_each(|child| visit_json_mut(child, f)),
        _ => {}
    }
}

/// Replaces what follows `tskey-` with `<redacted>`: for text shown to people (logs, reports,
/// diffs), which must never carry a key.
pub fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("tskey-") {
        out.push_str(&rest[..at + "tskey-".len()]);
        rest = &rest[at + "tskey-".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        out.push_str("<redacted>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
