//! `tailtape diff OLD NEW`: what changed between two recordings of the same scenario, such as
//! a nightly re-recording against the live API and the committed cassette.
//!
//! Interactions are paired by request with the replay matcher (the k-th occurrence of a
//! request in NEW pairs with its k-th in OLD); each pair's responses are compared on status,
//! content-type and body. Fields that change on every recording are ignored by default
//! ([`VOLATILE_FIELDS`], anywhere in a JSON body), as are other headers (ETag, Date); `--ignore`
//! adds JSON pointers, where `*` stands for any one segment (`/devices/*/addresses`). A pair
//! that still differs is shown as a list of JSON pointers and a unified diff. Exit 1 when
//! anything differs or is on one side only, 0 otherwise.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};
use similar::TextDiff;

use crate::body::Body;
use crate::cassette::{self, Cassette, Response, media_type};
use crate::cli::{DiffArgs, Format};
use crate::matching::Matcher;
use crate::schema::{Contract, truncate};
use crate::style;

/// JSON fields that differ between any two recordings, ignored wherever they appear: device
/// activity and versions (`lastSeen`, `clientVersion`, `updateAvailable`), the times the server
/// stamps when something is created, changed, revoked, synced or sent (`created`, `expires`,
/// `lastEmailSentAt`, `lastModified`, `updated`, `configUpdated`, `revoked`, `lastSync`,
/// `lastActivity`: a re-recording, or the emulator's virtual clock, writes its own), DERP
/// latency figures (`latency`).
pub const VOLATILE_FIELDS: &[&str] = &[
    "lastSeen",
    "created",
    "expires",
    "lastEmailSentAt",
    "lastModified",
    "updated",
    "configUpdated",
    "revoked",
    "lastSync",
    "lastActivity",
    "clientVersion",
    "updateAvailable",
    "latency",
];

/// One difference inside a pair, at a JSON pointer into the response body (`""` for the whole
/// body; `status` and `content-type` name themselves).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    Changed {
        at: String,
        old: String,
        new: String,
    },
    Added {
        at: String,
        new: String,
    },
    Removed {
        at: String,
        old: String,
    },
}

/// `~ POINTER: OLD -> NEW`, `+ POINTER: NEW`, `- POINTER: OLD`.
impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Changed { at, old, new } => write!(f, "~ {at}: {old} -> {new}"),
            Change::Added { at, new } => write!(f, "+ {at}: {new}"),
            Change::Removed { at, old } => write!(f, "- {at}: {old}"),
        }
    }
}

/// A pair of interactions whose responses differ.
#[derive(Debug)]
pub struct PairDiff {
    pub old_index: usize,
    pub new_index: usize,
    pub request: String,
    pub changes: Vec<Change>,
    pub unified: String,
}

#[derive(Debug, Default)]
pub struct CassetteDiff {
    pub pairs: usize,
    pub differing: Vec<PairDiff>,
    /// (index, request) of interactions in OLD with no partner in NEW.
    pub only_old: Vec<(usize, String)>,
    pub only_new: Vec<(usize, String)>,
}

impl CassetteDiff {
    pub fn is_empty(&self) -> bool {
        self.differing.is_empty() && self.only_old.is_empty() && self.only_new.is_empty()
    }

    /// The same as [`CassetteDiff::to_human`], for programs: `old` and `new` name the files,
    /// `differing` holds each pair's changes (`kind` changed, added or removed, at a JSON
    /// pointer) and unified diff, `only_old` / `only_new` the interactions without a partner.
    pub fn to_json(&self, old_name: &str, new_name: &str) -> Value {
        let one_side = |side: &[(usize, String)]| -> Vec<Value> {
            side.iter()
                .map(|(index, request)| json!({"index": index, "request": request}))
                .collect()
        };
        json!({
            "old": old_name,
            "new": new_name,
            "pairs": self.pairs,
            "differing": self.differing.iter().map(|pair| json!({
                "old_index": pair.old_index,
                "new_index": pair.new_index,
                "request": pair.request,
                "changes": pair.changes,
                "unified": pair.unified,
            })).collect::<Vec<_>>(),
            "only_old": one_side(&self.only_old),
            "only_new": one_side(&self.only_new),
        })
    }

