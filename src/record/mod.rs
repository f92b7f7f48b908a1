//! `tailtape record`: a reverse proxy that writes what passes through it into a cassette.
//!
//! A client points its base URL here; [`Recorder`] sends each request on to the upstream
//! (`upstream.rs`), gives the client the upstream's answer unchanged, and records the exchange:
//! bodies decoded for storage (`decode.rs`), secrets redacted (`redact/`), checked by the final
//! scan, and written to the cassette before the client gets its answer (`writer.rs`), so a recorder
//! killed at any moment leaves a cassette that loads with every finished exchange. Each exchange is
//! validated as it passes; the drift is printed per operation at the end.
//!
//! An exchange runs on a task of its own that the request's handler awaits: a client that hangs up
//! makes hyper drop the handler, not the exchange, which the upstream is already acting on; it is
//! recorded all the same, and shutdown waits for it.
//!
//! Modes, as in VCR: `all` forwards and records everything; `new` answers what the cassette already
//! has (through replay's matcher) and forwards and appends the rest; `once` records only when the
//! cassette does not exist yet, and otherwise only replays.

mod command;
mod upstream;
mod writer;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::json;
use tokio::sync::{Semaphore, oneshot};

pub use command::command;
pub use upstream::{HOP_BY_HOP, Upstream, UpstreamError, mask_credentials};
pub use writer::Writer;

use crate::body::Body;
use crate::cassette::{Headers, Interaction, Request, Response};
use crate::decode;
use crate::finding::{Finding, Level};
use crate::http::{Answer, Handler, read_raw, to_headers, to_request};
use crate::redact::{Redactor, Scanned};
use crate::replay::Replay;

/// Where `tailtape record` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8384";
/// Where `tailtape record` forwards unless told otherwise.
pub const DEFAULT_UPSTREAM: &str = "https://api.tailscale.com";
/// How many seconds an upstream answer may take before the client gets 504, unless told
/// otherwise.
pub const DEFAULT_UPSTREAM_TIMEOUT: u64 = 60;

/// Response headers not stored: the connection's own, and the wire encoding (bodies are stored
/// decoded, so their length and encoding no longer apply).
const NOT_STORED: &[&str] = &["content-length", "content-encoding"];
/// More exchanges in flight than a recorder will ever see: one permit each, all of them to
/// drain.
const IN_FLIGHT: u32 = 1 << 24;

pub struct Recorder {
    upstream: Upstream,
    /// The cassette as it was (empty for a new one): `new` answers what it has, `once` answers
    /// everything from it; its contract validates what passes.
    recorded: Replay,
    /// `None` when nothing is recorded (`once` with an existing cassette).
    writer: Option<Writer>,
    cassette: String,
    journal: Mutex<Journal>,
    /// The recorder itself, for the tasks that run exchanges.
    me: Weak<Recorder>,
    /// A permit per exchange running on its own task.
    in_flight: Arc<Semaphore>,
}

#[derive(Default)]
struct Journal {
    /// Interactions written by this run, after those the cassette already had.
    written: usize,
    drift: Vec<Finding>,
    /// Places where the final scan found a secret; those exchanges were not written.
    refused: Vec<String>,
    redactor: Option<Redactor>,
    /// With `--pseudonymise`: applied before the final scan, checked after it.
    pseudonyms: Option<crate::pseudonymise::Session>,
}

/// What a recording run saw.
pub struct Summary {
    pub written: usize,
    pub replayed_only: bool,
    pub drift: Vec<Finding>,
    pub refused: Vec<String>,
}

