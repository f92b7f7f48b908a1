//! Fault plans as a test suite uses them: which requests a rule picks (first N, every Kth, a
//! seeded fraction, the same run after run), plans per session, a bad plan refused with its
//! place (exit 2 at start, 400 at run time), and the account: rules that fired and rules that
//! never did (which fail `--strict` and the JUnit file), and clients that retried before
//! `Retry-After` was up.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use common::{Reply, Running};
use serde_json::Value;

const SEARCH_PATHS: &str = "/api/v2/tailnet/-/dns/searchpaths";
const NAMESERVERS: &str = "/api/v2/tailnet/-/dns/nameservers";

fn plan_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn replay(args: &[&str]) -> (Running, SocketAddr) {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    common::start(&all)
}

fn send(addr: SocketAddr, method: &str, target: &str, session: Option<&str>, body: &str) -> Reply {
    let mut headers = vec!["authorization: Bearer tskey-api-test".to_string()];
    if let Some(name) = session {
        headers.push(format!("tailtape-session: {name}"));
    }
    common::send_raw(
        addr,
        &common::request(method, target, &headers, body.as_bytes()),
    )
    .unwrap()
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    send(addr, "GET", target, None, "")
}

/// The statuses of `n` requests to `target`.
fn statuses(addr: SocketAddr, target: &str, session: Option<&str>, n: usize) -> Vec<u16> {
    (0..n)
        .map(|_| send(addr, "GET", target, session, "").status)
        .collect()
}

fn set_plan(addr: SocketAddr, session: Option<&str>, plan: &str) {
    let reply = send(addr, "POST", "/__tailtape/faults", session, plan);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[test]
fn first_n_and_every_kth_pick_their_requests() {
    let (_server, addr) = replay(&[]);
    set_plan(
        addr,
        None,
        r#"{"rules": [
            {"operation": "listDnsSearchPaths", "first": 2, "status": 503},
            {"operation": "listDnsNameservers", "every": 3, "status": 500}
        ]}"#,
    );
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 4), [503, 503, 200, 200]);
    assert_eq!(
        statuses(addr, NAMESERVERS, None, 7),
        [200, 200, 500, 200, 200, 500, 200]
    );

    // A reset rewinds the plan with the recorded answers.
    assert_eq!(
        send(addr, "POST", "/__tailtape/reset", None, "").status,
        200
    );
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 3), [503, 503, 200]);
}

#[test]
fn a_seeded_fraction_picks_the_same_requests_every_run() {
    let plan = |seed: u64| {
        format!(
            r#"{{"rules": [{{"operation": "listDnsSearchPaths", "fraction": 0.5, "seed": {seed}, "status": 502}}]}}"#
        )
    };
    let file = plan_file(&plan(42));
    let run = || {
        let (_server, addr) = replay(&["--faults", file.path().to_str().unwrap()]);
        statuses(addr, SEARCH_PATHS, None, 24)
    };
    let first = run();
    assert_eq!(first, run());
    let faulted = first.iter().filter(|&&s| s == 502).count();
    assert!((4..=20).contains(&faulted), "{first:?}");
    assert!(first.iter().all(|&s| s == 502 || s == 200), "{first:?}");

    let (_server, addr) = replay(&[]);
    set_plan(addr, None, &plan(43));
    assert_ne!(statuses(addr, SEARCH_PATHS, None, 24), first);
    // The account says which requests it hit: the how-manieth of those it selected.
    set_plan(addr, None, &plan(42));
    statuses(addr, SEARCH_PATHS, None, 24);
    let account = get(addr, "/__tailtape/faults").json();
    let hit: Vec<u64> = account["rules"][0]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["selected"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=24).filter(|&i| first[i as usize - 1] == 502).collect();
    assert_eq!(hit, expected);
}

