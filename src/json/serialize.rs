//! Writing a [`Doc`]: through serde, in whatever layout the serializer has (compact JSON, say),
//! and directly in serde_json's pretty layout ([`NodeRef::write_pretty`], the cassette's
//! canonical text, which the recorder writes for every exchange). Either way the bytes are
//! exactly those serde_json writes for the same document parsed into a `Value`: numbers through
//! `serde_json::Number` (so `1.50` is written `1.5` either way), strings re-escaped the same
//! way, replaced values as their strings. The pretty writer copies what needs no rewriting
//! (a string without escapes, an integer) as received, in one write, instead of one serde call
//! and a byte-by-byte escape scan per value.

use std::io::{self, Write};
use std::str::FromStr;

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Kind, NodeRef};

impl Serialize for NodeRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let node = *self;
        match node.kind() {
            Kind::Null => serializer.serialize_unit(),
            Kind::False => serializer.serialize_bool(false),
            Kind::True => serializer.serialize_bool(true),
            Kind::Number => serde_json::Number::from_str(node.raw())
                .map_err(S::Error::custom)?
                .serialize(serializer),
            Kind::String | Kind::EscapedString => {
                serializer.serialize_str(&node.as_str().expect("a string"))
            }
            Kind::Array => {
                let mut seq = serializer.serialize_seq(Some(node.len()))?;
                for element in node.elements() {
                    seq.serialize_element(&element)?;
                }
                seq.end()
            }
            Kind::Object => {
                let mut map = serializer.serialize_map(Some(node.len()))?;
                for (name, value) in node.members() {
                    map.serialize_entry(&name.as_str().expect("a name"), &value)?;
                }
                map.end()
            }
        }
    }
}

/// How many levels of indentation [`line`] writes at once (a deeper one takes several writes).
const LEVELS: usize = 160;

/// `,`, a line break and the spaces of [`LEVELS`] levels: each line of the pretty layout starts
/// with a slice of it.
static BREAK: [u8; 2 + 2 * LEVELS] = {
    let mut bytes = [b' '; 2 + 2 * LEVELS];
    bytes[0] = b',';
    bytes[1] = b'\n';
    bytes
};

/// Starts a line `depth` levels deep, after a comma unless it is the `first` of its container.
fn line<W: ?Sized + Write>(out: &mut W, first: bool, depth: usize) -> io::Result<()> {
    let from = usize::from(first);
    let levels = depth.min(LEVELS);
    out.write_all(&BREAK[from..2 + 2 * levels])?;
    let mut left = depth - levels;
    while left > 0 {
        let levels = left.min(LEVELS);
        out.write_all(&BREAK[2..2 + 2 * levels])?;
        left -= levels;
    }
    Ok(())
}

/// Whether serde_json writes the number literal `raw` (valid JSON) as it is: an integer that
/// it reads as a `u64` or an `i64` (up to 19 digits, 18 when negative; not `-0`, which it
/// reads as a float and writes `-0.0`), written back by `itoa` digit for digit, since JSON
/// has no leading zeros or `+`.
fn written_as_is(raw: &[u8]) -> bool {
    let (digits, limit) = match raw {
        [b'-', b'0', ..] => return false,
        [b'-', digits @ ..] => (digits, 18),
        digits => (digits, 19),
    };
    !digits.is_empty() && digits.len() <= limit && digits.iter().all(u8::is_ascii_digit)
}

