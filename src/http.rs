//! Serving HTTP, shared by `replay` and `record`: the accept loop (HTTP/1.1 with keep-alive,
//! and HTTP/2; graceful shutdown that lets in-flight requests finish), reading a request into a
//! cassette [`Request`] under a body limit, and the [`Answer`] a handler returns. A bad request
//! never takes a server down: hyper answers malformed HTTP itself, bodies over [`MAX_BODY`] get
//! 413 without being read in full, and every other request reaches the handler.
//!
//! No client holds a connection for ever ([`Timeouts`]): a request head must arrive within the
//! header timeout (hyper's `header_read_timeout`, which on HTTP/1.1 also runs while a kept-alive
//! connection waits for its next request), and a connection with no request in flight for the
//! idle timeout is shut down gracefully by a per-connection watchdog (hyper has no idle timeout
//! of its own). HTTP/2 connections are also pinged every idle timeout, so a dead peer is noticed.
//! An answer may be [cut](Cut) on purpose (fault plans); `wire.rs` puts answers on the wire;
//! `http/run.rs` runs a server from the command line or inside a Rust test.

mod run;

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::body::Body;
use crate::cassette::{Headers, Request};
pub use crate::wire::Cut;
use crate::wire::{Connection, CutOnPurpose, Wire, to_response};
pub use run::{InProcess, run_until_signal, stop_signal};

/// The largest request body a server reads (16 MiB); larger ones get 413.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

/// How long a server waits on a client before closing its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the connection's start (or its last answer) to the end of the next request's head.
    pub header_read: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle: Duration,
}

/// Default header timeout, in seconds.
pub const DEFAULT_HEADER_TIMEOUT: u64 = 30;
/// Default idle timeout, in seconds.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 60;

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(DEFAULT_HEADER_TIMEOUT),
            idle: Duration::from_secs(DEFAULT_IDLE_TIMEOUT),
        }
    }
}

/// An HTTP answer, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    /// A JSON answer (the API's error bodies are `{"message": ...}`).
    pub fn json(status: u16, value: serde_json::Value) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(value.to_string()),
        }
    }
}

/// A handler's answer: one it made, or one it keeps (a recorded answer) lent for as long as the
/// response is built, so that answering copies none of it (`wire.rs` keeps the headers of lent
/// answers ready in hyper's form).
#[derive(Debug)]
pub enum Reply<'a> {
    Own(Answer),
    Lent(&'a Answer),
}

impl Reply<'_> {
    pub fn answer(&self) -> &Answer {
        match self {
            Reply::Own(answer) => answer,
            Reply::Lent(answer) => answer,
        }
    }

    /// The answer as the handler's own (a lent one copied).
    pub fn into_answer(self) -> Answer {
        match self {
            Reply::Own(answer) => answer,
            Reply::Lent(answer) => answer.clone(),
        }
    }
}

