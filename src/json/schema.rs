//! [`Tape`]: a [`Doc`] as a JSON representation the schema engine validates directly
//! (jsonschema's `json` traits), so validating a body needs no `serde_json::Value`. Strings are
//! read in place (decoded only when they hold escapes), numbers from their literal, member
//! lookups by a scan of the object's names (API objects are small).

use std::borrow::Cow;
use std::str::FromStr;

use bytes::Bytes;
use jsonschema::json::{Array, Json, JsonNumber, Node, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::Value;

use super::{Children, Doc, Kind, Members, NodeRef};

/// The representation marker: `jsonschema::options_for::<Tape>()` builds validators of [`Doc`]s.
pub struct Tape;

impl Json for Tape {
    type Node<'a> = NodeRef<'a>;
    type PreparedKey = Box<str>;
    type StringBuffer = Doc;

    // A lookup scans the names, so a members pass pays off early.
    const KEYS_PER_LOOKUP: usize = 8;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> Box<str> {
        key.into()
    }

    fn with_string_node<T>(buffer: &mut Doc, string: &str, f: impl FnOnce(NodeRef<'_>) -> T) -> T {
        let text = Value::String(string.to_string()).to_string();
        *buffer = Doc::parse(Bytes::from(text)).expect("a JSON string literal");
        f(buffer.root())
    }
}

/// A number, read from its literal.
pub struct Number<'a>(&'a str);

impl JsonNumber for Number<'_> {
    fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    fn as_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }

    fn as_str(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.0)
    }

    fn to_number(&self) -> Cow<'_, serde_json::Number> {
        Cow::Owned(serde_json::Number::from_str(self.0).expect("a checked number"))
    }
}

/// An object node, as the engine sees objects.
#[derive(Clone, Copy)]
pub struct ObjectRef<'a>(NodeRef<'a>);

/// An array node, as the engine sees arrays.
#[derive(Clone, Copy)]
pub struct ArrayRef<'a>(NodeRef<'a>);

impl<'a> Node<'a, Tape> for NodeRef<'a> {
    type Object = ObjectRef<'a>;
    type Array = ArrayRef<'a>;
    type Number = Number<'a>;

    fn as_object(&self) -> Option<ObjectRef<'a>> {
        (self.kind() == Kind::Object).then_some(ObjectRef(*self))
    }

    fn as_array(&self) -> Option<ArrayRef<'a>> {
        (self.kind() == Kind::Array).then_some(ArrayRef(*self))
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        self.as_str()
    }

    fn as_number(&self) -> Option<Number<'a>> {
        NodeRef::as_number(self).map(Number)
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.kind() {
            Kind::True => Some(true),
            Kind::False => Some(false),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        self.kind() == Kind::Null
    }

    fn json_type(&self) -> JsonType {
        match self.kind() {
            Kind::Null => JsonType::Null,
            Kind::False | Kind::True => JsonType::Boolean,
            Kind::Number => JsonType::Number,
            Kind::String | Kind::EscapedString => JsonType::String,
            Kind::Array => JsonType::Array,
            Kind::Object => JsonType::Object,
        }
    }

    // `enum` and `const` of strings are common in the API's schemas: compared without a `Value`.
    fn equals_value(&self, expected: &Value) -> bool {
        match (self.kind(), expected) {
            (Kind::String | Kind::EscapedString, Value::String(expected)) => {
                self.as_str().is_some_and(|s| s == expected.as_str())
            }
            (Kind::String | Kind::EscapedString, _) => false,
            (Kind::Null, expected) => expected.is_null(),
            (Kind::True | Kind::False, expected) => expected.as_bool() == Node::as_boolean(self),
            _ => jsonschema::json::cmp::equal(&self.to_value(), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(NodeRef::to_value(self))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::tagged(
            std::ptr::from_ref(self.doc) as usize,
            self.index(),
        ))
    }
}

/// An object's members with their names decoded.
pub struct NamedMembers<'a>(Members<'a>);

impl<'a> Iterator for NamedMembers<'a> {
    type Item = (Cow<'a, str>, NodeRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, value) = self.0.next()?;
        Some((name.as_str().expect("a member name is a string"), value))
    }
}

impl<'a> Object<'a, Tape> for ObjectRef<'a> {
    type Node = NodeRef<'a>;
    type MemberName = Cow<'a, str>;
    type MembersIter = NamedMembers<'a>;

    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, key: &Box<str>) -> Option<NodeRef<'a>> {
        self.0.get(key)
    }

    fn members(&self) -> NamedMembers<'a> {
        NamedMembers(self.0.members())
    }
}

impl<'a> Array<'a, Tape> for ArrayRef<'a> {
    type Node = NodeRef<'a>;
    type ElementsIter = Children<'a>;

    fn len(&self) -> usize {
        self.0.len()
    }

    fn elements(&self) -> Children<'a> {
        self.0.elements()
    }
}
