//! A replay server inside a Rust test: started on a free port of 127.0.0.1 with its own
//! runtime on a background thread, so it works from plain `#[test]`s and async tests alike,
//! and stopped (in-flight requests finished) when dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Replay, serve};
use crate::http::Timeouts;
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
pub struct ReplayServer {
    addr: SocketAddr,
    url: String,
    replay: Arc<Replay>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let replay = Arc::new(replay);
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = Arc::clone(&replay);
        let thread = std::thread::Builder::new()
            .name("tailtape-replay".into())
            .spawn(move || {
                runtime.block_on(serve(listener, serving, timeouts, async {
                    let _ = stopped.await;
                }))
            })?;
        Ok(ReplayServer {
            addr,
            url: format!("http://{addr}"),
            replay,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The journal so far, grouped by session (see [`Replay::report`]).
    pub fn report(&self) -> Report {
        self.replay.report()
    }

    /// One session's own report (`None`: the default session's).
    pub fn session_report(&self, session: Option<&str>) -> Report {
        self.replay.session_report(session)
    }

    /// Rewinds the recorded sequences and clears the journal, of every session.
    pub fn reset(&self) {
        self.replay.reset();
    }

    /// Ends session `name` only (see [`Replay::reset_session`]).
    pub fn reset_session(&self, name: &str) {
        self.replay.reset_session(name);
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
