//! Checking an exchange against the contract: the operation is looked up, its path and query
//! parameters and its body are validated, and schema errors become [`Issue`]s. A body field the
//! schema does not list (`additionalProperties: false`) is a warning `undocumented-field`; every
//! other schema error is an error named after its JSON Schema keyword.

use std::borrow::{Borrow, Cow};

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use jsonschema::json::Json;
use serde_json::{Map, Value};

use super::Contract;
use crate::body::{Body, parse_hujson};
use crate::cassette::{Headers, Request, Response, media_type, parse_query};
use crate::finding::{Issue, Level, Side, rule};
use crate::routes::{BodySpec, Lookup, Media, Operation};

/// Messages quote the offending value; a whole object would drown the line.
const MAX_MESSAGE: usize = 240;

impl Contract {
    /// Checks one recorded exchange.
    pub fn check_exchange(&self, request: &Request, response: &Response) -> Vec<Issue> {
        let mut issues = Vec::new();
        let operation = self.check_request(request, &mut issues);
        if let Some(op) = operation {
            self.check_response(op, response, &mut issues);
        }
        issues
    }

    /// Checks a request; returns its operation, `None` for an undocumented endpoint.
    pub fn check_request<'c>(
        &'c self,
        request: &Request,
        issues: &mut Vec<Issue>,
    ) -> Option<&'c Operation> {
        let (op, path_params) = match self.table.lookup(&request.method, &request.path) {
            Lookup::Found { operation, params } => (operation, params),
            Lookup::WrongMethod { allowed } => {
                issues.push(undocumented_endpoint(format!(
                    "{} {} is not documented; this path documents {}",
                    request.method,
                    request.path,
                    allowed.join(", ")
                )));
                return None;
            }
            Lookup::NotFound => {
                issues.push(undocumented_endpoint(format!(
                    "{} {} matches no documented operation",
                    request.method, request.path
                )));
                return None;
            }
        };
        let at = Place {
            op,
            side: Side::Request,
        };
        let params = &self.params[op.index];
        for (name, value) in &path_params {
            if let Some(v) = params.path.get(name) {
                at.check_param(v, "path parameter", name, value, issues);
            }
        }
        let query = request.query_pairs();
        for (name, value) in &query {
            // `*` stands for every name the operation does not list (field filters).
            match params.query.get(name).or_else(|| params.query.get("*")) {
                Some(v) => at.check_param(v, "query parameter", name, value, issues),
                None => issues.push(at.issue(
                    Level::Warning,
                    rule::UNDOCUMENTED_QUERY_PARAM,
                    "",
                    format!("query parameter \"{name}\" is not documented for {}", op.id),
                )),
            }
        }
        for (name, spec) in &op.query {
            if spec.required && !query.iter().any(|(n, _)| n == name) {
                issues.push(at.issue(
                    Level::Error,
                    rule::MISSING_PARAM,
                    "",
                    format!("required query parameter \"{name}\" is missing"),
                ));
            }
        }
        self.check_body(
            at,
            op.request.as_ref(),
            &request.body,
            &request.headers,
            issues,
        );
        Some(op)
    }

    /// Checks a response to a request for `op`.
    pub fn check_response(&self, op: &Operation, response: &Response, issues: &mut Vec<Issue>) {
        let at = Place {
            op,
            side: Side::Response,
        };
        match self.table.response(op, response.status) {
            Some(spec) => {
                for name in &spec.headers {
                    if !response.headers.contains_key(name) {
                        issues.push(at.issue(
                            Level::Error,
                            rule::MISSING_HEADER,
                            "",
                            format!("the documented response header {name} is missing"),
                        ));
                    }
                }
                self.check_body(at, Some(spec), &response.body, &response.headers, issues)
            }
            None => {
                let documented: Vec<String> =
                    self.table.statuses(op).iter().map(u16::to_string).collect();
                issues.push(at.issue(
                    Level::Warning,
                    rule::UNDOCUMENTED_STATUS,
                    "",
                    format!(
                        "status {} is not documented for {} (documented: {})",
                        response.status,
                        op.id,
                        documented.join(", ")
                    ),
                ));
            }
        }
    }

    /// Checks a body against its documented spec: presence, media type, then schema.
    pub fn check_body(
        &self,
        at: Place<'_>,
        spec: Option<&BodySpec>,
        body: &Body,
        headers: &Headers,
        issues: &mut Vec<Issue>,
    ) {
        let Some(spec) = spec else {
            if !body.is_empty() {
                issues.push(at.issue(
                    Level::Warning,
                    rule::UNEXPECTED_BODY,
                    "",
                    "the documentation describes no body here".into(),
                ));
            }
            return;
        };
        if let Some(media) = media_type(headers).filter(|_| !body.is_empty())
            && !spec.media.iter().any(|m| m.mime() == media)
        {
            let documented: Vec<&str> = spec.media.iter().map(|m| m.mime()).collect();
            issues.push(at.issue(
                Level::Warning,
                rule::CONTENT_TYPE,
                "",
                format!(
                    "content-type {media} is not the documented {}",
                    documented.join(" or ")
                ),
            ));
        }
        let value: Cow<'_, Value> = match body {
            Body::Empty if spec.optional || spec.schema.is_none() => return,
            Body::Empty => {
                issues.push(at.issue(
                    Level::Error,
                    rule::MISSING_BODY,
                    "",
                    "the documented body is missing".into(),
                ));
                return;
            }
            Body::Json(value) => Cow::Borrowed(value),
            Body::Doc(doc) => {
                let reference = spec.schema.as_deref();
                match reference.and_then(|r| self.tape_validator(r)) {
                    Some(validator) => at.check_value(validator, doc.root(), issues),
                    None => {
                        if let Some(validator) = reference.and_then(|r| self.bodies.get(r)) {
                            at.check_value(validator, &doc.root().to_value(), issues);
                        }
                    }
                }
                return;
            }
            Body::Text(text) if spec.media.contains(&Media::Form) => {
                Cow::Owned(form_fields(text, headers))
            }
            Body::Text(text) if spec.media.contains(&Media::Hujson) => match parse_hujson(text) {
                Ok(value) => Cow::Owned(value),
                Err(err) => {
                    issues.push(at.issue(
                        Level::Error,
                        rule::HUJSON_SYNTAX,
                        "",
                        format!("body is not HuJSON: {err}"),
                    ));
                    return;
                }
            },
            Body::Text(_) | Body::Binary(_) => {
                let kind = if matches!(body, Body::Text(_)) {
                    "text"
                } else {
                    "binary data"
                };
                issues.push(at.issue(
                    Level::Error,
                    rule::MEDIA_TYPE,
                    "",
                    format!("body is {kind}, not the documented JSON"),
                ));
                return;
            }
        };
        if let Some(validator) = spec.schema.as_deref().and_then(|r| self.bodies.get(r)) {
            at.check_value(validator, value.borrow(), issues);
        }
    }
}

