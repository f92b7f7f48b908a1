//! A real client through the fake API: PyPI `tailscale` 1.0.0 (the client Home Assistant uses)
//! against an in-process replay server of the bundled cassettes. It lists the devices (the ids
//! and hostnames it prints must be the cassette's), and it walks every scenario beyond the seed
//! documents' operations as a client's test suite would. `scripts/test` installs the client into
//! `.venv`; `TAILTAPE_PYTHON` names another interpreter that has it.

use std::path::PathBuf;
use std::process::Command;

use tailtape::body::Body;
use tailtape::cassette;
use tailtape::replay::{Options, Replay, ReplayServer};
use tailtape::report::Report;
use tailtape::schema::Contract;

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("TAILTAPE_PYTHON") {
        return python.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/test, which installs the Python client into .venv",
        venv.display()
    );
    venv
}

/// Runs `tests/clients/SCRIPT` against a fresh replay of the bundled cassettes; returns what it
/// printed (after checking it succeeded) and the server's journal.
fn run_client(script: &str) -> (String, Report) {
    let cassettes = cassette::bundled()
        .into_iter()
        .map(|s| (s.name(), s.load().unwrap()))
        .collect();
    let server = ReplayServer::start(Replay::new(
        Contract::load(None).unwrap(),
        cassettes,
        Options::default(),
    ))
    .unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);

    let out = Command::new(python())
        .arg(&script)
        .arg(server.url())
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, server.report())
}

#[test]
fn python_tailscale_client_lists_the_bundled_devices() {
    let (stdout, report) = run_client("list_devices.py");

    let printed: Vec<Vec<&str>> = stdout.lines().map(|l| l.split(' ').collect()).collect();
    let devices = cassette::bundled()
        .into_iter()
        .find(|s| s.name().ends_with("devices.json"))
        .unwrap()
        .load()
        .unwrap();
    let Body::Json(list) = &devices.interactions[0].response.body else {
        panic!("the first answer is the device list")
    };
    let expected: Vec<Vec<&str>> = list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            vec![
                d["id"].as_str().unwrap(),
                d["nodeId"].as_str().unwrap(),
                d["hostname"].as_str().unwrap(),
            ]
        })
        .collect();
    assert_eq!(printed, expected);
    assert_eq!(expected.len(), 3);
    assert_eq!(report.summary.unmatched, 0, "{:?}", report.unmatched);
    assert_eq!(
        report.matched[0].recorded.request,
        "GET /api/v2/tailnet/-/devices?fields=all"
    );
}

/// The seed scenarios `every_operation.py` leaves to the tests above and to replay's own.
const NOT_WALKED: [&str; 5] = [
    "<bundled>/devices.json",
    "<bundled>/dns.json",
    "<bundled>/keys.json",
    "<bundled>/policy.json",
    "<bundled>/routes.json",
];

/// Every other bundled scenario, walked by the client in recorded order with read-modify-reread
/// checks: each recorded request must be asked for by the real client (nothing unused), each
/// client request must be recorded (nothing unmatched), and the client's models must parse each
/// answer, so the cassettes are what a real client sends and accepts.
#[test]
fn python_tailscale_client_walks_every_scenario_beyond_the_seeds() {
    let (stdout, report) = run_client("every_operation.py");

    assert_eq!(report.summary.unmatched, 0, "{:?}", report.unmatched);
    let unused: Vec<String> = report
        .unused
        .iter()
        .filter(|u| !NOT_WALKED.contains(&u.cassette.as_str()))
        .map(|u| format!("{} #{} {}", u.cassette, u.interaction, u.request))
        .collect();
    assert!(unused.is_empty(), "never requested: {unused:#?}");
    assert_eq!(report.summary.errors + report.summary.warnings, 0);
    let walked: std::collections::BTreeSet<&str> = report
        .matched
        .iter()
        .map(|m| m.recorded.cassette.as_str())
        .collect();
    assert_eq!(walked.len(), 13, "{walked:?}");
    assert_eq!(stdout.lines().count(), 13, "{stdout}");
}
