//! `tailtape replay`: a fake Tailscale API answering from cassettes.
//!
//! [`Replay`] holds everything a request needs and decides every answer, with no I/O: the
//! contract (requests are validated as they arrive, recorded responses once at start), the
//! [`Matcher`] over the recorded requests, the answers prepared as bytes at start, and the
//! journal. `server.rs` serves it through `http.rs` and adds the `/__tailtape/` endpoints;
//! `handle.rs` runs a server in-process for Rust tests; `command.rs` is the CLI.
//!
//! An unmatched request gets **501 Not Implemented** with a JSON `message` naming the nearest
//! recorded request and a unified diff. 501 is an error to every client, is not retried by
//! common retry policies (go-retryablehttp retries 5xx except 501), and does not set off the
//! Python client's 404 fallback from `fields=all` to `fields=default`.

mod command;
mod handle;
mod journal;
mod server;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::json;

pub use crate::http::{Answer, MAX_BODY};
pub use command::command;
pub use handle::ReplayServer;
pub use journal::{DIFF_KEPT, JOURNAL_BYTES, JOURNAL_LIMIT, JournalLimits, TEXT_KEPT};
pub use server::{DEFAULT_LISTEN, serve};

use crate::body::Body;
use crate::cassette::{self, Cassette, Interaction, Request};
use crate::finding::{Finding, Issue, Level};
use crate::junit::Case;
use crate::matching::Matcher;
use crate::report::{InteractionRef, Matched, Report, Unmatched};
use crate::schema::Contract;
use journal::{Journal, Use, clip};

/// Why a replay could not start: bad schemas or a bad cassette.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Schemas(#[from] crate::schema::SchemaError),
    #[error(transparent)]
    Cassette(#[from] crate::cassette::LoadError),
}

/// The status of an answer that is not in the cassettes (see the module docs).
pub const UNMATCHED_STATUS: u16 = 501;

/// The header tailtape's own unmatched answer carries (value `1`), so that a client or helper
/// can tell it from a recorded 501.
pub const UNMATCHED_HEADER: &str = "tailtape-unmatched";

/// The cassette name findings on live requests carry.
pub const LIVE: &str = "<live>";

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A repeated request past its recorded answers is an error, not the last answer again.
    pub strict: bool,
    /// A request with error findings gets 400 and its findings instead of an answer.
    pub enforce: bool,
}

/// Collects interactions one at a time, so a large cassette is never held whole: each is
/// validated, its answer prepared as bytes, and its request handed to the matcher (which keeps
/// a hash and a rendering of at most a few KiB) and dropped.
pub struct Builder {
    contract: Contract,
    options: Options,
    cassettes: usize,
    recorded: Vec<Recorded>,
    matcher: Matcher,
    recorded_findings: Vec<Finding>,
}

impl Builder {
    /// Starts a cassette; returns the name to pass to [`Builder::add`] for its interactions.
    pub fn cassette(&mut self, name: &str) -> Arc<str> {
        self.cassettes += 1;
        name.into()
    }

    /// Adds interaction `index` of cassette `cassette`.
    pub fn add(&mut self, cassette: &Arc<str>, index: usize, interaction: Interaction) {
        for issue in self
            .contract
            .check_exchange(&interaction.request, &interaction.response)
        {
            self.recorded_findings.push(Finding {
                cassette: cassette.to_string(),
                interaction: index,
                issue,
            });
        }
        let table = self.contract.table();
        self.matcher
            .learn(table, &interaction.request, &interaction.response);
        self.matcher.add(table, &interaction.request);
        self.recorded.push(Recorded {
            cassette: Arc::clone(cassette),
            index,
            request_line: clip(interaction.request.to_string(), TEXT_KEPT),
            answer: prepare(interaction.response),
        });
    }

    /// Starts an empty journal.
    pub fn build(self) -> Replay {
        let matcher = self.matcher;
        let journal = Journal {
            next: vec![0; matcher.sequence_count()],
            hits: vec![0; self.recorded.len()],
            ..Journal::default()
        };
        Replay {
            contract: self.contract,
            options: self.options,
            cassettes: self.cassettes,
            recorded: self.recorded,
            matcher,
            recorded_findings: self.recorded_findings,
            journal: Mutex::new(journal),
        }
    }
}

/// One recorded interaction, as replay serves it.
struct Recorded {
    cassette: Arc<str>,
    index: usize,
    request_line: String,
    answer: Answer,
}

pub struct Replay {
    contract: Contract,
    options: Options,
    cassettes: usize,
    recorded: Vec<Recorded>,
    matcher: Matcher,
    /// Findings on the recorded cassettes, fixed at start.
    recorded_findings: Vec<Finding>,
    journal: Mutex<Journal>,
}

/// Headers never replayed: hop-by-hop ones, those the server sets itself, and
/// `content-encoding`, because cassettes store bodies decoded.
const NOT_REPLAYED: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-encoding",
];

