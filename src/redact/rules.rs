//! Well-known secret formats (PEM private keys, JWTs, AWS, GitHub, Slack, Stripe, ... keys), as
//! data: gitleaks' default rule set, written into `gitleaks-rules.json` by
//! `scripts/update-secret-rules` (gitleaks' version and its MIT licence beside it). Each rule's
//! keywords are a prefilter: one case-insensitive Aho-Corasick pass over a text (all the rules'
//! keywords in one automaton) says which rules could match it, and only those run their regex,
//! compiled the first time it is needed. The regexes are compiled as Go reads them: ASCII `\w`,
//! `\d`, `\s` and `\b` (Unicode classes would also make some of them take millions of instructions
//! to compile), over bytes. A Go regex that the regex crate does not accept is skipped; a unit test
//! pins how many compile. As in gitleaks, a match counts only when its secret (the rule's secret
//! group, else the first group that matched, else the whole match) has more Shannon entropy than
//! the rule asks.

use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, StartKind};
use regex::bytes::Regex;
use serde::Deserialize;

const RULES_JSON: &str = include_str!("gitleaks-rules.json");

/// Rules not used, each for a reason.
const NOT_USED: &[&str] = &[
    // The contextual `name = value` rule: secret-named fields are matched by name instead
    // (fields.rs), and on API JSON it takes public keys and ids for secrets.
    "generic-api-key",
];

/// The rule set, parsed once; each regex compiles on first use.
pub static RULES: LazyLock<Rules> = LazyLock::new(|| Rules::parse(RULES_JSON));

#[derive(Deserialize)]
struct File {
    version: String,
    rules: Vec<Raw>,
}

#[derive(Deserialize)]
struct Raw {
    id: String,
    regex: String,
    keywords: Vec<String>,
    #[serde(default)]
    entropy: f64,
    #[serde(default, rename = "secretGroup")]
    secret_group: usize,
}

struct Rule {
    id: String,
    source: String,
    entropy: f64,
    secret_group: usize,
    /// `None` when the Go regex does not compile in Rust.
    regex: OnceLock<Option<Regex>>,
}

impl Rule {
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                regex::bytes::RegexBuilder::new(&self.source)
                    .unicode(false)
                    .size_limit(64 << 20)
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

pub struct Rules {
    /// The gitleaks version the rules come from.
    pub version: String,
    rules: Vec<Rule>,
    /// Every keyword, case-insensitive, as a DFA walked by hand ([`Rules::candidates`]).
    keywords: DFA,
    start: StateID,
    /// The bytes that leave the automaton in its start state (they begin no keyword).
    idle: [bool; 256],
    /// For each keyword, the rules it belongs to.
    owners: Vec<Vec<usize>>,
}

/// A secret a rule found: where it is in the text (in bytes: it may cut a character that the
/// rule's class took byte by byte), and the rule's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub range: Range<usize>,
    pub rule: &'static str,
}

