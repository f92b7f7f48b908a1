//! The policy file: its HuJSON text is kept byte for byte (comments and all) and answered as
//! HuJSON when `Accept` asks for `application/hujson`, else as JSON (`details=true`: the text
//! base64'd, with warnings and errors); its ETag is the SHA-256 of the text, so it changes with
//! the content, and a `POST` whose `If-Match` is not the current ETag (nor `ts-default`) gets
//! 412 as the API answers. A policy's `tests` are not run, `acl/validate` passes any policy that
//! parses, and `acl/preview` matches rules by their `src` only (see the emulator's module docs).

use base64::Engine;
use serde_json::{Value, json};

use crate::body::{Body, parse_hujson};
use crate::emulate::call::{Call, Handler, Outcome, Reply};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("getPolicyFile", get),
    ("setPolicyFile", set),
    ("previewRuleMatches", preview),
    ("validateAndTestPolicyFile", validate),
];

/// The ETag of a policy text, quoted.
pub(super) fn etag(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The policy as the request's `Accept` and `details` ask for it.
fn answer(call: &Call) -> Reply {
    let text = &call.tailnet.policy;
    let tag = etag(text);
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
        Body::Json(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
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
        && expected != etag(&call.tailnet.policy)
    {
        return Err(Reply::error(412, "precondition failed, invalid old hash"));
    }
    let text = policy_text(call)?;
    call.tailnet.tick();
    call.tailnet.policy = text;
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
    // A body that is an array is a list of tests to run against the current policy; the
    // emulator does not run tests, so both forms pass once they parse.
    if !matches!(call.request.body, Body::Json(Value::Array(_))) {
        policy_text(call)?;
    }
    Ok(Reply::done())
}
