//! Parity of the bundled cassettes against the emulator of the bundled seed: every cassette,
//! each from a fresh state (parity resets a tailtape target), answers as recorded but for the
//! few recorded behaviours `tests/parity-exceptions.json` excepts, with their reasons; an
//! exception that no longer covers anything fails the run, and so does a real difference.

mod emulate_support;

use std::path::{Path, PathBuf};

use emulate_support::{Emu, tailtape};
use serde_json::{Value, json};
use tailtape::cassette;
use tailtape::parity::{self, Exception, Exceptions, Options};

fn exceptions_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity-exceptions.json")
}

fn options(emu: &Emu, exceptions: Exceptions) -> Options {
    Options {
        exceptions,
        ..Options::new(emu.server.url())
    }
}

#[test]
fn every_bundled_cassette_is_clean_against_the_emulator_but_for_a_handful_of_exceptions() {
    let emu = Emu::start();
    let exceptions = Exceptions::load(&exceptions_path()).unwrap();
    // Adding an exception is a visible change: say here why the emulator cannot do better.
    assert_eq!(exceptions.entries.len(), 4, "{:#?}", exceptions.entries);
    let outcome = parity::run(&cassette::bundled(), &options(&emu, exceptions)).unwrap();
    assert!(outcome.reset);
    assert_eq!(outcome.cassettes.len(), cassette::bundled().len());
    assert!(outcome.is_same(), "{}", parity::to_human(&outcome));
    assert!(outcome.stale.is_empty());
    let excepted: Vec<(String, usize)> = outcome
        .cassettes
        .iter()
        .flat_map(|c| c.excepted().map(|i| (c.name.clone(), i.index)))
        .collect();
    assert_eq!(
        excepted,
        [
            ("<bundled>/dns-configuration.json".to_string(), 5),
            ("<bundled>/posture-integrations.json".to_string(), 5),
        ]
    );
    // Generated values (ids, invite URLs, service addresses) were mapped, not excepted.
    let mapped = |name: &str| {
        outcome
            .cassettes
            .iter()
            .find(|c| c.name.ends_with(name))
            .unwrap()
            .mapped
    };
    assert_eq!(mapped("user-invites.json"), 4);
    assert_eq!(mapped("services.json"), 2);

    // Without the file, exactly those interactions differ.
    let bare = parity::run(&cassette::bundled(), &Options::new(emu.server.url())).unwrap();
    assert_eq!(bare.differing(), 2, "{}", parity::to_human(&bare));
}

#[test]
fn an_exception_that_covers_nothing_is_stale_and_fails_the_run() {
    let emu = Emu::start();
    let mut exceptions = Exceptions::load(&exceptions_path()).unwrap();
    let stale = Exception {
        cassette: "keys.json".into(),
        interaction: 2,
        pointer: "/keys/*/id".into(),
        reason: "the emulator once listed other ids".into(),
    };
    exceptions.entries.push(stale.clone());
    // For a cassette not in the run: not checked, so not stale.
    exceptions.entries.push(Exception {
        cassette: "not-run.json".into(),
        ..stale.clone()
    });
    let sources: Vec<_> = cassette::bundled()
        .into_iter()
        .filter(|s| s.name().ends_with("/keys.json") || s.name().ends_with("/dns.json"))
        .collect();
    let outcome = parity::run(&sources, &options(&emu, exceptions)).unwrap();
    assert_eq!(outcome.differing(), 0);
    assert_eq!(outcome.stale, vec![stale]);
    assert!(!outcome.is_same());
}

#[test]
fn the_command_prints_excepted_changes_with_their_reason_and_refuses_a_bad_file() {
    let emu = Emu::start();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes");
    let file = exceptions_path();
    let args = |exceptions: &Path, format: &str| {
        tailtape(&[
            "parity",
            dir.to_str().unwrap(),
            "--against",
            emu.server.url(),
            "--exceptions",
            exceptions.to_str().unwrap(),
            "--format",
            format,
        ])
    };
    let run = args(&file, "human");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("cassettes/posture-integrations.json: same (9 interactions, 1 excepted"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "#5 PATCH /api/v2/posture/integrations/p56wQiqrn7mfCNTRL\n  excepted: an integration \
             moved to another tenant"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(": 172 same, 0 differ, 2 excepted"),
        "{}",
        run.stdout
    );
    let as_json: Value = serde_json::from_str(&args(&file, "json").stdout).unwrap();
    assert_eq!(
        as_json["summary"],
        json!({"cassettes": 18, "interactions": 174, "differing": 0, "excepted": 2, "stale": 0})
    );

    // A stale exception: exit 1, named with its reason.
    let tmp = tempfile::tempdir().unwrap();
    let mut entries: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    entries.as_array_mut().unwrap().push(json!({
        "cassette": "keys.json", "interaction": 2, "pointer": "/keys", "reason": "gone by now",
    }));
    let stale_file = tmp.path().join("stale.json");
    std::fs::write(&stale_file, entries.to_string()).unwrap();
    let run = args(&stale_file, "human");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("1 stale exception covered nothing")
            && run
                .stdout
                .contains("stale: keys.json #2 \"/keys\" (gone by now)"),
        "{}",
        run.stdout
    );

    // A bad file: exit 2 before anything is sent, with the file, line, column and reason.
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        "[\n  {\"cassette\": \"keys.json\", \"interaction\": 2, \"pointer\": \"/keys\"}\n]\n",
    )
    .unwrap();
    let run = args(&bad, "human");
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{}:2:3: /0: missing field `reason`",
            bad.display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
