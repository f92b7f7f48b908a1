//! Tailnet settings and contacts. A settings `PATCH` merges into the settings the tailnet has
//! (the seed lists them all); turning on a
//! setting the seed lists in `unavailableSettings` gets 400, as the recordings show for
//! regional routing on a plan without it. A contact's new email needs verification until its
//! verification email is resent; resending for a verified contact gets 400, as recorded.

use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("getTailnetSettings", get),
    ("updateTailnetSettings", update),
    ("getContacts", contacts),
    ("updateContact", update_contact),
    ("resendContactVerificationEmail", resend),
];

fn get(call: &mut Call) -> Outcome {
    Ok(Reply::ok(Value::Object(call.tailnet.settings.clone())))
}

/// How the API names a setting in its refusal ("regionalRoutingOn": "regional routing").
fn spoken(setting: &str) -> String {
    let base = setting.strip_suffix("On").unwrap_or(setting);
    let mut words = String::new();
    for c in base.chars() {
        if c.is_ascii_uppercase() {
            words.push(' ');
            words.push(c.to_ascii_lowercase());
        } else {
            words.push(c);
        }
    }
    words
}

fn update(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let tailnet = &mut *call.tailnet;
    if let Some(setting) = tailnet
        .unavailable_settings
        .iter()
        .find(|s| body.get(s.as_str()) == Some(&json!(true)))
    {
        return Err(Reply::error(
            400,
            format!("{} is not available on your plan", spoken(setting)),
        ));
    }
    // Only the settings the tailnet has: a name the docs do not list (a warning on the
    // request) is not kept, so the answer keeps to the schema.
    for (name, value) in body {
        if let Some(setting) = tailnet.settings.get_mut(&name) {
            *setting = value;
        }
    }
    Ok(Reply::ok(Value::Object(tailnet.settings.clone())))
}

fn contacts(call: &mut Call) -> Outcome {
    Ok(Reply::ok(Value::Object(call.tailnet.contacts.clone())))
}

fn update_contact(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let kind = call.param("contactType").to_string();
    let contact = call
        .tailnet
        .contacts
        .get_mut(&kind)
        .and_then(Value::as_object_mut)
        .ok_or_else(Reply::not_found)?;
    if let Some(email) = body.get("email")
        && contact.get("email") != Some(email)
    {
        contact.insert("email".into(), email.clone());
        contact.insert("needsVerification".into(), json!(true));
    }
    Ok(Reply::done())
}

fn resend(call: &mut Call) -> Outcome {
    let kind = call.param("contactType").to_string();
    let contact = call
        .tailnet
        .contacts
        .get(&kind)
        .ok_or_else(Reply::not_found)?;
    if contact["needsVerification"] != json!(true) {
        return Err(Reply::error(
            400,
            format!("the {kind} contact is already verified"),
        ));
    }
    Ok(Reply::done())
}
