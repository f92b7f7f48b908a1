//! `tailtape emulate`: a stateful fake Tailscale API holding one tailnet in memory.
//!
//! [`Emulator`] decides every answer with no I/O, as [`crate::replay::Replay`] does: the
//! request's operation is found in the contract's operation table (`routes.rs`), the request is
//! validated the way replay validates it (findings go in the session's journal; a body that
//! breaks its schema gets 400 and its findings, as the API refuses it, and with `--enforce` so
//! does a request with any error, a bad parameter too), and the call goes, by operationId
//! through the one table of `resources/mod.rs`, to the resource module that owns that part of
//! the tailnet (`state.rs`; ids from `ids.rs`). Every answer is then checked against the
//! documented response schema: a finding on it is an emulator fault, logged and journaled,
//! never hidden. Sessions (`tailtape-session`, checked by replay's [`session_of`]) each get a
//! clone of the seeded tailnet (`journal.rs`). `seed.rs` reads seeds (and `derive.rs` writes
//! one from cassettes), `server.rs` serves through `http.rs` with replay's `/__tailtape/`
//! conventions, `handle.rs` runs a server in-process for Rust tests, and `command.rs` is the
//! CLI.
//!
//! Choices where the docs are silent (the bundled recordings decide) or where the emulator
//! simplifies, in one place:
//!
//! - Credentials: any non-empty `Authorization` is accepted (a `tskey-api-…` Bearer or Basic
//!   key, or an access token from the token exchange); none, or a blank one, gets 401 as in
//!   replay. The account acting is the seed's `account.user`.
//! - Time is virtual (`state.rs`): one second per change, so answers are reproducible.
//! - Keys: lists show `{"id"}` only, as recorded, and hide revoked keys; without `all=true`
//!   only the account's own. A revoked key still reads, with `revoked` and `invalid: true`, as
//!   recorded.
//! - DNS: split-DNS resolvers set through `dns/split-dns` are used with exit nodes
//!   (`useWithExitNode: true` in the configuration, as recorded), nameservers set through
//!   `dns/nameservers` are not.
//! - Log streaming: a stream's status reports the seed's `logStreamStatus` counters for its log
//!   type (the recorded ones; the emulator sends no logs), else zeros.
//! - Routes: `enabledRoutes` is what was asked for that the device advertises (enabled ⊆
//!   advertised); the rest is dropped, not refused (the docs list no 400).
//! - The policy file: the ETag is the seed's `policyEtag` (as recorded), and after a change the
//!   SHA-256 of the text; a policy's `tests` are run against its `acls` rules only (see
//!   `resources/policy.rs`); `acl/preview` matches rules by their `src` (the user, `*`,
//!   `autogroup:member` or a group holding the user), `lineNumber` counted from 0 as recorded.
//! - Services: a service's hosts are the tailnet's own devices that carry one of its tags.
//! - An unknown device is 404 `not found` for every device operation, `deleteDevice` and
//!   `setDeviceTags` too, whose docs list no 404 (the journal shows those answers as faults of
//!   level warning, `undocumented-status`).
//! - Deleting a user deletes their devices (with their posture attributes, invites and service
//!   approvals) and their keys.
//!
//! Reads change nothing, so a session remembers its clean answers to `GET`s (2xx, no finding,
//! no fault) by the whole request, and answers the same request again from memory, journaled as
//! any other, until its next request of another method; a test polling a list costs what a
//! replay does.

mod call;
mod command;
mod derive;
mod handle;
mod ids;
mod journal;
mod resources;
pub mod seed;
mod server;
pub mod state;

use std::sync::Mutex;

use serde_json::json;

pub use crate::http::Answer;
pub use command::command;
pub use derive::{command as seed_command, derive};
pub use handle::EmulateServer;
pub use journal::{Report, Summary};
pub use resources::{REVOKED_KEPT, emulated, not_emulated};
pub use server::DEFAULT_LISTEN;

use crate::body::Body;
use crate::cassette::{Request, Response};
use crate::finding::{Finding, Issue, Level, Side, rule};
use crate::replay::{SessionError, TEXT_KEPT, session_of};
use crate::routes::Lookup;
use crate::schema::{Contract, truncate};
use call::{Call, Reply};
use journal::Sessions;
use state::Tailnet;

/// The rule of the fault journaled when a handler panics.
pub const PANIC: &str = "emulator-panic";

/// The cassette name findings on live requests carry, as in replay.
pub const LIVE: &str = "<live>";

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Any request with error findings (not only a body that breaks its schema) gets 400 and its
    /// findings instead of an answer.
    pub enforce: bool,
}

pub struct Emulator {
    contract: Contract,
    options: Options,
    seed: Tailnet,
    /// The handler of each operation, by [`crate::routes::Operation::index`].
    handlers: Vec<Option<call::Handler>>,
    sessions: Mutex<Sessions>,
}

