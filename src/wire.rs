//! Answers on the wire, for `http.rs`: the hyper response of an [`Answer`], and answers cut on
//! purpose (fault plans, `faults/`): the connection reset before anything is sent (hyper drops
//! the connection when the service fails, and the socket closes with `SO_LINGER` 0, so the
//! client sees a TCP reset), or the body stopped after some bytes (the body stream fails, and
//! hyper aborts the connection short of the `content-length` it sent). A lent answer's headers
//! (a recorded answer, [`Reply::Lent`]) are made into hyper's form once and copied after.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::HeaderMap;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::http::{Answer, Reply};
use crate::matching::Cheap;

/// How an answer leaves the server when it is not sent whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Nothing is sent: the connection is reset (a TCP RST on HTTP/1, the stream reset on
    /// HTTP/2).
    Reset,
    /// The head (with the whole body's `content-length`) and at most this many bytes of the
    /// body are sent, always at least one byte short of the whole; then the connection is
    /// aborted.
    After(usize),
}

/// The entry of [`Answer::headers`] that carries a [`Cut`] to [`serve`]. Its name is no valid
/// header name, so no recorded answer can hold it and it is never sent; an entry rather than a
/// field keeps every handler's `Answer { .. }` as it is.
const CUT: &str = "\0tailtape-cut";

impl Answer {
    /// This answer, to be cut on the wire as `cut` says.
    pub fn cut(mut self, cut: Cut) -> Answer {
        let value = match cut {
            Cut::Reset => "reset".to_string(),
            Cut::After(n) => n.to_string(),
        };
        self.headers.retain(|(name, _)| name != CUT);
        self.headers.push((CUT.into(), value));
        self
    }

    /// How this answer is to be cut, if it is.
    pub fn cut_of(&self) -> Option<Cut> {
        let (_, value) = self.headers.iter().find(|(name, _)| name == CUT)?;
        Some(match value.parse() {
            Ok(n) => Cut::After(n),
            Err(_) => Cut::Reset,
        })
    }
}

pub(crate) fn to_response(reply: Reply<'_>) -> hyper::Response<Wire> {
    let answer = match reply {
        Reply::Lent(answer) if answer.cut_of().is_none() => {
            let mut response = hyper::Response::new(Wire::Whole(Full::new(answer.body.clone())));
            *response.status_mut() = status_of(answer.status);
            *response.headers_mut() = prepared(&answer.headers);
            return response;
        }
        reply => reply.into_answer(),
    };
    let cut = answer.cut_of();
    let whole = answer.body.len();
    let body = match cut {
        Some(Cut::After(n)) => Wire::Cut {
            data: Some(answer.body.slice(..n.min(whole.saturating_sub(1)))),
            pause: None,
        },
        _ => Wire::Whole(Full::new(answer.body)),
    };
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status_of(answer.status);
    for (name, value) in answer.headers {
        if cut.is_some() && name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    if cut.is_some() {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(whole));
    }
    response
}

fn status_of(status: u16) -> hyper::StatusCode {
    hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY)
}

/// How many lent answers' headers each thread keeps ready; past that it starts over.
const PREPARED_KEPT: usize = 256;

/// Lent answers' headers in hyper's form, by the address of the answer's list, each with the
/// list it was made from: a list at an address seen before is used only if it is the same.
type Prepared = Cheap<usize, (Vec<(String, String)>, HeaderMap)>;

thread_local! {
    static PREPARED: RefCell<Prepared> = RefCell::default();
}

/// `headers` as hyper's map (entries hyper cannot send left out, as for answers of its own),
/// made once per list and copied after.
fn prepared(headers: &Vec<(String, String)>) -> HeaderMap {
    let key = headers.as_ptr() as usize;
    PREPARED.with(|kept| {
        let mut kept = kept.borrow_mut();
        if let Some((source, map)) = kept.get(&key)
            && source == headers
        {
            return map.clone();
        }
        let mut map = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                map.append(name, value);
            }
        }
        if kept.len() >= PREPARED_KEPT {
            kept.clear();
        }
        kept.insert(key, (headers.clone(), map.clone()));
        map
    })
}

/// The error by which an answer is [cut](Cut): hyper aborts the connection on it.
#[derive(Debug)]
pub(crate) struct CutOnPurpose;

impl std::fmt::Display for CutOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer cut on purpose (fault plan)")
    }
}

impl std::error::Error for CutOnPurpose {}

/// An answer's body on the wire: whole, or the first bytes and then a failure, after a pause
/// that lets hyper flush those bytes first (it drops what it has buffered when a body fails).
pub(crate) enum Wire {
    Whole(Full<Bytes>),
    Cut {
        data: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

/// How long a cut body waits between its last bytes and its failure.
const CUT_PAUSE: Duration = Duration::from_millis(20);

impl hyper::body::Body for Wire {
    type Data = Bytes;
    type Error = CutOnPurpose;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, CutOnPurpose>>> {
        match self.get_mut() {
            Wire::Whole(full) => Pin::new(full)
                .poll_frame(cx)
                .map(|frame| frame.map(|f| f.map_err(|never| match never {}))),
            Wire::Cut { data, pause } => {
                if let Some(bytes) = data.take().filter(|b| !b.is_empty()) {
                    return Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes))));
                }
                let pause = pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(CUT_PAUSE)));
                match pause.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(Some(Err(CutOnPurpose))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Wire::Whole(full) => full.is_end_stream(),
            Wire::Cut { .. } => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Wire::Whole(full) => full.size_hint(),
            Wire::Cut { .. } => hyper::body::SizeHint::default(),
        }
    }
}

/// A client's TCP connection, closed with a reset (`SO_LINGER` 0) once an answer asked for one.
pub(crate) struct Connection {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            reset: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Set it, and the connection is reset when it closes.
    pub(crate) fn reset_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.reset)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
