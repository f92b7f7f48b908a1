//! What the schemas say about each operation's request, as far as matching cares ([`Shape`]):
//! which body fields and query parameters are `format: date-time`, which properties are
//! optional (declared, not required), and their defaults. A default comes from the schema's
//! `default` keyword, or from [`DOCUMENTED_DEFAULTS`] where only the docs say what absence
//! means (each line of it is a decision written in `schemas/README.md`). Built once per matcher
//! by walking the schema documents, following `$ref`s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::routes::Operation;
use crate::schema::Contract;

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
    (
        "keys.json#/$defs/SetKeyRequest/properties/description",
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn every_documented_default_stands_at_a_schema_location_and_is_json() {
        let contract = Contract::load(None).unwrap();
        for (at, value) in DOCUMENTED_DEFAULTS {
            let (file, pointer) = at.split_once('#').unwrap();
            let found = contract
                .documents()
                .get(file)
                .and_then(|d| d.pointer(pointer));
            assert!(found.is_some(), "{at} is not in the schemas");
            assert!(
                serde_json::from_str::<Value>(value).is_ok(),
                "{at}: {value}"
            );
        }
    }
}
