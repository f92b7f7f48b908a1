//! Cassette format version 1 (DESIGN.md): one JSON file of recorded exchanges. This module owns
//! reading (checked against `schemas/cassette.schema.json`, errors with file, line and column),
//! writing (pretty, stable key order, so load-then-save of a canonical file is byte-identical),
//! and finding cassettes: files, directories, or the bundled set.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use crate::body::Body;
use crate::embedded;
use crate::locate::line_column;

pub const FORMAT_VERSION: u64 = 1;

/// Header names (lower case) to one value each; repeated headers joined with ", ".
pub type Headers = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Cassette {
    pub recorded: Recorded,
    pub interactions: Vec<Interaction>,
    /// Top-level fields this version does not define, kept as they are.
    pub extra: Map<String, Value>,
}

/// Where a cassette came from. `upstream` is `"docs"` for cassettes written from the docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub at: Option<String>,
    pub upstream: String,
    pub by: Option<String>,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub request: Request,
    pub response: Response,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    pub headers: Headers,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Body,
}

impl Request {
    /// The query as decoded key/value pairs, in order (`+` is a space, `%XX` decoded).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        self.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
}

/// The `content-type` without parameters, lower case (`application/json`).
pub fn media_type(headers: &Headers) -> Option<String> {
    let value = headers.get("content-type")?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

/// A cassette that cannot be used, with enough to find the problem.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A cassette to load: a file on disk or one of the bundled cassettes.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Bundled {
        name: &'static str,
        text: &'static str,
    },
}

impl Source {
    /// The name findings and errors use: the path as given, or `<bundled>/NAME`.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Bundled { name, .. } => format!("<bundled>/{name}"),
        }
    }

    pub fn load(&self) -> Result<Cassette, LoadError> {
        match self {
            Source::File(path) => load(path),
            Source::Bundled { text, .. } => parse(&self.name(), text),
        }
    }

    /// Reads the cassette interaction by interaction, as [`stream`] does.
    pub fn stream(&self, each: impl FnMut(usize, Interaction)) -> Result<Cassette, LoadError> {
        match self {
            Source::File(path) => stream(&self.name(), &read(path)?, each),
            Source::Bundled { text, .. } => stream(&self.name(), text, each),
        }
    }
}

/// The bundled cassettes, embedded in the binary.
pub fn bundled() -> Vec<Source> {
    embedded::CASSETTES
        .iter()
        .map(|(name, text)| Source::Bundled { name, text })
        .collect()
}

/// Expands the command-line arguments: files as given, directories searched (recursively) for
/// `*.json` in sorted order; no argument means the bundled cassettes.
pub fn sources(paths: &[PathBuf]) -> Result<Vec<Source>, LoadError> {
    if paths.is_empty() {
        return Ok(bundled());
    }
    let mut out = Vec::new();
    for path in paths {
        let io_err = |source| LoadError::Io {
            file: path.display().to_string(),
            source,
        };
        if std::fs::metadata(path).map_err(io_err)?.is_dir() {
            let mut found = Vec::new();
            collect_json_files(path, &mut found).map_err(io_err)?;
            found.sort();
            out.extend(found.into_iter().map(Source::File));
        } else {
            out.push(Source::File(path.clone()));
        }
    }
    Ok(out)
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and checks the cassette at `path`.
pub fn load(path: &Path) -> Result<Cassette, LoadError> {
    parse(&path.display().to_string(), &read(path)?)
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        file: path.display().to_string(),
        source,
    })
}

/// Parses and checks a whole cassette; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Cassette, LoadError> {
    let mut interactions = Vec::new();
    let mut cassette = stream(file, text, |_, interaction| interactions.push(interaction))?;
    cassette.interactions = interactions;
    Ok(cassette)
}

