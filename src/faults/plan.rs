//! Reading a fault plan (`--faults FILE`, `POST /__tailtape/faults`) and checking it: JSON
//! syntax, the groups of a rule (exactly one selector, one choice, one action), the format
//! against `schemas/faults.schema.json`, then what a schema cannot say (the operation exists in
//! the operation table, `retry_after` only with 429 or 503, a range's `min` not above its
//! `max`). Every error names the file (or `<request body>`), the line and column, and why.

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::{Action, Delay, Plan, Rule, Select, When};
use crate::document::{self, Document, DocumentError};
use crate::embedded;
use crate::routes::OperationTable;

/// Why a plan was refused.
pub type PlanError = DocumentError;

/// Reads and checks the plan in `path`.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let (file, text) = document::read(path)?;
    parse(&file, &text)
}

/// Checks the plan in `text`; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Plan, PlanError> {
    let document = Document { file, text };
    let invalid = |pointer: &str, message: String| document.invalid(pointer, message);
    let value = document.json()?;
    if let Some(rules) = value.get("rules").and_then(Value::as_array) {
        for (i, rule) in rules.iter().enumerate() {
            if let Some(rule) = rule.as_object() {
                groups(rule).map_err(|m| invalid(&format!("/rules/{i}"), m))?;
            }
        }
    }
    if let Some(err) = validator().iter_errors(&value).next() {
        let pointer = err.instance_path().as_str().to_string();
        let at = if pointer.is_empty() {
            "the top level"
        } else {
            &pointer
        };
        let message = match err.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                format!("{at}: unknown field \"{}\"", unexpected.join("\", \""))
            }
            _ => format!("{at}: {err}"),
        };
        return Err(invalid(&pointer, message));
    }
    let raw: RawPlan =
        serde_json::from_value(value).map_err(|e| invalid("", format!("the top level: {e}")))?;
    let mut rules = Vec::new();
    for (i, rule) in raw.rules.into_iter().enumerate() {
        let pointer = format!("/rules/{i}");
        let rule = rule
            .check(raw.seed.unwrap_or(0), super::table())
            .map_err(|(field, m)| invalid(&format!("{pointer}/{field}"), m))?;
        rules.push(rule);
    }
    Ok(Plan {
        source: file.to_string(),
        rules,
    })
}

/// The keys of a rule's groups: a rule has exactly one of each (the selector may be `operation`
/// or `method` with `path`).
const WHEN: &[&str] = &["first", "every", "fraction"];
const ACTIONS: &[&str] = &["status", "delay", "reset", "truncate"];

fn groups(rule: &serde_json::Map<String, Value>) -> Result<(), String> {
    let has = |key: &str| rule.contains_key(key);
    match (has("operation"), has("method"), has("path")) {
        (true, false, false) | (false, true, true) => {}
        (true, _, _) => {
            return Err("a rule selects by operation or by method and path, not both".into());
        }
        (false, true, false) => return Err("a rule with a method needs a path too".into()),
        (false, false, true) => return Err("a rule with a path needs a method too".into()),
        (false, false, false) => {
            return Err(
                "a rule needs an operation (an operationId, or \"*\" for every request), or a \
                 method and a path"
                    .into(),
            );
        }
    }
    for (what, keys) in [("when it acts", WHEN), ("what it does", ACTIONS)] {
        let present: Vec<&str> = keys.iter().copied().filter(|k| has(k)).collect();
        if present.len() != 1 {
            let found = if present.is_empty() {
                "none".to_string()
            } else {
                present.join(" and ")
            };
            return Err(format!(
                "a rule says {what} with exactly one of {}; this one has {found}",
                keys.join(", ")
            ));
        }
    }
    Ok(())
}

/// The compiled plan format.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text =
            embedded::schema_file("faults.schema.json").expect("the plan schema is embedded");
        let schema: Value = serde_json::from_str(text).expect("the embedded plan schema is JSON");
        jsonschema::validator_for(&schema).expect("the embedded plan schema compiles")
    })
}