    pub fn to_human(&self, old_name: &str, new_name: &str) -> String {
        let mut out = String::new();
        for pair in &self.differing {
            let _ = writeln!(
                out,
                "{}",
                style::heading(&format!(
                    "{} (OLD #{}, NEW #{})",
                    pair.request, pair.old_index, pair.new_index
                ))
            );
            write_changes(&mut out, &pair.changes, &pair.unified);
            out.push('\n');
        }
        for (index, request) in &self.only_old {
            let _ = writeln!(
                out,
                "{}",
                style::bad(&format!("only in {old_name}: #{index} {request}"))
            );
        }
        for (index, request) in &self.only_new {
            let _ = writeln!(
                out,
                "{}",
                style::good(&format!("only in {new_name}: #{index} {request}"))
            );
        }
        let _ = writeln!(
            out,
            "{} compared: {} differ, {} only in OLD, {} only in NEW",
            crate::log::count(self.pairs, "pair"),
            self.differing.len(),
            self.only_old.len(),
            self.only_new.len()
        );
        out
    }
}

/// Writes each change as a line (`  ~ POINTER: OLD -> NEW`, `  + POINTER: NEW`, `  - POINTER:
/// OLD`), then the unified diff indented; `parity` prints its differences the same way.
pub fn write_changes(out: &mut String, changes: &[Change], unified: &str) {
    for change in changes {
        let line = format!("  {change}");
        let line = match change {
            Change::Changed { .. } => style::warn(&line),
            Change::Added { .. } => style::good(&line),
            Change::Removed { .. } => style::bad(&line),
        };
        let _ = writeln!(out, "{line}");
    }
    for line in unified.lines() {
        let _ = writeln!(out, "    {line}");
    }
}

/// Compares two cassettes. `ignore` holds JSON pointers (with `*` segments) to leave out.
pub fn diff(
    contract: &Contract,
    old: &Cassette,
    new: &Cassette,
    ignore: &[String],
) -> CassetteDiff {
    let table = contract.table();
    let matcher = Matcher::new(contract, old.interactions.iter().map(|i| &i.request));
    let mut used = vec![0usize; matcher.sequence_count()];
    let mut paired_old = vec![false; old.interactions.len()];
    let mut result = CassetteDiff::default();
    for (new_index, interaction) in new.interactions.iter().enumerate() {
        let partner = matcher
            .find(table, &interaction.request)
            .and_then(|sequence| {
                let index = matcher.sequence(sequence).get(used[sequence]).copied();
                used[sequence] += 1;
                index
            });
        let Some(old_index) = partner else {
            result
                .only_new
                .push((new_index, interaction.request.to_string()));
            continue;
        };
        paired_old[old_index] = true;
        result.pairs += 1;
        let (changes, unified) = compare(
            &old.interactions[old_index].response,
            &interaction.response,
            ignore,
        );
        if !changes.is_empty() {
            result.differing.push(PairDiff {
                old_index,
                new_index,
                request: interaction.request.to_string(),
                changes,
                unified,
            });
        }
    }
    for (index, paired) in paired_old.iter().enumerate() {
        if !paired {
            result
                .only_old
                .push((index, old.interactions[index].request.to_string()));
        }
    }
    result
}

/// The changes between two responses (status, content-type, body with [`VOLATILE_FIELDS`] and
/// the `ignore` pointers left out), and a unified diff of their bodies when both are JSON or
/// text. `diff` compares a pair of recordings with it, `parity` a recording and a live answer.
pub fn compare(old: &Response, new: &Response, ignore: &[String]) -> (Vec<Change>, String) {
    let mut changes = Vec::new();
    if old.status != new.status {
        changes.push(Change::Changed {
            at: "status".into(),
            old: old.status.to_string(),
            new: new.status.to_string(),
        });
    }
    let (old_type, new_type) = (media_type(&old.headers), media_type(&new.headers));
    if old_type != new_type {
        let show = |t: Option<String>| t.unwrap_or_else(|| "(none)".into());
        changes.push(Change::Changed {
            at: "content-type".into(),
            old: show(old_type),
            new: show(new_type),
        });
    }
    let mut unified = String::new();
    match (old.body.json(), new.body.json()) {
        (Some(a), Some(b)) => {
            let (a, b) = (stripped(&a, ignore), stripped(&b, ignore));
            let before = changes.len();
            compare_values(&a, &b, &mut String::new(), &mut changes);
            if changes.len() > before {
                let (a, b) = (pretty(&a), pretty(&b));
                unified = unified_diff(&a, &b);
            }
        }
        _ if old.body != new.body => {
            let (a, b) = (&old.body, &new.body);
            let describe = |body: &Body| match body {
                Body::Empty => "(empty)".to_string(),
                Body::Json(_) | Body::Doc(_) => "JSON".to_string(),
                Body::Text(t) => format!("{} bytes of text", t.len()),
                Body::Binary(b) => format!("{} bytes", b.len()),
            };
            changes.push(Change::Changed {
                at: String::new(),
                old: describe(a),
                new: describe(b),
            });
            if let (Body::Text(a), Body::Text(b)) = (a, b) {
                unified = unified_diff(a, b);
            }
        }
        _ => {}
    }
    (changes, unified)
}

