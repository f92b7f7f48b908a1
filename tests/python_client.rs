//! A real client through the fake API: PyPI `tailscale` 1.0.0 (the client Home Assistant uses)
//! lists the devices of the bundled cassettes through an in-process replay server, and the ids
//! and hostnames it prints must be the cassette's. `scripts/test` installs the client into
//! `.venv`; `TAILTAPE_PYTHON` names another interpreter that has it.

use std::path::PathBuf;
use std::process::Command;

use tailtape::body::Body;
use tailtape::cassette;
use tailtape::replay::{Options, Replay, ReplayServer};
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

#[test]
fn python_tailscale_client_lists_the_bundled_devices() {
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
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/list_devices.py");

    let out = Command::new(python())
        .arg(&script)
        .arg(server.url())
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let report = server.report();
    assert_eq!(report.summary.unmatched, 0, "{:?}", report.unmatched);
    assert_eq!(
        report.matched[0].recorded.request,
        "GET /api/v2/tailnet/-/devices?fields=all"
    );
}
