//! `tailtape parity`: re-sends each cassette's requests to a live server (the emulator, a
//! replay, the real API) and compares each answer with the recorded one through diff.rs's
//! [`compare`] (status, content-type, body; volatile fields and `--ignore` pointers left out).
//! Values the target generates itself (ids, keys, secrets, invite URLs, addresses) are mapped by reference
//! (`mapping.rs`), afresh for each cassette. A target that answers `GET /__tailtape/health` as a
//! tailtape server does is reset (`POST /__tailtape/reset`) before each cassette, so each one
//! starts from the state it was recorded in. Requests go out as recorded (hop-by-hop headers and
//! `content-length` aside) through the recorder's client ([`Upstream`]), with the recorded
//! (redacted) `authorization` unless [`Options::authorization`] gives one; that value is never
//! shown, and neither is a key or token in the target's answers (changes are masked as logs
//! are). Changes the exceptions file covers (`exceptions.rs`) are excepted, with their reason,
//! rather than differences; an exception that covers nothing is stale and fails the run. [`run`]
//! needs no CLI; `command.rs` is the command line.

mod command;
mod exceptions;
mod mapping;

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

pub use command::{command, to_human};
pub use exceptions::{Exception, Exceptions, ExceptionsError};
pub use mapping::{Conflict, Mapping};

use crate::body::Body;
use crate::cassette::{Cassette, LoadError, Request, Response, Source};
use crate::diff::{Change, compare};
use crate::http::to_headers;
use crate::record::{HOP_BY_HOP, Upstream, UpstreamError, stored_response};
use crate::redact::mask_tokens;

/// The environment variable that may hold the `authorization` value to send.
pub const AUTHORIZATION_ENV: &str = "TAILTAPE_PARITY_AUTHORIZATION";

/// What a parity run needs besides the cassettes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target's base URL (`http://127.0.0.1:8383`, `https://api.tailscale.com`).
    pub against: String,
    /// JSON pointers (with `*` segments) left out of the compared bodies.
    pub ignore: Vec<String>,
    /// The `authorization` value sent instead of the recorded one (on requests recorded with
    /// one).
    pub authorization: Option<String>,
    /// How long each answer may take.
    pub timeout: Duration,
    /// Recorded behaviour the target deliberately does not reproduce.
    pub exceptions: Exceptions,
}

impl Options {
    pub fn new(against: &str) -> Options {
        Options {
            against: against.to_string(),
            ignore: Vec::new(),
            authorization: None,
            timeout: Duration::from_secs(crate::record::DEFAULT_UPSTREAM_TIMEOUT),
            exceptions: Exceptions::default(),
        }
    }
}

/// Why a parity run could not start or go on: nothing was compared, or not everything.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error("--against {0}: not an http:// or https:// URL")]
    BadUrl(String),
    #[error("the target {url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the target {url} (a tailtape server) refused POST /__tailtape/reset: status {status}")]
    Reset { url: String, status: u16 },
    #[error(transparent)]
    Cassette(#[from] LoadError),
    #[error("cannot start the HTTP client: {0}")]
    Runtime(#[from] std::io::Error),
}

/// One interaction re-sent: what differs between the recorded answer and the target's.
#[derive(Debug, Clone)]
pub struct Checked {
    pub index: usize,
    /// The recorded request line (tokens masked).
    pub request: String,
    /// What differs and no exception covers.
    pub changes: Vec<Change>,
    /// The unified diff of the bodies (empty when every change was excepted).
    pub unified: String,
    /// What differs and an exception covers.
    pub excepted: Vec<Excepted>,
}

/// A change an exception covers, and the exception's reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Excepted {
    pub change: Change,
    pub reason: String,
}

/// One cassette's run.
#[derive(Debug, Clone)]
pub struct CassetteParity {
    pub name: String,
    pub checked: Vec<Checked>,
    /// How many recorded values the target answered with values of its own.
    pub mapped: usize,
}

impl CassetteParity {
    pub fn differing(&self) -> impl Iterator<Item = &Checked> {
        self.checked.iter().filter(|c| !c.changes.is_empty())
    }

    /// The interactions that differ only where exceptions cover them.
    pub fn excepted(&self) -> impl Iterator<Item = &Checked> {
        self.checked
            .iter()
            .filter(|c| c.changes.is_empty() && !c.excepted.is_empty())
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target's URL, credentials masked.
    pub target: String,
    /// Whether the target is a tailtape server, reset before each cassette.
    pub reset: bool,
    pub cassettes: Vec<CassetteParity>,
    /// The exceptions file, when one was given.
    pub exceptions: Option<String>,
    /// Its exceptions for cassettes of the run that covered nothing.
    pub stale: Vec<Exception>,
}

impl Outcome {
    pub fn interactions(&self) -> usize {
        self.cassettes.iter().map(|c| c.checked.len()).sum()
    }

