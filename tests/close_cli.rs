//! Cassettes cut short (a recorder killed mid-write, a file cut in half): `tailtape close` as a
//! user runs it, and the warning replay prints on loading one.

mod common;

use std::path::{Path, PathBuf};

use common::tailtape;

use tailtape::cassette;

/// The bundled dns cassette's canonical text (12 interactions).
fn canonical() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/dns.json"))
        .unwrap()
}

fn write_text(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.json");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn close_makes_a_killed_recorders_cassette_canonical() {
    let whole = canonical();
    let open = whole.strip_suffix("\n  ]\n}\n").unwrap();
    let (_dir, path) = write_text(open);

    let run = tailtape(&["close", path.to_str().unwrap()]);

    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "{}: closed after 12 complete interactions; nothing partial dropped\n",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
}

#[test]
fn close_keeps_every_complete_interaction_of_a_cut_file_and_says_what_it_dropped() {
    let whole = canonical();
    let half = &whole[..whole.len() / 2];
    let (dir, path) = write_text(half);
    let kept = half.matches("\n    },\n").count();
    let partial_line = half[..half.rfind("\n    {\n").unwrap()].lines().count() + 1;

    let run = tailtape(&["close", path.to_str().unwrap()]);

    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "{}: closed after {kept} complete interactions; dropped a partial interaction from line {partial_line} on\n",
            path.display()
        )
    );
    let original = cassette::parse("original", &whole).unwrap();
    let closed = cassette::load(&path).unwrap();
    assert_eq!(closed.interactions, original.interactions[..kept]);
    assert_eq!(closed.recorded, original.recorded);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temp or lock file left: {left:?}");
    let again = tailtape(&["validate", "--strict", path.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn close_leaves_a_closed_cassette_as_it_is() {
    let whole = canonical();
    let (_dir, path) = write_text(&whole);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

    let run = tailtape(&["close", path.to_str().unwrap()]);

    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "{}: already closed (12 interactions); not changed\n",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn close_refuses_what_it_cannot_make_sense_of_and_names_the_place() {
    let whole = canonical();
    let in_header = &whole[..30];
    let bad_interaction = whole[..whole.len() / 2].replacen("\"method\"", "\"methd\"", 1);
    for (text, place, words) in [
        (in_header, "3:11", "not valid JSON"),
        (
            bad_interaction.as_str(),
            "12:18",
            "missing required field \"method\"",
        ),
        ("not json at all", "1:2", "not valid JSON"),
    ] {
        let (_dir, path) = write_text(text);

        let run = tailtape(&["close", path.to_str().unwrap()]);

        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        let expected = format!("{}:{place}: ", path.display());
        assert!(
            run.stderr.contains(&expected),
            "{expected} in {}",
            run.stderr
        );
        assert!(run.stderr.contains(words), "{}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "left as it was"
        );
    }
}

#[test]
fn close_refuses_a_cassette_a_recorder_is_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.json");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let upstream = format!("http://{closed}");
    let (recorder, _) = common::start(&[
        "record",
        "--cassette",
        path.to_str().unwrap(),
        "--upstream",
        &upstream,
    ]);

    let run = tailtape(&["close", path.to_str().unwrap()]);
    let (code, stderr) = common::stop(recorder, "TERM");

    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{} is in use by another tailtape", path.display())),
        "{}",
        run.stderr
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(cassette::load(&path).unwrap().interactions.is_empty());
}

#[test]
fn replay_warns_about_a_cut_short_cassette() {
    let whole = canonical();
    let (_dir, path) = write_text(&whole[..whole.len() / 2]);

    let (replay, _) = common::start(&["replay", path.to_str().unwrap()]);
    let (code, stderr) = common::stop(replay, "TERM");

    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: cut short", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("tailtape close {}", path.display())),
        "{stderr}"
    );
}

#[test]
fn close_is_in_the_help() {
    let run = tailtape(&["--help"]);

    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("close ")),
        "{}",
        run.stdout
    );
}
