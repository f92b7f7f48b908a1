//! Edges of the tape reader's fast paths (`src/json/parse.rs`, `names.rs`): strings are scanned
//! eight bytes at a time, white space after a line feed eight spaces at a time, and repeated
//! member names are found pair by pair in small objects and by hash in large ones. Whatever the
//! position of an escape, a control byte or a repeat relative to those words and thresholds,
//! the tape must read (or refuse) exactly what serde_json reads.

use bytes::Bytes;
use serde_json::Value;
use tailtape::json::{Doc, ParseError};

fn doc(text: &str) -> Result<Doc, ParseError> {
    Doc::parse(Bytes::from(text.to_string()))
}

fn same_as_serde(text: &str) {
    let expected: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let found = doc(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(found.root().to_value(), expected, "{text:?}");
}

#[test]
fn escapes_anywhere_in_a_long_string_read_as_serde_json_reads_them() {
    for escape in ["\\\"", "\\\\", "\\n", "\\/", "\\u00e9", "\\ud83d\\ude00"] {
        for len in 0..40 {
            for at in 0..=len {
                let plain = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
                let text = format!("\"{}{escape}{}\"", &plain[..at], &plain[at..len]);
                same_as_serde(&text);
                same_as_serde(&format!("{{{text}: [{text}, 1]}}"));
            }
        }
    }
}

#[test]
fn text_outside_ascii_at_word_edges_is_read_whole() {
    for filler in 0..17 {
        let pad = "x".repeat(filler);
        for odd in ["é", "😀", "\u{7f}", "\u{a0}", "\u{ffff}", "ÿ"] {
            same_as_serde(&format!("\"{pad}{odd}{pad}\""));
            same_as_serde(&format!("[\"{pad}{odd}\", \"{odd}{pad}\"]"));
        }
    }
}

#[test]
fn a_control_byte_is_refused_where_it_is() {
    for len in 0..24 {
        for at in 0..=len {
            for control in [0x00u8, 0x01, 0x0a, 0x1f] {
                let mut body = "y".repeat(len);
                body.insert(at, control as char);
                let text = format!("[\"{body}\"]");
                assert!(serde_json::from_str::<Value>(&text).is_err(), "{text:?}");
                let err = doc(&text).unwrap_err();
                assert_eq!(
                    (err.at, err.reason),
                    (2 + at, "a control character in a string"),
                    "{text:?}"
                );
            }
        }
    }
    // A string never closed is refused as that, control byte or not.
    for text in ["\"abc\u{1}defghijk", "\"\u{1}", "[\"abcdefghijklmnop\n"] {
        let err = doc(text).unwrap_err();
        assert_eq!(
            (err.at, err.reason),
            (text.len(), "a string is not closed"),
            "{text:?}"
        );
    }
    // A space (0x20) is no control byte, DEL (0x7f) neither.
    same_as_serde("\"  \u{7f}  \u{7f}\u{7f}   \"");
}

#[test]
fn indentation_of_any_width_is_skipped() {
    let value = serde_json::json!({"a": [1, {"b": "c", "d": [true, null]}], "e": {}});
    for indent in [0, 1, 2, 7, 8, 9, 15, 16, 17, 40] {
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let deep = pretty.replace('\n', &format!("\n{}", " ".repeat(indent)));
        same_as_serde(&deep);
        same_as_serde(&pretty.replace('\n', &format!("\r\n{}\t ", " ".repeat(indent))));
        same_as_serde(&format!("{deep}\n{}", " ".repeat(indent)));
    }
    // Indentation up to the end of the text, and a value right after it.
    same_as_serde(&format!("\n{}1\n{}", " ".repeat(13), " ".repeat(9)));
    let err = doc(&format!("[1,\n{}x]", " ".repeat(11))).unwrap_err();
    assert_eq!((err.at, err.reason), (15, "expected a value"));
}

/// An object of `n` members named `prefix{i}suffix`, with member `repeat` (if any) named as
/// member `of`.
fn object(n: usize, prefix: &str, suffix: &str, repeat: Option<(usize, usize)>) -> String {
    let members: Vec<String> = (0..n)
        .map(|i| {
            let i = match repeat {
                Some((at, of)) if at == i => of,
                _ => i,
            };
            format!("\"{prefix}{i}{suffix}\": {i}")
        })
        .collect();
    format!("{{{}}}", members.join(", "))
}

#[test]
fn a_repeated_name_is_found_in_objects_of_any_size() {
    let long = "x".repeat(100);
    for n in [2, 3, 11, 12, 13, 63, 64, 65, 129, 300] {
        for (prefix, suffix) in [("k", ""), ("", &*long), (&*long, "z")] {
            // Distinct names sharing a length, a prefix and a suffix: no false repeat.
            same_as_serde(&object(n, prefix, suffix, None));
            for (at, of) in [(n - 1, 0), (1, 0), (n - 1, n - 2), (n / 2, n / 3)] {
                if at == of {
                    continue;
                }
                let text = object(n, prefix, suffix, Some((at, of)));
                let err = doc(&format!("[{text}]")).unwrap_err();
                assert_eq!(
                    (err.at, err.reason),
                    (1, "an object names a member twice"),
                    "{n} members, {at} repeats {of}"
                );
            }
        }
    }
}

#[test]
fn a_repeated_name_is_found_through_its_escapes() {
    for n in [2, 12, 13, 100] {
        let mut text = object(n, "k", "", None);
        // The last member named as the first, spelt with an escape.
        let last = format!("\"k{}\"", n - 1);
        text = text.replace(&last, "\"\\u006b0\"");
        assert_eq!(
            doc(&text).unwrap_err().reason,
            "an object names a member twice",
            "{n}"
        );
        // An escaped name that differs is no repeat.
        same_as_serde(&text.replace("\\u006b0", "\\u006bz"));
    }
}
