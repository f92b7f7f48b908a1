//! Loading cassettes strictly, as `tailtape validate` shows it: a file cut short, a key written
//! twice, a header value with a line break, a directory with no cassettes, symbolic link loops,
//! and report paths checked before the work starts.

mod common;

use std::path::{Path, PathBuf};

use common::{bundled, json_findings, tailtape};
use serde_json::Value;

fn write_text(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// The bundled dns cassette cut in half, as a killed recorder or a failed copy leaves it, and
/// how many of its interactions are whole before the cut.
fn cut_in_half() -> (tempfile::TempDir, PathBuf, usize) {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/dns.json"))
            .unwrap();
    let half = &text[..text.len() / 2];
    let complete = half.matches("\n    },\n").count();
    assert!(complete > 0 && complete < 12);
    let (dir, path) = write_text(half);
    (dir, path, complete)
}

#[test]
fn a_cassette_cut_in_half_fails_strict_and_warns_otherwise() {
    let (dir, path, complete) = cut_in_half();
    let junit = dir.path().join("junit.xml");

    let strict = tailtape(&[
        "validate",
        path.to_str().unwrap(),
        "--strict",
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let lenient = tailtape(&["validate", path.to_str().unwrap()]);

    assert_eq!(strict.code, 1, "{}{}", strict.stdout, strict.stderr);
    let findings = json_findings(&strict);
    let cut: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"] == "truncated")
        .collect();
    assert_eq!(cut.len(), 1, "{findings:?}");
    assert_eq!(cut[0]["level"], "error");
    assert_eq!(cut[0]["cassette"], path.to_str().unwrap());
    assert_eq!(cut[0]["interaction"], complete);
    let message = cut[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{complete} complete interactions")),
        "{message}"
    );
    assert!(message.contains("tailtape close"), "{message}");
    let report: Value = serde_json::from_str(&strict.stdout).unwrap();
    assert_eq!(report["summary"]["interactions"], complete);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure") && xml.contains("[truncated]"),
        "{xml}"
    );

    assert_eq!(lenient.code, 0, "{}{}", lenient.stdout, lenient.stderr);
    assert!(lenient.stdout.contains("warning"), "{}", lenient.stdout);
    assert!(lenient.stdout.contains("[truncated]"), "{}", lenient.stdout);
    assert!(lenient.stdout.contains(", 1 warning"), "{}", lenient.stdout);
}

/// A key written twice used to load silently, the last one winning; now it is an error that
/// names the key and where its second occurrence ends, wherever it is.
#[test]
fn duplicate_keys_anywhere_in_a_cassette_are_an_error_naming_the_key_and_place() {
    let head =
        "{\n  \"tailtape\": 1,\n  \"recorded\": {\"upstream\": \"docs\"},\n  \"interactions\": [\n";
    let tail = "\n  ]\n}\n";
    let ok_resp = "\"response\": {\"status\": 200}";
    let cases = [
        (
            "{\"tailtape\": 1, \"recorded\": {\"upstream\": \"x\"}, \"tailtape\": 1, \"interactions\": []}"
                .to_string(),
            "tailtape",
        ),
        (
            "{\"tailtape\": 1, \"recorded\": {\"upstream\": \"x\", \"upstream\": \"y\"}, \"interactions\": []}"
                .to_string(),
            "upstream",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\", \"path\": \"/y\"}}, {ok_resp}}}{tail}"
            ),
            "path",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\",\n      \"headers\": {{\"accept\": \"a\", \"accept\": \"b\"}}}}, {ok_resp}}}{tail}"
            ),
            "accept",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\"}},\n      \"response\": {{\"status\": 200, \"json\": {{\"devices\": [{{\"id\": 1, \"id\": 2}}]}}}}}}{tail}"
            ),
            "id",
        ),
    ];
    for (text, key) in cases {
        let (_dir, path) = write_text(&text);
        // The place serde_json stands at: the closing quote of the key's second occurrence.
        let quoted = format!("\"{key}\"");
        let first = text.find(&quoted).unwrap() + 1;
        let end = first + text[first..].find(&quoted).unwrap() + quoted.len() - 1;
        let line = text[..end].matches('\n').count() + 1;
        let column = end - text[..end].rfind('\n').map_or(0, |n| n + 1) + 1;

        let run = tailtape(&["validate", path.to_str().unwrap()]);

        assert_eq!(run.code, 2, "{text}\n{}", run.stderr);
        let want = format!(
            "{}:{line}:{column}: duplicate key \"{key}\"",
            path.display()
        );
        assert!(run.stderr.contains(&want), "want {want} in {}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
    }
}

