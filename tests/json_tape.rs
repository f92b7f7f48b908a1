//! The tape (`tailtape::json`) must read exactly what serde_json reads, write it back exactly as
//! serde_json writes the same `Value`, and validate exactly as the schema engine validates the
//! `Value`: it replaces `Value` on the hot paths, so any disagreement would change a cassette
//! or a finding.

use bytes::Bytes;
use jsonschema::Validator;
use proptest::prelude::*;
use serde_json::Value;
use tailtape::body::Body;
use tailtape::json::{Doc, Tape};
use tailtape::schema::Contract;

fn doc(text: &str) -> Result<Doc, tailtape::json::ParseError> {
    Doc::parse(Bytes::from(text.to_string()))
}

/// A JSON value of any shape, with strings that need escapes and numbers of every kind.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "[\"\\\\\u{0}-\u{1f}\u{7f}é😀/]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"\\\\é]{0,5}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn writes_back_what_serde_json_writes(value in any_json()) {
        for text in [value.to_string(), serde_json::to_string_pretty(&value).unwrap()] {
            let doc = doc(&text).unwrap();
            prop_assert_eq!(serde_json::to_string(&doc.root()).unwrap(), value.to_string());
            prop_assert_eq!(doc.root().to_value(), value.clone());
        }
    }

    #[test]
    fn accepts_exactly_what_serde_json_accepts(text in "[\\[\\]{}\":,0-9.eE+\\-a-z\\\\ ]{0,24}") {
        let serde = serde_json::from_str::<Value>(&text);
        let tape = doc(&text);
        // serde_json keeps the last of a repeated member name; the tape refuses the document.
        let repeated = tape.as_ref().is_err_and(|e| e.reason.contains("twice"));
        prop_assert!(repeated || serde.is_ok() == tape.is_ok(), "{:?}: serde {:?}, tape {:?}",
            text, serde.err(), tape.err());
    }
}

#[test]
fn refuses_what_serde_json_refuses() {
    for text in [
        "",
        "  ",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        "-",
        "1e",
        "1e400",
        "-1e400",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\u{1}\"",
        "\"\\x\"",
        "[1] 2",
        "nul",
        "{1:2}",
        "\"open",
    ] {
        assert!(serde_json::from_str::<Value>(text).is_err(), "{text:?}");
        assert!(doc(text).is_err(), "{text:?} was read");
    }
    for text in [
        "1e-400",
        "123456789012345678901234567890",
        "-0",
        "\"\\ud83d\\ude00\"",
    ] {
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(doc(text).unwrap().root().to_value(), expected, "{text:?}");
    }
}

#[test]
fn nests_as_deep_as_serde_json_and_no_deeper() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deepest = (1..200)
        .take_while(|&d| serde_json::from_str::<Value>(&nested(d)).is_ok())
        .last()
        .unwrap();
    assert!(doc(&nested(deepest)).is_ok());
    assert_eq!(
        doc(&nested(deepest + 1)).unwrap_err().reason,
        "nested too deep"
    );
}

#[test]
fn refuses_a_repeated_member_name_with_its_place() {
    let err = doc("{\"a\": {\"b\": 1, \"b\": 2}}").unwrap_err();
    assert_eq!((err.at, err.reason), (6, "an object names a member twice"));
    let many: Vec<String> = (0..40).map(|i| format!("\"k{}\": {i}", i % 39)).collect();
    assert!(doc(&format!("{{{}}}", many.join(","))).is_err());
    assert!(
        doc("{\"a\": 1, \"\\u0061\": 2}").is_err(),
        "an escaped repeat"
    );
}

/// Every JSON body of the bundled cassettes.
fn bundled_bodies() -> Vec<(String, Value)> {
    let mut bodies = Vec::new();
    for (name, text) in tailtape::embedded::CASSETTES {
        let cassette = tailtape::cassette::parse(name, text).unwrap();
        for (i, interaction) in cassette.interactions.iter().enumerate() {
            for (side, body) in [
                ("request", &interaction.request.body),
                ("response", &interaction.response.body),
            ] {
                if let Body::Json(value) = body {
                    bodies.push((format!("{name} #{i} {side}"), value.clone()));
                }
            }
        }
    }
    bodies
}

#[test]
fn validates_every_bundled_body_as_the_value_does() {
    let contract = Contract::load(None).unwrap();
    let tape_validators = contract.body_validators::<Tape>().unwrap();
    let mut compared = 0;
    let mut invalid = 0;
    for (place, value) in bundled_bodies() {
        let doc = doc(&value.to_string()).unwrap();
        for (reference, tape_validator) in &tape_validators {
            let validator: &Validator = contract.validator(reference).unwrap();
            let expected: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} {e}", e.instance_path()))
                .collect();
            let found: Vec<String> = tape_validator
                .iter_errors(doc.root())
                .map(|e| format!("{} {e}", e.instance_path()))
                .collect();
            assert_eq!(found, expected, "{place} against {reference}");
            assert_eq!(tape_validator.is_valid(doc.root()), expected.is_empty());
            compared += 1;
            invalid += usize::from(!expected.is_empty());
        }
    }
    // Bodies against every schema, most of them the wrong one: both outcomes are exercised.
    assert!(
        compared > 10_000 && invalid > compared / 2,
        "{compared} {invalid}"
    );
}
