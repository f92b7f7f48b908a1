//! HTTP bodies as cassettes store them: JSON values, text (HuJSON policy files, form bodies), or
//! bytes (base64). Also the HuJSON reader used for policy files: strict HuJSON, which is JSON
//! plus comments and trailing commas and nothing else from JSON5.
//!
//! A JSON body is a `serde_json::Value` wherever it is read from a cassette or built, and a
//! [`Doc`] (its bytes and a tape, `json/`) where the recorder takes it off the wire, so that an
//! answer of any size is redacted, validated and written without a tree of `Value`s.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use crate::json::Doc;

/// A request or response body. In a cassette it is exactly one of the keys `json`, `text` or
/// `base64`; no key means an empty body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    /// A JSON body as received, read in place: stored and validated as [`Body::Json`] would be.
    /// (Boxed: a body is moved about far more often than it is read this way.)
    Doc(Box<Doc>),
    Text(String),
    Binary(Vec<u8>),
}

impl Body {
    pub fn is_empty(&self) -> bool {
        matches!(self, Body::Empty)
    }

    /// The bytes the body is sent as: JSON compact, text and bytes as they are.
    pub fn wire_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Body::Empty => Cow::Borrowed(&[]),
            Body::Json(value) => Cow::Owned(value.to_string().into_bytes()),
            Body::Doc(doc) => Cow::Owned(serde_json::to_vec(&doc.root()).unwrap_or_default()),
            Body::Text(text) => Cow::Borrowed(text.as_bytes()),
            Body::Binary(bytes) => Cow::Borrowed(bytes),
        }
    }

    /// Classifies raw body bytes as a cassette stores them: JSON when they parse as JSON, text
    /// when they are UTF-8, bytes otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Body {
        if bytes.is_empty() {
            return Body::Empty;
        }
        // Checked as UTF-8 in one pass, so the JSON parser need not check each string again.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Body::Binary(bytes.to_vec());
        };
        match serde_json::from_str(text) {
            Ok(value) => Body::Json(value),
            Err(_) => Body::Text(text.to_string()),
        }
    }

    /// [`Body::from_bytes`] for a body taken off the wire: JSON is kept as a [`Doc`] over the
    /// same bytes (no copy) instead of being built into a `Value`. A document serde_json reads
    /// but the tape refuses (a repeated member name) becomes a `Value` as before.
    pub fn from_wire(bytes: Bytes) -> Body {
        match Doc::parse(bytes.clone()) {
            Ok(doc) => Body::Doc(Box::new(doc)),
            Err(_) => Body::from_bytes(&bytes),
        }
    }

    /// About how many bytes the body takes as cassette text, when that is known without
    /// writing it (0 for a `Value`): to size the buffer it is written into.
    pub fn size_hint(&self) -> usize {
        match self {
            Body::Empty | Body::Json(_) => 0,
            // Indented, JSON takes about twice its compact size.
            Body::Doc(doc) => 2 * doc.text().len(),
            Body::Text(text) => text.len(),
            Body::Binary(bytes) => bytes.len() / 3 * 4,
        }
    }

    /// The value of a JSON body (built, for a [`Body::Doc`]); `None` for any other body.
    pub fn json(&self) -> Option<Cow<'_, Value>> {
        match self {
            Body::Json(value) => Some(Cow::Borrowed(value)),
            Body::Doc(doc) => Some(Cow::Owned(doc.root().to_value())),
            _ => None,
        }
    }

    /// The body with a [`Body::Doc`] built into a [`Body::Json`], for code that edits or
    /// compares values.
    pub fn into_value(self) -> Body {
        match self {
            Body::Doc(doc) => Body::Json(doc.root().to_value()),
            other => other,
        }
    }
}

/// A HuJSON syntax error, with its position inside the text (1-based).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct HujsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses HuJSON (JSON with `//` and `/* */` comments and trailing commas) into a JSON value.
pub fn parse_hujson(text: &str) -> Result<Value, HujsonError> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    // jsonc-parser reads a text with no value (empty, or only comments) as null, so null is
    // told from nothing by parsing again, on that rare path only.
    let no_value = || {
        jsonc_parser::parse_to_ast(text, &Default::default(), &options)
            .is_ok_and(|parsed| parsed.value.is_none())
    };
    match jsonc_parser::parse_to_serde_value::<Value>(text, &options) {
        Ok(Value::Null) if no_value() => Err(HujsonError {
            line: 1,
            column: 1,
            message: "no value".into(),
        }),
        Ok(value) => Ok(value),
        Err(err) => Err(HujsonError {
            line: err.line_display(),
            column: err.column_display(),
            message: err.kind().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_classified_as_json_text_or_binary() {
        assert_eq!(Body::from_bytes(b""), Body::Empty);
        assert_eq!(
            Body::from_bytes(b" {\"a\": 1} "),
            Body::Json(serde_json::json!({"a": 1}))
        );
        assert_eq!(Body::from_bytes(b"// c\n{}"), Body::Text("// c\n{}".into()));
        assert_eq!(
            Body::from_bytes(&[0xff, 0x00]),
            Body::Binary(vec![0xff, 0x00])
        );
    }

    #[test]
    fn wire_json_is_read_in_place_unless_the_tape_refuses_it() {
        let doc = Body::from_wire(Bytes::from_static(b"{\"a\": [1, \"x\"]}"));
        assert!(matches!(doc, Body::Doc(_)));
        assert_eq!(
            doc.into_value(),
            Body::Json(serde_json::json!({"a": [1, "x"]}))
        );
        let repeated = Body::from_wire(Bytes::from_static(b"{\"a\": 1, \"a\": 2}"));
        assert_eq!(repeated, Body::Json(serde_json::json!({"a": 2})));
        assert_eq!(Body::from_wire(Bytes::new()), Body::Empty);
        assert_eq!(
            Body::from_wire(Bytes::from_static(b"ok")),
            Body::Text("ok".into())
        );
    }

    #[test]
    fn hujson_allows_comments_and_trailing_commas() {
        let v = parse_hujson("// policy\n{\"acls\": [1, 2,], /* c */}").unwrap();
        assert_eq!(v, serde_json::json!({"acls": [1, 2]}));
    }

    #[test]
    fn hujson_rejects_json5_extensions_with_position() {
        let err = parse_hujson("{\n  'acls': []\n}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
        assert!(parse_hujson("{acls: []}").is_err());
        assert!(parse_hujson("{\"n\": 0x10}").is_err());
    }
}
