//! The policy file: its HuJSON text is kept byte for byte (comments and all) and answered as
//! HuJSON when `Accept` asks for `application/hujson`, else as JSON (`details=true`: the text
//! base64'd, with warnings and errors); its ETag (the seed's `policyEtag`, then the SHA-256 of the
//! text) changes with the content, and a `POST` whose `If-Match` is not the current ETag (nor `ts-default`) gets
//! 412 as the API answers. A policy's `tests` run when it is set (a failing one: 400, as
//! recorded) and on `acl/validate` (failures answered 200 with `test(s) failed`, as recorded):
//! a test's `accept` and `deny` targets are checked against the `acls` rules, a rule matching
//! when its `src` covers the user (the user, `*`, `autogroup:member` or a group holding them)
//! and one of its `dst` is the target's host (or `*`) with its port (`*`, a list or a range);
//! `grants`, hosts resolved to addresses and `autogroup`s other than `member` are not
//! evaluated. `acl/preview` matches rules by their `src` in the same way.

use base64::Engine;
use serde_json::{Value, json};

use crate::body::{Body, parse_hujson};
use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::Tailnet;

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("getPolicyFile", get),
    ("setPolicyFile", set),
    ("previewRuleMatches", preview),
    ("validateAndTestPolicyFile", validate),
];

/// The policy file's current ETag, quoted: the seed's `policyEtag` until the text changes,
/// then the SHA-256 of the text.
fn etag(tailnet: &Tailnet) -> String {
    match &tailnet.policy_etag {
        Some(tag) => tag.clone(),
        None => digest(&tailnet.policy),
    }
}

fn digest(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The policy as the request's `Accept` and `details` ask for it.
fn answer(call: &Call) -> Reply {
    let text = &call.tailnet.policy;
    let tag = etag(call.tailnet);
    let hujson = call
        .header("accept")
        .is_some_and(|a| a.contains("application/hujson"));
    let reply = if call.query("details") == Some("true") {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        Reply::ok(json!({"acl": encoded, "warnings": [], "errors": null}))
    } else if hujson {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/hujson".into())],
            body: Body::Text(text.clone()),
        }
    } else {
        match parse_hujson(text) {
            Ok(value) => Reply::ok(value),
            Err(e) => Reply::error(500, format!("the stored policy file does not parse: {e}")),
        }
    };
    reply.with_header("etag", tag)
}

fn get(call: &mut Call) -> Outcome {
    Ok(answer(call))
}

/// The text of a policy in a request body, checked to parse.
fn policy_text(call: &Call) -> Result<String, Reply> {
    let text = match &call.request.body {
        Body::Text(text) => text.clone(),
        body @ (Body::Json(_) | Body::Doc(_)) => {
            serde_json::to_string_pretty(&body.json()).unwrap_or_default()
        }
        Body::Empty => return Err(Reply::error(400, "the policy file is missing")),
        Body::Binary(_) => return Err(Reply::error(400, "the policy file is not text")),
    };
    match parse_hujson(&text) {
        Ok(Value::Object(_)) => Ok(text),
        Ok(_) => Err(Reply::error(400, "the policy file must be an object")),
        Err(e) => Err(Reply::error(400, format!("parsing policy file: {e}"))),
    }
}

fn set(call: &mut Call) -> Outcome {
    if let Some(expected) = call.header("if-match")
        && expected != "ts-default"
        && expected != "\"ts-default\""
        && expected != etag(call.tailnet)
    {
        return Err(Reply::error(412, "precondition failed, invalid old hash"));
    }
    let text = policy_text(call)?;
    let failures = run_tests(&parse_hujson(&text).unwrap_or(Value::Null), None);
    if !failures.is_empty() {
        return Err(Reply::json(
            400,
            json!({"message": "test(s) failed", "data": failures}),
        ));
    }
    call.tailnet.tick();
    if text != call.tailnet.policy {
        call.tailnet.policy = text;
        call.tailnet.policy_etag = None;
    }
    Ok(answer(call))
}

/// Whether rule source `src` covers `user` under `policy`'s groups.
fn covers(policy: &Value, src: &str, user: &str) -> bool {
    match src {
        "*" | "autogroup:member" => true,
        _ if src == user => true,
        _ if src.starts_with("group:") => policy
            .pointer(&format!(
                "/groups/{}",
                src.replace('~', "~0").replace('/', "~1")
            ))
            .and_then(Value::as_array)
            .is_some_and(|members| members.iter().any(|m| m.as_str() == Some(user))),
        _ => false,
    }
}

