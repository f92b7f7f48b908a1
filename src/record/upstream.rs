//! The real API, as the recorder reaches it: HTTPS through rustls (ring, the bundled Mozilla
//! roots, plus a private CA from `--upstream-ca`), or plain HTTP for local upstreams. Each
//! request is sent as received (hop-by-hop headers and Host aside) and the answer comes back
//! as bytes, still compressed if it was.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), and Host, which
/// the client sets for the upstream.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
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
    base: String,
    timeout: Duration,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    /// A client for `url` (`https://api.tailscale.com`), trusting `ca` besides the web roots,
    /// that waits `timeout` for each answer.
    pub fn new(url: &str, ca: Option<&Path>, timeout: Duration) -> Result<Upstream, UpstreamError> {
        let base = url.trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|_| UpstreamError::BadUrl(url.into()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(UpstreamError::BadUrl(url.into()));
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
            timeout,
            client,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
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
            .map_err(|e| UpstreamError::Failed(e.to_string()))?;
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
                .map_err(|e| UpstreamError::Failed(chain(&e)))?;
            let (head, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| UpstreamError::Failed(chain(&e)))?
                .to_bytes();
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
