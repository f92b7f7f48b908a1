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
    assert_eq!(report["total"], 90);
    assert_eq!(
        report["outside_openapi"],
        serde_json::json!({"covered": 1, "total": 1})
    );
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
    dns["interactions"][0]["request"]["path"] = "/api/v2/tailnet/-/dns/resolvers".into();
    let path = write(dir.path(), "dns.json", &dns);

    let (code, stdout, _) = tailtape(&["coverage", path.to_str().unwrap()]);

    assert_eq!(code, 0);
    assert!(stdout.contains("no   getDevice "), "{stdout}");
    assert!(stdout.contains("yes  listDnsNameservers"), "{stdout}");
    assert!(stdout.contains(&format!(
        "{} #0 GET /api/v2/tailnet/-/dns/resolvers -> 200",
        path.display()
    )));
    assert!(
        stdout.ends_with(
            "6 of 90 operations of Tailscale's OpenAPI file covered (7%); \
             0 of 1 more that clients use (*); 1 undocumented request\n"
        ),
        "{stdout}"
    );
}

#[test]
fn coverage_fail_under_gates_on_the_openapi_share() {
    let dns = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/dns.json");
    let dns = dns.to_str().unwrap();

    let (under, _, said) = tailtape(&["coverage", dns, "--fail-under", "50"]);
    let (over, _, quiet) = tailtape(&["coverage", dns, "--fail-under", "5.5"]);
    let (all, _, _) = tailtape(&["coverage", "--fail-under", "100"]);
    let (bad, _, why) = tailtape(&["coverage", "--fail-under", "150"]);

    assert_eq!(under, 1);
    assert!(
        said.contains(
            "% of the operations of Tailscale's OpenAPI file covered, under --fail-under 50%"
        ),
        "{said}"
    );
    assert_eq!((over, quiet.as_str()), (0, ""));
    assert_eq!(all, 0, "the bundled cassettes cover every operation");
    assert_eq!(bad, 2);
    assert!(why.contains("150 is not between 0 and 100"), "{why}");
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

/// The bundled devices cassette as a "re-recording" after `edit`.
fn rerecorded(dir: &Path, edit: impl FnOnce(&mut Value)) -> (String, String) {
    let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/devices.json");
    let mut new = bundled("devices.json");
    edit(&mut new);
    let new = write(dir, "rerecorded.json", &new);
    (old.display().to_string(), new.display().to_string())
}

#[test]
fn diff_of_a_rerecording_that_only_moved_volatile_fields_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = rerecorded(dir.path(), |c| {
        for interaction in c["interactions"].as_array_mut().unwrap() {
            if let Some(devices) = interaction
                .pointer_mut("/response/json/devices")
                .and_then(Value::as_array_mut)
            {
                for device in devices {
                    device["lastSeen"] = "2026-11-24T03:00:00Z".into();
                    if let Some(connectivity) = device.get_mut("clientConnectivity") {
                        connectivity["latency"] = serde_json::json!({"Paris": {"latencyMs": 9.5}});
                    }
                }
            }
        }
    });

    let (code, stdout, _) = tailtape(&["diff", &old, &new]);

    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.ends_with("16 pairs compared: 0 differ, 0 only in OLD, 0 only in NEW\n"),
        "{stdout}"
    );
}

#[test]
fn diff_of_a_renamed_device_exits_1_showing_the_hostname_change() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = rerecorded(dir.path(), |c| {
        c["interactions"][0]["response"]["json"]["devices"][1]["hostname"] = "armadillo-2".into();
    });

    let (code, stdout, _) = tailtape(&["diff", &old, &new]);
    let (ignored, _, _) = tailtape(&["diff", &old, &new, "--ignore", "/devices/*/hostname"]);

    assert_eq!(code, 1);
    assert!(
        stdout.contains("GET /api/v2/tailnet/-/devices?fields=all (OLD #0, NEW #0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  ~ /devices/1/hostname: \"armadillo\" -> \"armadillo-2\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("-      \"hostname\": \"armadillo\","),
        "{stdout}"
    );
    assert!(
        stdout.contains("+      \"hostname\": \"armadillo-2\","),
        "{stdout}"
    );
    assert_eq!(ignored, 0);
}

