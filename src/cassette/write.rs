//! Writing a cassette: the canonical text, pretty-printed with two spaces, keys in the order
//! DESIGN.md shows them, bodies under `json`, `text` or `base64`, and a final newline.

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
        let mut out = serde_json::to_string_pretty(self).expect("a cassette always serializes");
        out.push('\n');
        out
    }
}

/// Writes the fields of a message body under its key (`json`, `text` or `base64`).
fn serialize_body<M: SerializeMap>(map: &mut M, body: &Body) -> Result<(), M::Error> {
    match body {
        Body::Empty => Ok(()),
        Body::Json(v) => map.serialize_entry("json", v),
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
