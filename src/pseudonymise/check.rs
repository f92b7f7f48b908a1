//! `--check`: does any real value of the map still appear in a text? The same whole-word
//! search as the replacement, addresses included, over the bytes as they are on disk; an
//! occurrence that is part of a pseudonym (a real hostname `example` inside `domain-1.example`,
//! a tailnet address that is another one's pseudonym) is not one.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::map::{Kind, Map};
use super::replace::Finder;

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

    /// The real values in `text`, each once, in the order first seen.
    pub fn check(&self, map: &Map, text: &[u8]) -> Vec<Leftover> {
        let text = String::from_utf8_lossy(text);
        let spans: Vec<(usize, usize)> = self
            .pseudonyms
            .iter()
            .flat_map(|a| a.find_overlapping_iter(text.as_ref()))
            .map(|m| (m.start(), m.end()))
            .collect();
        let mut out: Vec<Leftover> = Vec::new();
        for found in self.reals.find(map, &text) {
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