/// Parses and checks a cassette, handing each interaction to `each` as soon as it has been read
/// and checked, in order. A large cassette is never held whole in memory: each interaction is
/// parsed, checked and used while it is still in the cache. Returns the cassette without its
/// interactions. On an error, `each` has seen the interactions before it.
pub fn stream(
    file: &str,
    text: &str,
    mut each: impl FnMut(usize, Interaction),
) -> Result<Cassette, LoadError> {
    let invalid = |(pointer, message): Problem| {
        let (line, column) = line_column(text, &pointer);
        LoadError::Invalid {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let mut problem = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let read = TopSeed {
        each: &mut each,
        problem: &mut problem,
    }
    .deserialize(&mut de)
    .and_then(|top| de.end().map(|()| top));
    let top = match (read, problem) {
        (_, Some(problem)) => return Err(invalid(problem)),
        (Err(e), None) => {
            return Err(LoadError::Invalid {
                file: file.to_string(),
                line: e.line(),
                column: e.column(),
                message: format!("not valid JSON: {}", strip_position(&e.to_string())),
            });
        }
        (Ok(top), None) => Value::Object(top),
    };
    let (whole, _) = format_validators();
    if !whole.is_valid(&top) {
        if let Some(err) = whole.iter_errors(&top).next() {
            return Err(invalid(describe_format_error("", &err)));
        }
    }
    object(Some(top), "")
        .and_then(header_from_map)
        .map_err(invalid)
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The compiled format schema: for the whole document (read with `interactions: []`), and for
/// one interaction.
fn format_validators() -> &'static (jsonschema::Validator, jsonschema::Validator) {
    static VALIDATORS: OnceLock<(jsonschema::Validator, jsonschema::Validator)> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let schema: Value = serde_json::from_str(include_str!("../schemas/cassette.schema.json"))
            .expect("the embedded cassette schema is JSON");
        let interaction =
            serde_json::json!({"$defs": schema["$defs"], "$ref": "#/$defs/interaction"});
        let build = |s: &Value| {
            jsonschema::options()
                .should_validate_formats(true)
                .build(s)
                .expect("the embedded cassette schema compiles")
        };
        (build(&schema), build(&interaction))
    })
}

type Problem = (String, String);

/// Reads the top-level object; the `interactions` array goes element by element to `each`.
struct TopSeed<'a, F> {
    each: &'a mut F,
    problem: &'a mut Option<Problem>,
}

impl<'de, F: FnMut(usize, Interaction)> DeserializeSeed<'de> for TopSeed<'_, F> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: FnMut(usize, Interaction)> Visitor<'de> for TopSeed<'_, F> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a cassette object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "interactions" {
                map.next_value_seed(InteractionsSeed {
                    each: &mut *self.each,
                    problem: &mut *self.problem,
                })?;
                top.insert(key, Value::Array(Vec::new()));
                continue;
            }
            let value: Value = map.next_value()?;
            if key == "tailtape" && value.as_u64() != Some(FORMAT_VERSION) {
                *self.problem = Some((
                    "/tailtape".into(),
                    format!(
                        "unknown cassette version {value}; this tailtape reads version {FORMAT_VERSION}"
                    ),
                ));
                return Err(de::Error::custom("unknown version"));
            }
            top.insert(key, value);
        }
        Ok(top)
    }
}

struct InteractionsSeed<'a, F> {
    each: &'a mut F,
    problem: &'a mut Option<Problem>,
}

impl<'de, F: FnMut(usize, Interaction)> DeserializeSeed<'de> for InteractionsSeed<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(usize, Interaction)> Visitor<'de> for InteractionsSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of interactions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            match interaction_from_value(index, value) {
                Ok(interaction) => (self.each)(index, interaction),
                Err(problem) => {
                    *self.problem = Some(problem);
                    return Err(de::Error::custom("invalid interaction"));
                }
            }
            index += 1;
        }
        Ok(())
    }
}

