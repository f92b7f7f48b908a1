//! The emulator's HTTP side, with replay's conventions (`control.rs`): `GET /__tailtape/health`,
//! `GET /__tailtape/report` (the journal as JSON) and `POST /__tailtape/reset` (back to the
//! seed), each of one session with a `tailtape-session` header or of all without; every other
//! request is read through `http.rs` and answered by [`Emulator::answer`].

use hyper::body::Incoming;

use super::Emulator;
use crate::cassette::Request;
use crate::control::{self, Controlled};
use crate::http::{Answer, Handler};

/// Where `tailtape emulate` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8385";

impl Handler for Emulator {
    async fn handle(&self, request: hyper::Request<Incoming>) -> Answer {
        control::handle(self, request).await
    }
}

impl Controlled for Emulator {
    fn report_json(&self, session: Option<&str>) -> String {
        self.report(session).to_json()
    }

    fn reset_to_start(&self, session: Option<&str>) {
        self.reset(session)
    }

    fn answer_request(&self, request: &Request) -> Answer {
        self.answer(request)
    }
}