impl Replay {
    /// Builds a replay over named cassettes (see [`Builder`] to add interactions as they are
    /// read instead).
    pub fn new(contract: Contract, cassettes: Vec<(String, Cassette)>, options: Options) -> Replay {
        let mut builder = Replay::builder(contract, options);
        for (name, cassette) in cassettes {
            let name = builder.cassette(&name);
            for (index, interaction) in cassette.interactions.into_iter().enumerate() {
                builder.add(&name, index, interaction);
            }
        }
        builder.build()
    }

    /// Loads the schemas (`schemas`, else the embedded ones) and the cassettes at `paths`
    /// (files or directories; none means the bundled cassettes), reading interaction by
    /// interaction.
    pub fn load(
        paths: &[PathBuf],
        schemas: Option<&Path>,
        options: Options,
    ) -> Result<Replay, StartError> {
        let mut builder = Replay::builder(Contract::load(schemas)?, options);
        for source in cassette::sources(paths, options.strict)? {
            let name = builder.cassette(&source.name());
            source.stream(|index, interaction| builder.add(&name, index, interaction))?;
        }
        Ok(builder.build())
    }

    pub fn builder(contract: Contract, options: Options) -> Builder {
        Builder {
            matcher: Matcher::empty(&contract),
            contract,
            options,
            cassettes: 0,
            recorded: Vec::new(),
            recorded_findings: Vec::new(),
        }
    }

    /// The same replay with a journal bounded by `limits` instead of the defaults.
    pub fn with_journal_limits(self, limits: JournalLimits) -> Replay {
        self.lock().limits = limits;
        self
    }

