//! What the fuzz targets share: structured inputs (arbitrary JSON values, bodies, requests
//! edited from the bundled ones) and the checks every target makes of the library's answers.
//! The targets go through the public library API only, as a user's file or a client's
//! request would: `cassette::parse`, `body::parse_hujson`, `matching::Matcher`,
//! `redact::Redactor`. A check that fails panics, which libFuzzer reports as a crash with the
//! input that caused it.

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use serde_json::{Map, Number, Value};
use tailtape::body::Body;
use tailtape::cassette::{self, Cassette, Interaction, LoadError};

/// The name the targets give the text they load; errors must name it.
pub const FILE: &str = "fuzz.json";

/// The bundled cassettes, parsed once.
pub static BUNDLED: LazyLock<Vec<Cassette>> = LazyLock::new(|| {
    cassette::bundled()
        .iter()
        .map(|source| source.load().expect("the bundled cassettes load"))
        .collect()
});

/// Every bundled interaction, in order.
pub static INTERACTIONS: LazyLock<Vec<Interaction>> = LazyLock::new(|| {
    BUNDLED
        .iter()
        .flat_map(|c| c.interactions.iter().cloned())
        .collect()
});

/// Loads `text` as a cassette and checks the answer: a cassette that loads comes back the
/// same from its canonical text (which is a fixed point); one that does not gives an error
/// naming [`FILE`] and a line and column inside the text.
pub fn check_parse(text: &str) {
    match cassette::parse(FILE, text) {
        Ok(loaded) => {
            let canonical = loaded.to_canonical_string();
            let again = cassette::parse(FILE, &canonical).unwrap_or_else(|err| {
                panic!("the canonical text of a loaded cassette does not load: {err}")
            });
            assert_eq!(again, loaded, "load, write, load changed the cassette");
            assert_eq!(again.to_canonical_string(), canonical);
        }
        Err(LoadError::Invalid {
            file,
            line,
            column,
            message,
        }) => {
            assert_eq!(file, FILE);
            assert!(!message.is_empty(), "an error without a message");
            check_place(text, line, column, &message);
        }
        Err(err @ (LoadError::Io { .. } | LoadError::NoCassettes { .. })) => {
            panic!("parsing text looked at the file system: {err}")
        }
    }
}

/// A 1-based line and column that lie inside `text` (or just past its end). Lines end at
/// `\n`, as serde_json counts them, or at any of `\r\n`, `\r` and `\n`, as jsonc-parser and
/// editors do; either reading will do.
pub fn check_place(text: &str, line: usize, column: usize, message: &str) {
    let by_newline: Vec<&str> = text.split('\n').collect();
    let universal: Vec<&str> = text
        .split("\r\n")
        .flat_map(|l| l.split(['\r', '\n']))
        .collect();
    let inside = |lines: &[&str]| {
        line >= 1
            && line <= lines.len()
            && column >= 1
            && column <= lines[line - 1].chars().count() + 1
    };
    assert!(
        inside(&by_newline) || inside(&universal),
        "{message}: line {line}, column {column} is not inside the text ({} lines): {text:?}",
        by_newline.len()
    );
}

/// Whether `text` shows a `tskey-` token that was not masked (`tskey-<redacted>`).
pub fn shows_token(text: &str) -> bool {
    text.match_indices("tskey-").any(|(at, _)| {
        text[at + "tskey-".len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A JSON value of any shape; numbers are the three kinds serde_json holds.
#[derive(Arbitrary, Debug, Clone)]
pub enum ArbJson {
    Null,
    Bool(bool),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    String(String),
    Array(Vec<ArbJson>),
    Object(Vec<(String, ArbJson)>),
}

impl ArbJson {
    pub fn to_value(&self) -> Value {
        match self {
            ArbJson::Null => Value::Null,
            ArbJson::Bool(b) => Value::Bool(*b),
            ArbJson::Int(i) => Value::from(*i),
            ArbJson::Unsigned(u) => Value::from(*u),
            ArbJson::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            ArbJson::String(s) => Value::String(s.clone()),
            ArbJson::Array(items) => Value::Array(items.iter().map(ArbJson::to_value).collect()),
            ArbJson::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// A body: raw bytes classified as the recorder classifies what it receives, or a JSON value.
#[derive(Arbitrary, Debug, Clone)]
pub enum ArbBody {
    Bytes(Vec<u8>),
    Json(ArbJson),
    Text(String),
}

impl ArbBody {
    pub fn to_body(&self) -> Body {
        match self {
            ArbBody::Bytes(bytes) => Body::from_bytes(bytes),
            ArbBody::Json(json) => Body::Json(json.to_value()),
            ArbBody::Text(text) => Body::Text(text.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_seen_unless_masked() {
        assert!(shows_token("a tskey-auth-k1"));
        assert!(!shows_token("a tskey-<redacted> b tskey-"));
    }

    #[test]
    fn places_lie_inside_the_text() {
        check_place("ab\ncd", 2, 3, "");
        check_place("{\r  'a'", 2, 3, "");
        assert!(std::panic::catch_unwind(|| check_place("ab", 2, 1, "")).is_err());
        assert!(std::panic::catch_unwind(|| check_place("ab", 1, 0, "")).is_err());
    }
}