impl Rules {
    fn parse(json: &str) -> Rules {
        let file: File = serde_json::from_str(json).expect("gitleaks-rules.json is valid");
        let mut keywords: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut rules = Vec::new();
        for raw in file
            .rules
            .into_iter()
            .filter(|raw| !NOT_USED.contains(&raw.id.as_str()))
        {
            let index = rules.len();
            for keyword in &raw.keywords {
                let keyword = keyword.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == keyword) {
                    Some(at) => owners[at].push(index),
                    None => {
                        keywords.push(keyword);
                        owners.push(vec![index]);
                    }
                }
            }
            rules.push(Rule {
                id: raw.id,
                source: raw.regex,
                entropy: raw.entropy,
                secret_group: raw.secret_group,
                regex: OnceLock::new(),
            });
        }
        let keywords = DFA::builder()
            .ascii_case_insensitive(true)
            .start_kind(StartKind::Unanchored)
            .build(&keywords)
            .expect("keywords build an automaton");
        let start = keywords
            .start_state(Anchored::No)
            .expect("the automaton is unanchored");
        let idle = std::array::from_fn(|byte| {
            keywords.next_state(Anchored::No, start, byte as u8) == start
        });
        Rules {
            version: file.version,
            rules,
            keywords,
            start,
            idle,
            owners,
        }
    }

    /// The rules whose keywords `text` holds, each once, in rule order: one walk of the
    /// keywords' automaton over the text, a byte a step, each state naming every keyword that
    /// ends there (overlapping ones too); a keyword found again (`ey` is in every `key`) costs a
    /// bit test. From the start state, a run of bytes that begin no keyword is passed over
    /// without a step.
    fn candidates(&self, text: &str) -> Vec<usize> {
        let mut seen = vec![0u64; self.owners.len().div_ceil(64)];
        let mut rules = vec![0u64; self.rules.len().div_ceil(64)];
        let dfa = &self.keywords;
        let (bytes, mut at, mut state) = (text.as_bytes(), 0, self.start);
        while at < bytes.len() {
            if state == self.start {
                while at < bytes.len() && self.idle[usize::from(bytes[at])] {
                    at += 1;
                }
                let Some(&byte) = bytes.get(at) else { break };
                state = dfa.next_state(Anchored::No, state, byte);
            } else {
                state = dfa.next_state(Anchored::No, state, bytes[at]);
            }
            at += 1;
            if !dfa.is_match(state) {
                continue;
            }
            for index in 0..dfa.match_len(state) {
                let keyword = dfa.match_pattern(state, index).as_usize();
                let (word, bit) = (keyword / 64, 1u64 << (keyword % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    for &rule in &self.owners[keyword] {
                        rules[rule / 64] |= 1 << (rule % 64);
                    }
                }
            }
        }
        let mut candidates = Vec::new();
        for (word, mut bits) in rules.into_iter().enumerate() {
            while bits != 0 {
                candidates.push(word * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
        candidates
    }

    /// Appends every secret the rules find in `text` to `out`.
    pub fn find(&'static self, text: &str, out: &mut Vec<Found>) {
        for index in self.candidates(text) {
            let rule = &self.rules[index];
            let Some(regex) = rule.regex() else { continue };
            for captures in regex.captures_iter(text.as_bytes()) {
                let secret = match rule.secret_group {
                    0 => captures
                        .iter()
                        .skip(1)
                        .flatten()
                        .find(|m| !m.is_empty())
                        .or_else(|| captures.get(0)),
                    group => captures.get(group),
                };
                let Some(secret) = secret.filter(|m| !m.is_empty()) else {
                    continue;
                };
                if rule.entropy > 0.0 && entropy(secret.as_bytes()) <= rule.entropy {
                    continue;
                }
                out.push(Found {
                    range: secret.range(),
                    rule: &rule.id,
                });
            }
        }
    }

    /// How many rules are used, and how many of them compile in Rust.
    pub fn counts(&self) -> (usize, usize) {
        let compiled = self.rules.iter().filter(|r| r.regex().is_some()).count();
        (self.rules.len(), compiled)
    }
}

/// Shannon entropy of `text` in bits per byte, as gitleaks computes it.
fn entropy(text: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &byte in text {
        counts[usize::from(byte)] += 1;
    }
    let len = text.len() as f64;
    counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_in(text: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        RULES.find(text, &mut out);
        out.into_iter().map(|f| f.rule).collect()
    }

    /// An update of the rule set that loses rules (or a regex crate that stops compiling some)
    /// shows here.
    #[test]
    fn rules_that_compile_are_pinned() {
        assert_eq!(RULES.version, "v8.30.1");
        assert_eq!(RULES.counts(), (220, 220));
    }

    #[test]
    fn well_known_formats_are_found() {
        let jwt = concat!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.",
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        );
        assert!(rules_in(jwt).contains(&"jwt"));
        assert!(rules_in("id AKIAZ3MHQWERTY7XCVBN in it").contains(&"aws-access-token"));
        assert!(
            rules_in("token ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234 here").contains(&"github-pat")
        );
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
        );
        assert!(rules_in(&pem).contains(&"private-key"));
    }

    #[test]
    fn ordinary_api_text_is_not_a_secret() {
        let device = r#"{"nodeKey": "nodekey:01234567890abcdef01234567890abcdef01234567890abcdef0123456789ab", "keyExpiryDisabled": false, "id": "n5SUKe8CNTRL", "name": "laptop.example.ts.net"}"#;
        assert_eq!(rules_in(device), Vec::<&str>::new());
    }

    #[test]
    fn entropy_is_in_bits_per_byte() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
