//! `tailtape seed CASSETTE|DIR...`: the seed the cassettes imply, so that a user's own recording
//! becomes an emulated tailnet. Every successful read is a look at the state as it was, unless
//! it shows something the cassettes themselves created: the first read of each part of the
//! tailnet is taken (a list, then items it did not show), ids created by a recorded create are
//! left out, and what no read showed keeps the seed's defaults (an empty tailnet with an allow-all
//! policy file). The result is checked as any seed is before it is printed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Map, Value, json};

use super::seed;
use crate::body::Body;
use crate::cassette::{self, Interaction};
use crate::cli::SeedArgs;
use crate::routes::{Lookup, OperationTable};
use crate::schema::Contract;

/// The policy file of a tailnet no read showed: Tailscale's default, allowing everything.
const DEFAULT_POLICY: &str = "{\n  \"acls\": [\n    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]},\n  ],\n}\n";

/// The seed being put together.
struct Derivation {
    seed: Map<String, Value>,
    /// Parts of the seed a read has already set (`dns/nameservers`, `settings`, ...).
    taken: BTreeSet<String>,
    /// Ids (and service names) that a recorded create answered.
    created: BTreeSet<String>,
}

/// The list fields of the seed and the field that identifies their items.
const LISTS: &[(&str, &str)] = &[
    ("devices", "nodeId"),
    ("users", "id"),
    ("keys", "id"),
    ("webhooks", "endpointId"),
    ("postureIntegrations", "id"),
    ("services", "name"),
    ("userInvites", "id"),
    ("deviceInvites", "id"),
    ("oauthApps", "id"),
    ("configurationLogs", "eventGroupID"),
    ("networkLogs", "logged"),
];

