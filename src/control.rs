//! The `/__tailtape/` control endpoints every fake server shares (replay and emulate):
//! `GET /__tailtape/health`, `GET /__tailtape/report` and `POST /__tailtape/reset`, each of one
//! session when a `tailtape-session` header names it, else of all. A `session` query parameter
//! is refused rather than ignored, since a reset that ignored it would rewind every other
//! session's test. Any other request is read (`http.rs`) and answered by the server.

use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::json;

use crate::cassette::{Request, parse_query};
use crate::http::{Answer, read_request, to_headers};
use crate::replay::{SESSION_HEADER, session_of};

/// A server behind the control endpoints.
pub trait Controlled {
    /// The journal of session `session` (`None`: of every session), as JSON text.
    fn report_json(&self, session: Option<&str>) -> String;
    /// Session `session` back to its start (`None`: every session).
    fn reset_to_start(&self, session: Option<&str>);
    /// An API request.
    fn answer_request(&self, request: &Request) -> Answer;
}

/// The control endpoints and the method each takes.
const CONTROL: &[(&str, &str)] = &[
    ("/__tailtape/health", "GET"),
    ("/__tailtape/report", "GET"),
    ("/__tailtape/reset", "POST"),
];

/// Answers `request`: a control endpoint, or through `server`.
pub async fn handle(server: &impl Controlled, request: hyper::Request<Incoming>) -> Answer {
    match (request.method().as_str(), request.uri().path()) {
        ("GET", "/__tailtape/health") => Answer::json(200, json!({"status": "ok"})),
        ("GET", "/__tailtape/report") | ("POST", "/__tailtape/reset") => control(server, &request),
        (_, path) if path.starts_with("/__tailtape/") => not_a_control_request(path),
        _ => match read_request(request).await {
            Ok(request) => server.answer_request(&request),
            Err(answer) => answer,
        },
    }
}

fn control(server: &impl Controlled, request: &hyper::Request<Incoming>) -> Answer {
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
        server.reset_to_start(session);
        return match session {
            Some(name) => Answer::json(200, json!({"status": "reset", "session": name})),
            None => Answer::json(200, json!({"status": "reset"})),
        };
    }
    Answer {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from(server.report_json(session)),
    }
}

/// A request under `/__tailtape/` that no control endpoint takes: 405 (with `Allow`) for a known
/// endpoint and another method, 404 otherwise. It is tailtape's, not the API's, so it stays out
/// of the journal and does not fail `--strict`.
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