    pub fn differing(&self) -> usize {
        self.cassettes.iter().map(|c| c.differing().count()).sum()
    }

    /// The interactions that differ only where exceptions cover them.
    pub fn excepted(&self) -> usize {
        self.cassettes.iter().map(|c| c.excepted().count()).sum()
    }

    /// Every answer as recorded (or differing only where an exception says so), and no stale
    /// exception.
    pub fn is_same(&self) -> bool {
        self.differing() == 0 && self.stale.is_empty()
    }

    /// The outcome for programs: `target`, `reset`, `cassettes` (each with `name`,
    /// `interactions`, `mapped`, `differing`: `index`, `request`, `changes` as diff has them,
    /// `unified`, and `excepted`: `index`, `request`, `excepted`: `change`, `reason`),
    /// `exceptions` (the file or null), `stale`, `summary`.
    pub fn to_json(&self) -> Value {
        json!({
            "target": self.target,
            "reset": self.reset,
            "cassettes": self.cassettes.iter().map(|c| json!({
                "name": c.name,
                "interactions": c.checked.len(),
                "mapped": c.mapped,
                "differing": c.differing().map(|d| json!({
                    "index": d.index,
                    "request": d.request,
                    "changes": d.changes,
                    "unified": d.unified,
                    "excepted": d.excepted,
                })).collect::<Vec<_>>(),
                "excepted": c.excepted().map(|d| json!({
                    "index": d.index,
                    "request": d.request,
                    "excepted": d.excepted,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "exceptions": self.exceptions,
            "stale": self.stale,
            "summary": {
                "cassettes": self.cassettes.len(),
                "interactions": self.interactions(),
                "differing": self.differing(),
                "excepted": self.excepted(),
                "stale": self.stale.len(),
            },
        })
    }
}

/// Loads every cassette first (a bad one stops the run before anything is sent), then runs
/// them against the target in order. It runs its own runtime: from async code, use
/// [`run_async`].
pub fn run(sources: &[Source], options: &Options) -> Result<Outcome, ParityError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run_async(sources, options))
}

/// [`run`] on the caller's tokio runtime.
pub async fn run_async(sources: &[Source], options: &Options) -> Result<Outcome, ParityError> {
    let cassettes = sources
        .iter()
        .map(|source| Ok((source.name(), source.load()?)))
        .collect::<Result<Vec<_>, LoadError>>()?;
    let target = Target::connect(options).await?;
    let mut outcome = Outcome {
        target: target.upstream.url().to_string(),
        reset: target.tailtape,
        cassettes: Vec::new(),
        exceptions: (!options.exceptions.file.is_empty()).then(|| options.exceptions.file.clone()),
        stale: Vec::new(),
    };
    let mut used = vec![false; options.exceptions.entries.len()];
    for (name, cassette) in &cassettes {
        target.reset().await?;
        let mut checked = target.check(name, cassette, &options.ignore).await;
        options.exceptions.apply(&mut checked, &mut used);
        outcome.cassettes.push(checked);
    }
    outcome.stale = options.exceptions.stale(&outcome.cassettes, &used);
    Ok(outcome)
}

/// The server parity talks to.
struct Target {
    upstream: Upstream,
    authorization: Option<String>,
    /// Whether it answered `GET /__tailtape/health` as a tailtape server.
    tailtape: bool,
}

impl Target {
    /// A client for the target, which must answer (anything) to `GET /__tailtape/health`.
    async fn connect(options: &Options) -> Result<Target, ParityError> {
        let upstream =
            Upstream::new(&options.against, None, options.timeout).map_err(|e| match e {
                UpstreamError::BadUrl(url) => ParityError::BadUrl(url),
                other => ParityError::Unreachable {
                    url: crate::record::mask_credentials(&options.against),
                    reason: reason(other),
                },
            })?;
        let mut target = Target {
            upstream,
            authorization: options.authorization.clone(),
            tailtape: false,
        };
        let health = target
            .exchange("GET", "/__tailtape/health")
            .await
            .map_err(|reason| ParityError::Unreachable {
                url: target.upstream.url().to_string(),
                reason,
            })?;
        target.tailtape =
            health.status == 200 && matches!(&health.body, Body::Json(v) if v["status"] == "ok");
        Ok(target)
    }

    /// Before a cassette: the tailtape server's state back to its start.
    async fn reset(&self) -> Result<(), ParityError> {
        if !self.tailtape {
            return Ok(());
        }
        let answer = self
            .exchange("POST", "/__tailtape/reset")
            .await
            .map_err(|reason| ParityError::Unreachable {
                url: self.upstream.url().to_string(),
                reason,
            })?;
        if answer.status != 200 {
            return Err(ParityError::Reset {
                url: self.upstream.url().to_string(),
                status: answer.status,
            });
        }
        Ok(())
    }

    /// Sends one of tailtape's control requests (no headers, no body).
    async fn exchange(&self, method: &str, path: &str) -> Result<Response, String> {
        let request = Request {
            method: method.into(),
            path: path.into(),
            query: None,
            headers: Default::default(),
            body: Body::Empty,
        };
        self.send(&request).await
    }

    /// Re-sends one cassette's requests, comparing each answer with the recorded one.
    async fn check(&self, name: &str, cassette: &Cassette, ignore: &[String]) -> CassetteParity {
        let mut mapping = Mapping::default();
        let mut checked = Vec::new();
        for (index, interaction) in cassette.interactions.iter().enumerate() {
            let sent = mapping.request(&interaction.request);
            let recorded = &interaction.response;
            let answer = self.send(&sent).await;
            crate::log::debug(format!(
                "{name} #{index} {sent}: {}",
                answer
                    .as_ref()
                    .map_or_else(|_| "no answer".to_string(), |a| a.status.to_string())
            ));
            let (changes, unified) = match answer {
                Ok(answer) => compare_through(&mut mapping, recorded, &answer, ignore),
                Err(reason) => (
                    vec![Change::Changed {
                        at: "status".into(),
                        old: recorded.status.to_string(),
                        new: format!("no answer ({reason})"),
                    }],
                    String::new(),
                ),
            };
            checked.push(Checked {
                index,
                request: interaction.request.to_string(),
                changes: changes.into_iter().map(masked).collect(),
                unified: mask_tokens(&unified),
                excepted: Vec::new(),
            });
        }
        CassetteParity {
            name: name.to_string(),
            checked,
            mapped: mapping.len(),
        }
    }

    /// Sends a recorded request (body as recorded, in its media type).
    async fn send(&self, request: &Request) -> Result<Response, String> {
        let body = Bytes::from(request.body.wire_bytes().into_owned());
        let target = match &request.query {
            Some(query) => format!("{}?{query}", request.path),
            None => request.path.clone(),
        };
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(target);
        for (name, value) in &request.headers {
            if HOP_BY_HOP.contains(&name.as_str()) || name == "content-length" {
                continue;
            }
            let value = match (&self.authorization, name.as_str()) {
                (Some(authorization), "authorization") => authorization.as_str(),
                _ => value.as_str(),
            };
            builder = builder.header(name.as_str(), value);
        }
        // The header's value is never part of the message: it may be the credential.
        let (parts, ()) = builder
            .body(())
            .map_err(|_| "the recorded request cannot be sent (a bad method, path or header)")?
            .into_parts();
        let reply = self.upstream.send(&parts, body).await.map_err(reason)?;
        let mut answer = stored_response(reply.status, to_headers(&reply.headers), &reply.body);
        // Compared and mapped as values.
        answer.body = answer.body.into_value();
        Ok(answer)
    }
}

/// A change as it may be shown: a live target answers real keys and tokens, which output never
/// carries (`tskey-<redacted>`).
fn masked(change: Change) -> Change {
    match change {
        Change::Changed { at, old, new } => Change::Changed {
            at,
            old: mask_tokens(&old),
            new: mask_tokens(&new),
        },
        Change::Added { at, new } => Change::Added {
            at,
            new: mask_tokens(&new),
        },
        Change::Removed { at, old } => Change::Removed {
            at,
            old: mask_tokens(&old),
        },
    }
}

/// Why the target gave no answer, without the recorder's wording.
fn reason(err: UpstreamError) -> String {
    match err {
        UpstreamError::Failed(reason) => reason,
        UpstreamError::Timeout(limit) => format!("no answer within {} s", limit.as_secs_f64()),
        other => other.to_string(),
    }
}

/// The changes between a recorded answer and the target's, read through the mapping (learning
/// from this answer first); a target value that breaks one-to-one says which recorded value it
/// already stood for.
fn compare_through(
    mapping: &mut Mapping,
    recorded: &Response,
    answer: &Response,
    ignore: &[String],
) -> (Vec<Change>, String) {
    mapping.learn_headers(&recorded.headers, &answer.headers);
    let mut expected = recorded.clone();
    let mut conflicts = Vec::new();
    if let (Body::Json(old), Body::Json(new)) = (&recorded.body, &answer.body) {
        conflicts = mapping.learn(old, new);
        expected.body = Body::Json(mapping.recorded_as_target(old, Some(new)));
    } else if let Body::Json(old) = &recorded.body {
        expected.body = Body::Json(mapping.recorded_as_target(old, None));
    }
    let (mut changes, unified) = compare(&expected, answer, ignore);
    for conflict in conflicts {
        for change in &mut changes {
            if let Change::Changed { at, new, .. } = change
                && *at == conflict.at
            {
                *new = format!(
                    "{new} (the target's value for {:?} already: two recorded values map to one)",
                    conflict.earlier
                );
            }
        }
    }
    (changes, unified)
}
