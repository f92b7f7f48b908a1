//! One session's journal as it is kept: per-sequence positions and per-interaction hits, the
//! unmatched requests and the findings on requests received. Every session's lists draw on one
//! [`Budget`] per server, within [`JournalLimits`], so that a flood of bad or huge requests, in
//! any number of sessions, cannot exhaust memory: text is clipped per entry, and what does not
//! fit is only counted (`summary.not_listed`). Positions and hits are kept only for what a
//! session used, so an idle or short session costs next to nothing on a large cassette.
//! `report.rs` is the form a journal is read in.

use std::collections::{BTreeMap, BTreeSet};

use crate::finding::{Finding, Level};
use crate::matching::Cheap;
use crate::report::{Overflow, Unmatched};

#[derive(Default)]
pub(super) struct Journal {
    pub(super) requests: u64,
    /// Per matcher sequence used: how many of its answers were given.
    pub(super) next: Cheap<usize, usize>,
    /// Per recorded interaction used: how many requests it answered.
    pub(super) hits: Cheap<usize, u64>,
    /// Per recorded interaction that answered by an equivalence: which ones (stable names).
    pub(super) equivalences: BTreeMap<usize, BTreeSet<&'static str>>,
    pub(super) unmatched: Vec<Unmatched>,
    pub(super) live_findings: Vec<Finding>,
    /// (number, request line) of each request that had findings.
    pub(super) live_requests: Vec<(usize, String)>,
    /// Bytes of text the lists above hold (drawn from the server's [`Budget`]).
    bytes: usize,
    /// What did not fit under the limits.
    pub(super) overflow: Overflow,
}

impl Journal {
    /// The next recorded answer of `sequence` (its `indices`), counted as given (and, with
    /// [`Use::Advance`], used up); after the last one the last again, or `None` when `strict`.
    pub(super) fn next_answer(
        &mut self,
        sequence: usize,
        indices: &[usize],
        strict: bool,
        using: Use,
    ) -> Option<usize> {
        let given = self.next.get(&sequence).copied().unwrap_or(0);
        if given >= indices.len() && strict {
            return None;
        }
        let index = indices[given.min(indices.len() - 1)];
        if using == Use::Advance {
            self.next.insert(sequence, given + 1);
        }
        *self.hits.entry(index).or_default() += 1;
        Some(index)
    }

    /// How many requests recorded interaction `index` answered.
    pub(super) fn hits_of(&self, index: usize) -> u64 {
        self.hits.get(&index).copied().unwrap_or(0)
    }

    /// Keeps a request's findings (their text already clipped) and its request line while the
    /// budget has room, and counts them either way.
    pub(super) fn add_findings(
        &mut self,
        budget: &mut Budget,
        findings: Vec<Finding>,
        line: String,
    ) {
        if findings.is_empty() {
            return;
        }
        let size = line.len()
            + findings
                .iter()
                .map(|f| f.issue.message.len() + f.issue.pointer.len() + FINDING_OVERHEAD)
                .sum::<usize>();
        if !budget.take(List::Findings, size) {
            for finding in findings {
                match finding.issue.level {
                    Level::Error => self.overflow.errors += 1,
                    Level::Warning => self.overflow.warnings += 1,
                }
            }
            return;
        }
        self.bytes += size;
        self.live_requests.push((findings[0].interaction, line));
        self.live_findings.extend(findings);
    }

    pub(super) fn add_unmatched(&mut self, budget: &mut Budget, unmatched: Unmatched) {
        let size = unmatched.request.len()
            + unmatched.reason.len()
            + unmatched.diff.len()
            + unmatched
                .nearest
                .as_ref()
                .map_or(0, |n| n.request.len() + n.cassette.len());
        if budget.take(List::Unmatched, size) {
            self.bytes += size;
            self.unmatched.push(unmatched);
        } else {
            self.overflow.unmatched += 1;
        }
    }
}

/// What all the journals of one server hold together, against its [`JournalLimits`].
#[derive(Default)]
pub(super) struct Budget {
    pub(super) limits: JournalLimits,
    bytes: usize,
    unmatched: usize,
    with_findings: usize,
}

/// The lists a journal keeps, each bounded by [`JournalLimits::entries`] over the server.
#[derive(Clone, Copy)]
enum List {
    Unmatched,
    Findings,
}

impl Budget {
    pub(super) fn new(limits: JournalLimits) -> Budget {
        Budget {
            limits,
            ..Budget::default()
        }
    }

    /// Takes room for one more entry of `size` bytes in `list`, if there is room.
    fn take(&mut self, list: List, size: usize) -> bool {
        let listed = match list {
            List::Unmatched => &mut self.unmatched,
            List::Findings => &mut self.with_findings,
        };
        if *listed >= self.limits.entries || self.bytes + size > self.limits.bytes {
            return false;
        }
        *listed += 1;
        self.bytes += size;
        true
    }

    /// Gives back what `journal` held (it is being cleared).
    pub(super) fn give_back(&mut self, journal: &Journal) {
        self.bytes -= journal.bytes;
        self.unmatched -= journal.unmatched.len();
        self.with_findings -= journal.live_requests.len();
    }
}

/// How much a server's journals list, all sessions together; beyond that they only count
/// (`summary.not_listed`), so a flood of bad or huge requests cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLimits {
    /// Unmatched requests listed, and requests with findings listed (each).
    pub entries: usize,
    /// Bytes of text (request lines, diffs, messages) all lists hold together.
    pub bytes: usize,
}

impl Default for JournalLimits {
    fn default() -> JournalLimits {
        JournalLimits {
            entries: JOURNAL_LIMIT,
            bytes: JOURNAL_BYTES,
        }
    }
}

/// How many bytes of text a server's journals hold, all sessions together (16 MiB); more
/// entries are only counted.
pub const JOURNAL_BYTES: usize = 16 * 1024 * 1024;

/// The most a journal keeps of one request line, finding message or pointer (2 KiB).
pub const TEXT_KEPT: usize = 2048;

/// The most a journal keeps, and an answer shows, of one diff (16 KiB).
pub const DIFF_KEPT: usize = 16 * 1024;

/// What a finding costs besides its message and pointer (cassette, operation, rule, ...).
const FINDING_OVERHEAD: usize = 64;

/// `text` cut to at most `max` bytes (at a character boundary), saying how much was cut. The
/// result is a new, small string: truncating in place would keep the whole allocation (a
/// finding's message quoting a 16 MiB body would keep 16 MiB). A text kept whole gives back any
/// spare capacity, since the journal's bounds count the bytes kept.
pub(super) fn clip(mut text: String, max: usize) -> String {
    if text.len() <= max {
        text.shrink_to_fit();
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({cut} of {} bytes shown)", &text[..cut], text.len())
}

/// How many unmatched requests, and how many requests with findings, a server's journals list,
/// all sessions together; more are only counted.
pub const JOURNAL_LIMIT: usize = 1000;

/// Whether giving an answer moves its sequence on (`HEAD` answered from a `GET` does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    Advance,
    Peek,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_text_keeps_only_what_it_shows() {
        let cut = clip("a".repeat(1 << 20), 8);
        assert_eq!(cut, format!("aaaaaaaa… (8 of {} bytes shown)", 1 << 20));
        assert!(cut.capacity() < 64, "capacity {}", cut.capacity());
        // Short text cut elsewhere in place still holds its old allocation; clip gives it back.
        let mut short = "b".repeat(1 << 20);
        short.truncate(10);
        let kept = clip(short, 2048);
        assert_eq!(kept, "bbbbbbbbbb");
        assert!(kept.capacity() < 64, "capacity {}", kept.capacity());
    }
}