impl Emulator {
    pub fn new(contract: Contract, seed: Tailnet, options: Options) -> Emulator {
        let handlers = resources::by_index(contract.table());
        Emulator {
            sessions: Mutex::new(Sessions::new(&seed)),
            contract,
            options,
            seed,
            handlers,
        }
    }

    /// The bundled example tailnet, with the embedded schemas.
    pub fn example(options: Options) -> Emulator {
        let contract = Contract::load(None).expect("the embedded schemas compile");
        Emulator::new(contract, seed::example(), options)
    }

    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// Answers one request, in its session's tailnet, and journals what was found. A `HEAD`
    /// gets what the same `GET` would (its status, headers and length), without the body.
    pub fn answer(&self, request: &Request) -> Answer {
        if request.method.eq_ignore_ascii_case("HEAD") {
            let get = Request {
                method: "GET".into(),
                ..request.clone()
            };
            let mut answer = self.answer_one(&get);
            answer
                .headers
                .push(("content-length".into(), answer.body.len().to_string()));
            answer.body = bytes::Bytes::new();
            return answer;
        }
        self.answer_one(request)
    }

    fn answer_one(&self, request: &Request) -> Answer {
        let session = match session_of(&request.headers) {
            Ok(session) => session,
            Err(err) => return refused(request, err),
        };
        let table = self.contract.table();
        let authorization = request.headers.get("authorization");
        if authorization.is_none_or(|value| value.trim().is_empty())
            && table.requires_auth(&request.method, &request.path)
        {
            return Answer::json(
                401,
                json!({"message": "tailtape: this request has no Authorization header (or an empty one); the Tailscale API requires an API key or access token"}),
            );
        }
        let read = (request.method == "GET" && request.body.is_empty()).then(|| read_key(request));
        if let Some(key) = &read
            && let Ok(state) = self.lock().open(session, &self.seed)
            && let Some(answer) = state.reads.get(key)
        {
            let answer = answer.clone();
            state.journal.summary.requests += 1;
            return answer;
        }
        let mut issues = Vec::new();
        let operation = self.contract.check_request(request, &mut issues);
        let clean = issues.is_empty();
        // A body that breaks the schema is refused, as the API refuses it (and so that the
        // state never holds what its answers could not show); `--enforce` refuses any error.
        let refuse = issues.iter().any(|i| {
            i.level == Level::Error
                && (self.options.enforce
                    || !matches!(i.rule.as_ref(), rule::PARAM | rule::MISSING_PARAM))
        });
        let line = (!issues.is_empty()).then(|| masked_line(request, session));

        let mut sessions = self.lock();
        let state = match sessions.open(session, &self.seed) {
            Ok(state) => state,
            Err(err) => {
                drop(sessions);
                return refused(request, err);
            }
        };
        state.journal.summary.requests += 1;
        let number = state.journal.summary.requests as usize - 1;
        if read.is_none() {
            state.changing();
        }
        let epoch = state.epoch;
        let findings: Vec<Finding> = issues
            .into_iter()
            .map(|mut issue| {
                issue.message = truncate(issue.message, TEXT_KEPT);
                issue.pointer = truncate(issue.pointer, TEXT_KEPT);
                log_issue(line.as_deref().unwrap_or_default(), &issue);
                Finding {
                    cassette: live(session),
                    interaction: number,
                    issue,
                }
            })
            .collect();
        if refuse {
            let body = json!({
                "message": format!(
                    "tailtape: {} breaks the documented contract",
                    line.as_deref().unwrap_or_default()
                ),
                "findings": findings,
            });
            for finding in findings {
                state.add_finding(finding);
            }
            return Answer::json(400, body);
        }
        for finding in findings {
            state.add_finding(finding);
        }

        let (op, params) = match table.lookup(&request.method, &request.path) {
            Lookup::Found { operation, params } => (operation, params),
            Lookup::WrongMethod { allowed } => {
                let mut answer = Answer::json(405, json!({"message": "method not allowed"}));
                answer.headers.push(("allow".into(), allowed.join(", ")));
                return answer;
            }
            Lookup::NotFound => return Answer::json(404, json!({"message": "not found"})),
        };
        debug_assert!(operation.is_some_and(|o| o.index == op.index));
        let handler = self.handlers[op.index];
        let mut call = Call {
            op: &op.id,
            params: &params,
            query: request.query_pairs(),
            request,
            tailnet: &mut state.tailnet,
        };
        let reply = match handler {
            Some(handler) => match run(handler, &mut call) {
                Ok(reply) => reply,
                Err(panicked) => {
                    crate::log::error(format!(
                        "emulator fault: {}: {}",
                        masked_line(request, session),
                        panicked.message
                    ));
                    state.add_fault(Finding {
                        cassette: live(session),
                        interaction: number,
                        issue: panicked,
                    });
                    Reply::error(
                        500,
                        format!("tailtape emulate: internal error answering {}", op.id),
                    )
                }
            },
            None => Reply::error(
                501,
                format!("tailtape emulate: {} is not emulated yet", op.id),
            ),
        };
        drop(sessions);

        // The emulator's own answer must keep the contract: a finding on it is a fault. (The
        // 501 of an operation not emulated yet is a known gap, listed by `not_emulated`.)
        let response = Response {
            status: reply.status,
            headers: reply
                .headers
                .iter()
                .cloned()
                .chain(content_type(&reply.body).map(|t| ("content-type".to_string(), t)))
                .collect(),
            body: reply.body,
        };
        let mut faults = Vec::new();
        if handler.is_some() {
            self.contract.check_response(op, &response, &mut faults);
        }
        let remembered = (clean && faults.is_empty() && (200..300).contains(&response.status))
            .then_some(read)
            .flatten();
        if !faults.is_empty() {
            let line = masked_line(request, session);
            // Journaled after the lock was let go (a reset in between: in the fresh journal).
            if let Ok(state) = self.lock().open(session, &self.seed) {
                for issue in faults {
                    crate::log::error(format!("emulator fault: {line}: answer {issue}"));
                    state.add_fault(Finding {
                        cassette: live(session),
                        interaction: number,
                        issue,
                    });
                }
            }
        }
        let answer = to_answer(response);
        if let Some(key) = remembered
            && let Ok(state) = self.lock().open(session, &self.seed)
            && state.epoch == epoch
        {
            if state.reads.len() >= journal::READS_KEPT {
                state.reads.clear();
            }
            state.reads.insert(key, answer.clone());
        }
        answer
    }

