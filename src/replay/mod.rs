//! `tailtape replay`: a fake Tailscale API answering from cassettes.
//!
//! [`Replay`] holds everything a request needs and decides every answer, with no I/O: the
//! contract (requests are validated as they arrive, recorded responses once at start), the
//! [`Matcher`] over the recorded requests (`memo.rs` remembers both for a repeated bodiless
//! request; `asked.rs` lets both read a bodiless request as hyper gave it), the answers
//! prepared as bytes at start (lent to the server, not copied, per answer), and the
//! journals, one per session (`session.rs`: a `tailtape-session` header names one; `journal.rs`
//! keeps each, all within one budget; `reports.rs` reads them out). `server.rs` serves it
//! through `http.rs` and adds the `/__tailtape/` endpoints; `handle.rs` runs a server
//! in-process for Rust tests; `command.rs` is the CLI.
//!
//! An unmatched request gets **501 Not Implemented** with a JSON `message` naming the nearest
//! recorded request and a unified diff. 501 is an error to every client, is not retried by
//! common retry policies (go-retryablehttp retries 5xx except 501), and does not set off the
//! Python client's 404 fallback from `fields=all` to `fields=default`.

mod asked;
mod command;
mod handle;
mod journal;
mod memo;
mod reports;
mod server;
mod session;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::json;

use crate::http::Reply;
pub use crate::http::{Answer, MAX_BODY};
pub use command::command;
pub use handle::ReplayServer;
pub use journal::{DIFF_KEPT, JOURNAL_BYTES, JOURNAL_LIMIT, JournalLimits, TEXT_KEPT};
pub use server::DEFAULT_LISTEN;
pub use session::{NAME_MAX, SESSION_HEADER, SESSION_LIMIT, SessionError, session_of};

