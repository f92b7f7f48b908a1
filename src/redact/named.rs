//! Secret-named members of JSON bodies (`fields.rs` says which names): their values become
//! placeholders, in a `serde_json::Value` or in a document read in place (`json/`), where the
//! replacement is an edit by tape index and the bytes stay as received.

use std::borrow::Cow;

use serde_json::Value;

use super::Redactor;
use super::fields::is_secret_field;
use crate::json::{Doc, Kind, NodeRef};

impl Redactor {
    /// Replaces the secret-named members of a JSON body, then the `--redact-field`s.
    pub(super) fn redact_value(&mut self, value: &mut Value) {
        self.redact_json(value);
        for pointer in self.fields.clone() {
            if let Some(target) = value.pointer_mut(&pointer) {
                let secret = match &*target {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                *target = Value::String(self.placeholder(&secret));
            }
        }
    }

    /// [`Redactor::redact_value`] for a document read in place. Each pass reads the document as
    /// the one before left it: a pointer into a field already replaced finds the placeholder.
    pub(super) fn redact_document(&mut self, doc: &mut Doc) {
        let mut replaced = Vec::new();
        self.redact_doc(doc.root(), &mut replaced);
        for pointer in self.fields.clone() {
            apply(doc, std::mem::take(&mut replaced));
            if let Some(target) = doc.root().pointer(&pointer) {
                let secret = match target.as_str() {
                    Some(s) => s.into_owned(),
                    None => target.to_value().to_string(),
                };
                replaced.push((target.index(), self.placeholder(&secret)));
            }
        }
        apply(doc, replaced);
    }

    fn redact_json(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (name, child) in map.iter_mut() {
                    let secret = match &*child {
                        _ if !is_secret_field(name) => None,
                        Value::String(secret) if !secret.is_empty() => Some(secret.clone()),
                        Value::Number(number) => Some(number.to_string()),
                        _ => None,
                    };
                    match secret {
                        Some(secret) => *child = Value::String(self.placeholder(&secret)),
                        None => self.redact_json(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            _ => {}
        }
    }

    /// [`Redactor::redact_json`] for a document read in place: the replacements, by tape index.
    fn redact_doc(&mut self, node: NodeRef<'_>, replaced: &mut Vec<(u32, String)>) {
        match node.kind() {
            Kind::Object => {
                for (name, child) in node.members() {
                    let named = name.as_str().is_some_and(|name| is_secret_field(&name));
                    let secret = match child.kind() {
                        _ if !named => None,
                        Kind::String | Kind::EscapedString => child
                            .as_str()
                            .filter(|s| !s.is_empty())
                            .map(Cow::into_owned),
                        Kind::Number => Some(child.to_value().to_string()),
                        _ => None,
                    };
                    match secret {
                        Some(secret) => replaced.push((child.index(), self.placeholder(&secret))),
                        None => self.redact_doc(child, replaced),
                    }
                }
            }
            Kind::Array => node
                .elements()
                .for_each(|element| self.redact_doc(element, replaced)),
            _ => {}
        }
    }
}

/// Makes `doc` read each replacement.
fn apply(doc: &mut Doc, replaced: Vec<(u32, String)>) {
    for (index, with) in replaced {
        doc.replace(index, with);
    }
}
