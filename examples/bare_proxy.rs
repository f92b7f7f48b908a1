//! The proxy baseline of `scripts/bench-record`: a reverse proxy on the stack `tailtape record`
//! uses (hyper's server, hyper-util's pooled client, each answer read whole before it is
//! passed on) that records nothing, the least any recording proxy costs per exchange.
//!
//! Usage: cargo run --release --example bare_proxy -- UPSTREAM_URL [ADDR]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

fn io(err: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    std::io::Error::other(err)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let upstream = args.next().expect("usage: bare_proxy UPSTREAM_URL [ADDR]");
    let listener =
        tokio::net::TcpListener::bind(args.next().unwrap_or("127.0.0.1:0".into())).await?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    println!("bare proxy on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (client, upstream) = (client.clone(), upstream.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (client, upstream) = (client.clone(), upstream.clone());
                async move {
                    let (mut parts, body) = request.into_parts();
                    let body = body.collect().await.map_err(io)?.to_bytes();
                    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                    parts.uri = format!("{upstream}{path}").parse().map_err(io)?;
                    parts.headers.remove(hyper::header::HOST);
                    let answer = client
                        .request(hyper::Request::from_parts(parts, Full::new(body)))
                        .await
                        .map_err(io)?;
                    let (parts, body) = answer.into_parts();
                    let body = body.collect().await.map_err(io)?.to_bytes();
                    Ok::<_, std::io::Error>(hyper::Response::from_parts(parts, Full::new(body)))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
