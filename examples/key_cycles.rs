//! The load of `scripts/bench-replay`'s emulator key cycle: CONNECTIONS tasks, each creating an
//! auth key, reading it back and deleting it, over and over for SECONDS, against a tailtape
//! emulator (or any server of the API); prints the cycles completed per second. Every answer's
//! status is checked, so a cycle that fails stops the run rather than counting.
//!
//! Usage: cargo run --release --example key_cycles -- BASE_URL [CONNECTIONS] [SECONDS]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const CREATE: &str = r#"{"capabilities":{"devices":{"create":{"reusable":false,"ephemeral":true}}},"expirySeconds":3600}"#;

type Http = Client<HttpConnector, Full<Bytes>>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: key_cycles BASE_URL [CONNECTIONS] [SECONDS]");
    let connections: usize = args.next().map_or(8, |n| n.parse().expect("a count"));
    let seconds: u64 = args.next().map_or(5, |n| n.parse().expect("seconds"));
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, base, done) = (client.clone(), base.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                while Instant::now() < until {
                    cycle(&client, &base).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a cycle failed");
    }
    let cycles = done.load(Ordering::Relaxed);
    let rate = cycles as f64 / started.elapsed().as_secs_f64();
    println!("key cycles: {cycles} in {seconds} s, {rate:.0} cycles/s ({connections} connections)");
}

/// Create, get, delete one key.
async fn cycle(client: &Http, base: &str) {
    let created = send(
        client,
        "POST",
        &format!("{base}/api/v2/tailnet/-/keys"),
        CREATE,
    )
    .await;
    let id = serde_json::from_slice::<serde_json::Value>(&created)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .expect("the create answer has an id");
    let key = format!("{base}/api/v2/tailnet/-/keys/{id}");
    send(client, "GET", &key, "").await;
    send(client, "DELETE", &key, "").await;
}

async fn send(client: &Http, method: &str, url: &str, body: &str) -> Bytes {
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", "Bearer tskey-api-bench")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid request");
    let answer = client.request(request).await.expect("the server answers");
    let status = answer.status();
    let body = answer
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    assert!(
        status.is_success(),
        "{method} {url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    body
}
