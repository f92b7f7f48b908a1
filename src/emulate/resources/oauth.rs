//! OAuth: the token exchange (`POST /api/v2/oauth/token`, RFC 6749 client credentials, in the
//! form body or as Basic credentials) and OAuth apps. An OAuth client of the state (a key of
//! `keyType: client`) with its secret gets an access token with its scopes and `expires_in`;
//! an unknown client or a wrong secret gets the 401 `invalid_client` the recordings show. An
//! app's client secret is shown only in its create answer; a second app of the same name is
//! refused (400), as recorded.

use base64::Engine;
use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, find, find_mut, remove};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("createOAuthToken", token),
    ("listOAuthApps", list_apps),
    ("createOAuthApp", create_app),
    ("getOAuthApp", get_app),
    ("updateOAuthApp", update_app),
    ("deleteOAuthApp", delete_app),
];

/// How long an access token lives, in seconds.
const TOKEN_LIFETIME: u64 = 3600;

/// The client id and secret of a token request: form fields, else Basic credentials.
fn credentials(call: &Call) -> Option<(String, String)> {
    let form = call.form();
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    if let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) {
        return Some((id, secret));
    }
    let basic = call.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn token(call: &mut Call) -> Outcome {
    let refused = Reply::json(
        401,
        json!({"error": "invalid_client", "error_description": "unknown client"}),
    );
    let Some((id, secret)) = credentials(call) else {
        return Err(refused);
    };
    let client = call.tailnet.keys.iter().find(|k| {
        k.get("id").and_then(Value::as_str) == Some(&id)
            && k.get("keyType").and_then(Value::as_str) == Some("client")
            && !k.contains_key("revoked")
    });
    let Some(client) = client.filter(|c| c.get("key").and_then(Value::as_str) == Some(&secret))
    else {
        return Err(refused);
    };
    let scopes: Vec<&str> = client
        .get("scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let scope = scopes.join(" ");
    let token = format!("tskey-access-{id}-{}", call.tailnet.hex());
    Ok(Reply::ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": scope,
    })))
}

fn list_apps(call: &mut Call) -> Outcome {
    Ok(Reply::ok(json!({"oauthApps": call.tailnet.oauth_apps})))
}

/// The fields of an app a create or update sets.
const APP_FIELDS: &[&str] = &[
    "name",
    "description",
    "redirectURIs",
    "scopes",
    "allowedNodeAttributes",
];

fn create_app(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let tailnet = &mut *call.tailnet;
    if find(&tailnet.oauth_apps, "name", name).is_some() {
        return Err(Reply::error(
            400,
            format!("an OAuth app named {name} already exists"),
        ));
    }
    let id = tailnet.stable_id('a', 7);
    let now = tailnet.stamp();
    let mut app = Object::new();
    app.insert("id".into(), json!(id));
    for field in APP_FIELDS {
        let value = body.get(*field).cloned();
        let value = match *field {
            "redirectURIs" | "scopes" | "allowedNodeAttributes" => value.or(Some(json!([]))),
            _ => value,
        };
        if let Some(value) = value {
            app.insert((*field).into(), value);
        }
    }
    app.insert("created".into(), json!(now));
    app.insert("updated".into(), json!(now));
    tailnet.oauth_apps.push(app.clone());
    let secret = tailnet.secret("client", &id);
    app.insert("clientSecret".into(), json!(secret));
    Ok(Reply::ok(Value::Object(app)))
}

fn get_app(call: &mut Call) -> Outcome {
    find(&call.tailnet.oauth_apps, "id", call.param("appId"))
        .map(|app| Reply::ok(Value::Object(app.clone())))
        .ok_or_else(Reply::not_found)
}

fn update_app(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let id = call.param("appId").to_string();
    let now = call.tailnet.stamp();
    let app = find_mut(&mut call.tailnet.oauth_apps, "id", &id).ok_or_else(Reply::not_found)?;
    for field in APP_FIELDS {
        if let Some(value) = body.get(*field) {
            app.insert((*field).into(), value.clone());
        }
    }
    app.insert("updated".into(), json!(now));
    Ok(Reply::ok(Value::Object(app.clone())))
}

fn delete_app(call: &mut Call) -> Outcome {
    let id = call.param("appId").to_string();
    remove(&mut call.tailnet.oauth_apps, "id", &id)
        .then(Reply::done)
        .ok_or_else(Reply::not_found)
}
