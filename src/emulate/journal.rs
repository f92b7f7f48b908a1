//! The emulator's journal and its sessions: per session, the tailnet it sees and what it was
//! told (findings on requests, and faults: findings on the emulator's own answers). Named
//! sessions are capped at replay's [`SESSION_LIMIT`] and each list at [`JOURNAL_LIMIT`]
//! entries (what does not fit is counted in `not_listed`), so memory stays bounded whatever
//! clients send. `GET /__tailtape/report` returns [`Report`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::state::Tailnet;
use crate::finding::{Finding, Level};
use crate::http::Answer;
use crate::replay::{JOURNAL_LIMIT, SESSION_LIMIT, SessionError};

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub requests: u64,
    /// Error findings on requests.
    pub errors: usize,
    pub warnings: usize,
    /// Findings on the emulator's own answers: each is a bug in the emulator.
    pub faults: usize,
    pub not_listed: usize,
}

/// One session's journal as `GET /__tailtape/report` shows it.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub faults: Vec<Finding>,
    /// Named sessions, by name (absent when none was used).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, Report>,
}

impl Report {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// No finding and no fault, in any session.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
            && self.faults.is_empty()
            && self.summary.not_listed == 0
            && self.sessions.values().all(Report::is_clean)
    }
}

/// A session: its tailnet, its journal, and the answers to its reads since its last change.
#[derive(Clone)]
pub(super) struct Session {
    pub(super) tailnet: Tailnet,
    pub(super) journal: Report,
    /// Answers to `GET`s that were clean (2xx, no finding, no fault), by the whole request
    /// (`read_key`); emptied by any other request of the session, and when full.
    pub(super) reads: HashMap<String, Answer>,
    /// Which state the reads are of: new for every change (and every new session), so that an
    /// answer computed before a change is never remembered after it.
    pub(super) epoch: u64,
}

/// The most reads a session remembers at once.
pub(super) const READS_KEPT: usize = 256;

/// Epochs are unique across sessions and resets.
static EPOCHS: AtomicU64 = AtomicU64::new(0);

impl Session {
    pub(super) fn new(seed: &Tailnet) -> Session {
        Session {
            tailnet: seed.clone(),
            journal: Report::default(),
            reads: HashMap::new(),
            epoch: EPOCHS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The state is about to change: what was read of it is forgotten.
    pub(super) fn changing(&mut self) {
        self.reads.clear();
        self.epoch = EPOCHS.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_finding(&mut self, finding: Finding) {
        let summary = &mut self.journal.summary;
        match finding.issue.level {
            Level::Error => summary.errors += 1,
            Level::Warning => summary.warnings += 1,
        }
        if self.journal.findings.len() < JOURNAL_LIMIT {
            self.journal.findings.push(finding);
        } else {
            summary.not_listed += 1;
        }
    }

    pub(super) fn add_fault(&mut self, finding: Finding) {
        self.journal.summary.faults += 1;
        if self.journal.faults.len() < JOURNAL_LIMIT {
            self.journal.faults.push(finding);
        } else {
            self.journal.summary.not_listed += 1;
        }
    }
}

/// The default session and the named ones.
pub(super) struct Sessions {
    pub(super) default: Session,
    pub(super) named: BTreeMap<String, Session>,
}

impl Sessions {
    pub(super) fn new(seed: &Tailnet) -> Sessions {
        Sessions {
            default: Session::new(seed),
            named: BTreeMap::new(),
        }
    }

    /// Session `name` (`None`: the default one), started from `seed` if it is new.
    pub(super) fn open(
        &mut self,
        name: Option<&str>,
        seed: &Tailnet,
    ) -> Result<&mut Session, SessionError> {
        let Some(name) = name else {
            return Ok(&mut self.default);
        };
        if !self.named.contains_key(name) {
            if self.named.len() >= SESSION_LIMIT {
                return Err(SessionError::TooMany(SESSION_LIMIT));
            }
            self.named.insert(name.to_string(), Session::new(seed));
        }
        Ok(self.named.get_mut(name).expect("inserted above"))
    }

    /// Ends session `name`, or with `None` every session: back to the seed, journals emptied.
    pub(super) fn reset(&mut self, name: Option<&str>, seed: &Tailnet) {
        match name {
            Some(name) => {
                self.named.remove(name);
            }
            None => *self = Sessions::new(seed),
        }
    }

    /// The report of every session (`None`), or of one.
    pub(super) fn report(&self, name: Option<&str>) -> Report {
        match name {
            Some(name) => self
                .named
                .get(name)
                .map(|s| s.journal.clone())
                .unwrap_or_default(),
            None => {
                let mut report = self.default.journal.clone();
                report.sessions = self
                    .named
                    .iter()
                    .map(|(name, s)| (name.clone(), s.journal.clone()))
                    .collect();
                report
            }
        }
    }
}
