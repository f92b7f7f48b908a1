//! What validation reports. An [`Issue`] is one problem with one side of one exchange; a
//! [`Finding`] is an issue placed in a cassette. The level follows DESIGN.md: `error` when the
//! documented contract is broken, `warning` for drift that documented clients tolerate.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Request,
    Response,
    /// The cassette file itself (cut short), not one side of an exchange.
    Cassette,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
            Side::Cassette => "cassette",
        }
    }
}

/// The rules a finding can carry, besides the JSON Schema keywords (`type`, `required`, `enum`,
/// `format`, `pattern`, ...) that name body and parameter errors.
pub mod rule {
    /// warning: no documented operation has this method and path.
    pub const UNDOCUMENTED_ENDPOINT: &str = "undocumented-endpoint";
    /// warning: the operation does not document this response status.
    pub const UNDOCUMENTED_STATUS: &str = "undocumented-status";
    /// warning: a body field no documentation lists.
    pub const UNDOCUMENTED_FIELD: &str = "undocumented-field";
    /// warning: a query parameter the operation does not document.
    pub const UNDOCUMENTED_QUERY_PARAM: &str = "undocumented-query-param";
    /// warning: a body where the operation documents none.
    pub const UNEXPECTED_BODY: &str = "unexpected-body";
    /// warning: a content-type header other than the documented media types.
    pub const CONTENT_TYPE: &str = "content-type";
    /// error: a documented query or path parameter with a value the docs do not allow.
    pub const PARAM: &str = "param";
    /// error: a required query parameter is absent.
    pub const MISSING_PARAM: &str = "missing-param";
    /// error: the documented body is absent.
    pub const MISSING_BODY: &str = "missing-body";
    /// error: a documented response header is absent (the policy file's ETag).
    pub const MISSING_HEADER: &str = "missing-header";
    /// error: the body is not of the documented media type (not JSON where JSON is documented).
    pub const MEDIA_TYPE: &str = "media-type";
    /// error: a HuJSON body that does not parse.
    pub const HUJSON_SYNTAX: &str = "hujson-syntax";
    /// warning, error under `--strict`: the cassette ends inside its interactions (a recorder
    /// killed mid-write, a file cut short); those before the cut were read.
    pub const TRUNCATED: &str = "truncated";
}

/// One problem with one side of an exchange.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// The OpenAPI operationId, `None` for an undocumented endpoint.
    pub operation: Option<String>,
    pub side: Side,
    pub level: Level,
    pub rule: Cow<'static, str>,
    /// JSON pointer into the body, `""` for the whole body (and for parameters and statuses).
    pub pointer: String,
    pub message: String,
}

/// `side pointer: message [rule]`, without the pointer when it is the whole body: how every
/// report, log and test case shows an issue (each adds its own level and context in front).
impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.side.as_str())?;
        if !self.pointer.is_empty() {
            write!(f, " {}", self.pointer)?;
        }
        write!(f, ": {} [{}]", self.message, self.rule)
    }
}

/// An issue placed in a cassette.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub cassette: String,
    /// Index of the interaction in the cassette, from 0.
    pub interaction: usize,
    #[serde(flatten)]
    pub issue: Issue,
}
