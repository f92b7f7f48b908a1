//! Device posture: a device's attributes (the `node:` ones from the seed, `custom:` ones set,
//! deleted or set in a batch, each with an optional expiry) and the posture integrations
//! (one per provider: a second gets 409, as recorded). An integration's client secret is never
//! shown.

use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, Tailnet, find, find_mut, format_time, parse_time, remove};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("getDevicePostureAttributes", attributes),
    ("setCustomDevicePostureAttributes", set_attribute),
    ("deleteCustomDevicePostureAttributes", delete_attribute),
    ("batchUpdateCustomDevicePostureAttributes", batch),
    ("getPostureIntegrations", list_integrations),
    ("createPostureIntegration", create_integration),
    ("getPostureIntegration", get_integration),
    ("updatePostureIntegration", update_integration),
    ("deletePostureIntegration", delete_integration),
];

/// The node id of a device (by node or numeric id), if it is in the tailnet.
fn node_id(tailnet: &Tailnet, id: &str) -> Option<String> {
    tailnet
        .device(id)
        .and_then(|d| d.get("nodeId"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A device's attributes entry, created empty.
fn entry<'t>(tailnet: &'t mut Tailnet, node: &str) -> &'t mut Object {
    let entry = tailnet
        .posture_attributes
        .entry(node.to_string())
        .or_default();
    for field in ["attributes", "expiries"] {
        if !entry.get(field).is_some_and(Value::is_object) {
            entry.insert(field.into(), json!({}));
        }
    }
    entry
}

fn attributes(call: &mut Call) -> Outcome {
    let node = node_id(call.tailnet, call.param("deviceId")).ok_or_else(Reply::not_found)?;
    Ok(Reply::ok(Value::Object(entry(call.tailnet, &node).clone())))
}

/// Sets (or with `None` deletes) one attribute of `node`.
fn put(tailnet: &mut Tailnet, node: &str, key: &str, update: Option<&Value>) {
    let entry = entry(tailnet, node);
    match update {
        Some(update) => {
            entry["attributes"][key] = update.get("value").cloned().unwrap_or(Value::Null);
            match update
                .get("expiry")
                .and_then(Value::as_str)
                .and_then(parse_time)
            {
                Some(expiry) => entry["expiries"][key] = json!(format_time(expiry)),
                None => {
                    entry["expiries"].as_object_mut().map(|e| e.remove(key));
                }
            }
        }
        None => {
            for field in ["attributes", "expiries"] {
                entry[field].as_object_mut().map(|m| m.remove(key));
            }
        }
    }
}

fn set_attribute(call: &mut Call) -> Outcome {
    let body = call.json()?;
    let node = node_id(call.tailnet, call.param("deviceId")).ok_or_else(Reply::not_found)?;
    let key = call.param("attributeKey").to_string();
    put(call.tailnet, &node, &key, Some(&body));
    Ok(Reply::done())
}

fn delete_attribute(call: &mut Call) -> Outcome {
    let node = node_id(call.tailnet, call.param("deviceId")).ok_or_else(Reply::not_found)?;
    let key = call.param("attributeKey").to_string();
    put(call.tailnet, &node, &key, None);
    Ok(Reply::done())
}

fn batch(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let nodes = body
        .get("nodes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Every device first, so that a batch naming an unknown one changes nothing.
    let mut resolved = Vec::new();
    for (id, updates) in nodes {
        let node = node_id(call.tailnet, &id)
            .ok_or_else(|| Reply::error(400, format!("unknown device {id}")))?;
        resolved.push((node, updates));
    }
    for (node, updates) in resolved {
        for (key, update) in updates.as_object().into_iter().flatten() {
            put(
                call.tailnet,
                &node,
                key,
                Some(update).filter(|u| !u.is_null()),
            );
        }
    }
    Ok(Reply::empty(200))
}

fn list_integrations(call: &mut Call) -> Outcome {
    Ok(Reply::ok(
        json!({"integrations": call.tailnet.posture_integrations}),
    ))
}

/// The fields of an integration a create or update sets (never `clientSecret`).
const FIELDS: &[&str] = &["provider", "cloudId", "clientId", "tenantId"];

fn status(now: &str, hosts: u64) -> Value {
    json!({
        "lastSync": now,
        "providerHostCount": hosts,
        "matchedCount": 0,
        "possibleMatchedCount": 0,
    })
}

fn create_integration(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let Some(provider) = body.get("provider").and_then(Value::as_str) else {
        return Err(Reply::error(400, "provider is required"));
    };
    let tailnet = &mut *call.tailnet;
    if find(&tailnet.posture_integrations, "provider", provider).is_some() {
        return Err(Reply::error(
            409,
            format!("an integration with provider {provider} already exists"),
        ));
    }
    let id = tailnet.stable_id('p', 12);
    let now = tailnet.stamp();
    let mut integration = Object::new();
    integration.insert("id".into(), json!(id));
    for field in FIELDS {
        if let Some(value) = body.get(*field) {
            integration.insert((*field).into(), value.clone());
        }
    }
    integration.insert("configUpdated".into(), json!(now));
    integration.insert("status".into(), status(&now, 0));
    tailnet.posture_integrations.push(integration.clone());
    Ok(Reply::ok(Value::Object(integration)))
}

fn get_integration(call: &mut Call) -> Outcome {
    find(&call.tailnet.posture_integrations, "id", call.param("id"))
        .map(|integration| Reply::ok(Value::Object(integration.clone())))
        .ok_or_else(Reply::not_found)
}

fn update_integration(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let id = call.param("id").to_string();
    let now = call.tailnet.stamp();
    let integration =
        find_mut(&mut call.tailnet.posture_integrations, "id", &id).ok_or_else(Reply::not_found)?;
    for field in FIELDS {
        if let Some(value) = body.get(*field) {
            integration.insert((*field).into(), value.clone());
        }
    }
    integration.insert("configUpdated".into(), json!(now));
    let hosts = integration
        .get("status")
        .and_then(|s| s.get("providerHostCount"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    integration.insert("status".into(), status(&now, hosts));
    Ok(Reply::ok(Value::Object(integration.clone())))
}

fn delete_integration(call: &mut Call) -> Outcome {
    let id = call.param("id").to_string();
    remove(&mut call.tailnet.posture_integrations, "id", &id)
        .then(Reply::done)
        .ok_or_else(Reply::not_found)
}
