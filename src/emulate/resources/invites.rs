//! Invites: user invites (to join the tailnet) and device invites (to share a device), each
//! listed, created, read, resent (a second resend within a minute of virtual time gets 429, as
//! recorded) and deleted; and accepting a device invite from another tailnet (the seed's
//! `incomingDeviceInvites`; accepting one twice gets 400, as recorded).

use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, find, format_time, parse_time, remove};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listUserInvites", list_user_invites),
    ("createUserInvites", create_user_invites),
    ("getUserInvite", get_user_invite),
    ("deleteUserInvite", delete_user_invite),
    ("resendUserInvite", resend_user_invite),
    ("listDeviceInvites", list_device_invites),
    ("createDeviceInvites", create_device_invites),
    ("getDeviceInvite", get_device_invite),
    ("deleteDeviceInvite", delete_device_invite),
    ("resendDeviceInvite", resend_device_invite),
    ("acceptDeviceInvite", accept),
];

/// The elements of a create body: an array of invite requests.
fn requests(call: &Call) -> Result<Vec<Object>, Reply> {
    match call.json()? {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|i| i.as_object().cloned())
            .collect()),
        _ => Err(Reply::error(400, "the request body must be an array")),
    }
}

/// Resending: 429 within a minute of the last resend.
fn resend(call: &mut Call, exists: bool, id: &str) -> Outcome {
    if !exists {
        return Err(Reply::not_found());
    }
    let now = call.tailnet.now;
    let recent = call
        .tailnet
        .resent
        .get(id)
        .and_then(|t| parse_time(t))
        .is_some_and(|last| now - last < chrono::Duration::seconds(60));
    if recent {
        return Err(Reply::error(
            429,
            "an invite email can be resent once a minute",
        ));
    }
    let stamp = call.tailnet.stamp();
    call.tailnet.resent.insert(id.to_string(), stamp);
    Ok(Reply::done())
}

fn list_user_invites(call: &mut Call) -> Outcome {
    Ok(Reply::ok(Value::Array(
        call.tailnet
            .user_invites
            .iter()
            .cloned()
            .map(Value::Object)
            .collect(),
    )))
}

fn create_user_invites(call: &mut Call) -> Outcome {
    let asked = requests(call)?;
    let tailnet = &mut *call.tailnet;
    let mut created = Vec::new();
    for request in asked {
        let id = tailnet.numeric_id(29_000);
        let now = format_time(tailnet.tick());
        let code = tailnet.hex()[..12].to_string();
        let mut invite = Object::new();
        invite.insert("id".into(), json!(id));
        invite.insert(
            "role".into(),
            request.get("role").cloned().unwrap_or(json!("member")),
        );
        invite.insert("tailnetId".into(), json!(tailnet.account.tailnet_id));
        invite.insert("inviterId".into(), json!(tailnet.account.numeric_id));
        if let Some(email) = request.get("email") {
            invite.insert("email".into(), email.clone());
            invite.insert("lastEmailSentAt".into(), json!(now));
        }
        invite.insert(
            "inviteUrl".into(),
            json!(format!("https://login.tailscale.com/uinv/{code}")),
        );
        tailnet.user_invites.push(invite.clone());
        created.push(Value::Object(invite));
    }
    Ok(Reply::ok(Value::Array(created)))
}

fn get_user_invite(call: &mut Call) -> Outcome {
    find(&call.tailnet.user_invites, "id", call.param("userInviteId"))
        .map(|invite| Reply::ok(Value::Object(invite.clone())))
        .ok_or_else(Reply::not_found)
}

fn delete_user_invite(call: &mut Call) -> Outcome {
    let id = call.param("userInviteId").to_string();
    remove(&mut call.tailnet.user_invites, "id", &id)
        .then(Reply::done)
        .ok_or_else(Reply::not_found)
}

fn resend_user_invite(call: &mut Call) -> Outcome {
    let id = call.param("userInviteId").to_string();
    let exists = find(&call.tailnet.user_invites, "id", &id).is_some();
    resend(call, exists, &id)
}

/// The numeric id of the `deviceId` parameter's device, or 404.
fn device_number(call: &Call) -> Result<u64, Reply> {
    call.tailnet
        .device(call.param("deviceId"))
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .ok_or_else(Reply::not_found)
}

fn list_device_invites(call: &mut Call) -> Outcome {
    let number = device_number(call)?;
    let invites: Vec<Value> = call
        .tailnet
        .device_invites
        .iter()
        .filter(|i| i.get("deviceId").and_then(Value::as_u64) == Some(number))
        .cloned()
        .map(Value::Object)
        .collect();
    Ok(Reply::ok(Value::Array(invites)))
}

fn create_device_invites(call: &mut Call) -> Outcome {
    let number = device_number(call)?;
    let asked = requests(call)?;
    let tailnet = &mut *call.tailnet;
    let mut created = Vec::new();
    for request in asked {
        let id = tailnet.numeric_id(12_000);
        let now = format_time(tailnet.tick());
        let code = tailnet.hex()[..9].to_string();
        let flag = |name: &str| request.get(name).cloned().unwrap_or(json!(false));
        let mut invite = Object::new();
        invite.insert("id".into(), json!(id));
        invite.insert("created".into(), json!(now));
        invite.insert("tailnetId".into(), json!(tailnet.account.tailnet_id));
        invite.insert("deviceId".into(), json!(number));
        invite.insert("sharerId".into(), json!(tailnet.account.numeric_id));
        invite.insert("multiUse".into(), flag("multiUse"));
        invite.insert("allowExitNode".into(), flag("allowExitNode"));
        if let Some(email) = request.get("email") {
            invite.insert("email".into(), email.clone());
            invite.insert("lastEmailSentAt".into(), json!(now));
        }
        invite.insert(
            "inviteUrl".into(),
            json!(format!("https://login.tailscale.com/admin/invite/{code}")),
        );
        invite.insert("accepted".into(), json!(false));
        tailnet.device_invites.push(invite.clone());
        created.push(Value::Object(invite));
    }
    Ok(Reply::ok(Value::Array(created)))
}

fn get_device_invite(call: &mut Call) -> Outcome {
    find(
        &call.tailnet.device_invites,
        "id",
        call.param("deviceInviteId"),
    )
    .map(|invite| Reply::ok(Value::Object(invite.clone())))
    .ok_or_else(Reply::not_found)
}

fn delete_device_invite(call: &mut Call) -> Outcome {
    let id = call.param("deviceInviteId").to_string();
    remove(&mut call.tailnet.device_invites, "id", &id)
        .then(Reply::done)
        .ok_or_else(Reply::not_found)
}

fn resend_device_invite(call: &mut Call) -> Outcome {
    let id = call.param("deviceInviteId").to_string();
    let exists = find(&call.tailnet.device_invites, "id", &id).is_some();
    resend(call, exists, &id)
}

fn accept(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let given = body.get("invite").and_then(Value::as_str).unwrap_or("");
    // An invite is named by its URL or by the URL's last part.
    let code = given.rsplit('/').next().unwrap_or(given).to_string();
    let invite = call
        .tailnet
        .incoming_device_invites
        .iter_mut()
        .find(|i| i.code == code)
        .ok_or_else(|| Reply::error(400, "invite not found"))?;
    if invite.accepted {
        return Err(Reply::error(400, "invite already accepted"));
    }
    invite.accepted = true;
    Ok(Reply::ok(Value::Object(invite.answer.clone())))
}
