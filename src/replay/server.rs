//! Replay's HTTP side: the control endpoints under `/__tailtape/` (`control.rs`, shared with
//! emulate), and every other request read (see `http.rs`) and answered by [`Replay::answer`].

use std::future::Future;
use std::sync::Arc;

use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::Replay;
use crate::cassette::Request;
use crate::control::{self, Controlled};
use crate::http::{self, Answer, Handler, Timeouts};

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
        control::handle(self, request).await
    }
}

impl Controlled for Replay {
    fn report_json(&self, session: Option<&str>) -> String {
        match session {
            Some(_) => self.session_report(session),
            None => self.report(),
        }
        .to_json()
    }

    fn reset_to_start(&self, session: Option<&str>) {
        match session {
            Some(name) => self.reset_session(name),
            None => self.reset(),
        }
    }

    fn answer_request(&self, request: &Request) -> Answer {
        self.answer(request)
    }
}
