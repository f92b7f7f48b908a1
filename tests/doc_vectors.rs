//! The docs' own examples as test vectors (one test per file under `tests/vectors/`): every JSON
//! example of the two seed documents must pass its operation's schema with no finding at all,
//! once the doc errata named in its `errata` field are fixed. The deliberately broken variants
//! under `tests/vectors/broken/` must produce exactly the findings their `expect` lists.

use std::path::PathBuf;
use std::sync::LazyLock;

use rstest::rstest;
use serde_json::Value;
use tailtape::body::Body;
use tailtape::cassette::Headers;
use tailtape::finding::Side;
use tailtape::schema::{Contract, Place};

static CONTRACT: LazyLock<Contract> =
    LazyLock::new(|| Contract::load(None).expect("embedded schemas load"));

/// (level, rule, pointer) of every finding for the fixture's body.
fn findings(fixture: &Value) -> Vec<(String, String, String)> {
    let table = CONTRACT.table();
    let op_id = fixture["operation"]
        .as_str()
        .expect("fixture names its operation");
    let op = table
        .get(op_id)
        .unwrap_or_else(|| panic!("unknown operation {op_id}"));
    let (side, spec) = match fixture["side"].as_str() {
        Some("request") => (Side::Request, op.request.as_ref()),
        Some("response") => {
            let status = fixture["status"]
                .as_u64()
                .expect("a response fixture has a status") as u16;
            let spec = table.response(op, status);
            assert!(
                spec.is_some(),
                "status {status} is not documented for {op_id}"
            );
            (Side::Response, spec)
        }
        other => panic!("bad side {other:?}"),
    };
    let body = match (&fixture["json"], &fixture["text"]) {
        (Value::Null, Value::String(text)) => Body::Text(text.clone()),
        (json, Value::Null) => Body::Json(json.clone()),
        _ => panic!("a fixture has exactly one of json and text"),
    };
    let mut issues = Vec::new();
    CONTRACT.check_body(
        Place { op, side },
        spec,
        &body,
        &Headers::new(),
        &mut issues,
    );
    issues
        .into_iter()
        .map(|i| (i.level.as_str().to_string(), i.rule.into_owned(), i.pointer))
        .collect()
}

/// (level, rule, pointer) of the findings a fixture's `expect` lists; none when it has none.
fn expected(fixture: &Value) -> Vec<(String, String, String)> {
    fixture["expect"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("level"), s("rule"), s("pointer"))
        })
        .collect()
}

fn read(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[rstest]
fn doc_example_passes_its_schema(#[files("tests/vectors/*.json")] path: PathBuf) {
    let fixture = read(&path);
    assert_eq!(findings(&fixture), vec![], "{}", fixture["source"]);
}

#[rstest]
fn broken_variant_fails_with_rule_and_pointer(
    #[files("tests/vectors/broken/*.json")] path: PathBuf,
) {
    let fixture = read(&path);
    let expected = expected(&fixture);
    assert!(
        !expected.is_empty(),
        "a broken fixture lists what it expects"
    );
    assert_eq!(findings(&fixture), expected, "{}", fixture["source"]);
}

/// Tailscale's OpenAPI file's own examples (whole examples, or assembled from its per-property
/// examples), for every request and success body of its 90 operations and each shared error
/// answer: each gives exactly the findings its `expect` lists (none, unless the file is known to
/// be wrong there; the fixture then says why).
#[rstest]
fn openapi_example_gives_the_expected_findings(
    #[files("tests/vectors/openapi/*.json")] path: PathBuf,
) {
    let fixture = read(&path);
    let expected = expected(&fixture);
    assert_eq!(findings(&fixture), expected, "{}", fixture["source"]);
}
