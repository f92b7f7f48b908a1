//! `--check`: does any real value of the map still appear in a text? The same whole-word
//! search as the replacement, addresses included, over the bytes as they are on disk, the
//! text of every base64 run in them and the decoded reading of every `%XX`-escaped run; an
//! occurrence that is part of a pseudonym (a real hostname `example` inside `domain-1.example`,
//! a tailnet address that is another one's pseudonym) is not one.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::map::{Kind, Map};
use super::replace::{Finder, base64_text, escaped_runs};

/// Where base64 of text may sit in a file.
static BASE64_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/]{16,}={0,2}").expect("valid"));

/// A real value found; the report names its kind and its pseudonym, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: Kind,
    pub pseudonym: String,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a real {} is still there (its pseudonym is {})",
            self.kind.describe(),
            self.pseudonym
        )
    }
}

pub struct Checker {
    reals: Finder,
    pseudonyms: Option<AhoCorasick>,
}

impl Checker {
    pub fn new(map: &Map) -> Checker {
        let pseudonyms: Vec<&str> = map.entries().map(|e| e.pseudonym.as_str()).collect();
        Checker {
            reals: Finder::new(map, true),
            pseudonyms: (!pseudonyms.is_empty()).then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&pseudonyms)
                    .expect("patterns of a map build")
            }),
        }
    }

    /// The real values in `text`, and in the text of its base64 runs, each once, in the
    /// order first seen.
    pub fn check(&self, map: &Map, text: &[u8]) -> Vec<Leftover> {
        let text = String::from_utf8_lossy(text);
        let mut out = self.check_text(map, &text);
        let base64 = BASE64_RUN
            .find_iter(&text)
            .filter_map(|run| base64_text(run.as_str()));
        // An escaped run is read decoded, and again with `+` as a space (a form's value).
        let escaped = escaped_runs(&text)
            .into_iter()
            .flat_map(|(_, decoded)| [decoded.replace('+', " "), decoded]);
        for view in base64.chain(escaped) {
            for leftover in self.check_text(map, &view) {
                if !out.contains(&leftover) {
                    out.push(leftover);
                }
            }
        }
        out
    }

    fn check_text(&self, map: &Map, text: &str) -> Vec<Leftover> {
        let spans: Vec<(usize, usize)> = self
            .pseudonyms
            .iter()
            .flat_map(|a| a.find_overlapping_iter(text))
            .map(|m| (m.start(), m.end()))
            .collect();
        let mut out: Vec<Leftover> = Vec::new();
        for found in self.reals.find(map, text) {
            let in_pseudonym = spans
                .iter()
                .any(|&(s, e)| s <= found.start && found.end <= e);
            let entry = map.get(&found.real).expect("found in the map");
            let leftover = Leftover {
                kind: entry.kind,
                pseudonym: entry.pseudonym.clone(),
            };
            if !in_pseudonym && !out.contains(&leftover) {
                out.push(leftover);
            }
        }
        out
    }
}
