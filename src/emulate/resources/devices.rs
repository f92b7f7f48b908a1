//! Devices: list (`fields=default|all`), get, delete (a shared-in device: 501, as documented),
//! authorize, name, tags (each must be owned in the policy file's `tagOwners`, else 400 as the
//! API answers), key expiry, expire, routes (enabled ⊆ advertised) and IP. Deleting a device
//! removes what hangs off it: its posture attributes, its share invites and its service
//! approvals.
//!
//! The list takes the documented `<field>=<value>` filters: exact matches on top-level
//! properties, ANDed; a list property must hold every value given for it (`tags=a&tags=b`); a
//! property the device lacks does not match. Filters on object properties
//! (`clientConnectivity`), which the docs call unsupported, are ignored rather than refused, as
//! the docs do not say the API refuses them.

use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, Tailnet, format_time};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listTailnetDevices", list),
    ("getDevice", get),
    ("deleteDevice", delete),
    ("expireDeviceKey", expire),
    ("listDeviceRoutes", routes),
    ("setDeviceRoutes", set_routes),
    ("authorizeDevice", authorize),
    ("setDeviceTags", set_tags),
    ("updateDeviceKey", update_key),
    ("setDeviceIp", set_ip),
    ("setDeviceName", set_name),
];

/// Fields only `fields=all` shows.
const ALL_ONLY: &[&str] = &[
    "enabledRoutes",
    "advertisedRoutes",
    "clientConnectivity",
    "postureIdentity",
];

/// A device as `fields` asks for it (`default` unless `all`).
fn shown(device: &Object, fields: Option<&str>) -> Value {
    let all = fields == Some("all");
    // Only what is shown is copied (the `fields=all` members are the larger part of a device).
    device
        .iter()
        .filter(|(name, _)| all || !ALL_ONLY.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect::<Object>()
        .into()
}

fn list(call: &mut Call) -> Outcome {
    let fields = call.query("fields");
    let filters: Vec<(&str, &str)> = call
        .query
        .iter()
        .filter(|(name, _)| name != "fields")
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let devices: Vec<Value> = call
        .tailnet
        .devices
        .iter()
        .filter(|d| filters.iter().all(|(name, value)| matches(d, name, value)))
        .map(|d| shown(d, fields))
        .collect();
    Ok(Reply::ok(json!({ "devices": devices })))
}

/// Whether `device` passes the filter `name=value` (see the module docs).
fn matches(device: &Object, name: &str, value: &str) -> bool {
    // A number or a boolean matches as it is written in JSON.
    let same = |property: &Value| match property {
        Value::String(s) => s == value,
        other => value == serde_json::to_string(other).unwrap_or_default(),
    };
    match device.get(name) {
        None => false,
        Some(Value::Array(items)) => items.iter().any(same),
        Some(Value::Object(_)) => true,
        Some(property) => same(property),
    }
}

/// The device of the `deviceId` parameter, or 404.
pub(super) fn device<'t>(call: &'t mut Call) -> Result<&'t mut Object, Reply> {
    let id = call.param("deviceId").to_string();
    call.tailnet.device_mut(&id).ok_or_else(Reply::not_found)
}

fn get(call: &mut Call) -> Outcome {
    let fields = call.query("fields").map(str::to_string);
    device(call).map(|d| Reply::ok(shown(d, fields.as_deref())))
}

fn delete(call: &mut Call) -> Outcome {
    let device = device(call)?;
    if device.get("isExternal") == Some(&Value::Bool(true)) {
        return Err(Reply::error(
            501,
            "cannot delete devices outside of your tailnet",
        ));
    }
    let device = device.clone();
    remove_device(call.tailnet, &device);
    Ok(Reply::empty(200))
}

