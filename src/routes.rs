//! The operation table: `schemas/operations.json` maps each documented operation (by its
//! OpenAPI operationId) to its method, path template, parameters, request body and responses
//! per status. This module reads the table and finds the operation for a method and path;
//! `schema.rs` compiles the schemas the table names.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// A media type a body may be sent in. `hujson` and `form` bodies are stored as text and parsed
/// (a form into an object of its fields) before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Json,
    Hujson,
    Form,
}

impl Media {
    pub fn mime(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Hujson => "application/hujson",
            Media::Form => "application/x-www-form-urlencoded",
        }
    }
}

fn yes() -> bool {
    true
}

fn json_only() -> Vec<Media> {
    vec![Media::Json]
}

/// A documented body: the schema it must match (a reference like `device.json#/$defs/Device`),
/// the media types it may come in, whether it may be empty, and, for a response, the headers
/// that come with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodySpec {
    pub schema: Option<String>,
    #[serde(default = "json_only")]
    pub media: Vec<Media>,
    #[serde(default)]
    pub optional: bool,
    /// Response headers the answer must carry (lower case), such as the policy file's `etag`.
    #[serde(default)]
    pub headers: Vec<String>,
}

/// A documented path or query parameter: an inline JSON Schema for its (string) value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub schema: Value,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    #[serde(skip)]
    pub id: String,
    /// Position in the table, for per-operation data kept elsewhere.
    #[serde(skip)]
    pub index: usize,
    pub method: String,
    pub path: String,
    /// Other path templates the API answers for this operation (`vip-services` for `services`).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: String,
    /// False for an endpoint clients use that Tailscale's OpenAPI file does not list.
    #[serde(default = "yes")]
    pub openapi: bool,
    /// False for an endpoint called without credentials (the OAuth token exchange).
    #[serde(default = "yes")]
    pub authenticated: bool,
    /// Request headers that change the answer (lower case), so replay matches on them.
    #[serde(default)]
    pub vary: Vec<String>,
    /// Path parameters by name, checked after percent-decoding.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Query parameters by name; the name `*` covers every other name (field filters).
    #[serde(default)]
    pub query: BTreeMap<String, ParamSpec>,
    pub request: Option<BodySpec>,
    pub responses: BTreeMap<u16, BodySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[serde(rename = "$comment", default)]
    _comment: Value,
    /// Responses every operation documents (authentication failures).
    #[serde(default)]
    defaults: BTreeMap<u16, BodySpec>,
    operations: Map<String, Value>,
}

/// The result of looking up a request's method and path.
pub enum Lookup<'t> {
    Found {
        operation: &'t Operation,
        params: Vec<(String, String)>,
    },
    /// The path is documented, but not for this method.
    WrongMethod {
        allowed: Vec<&'t str>,
    },
    NotFound,
}

#[derive(Debug)]
pub struct OperationTable {
    operations: Vec<Operation>,
    defaults: BTreeMap<u16, BodySpec>,
    /// Path template -> indices of its operations (one per method).
    router: matchit::Router<Vec<usize>>,
}

