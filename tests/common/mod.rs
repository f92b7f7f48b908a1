//! Helpers for tests that drive servers over real HTTP on 127.0.0.1: a raw HTTP/1.1 client,
//! the `tailtape` binary as a child process, and a small programmable upstream (plain or TLS).

#![allow(dead_code)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends raw bytes on a new connection and reads the whole answer (requests ask to close).
pub fn send_raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Reply> {
    let mut conn = TcpStream::connect(addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(20)))?;
    conn.write_all(bytes)?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: answer.get(split + 4..).unwrap_or_default().to_vec(),
    })
}

/// A request with `headers` (each `name: value`) and a body.
pub fn request(method: &str, target: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A `tailtape` child process, killed when dropped so that a failing test leaves nothing running.
pub struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `tailtape ARGS... --listen 127.0.0.1:0`; returns the child and the address it printed.
pub fn start(args: &[&str]) -> (Running, SocketAddr) {
    let (running, addr, _) = start_showing(args);
    (running, addr)
}

/// Sends `signal` (TERM, KILL) to a running child.
pub fn signal(running: &Running, signal: &str) {
    let child = running.0.as_ref().expect("running");
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to exit: its exit code (None if killed) and everything on stderr.
pub fn wait(mut running: Running) -> (Option<i32>, String) {
    let mut child = running.0.take().expect("running");
    let code = child.wait().unwrap().code();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (code, stderr)
}

/// Sends `signal` (TERM, KILL) and waits: the exit code (None if killed) and stderr.
pub fn stop(running: Running, sig: &str) -> (Option<i32>, String) {
    signal(&running, sig);
    wait(running)
}

/// What a test upstream answers: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A test upstream on 127.0.0.1, plain or TLS, answering with `answer(method, path, body)`.
pub struct TestUpstream {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestUpstream {
    pub fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        answer: impl Fn(&str, &str, &[u8]) -> Answer + Send + Sync + 'static,
    ) -> TestUpstream {
        let answer = Arc::new(answer);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                loop {
                    let (stream, _) = tokio::select! {
                        accepted = listener.accept() => accepted.unwrap(),
                        _ = &mut stopped => break,
                    };
                    let answer = Arc::clone(&answer);
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                                let answer = Arc::clone(&answer);
                                async move {
                                    let (parts, body) = request.into_parts();
                                    let body = body.collect().await.unwrap().to_bytes();
                                    let target = parts
                                        .uri
                                        .path_and_query()
                                        .map_or("/", |p| p.as_str())
                                        .to_string();
                                    let (status, headers, bytes) =
                                        answer(parts.method.as_str(), &target, &body);
                                    let mut response =
                                        hyper::Response::new(Full::new(Bytes::from(bytes)));
                                    *response.status_mut() =
                                        hyper::StatusCode::from_u16(status).unwrap();
                                    for (name, value) in headers {
                                        response.headers_mut().append(
                                            hyper::header::HeaderName::try_from(name).unwrap(),
                                            hyper::header::HeaderValue::try_from(value).unwrap(),
                                        );
                                    }
                                    Ok::<_, Infallible>(response)
                                }
                            });
                        let http = hyper::server::conn::http1::Builder::new();
                        match tls {
                            Some(config) => {
                                if let Ok(stream) =
                                    tokio_rustls::TlsAcceptor::from(config).accept(stream).await
                                {
                                    let _ =
                                        http.serve_connection(TokioIo::new(stream), service).await;
                                }
                            }
                            None => {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    });
                }
            })
        });
        TestUpstream {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// [`start`], also returning the first line the server printed on stdout.
pub fn start_showing(args: &[&str]) -> (Running, SocketAddr, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tailtape"))
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim_end().rsplit(' ').next().unwrap().to_string();
    let addr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("first line: {first}"));
    (Running(Some(child)), addr.parse().unwrap(), first)
}

/// Runs `tailtape ARGS...` to its end, killing it after `limit`: the exit code (None if it
/// had to be killed) and stderr.
pub fn run_for(args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tailtape"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    wait(Running(Some(child)))
}

/// The bundled cassette whose name ends with `name`.
pub fn bundled(name: &str) -> tailtape::cassette::Cassette {
    bundled_named(name).1
}

/// The bundled cassette whose name ends with `name`, with the name replay gives it.
pub fn bundled_named(name: &str) -> (String, tailtape::cassette::Cassette) {
    let source = tailtape::cassette::bundled()
        .into_iter()
        .find(|s| s.name().ends_with(name))
        .unwrap();
    (source.name(), source.load().unwrap())
}

/// The suites of a JUnit report: (name, test cases, failures).
pub fn junit_suites(xml: &str) -> Vec<(String, usize, usize)> {
    quick_junit::Report::deserialize_from_str(xml)
        .expect("valid JUnit XML")
        .test_suites
        .iter()
        .map(|s| (s.name.to_string(), s.test_cases.len(), s.failures))
        .collect()
}

/// Starts `tailtape record --cassette PATH --upstream URL EXTRA...`.
pub fn start_recorder(
    path: &std::path::Path,
    upstream: &str,
    extra: &[&str],
) -> (Running, SocketAddr) {
    let mut args = vec![
        "record",
        "--cassette",
        path.to_str().unwrap(),
        "--upstream",
        upstream,
    ];
    args.extend_from_slice(extra);
    start(&args)
}

pub fn json_answer(status: u16, value: serde_json::Value) -> Answer {
    (
        status,
        vec![("content-type".into(), "application/json".into())],
        value.to_string().into_bytes(),
    )
}

/// What a `tailtape` run that ended by itself left: its exit code and output.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `tailtape ARGS...` to its end.
pub fn tailtape(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tailtape"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The findings of a `--format json` run.
pub fn json_findings(run: &Run) -> Vec<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON output");
    report["findings"].as_array().unwrap().clone()
}

/// A cassette request as a client sends it, as `method`, over a connection it closes, with
/// `extra_headers` (whole `name: value\r\n` lines) in place of its recorded authorization.
pub fn as_sent(
    request: &tailtape::cassette::Request,
    method: &str,
    extra_headers: &str,
) -> Vec<u8> {
    let target = match &request.query {
        Some(q) => format!("{}?{q}", request.path),
        None => request.path.clone(),
    };
    let body = request.body.wire_bytes();
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{extra_headers}");
    for (name, value) in &request.headers {
        if name != "authorization" {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}