/// A form body as the object its fields make: a string per name, or an array of strings when the
/// name repeats, so that the schema of the fields validates it. Client credentials sent in
/// `Authorization: Basic` instead of the form (RFC 6749 2.3.1, as golang.org/x/oauth2 sends
/// them) count as the `client_id` and `client_secret` fields.
fn form_fields(text: &str, headers: &Headers) -> Value {
    let mut fields = Map::new();
    for (name, value) in parse_query(text) {
        let value = Value::String(value);
        match fields.get_mut(&name) {
            None => {
                fields.insert(name, value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    let basic = headers
        .get("authorization")
        .and_then(|value| value.get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "));
    if basic {
        for name in ["client_id", "client_secret"] {
            fields
                .entry(name)
                .or_insert_with(|| Value::String("<in Basic auth>".into()));
        }
    }
    Value::Object(fields)
}

fn undocumented_endpoint(message: String) -> Issue {
    Issue {
        operation: None,
        side: Side::Request,
        level: Level::Warning,
        rule: Cow::Borrowed(rule::UNDOCUMENTED_ENDPOINT),
        pointer: String::new(),
        message,
    }
}

/// The operation and side a check is about.
#[derive(Clone, Copy)]
pub struct Place<'o> {
    pub op: &'o Operation,
    pub side: Side,
}

impl Place<'_> {
    fn issue(
        self,
        level: Level,
        rule: impl Into<Cow<'static, str>>,
        pointer: &str,
        message: String,
    ) -> Issue {
        Issue {
            operation: Some(self.op.id.clone()),
            side: self.side,
            level,
            rule: rule.into(),
            pointer: pointer.to_string(),
            message: truncate(message, MAX_MESSAGE),
        }
    }

    fn check_param(
        self,
        validator: &Validator,
        what: &str,
        name: &str,
        value: &str,
        issues: &mut Vec<Issue>,
    ) {
        let value = Value::String(value.to_string());
        if validator.is_valid(&value) {
            return;
        }
        if let Some(err) = validator.iter_errors(&value).next() {
            issues.push(self.issue(
                Level::Error,
                rule::PARAM,
                "",
                format!("{what} {name}: {err}"),
            ));
        }
    }

    /// Validates a body value (in any representation); only a failing value pays for
    /// collecting the errors.
    fn check_value<'v, F: Json>(
        self,
        validator: &'v Validator<F>,
        value: F::Node<'v>,
        issues: &mut Vec<Issue>,
    ) {
        if validator.is_valid(value.clone()) {
            return;
        }
        for err in validator.iter_errors(value) {
            let pointer = err.instance_path().as_str();
            match err.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    for name in unexpected {
                        issues.push(self.issue(
                            Level::Warning,
                            rule::UNDOCUMENTED_FIELD,
                            &child_pointer(pointer, name),
                            format!("field \"{name}\" is not in the documentation"),
                        ));
                    }
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    issues.push(self.issue(
                        Level::Error,
                        "required",
                        &child_pointer(pointer, name),
                        format!("required field \"{name}\" is missing"),
                    ));
                }
                kind => issues.push(self.issue(
                    Level::Error,
                    kebab(kind.keyword()),
                    pointer,
                    err.to_string(),
                )),
            }
        }
    }
}

