//! Reading a cassette: JSON parsing, the format check against `schemas/cassette.schema.json`,
//! and the typed interactions. Interactions are read one at a time (serde's seeds), checked
//! against the format's `interaction` definition and handed on, so a large cassette is never
//! held whole; an error names the file, line and column of the offending value.

use std::fmt;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jsonschema::error::ValidationErrorKind;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::strict::{DUPLICATE_KEY, StrictValue, duplicate_key};
use super::{
    Cassette, FORMAT_VERSION, Headers, Interaction, LoadError, Recorded, Request, Response,
};
use crate::body::Body;
use crate::embedded;
use crate::locate::line_column;

/// Parses and checks a cassette, handing each interaction to `each` as soon as it has been read
/// and checked, in order. A large cassette is never held whole in memory: each interaction is
/// parsed, checked and used while it is still in the cache. Returns the cassette without its
/// interactions. On an error, `each` has seen the interactions before it.
pub fn stream(
    file: &str,
    text: &str,
    mut each: impl FnMut(usize, Interaction),
) -> Result<Cassette, LoadError> {
    let mut handed = 0;
    let first = stream_from(file, text, 0, |index, interaction| {
        handed += 1;
        each(index, interaction)
    });
    match first {
        Err(Truncated(closed)) => {
            let read = stream_from(file, &closed, handed, each).map_err(|stop| match stop {
                Failed(err) => err,
                Truncated(_) => not_closable(file),
            })?;
            eprintln!(
                "tailtape: {file}: the file ends inside its interactions (a recording cut short?); \
                 read the {} complete ones",
                read.1
            );
            Ok(read.0)
        }
        Ok((cassette, _)) => Ok(cassette),
        Err(Failed(err)) => Err(err),
    }
}

/// Why [`stream_from`] stopped.
enum Stop {
    /// The text ends inside the interactions array: here it is with the array closed after its
    /// last complete interaction (the recorder's append-only layout, see `record/writer.rs`).
    Truncated(String),
    Failed(LoadError),
}
use Stop::{Failed, Truncated};

impl From<LoadError> for Stop {
    fn from(err: LoadError) -> Stop {
        Failed(err)
    }
}

fn not_closable(file: &str) -> LoadError {
    LoadError::Invalid {
        file: file.to_string(),
        line: 1,
        column: 1,
        message: "the file ends inside its interactions and cannot be closed".into(),
    }
}

/// The text closed after its last complete interaction, if it is a cassette in the
/// recorder's layout whose `interactions` array was left open.
fn close_open_array(text: &str) -> Option<String> {
    let array = text.find("\"interactions\": [")? + "\"interactions\": [".len();
    // Only the recorder's layout: the array's elements start on lines of their own.
    if !(text.len() == array || text[array..].starts_with('\n')) {
        return None;
    }
    let cut = text[array..]
        .rfind("\n    }")
        .map_or(array, |end| array + end + "\n    }".len());
    Some(format!("{}\n  ]\n}}\n", &text[..cut]))
}

/// Streams `text`, handing interactions from number `skip` on to `each` (the ones before were
/// handed already); returns the cassette and how many interactions it holds.
fn stream_from(
    file: &str,
    text: &str,
    skip: usize,
    mut each: impl FnMut(usize, Interaction),
) -> Result<(Cassette, usize), Stop> {
    let mut count = 0;
    let mut each = |index: usize, interaction: Interaction| {
        count += 1;
        if index >= skip {
            each(index, interaction);
        }
    };
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
        (_, Some(problem)) => return Err(Failed(invalid(problem))),
        (Err(e), None) => {
            if e.is_eof() {
                if let Some(closed) = close_open_array(text).filter(|closed| closed != text) {
                    return Err(Truncated(closed));
                }
            }
            let message = strip_position(&e.to_string()).to_string();
            return Err(Failed(LoadError::Invalid {
                file: file.to_string(),
                line: e.line(),
                column: e.column(),
                message: if message.starts_with(DUPLICATE_KEY) {
                    message
                } else {
                    format!("not valid JSON: {message}")
                },
            }));
        }
        (Ok(top), None) => Value::Object(top),
    };
    let (whole, _) = format_validators();
    if !whole.is_valid(&top) {
        if let Some(err) = whole.iter_errors(&top).next() {
            return Err(Failed(invalid(describe_format_error("", &err))));
        }
    }
    let cassette = object(Some(top), "")
        .and_then(header_from_map)
        .map_err(invalid)?;
    Ok((cassette, count))
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The compiled format schema: for the whole document (read with `interactions: []`), and for
/// one interaction.
fn format_validators() -> &'static (jsonschema::Validator, jsonschema::Validator) {
    static VALIDATORS: OnceLock<(jsonschema::Validator, jsonschema::Validator)> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let text =
            embedded::schema_file("cassette.schema.json").expect("the format schema is embedded");
        let schema: Value =
            serde_json::from_str(text).expect("the embedded cassette schema is JSON");
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
            if top.contains_key(&key) {
                return Err(duplicate_key(&key));
            }
            if key == "interactions" {
                map.next_value_seed(InteractionsSeed {
                    each: &mut *self.each,
                    problem: &mut *self.problem,
                })?;
                top.insert(key, Value::Array(Vec::new()));
                continue;
            }
            let value = map.next_value_seed(StrictValue)?;
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
        while let Some(value) = seq.next_element_seed(StrictValue)? {
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
        headers: take_headers(&mut req, &at("/request/headers"))?,
        body: take_body(&mut req).map_err(|m| located(at("/request/base64"), m))?,
    };
    let status = resp.shift_remove("status").and_then(|s| s.as_u64());
    let response = Response {
        status: status
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_default(),
        headers: take_headers(&mut resp, &at("/response/headers"))?,
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

/// The headers at `pointer`; a value HTTP cannot carry (a line break or another control
/// character) is an error here rather than a header silently dropped at replay.
fn take_headers(map: &mut Map<String, Value>, pointer: &str) -> Result<Headers, Problem> {
    let mut headers = Headers::new();
    if let Some(Value::Object(h)) = map.shift_remove("headers") {
        for (name, value) in h {
            let Value::String(value) = value else {
                continue;
            };
            if let Some(bad) = value.chars().find(|&c| forbidden_in_header(c)) {
                let place = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let message = format!(
                    "{place}: header value holds {}, which HTTP does not allow in a header",
                    describe_char(bad)
                );
                return Err((place, message));
            }
            headers.insert(name, value);
        }
    }
    Ok(headers)
}

/// What RFC 9110 forbids in a field value: control characters other than horizontal tab
/// (CR and LF among them) and DEL.
fn forbidden_in_header(c: char) -> bool {
    (c.is_ascii_control() && c != '\t') || c == '\u{7f}'
}

fn describe_char(c: char) -> String {
    match c {
        '\r' => "a carriage return (CR)".into(),
        '\n' => "a line feed (LF)".into(),
        _ => format!("the control character U+{:04X}", c as u32),
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
