//! The HTTP side of replay: accepts connections (HTTP/1.1 with keep-alive, and HTTP/2), turns
//! each hyper request into a cassette [`Request`], asks [`Replay`] for the answer, and serves
//! the control endpoints under `/__tailtape/`. A bad request never takes the server down:
//! hyper answers malformed HTTP itself, bodies over [`MAX_BODY`] get 413 without being read
//! in full, and every other request gets an answer from [`Replay::answer`].

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

use super::{Answer, Replay};
use crate::body::Body;
use crate::cassette::{Headers, Request};

/// Where `tailtape replay` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8383";
/// The largest request body replay reads (16 MiB); larger ones get 413.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `replay` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (up to a few seconds).
pub async fn serve(listener: TcpListener, replay: Arc<Replay>, shutdown: impl Future<Output = ()>) {
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
                        eprintln!("tailtape replay: accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let replay = Arc::clone(&replay);
                let service = service_fn(move |request| {
                    let replay = Arc::clone(&replay);
                    async move { Ok::<_, Infallible>(handle(&replay, request).await) }
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
}

async fn handle(
    replay: &Replay,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let answer = match (request.method().as_str(), request.uri().path()) {
        ("GET", "/__tailtape/health") => Answer::json(200, json!({"status": "ok"})),
        ("GET", "/__tailtape/report") => Answer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(replay.report().to_json()),
        },
        ("POST", "/__tailtape/reset") => {
            replay.reset();
            Answer::json(200, json!({"status": "reset"}))
        }
        _ => match read(request).await {
            Ok(request) => replay.answer(&request),
            Err(answer) => answer,
        },
    };
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
async fn read(request: hyper::Request<Incoming>) -> Result<Request, Answer> {
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
    let bytes = match Limited::new(body, MAX_BODY as usize).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(err) => {
            return Err(Answer::json(
                400,
                json!({"message": format!("tailtape: could not read the request body: {err}")}),
            ));
        }
    };
    let mut headers = Headers::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_string())
            .and_modify(|joined: &mut String| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    Ok(Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts
            .uri
            .query()
            .filter(|q| !q.is_empty())
            .map(str::to_string),
        headers,
        body: Body::from_bytes(&bytes),
    })
}
