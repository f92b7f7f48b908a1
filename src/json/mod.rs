//! JSON read in place: a [`Doc`] keeps a body's bytes as they came and a tape of its values
//! (one 20-byte [`Token`] per value or member name, in document order), instead of a tree of
//! `serde_json::Value`s with an allocation per string and a hash map per object.
//!
//! It exists for the hot paths that read every byte of large bodies: the schema engine validates
//! a [`Doc`] directly (`schema.rs` implements jsonschema's `json` traits for it), and
//! `serialize.rs` writes it in any serde layout, so a body goes from the wire to a cassette's
//! canonical text without a tree in between. A 50 MB device list costs its bytes plus about
//! 75 MB of tape, against some 380 MB of `Value`s.
//!
//! Redaction edits a document without rewriting it: [`Doc::replace`] makes a value (or a member
//! name) read as another string from then on, for every reader alike (the schema engine, the
//! writer, the scans), while the bytes stay as received.
//!
//! The grammar is JSON's (RFC 8259) with serde_json's limits, so that a body is JSON here
//! exactly when `Body::from_bytes` says it is: at most [`MAX_DEPTH`] levels of nesting, no lone
//! surrogate escapes, UTF-8 throughout. A document with a repeated member name is refused (a
//! cassette may not hold one either), as is one past 4 GiB (offsets are `u32`).

mod names;
mod parse;
mod schema;
mod serialize;

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use bytestring::ByteString;

pub use parse::ParseError;
pub use schema::Tape;

/// serde_json's nesting limit, the same here so both readers agree on what is JSON.
pub const MAX_DEPTH: usize = 128;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    False,
    True,
    Number,
    /// A string (a value or a member name) with no escape: its text is its bytes.
    String,
    /// A string with at least one escape, decoded when read.
    EscapedString,
    Array,
    Object,
}

/// One value or member name. An object's tokens are its members' names and values in turn; a
/// container's `next` is the index of the first token after all of its own.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    pub kind: Kind,
    /// Byte offset of its first byte (a string's opening quote).
    pub start: u32,
    /// Byte offset after its last byte.
    pub end: u32,
    /// Elements of an array, members of an object; 0 otherwise.
    pub count: u32,
    /// Index of the token after this one and all it contains.
    pub next: u32,
}

/// A parsed JSON document: its text, its tape, and the strings that replace some of its values.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    /// Checked as UTF-8 once, so that reading a token's text checks nothing again.
    text: ByteString,
    tape: Vec<Token>,
    /// Replacement strings by tape index ([`Doc::replace`]).
    edits: HashMap<u32, String>,
}

/// Two documents are equal when they hold the same JSON value (edits applied).
impl PartialEq for Doc {
    fn eq(&self, other: &Doc) -> bool {
        self.root().to_value() == other.root().to_value()
    }
}

impl Doc {
    /// Reads `text` as one JSON value (white space around it allowed).
    pub fn parse(text: Bytes) -> Result<Doc, ParseError> {
        Doc::parse_nested(text, 0)
    }

    /// Reads `text` as a value found `depth` levels deep in a larger document (an interaction
    /// of a cassette): the nesting limit counts from that document's top, as serde_json's does.
    pub fn parse_nested(text: Bytes, depth: usize) -> Result<Doc, ParseError> {
        let text = ByteString::try_from(text).map_err(|err| ParseError {
            at: err.valid_up_to(),
            reason: "invalid UTF-8",
        })?;
        let tape = parse::tape(&text, depth)?;
        Ok(Doc {
            text,
            tape,
            edits: HashMap::new(),
        })
    }

    /// The value `node` of this (unedited) document as a document of its own, sharing its bytes.
    pub fn extract(&self, node: NodeRef<'_>) -> Doc {
        let first = node.token();
        let (at, base) = (node.at, first.start);
        let tape = self.tape[at as usize..first.next as usize]
            .iter()
            .map(|t| Token {
                start: t.start - base,
                end: t.end - base,
                next: t.next - at,
                ..*t
            })
            .collect();
        Doc {
            text: self.text.slice_ref(node.raw()),
            tape,
            edits: HashMap::new(),
        }
    }

    /// Makes the value (or member name) at tape `index` read as the string `with`.
    pub fn replace(&mut self, index: u32, with: String) {
        self.edits.insert(index, with);
    }

    /// The document's top value.
    pub fn root(&self) -> NodeRef<'_> {
        NodeRef { doc: self, at: 0 }
    }

    /// The bytes it was read from.
    pub fn text(&self) -> &Bytes {
        self.text.as_bytes()
    }

    /// How many tokens the tape holds.
    pub fn tokens(&self) -> usize {
        self.tape.len()
    }

    fn raw(&self, token: &Token) -> &str {
        // Tokens start and end on ASCII bytes, so the slice lies on character boundaries.
        &self.text[token.start as usize..token.end as usize]
    }
}