    /// The contract requests and recorded exchanges are checked against.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    pub fn interaction_count(&self) -> usize {
        self.recorded.len()
    }

    pub fn cassette_count(&self) -> usize {
        self.cassettes
    }

    /// Answers one request and writes it in the journal. Problems are logged to stderr.
    ///
    /// A `HEAD` with no recorded `HEAD` to match gets the answer the same `GET` would get next
    /// (status, headers, the length of its body), without its body and without using it up.
    pub fn answer(&self, request: &Request) -> Answer {
        if request.method.eq_ignore_ascii_case("HEAD")
            && self.matcher.find(self.contract.table(), request).is_none()
        {
            let get = Request {
                method: "GET".into(),
                ..request.clone()
            };
            return head_of(self.answer_with(&get, Use::Peek));
        }
        self.answer_with(request, Use::Advance)
    }

    fn answer_with(&self, request: &Request, using: Use) -> Answer {
        let authorization = request.headers.get("authorization");
        if authorization.is_none_or(|value| value.trim().is_empty())
            && self
                .contract
                .table()
                .requires_auth(&request.method, &request.path)
        {
            return Answer::json(
                401,
                json!({"message": "tailtape: this request has no Authorization header (or an empty one); the Tailscale API requires an API key or access token"}),
            );
        }
        let mut issues = Vec::new();
        let operation = self.contract.check_request(request, &mut issues);
        let invalid = issues.iter().any(|i| i.level == Level::Error);
        let found = self.matcher.find_match(operation, request);

        let mut journal = self.lock();
        journal.requests += 1;
        let number = journal.requests as usize - 1;
        let line = clip(request.to_string(), TEXT_KEPT);
        let findings: Vec<Finding> = issues
            .into_iter()
            .map(|mut issue| {
                // A message may quote the body (a 16 MiB string of the wrong type).
                issue.message = clip(issue.message, TEXT_KEPT);
                issue.pointer = clip(issue.pointer, TEXT_KEPT);
                log(&line, &issue);
                Finding {
                    cassette: LIVE.into(),
                    interaction: number,
                    issue,
                }
            })
            .collect();
        if self.options.enforce && invalid {
            let body = json!({
                "message": format!("tailtape: {line} breaks the documented contract"),
                "findings": findings,
            });
            journal.add_findings(findings, line);
            return Answer::json(400, body);
        }
        journal.add_findings(findings, line);

        let Some(found) = found else {
            drop(journal);
            return self.unmatched(request, "no recorded request matches".into());
        };
        let indices = self.matcher.sequence(found.sequence);
        match journal.next_answer(found.sequence, indices, self.options.strict, using) {
            Some(index) => {
                let used = self.matcher.equivalences(&found, index);
                if !used.is_empty() {
                    let r = &self.recorded[index];
                    eprintln!(
                        "tailtape replay: {} matched {} ({} #{}) by equivalence: {}",
                        clip(request.to_string(), TEXT_KEPT),
                        r.request_line,
                        r.cassette,
                        r.index,
                        used.join(", ")
                    );
                    journal.equivalences.entry(index).or_default().extend(used);
                }
                self.recorded[index].answer.clone()
            }
            None => {
                drop(journal);
                let reason = format!(
                    "all {} recorded answers were used (--strict)",
                    indices.len()
                );
                self.unmatched(request, reason)
            }
        }
    }

    /// The recorded answer to `request` (advancing its sequence), or `None` if nothing
    /// recorded matches; nothing is journaled or logged. The recorder's `new` mode uses it.
    pub fn recorded_answer(&self, request: &Request) -> Option<Answer> {
        let sequence = self.matcher.find(self.contract.table(), request)?;
        let index = self.lock().next_answer(
            sequence,
            self.matcher.sequence(sequence),
            false,
            Use::Advance,
        )?;
        Some(self.recorded[index].answer.clone())
    }

    fn unmatched(&self, request: &Request, reason: String) -> Answer {
        let nearest = self.matcher.nearest(self.contract.table(), request);
        let (nearest, diff) = match nearest {
            Some(n) => (Some(self.reference(n.index)), clip(n.diff, DIFF_KEPT)),
            None => (None, String::new()),
        };
        let line = clip(request.to_string(), TEXT_KEPT);
        let mut message = format!("tailtape: {line}: {reason}");
        if let Some(n) = &nearest {
            message.push_str(&format!(
                "; nearest recorded request: {} ({} #{})\n{diff}",
                n.request, n.cassette, n.interaction
            ));
        }
        eprintln!("tailtape replay: {message}");
        let body = json!({"message": message, "nearest": nearest, "diff": diff});
        self.lock().add_unmatched(Unmatched {
            request: line,
            reason,
            nearest,
            diff,
        });
        let mut answer = Answer::json(UNMATCHED_STATUS, body);
        answer.headers.push((UNMATCHED_HEADER.into(), "1".into()));
        answer
    }

    fn reference(&self, index: usize) -> InteractionRef {
        let r = &self.recorded[index];
        InteractionRef {
            cassette: r.cassette.to_string(),
            interaction: r.index,
            request: r.request_line.clone(),
        }
    }

    /// The journal so far.
    pub fn report(&self) -> Report {
        let journal = self.lock();
        let mut matched = Vec::new();
        let mut unused = Vec::new();
        for (index, &count) in journal.hits.iter().enumerate() {
            if count == 0 {
                unused.push(self.reference(index));
            } else {
                matched.push(Matched {
                    recorded: self.reference(index),
                    count,
                    equivalences: journal
                        .equivalences
                        .get(&index)
                        .map(|used| used.iter().map(|name| name.to_string()).collect())
                        .unwrap_or_default(),
                });
            }
        }
        let findings = self
            .recorded_findings
            .iter()
            .chain(&journal.live_findings)
            .cloned()
            .collect();
        Report::new(
            journal.requests,
            matched,
            journal.unmatched.clone(),
            unused,
            findings,
            journal.overflow.clone(),
        )
    }

    /// The test cases of a JUnit report: every recorded interaction, every request that had
    /// findings (cassette `<live>`, numbered like its findings), and every unmatched request.
    pub fn junit_cases(&self) -> Vec<Case> {
        let journal = self.lock();
        let mut cases: Vec<Case> = (0..self.recorded.len())
            .map(|index| {
                let r = self.reference(index);
                Case {
                    cassette: r.cassette,
                    interaction: r.interaction,
                    request: r.request,
                    failure: None,
                }
            })
            .collect();
        cases.extend(journal.live_requests.iter().map(|(number, request)| Case {
            cassette: LIVE.into(),
            interaction: *number,
            request: request.clone(),
            failure: None,
        }));
        cases.extend(journal.unmatched.iter().enumerate().map(|(i, u)| Case {
            cassette: format!("{LIVE} unmatched"),
            interaction: i,
            request: u.request.clone(),
            failure: Some(format!("{}: {}\n{}", u.request, u.reason, u.diff)),
        }));
        cases
    }

    /// Rewinds every sequence and clears the journal (findings on the cassettes stay).
    pub fn reset(&self) {
        let mut journal = self.lock();
        let sequences = journal.next.len();
        let recorded = journal.hits.len();
        *journal = Journal {
            next: vec![0; sequences],
            hits: vec![0; recorded],
            limits: journal.limits,
            ..Journal::default()
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        // A panic while holding the lock cannot leave the journal half-written in a way that
        // matters more than losing the server, so a poisoned lock is used as it is.
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One finding as a log line on stderr.
fn log(what: &str, issue: &Issue) {
    eprintln!("tailtape replay: {}: {what} {issue}", issue.level.as_str());
}

/// The answer to a `HEAD`: `answer`'s status and headers, with the length of its body and no
/// body.
fn head_of(answer: Answer) -> Answer {
    let mut headers = answer.headers;
    headers.push(("content-length".into(), answer.body.len().to_string()));
    Answer {
        status: answer.status,
        headers,
        body: Bytes::new(),
    }
}

/// The recorded response as bytes on the wire: JSON compact, text and bytes as they are.
fn prepare(response: crate::cassette::Response) -> Answer {
    let is_json = matches!(response.body, Body::Json(_));
    let mut headers: Vec<(String, String)> = response
        .headers
        .into_iter()
        .filter(|(name, _)| !NOT_REPLAYED.contains(&name.as_str()))
        .collect();
    if is_json && !headers.iter().any(|(name, _)| name == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let body = match response.body {
        Body::Empty => Bytes::new(),
        Body::Json(value) => Bytes::from(value.to_string()),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
    };
    Answer {
        status: response.status,
        headers,
        body,
    }
}