/// Removes a device and what hangs off it.
pub(super) fn remove_device(tailnet: &mut Tailnet, device: &Object) {
    let text = |field| device.get(field).and_then(Value::as_str).unwrap_or("");
    let (node_id, id) = (text("nodeId").to_string(), text("id").to_string());
    tailnet
        .devices
        .retain(|d| d.get("nodeId").and_then(Value::as_str) != Some(&node_id));
    tailnet.posture_attributes.remove(&node_id);
    tailnet
        .device_invites
        .retain(|i| i.get("deviceId").map(numeric) != Some(id.clone()));
    for approvals in tailnet.service_approvals.values_mut() {
        approvals.remove(&node_id);
    }
}

/// A JSON number or string as text (`deviceId` is a number in invites).
fn numeric(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn expire(call: &mut Call) -> Outcome {
    let now = format_time(call.tailnet.tick());
    device(call)?.insert("expires".into(), now.into());
    Ok(Reply::empty(200))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn routes_of(device: &Object) -> Value {
    json!({
        "advertisedRoutes": device.get("advertisedRoutes").cloned().unwrap_or(json!([])),
        "enabledRoutes": device.get("enabledRoutes").cloned().unwrap_or(json!([])),
    })
}

fn routes(call: &mut Call) -> Outcome {
    device(call).map(|d| Reply::ok(routes_of(d)))
}

fn set_routes(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let asked = strings(body.get("routes"));
    let device = device(call)?;
    let advertised = strings(device.get("advertisedRoutes"));
    let enabled: Vec<String> = asked
        .into_iter()
        .filter(|r| advertised.contains(r))
        .collect();
    device.insert("enabledRoutes".into(), json!(enabled));
    Ok(Reply::ok(routes_of(device)))
}

fn authorize(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let authorized = body.get("authorized").and_then(Value::as_bool);
    let device = device(call)?;
    device.insert("authorized".into(), json!(authorized.unwrap_or(true)));
    Ok(Reply::done())
}

/// The tags in `tags` the policy file does not own, as the 400 the API answers (`None`: all
/// owned).
pub(super) fn unowned(tailnet: &Tailnet, tags: &[String]) -> Option<Reply> {
    if tags.is_empty() {
        return None;
    }
    let owned = tailnet.owned_tags();
    let bad: Vec<&str> = tags
        .iter()
        .filter(|t| !owned.contains(t))
        .map(String::as_str)
        .collect();
    (!bad.is_empty()).then(|| {
        Reply::error(
            400,
            format!(
                "requested tags [{}] are invalid or not permitted",
                bad.join(" ")
            ),
        )
    })
}

fn set_tags(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let tags = strings(body.get("tags"));
    if let Some(refused) = unowned(call.tailnet, &tags) {
        return Err(refused);
    }
    let device = device(call)?;
    if tags.is_empty() {
        device.remove("tags");
    } else {
        device.insert("tags".into(), json!(tags));
    }
    Ok(Reply::done())
}

fn update_key(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let disabled = body.get("keyExpiryDisabled").and_then(Value::as_bool);
    let device = device(call)?;
    device.insert("keyExpiryDisabled".into(), json!(disabled.unwrap_or(false)));
    Ok(Reply::done())
}

fn set_ip(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let device = device(call)?;
    // The docs list no 400: a body without an address changes nothing.
    let Some(ipv4) = body.get("ipv4").and_then(Value::as_str) else {
        return Ok(Reply::done());
    };
    let mut addresses = strings(device.get("addresses"));
    match addresses.iter_mut().find(|a| !a.contains(':')) {
        Some(old) => *old = ipv4.to_string(),
        None => addresses.insert(0, ipv4.to_string()),
    }
    device.insert("addresses".into(), json!(addresses));
    Ok(Reply::done())
}

fn set_name(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let device = device(call)?;
    let old = device.get("name").and_then(Value::as_str).unwrap_or("");
    let host = match name {
        "" => device
            .get("hostname")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        name => name.to_string(),
    };
    let full = match old.split_once('.') {
        Some((_, domain)) => format!("{host}.{domain}"),
        None => host,
    };
    device.insert("name".into(), json!(full));
    Ok(Reply::done())
}
