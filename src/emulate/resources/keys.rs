//! Keys: auth keys, OAuth clients (`keyType: client`) and federated credentials, all under
//! `tailnet/{tailnet}/keys`. A create answers the secret (`key`) once; reads never show it. An
//! auth key's tags must be owned in the policy file, as a device's. Revoking keeps the key
//! readable, with `revoked` and `invalid: true`, as recorded; lists leave revoked keys out, and
//! without `all=true` show only the account's own keys (those whose `userId` is the account's
//! user, and auth keys, which carry none).
//! Only an auth key's tags are checked against `tagOwners`: the recordings show an OAuth client
//! created with a tag the policy does not own. Once the keys number twice [`REVOKED_KEPT`], the
//! oldest revoked ones are forgotten down to that many, so that a test creating and deleting
//! keys in a loop does not grow the emulator without bound.

use serde_json::{Value, json};

use super::devices::unowned;

/// How many revoked keys stay readable.
pub const REVOKED_KEPT: usize = 1000;
use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, find, find_mut, format_time, parse_time};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listTailnetKeys", list),
    ("createKey", create),
    ("getKey", get),
    ("deleteKey", delete),
    ("setKey", set),
];

/// An auth key lives 90 days unless the create says otherwise.
const DEFAULT_EXPIRY_SECONDS: i64 = 90 * 24 * 3600;
/// What the API shows as the expiry of a key that does not expire.
const NEVER: &str = "0001-01-01T00:00:00Z";

/// A key as reads show it: without its secret, `invalid` once expired.
fn shown(key: &Object, now: chrono::DateTime<chrono::Utc>) -> Value {
    let mut key = key.clone();
    key.remove("key");
    let expired = key
        .get("expires")
        .and_then(Value::as_str)
        .filter(|e| *e != NEVER)
        .and_then(parse_time)
        .is_some_and(|e| e <= now);
    if expired {
        key.insert("invalid".into(), json!(true));
    }
    Value::Object(key)
}

fn list(call: &mut Call) -> Outcome {
    // Without `all=true`, only the account's own keys (auth keys carry no owner: they are).
    let all = call.query("all") == Some("true");
    let own = &call.tailnet.account.user;
    let keys: Vec<Value> = call
        .tailnet
        .keys
        .iter()
        .filter(|k| !k.contains_key("revoked"))
        .filter(|k| all || k.get("userId").is_none_or(|u| u == own.as_str()))
        .filter_map(|k| k.get("id"))
        .map(|id| json!({ "id": id }))
        .collect();
    Ok(Reply::ok(json!({ "keys": keys })))
}

fn create(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let kind = body
        .get("keyType")
        .and_then(Value::as_str)
        .unwrap_or("auth")
        .to_string();
    let tags: Vec<String> = match kind.as_str() {
        "auth" => body
            .get("capabilities")
            .and_then(|c| c.pointer("/devices/create/tags")),
        _ => body.get("tags"),
    }
    .and_then(Value::as_array)
    .map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    })
    .unwrap_or_default();
    if kind == "auth"
        && let Some(refused) = unowned(call.tailnet, &tags)
    {
        return Err(refused);
    }
    let tailnet = &mut *call.tailnet;
    let id = tailnet.stable_id('k', 7);
    let created = tailnet.tick();
    let mut key = Object::new();
    key.insert("id".into(), json!(id));
    if kind == "auth" {
        let seconds = body
            .get("expirySeconds")
            .and_then(Value::as_i64)
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_EXPIRY_SECONDS);
        let expires = created + chrono::Duration::seconds(seconds);
        if let Some(description) = body.get("description") {
            key.insert("description".into(), description.clone());
        }
        key.insert("created".into(), json!(format_time(created)));
        key.insert("expires".into(), json!(format_time(expires)));
        key.insert(
            "capabilities".into(),
            body.get("capabilities").cloned().unwrap_or(json!({})),
        );
        key.insert("keyType".into(), json!("auth"));
        let secret = tailnet.secret("auth", &id);
        key.insert("key".into(), json!(secret));
    } else {
        key.insert("keyType".into(), json!(kind));
        if let Some(description) = body.get("description") {
            key.insert("description".into(), description.clone());
        }
        key.insert("created".into(), json!(format_time(created)));
        key.insert("expires".into(), json!(NEVER));
        for field in ["scopes", "tags"] {
            key.insert(field.into(), body.get(field).cloned().unwrap_or(json!([])));
        }
        key.insert("userId".into(), json!(tailnet.account.user));
        for field in ["audience", "issuer", "subject", "customClaimRules"] {
            if let Some(value) = body.get(field) {
                key.insert(field.into(), value.clone());
            }
        }
        if kind == "client" {
            let secret = tailnet.secret("client", &id);
            key.insert("key".into(), json!(secret));
        }
    }
    let answer = Value::Object(key.clone());
    tailnet.keys.push(key);
    Ok(Reply::ok(answer))
}

fn get(call: &mut Call) -> Outcome {
    let id = call.param("keyId");
    find(&call.tailnet.keys, "id", id)
        .map(|key| Reply::ok(shown(key, call.tailnet.now)))
        .ok_or_else(Reply::not_found)
}

fn delete(call: &mut Call) -> Outcome {
    let id = call.param("keyId").to_string();
    let now = format_time(call.tailnet.tick());
    let keys = &mut call.tailnet.keys;
    let key = find_mut(keys, "id", &id).ok_or_else(Reply::not_found)?;
    key.entry("revoked").or_insert(json!(now));
    key.insert("invalid".into(), json!(true));
    if keys.len() > 2 * REVOKED_KEPT {
        forget_oldest_revoked(keys);
    }
    Ok(Reply::empty(200))
}

/// Drops the oldest revoked keys until [`REVOKED_KEPT`] are left: run once the list has doubled,
/// so that its cost is spread over the deletes that grew it.
fn forget_oldest_revoked(keys: &mut Vec<Object>) {
    let revoked = keys.iter().filter(|k| k.contains_key("revoked")).count();
    let mut excess = revoked.saturating_sub(REVOKED_KEPT);
    keys.retain(|key| {
        let forget = excess > 0 && key.contains_key("revoked");
        excess -= usize::from(forget);
        !forget
    });
}

fn set(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let id = call.param("keyId").to_string();
    let now = format_time(call.tailnet.tick());
    let current = call.tailnet.now;
    let key = find_mut(&mut call.tailnet.keys, "id", &id).ok_or_else(Reply::not_found)?;
    for field in [
        "description",
        "scopes",
        "tags",
        "audience",
        "issuer",
        "subject",
    ] {
        if let Some(value) = body.get(field) {
            key.insert(field.into(), value.clone());
        }
    }
    key.insert("updated".into(), json!(now));
    Ok(Reply::ok(shown(key, current)))
}
