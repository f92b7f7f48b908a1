//! The secret search, one mechanism for redaction, the final scan and the masking of log lines:
//! [`Scanner::find`] returns every secret in a string, in the string as it is and in each of
//! its other readings (`readings.rs`, read again up to [`MAX_DEPTH`] deep: base64 inside a
//! percent-encoded URL), each with the range of the string that holds it. A secret is a
//! `tskey-` token, the `user:password` of a URL, a match of a gitleaks rule (`rules.rs`) or of
//! a user's `--redact` pattern, or a value already redacted elsewhere in the cassette.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use regex::Regex;

use super::readings::readings;
use super::rules::{Found, RULES};

/// Tailscale API keys, auth keys, OAuth client secrets, access tokens, webhook secrets.
const TOKEN: &str = r"tskey-[A-Za-z0-9][A-Za-z0-9_-]*";
/// The `user:password` of a URL (`https://user:password@host/`).
const URL_CREDENTIALS: &str = r"[A-Za-z][A-Za-z0-9+.-]*://([^\s/?#@:]*:[^\s/?#@]+)@";
/// How many readings deep a string is read (a reading of a reading of a reading).
const MAX_DEPTH: usize = 3;

static TOKEN_REGEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(TOKEN).expect("valid"));
static URL_REGEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(URL_CREDENTIALS).expect("valid"));
/// Where a token can start; the token pattern runs only where this is found.
static TOKEN_START: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("tskey-"));
static URL_START: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("://"));

/// What kind of secret was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum What {
    Token,
    UrlCredentials,
    Rule(&'static str),
    Pattern,
    Known,
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Token | What::Pattern => f.write_str("a string shaped like a secret"),
            What::UrlCredentials => f.write_str("a URL with a password"),
            What::Rule(id) => write!(f, "a string shaped like a secret (gitleaks rule {id})"),
            What::Known => f.write_str("a value redacted elsewhere"),
        }
    }
}

/// A secret in a string: the range of the string that holds it (in whatever encoding), and
/// the secret itself, decoded.
#[derive(Debug, Clone)]
pub struct Hit {
    pub range: Range<usize>,
    pub secret: String,
    pub what: What,
}

/// A secret already redacted, searched for everywhere else.
struct Known {
    secret: String,
    finder: Finder<'static>,
}

#[derive(Default)]
pub struct Scanner {
    /// The user's `--redact` patterns.
    pub patterns: Vec<Regex>,
    known: Vec<Known>,
}

impl Scanner {
    /// Searches for `secret` too from now on.
    pub fn learn(&mut self, secret: &str) {
        self.known.push(Known {
            secret: secret.to_string(),
            finder: Finder::new(secret).into_owned(),
        });
    }

    /// Every secret in `text` and in its other readings; placeholders are not secrets.
    pub fn find(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.find_in(text, 0, &mut hits);
        hits.retain(|hit| !super::is_placeholder(&hit.secret));
        hits
    }

    fn find_in(&self, text: &str, depth: usize, hits: &mut Vec<Hit>) {
        self.find_plain(text, hits);
        if depth + 1 >= MAX_DEPTH {
            return;
        }
        for reading in readings(text) {
            let mut inner = Vec::new();
            self.find_in(&reading.text, depth + 1, &mut inner);
            hits.extend(inner.into_iter().map(|hit| Hit {
                range: reading.source(hit.range),
                ..hit
            }));
        }
    }

    /// The secrets in `text` as it is.
    fn find_plain(&self, text: &str, hits: &mut Vec<Hit>) {
        let mut hit = |range: Range<usize>, what| {
            let range = char_bounds(text, range);
            hits.push(Hit {
                secret: text[range.clone()].to_string(),
                range,
                what,
            })
        };
        if TOKEN_START.find(text.as_bytes()).is_some() {
            for m in TOKEN_REGEX.find_iter(text) {
                hit(m.range(), What::Token);
            }
        }
        if URL_START.find(text.as_bytes()).is_some() {
            for captures in URL_REGEX.captures_iter(text) {
                if let Some(m) = captures.get(1) {
                    hit(m.range(), What::UrlCredentials);
                }
            }
        }
        let mut found = Vec::new();
        RULES.find(text, &mut found);
        for Found { range, rule } in found {
            hit(range, What::Rule(rule));
        }
        for pattern in &self.patterns {
            for m in pattern.find_iter(text) {
                hit(m.range(), What::Pattern);
            }
        }
        for known in &self.known {
            for at in known.finder.find_iter(text.as_bytes()) {
                hit(at..at + known.secret.len(), What::Known);
            }
        }
    }

    /// Where `text` holds secrets, in order, each with the secret it holds; overlapping
    /// secrets make one span (holding the first one's secret when it covers the others, else
    /// the span's own text).
    pub fn spans(&self, text: &str) -> Vec<(Range<usize>, String)> {
        let mut hits = self.find(text);
        hits.sort_by_key(|hit| (hit.range.start, std::cmp::Reverse(hit.range.end)));
        let mut spans: Vec<(Range<usize>, String)> = Vec::new();
        for hit in hits {
            let range = char_bounds(text, hit.range);
            match spans.last_mut() {
                Some((last, secret)) if range.start < last.end => {
                    if range.end > last.end {
                        last.end = range.end;
                        *secret = text[last.clone()].to_string();
                    }
                }
                _ => spans.push((range, hit.secret)),
            }
        }
        spans
    }

    /// `text` with every secret replaced by `with(secret)`; `None` when there is none.
    pub fn replace(&self, text: &str, with: impl FnMut(&str) -> String) -> Option<String> {
        let spans = self.spans(text);
        (!spans.is_empty()).then(|| splice(text, spans, with))
    }
}

/// `text` with each span replaced by `with(its secret)`.
pub fn splice(
    text: &str,
    spans: Vec<(Range<usize>, String)>,
    mut with: impl FnMut(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (range, secret) in spans {
        out.push_str(&text[done..range.start]);
        out.push_str(&with(&secret));
        done = range.end;
    }
    out.push_str(&text[done..]);
    out
}

/// `range` widened to the nearest character boundaries of `text`.
fn char_bounds(text: &str, range: Range<usize>) -> Range<usize> {
    let (mut start, mut end) = (range.start.min(text.len()), range.end.min(text.len()));
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// A scanner with only the built-in searches: tokens, URL credentials, gitleaks' rules.
pub static BUILT_IN: LazyLock<Scanner> = LazyLock::new(Scanner::default);
