//! Each fault a plan can give, as a raw HTTP client on 127.0.0.1 sees it from `tailtape replay
//! --faults`: a status with Tailscale's error body and `Retry-After`, a delay, a reset
//! connection, a cut body, and `--latency` on every answer.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Reply, Running};

const DEVICES: &str = "/api/v2/tailnet/-/devices";
const SEARCH_PATHS: &str = "/api/v2/tailnet/-/dns/searchpaths";
const NAMESERVERS: &str = "/api/v2/tailnet/-/dns/nameservers";

fn plan_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// `tailtape replay` of the bundled cassettes with `args` (a plan, a latency).
fn replay(args: &[&str]) -> (Running, SocketAddr) {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    common::start(&all)
}

fn with_plan(plan: &str) -> (Running, SocketAddr, tempfile::NamedTempFile) {
    let file = plan_file(plan);
    let (running, addr) = replay(&["--faults", file.path().to_str().unwrap()]);
    (running, addr, file)
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    let auth = ["authorization: Bearer tskey-api-test".to_string()];
    common::send_raw(addr, &common::request("GET", target, &auth, b"")).unwrap()
}

fn post(addr: SocketAddr, target: &str, body: &str) -> Reply {
    common::send_raw(addr, &common::request("POST", target, &[], body.as_bytes())).unwrap()
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim())
    })
}

#[test]
fn the_first_two_get_429_with_retry_after_then_the_recorded_answer() {
    let (_server, addr, _plan) = with_plan(
        r#"{"rules": [{"operation": "listTailnetDevices", "first": 2, "status": 429, "retry_after": 1}]}"#,
    );

    for _ in 0..2 {
        let reply = get(addr, DEVICES);
        assert_eq!(reply.status, 429);
        assert_eq!(header(&reply, "retry-after"), Some("1"));
        assert_eq!(header(&reply, "tailtape-fault"), Some("1"));
        assert_eq!(
            reply.json(),
            serde_json::json!({"message": "too many requests"})
        );
    }
    let third = get(addr, DEVICES);
    assert_eq!(third.status, 200);
    assert!(third.json()["devices"].is_array());

    // The faulted requests never reached the replay: one request matched, the third.
    let report = get(addr, "/__tailtape/report").json();
    assert_eq!(report["summary"]["requests"], 1, "{report:#}");
    assert_eq!(report["fault_plan"]["rules"][0]["fired"], 2);
}

#[test]
fn outage_statuses_answer_with_the_error_body_given_or_the_reason() {
    let (_server, addr) = replay(&[]);
    for status in [500, 502, 503, 504] {
        let plan = format!(
            r#"{{"rules": [{{"operation": "listDnsSearchPaths", "first": 1, "status": {status}}},
                           {{"operation": "listDnsNameservers", "first": 1, "status": {status}, "message": "down for maintenance"}}]}}"#
        );
        assert_eq!(post(addr, "/__tailtape/faults", &plan).status, 200);

        let reply = get(addr, SEARCH_PATHS);
        assert_eq!(reply.status, status);
        let reason = hyper::StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap()
            .to_ascii_lowercase();
        assert_eq!(reply.json(), serde_json::json!({ "message": reason }));
        assert_eq!(header(&reply, "retry-after"), None);
        let given = get(addr, NAMESERVERS);
        assert_eq!(given.status, status);
        assert_eq!(given.json()["message"], "down for maintenance");
        assert_eq!(get(addr, SEARCH_PATHS).status, 200);
    }
}

#[test]
fn a_delay_holds_the_answer_then_gives_the_recorded_one() {
    let (_server, addr, _plan) = with_plan(
        r#"{"rules": [
            {"operation": "listDnsSearchPaths", "first": 1, "delay": 400},
            {"operation": "listDnsNameservers", "first": 1, "delay": {"min": 300, "max": 500}}
        ]}"#,
    );
    let timed = |target| {
        let started = Instant::now();
        let reply = get(addr, target);
        (reply, started.elapsed())
    };

    let (reply, took) = timed(SEARCH_PATHS);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({"searchPaths": []}));
    assert!(
        (Duration::from_millis(400)..Duration::from_secs(10)).contains(&took),
        "{took:?}"
    );
    let (reply, took) = timed(NAMESERVERS);
    assert_eq!(reply.status, 200);
    assert!(
        (Duration::from_millis(300)..Duration::from_secs(10)).contains(&took),
        "{took:?}"
    );
    // Only the first: the next answer does not wait.
    let (_, quick) = timed(SEARCH_PATHS);
    assert!(quick < Duration::from_millis(300), "{quick:?}");
}