#[derive(Deserialize)]
struct RawPlan {
    seed: Option<u64>,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
struct RawRule {
    name: Option<String>,
    operation: Option<String>,
    method: Option<String>,
    path: Option<String>,
    first: Option<u64>,
    every: Option<u64>,
    fraction: Option<f64>,
    seed: Option<u64>,
    status: Option<u16>,
    retry_after: Option<u64>,
    message: Option<String>,
    delay: Option<RawDelay>,
    reset: Option<bool>,
    truncate: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDelay {
    Fixed(u64),
    Range { min: u64, max: u64 },
}

/// A problem with one field of a rule: (its key, why).
type FieldError = (&'static str, String);

impl RawRule {
    fn check(self, seed: u64, table: &OperationTable) -> Result<Rule, FieldError> {
        let select = match (self.operation, self.method, self.path) {
            (Some(id), _, _) if id == "*" => Select::Any,
            (Some(id), _, _) => match table.get(&id) {
                Some(op) => Select::Operation {
                    id: op.id.clone(),
                    label: id,
                },
                None => {
                    return Err((
                        "operation",
                        format!(
                            "no operation {id:?}; `tailtape schemas list` lists the \
                             operationIds (\"*\" selects every request)"
                        ),
                    ));
                }
            },
            (None, Some(method), Some(path)) => {
                let found = table.operations().iter().find(|op| {
                    op.method.eq_ignore_ascii_case(&method)
                        && (op.path == path || op.aliases.contains(&path))
                });
                match found {
                    Some(op) => Select::Operation {
                        id: op.id.clone(),
                        label: format!("{} {path}", method.to_ascii_uppercase()),
                    },
                    None => {
                        return Err((
                            "path",
                            format!(
                                "no operation {} {path}; a path is a template as `tailtape \
                                 schemas list` prints it (/api/v2/tailnet/{{tailnet}}/devices)",
                                method.to_ascii_uppercase()
                            ),
                        ));
                    }
                }
            }
            _ => unreachable!("checked by groups()"),
        };
        let when = match (self.first, self.every, self.fraction) {
            (Some(n), _, _) => When::First(n),
            (_, Some(k), _) => When::Every(k),
            (_, _, Some(p)) => When::Fraction(p),
            _ => unreachable!("checked by groups()"),
        };
        if let (Some(after), Some(status)) = (self.retry_after, self.status)
            && status != 429
            && status != 503
        {
            return Err((
                "retry_after",
                format!("retry_after ({after} s) goes with status 429 or 503, not {status}"),
            ));
        }
        if self.status.is_none() {
            for (key, given) in [
                ("retry_after", self.retry_after.is_some()),
                ("message", self.message.is_some()),
            ] {
                if given {
                    return Err((
                        key,
                        format!("{key} goes with status, and this rule has none"),
                    ));
                }
            }
        }
        let action = match (self.status, self.delay, self.reset, self.truncate) {
            (Some(status), _, _, _) => Action::Status {
                status,
                retry_after: self.retry_after,
                message: self.message,
            },
            (_, Some(RawDelay::Fixed(ms)), _, _) => Action::Delay(Delay { min: ms, max: ms }),
            (_, Some(RawDelay::Range { min, max }), _, _) => {
                if min > max {
                    return Err((
                        "delay",
                        format!("the delay's min ({min} ms) is above its max ({max} ms)"),
                    ));
                }
                Action::Delay(Delay { min, max })
            }
            (_, _, Some(_), _) => Action::Reset,
            (_, _, _, Some(n)) => Action::Truncate(n),
            _ => unreachable!("checked by groups()"),
        };
        Ok(Rule {
            name: self.name,
            select,
            when,
            action,
            seed: self.seed.unwrap_or(seed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        parse("plan.json", text).unwrap_err().to_string()
    }

    #[test]
    fn a_plan_reads_into_rules() {
        let plan = parse(
            "plan.json",
            r#"{"seed": 3, "rules": [
                {"operation": "listTailnetDevices", "first": 2, "status": 429, "retry_after": 1},
                {"method": "get", "path": "/api/v2/device/{deviceId}", "every": 3, "delay": {"min": 1, "max": 5}},
                {"operation": "*", "fraction": 0.5, "seed": 9, "reset": true}
            ]}"#,
        )
        .unwrap();
        assert_eq!(plan.rules.len(), 3);
        assert_eq!(plan.rules[0].when, When::First(2));
        assert_eq!(plan.rules[0].seed, 3);
        assert_eq!(
            plan.rules[1].select.label(),
            "GET /api/v2/device/{deviceId}"
        );
        assert_eq!(
            plan.rules[1].action,
            Action::Delay(Delay { min: 1, max: 5 })
        );
        assert_eq!(plan.rules[2].select, Select::Any);
        assert_eq!(plan.rules[2].seed, 9);
    }

    #[test]
    fn a_bad_plan_is_refused_with_its_place() {
        assert_eq!(
            refused(
                "{\"rules\": [\n  {\"operation\": \"listDevices\", \"first\": 1, \"status\": 503}\n]}"
            ),
            "plan.json:2:17: no operation \"listDevices\"; `tailtape schemas list` lists the \
             operationIds (\"*\" selects every request)"
        );
        assert_eq!(
            refused("{\"rules\": [\n  {\"operation\": \"*\", \"first\": 1}\n]}"),
            "plan.json:2:3: a rule says what it does with exactly one of status, delay, reset, \
             truncate; this one has none"
        );
        assert_eq!(
            refused("{\"rules\": [{\"operation\": \"*\", \"first\": 0, \"reset\": true}]}"),
            "plan.json:1:40: /rules/0/first: 0 is less than the minimum of 1"
        );
        assert!(refused("{\"rules\": [}").starts_with("plan.json:1:12: not valid JSON"));
        assert!(
            refused("{\"rules\": [{\"operation\": \"*\", \"every\": 2, \"status\": 500, \"retry_after\": 1}]}")
                .contains("retry_after (1 s) goes with status 429 or 503, not 500")
        );
        assert!(refused("{\"rule\": []}").contains("unknown field \"rule\""));
    }
}
