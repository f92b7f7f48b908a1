//! Writing a cassette: the canonical text, pretty-printed with two spaces, keys in the order
//! DESIGN.md shows them, bodies under `json`, `text` or `base64`, and a final newline. The
//! recorder appends each interaction exactly as it sits inside that text
//! ([`Interaction::write_canonical`]), so a closed recording is canonical too.
//!
//! The text is serde_json's pretty layout, written by hand (`Members`): the recorder writes an
//! interaction per exchange, and most of it is a JSON body read in place, which
//! [`crate::json::NodeRef::write_pretty`] writes without serde. What is a `serde_json::Value`
//! goes through serde_json with the same layout (`Pretty`). The `Serialize` impls give the same
//! text through serde (`serde_json::to_string_pretty`), which the tests compare it with.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use super::{Cassette, FORMAT_VERSION, Headers, Interaction, Recorded, Request, Response};
use crate::body::Body;

impl Cassette {
    /// The canonical text: pretty-printed with two spaces, stable key order, final newline.
    pub fn to_canonical_string(&self) -> String {
        let mut out = Vec::new();
        self.write_text(&mut out)
            .expect("writing into memory cannot fail");
        out.push(b'\n');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    fn write_text(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let mut map = Members::open(out, 0)?;
        map.entry("tailtape", &FORMAT_VERSION)?;
        map.entry("recorded", &self.recorded)?;
        map.extra(&self.extra)?;
        let (depth, out) = map.name("interactions")?;
        match self.interactions.is_empty() {
            true => out.write_all(b"[]")?,
            false => {
                out.write_all(b"[")?;
                for (index, interaction) in self.interactions.iter().enumerate() {
                    line(out, index == 0, depth + 1)?;
                    interaction.write_object(out, depth + 1)?;
                }
                line(out, true, depth)?;
                out.write_all(b"]")?;
            }
        }
        map.close()
    }
}

impl Interaction {
    /// Writes the interaction as the canonical text has it inside `interactions`: indented
    /// two levels, the first line included. The text is the same every time; the only error
    /// is `out`'s.
    pub fn write_canonical<W: ?Sized + Write>(&self, out: &mut W) -> std::io::Result<()> {
        out.write_all(indentation(2))?;
        self.write_object(out, 2)
    }

    /// The interaction as an object `depth` levels deep, its first line unindented.
    fn write_object<W: ?Sized + Write>(&self, out: &mut W, depth: usize) -> std::io::Result<()> {
        let mut map = Members::open(out, depth)?;
        let (depth, out) = map.name("request")?;
        self.request.write_object(out, depth)?;
        let (depth, out) = map.name("response")?;
        self.response.write_object(out, depth)?;
        map.extra(&self.extra)?;
        map.close()
    }
}

impl Request {
    fn write_object<W: ?Sized + Write>(&self, out: &mut W, depth: usize) -> std::io::Result<()> {
        let mut map = Members::open(out, depth)?;
        map.string("method", &self.method)?;
        map.string("path", &self.path)?;
        if let Some(query) = &self.query {
            map.string("query", query)?;
        }
        map.headers(&self.headers)?;
        map.body(&self.body)?;
        map.close()
    }
}

impl Response {
    fn write_object<W: ?Sized + Write>(&self, out: &mut W, depth: usize) -> std::io::Result<()> {
        let mut map = Members::open(out, depth)?;
        let (_, out) = map.name("status")?;
        write_number(out, self.status)?;
        map.headers(&self.headers)?;
        map.body(&self.body)?;
        map.close()
    }
}

/// An object of the canonical text written member by member, in serde_json's pretty layout
/// (two spaces a level), by hand: the recorder writes an interaction per exchange, and most of
/// it is a JSON body read in place ([`crate::json::NodeRef::write_pretty`]); what is a
/// `serde_json::Value` (a tree body, unknown fields) goes through serde_json's serializer with
/// [`Pretty`].
struct Members<'w, W: ?Sized> {
    out: &'w mut W,
    /// The depth of the members.
    depth: usize,
    empty: bool,
}

impl<'w, W: ?Sized + Write> Members<'w, W> {
    /// Opens an object `depth` levels deep.
    fn open(out: &'w mut W, depth: usize) -> std::io::Result<Self> {
        out.write_all(b"{")?;
        Ok(Members {
            out,
            depth: depth + 1,
            empty: true,
        })
    }

    /// Starts the member `name` (its line, its name and `: `): its value is for the caller to
    /// write, at the depth returned.
    fn name(&mut self, name: &str) -> std::io::Result<(usize, &mut W)> {
        line(self.out, self.empty, self.depth)?;
        self.empty = false;
        write_string(self.out, name)?;
        self.out.write_all(b": ")?;
        Ok((self.depth, &mut *self.out))
    }

