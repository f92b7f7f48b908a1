//! `/__tailtape/faults`, answered by the layer itself so that every server it wraps has it:
//! `POST` a plan (400 with the place and reason for a bad one), `GET` the account, `DELETE`
//! the plan; the server's, or with a `tailtape-session` header that session's own.

use std::sync::Arc;

use hyper::body::Incoming;
use serde_json::{Value, json};

use super::account::Scope;
use super::{FAULTS_PATH, Faults, parse};
use crate::http::{Answer, Handler, read_raw, to_headers};
use crate::replay::{SESSION_HEADER, SESSION_LIMIT, session_of};

impl<H: Handler> Faults<H> {
    /// `/__tailtape/faults`: `POST` a plan, `GET` the account, `DELETE` the plan; of the
    /// server, or with a `tailtape-session` header of that session.
    pub(super) async fn control(&self, request: hyper::Request<Incoming>) -> Answer {
        let refuse =
            |status: u16, message: String| Answer::json(status, json!({ "message": message }));
        let headers = to_headers(request.headers());
        let session = match session_of(&headers) {
            Ok(session) => session.map(str::to_string),
            Err(err) => return refuse(400, format!("tailtape: {err}")),
        };
        let method = request.method().clone();
        match method.as_str() {
            "GET" => {
                let account = match &session {
                    Some(name) => self.session_account(name),
                    None => self.account(),
                };
                pretty(200, &json!(account))
            }
            "DELETE" => {
                let mut state = self.lock();
                match &session {
                    Some(name) => {
                        state.named.remove(name);
                    }
                    None => state.default = None,
                }
                Answer::json(200, with_session(json!({"status": "cleared"}), &session))
            }
            "POST" => {
                let body = match read_raw(request).await {
                    Ok((_, body)) => body,
                    Err(answer) => return answer,
                };
                let text = String::from_utf8_lossy(&body);
                let plan = match parse("<request body>", &text) {
                    Ok(plan) => plan,
                    Err(err) => return refuse(400, format!("tailtape: fault plan refused: {err}")),
                };
                let rules = plan.rules.len();
                let scope = Scope::new(Arc::new(plan));
                let mut state = self.lock();
                match &session {
                    Some(name) => {
                        if !state.named.contains_key(name) && state.named.len() >= SESSION_LIMIT {
                            return refuse(
                                400,
                                format!(
                                    "tailtape: {SESSION_LIMIT} sessions have plans already, the \
                                     limit; DELETE {FAULTS_PATH} with a {SESSION_HEADER} header \
                                     ends one"
                                ),
                            );
                        }
                        state.named.insert(name.clone(), scope);
                    }
                    None => state.default = Some(scope),
                }
                Answer::json(
                    200,
                    with_session(json!({"status": "set", "rules": rules}), &session),
                )
            }
            _ => {
                let mut answer = refuse(
                    405,
                    format!("tailtape: {FAULTS_PATH} takes GET, POST and DELETE"),
                );
                answer
                    .headers
                    .push(("allow".into(), "GET, POST, DELETE".into()));
                answer
            }
        }
    }
}

fn with_session(mut body: Value, session: &Option<String>) -> Value {
    if let Some(name) = session {
        body["session"] = json!(name);
    }
    body
}

pub(super) fn pretty(status: u16, value: &Value) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: bytes::Bytes::from(
            serde_json::to_string_pretty(value).expect("JSON values serialize") + "\n",
        ),
    }
}
