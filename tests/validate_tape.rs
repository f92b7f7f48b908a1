//! The tape reader (`src/cassette/tape.rs`, behind `Source::stream_to_end`) against the serde
//! reader (`cassette::stream_to_end` on the whole text): the same `validate` report on every
//! bundled cassette, and on malformed cassettes the same error, word for word, or the same
//! findings and ending.

use std::path::Path;

use tailtape::body::Body;
use tailtape::cassette::{self, Ending, Interaction, Source};
use tailtape::schema::Contract;
use tailtape::validate::Report;

/// What a reader made of a cassette: the report's JSON and the ending, or the error's text.
type Outcome = Result<(String, Ending), String>;

fn check(
    contract: &Contract,
    name: &str,
    read: impl FnOnce(&mut dyn FnMut(usize, Interaction)) -> Result<Ending, cassette::LoadError>,
) -> (Outcome, usize) {
    let mut report = Report::default();
    let mut docs = 0;
    let mut each = |index: usize, interaction: Interaction| {
        docs += [&interaction.request.body, &interaction.response.body]
            .iter()
            .filter(|b| matches!(b, Body::Doc(_)))
            .count();
        report.add_interaction(contract, name, index, &interaction);
    };
    let outcome = read(&mut each)
        .map(|ending| (report.to_json(), ending))
        .map_err(|e| e.to_string());
    (outcome, docs)
}

/// Both readers on `source`; the tape reader's outcome, and how many tape bodies it handed on.
fn both(contract: &Contract, source: &Source, text: &str) -> (Outcome, usize) {
    let name = source.name();
    let (tape, docs) = check(contract, &name, |each| {
        source.stream_to_end(each).map(|(_, e)| e)
    });
    let (value, _) = check(contract, &name, |each| {
        cassette::stream_to_end(&name, text, each).map(|(_, e)| e)
    });
    assert_eq!(
        tape, value,
        "{name}: the tape reader and the serde reader differ"
    );
    (tape, docs)
}

fn file_source(dir: &Path, name: &str, text: &str) -> Source {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    Source::File(path)
}

/// A canonical cassette of `n` interactions (the first bundled one, repeated).
fn canonical(n: usize) -> String {
    let (_, text) = tailtape::embedded::CASSETTES[0];
    let mut cassette = cassette::parse("x", text).unwrap();
    let one = cassette.interactions[0].clone();
    cassette.interactions = vec![one; n];
    cassette.to_canonical_string()
}

#[test]
fn bundled_cassettes_give_the_same_report_read_from_the_tape() {
    let contract = Contract::load(None).unwrap();
    let mut docs = 0;
    for source in cassette::bundled() {
        let Source::Bundled { text, .. } = source else {
            unreachable!()
        };
        let (outcome, tape_bodies) = both(&contract, &source, text);
        assert!(outcome.is_ok(), "{outcome:?}");
        docs += tape_bodies;
        // The same, read from a file a chunk at a time.
        let dir = tempfile::tempdir().unwrap();
        let file = file_source(dir.path(), "c.json", text);
        assert!(both(&contract, &file, text).0.is_ok());
    }
    assert!(docs > 0, "the bundled cassettes were read on the tape");
}

#[test]
fn a_large_cassette_is_read_across_chunks_the_same() {
    let contract = Contract::load(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Several chunks of 1 MiB, interactions straddling their edges.
    let mut text = canonical(1);
    let n = 3 * (1 << 20) / text.len() + 2;
    text = canonical(n);
    let (outcome, docs) = both(
        &contract,
        &file_source(dir.path(), "big.json", &text),
        &text,
    );
    let (report, ending) = outcome.unwrap();
    assert_eq!(ending, Ending::Closed);
    assert!(
        report.contains(&format!("\"interactions\": {n}")),
        "{report}"
    );
    assert!(
        docs >= n,
        "read on the tape: {docs} tape bodies for {n} interactions"
    );
}

#[test]
fn nesting_counts_from_the_top_of_the_file() {
    let contract = Contract::load(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = tailtape::embedded::CASSETTES[0];
    let mut cassette = cassette::parse("x", text).unwrap();
    cassette.interactions.truncate(1);
    // Deep enough to pass as a document of its own, too deep four levels down in the file.
    let deep = (0..125).fold(serde_json::json!(0), |inner, _| serde_json::json!([inner]));
    cassette.interactions[0].response.body = Body::Json(deep);
    let text = cassette.to_canonical_string();
    let (outcome, _) = both(
        &contract,
        &file_source(dir.path(), "deep.json", &text),
        &text,
    );
    let err = outcome.unwrap_err();
    assert!(err.contains("recursion limit"), "{err}");
}

#[test]
fn malformed_cassettes_fail_exactly_as_before() {
    let contract = Contract::load(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = canonical(3);
    let last = good.rfind("\"method\": \"").unwrap();
    let header = good.rfind("\"headers\": {").unwrap() + "\"headers\": {".len();
    let body = good.rfind("\"status\": ").unwrap();
    let cases = [
        (
            "cut in the last interaction",
            good[..good.len() - 40].to_string(),
        ),
        (
            "cut after an interaction",
            good[..good.rfind("\n    }").unwrap() + 6].to_string(),
        ),
        (
            "a duplicate key in the last interaction",
            format!("{}\"method\": \"GET\", {}", &good[..last], &good[last..]),
        ),
        (
            "a header value with a line feed",
            format!(
                "{}\"x-bad\": \"a\\nb\", {}",
                &good[..header],
                &good[header..]
            ),
        ),
        (
            "a status that is not a number",
            format!(
                "{}\"status\": \"200\", \"x\": 1, {}",
                &good[..body],
                &good[body..]
            ),
        ),
        (
            "a version this tailtape does not read",
            good.replacen("\"tailtape\": 1", "\"tailtape\": 7", 1),
        ),
        ("trailing characters", format!("{good}]")),
        ("another layout", good.replace("\n", "")),
        (
            "an unknown field in the first interaction",
            good.replacen("\"method\"", "\"m\u{fffd}thod\"", 1),
        ),
    ];
    for (what, text) in cases {
        let (outcome, _) = both(
            &contract,
            &file_source(dir.path(), "bad.json", &text),
            &text,
        );
        if what.starts_with("cut") {
            let (_, ending) = outcome.unwrap();
            assert!(matches!(ending, Ending::Cut { .. }), "{what}: {ending:?}");
        } else if what != "another layout" {
            let err = outcome.expect_err(what);
            assert!(err.contains("bad.json:"), "{what}: {err}");
        }
    }
}
