//! Walks over every string of an exchange: the method, path, header names and values, the
//! query, and every string in a body (JSON strings and object keys, text, binary bytes read as
//! text), each with its [`Place`], which is written out (`response body /devices/0/name`) only
//! when a leak is reported, so that a clean exchange is walked without building names.

use serde_json::Value;

use crate::body::Body;
use crate::cassette::Interaction;
use crate::json::{Kind, NodeRef};

/// Where a string sits in an exchange; written out (`response body /devices/0/name`) only when
/// a leak is reported, so that a clean exchange is scanned without building names.
pub struct Place<'a> {
    pub side: &'static str,
    pub part: Part<'a>,
    /// Object keys and array indices down to the string, for a body.
    path: &'a [Step<'a>],
}

#[derive(Clone, Copy)]
pub enum Part<'a> {
    Method,
    Path,
    HeaderName,
    Header(&'a str),
    Query,
    Body,
}

pub enum Step<'a> {
    Key(&'a str),
    /// A member of a [`crate::json::Doc`], by its name node.
    Name(NodeRef<'a>),
    Index(usize),
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.part {
            Part::Method => return write!(f, "{} method", self.side),
            Part::Path => return write!(f, "{} path", self.side),
            Part::HeaderName => return write!(f, "{} header name", self.side),
            Part::Header(name) => return write!(f, "{} header {name}", self.side),
            Part::Query => return write!(f, "{} query", self.side),
            Part::Body => write!(f, "{} body", self.side)?,
        }
        if !self.path.is_empty() {
            f.write_str(" ")?;
        }
        for step in self.path {
            match step {
                Step::Key(key) => write!(f, "/{}", escape(key))?,
                Step::Name(name) => write!(f, "/{}", escape(&name.as_str().unwrap_or_default()))?,
                Step::Index(i) => write!(f, "/{i}")?,
            }
        }
        Ok(())
    }
}

/// A member name as a JSON pointer step.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Calls `f(place, string)` for every string of an exchange as the cassette holds it: the
/// method and path, header names and values, the query, and every string in a body (JSON
/// strings and object keys, text).
pub fn visit_strings(interaction: &Interaction, f: &mut impl FnMut(&Place, &str)) {
    for (part, line) in [
        (Part::Method, &interaction.request.method),
        (Part::Path, &interaction.request.path),
    ] {
        let place = Place {
            side: "request",
            part,
            path: &[],
        };
        f(&place, line);
    }
    for (side, headers, query, body) in [
        (
            "request",
            &interaction.request.headers,
            interaction.request.query.as_deref(),
            &interaction.request.body,
        ),
        (
            "response",
            &interaction.response.headers,
            None,
            &interaction.response.body,
        ),
    ] {
        let at = |part| Place {
            side,
            part,
            path: &[],
        };
        for (name, value) in headers {
            f(&at(Part::HeaderName), name);
            f(&at(Part::Header(name)), value);
        }
        if let Some(query) = query {
            f(&at(Part::Query), query);
        }
        match body {
            Body::Json(value) => visit_json(value, side, &mut Vec::new(), f),
            Body::Doc(doc) => visit_doc(doc.root(), side, &mut Vec::new(), f),
            Body::Text(text) => f(&at(Part::Body), text),
            Body::Binary(bytes) => f(&at(Part::Body), &String::from_utf8_lossy(bytes)),
            Body::Empty => {}
        }
    }
}

fn body_place<'a>(side: &'static str, path: &'a [Step<'a>]) -> Place<'a> {
    Place {
        side,
        part: Part::Body,
        path,
    }
}

fn visit_json<'v>(
    value: &'v Value,
    side: &'static str,
    path: &mut Vec<Step<'v>>,
    f: &mut impl FnMut(&Place, &str),
) {
    match value {
        Value::String(s) => f(&body_place(side, path), s),
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key));
                f(&body_place(side, path), key);
                visit_json(child, side, path, f);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                visit_json(child, side, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

fn visit_doc<'v>(
    node: NodeRef<'v>,
    side: &'static str,
    path: &mut Vec<Step<'v>>,
    f: &mut impl FnMut(&Place, &str),
) {
    match node.kind() {
        Kind::String | Kind::EscapedString => {
            f(&body_place(side, path), &node.as_str().unwrap_or_default())
        }
        Kind::Object => {
            for (name, child) in node.members() {
                path.push(Step::Name(name));
                f(&body_place(side, path), &name.as_str().unwrap_or_default());
                visit_doc(child, side, path, f);
                path.pop();
            }
        }
        Kind::Array => {
            for (i, child) in node.elements().enumerate() {
                path.push(Step::Index(i));
                visit_doc(child, side, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

pub fn visit_strings_mut(interaction: &mut Interaction, f: &mut impl FnMut(&mut String)) {
    for (headers, body) in [
        (
            &mut interaction.request.headers,
            &mut interaction.request.body,
        ),
        (
            &mut interaction.response.headers,
            &mut interaction.response.body,
        ),
    ] {
        headers.values_mut().for_each(&mut *f);
        match body {
            Body::Json(value) => visit_json_mut(value, f),
            Body::Doc(doc) => {
                let mut replaced = Vec::new();
                visit_doc_values(doc.root(), &mut |node| {
                    let before = node.as_str().unwrap_or_default();
                    let mut after = before.to_string();
                    f(&mut after);
                    if after != before {
                        replaced.push((node.index(), after));
                    }
                });
                for (index, with) in replaced {
                    doc.replace(index, with);
                }
            }
            Body::Text(text) => f(text),
            Body::Binary(_) | Body::Empty => {}
        }
    }
    if let Some(query) = &mut interaction.request.query {
        f(query);
    }
}

fn visit_json_mut(value: &mut Value, f: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Object(map) => map.values_mut().for_each(|child| visit_json_mut(child, f)),
        Value::Array(items) => items.iter_mut().for_each(|child| visit_json_mut(child, f)),
        _ => {}
    }
}

/// Every string value under `node` (member names aside, as [`visit_json_mut`] does).
fn visit_doc_values<'v>(node: NodeRef<'v>, f: &mut impl FnMut(NodeRef<'v>)) {
    match node.kind() {
        Kind::String | Kind::EscapedString => f(node),
        Kind::Object => node
            .members()
            .for_each(|(_, child)| visit_doc_values(child, f)),
        Kind::Array => node.elements().for_each(|child| visit_doc_values(child, f)),
        _ => {}
    }
}