/// Checks one interaction against the format and builds it. The shape checks in the
/// conversion repeat the schema's, so that no input can make it panic.
fn interaction_from_value(index: usize, value: Value) -> Result<Interaction, Problem> {
    let at = |rest: &str| format!("/interactions/{index}{rest}");
    let (_, validator) = format_validators();
    if !validator.is_valid(&value) {
        if let Some(err) = validator.iter_errors(&value).next() {
            return Err(describe_format_error(&at(""), &err));
        }
    }
    let mut item = object(Some(value), &at(""))?;
    let mut req = object(item.shift_remove("request"), &at("/request"))?;
    let mut resp = object(item.shift_remove("response"), &at("/response"))?;
    let request = Request {
        method: take_string(&mut req, "method").unwrap_or_default(),
        path: take_string(&mut req, "path").unwrap_or_default(),
        query: take_string(&mut req, "query"),
        headers: take_headers(&mut req),
        body: take_body(&mut req).map_err(|m| located(at("/request/base64"), m))?,
    };
    let status = resp.shift_remove("status").and_then(|s| s.as_u64());
    let response = Response {
        status: status
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_default(),
        headers: take_headers(&mut resp),
        body: take_body(&mut resp).map_err(|m| located(at("/response/base64"), m))?,
    };
    Ok(Interaction {
        request,
        response,
        extra: item,
    })
}

/// Builds everything but the interactions from the checked top-level object.
fn header_from_map(mut top: Map<String, Value>) -> Result<Cassette, Problem> {
    top.shift_remove("tailtape");
    top.shift_remove("interactions");
    let mut rec = object(top.shift_remove("recorded"), "/recorded")?;
    let recorded = Recorded {
        at: take_string(&mut rec, "at"),
        upstream: take_string(&mut rec, "upstream").unwrap_or_default(),
        by: take_string(&mut rec, "by"),
        extra: rec,
    };
    Ok(Cassette {
        recorded,
        interactions: Vec::new(),
        extra: top,
    })
}

fn located(pointer: String, message: String) -> Problem {
    let message = format!("{pointer}: {message}");
    (pointer, message)
}

fn object(value: Option<Value>, pointer: &str) -> Result<Map<String, Value>, Problem> {
    match value {
        Some(Value::Object(map)) => Ok(map),
        _ => Err((
            pointer.to_string(),
            format!("{pointer}: expected an object"),
        )),
    }
}

/// Says what is wrong in words a person fixing the file can act on, and where.
fn describe_format_error(prefix: &str, err: &jsonschema::ValidationError<'_>) -> Problem {
    let pointer = format!("{prefix}{}", err.instance_path().as_str());
    let at = if pointer.is_empty() {
        "the top level"
    } else {
        pointer.as_str()
    };
    match err.kind() {
        ValidationErrorKind::Required { property } => {
            let message = format!("{at}: missing required field {property}");
            (pointer, message)
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let field = unexpected.first().cloned().unwrap_or_default();
            let child = format!("{pointer}/{field}");
            let message = format!("{child}: unknown field \"{field}\"");
            (child, message)
        }
        ValidationErrorKind::FalseSchema => {
            let message = format!(
                "{at}: a body is exactly one of json, text or base64, and this message has more than one"
            );
            (pointer, message)
        }
        _ => {
            let message = format!("{at}: {err}");
            (pointer, message)
        }
    }
}

fn take_string(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    match map.shift_remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn take_headers(map: &mut Map<String, Value>) -> Headers {
    match map.shift_remove("headers") {
        Some(Value::Object(h)) => h
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => Headers::new(),
    }
}

fn take_body(map: &mut Map<String, Value>) -> Result<Body, String> {
    if let Some(json) = map.shift_remove("json") {
        return Ok(Body::Json(json));
    }
    if let Some(text) = take_string(map, "text") {
        return Ok(Body::Text(text));
    }
    match take_string(map, "base64") {
        Some(b64) => BASE64
            .decode(b64.as_bytes())
            .map(Body::Binary)
            .map_err(|e| format!("invalid base64: {e}")),
        None => Ok(Body::Empty),
    }
}

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

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        match &self.query {
            Some(q) => write!(f, "?{q}"),
            None => Ok(()),
        }
    }
}
