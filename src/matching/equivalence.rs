//! The equivalences matching knows: two requests written differently that mean the same thing
//! to the API. Each is a canonicalisation applied while a request's form is built (so lookup
//! stays one hash probe), and each rewrite is noted under a stable [`Equivalence`] name, so
//! that a match can say which ones it used. What a field means comes from the schemas: a
//! `format: date-time` field or query parameter is compared as an instant; an optional
//! property (declared, not required) that is `null` or equal to its default is compared as
//! absent. Defaults come from the schema's `default` keyword, or from [`DOCUMENTED_DEFAULTS`]
//! where only the docs say what absence means (each line of it is a decision written in
//! `schemas/README.md`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::cassette::{Request, Response};
use crate::routes::{Lookup, Operation, OperationTable};
use crate::schema::Contract;

/// One way two requests can differ in writing and still mean the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Equivalence {
    /// Date-times compared as UTC instants (`Z` ≡ `+00:00`).
    DateTimeInstant,
    /// An optional field or parameter sent as `null` ≡ left out.
    AbsentNull,
    /// An optional field or parameter sent with its documented default ≡ left out.
    AbsentDefault,
    /// The tailnet's own name in a path ≡ `-`.
    TailnetName,
    /// A path under an alias template (`vip-services`) ≡ the operation's own path.
    PathAlias,
    /// OAuth client credentials in `Authorization: Basic` ≡ in the form (RFC 6749 2.3.1).
    OauthBasicCredentials,
    /// No `Accept` (or `*/*`) accepts the media type of a recording (RFC 9110 12.5.1).
    AcceptAny,
}

impl Equivalence {
    pub const ALL: [Equivalence; 7] = [
        Equivalence::DateTimeInstant,
        Equivalence::AbsentNull,
        Equivalence::AbsentDefault,
        Equivalence::TailnetName,
        Equivalence::PathAlias,
        Equivalence::OauthBasicCredentials,
        Equivalence::AcceptAny,
    ];

    /// The stable name the journal and the log use.
    pub fn name(self) -> &'static str {
        match self {
            Equivalence::DateTimeInstant => "date-time-instant",
            Equivalence::AbsentNull => "absent-null",
            Equivalence::AbsentDefault => "absent-default",
            Equivalence::TailnetName => "tailnet-name",
            Equivalence::PathAlias => "path-alias",
            Equivalence::OauthBasicCredentials => "oauth-basic-credentials",
            Equivalence::AcceptAny => "accept-any",
        }
    }
}

/// What the canonicalisations rewrote in one request: per equivalence, a hash of the places and
/// the values as written (0: nothing). Two matching requests used an equivalence exactly when
/// their notes for it differ (one side wrote `+00:00` where the other wrote `Z`, or wrote it
/// elsewhere). A fixed array: building a form allocates nothing for its notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes([u64; Equivalence::ALL.len()]);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Notes {
    /// Notes that `kind` rewrote `raw` at `place` (the parts of its location).
    pub fn note(&mut self, kind: Equivalence, place: &[&str], raw: &str) {
        // FNV-1a over the parts, each ended by a byte no UTF-8 text holds: cheap, and a
        // collision could only hide which equivalence was used, never change a match.
        let entry = &mut self.0[kind as usize];
        let mut hash = if *entry == 0 { FNV_OFFSET } else { *entry };
        for part in place.iter().chain([&raw]) {
            for &byte in part.as_bytes().iter().chain([&0xff]) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
            }
        }
        // 0 stands for "nothing rewritten".
        *entry = hash.max(1);
    }

    /// The equivalences by which `self` and `other` differ, in a stable order.
    pub fn differing(&self, other: &Notes) -> impl Iterator<Item = Equivalence> + '_ {
        let other = other.0;
        Equivalence::ALL
            .into_iter()
            .filter(move |kind| self.0[*kind as usize] != other[*kind as usize])
    }
}

