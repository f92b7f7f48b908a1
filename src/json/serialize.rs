//! Writing a [`Doc`] through serde, in whatever layout the serializer has (the cassette's
//! canonical one, compact JSON), exactly as serde_json would write the same document parsed
//! into a `Value`: numbers through `serde_json::Number` (so `1.50` is written `1.5` either
//! way), strings re-escaped the same way, replaced values as their strings.

use std::str::FromStr;

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Kind, NodeRef};

impl Serialize for NodeRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let node = *self;
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
                    seq.serialize_element(&element)?;
                }
                seq.end()
            }
            Kind::Object => {
                let mut map = serializer.serialize_map(Some(node.len()))?;
                for (name, value) in node.members() {
                    map.serialize_entry(&name.as_str().expect("a name"), &value)?;
                }
                map.end()
            }
        }
    }
}
