//! Finds the values that identify a tailnet in an exchange, from the Tailscale API's field
//! names and path parameters, and gives each its pseudonym (`forms.rs`) before anything is
//! replaced, so that a value is replaced wherever it appears, whichever place showed it first.
//!
//! Learned: the tailnet (`/tailnet/{tailnet}/`, `tailnet` fields, `recorded.tailnet`); every
//! email address in any string; display names; hostnames and device names, and the machine and
//! tailnet labels of MagicDNS names (`*.ts.net` in any string); ids (path parameters such as
//! `{deviceId}`, and `id`, `nodeId`, `userId`, ... fields); node, machine, disco and tailnet
//! lock keys; posture serial numbers; the hosts of endpoint URLs; profile picture URLs; DNS
//! search paths and split DNS domains (not public resolvers or public suffixes such as
//! `ts.net`). Addresses are not learned here: `addresses.rs` maps them wherever they are found.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::forms::pseudonym;
use super::map::{Kind, Map};
use super::replace::{base64_text, escaped_runs};
use super::vocabulary::is_api_word;
use crate::body::Body;
use crate::cassette::{Interaction, Recorded, parse_query};
use crate::routes::{Lookup, OperationTable};

/// Fields whose string value is an id.
const ID_FIELDS: &[&str] = &[
    "id",
    "nodeId",
    "userId",
    "keyId",
    "deviceId",
    "endpointId",
    "clientId",
    "tenantId",
    "inviteId",
];
/// Path parameters that are ids.
const ID_PARAMS: &[&str] = &[
    "deviceId",
    "userId",
    "keyId",
    "endpointId",
    "id",
    "deviceInviteId",
    "userInviteId",
    "appId",
];
const KEY_FIELDS: &[&str] = &["nodeKey", "machineKey", "discoKey", "tailnetLockKey"];
const URL_FIELDS: &[&str] = &["endpointUrl", "url"];
const PICTURE_FIELDS: &[&str] = &["profilePicURL", "profilePicUrl"];
/// Names a search path or split DNS domain may be that name no tailnet: public resolvers and
/// public suffixes of two labels (one label is never learned).
const PUBLIC_NAMES: &[&str] = &[
    "ts.net",
    "dns.google",
    "one.one.one.one",
    "cloudflare-dns.com",
    "dns.quad9.net",
    "dns.nextdns.io",
    "dns.adguard.com",
    "doh.opendns.com",
    "co.uk",
    "org.uk",
    "com.au",
    "co.jp",
    "co.nz",
    "com.br",
    "co.in",
];
/// Shorter values are not learned: they would be found inside too many unrelated words.
const MIN_LEN: usize = 3;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*").expect("valid")
});
static MAGIC_DNS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b([a-z0-9][a-z0-9-]*)\.)?\b([a-z0-9][a-z0-9-]*)\.ts\.net\b")
        .expect("valid")
});

/// Adds to `map` what exchanges show; `table` finds the path parameters.
pub struct Learner<'a> {
    pub map: &'a mut Map,
    pub table: &'a OperationTable,
}