impl OperationTable {
    /// The table compiled into the binary, read once.
    pub fn embedded() -> &'static OperationTable {
        static TABLE: std::sync::OnceLock<OperationTable> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| {
            let text = crate::embedded::schema_file("operations.json")
                .expect("operations.json is embedded");
            OperationTable::from_json(text).expect("the embedded operation table reads")
        })
    }

    /// Reads `operations.json`. Errors name the operation and what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: TableFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut operations = Vec::new();
        let mut by_template: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (id, spec) in file.operations {
            let mut op: Operation =
                serde_json::from_value(spec).map_err(|e| format!("operation {id}: {e}"))?;
            op.id = id;
            op.index = operations.len();
            for template in std::iter::once(&op.path).chain(&op.aliases) {
                by_template
                    .entry(template.clone())
                    .or_default()
                    .push(operations.len());
            }
            operations.push(op);
        }
        let mut router = matchit::Router::new();
        for (template, indices) in by_template {
            router
                .insert(template.clone(), indices)
                .map_err(|e| format!("path template {template}: {e}"))?;
        }
        Ok(Self {
            operations,
            defaults: file.defaults,
            router,
        })
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn get(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }

    /// How many operations come from Tailscale's OpenAPI file (the others are known from clients).
    pub fn openapi_count(&self) -> usize {
        self.operations.iter().filter(|op| op.openapi).count()
    }

    /// Whether a request needs credentials: every `/api/v2/` request but those to an operation
    /// documented as unauthenticated.
    pub fn requires_auth(&self, method: &str, path: &str) -> bool {
        path.starts_with("/api/v2/")
            && !matches!(self.lookup(method, path), Lookup::Found { operation, .. } if !operation.authenticated)
    }

    /// The documented response for `status`: the operation's own, else the table's default.
    pub fn response<'t>(&'t self, op: &'t Operation, status: u16) -> Option<&'t BodySpec> {
        op.responses
            .get(&status)
            .or_else(|| self.defaults.get(&status))
    }

    /// Every status documented for `op`, its own and the defaults, in order.
    pub fn statuses(&self, op: &Operation) -> Vec<u16> {
        let mut all: Vec<u16> = op
            .responses
            .keys()
            .chain(self.defaults.keys())
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Every body spec in the table, for compiling their schemas once.
    pub fn body_specs(&self) -> impl Iterator<Item = &BodySpec> {
        self.operations
            .iter()
            .flat_map(|op| op.request.iter().chain(op.responses.values()))
            .chain(self.defaults.values())
    }

    /// Finds the operation for `method` and the raw (still percent-encoded) `path`. Path
    /// parameters come back percent-decoded.
    pub fn lookup(&self, method: &str, path: &str) -> Lookup<'_> {
        let Ok(matched) = self.router.at(path) else {
            return Lookup::NotFound;
        };
        let candidates = matched.value.iter().map(|&i| &self.operations[i]);
        match candidates
            .clone()
            .find(|op| op.method.eq_ignore_ascii_case(method))
        {
            Some(operation) => Lookup::Found {
                operation,
                params: matched
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                        (k.to_string(), v.into_owned())
                    })
                    .collect(),
            },
            None => Lookup::WrongMethod {
                allowed: candidates.map(|op| op.method.as_str()).collect(),
            },
        }
    }

    /// The table as `tailtape schemas list` prints it; operations from outside the OpenAPI file
    /// are marked `*`.
    pub fn listing(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .operations
            .iter()
            .map(|op| {
                let statuses: Vec<String> = self.statuses(op).iter().map(u16::to_string).collect();
                [
                    listed_id(&op.id, op.openapi),
                    op.method.clone(),
                    op.path.clone(),
                    statuses.join(","),
                ]
            })
            .collect();
        let header = ["OPERATION", "METHOD", "PATH", "STATUSES"].map(String::from);
        let mut widths = [0; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            out.push_str(&format!(
                "{:w0$}  {:w1$}  {:w2$}  {}\n",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            ));
        }
        let openapi = self.openapi_count();
        out.push_str(&format!(
            "{openapi} of {openapi} operations of Tailscale's OpenAPI file"
        ));
        match rows.len() - openapi {
            0 => out.push('\n'),
            more => out.push_str(&format!(", and {more} more that clients use (*)\n")),
        }
        out
    }
}

/// An operation's id as `schemas list` and `coverage` show it: marked `*` when it is not an
/// operation of Tailscale's OpenAPI file.
pub fn listed_id(id: &str, openapi: bool) -> String {
    if openapi {
        id.to_string()
    } else {
        format!("{id} *")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static OperationTable {
        OperationTable::embedded()
    }

    fn found(table: &OperationTable, method: &str, path: &str) -> String {
        match table.lookup(method, path) {
            Lookup::Found { operation, .. } => operation.id.clone(),
            Lookup::WrongMethod { allowed } => format!("wrong method, allowed {allowed:?}"),
            Lookup::NotFound => "not found".into(),
        }
    }

    #[test]
    fn a_fixed_segment_wins_over_a_parameter_in_the_same_place() {
        let t = table();
        let accept = "/api/v2/device-invites/-/accept";
        assert_eq!(found(t, "POST", accept), "acceptDeviceInvite");
        assert_eq!(
            found(t, "GET", "/api/v2/device-invites/12347"),
            "getDeviceInvite"
        );
        assert_eq!(
            found(t, "GET", "/api/v2/tailnet/-/logging/network"),
            "listNetworkFlowLogs"
        );
        assert_eq!(
            found(t, "GET", "/api/v2/tailnet/-/logging/network/stream"),
            "getLogStreamingConfiguration"
        );
    }

    #[test]
    fn an_alias_finds_its_operation_with_its_parameters() {
        let t = table();
        let Lookup::Found { operation, params } =
            t.lookup("PUT", "/api/v2/tailnet/-/vip-services/svc%3Awiki")
        else {
            panic!("the vip-services alias is not routed");
        };
        assert_eq!(operation.id, "updateService");
        assert!(params.contains(&("serviceName".into(), "svc:wiki".into())));
    }

    #[test]
    fn only_the_token_exchange_goes_without_credentials() {
        let t = table();
        assert!(!t.requires_auth("POST", "/api/v2/oauth/token"));
        assert!(t.requires_auth("GET", "/api/v2/oauth/token"));
        assert!(t.requires_auth("GET", "/api/v2/tailnet/-/devices"));
        assert!(t.requires_auth("GET", "/api/v2/not-documented"));
        assert!(!t.requires_auth("GET", "/__tailtape/report"));
        assert_eq!(t.openapi_count(), 90);
    }
}
