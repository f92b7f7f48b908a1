//! A replay server inside a Rust test (`http::InProcess`): started on a free port of 127.0.0.1
//! with its own runtime on a background thread, stopped (in-flight requests finished) when
//! dropped.

use std::net::SocketAddr;

use super::Replay;
use crate::http::{InProcess, Timeouts};
use crate::report::Report;

/// A running replay server.
///
/// ```
/// use std::io::{Read, Write};
///
/// use tailtape::cassette;
/// use tailtape::replay::{Options, Replay, ReplayServer};
/// use tailtape::schema::Contract;
///
/// let cassettes = cassette::bundled()
///     .into_iter()
///     .map(|source| (source.name(), source.load().unwrap()))
///     .collect();
/// let replay = Replay::new(Contract::load(None).unwrap(), cassettes, Options::default());
/// let server = ReplayServer::start(replay).unwrap();
///
/// // Any HTTP client pointed at server.url() now talks to the fake API.
/// let mut conn = std::net::TcpStream::connect(server.addr()).unwrap();
/// conn.write_all(b"GET /api/v2/tailnet/-/dns/searchpaths HTTP/1.1\r\nhost: x\r\n\
///                  authorization: Bearer tskey-api-test\r\nconnection: close\r\n\r\n").unwrap();
/// let mut answer = String::new();
/// conn.read_to_string(&mut answer).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200 OK"));
/// assert!(answer.ends_with(r#"{"searchPaths":[]}"#));
///
/// assert_eq!(server.report().summary.matched, 1);
/// ```
pub struct ReplayServer(InProcess<Replay>);

impl ReplayServer {
    /// Starts `replay` on a free port of 127.0.0.1.
    pub fn start(replay: Replay) -> std::io::Result<ReplayServer> {
        ReplayServer::start_on(replay, "127.0.0.1:0")
    }

    /// Starts `replay` on `addr` (`127.0.0.1:0` picks a free port).
    pub fn start_on(replay: Replay, addr: &str) -> std::io::Result<ReplayServer> {
        ReplayServer::start_with(replay, addr, Timeouts::default())
    }

    /// Starts `replay` on `addr`, closing connections after `timeouts`.
    pub fn start_with(
        replay: Replay,
        addr: &str,
        timeouts: Timeouts,
    ) -> std::io::Result<ReplayServer> {
        InProcess::start(replay, addr, timeouts, "tailtape-replay").map(ReplayServer)
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        self.0.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    /// The journal so far, grouped by session (see [`Replay::report`]).
    pub fn report(&self) -> Report {
        self.0.handler().report()
    }

    /// One session's own report (`None`: the default session's).
    pub fn session_report(&self, session: Option<&str>) -> Report {
        self.0.handler().session_report(session)
    }

    /// Rewinds the recorded sequences and clears the journal, of every session.
    pub fn reset(&self) {
        self.0.handler().reset();
    }

    /// Ends session `name` only (see [`Replay::reset_session`]).
    pub fn reset_session(&self, name: &str) {
        self.0.handler().reset_session(name);
    }
}