    /// The journal of every session, or of one (`Some(name)`).
    pub fn report(&self, session: Option<&str>) -> Report {
        self.lock().report(session)
    }

    /// Every session back to the seed, or only session `name`.
    pub fn reset(&self, session: Option<&str>) {
        self.lock().reset(session, &self.seed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // A handler that panicked leaves at worst one session's tailnet half-changed.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A request whose session cannot be served: 400, as replay answers it.
/// Runs a handler on a call for this tailnet (`{tailnet}` naming another is 404). A handler
/// that panics is a bug: the panic is caught, so the client still gets an answer and the server
/// goes on (the session's tailnet may be half-changed), and comes back as the fault to journal.
fn run(handler: call::Handler, call: &mut Call) -> Result<Reply, Issue> {
    let elsewhere = call
        .params
        .iter()
        .any(|(name, value)| name == "tailnet" && !call.tailnet.is_named(value));
    if elsewhere {
        return Ok(Reply::not_found());
    }
    let op = call.op;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handler(call).unwrap_or_else(|refused| refused)
    }))
    .map_err(|_| Issue {
        operation: Some(op.to_string()),
        side: Side::Response,
        level: Level::Error,
        rule: PANIC.into(),
        pointer: String::new(),
        message: "the handler panicked".into(),
    })
}

fn refused(request: &Request, err: SessionError) -> Answer {
    let message = format!("tailtape: {}: {err}", masked_line(request, None));
    crate::log::warn(&message);
    Answer::json(400, json!({ "message": message }))
}

/// The request line with any key masked, and its session.
fn masked_line(request: &Request, session: Option<&str>) -> String {
    let line = truncate(request.to_string(), TEXT_KEPT);
    match session {
        None => line,
        Some(name) => format!("{line} (session {name})"),
    }
}

fn live(session: Option<&str>) -> String {
    match session {
        None => LIVE.into(),
        Some(name) => format!("<live {name}>"),
    }
}

fn log_issue(what: &str, issue: &Issue) {
    let line = format!("{what} {issue}");
    match issue.level {
        Level::Error => crate::log::error(line),
        _ => crate::log::warn(line),
    }
}

fn content_type(body: &Body) -> Option<String> {
    match body {
        Body::Json(_) => Some("application/json".into()),
        _ => None,
    }
}

/// What tells one read from another: the whole request line and every header (the policy
/// file's answer depends on `Accept`, a token's on `Authorization`).
fn read_key(request: &Request) -> String {
    let mut key = format!(
        "{} {}?{}",
        request.method,
        request.path,
        request.query.as_deref().unwrap_or_default()
    );
    for (name, value) in &request.headers {
        key.push('\n');
        key.push_str(name);
        key.push(':');
        key.push_str(value);
    }
    key
}

/// The checked response as bytes on the wire.
fn to_answer(response: Response) -> Answer {
    let mut headers: Vec<(String, String)> = response.headers.into_iter().collect();
    let body = match response.body {
        Body::Empty => bytes::Bytes::new(),
        Body::Json(value) => bytes::Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
        Body::Doc(doc) => bytes::Bytes::from(serde_json::to_vec(&doc.root()).unwrap_or_default()),
        Body::Text(text) => {
            if !headers.iter().any(|(n, _)| n == "content-type") {
                headers.push(("content-type".into(), "text/plain".into()));
            }
            bytes::Bytes::from(text)
        }
        Body::Binary(bytes) => bytes::Bytes::from(bytes),
    };
    Answer {
        status: response.status,
        headers,
        body,
    }
}
