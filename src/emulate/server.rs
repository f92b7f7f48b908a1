//! The emulator's HTTP side, with replay's conventions: `GET /__tailtape/health`,
//! `GET /__tailtape/report` (the journal as JSON) and `POST /__tailtape/reset` (back to the
//! seed), each of one session with a `tailtape-session` header or of all without; every other
//! request is read through `http.rs` and answered by [`Emulator::answer`].

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;

use super::Emulator;
use crate::cassette::parse_query;
use crate::http::{self, Answer, Handler, Timeouts, read_request, to_headers};
use crate::replay::{SESSION_HEADER, session_of};

/// Where `tailtape emulate` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8385";

/// The control endpoints and the method each takes.
const CONTROL: &[(&str, &str)] = &[
    ("/__tailtape/health", "GET"),
    ("/__tailtape/report", "GET"),
    ("/__tailtape/reset", "POST"),
];

/// Serves `emulator` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    emulator: Arc<Emulator>,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    http::serve(listener, emulator, timeouts, shutdown).await
}

impl Handler for Emulator {
    async fn handle(&self, request: hyper::Request<Incoming>) -> Answer {
        match (request.method().as_str(), request.uri().path()) {
            ("GET", "/__tailtape/health") => Answer::json(200, json!({"status": "ok"})),
            ("GET", "/__tailtape/report") | ("POST", "/__tailtape/reset") => self.control(&request),
            (_, path) if path.starts_with("/__tailtape/") => not_a_control_request(path),
            _ => match read_request(request).await {
                Ok(request) => self.answer(&request),
                Err(answer) => answer,
            },
        }
    }
}

impl Emulator {
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
            self.reset(session);
            return match session {
                Some(name) => Answer::json(200, json!({"status": "reset", "session": name})),
                None => Answer::json(200, json!({"status": "reset"})),
            };
        }
        Answer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(self.report(session).to_json()),
        }
    }
}

/// 405 (with `Allow`) for a control endpoint and another method, 404 for any other path under
/// `/__tailtape/`.
fn not_a_control_request(path: &str) -> Answer {
    match CONTROL.iter().find(|(known, _)| *known == path) {
        Some((_, method)) => {
            let mut answer = Answer::json(
                405,
                json!({"message": format!("tailtape: {path} takes {method} only")}),
            );
            answer.headers.push(("allow".into(), (*method).into()));
            answer
        }
        None => {
            let listed: Vec<String> = CONTROL.iter().map(|(p, m)| format!("{m} {p}")).collect();
            Answer::json(
                404,
                json!({"message": format!(
                    "tailtape: no control endpoint {path}; there are {}",
                    listed.join(", ")
                )}),
            )
        }
    }
}
