//! Services (also under the older `vip-services` path): list, get, define or change (`PUT`; a
//! new service gets addresses when it asks for none, a change must give them, as recorded),
//! delete (its approvals go with it), its hosts and each host's approval. A service's hosts are
//! the tailnet's own devices carrying one of its tags; a host is `approved:manual` once
//! approved, else `not-approved`.

use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, Tailnet, find, find_mut, remove};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listServices", list),
    ("getService", get),
    ("updateService", put),
    ("deleteService", delete),
    ("listServiceHosts", hosts),
    ("getServiceDeviceApproval", approval),
    ("updateServiceDeviceApproval", set_approval),
];

/// The fields of a service a `PUT` sets.
const FIELDS: &[&str] = &["name", "addrs", "comment", "ports", "tags", "annotations"];

fn not_found() -> Reply {
    Reply::error(404, "service not found")
}

fn list(call: &mut Call) -> Outcome {
    Ok(Reply::ok(json!({"vipServices": call.tailnet.services})))
}

fn get(call: &mut Call) -> Outcome {
    find(&call.tailnet.services, "name", call.param("serviceName"))
        .map(|service| Reply::ok(Value::Object(service.clone())))
        .ok_or_else(not_found)
}

fn put(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let name = call.param("serviceName").to_string();
    let given = body
        .get("addrs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let tailnet = &mut *call.tailnet;
    let exists = find(&tailnet.services, "name", &name).is_some();
    if exists && !given {
        return Err(Reply::error(
            400,
            "addrs must be given when updating a service",
        ));
    }
    let mut service = Object::new();
    for field in FIELDS {
        if let Some(value) = body.get(*field) {
            service.insert((*field).into(), value.clone());
        }
    }
    service.insert("name".into(), json!(name));
    if !given {
        let n = tailnet.counter % 250 + 2;
        tailnet.counter += 1;
        service.insert(
            "addrs".into(),
            json!([
                format!("100.100.41.{n}"),
                format!("fd7a:115c:a1e0::8e01:29{n:02x}")
            ]),
        );
    }
    tailnet.tick();
    match find_mut(&mut tailnet.services, "name", &name) {
        Some(old) => *old = service.clone(),
        None => tailnet.services.push(service.clone()),
    }
    Ok(Reply::ok(Value::Object(service)))
}

fn delete(call: &mut Call) -> Outcome {
    let name = call.param("serviceName").to_string();
    if !remove(&mut call.tailnet.services, "name", &name) {
        return Err(not_found());
    }
    call.tailnet.service_approvals.remove(&name);
    Ok(Reply::done())
}

/// The node ids of the devices hosting service `service`.
fn host_ids(tailnet: &Tailnet, service: &Object) -> Vec<String> {
    let tags: Vec<&Value> = service
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    tailnet
        .devices
        .iter()
        .filter(|d| d.get("isExternal") != Some(&json!(true)))
        .filter(|d| {
            d.get("tags")
                .and_then(Value::as_array)
                .is_some_and(|own| own.iter().any(|t| tags.contains(&t)))
        })
        .filter_map(|d| d.get("nodeId").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn approved(tailnet: &Tailnet, service: &str, node: &str) -> bool {
    tailnet
        .service_approvals
        .get(service)
        .and_then(|a| a.get(node))
        .copied()
        .unwrap_or(false)
}

fn hosts(call: &mut Call) -> Outcome {
    let name = call.param("serviceName");
    let service = find(&call.tailnet.services, "name", name).ok_or_else(not_found)?;
    let hosts: Vec<Value> = host_ids(call.tailnet, service)
        .into_iter()
        .map(|node| {
            let level = match approved(call.tailnet, name, &node) {
                true => "approved:manual",
                false => "not-approved",
            };
            json!({"nodeId": node, "approvalLevel": level, "configured": "ready"})
        })
        .collect();
    Ok(Reply::ok(json!({ "hosts": hosts })))
}

/// The node id of the `deviceId` parameter, if the device is in the tailnet.
fn node(call: &Call) -> Option<String> {
    call.tailnet
        .device(call.param("deviceId"))
        .and_then(|d| d.get("nodeId"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn approval(call: &mut Call) -> Outcome {
    let name = call.param("serviceName");
    if find(&call.tailnet.services, "name", name).is_none() {
        return Err(not_found());
    }
    let node = node(call).ok_or_else(Reply::not_found)?;
    let approved = approved(call.tailnet, name, &node);
    Ok(Reply::ok(
        json!({"approved": approved, "autoApproved": false}),
    ))
}

fn set_approval(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let name = call.param("serviceName").to_string();
    if find(&call.tailnet.services, "name", &name).is_none() {
        return Err(not_found());
    }
    let node = node(call).ok_or_else(Reply::not_found)?;
    let approved = body
        .get("approved")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    call.tailnet.tick();
    call.tailnet
        .service_approvals
        .entry(name)
        .or_default()
        .insert(node, approved);
    Ok(Reply::ok(
        json!({"approved": approved, "autoApproved": false}),
    ))
}