/// Defaults the schemas do not state but the docs do, by schema location (the file and the JSON
/// pointer of the property's or parameter's schema). Read as if the schema said `"default"`.
/// Each line is a decision in `schemas/README.md` ("Matching").
pub const DOCUMENTED_DEFAULTS: &[(&str, &str)] = &[
    // S1 and the OpenAPI file: "If the fields parameter is not provided, the default option is used."
    ("common.json#/$defs/FieldsParam", r#""default""#),
    // The OpenAPI file's defaults, which our schemas carry as plain enums.
    ("users.json#/$defs/UserTypeParam", r#""member""#),
    ("users.json#/$defs/UserRoleParam", r#""all""#),
    (
        "users.json#/$defs/CreateUserInvitesRequest/items/properties/role",
        r#""member""#,
    ),
    // A resolver is used with an exit node only when this is true (OpenAPI: "If true, ...").
    (
        "dns.json#/$defs/Resolver/properties/useWithExitNode",
        "false",
    ),
    // No addresses: the API assigns them (services docs); `[]` says the same.
    ("services.json#/$defs/ServicePut/properties/addrs", "[]"),
    // An optional free-text description: empty is none.
    (
        "keys.json#/$defs/CreateKeyRequest/properties/description",
        r#""""#,
    ),
    // No provider type is a generic webhook, which the API writes as "".
    (
        "webhooks.json#/$defs/CreateWebhookRequest/properties/providerType",
        r#""""#,
    ),
    // The only grant the token endpoint serves (RFC 6749 4.4).
    (
        "oauth.json#/$defs/TokenRequest/properties/grant_type",
        r#""client_credentials""#,
    ),
];

/// What the schemas say about a value at one place, as far as matching cares.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub date_time: bool,
    pub default: Option<Value>,
    pub properties: BTreeMap<String, Shape>,
    pub required: BTreeSet<String>,
    pub items: Option<Box<Shape>>,
    pub additional: Option<Box<Shape>>,
}

impl Shape {
    /// The shape of property `key` of an object of this shape, and whether it is optional
    /// (declared and not required: only then may it be left out).
    pub fn property(&self, key: &str) -> (Option<&Shape>, bool) {
        match self.properties.get(key) {
            Some(shape) => (Some(shape), !self.required.contains(key)),
            None => (self.additional.as_deref(), false),
        }
    }

    fn merge(&mut self, other: Shape) {
        self.date_time |= other.date_time;
        if self.default.is_none() {
            self.default = other.default;
        }
        for (key, shape) in other.properties {
            self.properties.entry(key).or_default().merge(shape);
        }
        self.required.extend(other.required);
        merge_boxed(&mut self.items, other.items);
        merge_boxed(&mut self.additional, other.additional);
    }
}

fn merge_boxed(into: &mut Option<Box<Shape>>, from: Option<Box<Shape>>) {
    match (into.as_mut(), from) {
        (Some(a), Some(b)) => a.merge(*b),
        (None, Some(b)) => *into = Some(b),
        _ => {}
    }
}

/// The shapes of each operation's request body and query parameters, by [`Operation::index`].
#[derive(Debug, Default)]
pub struct Shapes {
    operations: Vec<OperationShapes>,
}

#[derive(Debug, Default)]
pub struct OperationShapes {
    pub body: Shape,
    /// By parameter name; `*` covers the others.
    pub query: BTreeMap<String, Shape>,
}

impl Shapes {
    pub fn new(contract: &Contract) -> Shapes {
        let mut walker = Walker {
            documents: contract.documents(),
            defaults: DOCUMENTED_DEFAULTS
                .iter()
                .map(|(at, value)| {
                    let value = serde_json::from_str(value).expect("a default is JSON");
                    (*at, value)
                })
                .collect(),
            open: Vec::new(),
        };
        let operations = contract
            .table()
            .operations()
            .iter()
            .map(|op| {
                let body = op
                    .request
                    .as_ref()
                    .and_then(|spec| spec.schema.as_deref())
                    .map(|reference| walker.reference("", reference))
                    .unwrap_or_default();
                let query = op
                    .query
                    .iter()
                    .map(|(name, spec)| {
                        let at = format!("operations.json#/operations/{}/query/{name}", op.id);
                        (
                            name.clone(),
                            walker.schema("operations.json", &at, &spec.schema),
                        )
                    })
                    .collect();
                OperationShapes { body, query }
            })
            .collect();
        Shapes { operations }
    }

    pub fn of(&self, operation: &Operation) -> Option<&OperationShapes> {
        self.operations.get(operation.index)
    }
}

/// Walks schemas into [`Shape`]s, following `$ref`s (a reference already being walked is a
/// cycle and adds nothing).
struct Walker<'c> {
    documents: &'c BTreeMap<String, Value>,
    defaults: BTreeMap<&'static str, Value>,
    open: Vec<String>,
}

impl Walker<'_> {
    /// The shape a `$ref` found in `file` points at.
    fn reference(&mut self, file: &str, reference: &str) -> Shape {
        let (target_file, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let target_file = if target_file.is_empty() {
            file
        } else {
            target_file
        };
        let at = format!("{target_file}#{fragment}");
        if self.open.contains(&at) {
            return Shape::default();
        }
        let documents = self.documents;
        let Some(schema) = documents
            .get(target_file)
            .and_then(|doc| doc.pointer(fragment))
        else {
            return Shape::default();
        };
        self.open.push(at.clone());
        let shape = self.schema(target_file, &at, schema);
        self.open.pop();
        shape
    }

    /// The shape of `schema`, found at location `at` (`file#pointer`) of `file`.
    fn schema(&mut self, file: &str, at: &str, schema: &Value) -> Shape {
        let mut shape = Shape {
            default: schema
                .get("default")
                .cloned()
                .or_else(|| self.defaults.get(at).cloned()),
            ..Shape::default()
        };
        let Some(object) = schema.as_object() else {
            return shape;
        };
        shape.date_time = object.get("format").and_then(Value::as_str) == Some("date-time");
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            let target = self.reference(file, reference);
            shape.merge(target);
        }
        if let Some(properties) = object.get("properties").and_then(Value::as_object) {
            for (key, child) in properties {
                let child_at = format!("{at}/properties/{}", escape(key));
                let child = self.schema(file, &child_at, child);
                shape
                    .properties
                    .entry(key.clone())
                    .or_default()
                    .merge(child);
            }
        }
        if let Some(required) = object.get("required").and_then(Value::as_array) {
            shape
                .required
                .extend(required.iter().filter_map(Value::as_str).map(String::from));
        }
        for (key, slot) in [("items", 0), ("additionalProperties", 1)] {
            if let Some(child) = object.get(key).filter(|c| c.is_object()) {
                let child = Box::new(self.schema(file, &format!("{at}/{key}"), child));
                merge_boxed(
                    if slot == 0 {
                        &mut shape.items
                    } else {
                        &mut shape.additional
                    },
                    Some(child),
                );
            }
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for (i, branch) in object
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let branch = self.schema(file, &format!("{at}/{key}/{i}"), branch);
                shape.merge(branch);
            }
        }
        shape
    }
}

