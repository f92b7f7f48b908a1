//! The rules' keywords (`rules.rs`) as a table automaton walked by hand, a byte a step: the
//! prefilter that says which rules could match a text, run over every text the final scan reads.
//! It is aho-corasick's case-insensitive DFA for the keywords, copied into a denser form: a
//! state is a `u16` row of a table with a column per class of bytes (the bytes that occur in no
//! keyword are one class, and a letter's two cases another), the match states are numbered last
//! (one comparison says whether a step found a keyword), and each match state lists the rules of
//! every keyword that ends there, set once per text however often the keyword recurs (`ey` is in
//! every `key`).

use std::collections::{HashMap, HashSet};

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, StartKind};

pub struct Keywords {
    /// Each byte's class: its column in `next`.
    class: [u8; 256],
    /// log2 of a row's width.
    shift: u32,
    /// The state after each state and class; the start state is 0.
    next: Vec<u16>,
    /// The states from this one on are match states.
    first_match: u16,
    /// For each match state (from `first_match` on), the rules of the keywords ending there.
    rules_of: Vec<Vec<u16>>,
    /// How many rules there are.
    rules: usize,
}

impl Keywords {
    /// The automaton of `keywords` (lower case), `owners[k]` being the rules (of `rules`) that
    /// keyword `k` belongs to.
    pub fn new(keywords: &[String], owners: &[Vec<usize>], rules: usize) -> Keywords {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .start_kind(StartKind::Unanchored)
            .build(keywords)
            .expect("keywords build an automaton");
        let start = dfa
            .start_state(Anchored::No)
            .expect("the automaton is unanchored");
        // A byte that occurs in no keyword takes every state where any other such byte does
        // (to the start: no keyword's beginning ends with it); a letter's cases are one.
        let mut class = [0u8; 256];
        let mut classes = 1;
        for byte in keywords.iter().flat_map(|k| k.bytes()) {
            let byte = byte.to_ascii_lowercase();
            if class[usize::from(byte)] == 0 {
                class[usize::from(byte)] = classes;
                class[usize::from(byte.to_ascii_uppercase())] = classes;
                classes += 1;
            }
        }
        let mut example = vec![None; usize::from(classes)];
        for byte in 0..=255u8 {
            example[usize::from(class[usize::from(byte)])].get_or_insert(byte);
        }
        let example: Vec<u8> = example
            .into_iter()
            .map(|byte| byte.expect("every class has a byte"))
            .collect();
        // Every state reachable from the start, the start first, the match states last.
        let mut reached = vec![start];
        let mut seen = HashSet::from([start]);
        let mut at = 0;
        while let Some(&state) = reached.get(at) {
            at += 1;
            for &byte in &example {
                let to = dfa.next_state(Anchored::No, state, byte);
                if seen.insert(to) {
                    reached.push(to);
                }
            }
        }
        let (mut order, matching): (Vec<StateID>, Vec<StateID>) =
            reached.into_iter().partition(|&state| !dfa.is_match(state));
        assert_eq!(order.first(), Some(&start), "no keyword is empty");
        let first_match = u16::try_from(order.len()).expect("fewer than 65,536 states");
        order.extend(matching);
        let number: HashMap<StateID, u16> = order
            .iter()
            .enumerate()
            .map(|(n, &state)| (state, u16::try_from(n).expect("fewer than 65,536 states")))
            .collect();
        let shift = usize::from(classes).next_power_of_two().trailing_zeros();
        let mut next = vec![0u16; order.len() << shift];
        for (n, &state) in order.iter().enumerate() {
            for (column, &byte) in example.iter().enumerate() {
                next[(n << shift) | column] = number[&dfa.next_state(Anchored::No, state, byte)];
            }
        }
        let rules_of = order[usize::from(first_match)..]
            .iter()
            .map(|&state| {
                let mut of: Vec<u16> = (0..dfa.match_len(state))
                    .flat_map(|i| &owners[dfa.match_pattern(state, i).as_usize()])
                    .map(|&rule| u16::try_from(rule).expect("fewer than 65,536 rules"))
                    .collect();
                of.sort_unstable();
                of.dedup();
                of
            })
            .collect();
        Keywords {
            class,
            shift,
            next,
            first_match,
            rules_of,
            rules,
        }
    }

    /// The rules whose keywords `text` holds, each once, in rule order: a table step a byte,
    /// and one comparison for whether it reached a match state.
    pub fn candidates(&self, text: &[u8]) -> Vec<usize> {
        let mut found = vec![0u64; self.rules_of.len().div_ceil(64)];
        let mut rules = vec![0u64; self.rules.div_ceil(64)];
        let mut state = 0u16;
        for &byte in text {
            state = self.next
                [(usize::from(state) << self.shift) | usize::from(self.class[usize::from(byte)])];
            if state < self.first_match {
                continue;
            }
            let matched = usize::from(state - self.first_match);
            let (word, bit) = (matched / 64, 1u64 << (matched % 64));
            if found[word] & bit == 0 {
                found[word] |= bit;
                for &rule in &self.rules_of[matched] {
                    rules[usize::from(rule) / 64] |= 1 << (rule % 64);
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
}

#[cfg(test)]
mod tests {
    use aho_corasick::AhoCorasick;

    use super::*;

    /// The table finds what aho-corasick's own search finds, keyword by keyword: overlapping
    /// ones, in either case, across every class of byte.
    #[test]
    fn the_table_finds_every_keyword_aho_corasick_finds() {
        let keywords: Vec<String> = [
            "ey",
            "key",
            "s.",
            "sk_live",
            "a3-",
            "<add key=",
            "q~",
            "4b1d",
        ]
        .map(String::from)
        .to_vec();
        let owners: Vec<Vec<usize>> = (0..keywords.len()).map(|k| vec![k % 5, 5]).collect();
        let table = Keywords::new(&keywords, &owners, 6);
        let reference = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&keywords)
            .unwrap();
        let alphabet = b"eEyYkKsS._lLiIvVa3-<dD =qQ~4b1xX\n\"\xff\xc3";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for _ in 0..5000 {
            let len = next() % 24;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect();
            let mut expected: Vec<usize> = reference
                .find_overlapping_iter(&text)
                .flat_map(|m| owners[m.pattern().as_usize()].clone())
                .collect();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(
                table.candidates(&text),
                expected,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
