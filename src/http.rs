//! Serving HTTP, shared by `replay` and `record`: the accept loop (HTTP/1.1 with keep-alive,
//! and HTTP/2; graceful shutdown that lets in-flight requests finish), reading a request into a
//! cassette [`Request`] under a body limit, and the [`Answer`] a handler returns. A bad request
//! never takes a server down: hyper answers malformed HTTP itself, bodies over [`MAX_BODY`] get
//! 413 without being read in full, and every other request reaches the handler.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;

use crate::body::Body;
use crate::cassette::{Headers, Request};

/// The largest request body a server reads (16 MiB); larger ones get 413.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

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

/// What a server does with each request.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: hyper::Request<Incoming>) -> impl Future<Output = Answer> + Send;

    /// Completes once work the handler carries on beyond its requests is done (the recorder
    /// finishing exchanges whose clients left); awaited on shutdown, after in-flight requests.
    fn drained(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Serves `handler` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (up to a few seconds) and waits for the handler to be [drained](Handler::drained).
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of file descriptors and the like: wait, do not spin or die.
                        eprintln!("tailtape: accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = Arc::clone(&handler);
                let service = service_fn(move |request| {
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, Infallible>(to_response(handler.handle(request).await)) }
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    handler.drained().await;
}

fn to_response(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(answer.body));
    *response.status_mut() =
        hyper::StatusCode::from_u16(answer.status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
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
    let (parts, body) = request.into_parts();
    match Limited::new(body, MAX_BODY as usize).collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(err) => Err(Answer::json(
            400,
            json!({"message": format!("tailtape: could not read the request body: {err}")}),
        )),
    }
}

/// A request head and body as a cassette request: lower-case header names, repeated headers
/// joined with ", ", the body classified (JSON, text or bytes).
pub fn to_request(parts: &hyper::http::request::Parts, bytes: &[u8]) -> Request {
    Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts
            .uri
            .query()
            .filter(|q| !q.is_empty())
            .map(str::to_string),
        headers: to_headers(&parts.headers),
        body: Body::from_bytes(bytes),
    }
}

/// Header names (lower case) to one value each, repeated headers joined with ", ".
pub fn to_headers(map: &hyper::HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in map {
        let value = String::from_utf8_lossy(value.as_bytes());
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

/// Runs a server for the command line: binds `listen`, prints `what` and ` on http://ADDR` as
/// the first line of stdout (scripts read the base URL from it), and serves `handler` until
/// SIGINT or SIGTERM, letting in-flight requests finish.
pub fn run_until_signal<H: Handler>(
    listen: &str,
    handler: Arc<H>,
    what: &str,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(TcpListener::bind(listen))
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    std::io::Write::write_all(&mut stdout, format!("{what} on http://{addr}\n").as_bytes())?;
    std::io::Write::flush(&mut stdout)?;
    runtime.block_on(serve(listener, handler, stop_signal()));
    Ok(())
}

/// Completes on SIGINT or SIGTERM: what stops a server started from the command line.
pub async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