    fn entry(&mut self, name: &str, value: &impl Serialize) -> std::io::Result<()> {
        let (depth, out) = self.name(name)?;
        write_pretty(out, value, depth)
    }

    fn string(&mut self, name: &str, value: &str) -> std::io::Result<()> {
        let (_, out) = self.name(name)?;
        write_string(out, value)
    }

    fn extra(&mut self, extra: &Map<String, Value>) -> std::io::Result<()> {
        extra
            .iter()
            .try_for_each(|(name, value)| self.entry(name, value))
    }

    /// The `headers` member, when there are any.
    fn headers(&mut self, headers: &Headers) -> std::io::Result<()> {
        if headers.is_empty() {
            return Ok(());
        }
        let (depth, out) = self.name("headers")?;
        let mut map = Members::open(out, depth)?;
        for (name, value) in headers {
            map.string(name, value)?;
        }
        map.close()
    }

    /// A message body under its key (`json`, `text` or `base64`), when there is one.
    fn body(&mut self, body: &Body) -> std::io::Result<()> {
        match body {
            Body::Empty => Ok(()),
            Body::Json(value) => self.entry("json", value),
            Body::Doc(doc) => {
                let (depth, out) = self.name("json")?;
                doc.root().write_pretty(out, depth)
            }
            Body::Text(text) => self.string("text", text),
            Body::Binary(bytes) => self.string("base64", &BASE64.encode(bytes)),
        }
    }

    fn close(self) -> std::io::Result<()> {
        if !self.empty {
            line(self.out, true, self.depth - 1)?;
        }
        self.out.write_all(b"}")
    }
}

/// A string as serde_json writes it: as it is between quotes when nothing in it needs an
/// escape (a quote, a backslash, a control character), else through serde_json.
fn write_string<W: ?Sized + Write>(out: &mut W, text: &str) -> std::io::Result<()> {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.write_all(b"\"")?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\"")
    } else {
        serde_json::to_writer(out, text).map_err(std::io::Error::from)
    }
}

/// A status code's digits.
fn write_number<W: ?Sized + Write>(out: &mut W, number: u16) -> std::io::Result<()> {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    let mut left = number;
    loop {
        at -= 1;
        digits[at] = b'0' + (left % 10) as u8;
        left /= 10;
        if left == 0 {
            break;
        }
    }
    out.write_all(&digits[at..])
}

/// Starts a line `depth` levels deep, after a comma unless it is the `first` of its container:
/// in one write (the comma, the line break and the spaces) up to [`LEVELS`] levels.
fn line<W: ?Sized + Write>(out: &mut W, first: bool, depth: usize) -> std::io::Result<()> {
    const BREAK: &[u8; 2 + 2 * LEVELS] = &{
        let mut bytes = [b' '; 2 + 2 * LEVELS];
        bytes[0] = b',';
        bytes[1] = b'\n';
        bytes
    };
    let levels = depth.min(LEVELS);
    out.write_all(&BREAK[usize::from(first)..2 + 2 * levels])?;
    let mut left = depth - levels;
    while left > 0 {
        out.write_all(indentation(left))?;
        left -= left.min(LEVELS);
    }
    Ok(())
}

fn write_pretty<W: ?Sized + Write>(
    out: &mut W,
    value: &impl Serialize,
    depth: usize,
) -> std::io::Result<()> {
    let formatter = Pretty {
        depth,
        has_value: false,
    };
    value
        .serialize(&mut serde_json::Serializer::with_formatter(out, formatter))
        .map_err(std::io::Error::from)
}

/// serde_json's pretty layout (two spaces a level) from a given depth, each indentation
/// written at once rather than a level at a time, for the values written through serde.
struct Pretty {
    depth: usize,
    has_value: bool,
}

/// The most levels [`indentation`] gives at once.
const LEVELS: usize = 64;

/// The spaces of `depth` levels, up to [`LEVELS`].
fn indentation(depth: usize) -> &'static [u8] {
    const SPACES: &[u8; 2 * LEVELS] = &[b' '; 2 * LEVELS];
    &SPACES[..2 * depth.min(LEVELS)]
}

impl Pretty {
    fn indent<W: ?Sized + Write>(&self, writer: &mut W) -> std::io::Result<()> {
        let mut left = self.depth;
        while left > 0 {
            writer.write_all(indentation(left))?;
            left -= left.min(LEVELS);
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.indent(writer)?;
        }
        writer.write_all(bracket)
    }

