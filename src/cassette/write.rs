//! Writing a cassette: the canonical text, pretty-printed with two spaces, keys in the order
//! DESIGN.md shows them, bodies under `json`, `text` or `base64`, and a final newline. The
//! recorder appends each interaction exactly as it sits inside that text
//! ([`Interaction::write_canonical`]), so a closed recording is canonical too.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use super::{Cassette, FORMAT_VERSION, Interaction, Recorded, Request, Response};
use crate::body::Body;

impl Cassette {
    /// The canonical text: pretty-printed with two spaces, stable key order, final newline.
    pub fn to_canonical_string(&self) -> String {
        let mut out = Vec::new();
        write_pretty(&mut out, self, 0).expect("writing into memory cannot fail");
        out.push(b'\n');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

impl Interaction {
    /// Writes the interaction as the canonical text has it inside `interactions`: indented
    /// two levels, the first line included. The text is the same every time; the only error
    /// is `out`'s.
    pub fn write_canonical<W: ?Sized + Write>(&self, out: &mut W) -> std::io::Result<()> {
        out.write_all(indentation(2))?;
        write_pretty(out, self, 2)
    }
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
/// written at once rather than a level at a time: the recorder writes an interaction per
/// exchange, and this is most of the writing.
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
