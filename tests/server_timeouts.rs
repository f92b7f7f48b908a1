//! Every server closes connections a client leaves hanging: `--header-timeout` for a request
//! head that never completes, `--idle-timeout` for a kept-alive connection with nothing in
//! flight. Before these existed, 10 idle connections held for 70 s were never closed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Reads until the server closes the connection; how long that took, or `None` if it was still
/// open after `limit`. Returns everything read too.
fn wait_for_close(conn: &mut TcpStream, limit: Duration) -> (Option<Duration>, Vec<u8>) {
    let start = Instant::now();
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return (Some(start.elapsed()), read),
            Ok(n) => read.extend_from_slice(&buf[..n]),
            // A reset is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (Some(start.elapsed()), read);
            }
            Err(_) => return (None, read),
        }
        if start.elapsed() > limit {
            return (None, read);
        }
    }
}

/// A keep-alive GET whose answer is read, then the connection is left open.
fn one_kept_alive_request(addr: SocketAddr, target: &str) -> TcpStream {
    let mut conn = TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET {target} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer x\r\n\r\n"
    )
    .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(conn.read(&mut byte).unwrap(), 1, "answer head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).unwrap();
    conn
}

#[test]
fn replay_closes_an_idle_kept_alive_connection_after_the_idle_timeout() {
    let (server, addr) =
        common::start(&["replay", "--idle-timeout", "1", "--header-timeout", "30"]);
    let mut conn = one_kept_alive_request(addr, "/api/v2/tailnet/-/dns/searchpaths");

    let (closed, _) = wait_for_close(&mut conn, Duration::from_secs(5));

    let closed = closed.expect("the idle connection was closed");
    assert!(closed >= Duration::from_millis(800), "{closed:?}");
    drop(server);
}

#[test]
fn replay_closes_a_connection_whose_request_head_never_completes() {
    let (server, addr) =
        common::start(&["replay", "--header-timeout", "1", "--idle-timeout", "30"]);
    let mut silent = TcpStream::connect(addr).unwrap();
    let mut partial = TcpStream::connect(addr).unwrap();
    partial
        .write_all(b"GET /api/v2/tailnet/-/dns/searchpaths HTTP/1.1\r\nhost: t\r\n")
        .unwrap();

    let (silent_closed, _) = wait_for_close(&mut silent, Duration::from_secs(5));
    let (partial_closed, _) = wait_for_close(&mut partial, Duration::from_secs(5));

    assert!(
        silent_closed.is_some(),
        "a connection that sent nothing was closed"
    );
    assert!(
        partial_closed.is_some(),
        "a connection with half a head was closed"
    );
    // The server still serves.
    let mut conn = one_kept_alive_request(addr, "/api/v2/tailnet/-/dns/searchpaths");
    conn.write_all(b"").unwrap();
    drop(server);
}

/// On HTTP/1.1 the next request's head must arrive within the header timeout of the last
/// answer, however long the idle timeout.
#[test]
fn replay_closes_a_kept_alive_connection_whose_next_head_never_completes() {
    let (server, addr) =
        common::start(&["replay", "--header-timeout", "1", "--idle-timeout", "30"]);
    let mut conn = one_kept_alive_request(addr, "/api/v2/tailnet/-/dns/searchpaths");
    conn.write_all(b"GET /api/v2/tailnet/-/dns/searchpaths HTTP/1.1\r\nhost: t\r\n")
        .unwrap();

    let (closed, read) = wait_for_close(&mut conn, Duration::from_secs(5));

    let closed = closed.expect("the connection with half a second head was closed");
    assert!(closed >= Duration::from_millis(800), "{closed:?}");
    assert!(read.is_empty(), "{}", String::from_utf8_lossy(&read));
    drop(server);
}

/// HTTP/2 with prior knowledge (as h2c clients speak it) is served too, recorded headers and
/// all; between requests an HTTP/2 connection is held for the idle timeout, not the header one.
#[test]
fn replay_serves_http2_and_closes_it_after_the_idle_timeout() {
    use http_body_util::BodyExt;

    let (server, addr) = common::start(&["replay", "--header-timeout", "1", "--idle-timeout", "3"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        let closed = tokio::spawn(async move {
            let _ = connection.await;
            Instant::now()
        });
        for _ in 0..2 {
            let request =
                hyper::Request::get(format!("http://{addr}/api/v2/tailnet/-/dns/searchpaths"))
                    .header("authorization", "Bearer x")
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
            let answer = send.send_request(request).await.unwrap();
            assert_eq!(answer.status(), 200);
            assert_eq!(answer.version(), hyper::Version::HTTP_2);
            assert_eq!(answer.headers()["content-type"], "application/json");
            let body = answer.into_body().collect().await.unwrap().to_bytes();
            assert!(body.starts_with(br#"{"searchPaths":["#), "{body:?}");
        }
        let answered = Instant::now();

        let closed = tokio::time::timeout(Duration::from_secs(10), closed)
            .await
            .expect("the idle HTTP/2 connection was closed")
            .unwrap();

        let quiet = closed - answered;
        assert!(quiet >= Duration::from_millis(2500), "{quiet:?}");
    });
    drop(server);
}

#[test]
fn record_closes_idle_and_half_sent_connections_too() {
    let upstream = common::TestUpstream::start(None, |_, _, _| {
        (
            200,
            vec![("content-type".into(), "application/json".into())],
            b"{}".to_vec(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("session.json");
    let upstream_url = format!("http://{}", upstream.addr);
    let (server, addr) = common::start(&[
        "record",
        "--cassette",
        cassette.to_str().unwrap(),
        "--upstream",
        &upstream_url,
        "--idle-timeout",
        "1",
        "--header-timeout",
        "1",
    ]);
    let mut idle = one_kept_alive_request(addr, "/api/v2/tailnet/-/dns/searchpaths");
    let mut partial = TcpStream::connect(addr).unwrap();
    partial
        .write_all(b"GET /api/v2/tailnet/-/dns/searchpaths HTTP/1.1\r\n")
        .unwrap();

    let (idle_closed, _) = wait_for_close(&mut idle, Duration::from_secs(5));
    let (partial_closed, _) = wait_for_close(&mut partial, Duration::from_secs(5));

    assert!(idle_closed.is_some(), "the idle connection was closed");
    assert!(
        partial_closed.is_some(),
        "the half-sent request's connection was closed"
    );
    let (code, stderr) = common::stop(server, "TERM");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn timeout_flags_refuse_zero() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tailtape"))
        .args(["replay", "--idle-timeout", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--idle-timeout"));
}

/// A client that stops sending its request body half-way used to hold the connection for ever:
/// the request counted as in flight, so neither timeout applied. A body that stops arriving
/// for the idle timeout now gets 408 and the connection closes.
#[test]
fn replay_gives_up_on_a_request_body_that_stops_arriving() {
    let (server, addr) =
        common::start(&["replay", "--idle-timeout", "1", "--header-timeout", "30"]);
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(
        b"POST /api/v2/tailnet/-/dns/searchpaths HTTP/1.1\r\nhost: t\r\n\
          authorization: Bearer x\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"searchPaths\": [",
    )
    .unwrap();

    let (closed, answer) = wait_for_close(&mut conn, Duration::from_secs(10));

    let closed = closed.expect("the stalled upload's connection was closed");
    assert!(closed >= Duration::from_millis(800), "{closed:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request body"), "{answer}");
    drop(server);
}