/// A key as a JSON pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `text` as a UTC instant in one spelling (RFC 3339, `Z`, fraction only when not zero), or
/// `None` when it is not an RFC 3339 date-time.
pub fn instant(text: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(
        parsed
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// Whether a query parameter or form field's `text` is the `default` it would carry.
pub fn is_param(default: &Value, text: &str) -> bool {
    match default {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => n.to_string() == text,
        _ => false,
    }
}

/// The names by which the loaded cassettes show their own tailnet, learned from recordings
/// that succeeded: a `{tailnet}` path segment other than `-`, and the `tailnet` field the API
/// puts at the top of the audit and flow logs ([`NAMED_IN_ANSWER`]). Not learned: MagicDNS
/// names and login domains, which also name the tailnets of shared-in devices and users.
#[derive(Debug, Default)]
pub struct Tailnets(HashSet<String>);

/// Operations whose answer names the caller's tailnet in a top-level `tailnet` field.
const NAMED_IN_ANSWER: &[&str] = &["listConfigurationAuditLogs", "listNetworkFlowLogs"];

/// The path parameter that names a tailnet.
const TAILNET_PARAM: &str = "tailnet";

impl Tailnets {
    pub fn learn(&mut self, table: &OperationTable, request: &Request, response: &Response) {
        if !(200..300).contains(&response.status) {
            return;
        }
        let Lookup::Found { operation, params } =
            table.lookup(&request.method, &super::normalise_path(&request.path))
        else {
            return;
        };
        for (name, value) in params {
            if name == TAILNET_PARAM && value != "-" && !value.is_empty() {
                self.0.insert(value.to_ascii_lowercase());
            }
        }
        if NAMED_IN_ANSWER.contains(&operation.id.as_str())
            && let crate::body::Body::Json(body) = &response.body
            && let Some(name) = body.get("tailnet").and_then(Value::as_str)
            && !name.is_empty()
        {
            self.0.insert(name.to_ascii_lowercase());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `segment` names the cassettes' own tailnet (tailnet names are case-insensitive).
    pub fn is_own(&self, segment: &str) -> bool {
        self.0.contains(&segment.to_ascii_lowercase())
    }
}

/// `path` (normalised) written under `operation`'s own template, with `-` for the tailnet's own
/// name: a path under an alias template is noted [`Equivalence::PathAlias`], a tailnet name
/// [`Equivalence::TailnetName`].
pub fn canonical_path(
    operation: &Operation,
    path: &str,
    tailnets: &Tailnets,
    notes: &mut Notes,
) -> String {
    if operation.aliases.is_empty() && tailnets.is_empty() {
        return path.to_string();
    }
    let segments: Vec<&str> = path.split('/').collect();
    let own: Vec<&str> = operation.path.split('/').collect();
    for template in std::iter::once(&operation.path).chain(&operation.aliases) {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut params = BTreeMap::new();
        let fits = parts.iter().zip(&segments).all(|(part, segment)| {
            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => {
                    params.insert(name, *segment);
                    true
                }
                None => part == segment,
            }
        });
        if !fits || own.len() != parts.len() {
            continue;
        }
        if template != &operation.path {
            notes.note(Equivalence::PathAlias, &["path"], template);
        }
        let written: Vec<String> = own
            .iter()
            .map(
                |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => {
                        let value = params.get(name).copied().unwrap_or_default();
                        if name == TAILNET_PARAM && value != "-" && tailnets.is_own(value) {
                            notes.note(Equivalence::TailnetName, &["path"], value);
                            "-".to_string()
                        } else {
                            value.to_string()
                        }
                    }
                    None => part.to_string(),
                },
            )
            .collect();
        return written.join("/");
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_spelt_one_way() {
        assert_eq!(
            instant("2027-01-01T00:00:00+00:00").as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            instant("2027-01-01T00:00:00Z"),
            instant("2027-01-01T02:00:00+02:00")
        );
        assert_eq!(
            instant("2027-01-01T00:00:00.000Z"),
            instant("2027-01-01T00:00:00Z")
        );
        assert_ne!(
            instant("2027-01-01T00:00:00Z"),
            instant("2027-01-01T00:00:01Z")
        );
        assert_eq!(instant("tomorrow"), None);
    }

    #[test]
    fn the_schemas_give_date_times_and_defaults() {
        let contract = Contract::load(None).unwrap();
        let shapes = Shapes::new(&contract);
        let op = |id: &str| shapes.of(contract.table().get(id).unwrap()).unwrap();
        let posture = &op("setCustomDevicePostureAttributes").body;
        assert!(posture.property("expiry").0.unwrap().date_time);
        assert!(op("listNetworkFlowLogs").query["start"].date_time);
        assert_eq!(
            op("listTailnetDevices").query["fields"].default,
            Some(Value::String("default".into()))
        );
        let dns = &op("setDnsConfiguration").body;
        let resolver = dns
            .property("nameservers")
            .0
            .unwrap()
            .items
            .as_deref()
            .unwrap();
        let (exit, optional) = resolver.property("useWithExitNode");
        assert!(optional);
        assert_eq!(exit.unwrap().default, Some(Value::Bool(false)));
    }

    #[test]
    fn notes_differ_only_where_the_writing_did() {
        let mut a = Notes::default();
        let mut b = Notes::default();
        let written = "2027-01-01T00:00:00+00:00";
        a.note(Equivalence::DateTimeInstant, &["/expiry"], written);
        assert_eq!(
            a.differing(&b).collect::<Vec<_>>(),
            [Equivalence::DateTimeInstant]
        );
        b.note(Equivalence::DateTimeInstant, &["/expiry"], written);
        assert_eq!(a.differing(&b).count(), 0);
        b.note(Equivalence::AbsentNull, &["/comment"], "null");
        assert_eq!(
            a.differing(&b).collect::<Vec<_>>(),
            [Equivalence::AbsentNull]
        );
    }
}
