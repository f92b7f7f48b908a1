//! What a resource handler gets and gives: a [`Call`] (the operation, its path and query
//! parameters, the request, the session's tailnet) and a [`Reply`] (status, headers, body). The
//! error shapes live here once: `{"message": …}` with the texts the bundled recordings show
//! (`not found`), so every resource answers its errors the same way.

use serde_json::{Value, json};

use super::state::Tailnet;
use crate::body::{Body, parse_hujson};
use crate::cassette::{Request, parse_query};

/// One request, as a handler sees it.
pub struct Call<'a> {
    /// The operationId.
    pub op: &'a str,
    pub params: &'a [(String, String)],
    pub query: Vec<(String, String)>,
    pub request: &'a Request,
    pub tailnet: &'a mut Tailnet,
}

/// A handler: one operation of one resource. `Err` is an error answer, so that a handler can
/// use `?` on each step that may refuse the request.
pub type Handler = fn(&mut Call) -> Outcome;

/// What a handler answers: `Ok` or `Err`, both a [`Reply`] to send.
pub type Outcome = Result<Reply, Reply>;

impl Call<'_> {
    /// A path parameter (the table guarantees the ones of the operation's template).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.headers.get(name).map(String::as_str)
    }

    /// The body as JSON (a HuJSON text is parsed; a form becomes an object of its fields), or
    /// the 400 to answer.
    pub fn json(&self) -> Result<Value, Reply> {
        match &self.request.body {
            body @ (Body::Json(_) | Body::Doc(_)) => Ok(body.json().expect("JSON").into_owned()),
            Body::Text(text) => parse_hujson(text)
                .map_err(|e| Reply::error(400, format!("the request body is not JSON: {e}"))),
            Body::Empty => Err(Reply::error(400, "the request body is missing")),
            Body::Binary(_) => Err(Reply::error(400, "the request body is not JSON")),
        }
    }

    /// The body as a JSON object, or the 400 to answer.
    pub fn object(&self) -> Result<serde_json::Map<String, Value>, Reply> {
        match self.json()? {
            Value::Object(object) => Ok(object),
            _ => Err(Reply::error(400, "the request body must be a JSON object")),
        }
    }

    /// The body as form fields (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> Vec<(String, String)> {
        match &self.request.body {
            Body::Text(text) => parse_query(text),
            Body::Json(Value::Object(object)) => object
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// An answer, before it is checked against the response schema and sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn ok(body: Value) -> Reply {
        Reply::json(200, body)
    }

    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
        }
    }

    /// 200 with `{}`, what most changes answer.
    pub fn done() -> Reply {
        Reply::ok(json!({}))
    }

    /// A status with no body (`DELETE`s that the recordings show answering nothing).
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// An error in Tailscale's shape, `{"message": …}`.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "message": message.into() }))
    }

    /// 404 as the API answers an unknown id.
    pub fn not_found() -> Reply {
        Reply::error(404, "not found")
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}
