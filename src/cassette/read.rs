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
/// interactions. On an error, `each` has seen the interactions before it. A cassette cut short
/// inside its interactions is read up to its last complete one, with a warning on stderr.
pub fn stream(
    file: &str,
    text: &str,
    each: impl FnMut(usize, Interaction),
) -> Result<Cassette, LoadError> {
    let (cassette, ending) = stream_to_end(file, text, each)?;
    warn_if_cut(file, &ending);
    Ok(cassette)
}

/// Warns on stderr that cassette `file` was cut short, if it was.
pub(super) fn warn_if_cut(file: &str, ending: &Ending) {
    if let Some(cut) = ending.describe(file) {
        crate::log::warn(format!("{file}: {cut}"));
    }
}

/// How a cassette's text ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The whole document.
    Closed,
    /// Cut short inside its interactions (a recorder killed, a file cut in half).
    Cut {
        /// How many whole interactions precede the cut.
        complete: usize,
        /// The text closed after them, as the recorder would have closed it.
        closed: String,
        /// Where a partial interaction after them starts, if there is one.
        partial_line: Option<usize>,
    },
}

impl Ending {
    /// What a person should know about a cut-short cassette `file`; `None` when it is whole.
    pub fn describe(&self, file: &str) -> Option<String> {
        let Ending::Cut {
            complete,
            partial_line,
            ..
        } = self
        else {
            return None;
        };
        let partial = match partial_line {
            Some(line) => format!(", and a partial one from line {line} on left out"),
            None => String::new(),
        };
        let interactions = if *complete == 1 {
            "interaction"
        } else {
            "interactions"
        };
        Some(format!(
            "cut short inside its interactions (a recorder killed mid-write?): read its {complete} \
             complete {interactions}{partial}; `tailtape close {file}` closes it after them"
        ))
    }
}

/// [`stream`], saying how the text ended instead of printing a warning.
pub fn stream_to_end(
    file: &str,
    text: &str,
    each: impl FnMut(usize, Interaction),
) -> Result<(Cassette, Ending), LoadError> {
    stream_to_end_after(file, text, 0, each)
}

/// [`stream_to_end`], handing on the interactions from number `skip` on only (the tape reader
/// handed the ones before, see `tape.rs`).
pub(super) fn stream_to_end_after(
    file: &str,
    text: &str,
    skip: usize,
    mut each: impl FnMut(usize, Interaction),
) -> Result<(Cassette, Ending), LoadError> {
    let mut handed = skip;
    let first = stream_from(file, text, skip, |index, interaction| {
        handed = index + 1;
        each(index, interaction)
    });
    match first {
        Ok((cassette, _)) => Ok((cassette, Ending::Closed)),
        Err(Failed(err)) => Err(err),
        Err(Truncated(cut)) => {
            // An error in what the closing added says the closing failed, and is no place in
            // the file to show.
            let kept = &cut.closed[..cut.closed.len() - CLOSING.len()];
            let (cassette, complete) =
                stream_from(file, &cut.closed, handed, each).map_err(|stop| match stop {
                    Failed(err) if place_within(&err, kept) => err,
                    _ => not_closable(file),
                })?;
            let ending = Ending::Cut {
                complete,
                closed: cut.closed,
                partial_line: cut.partial_line,
            };
            Ok((cassette, ending))
        }
    }
}

/// Why [`stream_from`] stopped.
enum Stop {
    /// The text ends inside the interactions array (the recorder's append-only layout, see
    /// `record/writer.rs`, or a cut file).
    Truncated(Closable),
    Failed(LoadError),
}
use Stop::{Failed, Truncated};

/// A text cut inside its interactions array: closed after its last complete interaction.
struct Closable {
    closed: String,
    /// The line where a partial interaction after the last complete one starts.
    partial_line: Option<usize>,
}

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
fn close_open_array(text: &str) -> Option<Closable> {
    let array = text.find("\"interactions\": [")? + "\"interactions\": [".len();
    // Only the recorder's layout: the array's elements start on lines of their own.
    if !(text.len() == array || text[array..].starts_with('\n')) {
        return None;
    }
    let cut = text[array..]
        .rfind("\n    }")
        .map_or(array, |end| array + end + "\n    }".len());
    // What follows the last complete interaction: nothing, its comma, or a partial one.
    let rest = &text[cut..];
    let next = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    let partial_line = next
        .starts_with('{')
        .then(|| text[..text.len() - next.len()].matches('\n').count() + 1);
    Some(Closable {
        closed: format!("{}{CLOSING}", &text[..cut]),
        partial_line,
    })
}

/// What [`close_open_array`] adds after the last complete interaction.
const CLOSING: &str = "\n  ]\n}\n";

/// Whether the error's line and column lie inside `text`.
fn place_within(err: &LoadError, text: &str) -> bool {
    let LoadError::Invalid { line, column, .. } = err else {
        return true;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    *line < lines.len() || (*line == lines.len() && *column <= lines[line - 1].chars().count())
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
        let (line, column) = match line_column(text, &pointer) {
            // Nothing parsed: a cut text is found in closed, where what precedes the cut keeps
            // its lines and columns.
            (1, 1) => {
                close_open_array(text).map_or((1, 1), |cut| line_column(&cut.closed, &pointer))
            }
            found => found,
        };
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
            if e.is_eof()
                && let Some(cut) = close_open_array(text).filter(|cut| cut.closed != text)
            {
                return Err(Truncated(cut));
            }
            let message = strip_position(&e.to_string()).to_string();
            return Err(Failed(LoadError::Invalid {
                file: file.to_string(),
                line: e.line(),
                column: char_column(text, e.line(), e.column()),
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
    if !whole.is_valid(&top)
        && let Some(err) = whole.iter_errors(&top).next()
    {
        return Err(Failed(invalid(describe_format_error("", &err))));
    }
    let cassette = object(Some(top), "")
        .and_then(header_from_map)
        .map_err(invalid)?;
    Ok((cassette, count))
}

/// The column, counted in characters from 1 as editors show it, of serde_json's error place:
/// serde_json counts bytes, and says column 0 at the start of a line (an empty file, a file
/// cut after a newline).
fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(row) = line.checked_sub(1).and_then(|i| text.split('\n').nth(i)) else {
        return byte_column.max(1);
    };
    let mut end = byte_column.saturating_sub(1).min(row.len());
    while !row.is_char_boundary(end) {
        end -= 1;
    }
    row[..end].chars().count() + 1
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The format schema: for the whole document, and for one interaction.
pub(super) fn format_schemas() -> (Value, Value) {
    let text =
        embedded::schema_file("cassette.schema.json").expect("the format schema is embedded");
    let schema: Value = serde_json::from_str(text).expect("the embedded cassette schema is JSON");
    let interaction = serde_json::json!({"$defs": schema["$defs"], "$ref": "#/$defs/interaction"});
    (schema, interaction)
}

/// The compiled format schema: for the whole document (read with `interactions: []`), and for
/// one interaction.
fn format_validators() -> &'static (jsonschema::Validator, jsonschema::Validator) {
    static VALIDATORS: OnceLock<(jsonschema::Validator, jsonschema::Validator)> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let (schema, interaction) = format_schemas();
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
    if !validator.is_valid(&value)
        && let Some(err) = validator.iter_errors(&value).next()
    {
        return Err(describe_format_error(&at(""), &err));
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
pub(super) fn forbidden_in_header(c: char) -> bool {
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
