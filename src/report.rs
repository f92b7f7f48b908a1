//! The replay journal: what a replay server answered and what it could not. `GET
//! /__tailtape/report` returns it as JSON, `--report FILE` writes it on exit, and `--strict`
//! turns anything unmatched, unused or invalid into exit code 1. A report's top level is the
//! default session (requests without a `tailtape-session` header), as before sessions, and
//! named sessions appear under `sessions`; whether a recorded interaction was used is a question
//! about the whole run, so the top-level `unused` lists what no request of any session used.
//! [`ensure_writable`] checks a report's path (this one or a JUnit file) at start, so a typo
//! fails before a run, not after.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::finding::{Finding, Level};

/// A recorded interaction, by cassette and position, with its request line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionRef {
    pub cassette: String,
    pub interaction: usize,
    pub request: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matched {
    #[serde(flatten)]
    pub recorded: InteractionRef,
    /// How many requests this interaction answered.
    pub count: u64,
    /// The equivalences by which requests written differently matched it (`date-time-instant`,
    /// ...; see README "Matching"), absent when every request was written as recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub equivalences: Vec<String>,
}

/// A request that got no recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmatched {
    pub request: String,
    /// Why: `no recorded request matches`, or `all N recorded answers were used` (`--strict`).
    pub reason: String,
    pub nearest: Option<InteractionRef>,
    /// Unified diff from the nearest recorded request to this one.
    pub diff: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub matched: u64,
    pub unmatched: usize,
    pub unused: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Unmatched requests and findings counted above but not listed (a journal keeps at most a
    /// bounded number, so a flood of bad requests cannot exhaust memory).
    pub not_listed: usize,
}

/// What a journal counted but did not keep.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Overflow {
    pub unmatched: usize,
    pub errors: usize,
    pub warnings: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub matched: Vec<Matched>,
    pub unmatched: Vec<Unmatched>,
    pub unused: Vec<InteractionRef>,
    /// Findings on the recorded responses (checked once at start) and on every request received.
    pub findings: Vec<Finding>,
    /// Each named session's own requests, by name (absent when no request named one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, SessionReport>,
}

/// A named session's part of a report. Its `summary.unused` counts the recorded interactions
/// this session did not use; they are not listed (with many sessions on a large cassette the
/// lists would dwarf the rest), but the session's own report (`GET /__tailtape/report` with
/// its header) lists them.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    pub summary: Summary,
    pub matched: Vec<Matched>,
    pub unmatched: Vec<Unmatched>,
    /// Findings on this session's requests.
    pub findings: Vec<Finding>,
}

impl Summary {
    fn of(
        requests: u64,
        matched: &[Matched],
        unmatched: &[Unmatched],
        unused: usize,
        findings: &[Finding],
        overflow: &Overflow,
    ) -> Summary {
        let count = |level| findings.iter().filter(|f| f.issue.level == level).count();
        Summary {
            requests,
            matched: matched.iter().map(|m| m.count).sum(),
            unmatched: unmatched.len() + overflow.unmatched,
            unused,
            errors: count(Level::Error) + overflow.errors,
            warnings: count(Level::Warning) + overflow.warnings,
            not_listed: overflow.unmatched + overflow.errors + overflow.warnings,
        }
    }
}

impl Report {
    pub fn new(
        requests: u64,
        matched: Vec<Matched>,
        unmatched: Vec<Unmatched>,
        unused: Vec<InteractionRef>,
        findings: Vec<Finding>,
        overflow: Overflow,
    ) -> Report {
        Report {
            summary: Summary::of(
                requests,
                &matched,
                &unmatched,
                unused.len(),
                &findings,
                &overflow,
            ),
            matched,
            unmatched,
            unused,
            findings,
            sessions: BTreeMap::new(),
        }
    }

    /// What `--strict` requires: nothing unmatched and no error finding in any session, and no
    /// recorded interaction that no session used.
    pub fn is_clean(&self) -> bool {
        self.summary.unmatched == 0
            && self.unused.is_empty()
            && self.summary.errors == 0
            && self
                .sessions
                .values()
                .all(|s| s.summary.unmatched == 0 && s.summary.errors == 0)
    }

    /// The findings of every session, the top level's first.
    pub fn all_findings(&self) -> Vec<Finding> {
        let sessions = self.sessions.values().flat_map(|s| &s.findings);
        self.findings.iter().chain(sessions).cloned().collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes") + "\n"
    }
}

impl SessionReport {
    /// A session's part: `unused` is how many recorded interactions it did not use.
    pub fn new(
        requests: u64,
        matched: Vec<Matched>,
        unmatched: Vec<Unmatched>,
        unused: usize,
        findings: Vec<Finding>,
        overflow: Overflow,
    ) -> SessionReport {
        SessionReport {
            summary: Summary::of(requests, &matched, &unmatched, unused, &findings, &overflow),
            matched,
            unmatched,
            findings,
        }
    }
}

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: the directory {dir} does not exist")]
    NoDirectory { path: String, dir: String },
    #[error("{path}: cannot be written: {error}")]
    NotWritable { path: String, error: std::io::Error },
}

/// Checks that the file at `path` can be written later: its directory exists and the file can
/// be created or appended to. Nothing is left behind: a file created for the check is removed.
pub fn ensure_writable(path: &Path) -> Result<(), OutputError> {
    let name = || path.display().to_string();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(OutputError::NoDirectory {
            path: name(),
            dir: dir.display().to_string(),
        });
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|error| OutputError::NotWritable {
            path: name(),
            error,
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
