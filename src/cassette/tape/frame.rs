//! A quick check of an interaction's frame (its request and response, not their bodies) that
//! answers only "surely valid against the format's `interaction` definition" or "don't know":
//! every interaction of a canonical cassette takes the first answer in one walk of a dozen
//! members, where the schema engine spends some 13,000 instructions on the same frame. Anything
//! unusual (an escaped member name, a header outside the token characters, two bodies, a status
//! written `2e2`) is "don't know", and the schema engine decides as before, so what is accepted
//! and every error stay as they were. The rules here are the schema's, restated: keep them in
//! step with `schemas/cassette.schema.json` (the tests below compare the two).

use crate::json::{Kind, NodeRef};

/// Whether `interaction` surely satisfies the format's `interaction` definition; false when
/// the schema engine has to say.
pub(super) fn surely_valid(interaction: NodeRef<'_>) -> bool {
    if interaction.kind() != Kind::Object {
        return false;
    }
    let (mut request, mut response) = (false, false);
    for (name, value) in interaction.members() {
        match name.raw() {
            "\"request\"" => request = message(value, Side::Request),
            "\"response\"" => response = message(value, Side::Response),
            // Other fields of an interaction are free, but a name with an escape might read
            // `request`.
            _ if name.kind() != Kind::String => return false,
            _ => {}
        }
    }
    request && response
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Request,
    Response,
}

/// A request or a response: only its known fields, each well-formed, the required ones there,
/// and at most one body.
fn message(node: NodeRef<'_>, side: Side) -> bool {
    if node.kind() != Kind::Object {
        return false;
    }
    let (mut required, mut bodies) = (0, 0);
    for (name, value) in node.members() {
        let ok = match (name.raw(), side) {
            ("\"method\"", Side::Request) => {
                required += 1;
                plain(value)
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase()))
            }
            ("\"path\"", Side::Request) => {
                required += 1;
                plain(value).is_some_and(|s| s.starts_with('/') && !s.contains(['?', '#']))
            }
            ("\"query\"", Side::Request) => plain(value).is_some_and(|s| !s.is_empty()),
            ("\"status\"", Side::Response) => {
                required += 1;
                value
                    .as_number()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<u16>().ok())
                    .is_some_and(|s| (100..=599).contains(&s))
            }
            ("\"headers\"", _) => headers(value),
            ("\"json\"", _) => {
                bodies += 1;
                true
            }
            ("\"text\"", _) => {
                bodies += 1;
                matches!(value.kind(), Kind::String | Kind::EscapedString)
            }
            ("\"base64\"", _) => {
                bodies += 1;
                plain(value).is_some_and(base64)
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    let wanted = match side {
        Side::Request => 2,
        Side::Response => 1,
    };
    required == wanted && bodies <= 1
}

/// A string value without escapes, as written.
fn plain<'a>(node: NodeRef<'a>) -> Option<&'a str> {
    let raw = node.raw();
    (node.kind() == Kind::String).then(|| &raw[1..raw.len() - 1])
}

/// Header names of token characters (lower case), string values.
fn headers(node: NodeRef<'_>) -> bool {
    node.kind() == Kind::Object
        && node.members().all(|(name, value)| {
            plain(name).is_some_and(|n| !n.is_empty() && n.bytes().all(header_name_byte))
                && matches!(value.kind(), Kind::String | Kind::EscapedString)
        })
}

