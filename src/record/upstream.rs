//! The real API, as the recorder reaches it: HTTPS through rustls (ring, the bundled Mozilla
//! roots, plus a private CA from `--upstream-ca`), or plain HTTP for local upstreams. Each
//! request is sent as received (hop-by-hop headers and Host aside) and the answer comes back
//! as bytes, still compressed if it was. The `user:password@` of an upstream URL is a secret:
//! [`Upstream::url`] shows it masked (`http://<redacted>@host`), for the cassette, stdout, logs
//! and error messages; only the client sees the real one.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1); Host, which the
/// client sets for the upstream; and tailtape's own session header, which is for the fake, not
/// the API (it is neither forwarded nor recorded).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    crate::replay::SESSION_HEADER,
    "host",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The most an answer's declared length reserves at once (256 MiB); a larger answer grows its
/// buffer as it arrives.
const MAX_RESERVED: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream {0} is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("cannot read the CA file {file}: {message}")]
    Ca { file: String, message: String },
    #[error("no answer from the upstream within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the upstream failed: {0}")]
    Failed(String),
}

/// An upstream answer.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

pub struct Upstream {
    /// The URL requests go to, credentials included.
    base: String,
    /// The URL as shown and stored: its credentials masked.
    shown: String,
    timeout: Duration,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    /// A client for `url` (`https://api.tailscale.com`), trusting `ca` besides the web roots,
    /// that waits `timeout` for each answer.
    pub fn new(url: &str, ca: Option<&Path>, timeout: Duration) -> Result<Upstream, UpstreamError> {
        let base = url.trim_end_matches('/').to_string();
        let shown = mask_credentials(&base);
        let bad_url = || UpstreamError::BadUrl(mask_credentials(url));
        let uri: Uri = base.parse().map_err(|_| bad_url())?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(bad_url());
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(file) = ca {
            let ca_error = |message: String| UpstreamError::Ca {
                file: file.display().to_string(),
                message,
            };
            let certificates: Vec<CertificateDer> = CertificateDer::pem_file_iter(file)
                .map_err(|e| ca_error(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| ca_error(e.to_string()))?;
            if certificates.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| ca_error(e.to_string()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| UpstreamError::Failed(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Requests go out whole at once: no Nagle delay waiting for an acknowledgement.
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Upstream {
            base,
            shown,
            timeout,
            client,
        })
    }

    /// The upstream URL as it may be shown or stored: `user:password@` masked.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Sends the request on to the upstream and reads the whole answer.
    pub async fn send(
        &self,
        parts: &hyper::http::request::Parts,
        body: Bytes,
    ) -> Result<Reply, UpstreamError> {
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = hyper::Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{target}", self.base))
            .body(Full::new(body))
            .map_err(|e| self.failed(&e))?;
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                request.headers_mut().append(name.clone(), value.clone());
            }
        }
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| self.failed(&e))?;
            let (head, mut body) = response.into_parts();
            // Read into one buffer of the declared length, so that a large answer is never
            // held twice (as chunks, then copied whole).
            let declared = head
                .headers
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                .unwrap_or(0);
            let mut bytes = BytesMut::with_capacity(declared.min(MAX_RESERVED));
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.map_err(|e| self.failed(&e))?.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            let body = bytes.freeze();
            Ok(Reply {
                status: head.status.as_u16(),
                headers: head.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| UpstreamError::Timeout(self.timeout))?
    }
}

impl Upstream {
    /// A failure, its message with the upstream's credentials masked (an error may quote the
    /// URL).
    fn failed(&self, err: &dyn std::error::Error) -> UpstreamError {
        let text = chain(err);
        UpstreamError::Failed(match self.base.split_once("://") {
            Some((_, rest)) => match rest.split('/').next().and_then(|a| a.rsplit_once('@')) {
                Some((credentials, _)) => {
                    let text = text.replace(credentials, "<redacted>");
                    match credentials.split_once(':') {
                        Some((_, password)) if !password.is_empty() => {
                            text.replace(password, "<redacted>")
                        }
                        _ => text,
                    }
                }
                None => text,
            },
            None => text,
        })
    }
}

/// `url` with the `user:password` (or `user`) before `@` in its authority shown as
/// `<redacted>`.
pub fn mask_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<redacted>{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// An error with its causes, `a: b: c`, so "connection refused" or a TLS reason shows.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_masked() {
        assert_eq!(
            mask_credentials("http://user:pa55@127.0.0.1:8/api?x=a@b"),
            "http://<redacted>@127.0.0.1:8/api?x=a@b"
        );
        assert_eq!(
            mask_credentials("https://api.tailscale.com"),
            "https://api.tailscale.com"
        );
        assert_eq!(
            mask_credentials("http://a@b@host"),
            "http://<redacted>@host"
        );
    }
}
