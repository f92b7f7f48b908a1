//! The emulator as a server: replay's conventions (401 without credentials, the control
//! endpoints, `--enforce`), sessions each with their own tailnet, reset back to the seed, and
//! the command line (the base URL on the first line, a graceful stop, a bad seed exiting 2 with
//! its line and column).

mod emulate_support;

use emulate_support::{Emu, request, send_raw, start_showing, stop, tailtape};
use rstest::rstest;
use serde_json::json;
use tailtape::emulate::Options;

const DEVICE: &str = "/api/v2/device/nK7Pq3aCNTRL";

#[rstest]
#[case::none(None)]
#[case::empty(Some("authorization: "))]
#[case::blank(Some("authorization:    "))]
fn a_request_without_credentials_gets_401(#[case] header: Option<&str>) {
    let emu = Emu::start();
    let headers: Vec<String> = header.into_iter().map(str::to_string).collect();
    let reply = send_raw(
        emu.server.addr(),
        &request("GET", "/api/v2/tailnet/-/devices", &headers, b""),
    )
    .unwrap();
    assert_eq!(reply.status, 401);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );
}

#[test]
fn head_answers_what_get_would_without_the_body() {
    let emu = Emu::start();
    let get = emu.get(DEVICE);
    let head = emu.send("HEAD", DEVICE, &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(
        head.headers
            .contains(&format!("content-length: {}", get.body.len())),
        "{}",
        head.headers
    );
}

#[test]
fn sessions_each_change_their_own_copy_of_the_tailnet() {
    let mut emu = Emu::start();
    emu.in_session("a");
    assert_eq!(emu.delete(DEVICE).status, 200);
    assert_eq!(emu.get(DEVICE).status, 404);
    emu.in_session("b");
    assert_eq!(emu.get(DEVICE).status, 200);
    emu.session = None;
    assert_eq!(emu.get(DEVICE).status, 200);
    emu.in_session("a");
    assert_eq!(emu.get(DEVICE).status, 404);
}

#[test]
fn reset_brings_a_session_or_every_session_back_to_the_seed() {
    let mut emu = Emu::start();
    emu.in_session("a");
    emu.delete(DEVICE);
    emu.session = None;
    emu.delete(DEVICE);
    assert_eq!(emu.get(DEVICE).status, 404);

    // Resetting session a leaves the default session as it is.
    let reset_a = send_raw(
        emu.server.addr(),
        &request(
            "POST",
            "/__tailtape/reset",
            &["tailtape-session: a".into()],
            b"",
        ),
    )
    .unwrap();
    assert_eq!(reset_a.json(), json!({"status": "reset", "session": "a"}));
    assert_eq!(emu.get(DEVICE).status, 404);
    emu.in_session("a");
    assert_eq!(emu.get(DEVICE).status, 200);

    emu.session = None;
    let reset = send_raw(
        emu.server.addr(),
        &request("POST", "/__tailtape/reset", &[], b""),
    )
    .unwrap();
    assert_eq!(reset.status, 200);
    assert_eq!(emu.get(DEVICE).status, 200);
    assert_eq!(emu.server.report(None).summary.requests, 1);
}

#[test]
fn the_report_has_the_findings_on_requests_and_health_answers() {
    let emu = Emu::start();
    let bad = emu.json(
        "POST",
        &format!("{DEVICE}/authorized"),
        json!({"authorized": "yes"}),
    );
    assert_eq!(bad.status, 400, "a body that breaks its schema is refused");
    assert_eq!(bad.json()["findings"][0]["pointer"], "/authorized");
    assert_eq!(emu.get(DEVICE).json()["authorized"], false);
    let report = send_raw(
        emu.server.addr(),
        &request("GET", "/__tailtape/report", &[], b""),
    )
    .unwrap();
    let report = report.json();
    assert_eq!(report["summary"]["requests"], 2);
    assert_eq!(report["summary"]["errors"], 1);
    assert_eq!(report["findings"][0]["operation"], "authorizeDevice");
    let health = send_raw(
        emu.server.addr(),
        &request("GET", "/__tailtape/health", &[], b""),
    )
    .unwrap();
    assert_eq!(health.json(), json!({"status": "ok"}));
}

#[test]
fn a_bad_parameter_is_answered_as_it_can_be_and_with_enforce_refused_400() {
    let users = "/api/v2/tailnet/-/users?type=robots";
    let lenient = Emu::start();
    let answered = lenient.get(users);
    assert_eq!(answered.status, 200);
    assert_eq!(answered.json(), json!({"users": []}));
    assert_eq!(lenient.server.report(None).summary.errors, 1);

    let strict = Emu::with(Options { enforce: true });
    let refused = strict.get(users);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["findings"][0]["operation"], "listUsers");
}

