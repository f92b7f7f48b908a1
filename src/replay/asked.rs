//! A request as replay reads it, without building one: [`Asked`] gives a request's method,
//! path, query and headers as `Replay::answer` and the memo read them, either from a cassette
//! [`Request`] or straight from a bodiless hyper request. A repeated bodiless request (the memo
//! knows it) is then answered from hyper's own head, copying no header into a map of owned
//! strings; the [`Request`] is built only where something needs it whole (checking and
//! matching a request seen for the first time, messages, unmatched requests).

use std::borrow::Cow;

use hyper::body::Incoming;
use hyper::header::HeaderName;

use crate::cassette::Request;

/// A request's parts, as [`Request`] holds them: header names lower case, a header sent more
/// than once joined with ", ", no empty query.
pub(crate) trait Asked {
    fn method(&self) -> &str;
    fn path(&self) -> &str;
    fn query(&self) -> Option<&str>;
    /// The value of header `name`, as [`crate::http::to_headers`] gives it.
    fn header(&self, name: &HeaderName) -> Option<Cow<'_, str>>;
    /// Whether the request has no body.
    fn bodiless(&self) -> bool;
    /// The request as a cassette request.
    fn request(&self) -> Cow<'_, Request>;
}

impl Asked for Request {
    fn method(&self) -> &str {
        &self.method
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    fn header(&self, name: &HeaderName) -> Option<Cow<'_, str>> {
        let value = self.headers.get(name.as_str())?;
        Some(Cow::Borrowed(value.as_str()))
    }

    fn bodiless(&self) -> bool {
        self.body.is_empty()
    }

    fn request(&self) -> Cow<'_, Request> {
        Cow::Borrowed(self)
    }
}

/// A hyper request whose body is not read: only one that [says it has none](Asked::bodiless)
/// is asked this way (its [`Asked::request`] has an empty body).
impl Asked for hyper::Request<Incoming> {
    fn method(&self) -> &str {
        self.method().as_str()
    }

    fn path(&self) -> &str {
        self.uri().path()
    }

    fn query(&self) -> Option<&str> {
        self.uri().query().filter(|q| !q.is_empty())
    }

    fn header(&self, name: &HeaderName) -> Option<Cow<'_, str>> {
        crate::http::header_text(self.headers(), name)
    }

    fn bodiless(&self) -> bool {
        hyper::body::Body::is_end_stream(self.body())
    }

    fn request(&self) -> Cow<'_, Request> {
        Cow::Owned(crate::http::head_request(self))
    }
}

#[cfg(test)]
mod tests {
    use crate::http::{head_request, header_text, to_headers, to_request};

    #[test]
    fn a_hyper_head_reads_as_the_request_built_from_it() {
        let request = hyper::Request::get("/api/v2/tailnet/-/devices?")
            .header("X-Tag", "one")
            .header("Authorization", "Bearer k")
            .header("x-tag", "two")
            .header(
                "x-bytes",
                hyper::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
            )
            .body(())
            .unwrap();
        let head = head_request(&request);
        let (parts, ()) = request.into_parts();

        assert_eq!(head, to_request(&parts, &[]));
        assert_eq!(head.query, None);
        let joined = to_headers(&parts.headers);
        for name in ["x-tag", "authorization", "x-bytes", "accept"] {
            let header = hyper::header::HeaderName::from_static(name);
            assert_eq!(
                header_text(&parts.headers, &header).as_deref(),
                joined.get(name).map(String::as_str),
                "{name}"
            );
        }
        let tag = hyper::header::HeaderName::from_static("x-tag");
        assert_eq!(
            header_text(&parts.headers, &tag).as_deref(),
            Some("one, two")
        );
    }
}