fn child_pointer(parent: &str, name: &str) -> String {
    format!("{parent}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// `additionalItems` -> `additional-items`: rules are kebab-case.
fn kebab(keyword: &str) -> String {
    let mut out = String::with_capacity(keyword.len() + 4);
    for c in keyword.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `message` cut to at most `max` bytes (on a character boundary), with `…` when cut. A cut
/// message is a new, small string: truncating in place would keep the whole allocation, and a
/// schema error quoting a 16 MiB body string would keep 16 MiB in every finding made of it.
pub(crate) fn truncate(message: String, max: usize) -> String {
    if message.len() <= max {
        return message;
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + '…'.len_utf8());
    cut.push_str(&message[..end]);
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cut_message_keeps_no_more_than_it_shows() {
        let long = format!("é{}", "a".repeat(1 << 20));
        let cut = truncate(long, 10);
        assert_eq!(cut, "éaaaaaaaa…");
        assert!(cut.capacity() < 64, "capacity {}", cut.capacity());
        assert_eq!(truncate("short".into(), 10), "short");
    }

    /// golang.org/x/oauth2 sends the client credentials in Basic auth, the form holding only
    /// the grant; without Basic auth the form must hold them.
    #[test]
    fn token_request_credentials_may_come_in_basic_auth() {
        let contract = Contract::load(None).unwrap();
        let token = |authorization: Option<&str>| {
            let mut headers = Headers::default();
            headers.insert(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            );
            if let Some(value) = authorization {
                headers.insert("authorization".into(), value.into());
            }
            let request = Request {
                method: "POST".into(),
                path: "/api/v2/oauth/token".into(),
                query: None,
                headers,
                body: Body::Text("grant_type=client_credentials".into()),
            };
            let mut issues = Vec::new();
            contract.check_request(&request, &mut issues);
            issues
                .iter()
                .map(|i| (i.rule.to_string(), i.pointer.clone()))
                .collect::<Vec<_>>()
        };

        assert_eq!(token(Some("Basic <redacted>")), []);
        assert_eq!(
            token(None),
            [
                ("required".to_string(), "/client_id".to_string()),
                ("required".to_string(), "/client_secret".to_string())
            ]
        );
        assert_eq!(token(Some("Bearer x")).len(), 2);
    }

    /// A body string breaking a `pattern` is quoted in the error; the finding must not keep it.
    #[test]
    fn a_finding_on_a_huge_body_string_is_small() {
        let contract = Contract::load(None).unwrap();
        let huge = format!("0{}", "a".repeat(4 << 20));
        let request = Request {
            method: "POST".into(),
            path: "/api/v2/device/n5SUKe8CNTRL/routes".into(),
            query: None,
            headers: Headers::default(),
            body: Body::Json(json!({ "routes": ["10.0.0.0/16", huge] })),
        };
        let mut issues = Vec::new();
        contract.check_request(&request, &mut issues);
        let pattern = issues
            .iter()
            .find(|i| i.rule == "pattern")
            .expect("a pattern finding");
        assert_eq!(pattern.pointer, "/routes/1");
        for issue in &issues {
            assert!(issue.message.len() <= MAX_MESSAGE + 3, "{}", issue.message);
            assert!(
                issue.message.capacity() < 1024,
                "capacity {}",
                issue.message.capacity()
            );
        }
    }
}