#[test]
fn each_session_meets_its_own_plan() {
    let (_server, addr) = replay(&[]);
    let outage = r#"{"rules": [{"operation": "listDnsSearchPaths", "first": 1, "status": 503}]}"#;
    let limited = r#"{"rules": [{"operation": "listDnsSearchPaths", "every": 2, "status": 429, "retry_after": 0}]}"#;
    set_plan(addr, Some("gw0"), outage);
    set_plan(addr, Some("gw1"), limited);

    assert_eq!(
        statuses(addr, SEARCH_PATHS, Some("gw0"), 3),
        [503, 200, 200]
    );
    assert_eq!(
        statuses(addr, SEARCH_PATHS, Some("gw1"), 4),
        [200, 429, 200, 429]
    );
    // Without a plan of its own (and none for the server), a session gets the recorded answers.
    assert_eq!(statuses(addr, SEARCH_PATHS, Some("gw2"), 2), [200, 200]);
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 2), [200, 200]);

    let gw0 = send(addr, "GET", "/__tailtape/faults", Some("gw0"), "").json();
    assert_eq!(gw0["rules"][0]["fired"], 1);
    assert_eq!(gw0["rules"][0]["selected"], 3);
    let all = get(addr, "/__tailtape/report").json();
    assert_eq!(
        all["fault_plan"]["sessions"]["gw1"]["rules"][0]["fired"], 2,
        "{all:#}"
    );
    assert_eq!(all["fault_plan"]["sessions"]["gw0"]["rules"][0]["fired"], 1);

    // DELETE ends one session's plan and leaves the other's.
    assert_eq!(
        send(addr, "DELETE", "/__tailtape/faults", Some("gw1"), "").status,
        200
    );
    assert_eq!(statuses(addr, SEARCH_PATHS, Some("gw1"), 2), [200, 200]);
    let after = get(addr, "/__tailtape/faults").json();
    assert!(after["sessions"].get("gw1").is_none(), "{after:#}");
    assert!(after["sessions"].get("gw0").is_some());
}

#[test]
fn a_bad_plan_file_exits_2_naming_the_place() {
    let file = plan_file(
        "{\n  \"rules\": [\n    {\"operation\": \"listTailnetDevices\", \"first\": 2, \"status\": 429, \"retry_after\": \"1\"}\n  ]\n}\n",
    );
    let path = file.path().to_str().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let column = text.lines().nth(2).unwrap().find("\"1\"").unwrap() + 1;
    let (code, stderr) = common::run_for(&["replay", "--faults", path], Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{path}:3:{column}: /rules/0/retry_after: \"1\" is not of type \"integer\""
        )),
        "{stderr}"
    );

    let (code, stderr) = common::run_for(
        &["replay", "--faults", "/nonexistent/plan.json"],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/plan.json: "), "{stderr}");
    let (code, stderr) = common::run_for(&["replay", "--latency", "9-3"], Duration::from_secs(20));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("the minimum is above the maximum"),
        "{stderr}"
    );
}

#[test]
fn a_bad_plan_posted_gets_400_with_the_place_and_the_old_plan_stays() {
    let (_server, addr) = replay(&[]);
    set_plan(
        addr,
        None,
        r#"{"rules": [{"operation": "listDnsSearchPaths", "first": 1, "status": 503}]}"#,
    );
    let reply = send(
        addr,
        "POST",
        "/__tailtape/faults",
        None,
        "{\"rules\": [\n {\"operation\": \"listDnsSearchPaths\", \"first\": 1, \"status\": 503, \"reset\": true}]}",
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["message"],
        "tailtape: fault plan refused: <request body>:2:2: a rule says what it does with exactly \
         one of status, delay, reset, truncate; this one has status and reset"
    );
    let reply = send(addr, "POST", "/__tailtape/faults", None, "not json");
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("tailtape: fault plan refused: <request body>:1:2: not valid JSON")
    );
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 2), [503, 200]);
    assert_eq!(
        send(addr, "PUT", "/__tailtape/faults", None, "").status,
        405
    );
}

const TWO_RULES: &str = r#"{"rules": [
    {"name": "outage", "operation": "listDnsSearchPaths", "first": 1, "status": 503},
    {"name": "slow keys", "operation": "listTailnetKeys", "first": 1, "delay": 10}
]}"#;

#[test]
fn the_report_lists_rules_that_fired_and_rules_that_never_did() {
    let file = plan_file(TWO_RULES);
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let junit_path = dir.path().join("junit.xml");
    let (server, addr) = replay(&[
        "--faults",
        file.path().to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
        "--junit",
        junit_path.to_str().unwrap(),
    ]);
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 2), [503, 200]);

    let live = get(addr, "/__tailtape/report").json();
    let (code, stderr) = common::stop(server, "TERM");
    assert_eq!(code, Some(0), "without --strict: {stderr}");
    assert!(
        stderr.contains("faults: 2 rules, 1 fired, 1 never fired"),
        "{stderr}"
    );

    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    for faults in [&live["fault_plan"], &written["fault_plan"]] {
        assert_eq!(faults["summary"]["never_fired"], 1, "{faults:#}");
        let rules = faults["rules"].as_array().unwrap();
        assert_eq!(rules[0]["name"], "outage");
        assert_eq!(rules[0]["fired"], 1);
        assert_eq!(rules[0]["never_fired"], false);
        assert_eq!(
            rules[0]["hits"][0]["request"],
            format!("GET {SEARCH_PATHS}")
        );
        assert_eq!(rules[1]["name"], "slow keys");
        assert_eq!(rules[1]["fired"], 0);
        assert_eq!(rules[1]["never_fired"], true);
    }
    let junit = std::fs::read_to_string(&junit_path).unwrap();
    let suites = common::junit_suites(&junit);
    assert!(
        suites.contains(&("<faults>".to_string(), 2, 1)),
        "{suites:?}"
    );
    assert!(
        junit.contains("rule 2 (slow keys): listTailnetKeys first 1: delay 10 ms: never fired"),
        "{junit}"
    );
}

