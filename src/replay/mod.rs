//! `tailtape replay`: a fake Tailscale API answering from cassettes.
//!
//! [`Replay`] holds everything a request needs and decides every answer, with no network I/O:
//! the contract (requests are validated as they arrive, recorded responses once at start), the
//! [`Matcher`] over the recorded requests (`memo.rs` remembers both for a repeated bodiless
//! request; `asked.rs` lets both read a bodiless request as hyper gave it), the answers
//! prepared as bytes at start (`answers.rs`: in memory up to a budget, lent to the server
//! without a copy; the rest in a temporary file read back per request), and the journals, one
//! per session (`session.rs`: a `tailtape-session` header names one; `journal.rs` keeps each,
//! all within one budget; `reports.rs` reads them out). `server.rs` serves it through `http.rs`
//! and adds the `/__tailtape/` endpoints; `handle.rs` runs a server in-process for Rust tests;
//! `command.rs` is the CLI.
//!
//! An unmatched request gets **501 Not Implemented** with a JSON `message` naming the nearest
//! recorded request and a unified diff. 501 is an error to every client, is not retried by
//! common retry policies (go-retryablehttp retries 5xx except 501), and does not set off the
//! Python client's 404 fallback from `fields=all` to `fields=default`.

mod answers;
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
pub use answers::{AnswerBytes, IN_MEMORY};
pub use command::command;
pub use handle::ReplayServer;
pub use journal::{DIFF_KEPT, JOURNAL_BYTES, JOURNAL_LIMIT, JournalLimits, TEXT_KEPT};
pub use server::DEFAULT_LISTEN;
pub use session::{NAME_MAX, SESSION_HEADER, SESSION_LIMIT, SessionError, session_of};

use crate::cassette::{self, Cassette, Interaction, Request};
use crate::finding::{Finding, Issue, Level};
use crate::matching::Matcher;
use crate::report::{InteractionRef, Unmatched};
use crate::schema::Contract;
use answers::{Answers, prepare};
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
/// validated, its answer prepared as bytes (kept in memory up to a budget, then in a temporary
/// file: `answers.rs`), and its request handed to the matcher (which keeps a hash and a
/// rendering of at most a few KiB) and dropped.
pub struct Builder {
    contract: Contract,
    options: Options,
    cassettes: usize,
    names: Vec<Arc<str>>,
    recorded: Vec<Recorded>,
    answers: Answers,
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

    /// Keeps at most `bytes` of answers (bodies, headers, request lines) in memory, the rest in
    /// a temporary file ([`IN_MEMORY`] unless set); call it before adding interactions.
    pub fn answers_in_memory(mut self, bytes: usize) -> Builder {
        self.answers.set_budget(bytes);
        self
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
        if !self
            .names
            .last()
            .is_some_and(|last| Arc::ptr_eq(last, cassette))
        {
            self.names.push(Arc::clone(cassette));
        }
        let line = clip(interaction.request.to_string(), TEXT_KEPT);
        self.answers.push(line, prepare(interaction.response));
        self.recorded.push(Recorded {
            cassette: (self.names.len() - 1) as u32,
            index: u32::try_from(index).unwrap_or(u32::MAX),
        });
    }

    /// Starts with an empty journal.
    pub fn build(mut self) -> Replay {
        self.answers.finish();
        self.recorded.shrink_to_fit();
        Replay {
            memo: Memo::new(self.contract.table()),
            contract: self.contract,
            options: self.options,
            cassettes: self.cassettes,
            names: self.names,
            recorded: self.recorded,
            answers: self.answers,
            matcher: self.matcher,
            recorded_findings: self.recorded_findings,
            sessions: Mutex::new(Sessions::new(JournalLimits::default())),
        }
    }
}

/// Where one recorded interaction came from (its answer and request line are in `answers`,
/// at the same index).
struct Recorded {
    /// Index into `names`.
    cassette: u32,
    /// Its index in the cassette.
    index: u32,
}

pub struct Replay {
    contract: Contract,
    options: Options,
    cassettes: usize,
    /// The cassettes' names, in the order their interactions were added.
    names: Vec<Arc<str>>,
    recorded: Vec<Recorded>,
    answers: Answers,
    matcher: Matcher,
    /// Findings and matches of bodiless requests seen before.
    memo: Memo,
    /// Findings on the recorded cassettes, fixed at start.
    recorded_findings: Vec<Finding>,
    sessions: Mutex<Sessions>,
}

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
            names: Vec::new(),
            recorded: Vec::new(),
            answers: Answers::new(IN_MEMORY),
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
                let used = self.matcher.equivalences(&found, index);
                let by_equivalence = (!used.is_empty()).then(|| used.join(", "));
                if !used.is_empty() {
                    journal.equivalences.entry(index).or_default().extend(used);
                }
                drop(sessions);
                // Read (perhaps from the temporary file) and logged outside the lock.
                let recorded = &self.recorded[index];
                let cassette = &self.names[recorded.cassette as usize];
                let logged = by_equivalence.is_some();
                if let Some(used) = by_equivalence {
                    crate::log::info(format!(
                        "{} matched {} ({} #{}) by equivalence: {used}",
                        in_session(&clip(request.request().to_string(), TEXT_KEPT), session),
                        self.request_line(index),
                        cassette,
                        recorded.index,
                    ));
                }
                match self.answers.get(index) {
                    Ok(answer) => {
                        if !logged && crate::log::debugging() {
                            crate::log::debug(format!(
                                "{}: answered from {} #{} ({})",
                                in_session(&request.request().to_string(), session),
                                cassette,
                                recorded.index,
                                answer.answer().status
                            ));
                        }
                        answer
                    }
                    Err(err) => {
                        Reply::Own(self.unreadable(&request.request(), session, index, &err))
                    }
                }
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
        drop(sessions);
        Some(
            self.answers
                .get(index)
                .map(Reply::into_answer)
                .unwrap_or_else(|err| self.unreadable(request, None, index, &err)),
        )
    }

    /// What the answers take in memory and in their temporary file.
    pub fn answer_bytes(&self) -> AnswerBytes {
        self.answers.bytes()
    }

    /// Bytes of memory the matcher's index over the recorded requests takes (see
    /// [`Matcher::heap_bytes`]), and the per-interaction bookkeeping of the answers.
    pub fn index_bytes(&self) -> (usize, usize) {
        let recorded = self.recorded.len() * std::mem::size_of::<Recorded>();
        (
            self.matcher.heap_bytes(),
            recorded + self.answers.heap_bytes(),
        )
    }

    /// The answer when recorded answer `index` cannot be read back from its temporary file
    /// (the disk gone): 500 with a JSON `message`, and the same as a log line.
    fn unreadable(
        &self,
        request: &Request,
        session: Option<&str>,
        index: usize,
        err: &std::io::Error,
    ) -> Answer {
        let recorded = &self.recorded[index];
        let message = format!(
            "tailtape: {}: cannot read the recorded answer ({} #{}) back from its temporary file: {err}",
            in_session(&clip(request.to_string(), TEXT_KEPT), session),
            self.names[recorded.cassette as usize],
            recorded.index
        );
        crate::log::error(&message);
        Answer::json(500, json!({ "message": message }))
    }

    /// The request line of recorded interaction `index`, or what kept it from being read.
    fn request_line(&self, index: usize) -> String {
        self.answers
            .line(index)
            .unwrap_or_else(|err| format!("<request line unreadable: {err}>"))
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
            cassette: self.names[r.cassette as usize].to_string(),
            interaction: r.index as usize,
            request: self.request_line(index),
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