impl Learner<'_> {
    fn add(&mut self, kind: Kind, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_LEN
            || value == "<redacted>"
            || value.starts_with("<redacted-")
            || is_api_word(value)
        {
            return;
        }
        // Emails and domains are one value whatever their case.
        let value = if matches!(kind, Kind::Email | Kind::Domain) {
            value.to_ascii_lowercase()
        } else {
            value.to_string()
        };
        pseudonym(self.map, kind, &value);
    }

    /// A tailnet name: an email address, a domain, or a plain name.
    fn tailnet(&mut self, name: &str) {
        if name == "-" {
            return;
        }
        let kind = if EMAIL.is_match(name) {
            Kind::Email
        } else if name.contains('.') {
            Kind::Domain
        } else {
            Kind::Tailnet
        };
        self.add(kind, name);
    }

    pub fn recorded(&mut self, recorded: &Recorded) {
        if let Some(Value::String(tailnet)) = recorded.extra.get("tailnet") {
            self.tailnet(tailnet);
        }
    }

    pub fn interaction(&mut self, interaction: &Interaction) {
        let request = &interaction.request;
        if let Lookup::Found { params, .. } = self.table.lookup(&request.method, &request.path) {
            for (name, value) in params {
                if name == "tailnet" {
                    self.tailnet(&value);
                } else if ID_PARAMS.contains(&name.as_str()) {
                    self.add(Kind::Id, &value);
                }
            }
        }
        self.text(&percent_encoding::percent_decode_str(&request.path).decode_utf8_lossy());
        for (_, value) in request.query_pairs() {
            self.text(&value);
        }
        for (headers, body) in [
            (&request.headers, &request.body),
            (&interaction.response.headers, &interaction.response.body),
        ] {
            for value in headers.values() {
                self.text(value);
            }
            let split_dns = request.path.ends_with("/dns/split-dns");
            match body {
                Body::Json(value) => self.body(value, split_dns),
                Body::Doc(doc) => self.body(&doc.root().to_value(), split_dns),
                Body::Text(text) => {
                    self.text(text);
                    for (_, value) in parse_query(text) {
                        self.text(&value);
                    }
                }
                Body::Binary(_) | Body::Empty => {}
            }
        }
    }

    /// A JSON body; `split_dns` when its keys are split DNS domains.
    fn body(&mut self, value: &Value, split_dns: bool) {
        if split_dns {
            self.domains_keyed(value);
        }
        self.json(value, None, None);
    }

    /// The keys of a split DNS object, as domains.
    fn domains_keyed(&mut self, value: &Value) {
        if let Value::Object(members) = value {
            for key in members.keys() {
                self.domain(key);
            }
        }
    }

    /// A DNS search path or split DNS domain, unless it names no tailnet (a public resolver or
    /// suffix, a reverse zone, a single label, `*.ts.net` whose labels are learned as MagicDNS
    /// names) or is a subdomain of a domain already known (replaced with it).
    fn domain(&mut self, name: &str) {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        let public = !name.contains('.')
            || PUBLIC_NAMES.contains(&name.as_str())
            || name.ends_with(".ts.net")
            || name.ends_with(".arpa")
            || name.parse::<std::net::IpAddr>().is_ok();
        let known = name.match_indices('.').any(|(i, _)| {
            self.map
                .get(&name[i + 1..])
                .is_some_and(|e| e.kind == Kind::Domain)
        });
        if !public && !known {
            self.add(Kind::Domain, &name);
        }
    }

    /// What any string shows, and the decoded reading of its escaped runs.
    fn text(&mut self, text: &str) {
        self.shown(text);
        for (_, decoded) in escaped_runs(text) {
            self.shown(&decoded);
        }
    }

    /// What a string shows as written: email addresses and MagicDNS names.
    fn shown(&mut self, text: &str) {
        let emails: Vec<String> = EMAIL
            .find_iter(text)
            .map(|m| m.as_str().to_string())
            .collect();
        for email in emails {
            if email
                .rsplit_once('@')
                .is_some_and(|(local, _)| !local.is_empty())
            {
                self.add(Kind::Email, email.trim_end_matches('.'));
            }
        }
        let names: Vec<(Option<String>, String)> = MAGIC_DNS
            .captures_iter(text)
            .map(|c| (c.get(1).map(|m| m.as_str().to_string()), c[2].to_string()))
            .collect();
        for (machine, tailnet) in names {
            if let Some(machine) = machine {
                self.add(Kind::Host, &machine);
            }
            self.add(Kind::MagicDns, &tailnet);
        }
    }

    /// A JSON value; `field` is the name it sits under, `object` the object holding it.
    fn json(
        &mut self,
        value: &Value,
        field: Option<&str>,
        object: Option<&serde_json::Map<String, Value>>,
    ) {
        match value {
            Value::Object(members) => {
                if field == Some("splitDNS") {
                    self.domains_keyed(value);
                }
                for (name, member) in members {
                    if name.contains('@') || name.contains(".ts.net") {
                        self.text(name);
                    }
                    self.json(member, Some(name), Some(members));
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.json(item, field, object)),
            Value::String(text) => {
                self.text(text);
                if let Some(decoded) = base64_text(text) {
                    self.text(&decoded);
                }
                if let Some(field) = field {
                    self.field(field, text, object);
                }
            }
            Value::Number(number) if field.is_some_and(is_number_id_field) => {
                self.add(Kind::Id, &number.to_string());
            }
            _ => {}
        }
    }

    fn field(&mut self, field: &str, text: &str, object: Option<&serde_json::Map<String, Value>>) {
        let is_device =
            object.is_some_and(|o| o.contains_key("nodeId") || o.contains_key("hostname"));
        match field {
            "tailnet" | "tailnetId" => self.tailnet(text),
            "displayName" => self.add(Kind::Name, text),
            "hostname" => self.add(Kind::Host, text),
            "name" if is_device && !text.contains('.') => self.add(Kind::Host, text),
            "serialNumber" | "serialNumbers" => self.add(Kind::Serial, text),
            "searchPaths" => self.domain(text),
            _ if is_id_field(field) && looks_like_id(text) => self.add(Kind::Id, text),
            _ if KEY_FIELDS.contains(&field) => self.add(Kind::Key, text),
            _ if PICTURE_FIELDS.contains(&field) => self.add(Kind::Url, text),
            _ if URL_FIELDS.contains(&field) => {
                if let Some(host) = url_host(text) {
                    self.add(Kind::UrlHost, &host);
                }
            }
            _ => {}
        }
    }
}

/// A field whose string value is an id.
fn is_id_field(field: &str) -> bool {
    ID_FIELDS.contains(&field)
}

/// A field whose number is an id: as above, or any name ending in `Id` (`inviterId`): the
/// API's numbers under such names are generated ids.
pub fn is_number_id_field(field: &str) -> bool {
    is_id_field(field) || field.ends_with("Id")
}

/// An id: letters, digits and `-_.:` only, no spaces or `@`.
fn looks_like_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The host of an absolute URL, lower case, unless it is an address (`addresses.rs` maps it).
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?.to_ascii_lowercase();
    let is_name = host.contains('.') && host.bytes().any(|b| b.is_ascii_alphabetic());
    (is_name && host.parse::<std::net::IpAddr>().is_err()).then_some(host)
}