impl NodeRef<'_> {
    /// Writes the value in serde_json's pretty layout (two spaces a level) as if it sat
    /// `depth` levels deep: its first line unindented, its closing bracket at `depth`; the
    /// same bytes as serializing it through serde with that layout.
    pub fn write_pretty<W: ?Sized + Write>(&self, out: &mut W, depth: usize) -> io::Result<()> {
        match self.kind() {
            Kind::Null => out.write_all(b"null"),
            Kind::False => out.write_all(b"false"),
            Kind::True => out.write_all(b"true"),
            Kind::Number if written_as_is(self.raw().as_bytes()) => {
                out.write_all(self.raw().as_bytes())
            }
            Kind::Number => {
                let number = serde_json::Number::from_str(self.raw()).map_err(io::Error::other)?;
                serde_json::to_writer(out, &number).map_err(io::Error::from)
            }
            // Its bytes are what serde_json writes: nothing in it needs an escape (a quote, a
            // backslash or a control character would have one).
            Kind::String => out.write_all(self.raw().as_bytes()),
            Kind::EscapedString => serde_json::to_writer(out, &*self.as_str().expect("a string"))
                .map_err(io::Error::from),
            Kind::Array if self.is_empty() => out.write_all(b"[]"),
            Kind::Array => {
                out.write_all(b"[")?;
                for (index, element) in self.elements().enumerate() {
                    line(out, index == 0, depth + 1)?;
                    element.write_pretty(out, depth + 1)?;
                }
                line(out, true, depth)?;
                out.write_all(b"]")
            }
            Kind::Object if self.is_empty() => out.write_all(b"{}"),
            Kind::Object => {
                out.write_all(b"{")?;
                for (index, (name, value)) in self.members().enumerate() {
                    line(out, index == 0, depth + 1)?;
                    name.write_pretty(out, depth + 1)?;
                    out.write_all(b": ")?;
                    value.write_pretty(out, depth + 1)?;
                }
                line(out, true, depth)?;
                out.write_all(b"}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::json::Doc;

    fn doc(text: &str) -> Doc {
        Doc::parse(Bytes::copy_from_slice(text.as_bytes())).unwrap()
    }

    fn pretty(doc: &Doc, depth: usize) -> String {
        let mut out = Vec::new();
        doc.root().write_pretty(&mut out, depth).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// serde_json's pretty layout of `value` as if `depth` levels deep.
    fn serde_pretty(value: &serde_json::Value, depth: usize) -> String {
        let text = serde_json::to_string_pretty(value).unwrap();
        text.replace('\n', &format!("\n{}", "  ".repeat(depth)))
    }

    #[test]
    fn the_pretty_layout_is_serde_jsons() {
        let mut texts = vec![
            r#"{"a": 1, "b": [true, false, null], "c": {}, "d": [], "e": {"f": [[], {}, [1]]}}"#
                .to_string(),
            // Numbers serde_json writes otherwise, and those it writes as they are.
            "[0, -1, 1.50, -0, -0.0, 1e5, 1E+2, 2.5e-3, 18446744073709551615, \
             18446744073709551616, 9999999999999999999, -9223372036854775808, \
             -9223372036854775809, -999999999999999999, 123456789012345678901234567890]"
                .to_string(),
            // Escapes serde_json writes alike and otherwise; text that needs none.
            r#"{"\u0041\/b": "x\"y\\z\n\t\u0001\u001f\u007f\u00e9\ud83d\ude00\u2028", "plain é ✓": "/"}"#
                .to_string(),
            "\"top\"".to_string(),
            "42".to_string(),
            "[]".to_string(),
        ];
        let mut deep = "1".to_string();
        for level in 0..crate::json::MAX_DEPTH - 1 {
            deep = match level % 2 {
                0 => format!("[{deep}, 2]"),
                _ => format!("{{\"k\": {deep}}}"),
            };
        }
        texts.push(deep);
        for text in texts {
            let doc = doc(&text);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            for depth in [0, 2, 200] {
                assert_eq!(pretty(&doc, depth), serde_pretty(&value, depth), "{text}");
            }
        }
    }

    #[test]
    fn replaced_values_and_names_are_written_as_their_strings() {
        let mut doc = doc(r#"{"key": "tskey-x", "list": [1, {"n": 2}], "name": 3}"#);
        let (name, _) = doc.root().members().nth(2).unwrap();
        let name = name.index();
        let list = doc.root().get("list").unwrap().index();
        let key = doc.root().get("key").unwrap().index();
        doc.replace(key, "<redacted-1>".into());
        doc.replace(list, "a \"quoted\"\n list".into());
        doc.replace(name, "renamed".into());
        let expected = serde_json::json!({
            "key": "<redacted-1>", "list": "a \"quoted\"\n list", "renamed": 3
        });
        assert_eq!(pretty(&doc, 1), serde_pretty(&expected, 1));
    }
}