/// What a server does with each request.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: hyper::Request<Incoming>) -> impl Future<Output = Answer> + Send;

    /// The answer to `request` at once, without waiting on anything, if the handler can give it
    /// so (and perhaps lend it); `None` leaves the request to [`Handler::handle`]. Answered at
    /// once, a request costs no future of its own.
    fn answer_now(&self, request: &hyper::Request<Incoming>) -> Option<Reply<'_>> {
        let _ = request;
        None
    }

    /// Completes once work the handler carries on beyond its requests is done (the recorder
    /// finishing exchanges whose clients left); awaited on shutdown, after in-flight requests.
    fn drained(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Serves `handler` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (up to a few seconds) and waits for the handler to be [drained](Handler::drained).
/// Connections are closed after `timeouts`.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(timeouts.idle);
    // Every connection holds a receiver; `closed()` completes when the last one has finished.
    let (stop, stopping) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of file descriptors and the like: wait, do not spin or die.
                        crate::log::warn(format!("accept failed: {err}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let activity = Arc::new(Activity::default());
                let handler = Arc::clone(&handler);
                let watched = Arc::clone(&activity);
                let stream = Connection::new(stream);
                let reset = stream.reset_flag();
                let service = service_fn(move |mut request: hyper::Request<Incoming>| {
                    if let Some(reply) = handler.answer_now(&request) {
                        watched.answered();
                        return Served::Ready(Some(respond(reply, &reset)));
                    }
                    let handler = Arc::clone(&handler);
                    let activity = Arc::clone(&watched);
                    let reset = Arc::clone(&reset);
                    // Only reading a body needs them (`read_raw`).
                    if !hyper::body::Body::is_end_stream(request.body()) {
                        request.extensions_mut().insert(timeouts);
                    }
                    Served::Pending(Box::pin(async move {
                        activity.begin();
                        let answer = handler.handle(request).await;
                        activity.end();
                        respond(Reply::Own(answer), &reset)
                    }))
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                tokio::spawn(drive(connection, activity, timeouts, stopping.clone()));
            }
            () = &mut shutdown => break,
        }
    }
    drop(stopping);
    let _ = stop.send(());
    let _ = tokio::time::timeout(DRAIN, stop.closed()).await;
    handler.drained().await;
}

/// The response to `reply`, or the error by which hyper resets the connection when the answer
/// says so (a fault plan's `reset`).
fn respond(reply: Reply<'_>, reset: &AtomicBool) -> Result<hyper::Response<Wire>, CutOnPurpose> {
    if reply.answer().cut_of() == Some(Cut::Reset) {
        reset.store(true, std::sync::atomic::Ordering::Relaxed);
        return Err(CutOnPurpose);
    }
    Ok(to_response(reply))
}

/// The future of one request: answered at once ([`Handler::answer_now`]), or being answered
/// (on the heap, so that the future hyper keeps per request stays small).
enum Served<F> {
    Ready(Option<Result<hyper::Response<Wire>, CutOnPurpose>>),
    Pending(std::pin::Pin<Box<F>>),
}

impl<F> Future for Served<F>
where
    F: Future<Output = Result<hyper::Response<Wire>, CutOnPurpose>>,
{
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        match self.get_mut() {
            Served::Ready(ready) => std::task::Poll::Ready(
                ready
                    .take()
                    .expect("a request's future polled after it ended"),
            ),
            Served::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// Runs one connection to its end, shutting it down gracefully (in-flight requests finish) when
/// its [`watchdog`] says so. It holds `stop` until it ends, so that the server's shutdown
/// waits for it; the watchdog runs as a task of its own, so that the connection's many
/// wake-ups per request poll a one-shot channel and not the watchdog's timer.
async fn drive<C>(
    connection: C,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    stop: watch::Receiver<()>,
) where
    C: Future + GracefulShutdown,
{
    let (close, mut closing) = oneshot::channel();
    tokio::spawn(watchdog(activity, timeouts, stop.clone(), close));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        told = &mut closing => if told.is_ok() {
            connection.as_mut().shut_down();
        },
    }
    connection.await;
    drop(stop);
}

/// Tells a connection to close (through `close`) when the server stops or when it has been
/// quiet too long (see [`Activity::quiet_for`]); ends with the connection.
async fn watchdog(
    activity: Arc<Activity>,
    timeouts: Timeouts,
    mut stop: watch::Receiver<()>,
    mut close: oneshot::Sender<()>,
) {
    tokio::select! {
        _ = stop.changed() => {}
        () = activity.quiet_for(timeouts) => {}
        () = close.closed() => return,
    }
    let _ = close.send(());
}

/// A connection that can finish what it is doing and then close.
trait GracefulShutdown {
    fn shut_down(self: std::pin::Pin<&mut Self>);
}

impl<I, S, E> GracefulShutdown for auto::Connection<'static, I, S, E>
where
    auto::Connection<'static, I, S, E>: Future,
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: hyper::body::Body + Send + 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn shut_down(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// What a connection's watchdog watches: requests in flight, whether there was one, and when
/// the last one ended (or the connection opened). Requests only write it; the watchdog wakes at
/// the earliest time the connection could have been quiet long enough and looks, so a request
/// costs no wake-up.
struct Activity {
    state: Mutex<State>,
}

#[derive(Clone, Copy)]
struct State {
    in_flight: usize,
    served: bool,
    since: Instant,
}

impl Default for Activity {
    fn default() -> Activity {
        Activity {
            state: Mutex::new(State {
                in_flight: 0,
                served: false,
                since: Instant::now(),
            }),
        }
    }
}

impl Activity {
    fn begin(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.served = true;
    }

    fn end(&self) {
        let mut state = self.lock();
        state.in_flight -= 1;
        state.since = Instant::now();
    }

    /// A request begun and ended at once.
    fn answered(&self) {
        let mut state = self.lock();
        state.served = true;
        state.since = Instant::now();
    }

    /// Completes once no request has been in flight for `timeouts.idle`, or, on a connection
    /// that has not begun a request yet, for `timeouts.header_read` (until then the auto
    /// builder is still reading the protocol preface and hyper's own timer is not running).
    async fn quiet_for(&self, timeouts: Timeouts) {
        loop {
            let state = *self.lock();
            let limit = if state.served {
                timeouts.idle
            } else {
                timeouts.header_read
            };
            let quiet = state.since.elapsed();
            if state.in_flight == 0 && quiet >= limit {
                return;
            }
            // Quiet from now on, it could be closed at `since + limit`; a request that ends
            // later moves `since` to then, closing it an idle timeout after that at the
            // earliest, so the next look comes no later than either.
            let wait = if state.in_flight == 0 {
                (limit - quiet).min(timeouts.idle)
            } else {
                timeouts.idle
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads a hyper request into a cassette request; an error is the answer to send instead.
pub async fn read_request(request: hyper::Request<Incoming>) -> Result<Request, Answer> {
    let (parts, bytes) = read_raw(request).await?;
    Ok(to_request(&parts, &bytes))
}

/// Reads a request's head and whole body (under [`MAX_BODY`]), keeping the exact bytes.
pub async fn read_raw(
    request: hyper::Request<Incoming>,
) -> Result<(hyper::http::request::Parts, Bytes), Answer> {
    // A request that says it has no body (a GET without `content-length`) is not read.
    if hyper::body::Body::is_end_stream(request.body()) {
        return Ok((request.into_parts().0, Bytes::new()));
    }
    let too_large = || {
        Answer::json(
            413,
            json!({"message": format!("tailtape: request body over {MAX_BODY} bytes")}),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    // A body that stops arriving for the idle timeout is given up on, so that a client
    // stalling mid-upload cannot hold a connection (the watchdog counts the request in flight).
    let stall = request
        .extensions()
        .get::<Timeouts>()
        .map_or(Timeouts::default().idle, |t| t.idle);
    let (parts, body) = request.into_parts();
    let mut body = Limited::new(body, MAX_BODY as usize);
    let mut bytes = bytes::BytesMut::new();
    loop {
        let Ok(frame) = tokio::time::timeout(stall, body.frame()).await else {
            return Err(Answer::json(
                408,
                json!({"message": format!(
                    "tailtape: no part of the request body arrived for {} s",
                    stall.as_secs()
                )}),
            ));
        };
        match frame {
            None => return Ok((parts, bytes.freeze())),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
                return Err(too_large());
            }
            Some(Err(err)) => {
                return Err(Answer::json(
                    400,
                    json!({"message": format!("tailtape: could not read the request body: {err}")}),
                ));
            }
        }
    }
}

/// A request head and body as a cassette request: lower-case header names, repeated headers
/// joined with ", ", the body classified (JSON, text or bytes).
pub fn to_request(parts: &hyper::http::request::Parts, bytes: &[u8]) -> Request {
    request_of(&parts.method, &parts.uri, &parts.headers, bytes)
}

/// A bodiless request's head as a cassette request, as [`to_request`] gives it (empty body).
pub fn head_request<B>(request: &hyper::Request<B>) -> Request {
    request_of(request.method(), request.uri(), request.headers(), &[])
}

fn request_of(
    method: &hyper::Method,
    uri: &hyper::Uri,
    headers: &hyper::HeaderMap,
    bytes: &[u8],
) -> Request {
    Request {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().filter(|q| !q.is_empty()).map(str::to_string),
        headers: to_headers(headers),
        body: Body::from_bytes(bytes),
    }
}

/// The value of header `name` as [`to_headers`] gives it, read in place: borrowed unless the
/// header is repeated (joined with ", ") or not visible ASCII (decoded lossily).
pub fn header_text<'m>(
    map: &'m hyper::HeaderMap,
    name: &hyper::header::HeaderName,
) -> Option<Cow<'m, str>> {
    let mut values = map.get_all(name).iter();
    let mut joined = text_of(values.next()?);
    for value in values {
        let joined = joined.to_mut();
        joined.push_str(", ");
        joined.push_str(&text_of(value));
    }
    Some(joined)
}

/// A header value as text: almost every value is visible ASCII; only the others go through
/// the lossy decoding.
fn text_of(value: &hyper::header::HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// Header names (lower case) to one value each, repeated headers joined with ", ".
pub fn to_headers(map: &hyper::HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in map {
        let value = text_of(value);
        headers
            .entry(name.as_str().to_string())
            .and_modify(|joined: &mut String| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::to_headers;

    #[test]
    fn repeated_headers_are_joined_and_names_come_lower_case_in_order() {
        let mut map = hyper::HeaderMap::new();
        map.append("X-Tag", "one".parse().unwrap());
        map.append("accept", "application/json".parse().unwrap());
        map.append("x-tag", "two".parse().unwrap());
        map.append(
            "x-bytes",
            hyper::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );

        let headers = to_headers(&map);

        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("accept", "application/json"),
                ("x-bytes", "café"),
                ("x-tag", "one, two")
            ]
        );
    }
}
