//! Webhooks: list, create (the endpoint must use https, as recorded), get, update
//! (subscriptions), delete, test (202) and rotate. The signing secret is shown only in the
//! create and rotate answers, as `secret`.

use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, find, find_mut, remove};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listWebhooks", list),
    ("createWebhook", create),
    ("getWebhook", get),
    ("updateWebhook", update),
    ("deleteWebhook", delete),
    ("testWebhook", test),
    ("rotateWebhookSecret", rotate),
];

fn list(call: &mut Call) -> Outcome {
    Ok(Reply::ok(json!({"webhooks": call.tailnet.webhooks})))
}

fn create(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let url = body
        .get("endpointUrl")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !url.starts_with("https://") {
        return Err(Reply::error(400, "endpoint URL must use https"));
    }
    let tailnet = &mut *call.tailnet;
    let id = tailnet.stable_id('w', 7);
    let now = tailnet.stamp();
    let mut hook = Object::new();
    hook.insert("endpointId".into(), json!(id));
    hook.insert("endpointUrl".into(), json!(url));
    hook.insert(
        "providerType".into(),
        body.get("providerType").cloned().unwrap_or(json!("")),
    );
    hook.insert("creatorLoginName".into(), json!(tailnet.account_login()));
    hook.insert("created".into(), json!(now));
    hook.insert("lastModified".into(), json!(now));
    hook.insert(
        "subscriptions".into(),
        body.get("subscriptions").cloned().unwrap_or(json!([])),
    );
    tailnet.webhooks.push(hook.clone());
    hook.insert(
        "secret".into(),
        json!(format!("tskey-webhook-{}", tailnet.hex())),
    );
    Ok(Reply::ok(Value::Object(hook)))
}

fn get(call: &mut Call) -> Outcome {
    find(
        &call.tailnet.webhooks,
        "endpointId",
        call.param("endpointId"),
    )
    .map(|hook| Reply::ok(Value::Object(hook.clone())))
    .ok_or_else(Reply::not_found)
}

fn update(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let id = call.param("endpointId").to_string();
    let now = call.tailnet.stamp();
    let hook =
        find_mut(&mut call.tailnet.webhooks, "endpointId", &id).ok_or_else(Reply::not_found)?;
    if let Some(subscriptions) = body.get("subscriptions") {
        hook.insert("subscriptions".into(), subscriptions.clone());
    }
    hook.insert("lastModified".into(), json!(now));
    Ok(Reply::ok(Value::Object(hook.clone())))
}

fn delete(call: &mut Call) -> Outcome {
    let id = call.param("endpointId").to_string();
    remove(&mut call.tailnet.webhooks, "endpointId", &id)
        .then(|| Reply::empty(200))
        .ok_or_else(Reply::not_found)
}

fn test(call: &mut Call) -> Outcome {
    find(
        &call.tailnet.webhooks,
        "endpointId",
        call.param("endpointId"),
    )
    .map(|_| Reply::empty(202))
    .ok_or_else(Reply::not_found)
}

fn rotate(call: &mut Call) -> Outcome {
    let id = call.param("endpointId").to_string();
    let secret = format!("tskey-webhook-{}", call.tailnet.hex());
    let mut hook = find(&call.tailnet.webhooks, "endpointId", &id)
        .ok_or_else(Reply::not_found)?
        .clone();
    hook.insert("secret".into(), json!(secret));
    Ok(Reply::ok(Value::Object(hook)))
}
