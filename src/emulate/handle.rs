//! An emulator inside a Rust test: started on a free port of 127.0.0.1 with its own runtime on a
//! background thread, stopped (in-flight requests finished) when dropped; like replay's
//! `ReplayServer`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::server::serve;
use super::{Emulator, Report};
use crate::http::Timeouts;

/// A running emulator.
///
/// ```
/// use tailtape::emulate::{EmulateServer, Emulator, Options};
///
/// let server = EmulateServer::start(Emulator::example(Options::default())).unwrap();
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(server.report(None).summary.requests, 0);
/// ```
pub struct EmulateServer {
    addr: SocketAddr,
    url: String,
    emulator: Arc<Emulator>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmulateServer {
    /// Starts `emulator` on a free port of 127.0.0.1.
    pub fn start(emulator: Emulator) -> std::io::Result<EmulateServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let emulator = Arc::new(emulator);
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = Arc::clone(&emulator);
        let thread = std::thread::Builder::new()
            .name("tailtape-emulate".into())
            .spawn(move || {
                runtime.block_on(serve(listener, serving, Timeouts::default(), async {
                    let _ = stopped.await;
                }))
            })?;
        Ok(EmulateServer {
            addr,
            url: format!("http://{addr}"),
            emulator,
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

    /// The emulator itself, to answer requests without HTTP.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The journal of every session (`None`), or of one.
    pub fn report(&self, session: Option<&str>) -> Report {
        self.emulator.report(session)
    }

    /// Every session back to the seed (`None`), or one.
    pub fn reset(&self, session: Option<&str>) {
        self.emulator.reset(session);
    }
}

impl Drop for EmulateServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
