//! An emulator inside a Rust test (`http::InProcess`, as replay's `ReplayServer`): started on a
//! free port of 127.0.0.1 with its own runtime on a background thread, stopped (in-flight
//! requests finished) when dropped.

use std::net::SocketAddr;

use super::{Emulator, Report};
use crate::http::{InProcess, Timeouts};

/// A running emulator.
///
/// ```
/// use tailtape::emulate::{EmulateServer, Emulator, Options};
///
/// let server = EmulateServer::start(Emulator::example(Options::default())).unwrap();
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(server.report(None).summary.requests, 0);
/// ```
pub struct EmulateServer(InProcess<Emulator>);

impl EmulateServer {
    /// Starts `emulator` on a free port of 127.0.0.1.
    pub fn start(emulator: Emulator) -> std::io::Result<EmulateServer> {
        InProcess::start(
            emulator,
            "127.0.0.1:0",
            Timeouts::default(),
            "tailtape-emulate",
        )
        .map(EmulateServer)
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        self.0.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    /// The emulator itself, to answer requests without HTTP.
    pub fn emulator(&self) -> &Emulator {
        self.0.handler()
    }

    /// The journal of every session (`None`), or of one.
    pub fn report(&self, session: Option<&str>) -> Report {
        self.emulator().report(session)
    }

    /// Every session back to the seed (`None`), or one.
    pub fn reset(&self, session: Option<&str>) {
        self.emulator().reset(session);
    }
}