    fn next<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> std::io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(writer)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes the fields of a message body under its key (`json`, `text` or `base64`).
fn serialize_body<M: SerializeMap>(map: &mut M, body: &Body) -> Result<(), M::Error> {
    match body {
        Body::Empty => Ok(()),
        Body::Json(v) => map.serialize_entry("json", v),
        Body::Doc(doc) => map.serialize_entry("json", &doc.root()),
        Body::Text(t) => map.serialize_entry("text", t),
        Body::Binary(b) => map.serialize_entry("base64", &BASE64.encode(b)),
    }
}

fn serialize_extra<M: SerializeMap>(
    map: &mut M,
    extra: &Map<String, Value>,
) -> Result<(), M::Error> {
    extra
        .iter()
        .try_for_each(|(k, v)| map.serialize_entry(k, v))
}

impl Serialize for Cassette {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("tailtape", &FORMAT_VERSION)?;
        map.serialize_entry("recorded", &self.recorded)?;
        serialize_extra(&mut map, &self.extra)?;
        map.serialize_entry("interactions", &self.interactions)?;
        map.end()
    }
}

impl Serialize for Recorded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(at) = &self.at {
            map.serialize_entry("at", at)?;
        }
        map.serialize_entry("upstream", &self.upstream)?;
        if let Some(by) = &self.by {
            map.serialize_entry("by", by)?;
        }
        serialize_extra(&mut map, &self.extra)?;
        map.end()
    }
}

impl Serialize for Interaction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("request", &self.request)?;
        map.serialize_entry("response", &self.response)?;
        serialize_extra(&mut map, &self.extra)?;
        map.end()
    }
}

impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("method", &self.method)?;
        map.serialize_entry("path", &self.path)?;
        if let Some(query) = &self.query {
            map.serialize_entry("query", query)?;
        }
        if !self.headers.is_empty() {
            map.serialize_entry("headers", &self.headers)?;
        }
        serialize_body(&mut map, &self.body)?;
        map.end()
    }
}

impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("status", &self.status)?;
        if !self.headers.is_empty() {
            map.serialize_entry("headers", &self.headers)?;
        }
        serialize_body(&mut map, &self.body)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled cassette, whose bodies nest objects and arrays, empty ones included, and a
    /// body nested deeper than the spaces written at once.
    fn cassettes() -> Vec<Cassette> {
        let mut all: Vec<Cassette> = std::fs::read_dir("cassettes")
            .unwrap()
            .map(|entry| super::super::load(&entry.unwrap().path()).unwrap())
            .collect();
        let mut deep = all[0].clone();
        let mut nested = serde_json::json!({"empty": {}, "none": [], "list": [1, {"a": []}]});
        for _ in 0..2 * LEVELS {
            nested = serde_json::json!([nested]);
        }
        deep.interactions[0].response.body = Body::Json(nested);
        all.push(deep);
        // Strings that need escapes, text and binary bodies, fields the format does not know,
        // a cassette with no interaction.
        let mut odd = all[0].clone();
        let interaction = &mut odd.interactions[0];
        interaction.request.query = Some("q=\"a\\b\"&t=\u{1}\t".into());
        interaction
            .request
            .headers
            .insert("x-odd\"".into(), "é \u{7f} \n".into());
        interaction.request.body = Body::Text("line\n\"quoted\" \u{2028}".into());
        interaction.response.body = Body::Binary(vec![0, 159, 146, 150]);
        interaction
            .extra
            .insert("note".into(), serde_json::json!({"x": [1, {}], "y": []}));
        odd.extra
            .insert("top".into(), serde_json::json!([{"a": 1.5}]));
        all.push(odd);
        let mut none = all[0].clone();
        none.interactions.clear();
        all.push(none);
        // The same with every JSON body read in place, as the recorder holds one.
        let docs: Vec<Cassette> = all
            .iter()
            .map(|cassette| {
                let mut cassette = cassette.clone();
                for interaction in &mut cassette.interactions {
                    for body in [
                        &mut interaction.request.body,
                        &mut interaction.response.body,
                    ] {
                        if let Body::Json(value) = body {
                            let text = serde_json::to_vec(value).unwrap();
                            // (All but the body nested deeper than a document may be.)
                            if let doc @ Body::Doc(_) = Body::from_wire(text.into()) {
                                *body = doc;
                            }
                        }
                    }
                }
                cassette
            })
            .collect();
        all.extend(docs);
        all
    }

    #[test]
    fn the_canonical_text_is_serde_json_pretty() {
        for cassette in cassettes() {
            let pretty = serde_json::to_string_pretty(&cassette).unwrap() + "\n";
            assert_eq!(cassette.to_canonical_string(), pretty);
        }
    }

    #[test]
    fn an_interaction_is_written_as_it_sits_in_the_canonical_text() {
        for cassette in cassettes() {
            let canonical = cassette.to_canonical_string();
            for interaction in &cassette.interactions {
                let mut text = Vec::new();
                interaction.write_canonical(&mut text).unwrap();
                let text = String::from_utf8(text).unwrap();
                assert!(canonical.contains(&format!("\n{text}")), "{text}");
            }
        }
    }
}
