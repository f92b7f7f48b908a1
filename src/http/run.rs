//! Running a server outside the accept loop's own caller: from the command line until SIGINT or
//! SIGTERM ([`run_until_signal`]), or inside a Rust test on a runtime of its own
//! ([`InProcess`]). Both serve through [`serve`] with its graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::{Handler, Timeouts, serve};

/// Runs a server for the command line: binds `listen`, prints `what` and ` on http://ADDR` as
/// the first line of stdout (scripts read the base URL from it), and serves `handler` until
/// SIGINT or SIGTERM, letting in-flight requests finish.
pub fn run_until_signal<H: Handler>(
    listen: &str,
    handler: Arc<H>,
    timeouts: Timeouts,
    what: &str,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(TcpListener::bind(listen))
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let stop = {
        let _runtime = runtime.enter();
        stop_signal()?
    };
    let mut stdout = std::io::stdout();
    std::io::Write::write_all(&mut stdout, format!("{what} on http://{addr}\n").as_bytes())?;
    std::io::Write::flush(&mut stdout)?;
    runtime.block_on(serve(listener, handler, timeouts, stop));
    Ok(())
}

/// A future that completes on SIGINT or SIGTERM: what stops a server started from the command
/// line. The handlers are installed when this returns, not when the future is first polled, so
/// a signal sent as soon as the base URL is printed stops the server gracefully instead of
/// killing it. Call it inside the runtime.
pub fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// A server inside a Rust test: `handler` served on `addr` (`127.0.0.1:0` picks a free port) by
/// a runtime of its own on a background thread, so it works from plain `#[test]`s and async
/// tests alike, and stopped (in-flight requests finished) when dropped. Replay's
/// `ReplayServer` and emulate's `EmulateServer` are this with their own accessors.
pub struct InProcess<H> {
    addr: std::net::SocketAddr,
    url: String,
    handler: Arc<H>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<H: Handler> InProcess<H> {
    /// Starts `handler` on `addr`; `name` names its thread.
    pub fn start(
        handler: H,
        addr: &str,
        timeouts: Timeouts,
        name: &str,
    ) -> std::io::Result<InProcess<H>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let handler = Arc::new(handler);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = Arc::clone(&handler);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                runtime.block_on(serve(listener, serving, timeouts, async {
                    let _ = stopped.await;
                }))
            })?;
        Ok(InProcess {
            addr,
            url: format!("http://{addr}"),
            handler,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// What answers the requests.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

impl<H> Drop for InProcess<H> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