/// `[a-z0-9!#$%&'*+.^_`|~-]`, the schema's header name characters.
fn header_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+.^_`|~-".contains(&b)
}

/// `^[A-Za-z0-9+/]*={0,2}$`.
fn base64(s: &str) -> bool {
    let data = s.trim_end_matches('=');
    s.len() - data.len() <= 2
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::surely_valid;
    use crate::json::Doc;

    fn doc(text: &str) -> Doc {
        Doc::parse(Bytes::from(text.to_string())).expect("JSON")
    }

    /// The rules above restate the format's definitions as they are now. A change to them has
    /// to be brought here too: this test fails until it is (then its digest is updated).
    #[test]
    fn the_format_definitions_are_the_ones_restated_here() {
        let schema: serde_json::Value = serde_json::from_str(
            crate::embedded::schema_file("cassette.schema.json").expect("embedded"),
        )
        .expect("JSON");
        let definitions = serde_json::to_string(&schema["$defs"]).expect("text");
        assert_eq!(
            xxhash_rust::xxh3::xxh3_64(definitions.as_bytes()),
            11_137_375_033_939_692_373,
            "schemas/cassette.schema.json's $defs changed: bring src/cassette/tape/frame.rs in \
             step with them, then set this digest to the new one"
        );
    }

    /// Every interaction of the bundled cassettes takes the quick answer, which the engine
    /// agrees with.
    #[test]
    fn every_bundled_interaction_is_surely_valid() {
        let validator = super::super::format_validator();
        let mut seen = 0;
        for (name, text) in crate::embedded::CASSETTES {
            let doc = doc(text);
            for interaction in doc.root().get("interactions").unwrap().elements() {
                assert!(surely_valid(interaction), "{name}: {}", interaction.raw());
                assert!(validator.is_valid(interaction), "{name}");
                seen += 1;
            }
        }
        assert!(seen > 50, "{seen}");
    }

    /// Frames the engine refuses are never surely valid; the odd ones it accepts may go either
    /// way.
    #[test]
    fn never_sure_of_what_the_format_refuses() {
        let validator = super::super::format_validator();
        let request = r#""request": {"method": "GET", "path": "/api/v2/x""#;
        let response = r#""response": {"status": 200"#;
        let frame = |req: &str, resp: &str, top: &str| {
            format!("{{{top}{request}{req}}}, {response}{resp}}}}}")
        };
        let cases = [
            // Valid ones, surely or not.
            (frame("", "", ""), true),
            (
                frame(r#", "query": "a=1""#, r#", "json": {"x": [1]}"#, ""),
                true,
            ),
            (frame("", "", r#""note": 1, "#), true),
            (
                frame(r#", "headers": {"x-a": "b\n"}"#, r#", "text": "é""#, ""),
                true,
            ),
            (frame("", r#", "base64": "QUJD==""#, ""), true),
            (
                r#"{"\u0072equest": {"method": "GET", "path": "/"}, "response": {"status": 200}}"#
                    .into(),
                true,
            ),
            (frame(r#", "text": "a""#, r#", "json": null"#, ""), true),
            // Refused by the format.
            (
                r#"{"request": {"method": "get", "path": "/"}, "response": {"status": 200}}"#
                    .into(),
                false,
            ),
            (frame(r#", "query": """#, "", ""), false),
            (frame(r#", "headers": {"X-A": "b"}"#, "", ""), false),
            (frame(r#", "headers": {"x-a": 1}"#, "", ""), false),
            (frame(r#", "headers": {"": "b"}"#, "", ""), false),
            (frame(r#", "headers": []"#, "", ""), false),
            (frame("", r#", "base64": "QUJD===""#, ""), false),
            (frame("", r#", "base64": "QU=JD""#, ""), false),
            (frame(r#", "json": 1, "text": "a""#, "", ""), false),
            (frame("", r#", "text": "a", "base64": "QQ==""#, ""), false),
            (frame(r#", "text": 1"#, "", ""), false),
            (frame(r#", "heders": {}"#, "", ""), false),
            (frame("", r#", "method": "GET""#, ""), false),
            (
                r#"{"request": {"method": "GET", "path": "x"}, "response": {"status": 200}}"#
                    .into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/?a"}, "response": {"status": 200}}"#
                    .into(),
                false,
            ),
            (
                r#"{"request": {"method": "G1", "path": "/"}, "response": {"status": 200}}"#.into(),
                false,
            ),
            (
                r#"{"request": {"method": "", "path": "/"}, "response": {"status": 200}}"#.into(),
                false,
            ),
            (
                r#"{"request": {"path": "/"}, "response": {"status": 200}}"#.into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/"}, "response": {"status": 99}}"#.into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/"}, "response": {"status": 600}}"#
                    .into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/"}, "response": {"status": 200.5}}"#
                    .into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/"}, "response": {"status": "200"}}"#
                    .into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/"}, "response": {}}"#.into(),
                false,
            ),
            (
                r#"{"request": {"method": "GET", "path": "/"}}"#.into(),
                false,
            ),
            (r#"{"response": {"status": 200}}"#.into(), false),
            (r#"[]"#.into(), false),
        ];
        for (text, valid) in cases {
            let doc = doc(&text);
            let node = doc.root();
            assert_eq!(validator.is_valid(node), valid, "the engine on {text}");
            if !valid {
                assert!(!surely_valid(node), "sure of {text}");
            }
        }
        let doc = doc(&frame("", "", ""));
        assert!(surely_valid(doc.root()));
    }
}