impl Recorder {
    /// `recorded`: the cassette as it was (empty for a new one); `writer`: where exchanges go,
    /// after the recorded ones (`None` to only replay). Shared: each exchange runs on a task that
    /// holds it.
    pub fn new(
        upstream: Upstream,
        recorded: Replay,
        writer: Option<Writer>,
        cassette: String,
        redactor: Redactor,
    ) -> Arc<Recorder> {
        Arc::new_cyclic(|me| Recorder {
            upstream,
            recorded,
            writer,
            cassette,
            journal: Mutex::new(Journal {
                redactor: Some(redactor),
                ..Journal::default()
            }),
            me: me.clone(),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT as usize)),
        })
    }

    /// Pseudonymises every exchange from now on (`--pseudonymise`).
    pub fn pseudonymise(&self, session: crate::pseudonymise::Session) {
        self.lock().pseudonyms = Some(session);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes the cassette (the file becomes canonical) and returns what the run saw.
    pub fn finish(&mut self) -> std::io::Result<Summary> {
        if let Some(writer) = &mut self.writer {
            writer.close()?;
        }
        let journal = std::mem::take(&mut *self.lock());
        Ok(Summary {
            written: journal.written,
            replayed_only: self.writer.is_none(),
            drift: journal.drift,
            refused: journal.refused,
        })
    }

    /// Answers a request: from the cassette when the mode allows, else through the upstream,
    /// on a task of its own (see the module docs).
    async fn answer(&self, request: hyper::Request<Incoming>) -> Answer {
        let (parts, bytes) = match read_raw(request).await {
            Ok(read) => read,
            Err(answer) => return answer,
        };
        let request = to_request(&parts, &bytes);
        if self.writer.is_none() {
            return self.recorded.answer(&request);
        }
        if let Some(answer) = self.recorded.recorded_answer(&request) {
            return answer;
        }
        let Some(recorder) = self.me.upgrade() else {
            return Answer::json(503, json!({"message": "tailtape record: stopping"}));
        };
        let permit = Arc::clone(&self.in_flight).try_acquire_owned().ok();
        let (answered, answer) = oneshot::channel();
        tokio::spawn(async move {
            let (method, uri) = (parts.method.clone(), parts.uri.clone());
            let answer = recorder.record(parts, bytes, request).await;
            // Before the permit: once drained, the command takes the recorder back.
            drop(recorder);
            if let Err(answer) = answered.send(answer) {
                let line = crate::redact::mask_tokens(&format!("{method} {uri}"));
                crate::log::warn(format!(
                    "{line}: the client left before the answer ({}); the exchange was \
                     recorded unless said otherwise above",
                    answer.status
                ));
            }
            drop(permit);
        });
        answer.await.unwrap_or_else(|_| {
            Answer::json(
                500,
                json!({"message": "tailtape record: the exchange failed; see the recorder's log"}),
            )
        })
    }

    /// Sends a request on to the upstream, records the exchange and returns the answer.
    async fn record(
        &self,
        parts: hyper::http::request::Parts,
        bytes: Bytes,
        request: Request,
    ) -> Answer {
        let Some(writer) = &self.writer else {
            return self.recorded.answer(&request);
        };
        let reply = match self.upstream.send(&parts, bytes).await {
            Ok(reply) => reply,
            Err(err) => {
                let status = if matches!(err, UpstreamError::Timeout(_)) {
                    504
                } else {
                    502
                };
                crate::log::error(format!("{request}: {err}; not recorded"));
                let message = format!(
                    "tailtape record: {} {}: {err}",
                    self.upstream.url(),
                    request.path
                );
                return Answer::json(status, json!({ "message": message }));
            }
        };
        let answer = Answer {
            status: reply.status,
            headers: reply
                .headers
                .iter()
                .filter(|(name, _)| {
                    !upstream::HOP_BY_HOP.contains(&name.as_str())
                        && name.as_str() != "content-length"
                })
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: reply.body.clone(),
        };
        let mut interaction = Interaction {
            request,
            response: stored_response(reply.status, to_headers(&reply.headers), &reply.body),
            extra: Default::default(),
        };
        interaction.request.headers.retain(|name, _| {
            !upstream::HOP_BY_HOP.contains(&name.as_str()) && name != "content-length"
        });
        let Ok(scanned) = self.redact(&mut interaction) else {
            // The upstream has acted on the request: its answer stands, only the record is refused.
            return answer;
        };
        let written = writer.append(&scanned, &interaction);
        // The text is on disk: its memory goes before the answer is validated.
        drop(scanned);
        match written {
            Ok(()) => {
                let drift = self
                    .recorded
                    .contract()
                    .check_exchange(&interaction.request, &interaction.response);
                let mut journal = self.lock();
                let index = self.recorded.interaction_count() + journal.written;
                journal.written += 1;
                if crate::log::debugging() {
                    crate::log::debug(format!(
                        "{}: {} from the upstream, written as #{index}",
                        crate::redact::mask_tokens(&interaction.request.to_string()),
                        interaction.response.status
                    ));
                }
                for issue in drift {
                    journal.drift.push(Finding {
                        cassette: self.cassette.clone(),
                        interaction: index,
                        issue,
                    });
                }
                answer
            }
            Err(err) => {
                crate::log::error(format!("cannot write {}: {err}", self.cassette));
                Answer::json(
                    500,
                    json!({"message": format!("tailtape record: cannot write the cassette: {err}")}),
                )
            }
        }
    }

    /// Redacts, pseudonymises (with `--pseudonymise`: secrets never reach the pseudonymiser),
    /// scans, then checks that no real value is left; a refusal is journaled and logged with
    /// its place, never the secret.
    fn redact(&self, interaction: &mut Interaction) -> Result<Scanned, ()> {
        let mut guard = self.lock();
        let journal = &mut *guard;
        let refuse = |refused: &mut Vec<String>, place: String| {
            crate::log::error(format!("refused to write {place}"));
            refused.push(place);
        };
        let Some(redactor) = journal.redactor.as_mut() else {
            return Err(());
        };
        let scanned = match journal.pseudonyms.as_mut() {
            None => redactor.redact_and_check(interaction),
            Some(pseudonyms) => {
                redactor.redact(interaction);
                if let Err(err) = pseudonyms.exchange(interaction) {
                    refuse(
                        &mut journal.refused,
                        format!("{}: {err}", interaction.request),
                    );
                    return Err(());
                }
                redactor.check(interaction)
            }
        };
        let scanned = scanned.map_err(|leak| {
            refuse(
                &mut journal.refused,
                format!("{}: {leak}", interaction.request),
            )
        })?;
        if let Some(pseudonyms) = journal.pseudonyms.as_mut() {
            // The check reads the text whole: a large exchange's is generated again for it.
            let mut pieced = Vec::new();
            let text = match scanned.whole() {
                Some(text) => Ok(text),
                None => scanned
                    .write_pieces(&*interaction, &mut |piece| {
                        pieced.extend_from_slice(piece);
                        Ok(())
                    })
                    .map(|()| pieced.as_slice()),
            };
            let refusal = match text {
                Ok(text) => pseudonyms.check(text).map(|leftover| leftover.to_string()),
                Err(err) => Some(err.to_string()),
            };
            if let Some(why) = refusal {
                refuse(
                    &mut journal.refused,
                    format!("{}: {why}", interaction.request),
                );
                return Err(());
            }
        }
        Ok(scanned)
    }
}