use crate::body::Body;
use crate::cassette::{self, Cassette, Interaction, Request};
use crate::finding::{Finding, Issue, Level};
use crate::matching::Matcher;
use crate::report::{InteractionRef, Unmatched};
use crate::schema::Contract;
use asked::Asked;
use journal::{Use, clip};
use memo::{Memo, Worked};
use session::{Sessions, session_named};

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

    /// Takes what a cassette's header says: its tailnet's own name (`recorded.tailnet`), which
    /// matching takes as the same tailnet as `-`.
    pub fn header(&mut self, recorded: &crate::cassette::Recorded) {
        if let Some(name) = recorded.extra.get("tailnet").and_then(|v| v.as_str()) {
            self.matcher.own_tailnet(name);
        }
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

    /// Starts with an empty journal.
    pub fn build(self) -> Replay {
        Replay {
            memo: Memo::new(self.contract.table()),
            contract: self.contract,
            options: self.options,
            cassettes: self.cassettes,
            recorded: self.recorded,
            matcher: self.matcher,
            recorded_findings: self.recorded_findings,
            sessions: Mutex::new(Sessions::new(JournalLimits::default())),
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
    /// Findings and matches of bodiless requests seen before.
    memo: Memo,
    /// Findings on the recorded cassettes, fixed at start.
    recorded_findings: Vec<Finding>,
    sessions: Mutex<Sessions>,
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
            builder.header(&cassette.recorded);
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
            let cassette =
                source.stream(|index, interaction| builder.add(&name, index, interaction))?;
            builder.header(&cassette.recorded);
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
        self.lock().set_limits(limits);
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
    /// A request with a `tailtape-session` header is answered and journaled in that session
    /// (see `session.rs`); one whose session cannot be served gets 400.
    ///
    /// A `HEAD` with no recorded `HEAD` to match gets the answer the same `GET` would get next
    /// (status, headers, the length of its body), without its body and without using it up.
    pub fn answer(&self, request: &Request) -> Answer {
        self.reply(request).into_answer()
    }

    /// [`Replay::answer`], lending the recorded answer instead of copying it, for a request
    /// read in place (`asked.rs`).
    fn reply<'r>(&'r self, request: &(impl Asked + ?Sized)) -> Reply<'r> {
        let named = request.header(&session::SESSION_NAME);
        let session = match session_named(named.as_deref()) {
            Ok(session) => session,
            Err(err) => return Reply::Own(self.refused(&request.request(), err)),
        };
        if request.method().eq_ignore_ascii_case("HEAD") {
            let whole = request.request();
            if self.matcher.find(self.contract.table(), &whole).is_none() {
                let get = Request {
                    method: "GET".into(),
                    ..whole.into_owned()
                };
                let answer = self.answer_with(&get, session, Use::Peek).into_answer();
                return Reply::Own(head_of(answer));
            }
        }
        self.answer_with(request, session, Use::Advance)
    }

    fn answer_with<'r>(
        &'r self,
        request: &(impl Asked + ?Sized),
        session: Option<&str>,
        using: Use,
    ) -> Reply<'r> {
        let authorization = request.header(&hyper::header::AUTHORIZATION);
        if authorization.is_none_or(|value| value.trim().is_empty())
            && self
                .contract
                .table()
                .requires_auth(request.method(), request.path())
        {
            return Reply::Own(Answer::json(
                401,
                json!({"message": "tailtape: this request has no Authorization header (or an empty one); the Tailscale API requires an API key or access token"}),
            ));
        }
        let Worked { issues, found } = self.memo.get(request).unwrap_or_else(|| {
            let request = request.request();
            let mut issues = Vec::new();
            let operation = self.contract.check_request(&request, &mut issues);
            let found = self.matcher.find_match(operation, &request);
            let worked = Worked { issues, found };
            self.memo.keep(&request, operation, &worked);
            worked
        });
        let invalid = issues.iter().any(|i| i.level == Level::Error);
        // The request line (with any key masked) only for findings, and before the lock.
        let line = (!issues.is_empty()).then(|| clip(request.request().to_string(), TEXT_KEPT));

        let mut sessions = self.lock();
        let (journal, budget) = match sessions.open(session) {
            Ok(opened) => opened,
            Err(err) => {
                drop(sessions);
                return Reply::Own(self.refused(&request.request(), err));
            }
        };
        journal.requests += 1;
        let number = journal.requests as usize - 1;
        let line = line.unwrap_or_default();
        let what = in_session(&line, session);
        let findings: Vec<Finding> = issues
            .into_iter()
            .map(|mut issue| {
                // A message may quote the body (a 16 MiB string of the wrong type).
                issue.message = clip(issue.message, TEXT_KEPT);
                issue.pointer = clip(issue.pointer, TEXT_KEPT);
                log(&what, &issue);
                Finding {
                    cassette: live(session),
                    interaction: number,
                    issue,
                }
            })
            .collect();
        if self.options.enforce && invalid {
            let body = json!({
                "message": format!("tailtape: {what} breaks the documented contract"),
                "findings": findings,
            });
            journal.add_findings(budget, findings, line);
            return Reply::Own(Answer::json(400, body));
        }
        journal.add_findings(budget, findings, line);

        let Some(found) = found else {
            drop(sessions);
            let reason = "no recorded request matches".into();
            return Reply::Own(self.unmatched(&request.request(), session, reason));
        };
        let indices = self.matcher.sequence(found.sequence);
        match journal.next_answer(found.sequence, indices, self.options.strict, using) {
            Some(index) => {
                let recorded = &self.recorded[index];
                let used = self.matcher.equivalences(&found, index);
                if !used.is_empty() {
                    crate::log::info(format!(
                        "{} matched {} ({} #{}) by equivalence: {}",
                        in_session(&clip(request.request().to_string(), TEXT_KEPT), session),
                        recorded.request_line,
                        recorded.cassette,
                        recorded.index,
                        used.join(", ")
                    ));
                    journal.equivalences.entry(index).or_default().extend(used);
                } else if crate::log::debugging() {
                    crate::log::debug(format!(
                        "{}: answered from {} #{} ({})",
                        in_session(&request.request().to_string(), session),
                        recorded.cassette,
                        recorded.index,
                        recorded.answer.status
                    ));
                }
                Reply::Lent(&recorded.answer)
            }
            None => {
                drop(sessions);
                let reason = format!(
                    "all {} recorded answers were used (--strict)",
                    indices.len()
                );
                Reply::Own(self.unmatched(&request.request(), session, reason))
            }
        }
    }

    /// The recorded answer to `request` (advancing its sequence), or `None` if nothing
    /// recorded matches; nothing is journaled or logged. The recorder's `new` mode uses it.
    pub fn recorded_answer(&self, request: &Request) -> Option<Answer> {
        let sequence = self.matcher.find(self.contract.table(), request)?;
        let mut sessions = self.lock();
        let (journal, _) = sessions.default_mut();
        let index = journal.next_answer(
            sequence,
            self.matcher.sequence(sequence),
            false,
            Use::Advance,
        )?;
        Some(self.recorded[index].answer.clone())
    }

    /// The answer to a request whose session cannot be served (a bad name, one session too
    /// many): 400 with a JSON `message`, journaled as unmatched in the default session, so that
    /// `--strict` fails a run where it happened even if the client took the 400 for an answer.
    fn refused(&self, request: &Request, err: SessionError) -> Answer {
        let line = clip(request.to_string(), TEXT_KEPT);
        let message = format!("tailtape: {line}: {err}");
        crate::log::warn(&message);
        let mut sessions = self.lock();
        let (journal, budget) = sessions.default_mut();
        journal.requests += 1;
        journal.add_unmatched(
            budget,
            Unmatched {
                request: line,
                reason: err.to_string(),
                nearest: None,
                diff: String::new(),
            },
        );
        drop(sessions);
        let mut answer = Answer::json(400, json!({ "message": message }));
        answer.headers.push((UNMATCHED_HEADER.into(), "1".into()));
        answer
    }

    fn unmatched(&self, request: &Request, session: Option<&str>, reason: String) -> Answer {
        let nearest = self.matcher.nearest(self.contract.table(), request);
        let (nearest, diff) = match nearest {
            Some(n) => (Some(self.reference(n.index)), clip(n.diff, DIFF_KEPT)),
            None => (None, String::new()),
        };
        let line = clip(request.to_string(), TEXT_KEPT);
        let mut message = format!("tailtape: {}: {reason}", in_session(&line, session));
        if let Some(n) = &nearest {
            message.push_str(&format!(
                "; nearest recorded request: {} ({} #{})\n{diff}",
                n.request, n.cassette, n.interaction
            ));
        }
        crate::log::warn(&message);
        let body = json!({"message": message, "nearest": nearest, "diff": diff});
        let unmatched = Unmatched {
            request: line,
            reason,
            nearest,
            diff,
        };
        // The session was open a moment ago; if a reset ended it since and the sessions are
        // now all taken, the client still has its answer and the journal misses this entry.
        if let Ok((journal, budget)) = self.lock().open(session) {
            journal.add_unmatched(budget, unmatched);
        }
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // A panic while holding the lock cannot leave the journal half-written in a way that
        // matters more than losing the server, so a poisoned lock is used as it is.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The cassette name of findings on requests of `session` (`<live>` in the default one).
fn live(session: Option<&str>) -> String {
    match session {
        None => LIVE.into(),
        Some(name) => format!("<live {name}>"),
    }
}

/// A request line as messages and the log show it: with its session, if it named one.
fn in_session<'a>(line: &'a str, session: Option<&str>) -> Cow<'a, str> {
    match session {
        None => Cow::Borrowed(line),
        Some(name) => Cow::Owned(format!("{line} (session {name})")),
    }
}

/// One finding as a log line on stderr.
fn log(what: &str, issue: &Issue) {
    let line = format!("{what} {issue}");
    match issue.level {
        Level::Error => crate::log::error(line),
        _ => crate::log::warn(line),
    }
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
    let is_json = matches!(response.body, Body::Json(_) | Body::Doc(_));
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
        Body::Doc(doc) => Bytes::from(serde_json::to_vec(&doc.root()).unwrap_or_default()),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
    };
    Answer {
        status: response.status,
        headers,
        body,
    }
}
