//! Writing a [`Doc`] through serde, in whatever layout the serializer has (the cassette's
//! canonical one, compact JSON), exactly as serde_json would write the same document parsed
//! into a `Value`: numbers through `serde_json::Number` (so `1.50` is written `1.5` either
//! way), strings re-escaped the same way. [`Edited`] writes it with some strings replaced
//! (redaction), with no copy of the rest.

use std::collections::HashMap;
use std::str::FromStr;

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Kind, NodeRef};

/// Replacement strings by tape index: a value or a member name written as another string.
pub type Edits = HashMap<u32, String>;

impl Serialize for NodeRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Edited {
            node: *self,
            edits: None,
        }
        .serialize(serializer)
    }
}

/// A node written with the strings `edits` names replaced.
#[derive(Clone, Copy)]
pub struct Edited<'a> {
    pub node: NodeRef<'a>,
    pub edits: Option<&'a Edits>,
}

impl Edited<'_> {
    fn edit(&self, node: NodeRef<'_>) -> Option<&str> {
        self.edits?.get(&node.index()).map(String::as_str)
    }
}

impl Serialize for Edited<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let node = self.node;
        if let Some(replacement) = self.edit(node) {
            return serializer.serialize_str(replacement);
        }
        match node.kind() {
            Kind::Null => serializer.serialize_unit(),
            Kind::False => serializer.serialize_bool(false),
            Kind::True => serializer.serialize_bool(true),
            Kind::Number => serde_json::Number::from_str(node.raw())
                .map_err(S::Error::custom)?
                .serialize(serializer),
            Kind::String | Kind::EscapedString => {
                serializer.serialize_str(&node.as_str().expect("a string"))
            }
            Kind::Array => {
                let mut seq = serializer.serialize_seq(Some(node.len()))?;
                for element in node.elements() {
                    seq.serialize_element(&Edited {
                        node: element,
                        edits: self.edits,
                    })?;
                }
                seq.end()
            }
            Kind::Object => {
                let mut map = serializer.serialize_map(Some(node.len()))?;
                for (name, value) in node.members() {
                    let value = Edited {
                        node: value,
                        edits: self.edits,
                    };
                    match self.edit(name) {
                        Some(replacement) => map.serialize_entry(replacement, &value)?,
                        None => map.serialize_entry(&name.as_str().expect("a name"), &value)?,
                    }
                }
                map.end()
            }
        }
    }
}
