//! The tailnet the emulator holds: one struct of every resource, in the shapes the API answers
//! with (a device is its `fields=all` object, the DNS configuration is what
//! `GET dns/configuration` returns), so that a seed reads like the API's own answers and an
//! answer is mostly a copy. A session gets its own `Clone` of it; a reset clones the seed again.
//!
//! Time is virtual: the state carries a clock (`now`, from the seed) that moves one second per
//! change, so that ids, timestamps and expiries are the same on every run.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object as the API shows it.
pub type Object = Map<String, Value>;

/// Who the API key in use belongs to: the user that creates keys, webhooks and invites.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    /// The user's id (`u…CNTRL`), one of `users`.
    pub user: String,
    /// The user's numeric id, as invites show it (`inviterId`, `sharerId`).
    pub numeric_id: u64,
    /// The tailnet's numeric id, as invites show it (`tailnetId`).
    pub tailnet_id: u64,
}

/// A device invite from another tailnet, to be accepted with `POST device-invites/-/accept`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncomingInvite {
    /// The last part of its invite URL.
    pub code: String,
    #[serde(default)]
    pub accepted: bool,
    /// What accepting it answers: the shared device, its sharer and who accepted.
    pub answer: Object,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tailnet {
    /// The tailnet's name (`example.com`); `-` in a path means this tailnet too.
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    pub name: String,
    /// The virtual clock's start.
    #[serde(with = "rfc3339")]
    pub now: DateTime<Utc>,
    pub account: Account,
    /// Devices in their `fields=all` form.
    #[serde(default)]
    pub devices: Vec<Object>,
    /// Posture attributes by node id, as `GET device/{id}/attributes` answers
    /// (`{"attributes": {...}, "expiries": {...}}`).
    #[serde(default)]
    pub posture_attributes: BTreeMap<String, Object>,
    #[serde(default)]
    pub users: Vec<Object>,
    /// Auth keys, OAuth clients and federated credentials; `key` (the secret) is kept to check
    /// the token exchange and never shown after the create answer.
    #[serde(default)]
    pub keys: Vec<Object>,
    /// The policy file's text, byte for byte.
    pub policy: String,
    /// The ETag the seeded policy file had when it was recorded, so that a recording's
    /// `If-Match` holds against the seed; once the policy changes, its SHA-256 is its ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_etag: Option<String>,
    /// As `GET dns/configuration` answers it.
    pub dns: Object,
    #[serde(default)]
    pub settings: Object,
    /// Settings the tailnet's plan does not allow turning on (400 when a PATCH does).
    #[serde(default)]
    pub unavailable_settings: Vec<String>,
    #[serde(default)]
    pub contacts: Object,
    #[serde(default)]
    pub webhooks: Vec<Object>,
    #[serde(default)]
    pub posture_integrations: Vec<Object>,
    /// Log streaming configuration by log type (`configuration`, `network`).
    #[serde(default)]
    pub log_streams: BTreeMap<String, Object>,
    /// What a configured stream's status reports, by log type (its counters: the emulator sends
    /// no logs, so they are the recorded ones); a field not given is 0, `lastActivity` the clock.
    #[serde(default)]
    pub log_stream_status: BTreeMap<String, Object>,
    /// External ids handed out for AWS log streaming.
    #[serde(default)]
    pub aws_external_ids: Vec<String>,
    /// IAM roles whose trust policy names the tailnet's external ids.
    #[serde(default)]
    pub aws_trusted_roles: Vec<String>,
    #[serde(default)]
    pub configuration_logs: Vec<Object>,
    #[serde(default)]
    pub network_logs: Vec<Object>,
    #[serde(default)]
    pub services: Vec<Object>,
    /// Per service, per node id: approved by hand.
    #[serde(default)]
    pub service_approvals: BTreeMap<String, BTreeMap<String, bool>>,
    #[serde(default)]
    pub user_invites: Vec<Object>,
    #[serde(default)]
    pub device_invites: Vec<Object>,
    #[serde(default)]
    pub incoming_device_invites: Vec<IncomingInvite>,
    #[serde(default)]
    pub oauth_apps: Vec<Object>,
    /// Ids handed out so far (see `ids.rs`).
    #[serde(default)]
    pub counter: u64,
    /// When each invite was last resent, by invite id (resending again within a minute: 429).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resent: BTreeMap<String, String>,
}

impl Tailnet {
    /// Moves the clock one second and returns the new time, for a change.
    pub fn tick(&mut self) -> DateTime<Utc> {
        self.now += chrono::Duration::seconds(1);
        self.now
    }

    /// The clock moved, as the API writes times (`2026-11-23T10:00:01Z`).
    pub fn stamp(&mut self) -> String {
        let now = self.tick();
        format_time(now)
    }

    /// Whether `tailnet` (a path parameter) names this tailnet.
    pub fn is_named(&self, tailnet: &str) -> bool {
        tailnet == "-" || tailnet == self.name
    }

    pub fn device(&self, node_id: &str) -> Option<&Object> {
        self.devices.iter().find(|d| matches_device(d, node_id))
    }

    pub fn device_mut(&mut self, node_id: &str) -> Option<&mut Object> {
        self.devices.iter_mut().find(|d| matches_device(d, node_id))
    }

    /// The tags the policy file's `tagOwners` owns (none if it does not parse).
    pub fn owned_tags(&self) -> Vec<String> {
        crate::body::parse_hujson(&self.policy)
            .ok()
            .and_then(|policy| {
                policy
                    .get("tagOwners")
                    .and_then(Value::as_object)
                    .map(|owners| owners.keys().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// The login name of the account's user.
    pub fn account_login(&self) -> String {
        find(&self.users, "id", &self.account.user)
            .and_then(|u| u.get("loginName"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
}

/// A device answers to its node id (`n…CNTRL`) and to its numeric id.
fn matches_device(device: &Object, id: &str) -> bool {
    ["nodeId", "id"]
        .iter()
        .any(|field| device.get(*field).and_then(Value::as_str) == Some(id))
}

/// The object of `list` whose string `field` is `value`.
/// The object of `list` whose string `field` is `value`. Newest first: a test mostly reads what
/// it has just created.
pub fn find<'a>(list: &'a [Object], field: &str, value: &str) -> Option<&'a Object> {
    list.iter()
        .rev()
        .find(|o| o.get(field).and_then(Value::as_str) == Some(value))
}

pub fn find_mut<'a>(list: &'a mut [Object], field: &str, value: &str) -> Option<&'a mut Object> {
    list.iter_mut()
        .rev()
        .find(|o| o.get(field).and_then(Value::as_str) == Some(value))
}

/// Removes the object of `list` whose string `field` is `value`; whether there was one.
pub fn remove(list: &mut Vec<Object>, field: &str, value: &str) -> bool {
    let before = list.len();
    list.retain(|o| o.get(field).and_then(Value::as_str) != Some(value));
    list.len() != before
}

/// A time as the API writes it: RFC 3339 in UTC, whole seconds, `Z`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an RFC 3339 time (any offset).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `DateTime<Utc>` as RFC 3339 text in seeds (chrono's own serde support is not built in).
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_time(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }
}