impl Handler for Recorder {
    async fn handle(&self, request: hyper::Request<Incoming>) -> Answer {
        self.answer(request).await
    }

    async fn drained(&self) {
        let _ = self.in_flight.acquire_many(IN_FLIGHT).await;
    }
}

/// The response as a cassette stores it: decoded (every content-encoding layer, `decode.rs`),
/// hop-by-hop and wire headers dropped. A body that cannot be decoded whole is kept as sent,
/// with its `content-encoding`, which tells the final scan that it is not readable as stored.
/// A JSON body is read in place ([`Body::from_wire`]): an unencoded one over the very bytes the
/// client is answered with, so a large answer is held once, plus its tape.
pub fn stored_response(status: u16, mut headers: Headers, wire: &Bytes) -> Response {
    let encoding = headers.get("content-encoding").cloned().unwrap_or_default();
    let body = if decode::is_encoded(&encoding) {
        let decoded = decode::decode(&encoding, wire);
        match decoded.incomplete {
            None => {
                headers.retain(|name, _| !NOT_STORED.contains(&name.as_str()));
                Body::from_wire(Bytes::from(decoded.bytes))
            }
            Some(_) => {
                headers.remove("content-length");
                Body::from_bytes(wire)
            }
        }
    } else {
        headers.retain(|name, _| !NOT_STORED.contains(&name.as_str()));
        Body::from_wire(wire.clone())
    };
    headers.retain(|name, _| !upstream::HOP_BY_HOP.contains(&name.as_str()));
    Response {
        status,
        headers,
        body,
    }
}

/// Drift per operation, for the end of a recording: a heading per operation with its counts,
/// then each finding with its pointer.
pub fn drift_report(drift: &[Finding]) -> String {
    let mut by_operation: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in drift {
        by_operation
            .entry(
                finding
                    .issue
                    .operation
                    .as_deref()
                    .unwrap_or("(undocumented endpoint)"),
            )
            .or_default()
            .push(finding);
    }
    let mut out = String::new();
    for (operation, findings) in by_operation {
        let errors = findings
            .iter()
            .filter(|f| f.issue.level == Level::Error)
            .count();
        out.push_str(&format!(
            "  {operation}: {}, {}\n",
            crate::log::count(errors, "error"),
            crate::log::count(findings.len() - errors, "warning")
        ));
        for f in findings {
            out.push_str(&format!(
                "    {} #{} {}\n",
                f.issue.level.as_str(),
                f.interaction,
                f.issue
            ));
        }
    }
    out
}
