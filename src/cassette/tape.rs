//! The fast cassette reader: reads a cassette in the canonical layout (`write.rs`) in 1 MiB
//! chunks and hands on one interaction at a time as a tape [`Doc`] (`src/json`) sliced from the
//! chunk it was read into, checked against the format (by a quick frame check, `frame.rs`, and
//! by the schema engine on the tape where that check is not sure), its JSON bodies as
//! [`Body::Doc`]s sharing the interaction's bytes. The file is never held whole and no `serde_json::Value` is built for an
//! interaction. On anything it does not clearly accept (another layout, a syntax or format
//! error, a repeated key, a cut file) it stops before handing that interaction on and leaves the
//! rest to the serde reader (`read.rs`) on the whole text, so that every error and warning is
//! exactly the one that reader gives.

use std::borrow::Cow;
use std::io::Read;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use jsonschema::Validator;
use memchr::memmem;
use serde_json::Map;

mod frame;

use super::read::{forbidden_in_header, format_schemas, stream_to_end_after};
use super::{Cassette, Ending, Headers, Interaction, LoadError, Request, Response};
use crate::body::Body;
use crate::json::{Doc, Kind, NodeRef, Tape};

/// How much is read at a time.
const CHUNK: usize = 1 << 20;

/// Where the canonical layout opens the interactions array.
const OPEN: &[u8] = b"\n  \"interactions\": [\n    {";
/// Where an interaction ends: its closing brace, indented two levels.
const CLOSE: &[u8] = b"\n    }";
/// Between two interactions.
const NEXT: &[u8] = b",\n    {";
/// After the last one, to the end of the file.
const END: &[u8] = b"\n  ]\n}\n";

/// Reads the cassette `file` from `input` as [`super::stream_to_end`] reads its text; `whole`
/// gives that text when the serde reader has to take over.
pub fn stream_to_end<'t>(
    file: &str,
    input: impl Read,
    whole: impl FnOnce() -> Result<Cow<'t, str>, LoadError>,
    mut each: impl FnMut(usize, Interaction),
) -> Result<(Cassette, Ending), LoadError> {
    let mut handed = 0;
    let io = |error| LoadError::Io {
        file: file.to_string(),
        error,
    };
    let read = fast(file, input, |index, interaction| {
        handed = index + 1;
        each(index, interaction)
    })
    .map_err(io)?;
    match read {
        Some(cassette) => Ok((cassette, Ending::Closed)),
        None => stream_to_end_after(file, &whole()?, handed, each),
    }
}

/// The cassette when the whole input was read here; `None` where the serde reader must take
/// over (after the interactions handed on).
fn fast(
    file: &str,
    input: impl Read,
    mut each: impl FnMut(usize, Interaction),
) -> std::io::Result<Option<Cassette>> {
    let mut chunks = Chunks {
        input,
        buf: Bytes::new(),
        at: 0,
        eof: false,
    };
    // The header: everything before the interactions, checked by the serde reader as a
    // cassette with none.
    // A header is short: looked for in the first chunk only, so that a file in another layout
    // is not read whole here before the serde reader reads it again.
    chunks.more()?;
    let Some(open) = memmem::find(&chunks.buf, OPEN) else {
        return Ok(None);
    };
    let array = open + OPEN.len() - 1;
    let Ok(head) = std::str::from_utf8(&chunks.buf[..array]) else {
        return Ok(None);
    };
    let Ok((cassette, Ending::Closed)) =
        super::stream_to_end(file, &format!("{head}]\n}}"), |_, _| {})
    else {
        return Ok(None);
    };
    chunks.at = array;
    let mut index = 0;
    loop {
        let Some(close) = chunks.find(CLOSE)? else {
            return Ok(None);
        };
        let end = close + CLOSE.len();
        let text = chunks.buf.slice(chunks.at..end);
        let Some(interaction) = interaction(text) else {
            return Ok(None);
        };
        each(index, interaction);
        index += 1;
        chunks.at = end;
        if chunks.starts_with(NEXT)? {
            chunks.at += NEXT.len() - 1;
        } else if chunks.starts_with(END)? && chunks.at_end(END.len())? {
            return Ok(Some(cassette));
        } else {
            return Ok(None);
        }
    }
}

/// The input read so far from `at` on (what precedes `at` is dropped as more is read). The
/// buffer is shared: an interaction's text is a slice of it, never a copy.
struct Chunks<R> {
    input: R,
    buf: Bytes,
    at: usize,
    eof: bool,
}

