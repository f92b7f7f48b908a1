//! The policy file through the emulator: HuJSON kept byte for byte, JSON or HuJSON by `Accept`,
//! an ETag that changes with the content, a stale `If-Match` refused with 412, and preview.

mod emulate_support;

use emulate_support::{Emu, text};
use serde_json::json;

const ACL: &str = "/api/v2/tailnet/-/acl";

/// The `etag` header of an answer.
fn etag(reply: &emulate_support::Reply) -> String {
    reply
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an etag header")
        .to_string()
}

fn seed_policy() -> String {
    let seed: serde_json::Value = serde_json::from_str(tailtape::emulate::seed::EXAMPLE).unwrap();
    seed["policy"].as_str().unwrap().to_string()
}

#[test]
fn accept_hujson_answers_the_text_byte_for_byte_comments_and_all() {
    let emu = Emu::start();
    let reply = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    assert_eq!(reply.status, 200);
    assert!(reply.headers.contains("content-type: application/hujson"));
    let body = String::from_utf8(reply.body.clone()).unwrap();
    assert_eq!(body, seed_policy());
    assert!(body.contains("// Static groups of users."));
}

#[test]
fn accept_json_answers_the_policy_as_json_with_the_same_etag() {
    let emu = Emu::start();
    let hujson = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    let json = emu.send("GET", ACL, &["accept: application/json"], b"");
    assert!(json.headers.contains("content-type: application/json"));
    assert_eq!(
        json.json()["groups"]["group:admins"],
        json!(["amelie@example.com"])
    );
    assert_eq!(etag(&hujson), etag(&json));
}

#[test]
fn a_stale_if_match_is_412_and_the_current_one_replaces_the_text_and_its_etag() {
    let emu = Emu::start();
    let first = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    let old = etag(&first);
    let new_text = seed_policy().replace(
        "  \"tests\": [",
        "  // Members reach the office LAN.\n  \"tests\": [",
    );
    let stale = emu.send(
        "POST",
        ACL,
        &[
            "content-type: application/hujson",
            "if-match: \"0000000000000000000000000000000000000000000000000000000000000000\"",
        ],
        new_text.as_bytes(),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(
        stale.json(),
        json!({"message": "precondition failed, invalid old hash"})
    );

    let if_match = format!("if-match: {old}");
    let set = emu.send(
        "POST",
        ACL,
        &[
            "content-type: application/hujson",
            "accept: application/hujson",
            &if_match,
        ],
        new_text.as_bytes(),
    );
    assert_eq!(set.status, 200);
    assert_eq!(String::from_utf8(set.body.clone()).unwrap(), new_text);
    assert_ne!(etag(&set), old);

    let again = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    assert_eq!(String::from_utf8(again.body.clone()).unwrap(), new_text);
    assert_eq!(etag(&again), etag(&set));
    // The old ETag is now stale.
    let late = emu.send(
        "POST",
        ACL,
        &["content-type: application/hujson", &if_match],
        seed_policy().as_bytes(),
    );
    assert_eq!(late.status, 412);
}

#[test]
fn a_policy_that_does_not_parse_is_refused_and_the_old_one_stays() {
    let emu = Emu::start();
    let reply = emu.send(
        "POST",
        ACL,
        &["content-type: application/hujson"],
        b"{\"acls\": [",
    );
    assert_eq!(reply.status, 400);
    let again = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    assert_eq!(String::from_utf8(again.body).unwrap(), seed_policy());
}

#[test]
fn details_answers_the_text_base64d() {
    let emu = Emu::start();
    let reply = emu.get(&format!("{ACL}?details=true")).json();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text(&reply, "/acl"))
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), seed_policy());
}

#[test]
fn preview_lists_the_rules_a_user_matches_with_their_line_numbers() {
    let emu = Emu::start();
    let reply = emu.send(
        "POST",
        &format!("{ACL}/preview?type=user&previewFor=bruno%40example.com"),
        &["content-type: application/hujson"],
        seed_policy().as_bytes(),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({
            "matches": [{"users": ["autogroup:member"], "ports": ["tag:server:443"], "lineNumber": 17}],
            "type": "user",
            "previewFor": "bruno@example.com",
        })
    );
}

#[test]
fn a_policy_whose_tests_fail_is_refused_400_with_the_failures() {
    let emu = Emu::start();
    let failing = seed_policy().replace(
        "\"deny\": [\"tag:server:22\"]",
        "\"deny\": [\"tag:server:443\"]",
    );
    let reply = emu.send(
        "POST",
        ACL,
        &["content-type: application/hujson"],
        failing.as_bytes(),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"message": "test(s) failed", "data": [{
            "user": "bruno@example.com",
            "errors": ["address \"tag:server:443\": want: Drop, got: Accept"],
        }]})
    );
    let again = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    assert_eq!(String::from_utf8(again.body).unwrap(), seed_policy());
}

#[test]
fn validate_runs_tests_against_the_current_policy_or_a_candidates_own() {
    let emu = Emu::start();
    let validate = format!("{ACL}/validate");
    let tests = emu.json(
        "POST",
        &validate,
        json!([{"src": "bruno@example.com", "accept": ["office-lan:22"], "deny": ["tag:server:22"]}]),
    );
    assert_eq!(tests.status, 200);
    assert_eq!(
        tests.json(),
        json!({"message": "test(s) failed", "data": [{
            "user": "bruno@example.com",
            "errors": ["address \"office-lan:22\": want: Accept, got: Drop"],
        }]})
    );
    let with_lan = seed_policy().replace(
        "  ],\n  \"tests\"",
        "    {\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": [\"office-lan:*\"]},\n  ],\n  \"tests\"",
    );
    assert_ne!(with_lan, seed_policy());
    let candidate = emu.send(
        "POST",
        &validate,
        &["content-type: application/hujson"],
        with_lan.as_bytes(),
    );
    assert_eq!((candidate.status, candidate.json()), (200, json!({})));
}

#[test]
fn the_seeded_policy_keeps_its_recorded_etag_so_a_recorded_if_match_holds() {
    let emu = Emu::start();
    let recorded = "\"e0b2816b418b3f266309d94426ac7668ab3c1fa87798785bf82f1085cc2f6d9c\"";
    let first = emu.send("GET", ACL, &["accept: application/hujson"], b"");
    assert_eq!(etag(&first), recorded);
    let if_match = format!("if-match: {recorded}");
    let set = emu.send(
        "POST",
        ACL,
        &["content-type: application/hujson", &if_match],
        seed_policy().as_bytes(),
    );
    assert_eq!(set.status, 200);
    // The same text: the same ETag.
    assert_eq!(etag(&set), recorded);
}
