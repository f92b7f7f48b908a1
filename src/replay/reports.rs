//! Replay's journals read out: the report (`GET /__tailtape/report`, `--report FILE`), grouped
//! by session, or one session's own; the JUnit cases (`--junit FILE`); and reset.
//!
//! Sequences and journals are per session, but whether a recorded interaction was used is
//! decided over the whole run: parallel tests usually split one set of scenarios between their
//! sessions, so an interaction one session used is not unused because another did not. The
//! grouped report's `unused`, and `--strict`, count only what no request of any session used.

use std::collections::BTreeMap;

use super::journal::Journal;
use super::{LIVE, Replay};
use crate::finding::Finding;
use crate::junit::Case;
use crate::report::{InteractionRef, Matched, Report, SessionReport};

impl Replay {
    /// The journal so far: the default session at the top level, the named ones under
    /// `sessions`, and as unused what no session used.
    pub fn report(&self) -> Report {
        let sessions = self.lock();
        let mut used = vec![false; self.recorded.len()];
        for journal in sessions.all() {
            for &index in journal.hits.keys() {
                used[index] = true;
            }
        }
        let unused = (0..self.recorded.len())
            .filter(|&index| !used[index])
            .map(|index| self.reference(index))
            .collect();
        let mut report = self.report_of(sessions.default_session(), unused, true);
        report.sessions = sessions
            .named()
            .map(|(name, journal)| (name.to_string(), self.session_part(journal)))
            .collect::<BTreeMap<_, _>>();
        report
    }

    /// One session's own report (`None`: the default session's), in the shape of a report
    /// with no sessions: its requests, and as unused what it did not use. The findings on the
    /// cassettes belong to the default session's. A session that has not started (or was
    /// reset) has an empty report.
    pub fn session_report(&self, session: Option<&str>) -> Report {
        let sessions = self.lock();
        let empty = Journal::default();
        let journal = sessions.get(session).unwrap_or(&empty);
        let unused = (0..self.recorded.len())
            .filter(|&index| journal.hits_of(index) == 0)
            .map(|index| self.reference(index))
            .collect();
        self.report_of(journal, unused, session.is_none())
    }

    fn report_of(&self, journal: &Journal, unused: Vec<InteractionRef>, cassettes: bool) -> Report {
        let recorded: &[Finding] = if cassettes {
            &self.recorded_findings
        } else {
            &[]
        };
        let findings = recorded
            .iter()
            .chain(&journal.live_findings)
            .cloned()
            .collect();
        Report::new(
            journal.requests,
            self.matched(journal),
            journal.unmatched.clone(),
            unused,
            findings,
            journal.overflow.clone(),
        )
    }

    fn session_part(&self, journal: &Journal) -> SessionReport {
        SessionReport::new(
            journal.requests,
            self.matched(journal),
            journal.unmatched.clone(),
            self.recorded.len() - journal.hits.len(),
            journal.live_findings.clone(),
            journal.overflow.clone(),
        )
    }

    /// The interactions `journal` used, in recorded order, with how often.
    fn matched(&self, journal: &Journal) -> Vec<Matched> {
        let mut hits: Vec<(usize, u64)> = journal.hits.iter().map(|(&i, &n)| (i, n)).collect();
        hits.sort_unstable();
        hits.into_iter()
            .map(|(index, count)| Matched {
                recorded: self.reference(index),
                count,
                equivalences: journal
                    .equivalences
                    .get(&index)
                    .map(|used| used.iter().map(|name| name.to_string()).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The test cases of a JUnit report: every recorded interaction (failed, under `--strict`,
    /// when no session used it), then per session (the
    /// default one first) every request that had findings (cassette `<live>`, or `<live NAME>`
    /// in session NAME, numbered like its findings) and every unmatched request (`<live>
    /// unmatched`, `<live NAME> unmatched`).
    pub fn junit_cases(&self) -> Vec<Case> {
        let sessions = self.lock();
        let used = |index: usize| sessions.all().any(|journal| journal.hits_of(index) > 0);
        let mut cases: Vec<Case> = (0..self.recorded.len())
            .map(|index| {
                let r = self.reference(index);
                let failure = (self.options.strict && !used(index)).then(|| {
                    format!(
                        "{}: never requested (an unused interaction fails --strict)",
                        r.request
                    )
                });
                Case {
                    cassette: r.cassette,
                    interaction: r.interaction,
                    request: r.request,
                    failure,
                }
            })
            .collect();
        let default = std::iter::once((LIVE.to_string(), sessions.default_session()));
        let named = sessions
            .named()
            .map(|(name, journal)| (format!("<live {name}>"), journal));
        for (live, journal) in default.chain(named) {
            cases.extend(journal.live_requests.iter().map(|(number, request)| Case {
                cassette: live.clone(),
                interaction: *number,
                request: request.clone(),
                failure: None,
            }));
            cases.extend(journal.unmatched.iter().enumerate().map(|(i, u)| Case {
                cassette: format!("{live} unmatched"),
                interaction: i,
                request: u.request.clone(),
                failure: Some(format!("{}: {}\n{}", u.request, u.reason, u.diff)),
            }));
        }
        cases
    }

    /// Rewinds every sequence and clears the journal of every session, ending the named ones
    /// (findings on the cassettes stay).
    pub fn reset(&self) {
        self.lock().reset(None);
    }

    /// Ends session `name`: its sequences start again and its journal is forgotten; other
    /// sessions are left as they are.
    pub fn reset_session(&self, name: &str) {
        self.lock().reset(Some(name));
    }
}