fn key_of(item: &Value, field: &str) -> Option<String> {
    match item.get(field)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Derivation {
    fn new() -> Derivation {
        let mut seed = Map::new();
        seed.insert("name".into(), json!("-"));
        seed.insert(
            "now".into(),
            json!(super::state::format_time(chrono::Utc::now())),
        );
        seed.insert(
            "account".into(),
            json!({"user": "", "numericId": 0, "tailnetId": 0}),
        );
        for (list, _) in LISTS {
            seed.insert((*list).into(), json!([]));
        }
        seed.insert("policy".into(), json!(DEFAULT_POLICY));
        seed.insert(
            "dns".into(),
            json!({"nameservers": [], "splitDNS": {}, "searchPaths": [],
                   "preferences": {"magicDNS": false, "overrideLocalDNS": false}}),
        );
        for object in [
            "postureAttributes",
            "settings",
            "contacts",
            "logStreams",
            "logStreamStatus",
            "serviceApprovals",
        ] {
            seed.insert(object.into(), json!({}));
        }
        Derivation {
            seed,
            taken: BTreeSet::new(),
            created: BTreeSet::new(),
        }
    }

    /// Sets `field` from the first read that shows it.
    fn first(&mut self, part: &str, set: impl FnOnce(&mut Map<String, Value>)) {
        if self.taken.insert(part.to_string()) {
            set(&mut self.seed);
        }
    }

    /// Adds the items of `list` that it does not have yet and no create answered.
    fn add(&mut self, list: &str, items: &[Value]) {
        let field = LISTS
            .iter()
            .find(|(name, _)| *name == list)
            .map_or("id", |(_, f)| *f);
        let seed = self.seed[list].as_array_mut().expect("a list");
        for item in items {
            let Some(key) = key_of(item, field) else {
                continue;
            };
            if self.created.contains(&key)
                || seed
                    .iter()
                    .any(|known| key_of(known, field).as_deref() == Some(&key))
            {
                continue;
            }
            seed.push(item.clone());
        }
    }

    /// Remembers the ids a create answered.
    fn created_by(&mut self, body: &Value) {
        let items: Vec<&Value> = match body {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            for field in ["id", "endpointId", "name"] {
                if let Some(key) = key_of(item, field) {
                    self.created.insert(key);
                }
            }
        }
    }

    fn take(&mut self, table: &OperationTable, interaction: &Interaction) {
        let (request, response) = (&interaction.request, &interaction.response);
        let Lookup::Found { operation, params } = table.lookup(&request.method, &request.path)
        else {
            return;
        };
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let id = operation.id.as_str();
        if !(200..300).contains(&response.status) {
            // A read that found nothing: that part was empty (a log stream not set up).
            if response.status == 404 && id == "getLogStreamingConfiguration" {
                self.first(&format!("logStreams/{}", param("logType")), |_| {});
            }
            return;
        }
        let body = match &response.body {
            Body::Json(value) => value.clone(),
            Body::Text(text) if id == "getPolicyFile" => {
                let text = text.clone();
                let etag = response.headers.get("etag").cloned();
                self.first("policy", |seed| {
                    seed.insert("policy".into(), json!(text));
                    if let Some(etag) = etag {
                        seed.insert("policyEtag".into(), json!(etag));
                    }
                });
                return;
            }
            _ => return,
        };
        if request.method != "GET" {
            if id.starts_with("create")
                || (id == "updateService" && !self.taken_service(&param("serviceName")))
            {
                self.created_by(&body);
                if id == "updateService" {
                    self.created.insert(param("serviceName"));
                }
            }
            return;
        }
        let list = |field: &str| body[field].as_array().cloned().unwrap_or_default();
        match id {
            "listTailnetDevices" => self.add("devices", &list("devices")),
            "getDevice" => self.add("devices", std::slice::from_ref(&body)),
            "getDevicePostureAttributes" => {
                if let Some(node) = self.node_of(&param("deviceId")) {
                    self.first(&format!("postureAttributes/{node}"), |seed| {
                        seed["postureAttributes"][&node] = body.clone();
                    });
                }
            }
            "listUsers" => self.add("users", &list("users")),
            "getUser" => self.add("users", std::slice::from_ref(&body)),
            "listTailnetKeys" => {
                let keys: Vec<Value> = list("keys")
                    .into_iter()
                    .map(|k| json!({"id": k["id"], "keyType": k.get("keyType").cloned().unwrap_or(json!("auth"))}))
                    .collect();
                self.add("keys", &keys);
            }
            "getKey" => {
                let key = param("keyId");
                if !self.created.contains(&key) {
                    // A full read replaces what a list showed (the id only).
                    if let Some(keys) = self.seed["keys"].as_array_mut() {
                        keys.retain(|k| {
                            k["id"] != json!(key) || k.as_object().is_some_and(|o| o.len() > 2)
                        });
                    }
                    self.add("keys", std::slice::from_ref(&body));
                }
            }
            "getPolicyFile" if body.get("acl").is_none() => {
                let text = serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
                self.first("policy", |seed| {
                    seed.insert("policy".into(), json!(text));
                });
            }
            "listDnsNameservers" => {
                let servers: Vec<Value> = list("dns")
                    .into_iter()
                    .map(|a| json!({"address": a, "useWithExitNode": false}))
                    .collect();
                self.first("dns/nameservers", |seed| {
                    seed["dns"]["nameservers"] = json!(servers)
                });
            }
            "getDnsPreferences" => self.first("dns/preferences", |seed| {
                seed["dns"]["preferences"]["magicDNS"] = body["magicDNS"].clone();
            }),
            "listDnsSearchPaths" => self.first("dns/searchPaths", |seed| {
                seed["dns"]["searchPaths"] = body["searchPaths"].clone();
            }),
            "getSplitDns" => {
                let split: Map<String, Value> = body
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(domain, addresses)| {
                        let resolvers: Vec<Value> = addresses
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| json!({"address": a, "useWithExitNode": false}))
                            .collect();
                        (domain.clone(), json!(resolvers))
                    })
                    .collect();
                self.first("dns/splitDNS", |seed| {
                    seed["dns"]["splitDNS"] = json!(split)
                });
            }
            "getDnsConfiguration" => {
                for field in ["nameservers", "splitDNS", "searchPaths", "preferences"] {
                    let object = matches!(field, "splitDNS" | "preferences");
                    let shaped = |v: &Value| if object { v.is_object() } else { v.is_array() };
                    if let Some(value) = body.get(field).filter(|v| shaped(v)).cloned() {
                        self.first(&format!("dns/{field}"), |seed| seed["dns"][field] = value);
                    }
                }
            }
            "getTailnetSettings" => self.first("settings", |seed| {
                seed.insert("settings".into(), body.clone());
            }),
            "getContacts" => self.first("contacts", |seed| {
                seed.insert("contacts".into(), body.clone());
            }),
            "listWebhooks" => self.add("webhooks", &list("webhooks")),
            "getWebhook" => self.add("webhooks", std::slice::from_ref(&body)),
            "getPostureIntegrations" => self.add("postureIntegrations", &list("integrations")),
            "getPostureIntegration" => self.add("postureIntegrations", std::slice::from_ref(&body)),
            "getLogStreamingConfiguration" => {
                let kind = param("logType");
                self.first(&format!("logStreams/{kind}"), |seed| {
                    seed["logStreams"][&kind] = body.clone();
                });
            }
            "getLogStreamingStatus" => {
                let kind = param("logType");
                self.first(&format!("logStreamStatus/{kind}"), |seed| {
                    let mut status = body.clone();
                    if let Some(status) = status.as_object_mut() {
                        status.remove("lastActivity");
                    }
                    seed["logStreamStatus"][&kind] = status;
                });
            }
            "listServices" => self.add("services", &list("vipServices")),
            "getService" => self.add("services", std::slice::from_ref(&body)),
            "getServiceDeviceApproval" => {
                let (service, device) = (param("serviceName"), param("deviceId"));
                if let Some(node) = self
                    .node_of(&device)
                    .filter(|_| !self.created.contains(&service))
                {
                    self.first(&format!("serviceApprovals/{service}/{node}"), |seed| {
                        seed["serviceApprovals"][&service][&node] = body["approved"].clone();
                    });
                }
            }
            "listUserInvites" => self.add(
                "userInvites",
                body.as_array().map_or(&[][..], Vec::as_slice),
            ),
            "getUserInvite" => self.add("userInvites", std::slice::from_ref(&body)),
            "listDeviceInvites" => self.add(
                "deviceInvites",
                body.as_array().map_or(&[][..], Vec::as_slice),
            ),
            "getDeviceInvite" => self.add("deviceInvites", std::slice::from_ref(&body)),
            "listOAuthApps" => self.add("oauthApps", &list("oauthApps")),
            "getOAuthApp" => self.add("oauthApps", std::slice::from_ref(&body)),
            "listConfigurationAuditLogs" => self.add("configurationLogs", &list("logs")),
            "listNetworkFlowLogs" => self.add("networkLogs", &list("logs")),
            _ => {}
        }
    }

    fn taken_service(&self, name: &str) -> bool {
        self.seed["services"]
            .as_array()
            .is_some_and(|s| s.iter().any(|svc| svc["name"] == json!(name)))
    }

    /// The node id of a device the seed has, by node or numeric id.
    fn node_of(&self, id: &str) -> Option<String> {
        self.seed["devices"].as_array()?.iter().find_map(|d| {
            (d["nodeId"] == json!(id) || d["id"] == json!(id))
                .then(|| d["nodeId"].as_str().map(str::to_string))
                .flatten()
        })
    }

    /// Fills in the account from what the reads showed: the owner, and the numeric ids invites
    /// carry.
    fn finish(mut self) -> Value {
        let owner = self.seed["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["role"] == json!("owner")))
            .and_then(|u| u["id"].as_str().map(str::to_string));
        if let Some(owner) = owner {
            self.seed["account"]["user"] = json!(owner);
        }
        let invites: Vec<Value> = ["userInvites", "deviceInvites"]
            .iter()
            .flat_map(|list| self.seed[*list].as_array().cloned().unwrap_or_default())
            .collect();
        for invite in &invites {
            for (field, account) in [
                ("inviterId", "numericId"),
                ("sharerId", "numericId"),
                ("tailnetId", "tailnetId"),
            ] {
                if let Some(n) = invite.get(field).and_then(Value::as_u64) {
                    self.seed["account"][account] = json!(n);
                }
            }
        }
        Value::Object(self.seed)
    }
}