impl<R: Read> Chunks<R> {
    /// Reads another chunk; false at the end of the input. What is left from `at` on moves to
    /// the new buffer, which reads at least as much again as that (so that an interaction of
    /// many chunks is copied a bounded number of times over).
    fn more(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let rest = &self.buf[self.at..];
        let want = CHUNK.max(rest.len());
        let mut next = Vec::with_capacity(rest.len() + want);
        next.extend_from_slice(rest);
        let read = (&mut self.input).take(want as u64).read_to_end(&mut next)?;
        self.buf = Bytes::from(next);
        self.at = 0;
        self.eof = read == 0;
        Ok(!self.eof)
    }

    /// Where `pattern` next occurs from `at` on, reading on until it does; `None` if the
    /// input ends first. Each byte is searched once.
    fn find(&mut self, pattern: &[u8]) -> std::io::Result<Option<usize>> {
        // Relative to `at`, which reading more moves.
        let mut from = 0;
        loop {
            let start = self.at + from;
            if let Some(found) = memmem::find(&self.buf[start..], pattern) {
                return Ok(Some(start + found));
            }
            from = (self.buf.len() - self.at).saturating_sub(pattern.len() - 1);
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    /// Whether what follows `at` starts with `pattern`.
    fn starts_with(&mut self, pattern: &[u8]) -> std::io::Result<bool> {
        while self.buf.len() - self.at < pattern.len() && self.more()? {}
        Ok(self.buf[self.at..].starts_with(pattern))
    }

    /// Whether the input ends `len` bytes after `at`.
    fn at_end(&mut self, len: usize) -> std::io::Result<bool> {
        while self.buf.len() - self.at <= len && self.more()? {}
        Ok(self.buf.len() - self.at == len)
    }
}

/// The interaction `text` holds, if it is one the serde reader would accept as it is.
fn interaction(text: Bytes) -> Option<Interaction> {
    // Inside the top-level object and its interactions array.
    let doc = Doc::parse_nested(text, 2).ok()?;
    let root = doc.root();
    if !frame::surely_valid(root) && !format_validator().is_valid(root) {
        return None;
    }
    let req = root.get("request")?;
    let resp = root.get("response")?;
    let string =
        |node: NodeRef<'_>, name| node.get(name).and_then(|v| v.as_str()).map(Cow::into_owned);
    let request = Request {
        method: string(req, "method").unwrap_or_default(),
        path: string(req, "path").unwrap_or_default(),
        query: string(req, "query"),
        headers: headers(req)?,
        body: body(&doc, req)?,
    };
    let status = resp
        .get("status")
        .and_then(|s| s.as_number()?.parse::<u64>().ok());
    let response = Response {
        status: status
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_default(),
        headers: headers(resp)?,
        body: body(&doc, resp)?,
    };
    let extra: Map<_, _> = root
        .members()
        .filter(|(name, _)| !matches!(name.as_str().as_deref(), Some("request" | "response")))
        .map(|(name, value)| {
            (
                name.as_str().unwrap_or_default().into_owned(),
                value.to_value(),
            )
        })
        .collect();
    Some(Interaction {
        request,
        response,
        extra,
    })
}

/// A message's headers; `None` if a value holds what HTTP does not allow (the serde reader
/// says where).
fn headers(message: NodeRef<'_>) -> Option<Headers> {
    let mut headers = Headers::new();
    let Some(members) = message.get("headers").filter(|h| h.kind() == Kind::Object) else {
        return Some(headers);
    };
    for (name, value) in members.members() {
        let Some(value) = value.as_str() else {
            continue;
        };
        if value.chars().any(forbidden_in_header) {
            return None;
        }
        headers.insert(name.as_str()?.into_owned(), value.into_owned());
    }
    Some(headers)
}

/// A message's body, a JSON one as a document of its own; `None` for base64 that is not.
fn body(doc: &Doc, message: NodeRef<'_>) -> Option<Body> {
    if let Some(json) = message.get("json") {
        return Some(Body::Doc(Box::new(doc.extract(json))));
    }
    if let Some(text) = message.get("text").and_then(|t| t.as_str()) {
        return Some(Body::Text(text.into_owned()));
    }
    match message.get("base64").and_then(|b| b.as_str()) {
        Some(b64) => BASE64.decode(b64.as_bytes()).ok().map(Body::Binary),
        None => Some(Body::Empty),
    }
}

/// The format's `interaction` definition, compiled for tapes.
fn format_validator() -> &'static Validator<Tape> {
    static VALIDATOR: OnceLock<Validator<Tape>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options_for::<Tape>()
            .should_validate_formats(true)
            .build(&format_schemas().1)
            .expect("the embedded cassette schema compiles")
    })
}