/// A header value with a line break used to load and then be dropped at replay without a word.
#[test]
fn a_header_value_with_a_line_break_or_control_character_is_an_error_at_load() {
    let cases = [
        (
            "request",
            "x-note",
            "one\\r\\ntwo",
            "a carriage return (CR)",
        ),
        ("response", "etag", "\\\"1\\\"\\n", "a line feed (LF)"),
        (
            "response",
            "x-bell",
            "ding\\u0007",
            "the control character U+0007",
        ),
    ];
    for (side, name, value, words) in cases {
        let headers = format!("\"headers\": {{\"{name}\": \"{value}\"}}");
        let (request, response) = if side == "request" {
            (format!(", {headers}"), String::new())
        } else {
            (String::new(), format!(", {headers}"))
        };
        let text = format!(
            "{{\n  \"tailtape\": 1,\n  \"recorded\": {{\"upstream\": \"docs\"}},\n  \"interactions\": [\n    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\"{request}}},\n     \"response\": {{\"status\": 200{response}}}}}\n  ]\n}}\n"
        );
        let (_dir, path) = write_text(&text);

        let run = tailtape(&["validate", path.to_str().unwrap()]);

        assert_eq!(run.code, 2, "{text}\n{}", run.stderr);
        let line = if side == "request" { 5 } else { 6 };
        let place = format!("{}:{line}:", path.display());
        let what = format!("/interactions/0/{side}/headers/{name}: header value holds {words}");
        assert!(
            run.stderr.contains(&place),
            "want {place} in {}",
            run.stderr
        );
        assert!(run.stderr.contains(&what), "want {what} in {}", run.stderr);
    }
}

/// A directory with no cassettes used to pass `--strict` as "0 cassettes, 0 errors".
#[test]
fn a_directory_without_cassettes_fails_under_strict_and_warns_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a cassette").unwrap();
    let name = dir.path().display().to_string();

    let strict = tailtape(&["validate", "--strict", &name]);
    let lenient = tailtape(&["validate", &name]);

    assert_eq!(strict.code, 2, "{}", strict.stderr);
    let want = format!("{name}: no cassettes (*.json) in this directory");
    assert!(strict.stderr.contains(&want), "{}", strict.stderr);
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    assert!(
        lenient.stderr.contains(&format!("warning: {want}")),
        "{}",
        lenient.stderr
    );
}

/// A directory symlink loop used to load the same file once per level until the path got too
/// long (41 times); each directory is now searched once, and a file reached twice loads once.
#[cfg(unix)]
#[test]
fn symlink_loops_and_linked_files_load_each_cassette_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("dns.json"),
        bundled("dns.json").to_canonical_string(),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    std::os::unix::fs::symlink(sub.join("dns.json"), dir.path().join("same.json")).unwrap();

    let run = tailtape(&["validate", dir.path().to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["cassettes"], 1);
    assert_eq!(report["summary"]["interactions"], 12);
}

/// `--junit` into a missing directory used to fail only after the whole validation ran: here
/// the cassette is unreadable too, and the JUnit path is what gets reported, since it is
/// checked first.
#[test]
fn junit_path_is_checked_before_validating() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let target = missing.join("report.xml");
    let cassette = dir.path().join("not-there.json");

    let run = tailtape(&[
        "validate",
        cassette.to_str().unwrap(),
        "--junit",
        target.to_str().unwrap(),
    ]);

    assert_eq!(run.code, 2, "{}", run.stderr);
    let want = format!(
        "{}: the directory {} does not exist",
        target.display(),
        missing.display()
    );
    assert!(run.stderr.contains(&want), "want {want} in {}", run.stderr);
    assert!(!run.stderr.contains("not-there.json"), "{}", run.stderr);
}

#[test]
fn a_system_error_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let locked = dir.path().join("no-such-dir/new.json");

    let runs = [
        tailtape(&["validate", missing.to_str().unwrap()]),
        tailtape(&[
            "record",
            "--cassette",
            locked.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ]),
    ];

    for run in runs {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(
            run.stderr.matches("No such file or directory").count(),
            1,
            "{}",
            run.stderr
        );
    }
}