/// One value of a [`Doc`]: cheap to copy, and to read without building anything.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    doc: &'a Doc,
    at: u32,
}

impl<'a> NodeRef<'a> {
    /// What it is; a replaced value is a string.
    #[inline]
    pub fn kind(&self) -> Kind {
        match self.edit() {
            Some(_) => Kind::EscapedString,
            None => self.token().kind,
        }
    }

    /// The string that replaces it, if one does.
    #[inline]
    fn edit(&self) -> Option<&'a str> {
        if self.doc.edits.is_empty() {
            return None;
        }
        self.doc.edits.get(&self.at).map(String::as_str)
    }

    #[inline]
    fn token(&self) -> &'a Token {
        &self.doc.tape[self.at as usize]
    }

    /// Its position on the tape: unique among the document's values.
    pub fn index(&self) -> u32 {
        self.at
    }

    /// Its text as received (for a string, with its quotes and escapes), edits aside.
    #[inline]
    pub fn raw(&self) -> &'a str {
        self.doc.raw(self.token())
    }

    /// A string's text, decoded; `None` for anything else.
    #[inline]
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        if let Some(edit) = self.edit() {
            return Some(Cow::Borrowed(edit));
        }
        let token = self.token();
        match token.kind {
            // Within the quotes, in one slice.
            Kind::String => Some(Cow::Borrowed(
                &self.doc.text[token.start as usize + 1..token.end as usize - 1],
            )),
            Kind::EscapedString => Some(Cow::Owned(
                serde_json::from_str(self.raw()).expect("an escaped string that parsed before"),
            )),
            _ => None,
        }
    }

    /// A number's literal; `None` for anything else.
    pub fn as_number(&self) -> Option<&'a str> {
        (self.kind() == Kind::Number).then(|| self.raw())
    }

    /// The elements of an array, the members of an object; 0 otherwise.
    pub fn len(&self) -> usize {
        match self.kind() {
            Kind::Array | Kind::Object => self.token().count as usize,
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An array's elements.
    pub fn elements(&self) -> Children<'a> {
        self.children(1)
    }

    /// An object's members: each name (a string node) and its value.
    pub fn members(&self) -> Members<'a> {
        Members(self.children(2))
    }

    /// The value of an object's member `name`.
    pub fn get(&self, name: &str) -> Option<NodeRef<'a>> {
        self.members()
            .find(|(key, _)| key.is_named(name))
            .map(|(_, value)| value)
    }

    /// The value `pointer` (RFC 6901) names under this one.
    pub fn pointer(&self, pointer: &str) -> Option<NodeRef<'a>> {
        if pointer.is_empty() {
            return Some(*self);
        }
        let mut node = *self;
        for step in pointer.strip_prefix('/')?.split('/') {
            let step = step.replace("~1", "/").replace("~0", "~");
            node = match node.kind() {
                Kind::Object => node.get(&step)?,
                Kind::Array => node.elements().nth(step.parse().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Whether this string node reads `name`.
    fn is_named(&self, name: &str) -> bool {
        let token = self.token();
        match self.kind() {
            Kind::String => {
                // Lengths first: most names differ in length.
                (token.end - token.start) as usize == name.len() + 2
                    && &self.doc.text.as_bytes()[token.start as usize + 1..token.end as usize - 1]
                        == name.as_bytes()
            }
            _ => self.as_str().is_some_and(|s| s == name),
        }
    }

    /// The `count` children of a container, each `step` tokens apart at the top (2 for an
    /// object: a name, then a value).
    fn children(&self, step: u32) -> Children<'a> {
        Children {
            doc: self.doc,
            at: self.at + 1,
            left: self.len() as u32 * step,
        }
    }

    /// The value as a `serde_json::Value`, for cold paths (error messages, `const` checks).
    pub fn to_value(&self) -> serde_json::Value {
        match self.doc.edits.is_empty() {
            true => serde_json::from_str(self.raw()).expect("a value that parsed before"),
            false => serde_json::to_value(self).expect("a document always serializes"),
        }
    }
}

/// Consecutive sibling tokens of a container, each a whole value (or member name).
#[derive(Clone)]
pub struct Children<'a> {
    doc: &'a Doc,
    at: u32,
    left: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = NodeRef<'a>;

    fn next(&mut self) -> Option<NodeRef<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let node = NodeRef {
            doc: self.doc,
            at: self.at,
        };
        self.at = node.token().next;
        Some(node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// An object's members, as (name, value) nodes.
#[derive(Clone)]
pub struct Members<'a>(Children<'a>);

impl<'a> Iterator for Members<'a> {
    type Item = (NodeRef<'a>, NodeRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        Some((self.0.next()?, self.0.next()?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.0.left as usize / 2;
        (left, Some(left))
    }
}
