//! The path as matching compares it: written under its operation's own template when it came
//! under an alias (`/tailnet/-/vip-services/…` is `/tailnet/-/services/…`), and with `-` for the
//! tailnet's own name. The name is learned from what the loaded cassettes show ([`Tailnets`]).

use serde_json::Value;

use super::equivalence::{Equivalence, Notes};
use crate::cassette::{Request, Response};
use crate::routes::{Lookup, Operation, OperationTable};

/// The names by which the loaded cassettes show their own tailnet, learned from recordings
/// that succeeded: a `{tailnet}` path segment other than `-`, and the `tailnet` field the API
/// puts at the top of the audit and flow logs ([`NAMED_IN_ANSWER`]). Not learned: MagicDNS
/// names and login domains, which also name the tailnets of shared-in devices and users. Kept
/// lower case (tailnet names are case-insensitive); there are one or two.
#[derive(Debug, Default)]
pub struct Tailnets(Vec<String>);

/// Operations whose answer names the caller's tailnet in a top-level `tailnet` field.
const NAMED_IN_ANSWER: &[&str] = &["listConfigurationAuditLogs", "listNetworkFlowLogs"];

/// The path parameter that names a tailnet, and its segment in a template.
const TAILNET_PARAM: &str = "tailnet";
const TAILNET_SEGMENT: &str = "{tailnet}";

impl Tailnets {
    pub fn learn(&mut self, table: &OperationTable, request: &Request, response: &Response) {
        if !(200..300).contains(&response.status) {
            return;
        }
        let Lookup::Found { operation, params } =
            table.lookup(&request.method, &super::normalise_path(&request.path))
        else {
            return;
        };
        for (name, value) in params {
            if name == TAILNET_PARAM {
                self.insert(&value);
            }
        }
        if NAMED_IN_ANSWER.contains(&operation.id.as_str())
            && let Some(body) = response.body.json()
            && let Some(name) = body.get("tailnet").and_then(Value::as_str)
        {
            self.insert(name);
        }
    }

    /// Takes `name` as the tailnet's own (a cassette's `recorded.tailnet`).
    pub fn insert(&mut self, name: &str) {
        if name != "-" && !name.is_empty() && !self.is_own(name) {
            self.0.push(name.to_ascii_lowercase());
        }
    }

    /// Whether `segment` names the cassettes' own tailnet.
    pub fn is_own(&self, segment: &str) -> bool {
        self.0.iter().any(|name| name.eq_ignore_ascii_case(segment))
    }
}

/// `{name}` of a template segment that is a parameter.
fn param(part: &str) -> Option<&str> {
    part.strip_prefix('{')?.strip_suffix('}')
}

/// Whether `path` has the segments of `template`.
fn fits(template: &str, path: &str) -> bool {
    let (mut parts, mut segments) = (template.split('/'), path.split('/'));
    loop {
        match (parts.next(), segments.next()) {
            (None, None) => return true,
            (Some(part), Some(segment)) if param(part).is_some() || part == segment => {}
            _ => return false,
        }
    }
}

/// The segment of `path` under parameter `name` of `template` (which `path` fits).
fn segment<'p>(template: &str, path: &'p str, name: &str) -> Option<&'p str> {
    template
        .split('/')
        .zip(path.split('/'))
        .find_map(|(part, segment)| (param(part) == Some(name)).then_some(segment))
}

/// `path` (normalised) written under `operation`'s own template, with `-` for the tailnet's own
/// name: a path under an alias template is noted [`Equivalence::PathAlias`], a tailnet name
/// [`Equivalence::TailnetName`]. `None` (and no allocation) when nothing is rewritten.
pub fn canonical_path(
    operation: &Operation,
    path: &str,
    tailnets: &Tailnets,
    notes: &mut Notes,
) -> Option<String> {
    // The router found the operation under one of its templates: with no alias, under its own.
    if operation.aliases.is_empty()
        && (tailnets.0.is_empty() || !operation.path.contains(TAILNET_SEGMENT))
    {
        return None;
    }
    let template = std::iter::once(&operation.path)
        .chain(&operation.aliases)
        .find(|template| fits(template, path))?;
    let alias = template != &operation.path;
    let own_name =
        segment(template, path, TAILNET_PARAM).filter(|name| *name != "-" && tailnets.is_own(name));
    if !alias && own_name.is_none() {
        return None;
    }
    if alias {
        notes.note(Equivalence::PathAlias, &["path"], template);
    }
    if let Some(name) = own_name {
        notes.note(Equivalence::TailnetName, &["path"], name);
    }
    let written: Vec<&str> = operation
        .path
        .split('/')
        .map(|part| match param(part) {
            Some(TAILNET_PARAM) if own_name.is_some() => "-",
            Some(name) => segment(template, path, name).unwrap_or_default(),
            None => part,
        })
        .collect();
    Some(written.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(path: &str, aliases: &[&str]) -> Operation {
        serde_json::from_value(serde_json::json!({
            "method": "GET", "path": path, "aliases": aliases, "responses": {}
        }))
        .unwrap()
    }

    #[test]
    fn an_alias_is_written_under_the_own_template_and_the_own_name_as_dash() {
        let op = operation(
            "/api/v2/tailnet/{tailnet}/services/{name}",
            &["/api/v2/tailnet/{tailnet}/vip-services/{name}"],
        );
        let mut tailnets = Tailnets::default();
        tailnets.insert("Example.com");
        let mut notes = Notes::default();
        let path = |p: &str, notes: &mut Notes| {
            canonical_path(&op, p, &tailnets, notes).unwrap_or_else(|| p.to_string())
        };

        assert_eq!(
            path("/api/v2/tailnet/example.COM/vip-services/svc:a", &mut notes),
            "/api/v2/tailnet/-/services/svc:a"
        );
        assert_eq!(
            notes.differing(&Notes::default()).collect::<Vec<_>>(),
            [Equivalence::TailnetName, Equivalence::PathAlias]
        );
        let mut untouched = Notes::default();
        assert_eq!(
            path(
                "/api/v2/tailnet/other.example/services/svc:a",
                &mut untouched
            ),
            "/api/v2/tailnet/other.example/services/svc:a"
        );
        assert_eq!(untouched, Notes::default());
    }
}