#[test]
fn the_command_prints_the_base_url_first_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("emulate.json");
    let (running, addr, first) = start_showing(&["emulate", "--report", report.to_str().unwrap()]);
    assert!(
        first.trim_end().ends_with(&format!("http://{addr}")),
        "{first}"
    );
    let reply = send_raw(
        addr,
        &request(
            "GET",
            "/api/v2/tailnet/-/devices",
            &[emulate_support::KEY.into()],
            b"",
        ),
    )
    .unwrap();
    assert_eq!(reply.status, 200);
    let (code, stderr) = stop(running, "TERM");
    assert_eq!(code, Some(0), "{stderr}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["summary"]["requests"], 1);
}

/// A seed with what is required, and `devices` (line 7, column 14) not an array.
const MINIMAL_WITH_DEVICES_AN_OBJECT: &str = r#"{
  "name": "x",
  "now": "2026-11-23T10:00:00Z",
  "account": {"user": "u", "numericId": 1, "tailnetId": 1},
  "policy": "{}",
  "dns": {"nameservers": [], "splitDNS": {}, "searchPaths": [], "preferences": {"magicDNS": false}},
  "devices": {}
}"#;

#[rstest]
#[case::not_json("{\n  \"name\": \"x\",\n  oops\n}", "3:3")]
#[case::breaks_the_schema(MINIMAL_WITH_DEVICES_AN_OBJECT, "7:14")]
#[case::misses_a_field("{\n  \"name\": \"x\"\n}", "1:1")]
fn a_bad_seed_exits_2_naming_its_line_and_column(#[case] text: &str, #[case] place: &str) {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(&seed, text).unwrap();
    let run = tailtape(&[
        "emulate",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let expected = format!("{}:{place}:", seed.display());
    assert!(
        run.stderr.contains(&expected),
        "{expected} not in {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_seed_of_its_own_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.json");
    let mut seed: serde_json::Value =
        serde_json::from_str(tailtape::emulate::seed::EXAMPLE).unwrap();
    seed["name"] = json!("corp.example");
    seed["devices"] = json!([]);
    seed.as_object_mut().unwrap().remove("$schema");
    std::fs::write(&path, seed.to_string()).unwrap();
    let (running, addr, first) = start_showing(&["emulate", "--seed", path.to_str().unwrap()]);
    assert!(first.contains("corp.example"), "{first}");
    let key = emulate_support::KEY.to_string();
    let list = send_raw(
        addr,
        &request(
            "GET",
            "/api/v2/tailnet/corp.example/devices",
            std::slice::from_ref(&key),
            b"",
        ),
    )
    .unwrap();
    assert_eq!(list.json(), json!({"devices": []}));
    let other = send_raw(
        addr,
        &request("GET", "/api/v2/tailnet/other.example/devices", &[key], b""),
    )
    .unwrap();
    assert_eq!(other.status, 404);
    stop(running, "TERM");
}

#[test]
fn an_answer_that_breaks_the_response_schema_is_journaled_as_an_emulator_fault() {
    let mut seed: serde_json::Value =
        serde_json::from_str(tailtape::emulate::seed::EXAMPLE).unwrap();
    seed["devices"][1]["madeUp"] = json!(1);
    let seed = tailtape::emulate::seed::parse("seed.json", &seed.to_string()).unwrap();
    let contract = tailtape::schema::Contract::load(None).unwrap();
    let server = tailtape::emulate::EmulateServer::start(tailtape::emulate::Emulator::new(
        contract,
        seed,
        Options::default(),
    ))
    .unwrap();
    let reply = send_raw(
        server.addr(),
        &request("GET", DEVICE, &[emulate_support::KEY.into()], b""),
    )
    .unwrap();
    assert_eq!(reply.status, 200, "the client still gets its answer");
    let report = server.report(None);
    assert_eq!(report.summary.faults, 1);
    assert_eq!(
        report.faults[0].issue.operation.as_deref(),
        Some("getDevice")
    );
    assert_eq!(report.faults[0].issue.pointer, "/madeUp");
}

#[test]
#[should_panic(expected = "emulator answers broke the response schemas")]
fn the_tests_fail_on_any_emulator_answer_that_breaks_the_response_schemas() {
    let mut seed: serde_json::Value =
        serde_json::from_str(tailtape::emulate::seed::EXAMPLE).unwrap();
    seed["devices"][1]["madeUp"] = json!(1);
    let seed = tailtape::emulate::seed::parse("seed.json", &seed.to_string()).unwrap();
    let emulator = tailtape::emulate::Emulator::new(
        tailtape::schema::Contract::load(None).unwrap(),
        seed,
        Options::default(),
    );
    let emu = Emu {
        server: tailtape::emulate::EmulateServer::start(emulator).unwrap(),
        session: Some("s".into()),
    };
    assert_eq!(emu.get(DEVICE).status, 200);
    // Dropping `emu` checks every answer it gave, in every session.
}
