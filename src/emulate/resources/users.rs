//! Users: list (`type`: `member` unless asked, `shared` or `all`; `role`), get, role, approve,
//! suspend, restore and delete. The owner's role cannot change (400) and the owner cannot be
//! suspended or deleted (403), as recorded. Deleting a user removes what hangs off them: their
//! devices (and what hangs off those) and their keys.

use serde_json::{Value, json};

use super::devices::remove_device;
use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, find, find_mut};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listUsers", list),
    ("getUser", get),
    ("updateUserRole", set_role),
    ("approveUser", approve),
    ("suspendUser", suspend),
    ("restoreUser", restore),
    ("deleteUser", delete),
];

fn text<'a>(user: &'a Object, field: &str) -> &'a str {
    user.get(field).and_then(Value::as_str).unwrap_or("")
}

fn list(call: &mut Call) -> Outcome {
    let kind = call.query("type").unwrap_or("member");
    let role = call.query("role").unwrap_or("all");
    let users: Vec<&Object> = call
        .tailnet
        .users
        .iter()
        .filter(|u| kind == "all" || text(u, "type") == kind)
        .filter(|u| role == "all" || text(u, "role") == role)
        .collect();
    Ok(Reply::ok(json!({ "users": users })))
}

fn get(call: &mut Call) -> Outcome {
    find(&call.tailnet.users, "id", call.param("userId"))
        .map(|user| Reply::ok(Value::Object(user.clone())))
        .ok_or_else(Reply::not_found)
}

/// The user of the `userId` parameter, or 404.
fn user<'t>(call: &'t mut Call) -> Result<&'t mut Object, Reply> {
    let id = call.param("userId").to_string();
    find_mut(&mut call.tailnet.users, "id", &id).ok_or_else(Reply::not_found)
}

fn set_role(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let Some(role) = body.get("role").and_then(Value::as_str) else {
        return Err(Reply::error(400, "role is required"));
    };
    let user = user(call)?;
    if text(user, "role") == "owner" {
        return Err(Reply::error(
            400,
            "the owner's role cannot be changed; transfer ownership first",
        ));
    }
    user.insert("role".into(), json!(role));
    Ok(Reply::done())
}

/// Sets a user's status; the owner refuses `refused_for_owner` with 403.
fn set_status(call: &mut Call, status: &str, refused_for_owner: Option<&str>) -> Outcome {
    let user = user(call)?;
    if let Some(message) = refused_for_owner
        && text(user, "role") == "owner"
    {
        return Err(Reply::error(403, message));
    }
    user.insert("status".into(), json!(status));
    Ok(Reply::done())
}

fn approve(call: &mut Call) -> Outcome {
    set_status(call, "active", None)
}

fn suspend(call: &mut Call) -> Outcome {
    set_status(
        call,
        "suspended",
        Some("cannot suspend the owner of the tailnet"),
    )
}

fn restore(call: &mut Call) -> Outcome {
    set_status(call, "active", None)
}

fn delete(call: &mut Call) -> Outcome {
    let user = user(call)?.clone();
    if text(&user, "role") == "owner" {
        return Err(Reply::error(403, "cannot delete the owner of the tailnet"));
    }
    let (id, login) = (text(&user, "id"), text(&user, "loginName"));
    let tailnet = &mut *call.tailnet;
    tailnet.users.retain(|u| text(u, "id") != id);
    let theirs: Vec<Object> = tailnet
        .devices
        .iter()
        .filter(|d| text(d, "user") == login)
        .cloned()
        .collect();
    for device in &theirs {
        remove_device(tailnet, device);
    }
    tailnet.keys.retain(|k| text(k, "userId") != id);
    Ok(Reply::done())
}
