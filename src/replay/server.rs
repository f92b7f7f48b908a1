//! Replay's HTTP side: the control endpoints under `/__tailtape/` (`control.rs`, shared with
//! emulate), and every other request read (see `http.rs`) and answered by [`Replay::answer`]; a
//! bodiless one is read in place, not copied (`asked.rs`).

use hyper::body::Incoming;

use super::Replay;
use super::asked::Asked;
use crate::cassette::Request;
use crate::control::{self, Controlled};
use crate::http::{Answer, Handler, Reply};

/// Where `tailtape replay` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8383";

impl Handler for Replay {
    async fn handle(&self, request: hyper::Request<Incoming>) -> Answer {
        control::handle(self, request).await
    }

    /// A bodiless API request is answered at once from hyper's head as it is (`asked.rs`),
    /// with the recorded answer lent; everything else as [`Handler::handle`] answers it.
    fn answer_now(&self, request: &hyper::Request<Incoming>) -> Option<Reply<'_>> {
        let api = !request.uri().path().starts_with("/__tailtape/");
        (api && Asked::bodiless(request)).then(|| Replay::reply(self, request))
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
