//! The reporting commands as a user runs them: `coverage`, `diff`, `--junit`, `schemas
//! openapi`, and colour only where a person reads it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn tailtape(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tailtape"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn bundled(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cassettes")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, cassette: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(cassette).unwrap()).unwrap();
    path
}

#[test]
fn coverage_of_the_bundled_cassettes_is_complete() {
    let (code, stdout, _) = tailtape(&["coverage", "--format", "json"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["covered"], report["total"]);
    assert_eq!(report["total"], 29);
    let get_device = report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operationId"] == "getDevice")
        .unwrap();
    assert_eq!(get_device["method"], "GET");
    assert_eq!(get_device["path"], "/api/v2/device/{deviceId}");
    assert_eq!(get_device["statuses_seen"], serde_json::json!([200, 404]));
    assert_eq!(
        get_device["statuses_documented"],
        serde_json::json!([200, 400, 401, 404, 500, 504])
    );
    assert_eq!(get_device["covered"], true);
}

#[test]
fn coverage_shows_what_a_cassette_does_not_touch() {
    let dir = tempfile::tempdir().unwrap();
    let mut dns = bundled("dns.json");
    dns["interactions"][0]["request"]["path"] = "/api/v2/tailnet/-/dns/split-dns".into();
    let path = write(dir.path(), "dns.json", &dns);

    let (code, stdout, _) = tailtape(&["coverage", path.to_str().unwrap()]);

    assert_eq!(code, 0);
    assert!(stdout.contains("no   getDevice "), "{stdout}");
    assert!(stdout.contains("yes  listDnsNameservers"), "{stdout}");
    assert!(stdout.contains(&format!(
        "{} #0 GET /api/v2/tailnet/-/dns/split-dns -> 200",
        path.display()
    )));
    assert!(
        stdout.ends_with("6 of 29 operations covered (21%), 1 undocumented request\n"),
        "{stdout}"
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_under_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let mut devices = bundled("devices.json");
    devices["interactions"][2]["response"]["json"]["authorized"] = "yes".into();
    let path = write(dir.path(), "devices.json", &devices);
    let command = format!(
        "{} validate {}",
        env!("CARGO_BIN_EXE_tailtape"),
        path.display()
    );
    let on_terminal = |no_color: bool| {
        let mut script = Command::new("script");
        script.args(["-qec", &command, "/dev/null"]);
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        String::from_utf8(script.output().expect("script(1) from util-linux").stdout).unwrap()
    };

    let piped = tailtape(&["validate", path.to_str().unwrap()]).1;

    assert!(
        on_terminal(false).contains("\x1b[31merror"),
        "{:?}",
        on_terminal(false)
    );
    assert!(!on_terminal(true).contains('\x1b'));
    assert!(!piped.contains('\x1b'));
    assert!(piped.contains("error   #2 getDevice response /authorized"));
}