fn unified_diff(old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header("OLD", "NEW")
        .to_string()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// A copy of `value` without the volatile fields and the ignored pointers.
fn stripped(value: &Value, ignore: &[String]) -> Value {
    let patterns: Vec<Vec<&str>> = ignore
        .iter()
        .map(|p| p.split('/').skip(1).collect())
        .collect();
    let mut copy = value.clone();
    strip(&mut copy, &mut Vec::new(), &patterns);
    copy
}

fn strip(value: &mut Value, path: &mut Vec<String>, patterns: &[Vec<&str>]) {
    let ignored = |path: &[String]| {
        patterns.iter().any(|p| {
            p.len() == path.len()
                && p.iter()
                    .zip(path)
                    .all(|(want, got)| *want == "*" || unescape(want) == *got)
        })
    };
    match value {
        Value::Object(map) => {
            map.retain(|key, _| {
                path.push(key.clone());
                let keep = !VOLATILE_FIELDS.contains(&key.as_str()) && !ignored(path);
                path.pop();
                keep
            });
            for (key, child) in map.iter_mut() {
                path.push(key.clone());
                strip(child, path, patterns);
                path.pop();
            }
        }
        Value::Array(items) => {
            let mut index = 0;
            items.retain(|_| {
                path.push(index.to_string());
                let keep = !ignored(path);
                path.pop();
                index += 1;
                keep
            });
            for (i, child) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                strip(child, path, patterns);
                path.pop();
            }
        }
        _ => {}
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Walks two JSON values together, recording each difference at its pointer.
fn compare_values(old: &Value, new: &Value, at: &mut String, changes: &mut Vec<Change>) {
    let short = |v: &Value| truncate(v.to_string(), 80);
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old_child) in a {
                let len = at.len();
                at.push('/');
                at.push_str(&escape(key));
                match b.get(key) {
                    Some(new_child) => compare_values(old_child, new_child, at, changes),
                    None => changes.push(Change::Removed {
                        at: at.clone(),
                        old: short(old_child),
                    }),
                }
                at.truncate(len);
            }
            for (key, new_child) in b {
                if !a.contains_key(key) {
                    changes.push(Change::Added {
                        at: format!("{at}/{}", escape(key)),
                        new: short(new_child),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = at.len();
                let _ = write!(at, "/{i}");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => compare_values(x, y, at, changes),
                    (Some(x), None) => changes.push(Change::Removed {
                        at: at.clone(),
                        old: short(x),
                    }),
                    (None, Some(y)) => changes.push(Change::Added {
                        at: at.clone(),
                        new: short(y),
                    }),
                    (None, None) => {}
                }
                at.truncate(len);
            }
        }
        (a, b) if a != b => changes.push(Change::Changed {
            at: at.clone(),
            old: short(a),
            new: short(b),
        }),
        _ => {}
    }
}

pub fn command(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let contract = Contract::load(None)?;
    let old = cassette::load(&args.old)?;
    let new = cassette::load(&args.new)?;
    let result = diff(&contract, &old, &new, &args.ignore);
    let (old_name, new_name) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    match args.format {
        Format::Human => style::print(&result.to_human(&old_name, &new_name)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&result.to_json(&old_name, &new_name))?
        ),
    }
    Ok(if result.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(body: Value) -> Response {
        Response {
            status: 200,
            headers: [("content-type".to_string(), "application/json".to_string())].into(),
            body: Body::Json(body),
        }
    }

    #[test]
    fn times_the_server_stamps_are_not_differences_but_the_rest_is() {
        let old = answer(json!({
            "id": "kA", "description": "ci", "revoked": "2026-11-23T10:00:09Z",
            "updated": "2026-11-23T10:00:09Z",
            "status": {"lastSync": "2026-11-23T10:00:06.250168Z", "matchedCount": 1},
        }));
        let new = answer(json!({
            "id": "kA", "description": "ci", "updated": "2026-11-23T10:00:02Z",
            "status": {"lastSync": "2026-11-23T10:00:01Z", "matchedCount": 1},
        }));
        assert_eq!(compare(&old, &new, &[]).0, vec![]);
        let renamed = answer(json!({"id": "kA", "description": "renamed"}));
        assert_eq!(
            compare(&old, &renamed, &[]).0,
            vec![
                Change::Changed {
                    at: "/description".into(),
                    old: "\"ci\"".into(),
                    new: "\"renamed\"".into(),
                },
                Change::Removed {
                    at: "/status".into(),
                    old: "{\"matchedCount\":1}".into(),
                },
            ]
        );
    }
}
