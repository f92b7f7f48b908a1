//! The nearest recorded request to one that matched nothing, for the 501's message. Candidates
//! are ranked by how much they share with the request: the same operation (method and path
//! template) first, then the same path template under another method, then the same method
//! and path (for undocumented paths), then the same path, then every recording; among the
//! candidates of the first group that has any, the one with the fewest differing lines in its
//! rendering wins (then the most similar, then the first recorded). Only unmatched requests
//! pay for this; a match is one hash probe.

use std::collections::HashMap;

use similar::{ChangeTag, TextDiff};

use super::form::Form;
use crate::routes::Operation;

/// The recorded requests grouped by what ranks them.
#[derive(Debug, Default)]
pub struct Index {
    by_operation: HashMap<usize, Vec<usize>>,
    by_template: HashMap<String, Vec<usize>>,
    by_route: HashMap<String, Vec<usize>>,
}

impl Index {
    /// Files recorded request `index` of `operation` with canonical `form`.
    pub fn add(&mut self, index: usize, operation: Option<&Operation>, form: &Form) {
        for key in keys(operation, form) {
            match key {
                Key::Operation(op) => self.by_operation.entry(op).or_default().push(index),
                Key::Template(t) => self.by_template.entry(t).or_default().push(index),
                Key::Route(r) => self.by_route.entry(r).or_default().push(index),
            }
        }
    }

    /// The indices of the first group that shares anything with `form`, or `None` (then every
    /// recording is a candidate).
    pub fn candidates(&self, operation: Option<&Operation>, form: &Form) -> Option<&[usize]> {
        keys(operation, form).into_iter().find_map(|key| {
            match key {
                Key::Operation(op) => self.by_operation.get(&op),
                Key::Template(t) => self.by_template.get(&t),
                Key::Route(r) => self.by_route.get(&r),
            }
            .map(Vec::as_slice)
        })
    }
}

enum Key {
    Operation(usize),
    Template(String),
    Route(String),
}

/// The groups a request belongs to, most specific first.
fn keys(operation: Option<&Operation>, form: &Form) -> Vec<Key> {
    let mut keys = Vec::new();
    if let Some(op) = operation {
        keys.push(Key::Operation(op.index));
        keys.push(Key::Template(op.path.clone()));
    }
    keys.push(Key::Route(format!("{} {}", form.method, form.path)));
    keys.push(Key::Route(form.path.clone()));
    keys
}

/// The candidate (an index into `rendered`) nearest to `received`.
pub fn rank(
    rendered: &[String],
    candidates: impl Iterator<Item = usize>,
    received: &str,
) -> Option<usize> {
    candidates
        .map(|i| {
            let diff = TextDiff::from_lines(rendered[i].as_str(), received);
            let differences = diff
                .iter_all_changes()
                .filter(|change| change.tag() != ChangeTag::Equal)
                .count();
            (i, differences, diff.ratio())
        })
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)))
        .map(|(i, _, _)| i)
}
