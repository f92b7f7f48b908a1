//! The baseline for `scripts/bench-replay` and the upstream of `scripts/bench-record`: a bare
//! hyper HTTP/1.1 server that answers every request with the same precomputed bytes, the most
//! any server can do per request. `TAILTAPE_BENCH_DELAY_MS` makes each answer wait that long
//! first (without using the CPU), as a remote API's answers do.
//!
//! Usage: cargo run --release --example bare_hyper -- BODY_FILE [ADDR]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let body = Bytes::from(std::fs::read(
        args.next().expect("usage: bare_hyper BODY_FILE [ADDR]"),
    )?);
    let listener =
        tokio::net::TcpListener::bind(args.next().unwrap_or("127.0.0.1:0".into())).await?;
    let delay = std::env::var("TAILTAPE_BENCH_DELAY_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis);
    println!("bare hyper on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_request| {
                let mut response = hyper::Response::new(Full::new(body.clone()));
                response.headers_mut().insert(
                    "content-type",
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                async move {
                    if let Some(delay) = delay {
                        // tokio's timer has millisecond ticks; a thread sleeps to the microsecond.
                        let _ =
                            tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