#[test]
fn diff_lists_interactions_on_one_side_only() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = rerecorded(dir.path(), |c| {
        let interactions = c["interactions"].as_array_mut().unwrap();
        interactions.remove(3);
        interactions[0]["request"]["path"] = "/api/v2/tailnet/example.com/devices".into();
    });

    let (code, stdout, _) = tailtape(&["diff", &old, &new]);

    // NEW's remaining fields=all list pairs with OLD's first one, so OLD's second is left over.
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!(
            "only in {old}: #3 GET /api/v2/device/nDoesNotExist"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "only in {old}: #15 GET /api/v2/tailnet/-/devices?fields=all"
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!(
        "only in {new}: #0 GET /api/v2/tailnet/example.com/devices?fields=all"
    )));
    assert!(stdout.contains("2 only in OLD, 1 only in NEW"), "{stdout}");
}

#[test]
fn diff_as_json_gives_each_change_and_each_one_sided_interaction() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = rerecorded(dir.path(), |c| {
        let interactions = c["interactions"].as_array_mut().unwrap();
        interactions[0]["response"]["json"]["devices"][1]["hostname"] = "armadillo-2".into();
        interactions.remove(3);
    });

    let (code, stdout, _) = tailtape(&["diff", &old, &new, "--format", "json"]);

    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (report["old"].as_str(), report["new"].as_str()),
        (Some(old.as_str()), Some(new.as_str()))
    );
    let pair = &report["differing"][0];
    assert_eq!(pair["request"], "GET /api/v2/tailnet/-/devices?fields=all");
    assert_eq!(
        pair["changes"],
        serde_json::json!([{"kind": "changed", "at": "/devices/1/hostname",
            "old": "\"armadillo\"", "new": "\"armadillo-2\""}])
    );
    assert!(
        pair["unified"]
            .as_str()
            .unwrap()
            .contains("+      \"hostname\": \"armadillo-2\",")
    );
    assert_eq!(
        report["only_old"],
        serde_json::json!([{"index": 3, "request": "GET /api/v2/device/nDoesNotExist"}])
    );
    assert_eq!(report["only_new"], serde_json::json!([]));
}

fn parse_junit(path: &Path) -> quick_junit::Report {
    quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(path).unwrap())
        .expect("valid JUnit XML")
}

#[test]
fn validate_junit_has_a_case_per_interaction_and_a_failure_per_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut devices = bundled("devices.json");
    devices["interactions"][2]["response"]["json"]["authorized"] = "yes".into();
    devices["interactions"][4]["response"]["json"]["undocumented"] = 1.into();
    let path = write(dir.path(), "devices.json", &devices);
    let junit = dir.path().join("junit.xml");

    let (code, _, _) = tailtape(&[
        "validate",
        path.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);

    assert_eq!(code, 1);
    let report = parse_junit(&junit);
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), path.to_str().unwrap());
    assert_eq!(suite.test_cases.len(), 16);
    assert_eq!(suite.failures, 1);
    let failed = &suite.test_cases[2];
    assert_eq!(
        failed.name.as_str(),
        "#2 GET /api/v2/device/nK7Pq3aCNTRL?fields=all"
    );
    match &failed.status {
        quick_junit::TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => {
            assert_eq!(message.as_ref().unwrap().as_str(), "1 error");
            assert!(
                description
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .contains("getDevice response /authorized")
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let warned = &suite.test_cases[4];
    assert!(matches!(
        warned.status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert!(
        warned
            .system_out
            .as_ref()
            .unwrap()
            .as_str()
            .contains("undocumented-field")
    );
}

/// `openapi-spec-validator` from the project's virtualenv (`scripts/test` installs it).
fn openapi_validator(file: &Path) -> std::process::Output {
    let validator = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/openapi-spec-validator");
    assert!(
        validator.exists(),
        "{} is missing: run scripts/test",
        validator.display()
    );
    Command::new(validator).arg(file).output().unwrap()
}

#[test]
fn openapi_export_passes_a_real_openapi_validator() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = tailtape(&["schemas", "openapi"]);
    assert_eq!(code, 0);
    let document: Value = serde_json::from_str(&stdout).unwrap();
    let exported = write(dir.path(), "openapi.json", &document);
    // A control: the same document with a dangling reference must be refused.
    let mut broken = document.clone();
    broken["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("common.Error");
    let broken = write(dir.path(), "broken.json", &broken);

    let valid = openapi_validator(&exported);
    let invalid = openapi_validator(&broken);

    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stdout)
    );
    assert!(!invalid.status.success());
    assert_eq!(document["openapi"], "3.1.0");
    let mut ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 91);
    let token = &document["paths"]["/oauth/token"]["post"];
    assert_eq!(token["security"], serde_json::json!([]));
    assert_eq!(
        token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/oauth.TokenRequest"
    );
    let get_device = &document["paths"]["/device/{deviceId}"]["get"];
    assert_eq!(
        get_device["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/device.Device"
    );
    assert_eq!(get_device["parameters"][1]["name"], "fields");
}
