//! The bundled cassettes are the fake API users get by default: they must load, stay canonical
//! (load then save gives the same bytes), say they come from the docs, and exercise every
//! documented operation with a success answer.

use std::collections::BTreeSet;

use tailtape::cassette;
use tailtape::routes::Lookup;
use tailtape::schema::Contract;

#[test]
fn load_then_save_gives_the_same_bytes() {
    for (name, text) in tailtape::embedded::CASSETTES {
        let loaded = cassette::parse(name, text).unwrap();
        assert_eq!(
            loaded.to_canonical_string(),
            *text,
            "{name} is not canonical"
        );
    }
}

#[test]
fn bundled_cassettes_come_from_the_docs() {
    for source in cassette::bundled() {
        assert_eq!(
            source.load().unwrap().recorded.upstream,
            "docs",
            "{}",
            source.name()
        );
    }
}

#[test]
fn every_operation_is_exercised_with_a_success_answer() {
    let contract = Contract::load(None).unwrap();
    let mut succeeded = BTreeSet::new();
    for source in cassette::bundled() {
        for interaction in source.load().unwrap().interactions {
            let req = &interaction.request;
            if let Lookup::Found { operation, .. } = contract.table().lookup(&req.method, &req.path)
                && (200..300).contains(&interaction.response.status)
            {
                succeeded.insert(operation.id.clone());
            }
        }
    }
    let all: BTreeSet<String> = contract
        .table()
        .operations()
        .iter()
        .map(|op| op.id.clone())
        .collect();
    let missing: Vec<_> = all.difference(&succeeded).collect();
    assert!(
        missing.is_empty(),
        "no bundled success answer for {missing:?}"
    );
}

#[test]
fn extra_fields_keep_their_order_through_load_and_save() {
    let text = r#"{
  "tailtape": 1,
  "recorded": {
    "upstream": "hand",
    "zeta": 1,
    "alpha": 2,
    "mid": 3
  },
  "zeta": true,
  "alpha": false,
  "interactions": [
    {
      "request": {
        "method": "GET",
        "path": "/api/v2/tailnet/-/devices"
      },
      "response": {
        "status": 200,
        "json": {
          "z": 1,
          "a": 2
        }
      },
      "note": "first",
      "name": "list",
      "id": 7
    }
  ]
}
"#;
    let loaded = cassette::parse("hand.json", text).unwrap();
    assert_eq!(loaded.to_canonical_string(), text);
}

/// The recorder writes cassettes with the interactions array open and closes it on exit; a
/// recorder killed before that leaves a file that must still load, whole interactions only.
#[test]
fn a_recording_cut_short_loads_with_its_complete_interactions() {
    let (_, text) = tailtape::embedded::CASSETTES
        .iter()
        .find(|(n, _)| *n == "dns.json")
        .unwrap();
    let open = text.strip_suffix("\n  ]\n}\n").unwrap();
    let torn = format!("{open},\n    {{\n      \"request\": {{\n        \"method\": \"GE");

    let from_open = cassette::parse("open.json", open).unwrap();
    let from_torn = cassette::parse("torn.json", &torn).unwrap();

    assert_eq!(from_open.interactions.len(), 12);
    assert_eq!(from_torn, from_open);
    assert_eq!(from_open.to_canonical_string(), *text);
}

#[test]
fn a_truncated_hand_written_cassette_is_still_an_error() {
    let compact = r#"{"tailtape": 1, "recorded": {"upstream": "x"}, "interactions": [{"request": {"method": "GET", "path": "/x"}, "response": {"status": 2"#;
    let err = cassette::parse("hand.json", compact)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("hand.json:1:133: not valid JSON"), "{err}");
}