/// A cassette of one interaction: `GET` the search paths.
const ONE_SEARCH: &str = r#"{"tailtape": 1, "recorded": {"upstream": "https://api.tailscale.com"},
  "interactions": [{"request": {"method": "GET", "path": "/api/v2/tailnet/-/dns/searchpaths"},
                    "response": {"status": 200, "json": {"searchPaths": []}}}]}"#;

#[test]
fn strict_fails_on_a_rule_that_never_fired_and_passes_when_all_did() {
    let cassette = plan_file(ONE_SEARCH);
    let cassette = cassette.path().to_str().unwrap();
    let file = plan_file(TWO_RULES);
    let plan = file.path().to_str().unwrap();
    // The one interaction is used (the 503 did not use it up, even under --strict): only the
    // rule that never fired fails the run.
    let (server, addr) = replay(&["--strict", "--faults", plan, cassette]);
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 2), [503, 200]);
    let (code, stderr) = common::stop(server, "TERM");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("1 matched, 0 unmatched, 0 interactions unused"),
        "{stderr}"
    );

    let file =
        plan_file(r#"{"rules": [{"operation": "listDnsSearchPaths", "first": 1, "status": 503}]}"#);
    let plan = file.path().to_str().unwrap();
    let (server, addr) = replay(&["--strict", "--faults", plan, cassette]);
    assert_eq!(statuses(addr, SEARCH_PATHS, None, 2), [503, 200]);
    let (code, stderr) = common::stop(server, "TERM");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn retried_too_early_is_shown_for_a_hasty_client_and_not_for_a_patient_one() {
    let (_server, addr) = replay(&[]);
    let plan = r#"{"rules": [{"operation": "listDnsSearchPaths", "first": 1, "status": 429, "retry_after": 1}]}"#;
    set_plan(addr, Some("hasty"), plan);
    set_plan(addr, Some("patient"), plan);

    assert_eq!(statuses(addr, SEARCH_PATHS, Some("hasty"), 2), [429, 200]);
    assert_eq!(statuses(addr, SEARCH_PATHS, Some("patient"), 1), [429]);
    // Another operation in between is not a retry of this one.
    assert_eq!(statuses(addr, NAMESERVERS, Some("patient"), 1), [200]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(statuses(addr, SEARCH_PATHS, Some("patient"), 1), [200]);

    let report = get(addr, "/__tailtape/report").json();
    let sessions = &report["fault_plan"]["sessions"];
    let hit = |name: &str| sessions[name]["rules"][0]["hits"][0].clone();
    assert_eq!(hit("hasty")["retried_too_early"], true, "{report:#}");
    assert!(hit("hasty")["next_request_ms"].as_u64().unwrap() < 1000);
    assert_eq!(sessions["hasty"]["summary"]["retried_too_early"], 1);
    assert_eq!(hit("patient")["retried_too_early"], false);
    assert!(hit("patient")["next_request_ms"].as_u64().unwrap() >= 1000);
    assert_eq!(sessions["patient"]["summary"]["retried_too_early"], 0);
    assert_eq!(hit("patient")["retry_after_s"], 1);
}

/// One layer in front of both fakes: the same plan, the same account, from replay and emulate.
#[rstest::rstest]
fn the_readmes_plan_gives_two_429s_then_the_devices_and_its_account_says_so(
    #[values("replay", "emulate")] command: &str,
) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("## Fault plans").nth(1).unwrap();
    let plan = section
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let file = plan_file(plan);
    let (_server, addr) = common::start(&[command, "--faults", file.path().to_str().unwrap()]);

    let devices = "/api/v2/tailnet/-/devices";
    assert_eq!(statuses(addr, devices, None, 1), [429]);
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(statuses(addr, devices, None, 1), [429]);
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(statuses(addr, devices, None, 1), [200]);

    let faults = get(addr, "/__tailtape/report").json()["fault_plan"].clone();
    assert_eq!(faults["summary"]["fired"], 2, "{faults:#}");
    assert_eq!(faults["summary"]["retried_too_early"], 0);
    let hits = faults["rules"][0]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h["retried_too_early"] == false));
}