fn preview(call: &mut Call) -> Outcome {
    let text = policy_text(call)?;
    let policy = parse_hujson(&text).unwrap_or(Value::Null);
    let kind = call.query("type").unwrap_or("user").to_string();
    let target = call.query("previewFor").unwrap_or("").to_string();
    // The 0-based line of each rule: the lines holding an "action" key, in order.
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("\"action\""))
        .map(|(i, _)| i)
        .collect();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    };
    let mut matches = Vec::new();
    for (i, rule) in policy["acls"].as_array().into_iter().flatten().enumerate() {
        let src = strings(&rule["src"]);
        let dst = strings(&rule["dst"]);
        let hit = match kind.as_str() {
            "user" => src.iter().any(|s| covers(&policy, s, &target)),
            _ => {
                let port = target.rsplit(':').next().unwrap_or("");
                dst.iter()
                    .any(|d| d.ends_with(":*") || d.rsplit(':').next() == Some(port))
            }
        };
        if hit {
            matches.push(json!({
                "users": src,
                "ports": dst,
                "lineNumber": lines.get(i).copied().unwrap_or(0),
            }));
        }
    }
    Ok(Reply::ok(
        json!({"matches": matches, "type": kind, "previewFor": target}),
    ))
}

fn validate(call: &mut Call) -> Outcome {
    // An array is a list of tests to run against the current policy; else a candidate policy
    // with its own tests.
    let failures = match &call.request.body {
        Body::Json(Value::Array(tests)) => {
            let current = parse_hujson(&call.tailnet.policy).unwrap_or(Value::Null);
            run_tests(&current, Some(tests))
        }
        _ => run_tests(
            &parse_hujson(&policy_text(call)?).unwrap_or(Value::Null),
            None,
        ),
    };
    if failures.is_empty() {
        return Ok(Reply::done());
    }
    Ok(Reply::ok(
        json!({"message": "test(s) failed", "data": failures}),
    ))
}

/// Runs `tests` (else the policy's own `tests`) against `policy`'s rules: per user with a
/// failing expectation, `{"user", "errors"}` as the API reports them.
fn run_tests(policy: &Value, tests: Option<&Vec<Value>>) -> Vec<Value> {
    let own = policy.get("tests").and_then(Value::as_array);
    let mut failures = Vec::new();
    for test in tests.or(own).into_iter().flatten() {
        let user = test.get("src").and_then(Value::as_str).unwrap_or("");
        let mut errors = Vec::new();
        for (list, want_accept) in [("accept", true), ("deny", false)] {
            for target in test
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let target = target.as_str().unwrap_or("");
                if accepts(policy, user, target) != want_accept {
                    let (want, got) = if want_accept {
                        ("Accept", "Drop")
                    } else {
                        ("Drop", "Accept")
                    };
                    errors.push(format!("address \"{target}\": want: {want}, got: {got}"));
                }
            }
        }
        if !errors.is_empty() {
            failures.push(json!({"user": user, "errors": errors}));
        }
    }
    failures
}

/// Whether a rule of `policy` accepts traffic from `user` to `target` (`host:port`).
fn accepts(policy: &Value, user: &str, target: &str) -> bool {
    let (host, port) = target.rsplit_once(':').unwrap_or((target, "*"));
    policy["acls"].as_array().into_iter().flatten().any(|rule| {
        rule["action"] == "accept"
            && rule["src"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|src| covers(policy, src, user))
            && rule["dst"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|dst| {
                    let (d_host, d_ports) = dst.rsplit_once(':').unwrap_or((dst, "*"));
                    (d_host == "*" || d_host == host) && port_in(d_ports, port)
                })
    })
}

/// Whether `port` is in a rule's ports: `*`, or a comma-separated list of ports and ranges.
fn port_in(ports: &str, port: &str) -> bool {
    let Ok(port) = port.parse::<u32>() else {
        return ports == "*" || ports == port;
    };
    ports.split(',').any(|part| match part.split_once('-') {
        _ if part == "*" => true,
        Some((low, high)) => {
            low.parse().is_ok_and(|l: u32| l <= port) && high.parse().is_ok_and(|h: u32| port <= h)
        }
        None => part.parse() == Ok(port),
    })
}
