//! DNS: nameservers, preferences (MagicDNS needs a nameserver, as recorded), search paths, split
//! DNS (`PATCH` merges and a `null` deletes a domain, `PUT` replaces) and the whole
//! configuration. The state keeps the configuration's shape (nameservers and split-DNS
//! resolvers as `{"address", "useWithExitNode"}`); the older endpoints show addresses only.

use serde_json::{Map, Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listDnsNameservers", nameservers),
    ("setDnsNameservers", set_nameservers),
    ("getDnsPreferences", preferences),
    ("setDnsPreferences", set_preferences),
    ("listDnsSearchPaths", search_paths),
    ("setDnsSearchPaths", set_search_paths),
    ("getSplitDns", split_dns),
    ("updateSplitDns", update_split_dns),
    ("setSplitDns", set_split_dns),
    ("getDnsConfiguration", configuration),
    ("setDnsConfiguration", set_configuration),
];

/// What a configuration field must be.
type Shape = fn(&Value) -> bool;

/// Resolvers as addresses.
fn addresses(resolvers: &Value) -> Vec<Value> {
    resolvers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("address").cloned())
        .collect()
}

/// Addresses as resolvers: global nameservers are not used with an exit node, split-DNS
/// resolvers are (as recorded: a domain set through `dns/split-dns` reads back with
/// `useWithExitNode: true` in the configuration).
fn resolvers(addresses: &Value, use_with_exit_node: bool) -> Value {
    Value::Array(
        addresses
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| json!({"address": a, "useWithExitNode": use_with_exit_node}))
            .collect(),
    )
}

fn nameservers(call: &mut Call) -> Outcome {
    Ok(Reply::ok(
        json!({"dns": addresses(&call.tailnet.dns["nameservers"])}),
    ))
}

fn set_nameservers(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let dns = body.get("dns").cloned().unwrap_or(json!([]));
    let config = &mut call.tailnet.dns;
    config.insert("nameservers".into(), resolvers(&dns, false));
    // Without a nameserver, MagicDNS goes off (as recorded).
    if dns.as_array().is_none_or(Vec::is_empty) {
        config["preferences"]["magicDNS"] = json!(false);
    }
    let magic = config["preferences"]["magicDNS"].clone();
    Ok(Reply::ok(json!({"dns": dns, "magicDNS": magic})))
}

fn preferences(call: &mut Call) -> Outcome {
    Ok(Reply::ok(
        json!({"magicDNS": call.tailnet.dns["preferences"]["magicDNS"]}),
    ))
}

fn set_preferences(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let magic = body
        .get("magicDNS")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let config = &mut call.tailnet.dns;
    if magic && config["nameservers"].as_array().is_none_or(Vec::is_empty) {
        return Err(Reply::error(
            400,
            "need at least one nameserver to enable MagicDNS",
        ));
    }
    config["preferences"]["magicDNS"] = json!(magic);
    Ok(Reply::ok(json!({"magicDNS": magic})))
}

fn search_paths(call: &mut Call) -> Outcome {
    Ok(Reply::ok(
        json!({"searchPaths": call.tailnet.dns["searchPaths"]}),
    ))
}

fn set_search_paths(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let paths = body.get("searchPaths").cloned().unwrap_or(json!([]));
    call.tailnet.dns.insert("searchPaths".into(), paths.clone());
    Ok(Reply::ok(json!({"searchPaths": paths})))
}

/// Split DNS as `GET dns/split-dns` shows it: domain to addresses.
fn split_view(call: &Call) -> Value {
    let map: Map<String, Value> = call.tailnet.dns["splitDNS"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(domain, rs)| (domain.clone(), Value::Array(addresses(rs))))
        .collect();
    Value::Object(map)
}

fn split_dns(call: &mut Call) -> Outcome {
    Ok(Reply::ok(split_view(call)))
}

/// Applies a split-DNS body: each domain set to its addresses, or removed by `null`.
fn apply_split(call: &mut Call, replace: bool) -> Outcome {
    let body = call.object()?;
    let config = &mut call.tailnet.dns;
    if replace || !config["splitDNS"].is_object() {
        config.insert("splitDNS".into(), json!({}));
    }
    let split = config["splitDNS"].as_object_mut().expect("set above");
    for (domain, value) in body {
        if value.is_null() {
            split.remove(&domain);
        } else {
            split.insert(domain, resolvers(&value, true));
        }
    }
    Ok(Reply::ok(split_view(call)))
}

fn update_split_dns(call: &mut Call) -> Outcome {
    apply_split(call, false)
}

fn set_split_dns(call: &mut Call) -> Outcome {
    apply_split(call, true)
}

fn configuration(call: &mut Call) -> Outcome {
    Ok(Reply::ok(Value::Object(call.tailnet.dns.clone())))
}

fn set_configuration(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let config = &mut call.tailnet.dns;
    // Checked before anything changes, so the configuration keeps its shape.
    let shapes: [(&str, Shape); 4] = [
        ("nameservers", Value::is_array),
        ("splitDNS", Value::is_object),
        ("searchPaths", Value::is_array),
        ("preferences", Value::is_object),
    ];
    for (field, shape) in shapes {
        if body.get(field).is_some_and(|v| !shape(v)) {
            return Err(Reply::error(400, format!("{field} has the wrong type")));
        }
    }
    for (field, _) in shapes {
        if let Some(value) = body.get(field) {
            config.insert(field.into(), value.clone());
        }
    }
    Ok(Reply::ok(Value::Object(config.clone())))
}