#[test]
fn latency_delays_every_answer_but_not_the_control_endpoints() {
    let (_server, addr) = replay(&["--latency", "300-400"]);
    for target in [SEARCH_PATHS, DEVICES, "/api/v2/no/such/thing"] {
        let started = Instant::now();
        let reply = get(addr, target);
        let took = started.elapsed();
        assert_ne!(reply.status, 0);
        assert!(
            (Duration::from_millis(300)..Duration::from_secs(10)).contains(&took),
            "{target}: {took:?}"
        );
    }
    let started = Instant::now();
    assert_eq!(get(addr, "/__tailtape/health").status, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn a_reset_gives_the_client_a_connection_reset_and_no_answer() {
    let (_server, addr, _plan) =
        with_plan(r#"{"rules": [{"operation": "listDnsSearchPaths", "first": 1, "reset": true}]}"#);
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(&common::request(
        "GET",
        SEARCH_PATHS,
        &["authorization: Bearer x".to_string()],
        b"",
    ))
    .unwrap();
    let mut answer = Vec::new();
    let err = conn.read_to_end(&mut answer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));

    // The server goes on, and the next request gets the recorded answer.
    assert_eq!(get(addr, SEARCH_PATHS).status, 200);
    let report = get(addr, "/__tailtape/faults").json();
    assert_eq!(report["rules"][0]["fired"], 1);
    assert_eq!(
        report["rules"][0]["hits"][0]["request"],
        format!("GET {SEARCH_PATHS}")
    );
}

#[test]
fn a_truncated_body_stops_short_of_its_content_length_and_the_connection_closes() {
    let (_server, addr, _plan) = with_plan(
        r#"{"rules": [{"operation": "listTailnetDevices", "first": 1, "truncate": 40}]}"#,
    );
    let whole_after = |reply: &Reply| {
        header(reply, "content-length")
            .map(|n| n.parse::<usize>().unwrap())
            .unwrap()
    };

    let cut = get(addr, DEVICES);
    assert_eq!(cut.status, 200);
    assert_eq!(cut.body.len(), 40, "{}", String::from_utf8_lossy(&cut.body));
    assert!(whole_after(&cut) > 40);
    assert!(serde_json::from_slice::<serde_json::Value>(&cut.body).is_err());

    let whole = get(addr, DEVICES);
    assert_eq!(whole.body.len(), whole_after(&whole));
    assert_eq!(whole_after(&whole), whole_after(&cut));
    assert_eq!(&whole.body[..40], &cut.body[..]);
}

#[test]
fn a_cut_on_a_kept_alive_connection_ends_that_connection() {
    let (_server, addr, _plan) =
        with_plan(r#"{"rules": [{"operation": "listDnsNameservers", "first": 1, "truncate": 5}]}"#);
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET {NAMESERVERS} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer x\r\n\r\n\
         GET {SEARCH_PATHS} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer x\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    // One head, five bytes of its body, and nothing of the pipelined second answer.
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert!(text.ends_with("\r\n\r\n{\"dns"), "{text}");
}

#[test]
fn a_delay_lets_later_rules_see_the_request_for_a_slow_outage() {
    let (_server, addr, _plan) = with_plan(
        r#"{"rules": [
            {"operation": "listDnsSearchPaths", "first": 1, "delay": 300},
            {"operation": "listDnsSearchPaths", "first": 1, "status": 503}
        ]}"#,
    );
    let started = Instant::now();
    let reply = get(addr, SEARCH_PATHS);
    let took = started.elapsed();
    assert_eq!(reply.status, 503);
    assert!(
        (Duration::from_millis(300)..Duration::from_secs(10)).contains(&took),
        "{took:?}"
    );
    assert_eq!(header(&reply, "tailtape-fault"), Some("2"));
    let account = get(addr, "/__tailtape/faults").json();
    assert_eq!(account["summary"]["fired"], 2, "{account:#}");
}
