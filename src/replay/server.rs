//! Replay's HTTP side: the control endpoints under `/__tailtape/`, and every other request
//! read (see `http.rs`) and answered by [`Replay::answer`].

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;

use super::Replay;
use crate::http::{self, Answer, Handler, Timeouts, read_request};

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
            ("GET", "/__tailtape/report") => Answer {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: Bytes::from(self.report().to_json()),
            },
            ("POST", "/__tailtape/reset") => {
                self.reset();
                Answer::json(200, json!({"status": "reset"}))
            }
            _ => match read_request(request).await {
                Ok(request) => self.answer(&request),
                Err(answer) => answer,
            },
        }
    }
}
