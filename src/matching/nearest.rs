//! The nearest recorded request to one that matched nothing, for the 501's message. Candidates
//! are ranked by how much they share with the request: the same operation (method and path
//! template) first, then the same path template under another method, then the same method
//! and path (for undocumented paths), then the same path, then every recording; among the
//! candidates of the first group that has any, the one with the fewest differing lines in its
//! rendering wins (then the most similar, then the first recorded). Only unmatched requests
//! pay for this; a match is one hash probe.
//!
//! Routes are kept as the XXH3-64 of their text (most are one recording's own path, so a
//! route's text would cost more than its group; a collision could only add candidates to a
//! group, and is vanishingly unlikely among millions), and a group of one recording holds it
//! inline.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

use similar::{ChangeTag, TextDiff};

use super::form::Form;
use super::{Cheap, Group, Renderings, map_bytes};
use crate::routes::Operation;

/// The recorded requests grouped by what ranks them.
#[derive(Debug, Default)]
pub struct Index {
    by_operation: Cheap<usize, Group<u32>>,
    by_template: HashMap<String, Group<u32>>,
    /// By the XXH3-64 of the route's text.
    by_route: Cheap<u64, Group<u32>>,
}

impl Index {
    /// Files recorded request `index` of `operation` with canonical `form`.
    pub fn add(&mut self, index: usize, operation: Option<&Operation>, form: &Form) {
        let index = index as u32;
        for key in keys(operation, form) {
            match key {
                Key::Operation(op) => file(&mut self.by_operation, op, index),
                Key::Template(t) => file(&mut self.by_template, t, index),
                Key::Route(r) => file(&mut self.by_route, route(&r), index),
            }
        }
    }

    /// The indices of the first group that shares anything with `form`, or `None` (then every
    /// recording is a candidate).
    pub fn candidates(&self, operation: Option<&Operation>, form: &Form) -> Option<&[u32]> {
        keys(operation, form).into_iter().find_map(|key| {
            match key {
                Key::Operation(op) => self.by_operation.get(&op),
                Key::Template(t) => self.by_template.get(&t),
                Key::Route(r) => self.by_route.get(&route(&r)),
            }
            .map(Group::as_slice)
        })
    }

    /// Bytes of memory the index takes (see [`super::Matcher::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        let groups = |groups: &mut dyn Iterator<Item = &Group<u32>>| -> usize {
            groups.map(Group::heap_bytes).sum()
        };
        map_bytes(&self.by_operation)
            + groups(&mut self.by_operation.values())
            + map_bytes(&self.by_template)
            + self.by_template.keys().map(String::capacity).sum::<usize>()
            + groups(&mut self.by_template.values())
            + map_bytes(&self.by_route)
            + groups(&mut self.by_route.values())
    }
}

/// Adds `index` to the group of `key`.
fn file<K: Hash + Eq, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, Group<u32>, S>,
    key: K,
    index: u32,
) {
    match map.entry(key) {
        Entry::Occupied(mut group) => group.get_mut().push(index),
        Entry::Vacant(group) => {
            group.insert(Group::One(index));
        }
    }
}

/// What a route is kept as.
fn route(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
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
    rendered: &Renderings,
    candidates: impl Iterator<Item = usize>,
    received: &str,
) -> Option<usize> {
    candidates
        .map(|i| {
            let diff = TextDiff::from_lines(rendered.get(i), received);
            let differences = diff
                .iter_all_changes()
                .filter(|change| change.tag() != ChangeTag::Equal)
                .count();
            (i, differences, diff.ratio())
        })
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)))
        .map(|(i, _, _)| i)
}
