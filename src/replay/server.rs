//! Replay's HTTP side: the control endpoints under `/__tailtape/`, and every other request
//! read (see `http.rs`) and answered by [`Replay::answer`]. The report and reset endpoints take
//! a session the way every request names one, by its `tailtape-session` header; a `session`
//! query parameter is refused rather than ignored, since a reset that ignored it would rewind
//! every other session's test.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;

use super::{Replay, SESSION_HEADER, session_of};
use crate::cassette::parse_query;
use crate::http::{self, Answer, Handler, Timeouts, read_request, to_headers};

/// Where `tailtape replay` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8383";

/// Serves `replay` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    replay: Arc<Replay>,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    http::serve(listener, replay, timeouts, shutdown).await
}

impl Handler for Replay {
    async fn handle(&self, request: hyper::Request<Incoming>) -> Answer {
        match (request.method().as_str(), request.uri().path()) {
            ("GET", "/__tailtape/health") => Answer::json(200, json!({"status": "ok"})),
            ("GET", "/__tailtape/report") | ("POST", "/__tailtape/reset") => self.control(&request),
            (_, path) if path.starts_with("/__tailtape/") => not_an_admin_request(path),
            _ => match read_request(request).await {
                Ok(request) => self.answer(&request),
                Err(answer) => answer,
            },
        }
    }
}

/// The control endpoints and the method each takes.
const CONTROL: &[(&str, &str)] = &[
    ("/__tailtape/health", "GET"),
    ("/__tailtape/report", "GET"),
    ("/__tailtape/reset", "POST"),
];

/// A request under `/__tailtape/` that no control endpoint takes: 405 (with `Allow`) for a known
/// endpoint and another method, 404 otherwise. It is tailtape's, not the API's, so it stays out
/// of the journal and does not fail `--strict`.
fn not_an_admin_request(path: &str) -> Answer {
    let listed = CONTROL
        .iter()
        .map(|(path, method)| format!("{method} {path}"))
        .collect::<Vec<_>>()
        .join(", ");
    match CONTROL.iter().find(|(known, _)| *known == path) {
        Some((_, method)) => {
            let mut answer = Answer::json(
                405,
                json!({"message": format!("tailtape: {path} takes {method} only")}),
            );
            answer.headers.push(("allow".into(), (*method).into()));
            answer
        }
        None => Answer::json(
            404,
            json!({"message": format!("tailtape: no control endpoint {path}; there are {listed}")}),
        ),
    }
}

impl Replay {
    /// `GET /__tailtape/report` and `POST /__tailtape/reset`: of every session, or with a
    /// `tailtape-session` header of that session only.
    fn control(&self, request: &hyper::Request<Incoming>) -> Answer {
        let refuse = |message: String| Answer::json(400, json!({ "message": message }));
        let query = request.uri().query().unwrap_or("");
        if parse_query(query).iter().any(|(key, _)| key == "session") {
            return refuse(format!(
                "tailtape: {} takes its session from the {SESSION_HEADER} header, not a query",
                request.uri().path()
            ));
        }
        let headers = to_headers(request.headers());
        let session = match session_of(&headers) {
            Ok(session) => session,
            Err(err) => return refuse(format!("tailtape: {err}")),
        };
        if request.method() == hyper::Method::POST {
            return match session {
                Some(name) => {
                    self.reset_session(name);
                    Answer::json(200, json!({"status": "reset", "session": name}))
                }
                None => {
                    self.reset();
                    Answer::json(200, json!({"status": "reset"}))
                }
            };
        }
        let report = match session {
            Some(_) => self.session_report(session),
            None => self.report(),
        };
        Answer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(report.to_json()),
        }
    }
}