/// The seed `cassettes` imply, in order.
pub fn derive(table: &OperationTable, cassettes: &[cassette::Cassette]) -> Value {
    let mut derivation = Derivation::new();
    for cassette in cassettes {
        if let Some(name) = cassette
            .recorded
            .extra
            .get("tailnet")
            .and_then(Value::as_str)
        {
            derivation.first("name", |seed| {
                seed.insert("name".into(), json!(name));
            });
        }
        if let Some(at) = &cassette.recorded.at {
            let at = at.clone();
            derivation.first("now", |seed| {
                seed.insert("now".into(), json!(at));
            });
        }
        for interaction in &cassette.interactions {
            derivation.take(table, interaction);
        }
    }
    derivation.finish()
}

/// `tailtape seed`: prints the seed, checked as `emulate --seed` would check it.
pub fn command(args: &SeedArgs) -> anyhow::Result<ExitCode> {
    let contract = Contract::load(args.schemas.dir.as_deref())?;
    let paths: Vec<PathBuf> = args.paths.clone();
    let mut cassettes = Vec::new();
    for source in cassette::sources(&paths, false)? {
        cassettes.push(source.load()?);
    }
    let seed = derive(contract.table(), &cassettes);
    let text = serde_json::to_string_pretty(&seed)? + "\n";
    seed::parse("(the derived seed)", &text)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
