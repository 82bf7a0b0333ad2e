//! The HTTP layer's own errors over a real socket: requests actix-http refuses before any route
//! sees them (oversized or malformed heads, slow heads) still get a problem or SCIM Error body, and
//! ordinary requests, keep-alive included, are served as before.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uapi_platform::config::HttpSettings;
use uapi_platform::health::Readiness;
use uapi_platform::http;
use uapi_platform::metrics::Metrics;
use uapi_platform::problem::ErrorStyle;

/// A running server answering `GET /scim/v2/Users` (200) next to the shared routes; stops when the
/// returned token is dropped with the test.
struct Running {
    port: u16,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn start(errors: ErrorStyle) -> Running {
    start_with(errors, "")
}

/// Like [`start`], letting browsers on `cors_origins` call it.
fn start_with(errors: ErrorStyle, cors_origins: &str) -> Running {
    let settings = HttpSettings {
        host: "127.0.0.1".into(),
        port: 0,
        workers: 1,
        body_limit_bytes: 1 << 20,
        drain_delay_ms: 0,
        shutdown_timeout_secs: 1,
        cors_origins: cors_origins.into(),
    };
    let service = http::bind(&settings, Readiness::new(None, None), Metrics::new("test"), errors, |cfg| {
        cfg.route("/scim/v2/Users", web::get().to(|| async { HttpResponse::Ok().body("[]") }));
    })
    .expect("bind");
    let (port, stop) = (service.port(), CancellationToken::new());
    tokio::spawn(service.run_until(stop.clone()));
    Running { port, stop }
}

/// A parsed response: status, lower-cased headers, body.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response with a `content-length` (or none, for 204) from `conn`.
fn read_response(conn: &mut TcpStream) -> Response {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("connection ended inside the head ({other:?}): {:?}", String::from_utf8_lossy(&head)),
        }
    }
    let head = String::from_utf8(head).expect("ASCII head");
    let mut lines = head.trim_end().split("\r\n");
    let status = lines.next().and_then(|l| l.get(9..12)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned())).collect();
    let length = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().expect("length"));
    let mut body = vec![0; length];
    conn.read_exact(&mut body).expect("body");
    Response { status, headers, body }
}

/// Sends `request` and reads the answer; the connection must then end cleanly, not be reset, as a
/// reset can destroy the response before a client reads it.
fn exchange_once(port: u16, request: Vec<u8>) -> Response {
    let mut conn = connect(port);
    conn.write_all(&request).expect("the server takes the whole request");
    let response = read_response(&mut conn);
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).expect("the connection ends without a reset");
    assert!(rest.is_empty(), "nothing follows the error: {:?}", String::from_utf8_lossy(&rest));
    response
}

fn connect(port: u16) -> TcpStream {
    let conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    conn
}

/// Runs blocking socket code off the runtime that drives the server.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("client thread")
}

fn get(target: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nhost: localhost\r\n{extra_headers}\r\n").into_bytes()
}

fn assert_problem(res: &Response, status: u16, detail_contains: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.header("content-type"), Some("application/problem+json"), "{res:?}");
    assert_eq!(res.header("connection"), Some("close"), "{res:?}");
    let body = res.json();
    assert_eq!(body["status"], status, "{body}");
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("https://uapi-hris.dev/problems/")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains(detail_contains)), "{body}");
}

fn assert_scim_error(res: &Response, status: u16) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.header("content-type"), Some("application/scim+json"), "{res:?}");
    let body = res.json();
    assert_eq!(body["schemas"], serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_uri_over_65534_bytes_is_a_400_problem() {
    let server = start(ErrorStyle::Problem);
    let port = server.port;
    let res = blocking(move || exchange_once(port, get(&format!("/{}", "a".repeat(70_000)), ""))).await;
    assert_problem(&res, 400, "65,534");
}

/// actix-http checks the 128 KiB only while a head is incomplete: when more of it has arrived by
/// the time it reads, it reads past 128 KiB (up to twice that) and parses the whole head, which a
/// URI over 65,534 bytes then fails with 400. A head this big is always incomplete at the check.
const ALWAYS_TOO_LARGE: usize = 400_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_head_over_128_kib_is_a_431_problem() {
    let server = start(ErrorStyle::Problem);
    let port = server.port;
    let res = blocking(move || exchange_once(port, get(&format!("/x?q={}", "a".repeat(ALWAYS_TOO_LARGE)), ""))).await;
    assert_problem(&res, 431, "128 KiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_140_000_byte_query_is_refused_with_a_problem() {
    let server = start(ErrorStyle::Problem);
    let port = server.port;
    let res = blocking(move || exchange_once(port, get(&format!("/x?q={}", "a".repeat(140_000)), ""))).await;
    match res.status {
        431 => assert_problem(&res, 431, "128 KiB"),
        _ => assert_problem(&res, 400, "65,534"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_96_headers_is_a_431_problem() {
    let server = start(ErrorStyle::Problem);
    let port = server.port;
    let headers: String = (0..100).map(|i| format!("x-h{i}: v\r\n")).collect();
    let res = blocking(move || exchange_once(port, get("/livez", &headers))).await;
    assert_problem(&res, 431, "96 headers");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_request_line_is_a_400_problem() {
    let server = start(ErrorStyle::Problem);
    let port = server.port;
    let res = blocking(move || exchange_once(port, b"GET /a b c\r\n\r\n".to_vec())).await;
    assert_problem(&res, 400, "malformed");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_scim_filter_is_a_431_scim_error_and_other_paths_stay_problems() {
    let server = start(ErrorStyle::ScimUnder("/scim/"));
    let port = server.port;
    let filter = format!("userName%20eq%20%22{}%22", "a".repeat(ALWAYS_TOO_LARGE));
    let scim = blocking(move || exchange_once(port, get(&format!("/scim/v2/Users?filter={filter}"), ""))).await;
    assert_scim_error(&scim, 431);
    assert!(scim.json()["detail"].as_str().is_some_and(|d| d.contains("POST /.search")));

    let filter = format!("userName%20eq%20%22{}%22", "a".repeat(140_000));
    let shorter = blocking(move || exchange_once(port, get(&format!("/scim/v2/Users?filter={filter}"), ""))).await;
    assert_scim_error(&shorter, if shorter.status == 431 { 431 } else { 400 });

    let absolute = blocking(move || {
        let target = format!("http://localhost/scim/v2/Users?filter={}", "a".repeat(ALWAYS_TOO_LARGE));
        exchange_once(port, get(&target, ""))
    })
    .await;
    assert_scim_error(&absolute, 431);

    let other =
        blocking(move || exchange_once(port, get(&format!("/api/x?q={}", "a".repeat(ALWAYS_TOO_LARGE)), ""))).await;
    assert_problem(&other, 431, "128 KiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_that_does_not_arrive_in_time_is_a_408() {
    let server = start(ErrorStyle::ScimUnder("/scim/"));
    let port = server.port;
    // Half a head, then silence until the server's 5 s request timeout.
    let res = blocking(move || exchange_once(port, b"GET /scim/v2/Users HTTP/1.1\r\nhost: x\r\n".to_vec())).await;
    assert_scim_error(&res, 408);
}

#[tokio::test(flavor = "multi_thread")]
async fn ordinary_requests_are_served_and_the_connection_kept_alive() {
    let server = start(ErrorStyle::ScimUnder("/scim/"));
    let port = server.port;
    let responses = blocking(move || {
        let mut conn = connect(port);
        let mut responses = Vec::new();
        for target in ["/livez", "/nope", "/scim/v2/Users", "/livez"] {
            conn.write_all(&get(target, "")).expect("write");
            responses.push(read_response(&mut conn));
        }
        // Then a refused head on the same connection: the error is answered, with a body.
        let _ = conn.write_all(&get(&format!("/scim/v2/Users?filter={}", "a".repeat(ALWAYS_TOO_LARGE)), ""));
        responses.push(read_response(&mut conn));
        responses
    })
    .await;
    assert_eq!(responses[0].status, 204, "{:?}", responses[0]);
    assert_eq!(responses[1].status, 404, "{:?}", responses[1]);
    assert_eq!(responses[1].header("content-type"), Some("application/problem+json"));
    assert_eq!(responses[1].json()["type"], "https://uapi-hris.dev/problems/not-found");
    assert_eq!(responses[2].status, 200, "{:?}", responses[2]);
    assert_eq!(responses[2].body, b"[]");
    assert_eq!(responses[3].status, 204, "{:?}", responses[3]);
    for res in &responses[..4] {
        assert_ne!(res.header("connection"), Some("close"), "{res:?}");
    }
    assert_scim_error(&responses[4], 431);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_stops_gracefully() {
    let settings = HttpSettings {
        host: "127.0.0.1".into(),
        port: 0,
        workers: 1,
        body_limit_bytes: 1024,
        drain_delay_ms: 0,
        shutdown_timeout_secs: 1,
        cors_origins: String::new(),
    };
    let service = http::bind(&settings, Readiness::new(None, None), Metrics::new("test"), ErrorStyle::Problem, |_| {})
        .expect("bind");
    let (port, stop) = (service.port(), CancellationToken::new());
    let running = tokio::spawn(service.run_until(stop.clone()));
    let res = blocking(move || {
        let mut conn = connect(port);
        conn.write_all(&get("/livez", "")).expect("write");
        read_response(&mut conn)
    })
    .await;
    assert_eq!(res.status, 204);
    stop.cancel();
    let served = tokio::time::timeout(Duration::from_secs(10), running).await.expect("stops in time");
    served.expect("task").expect("clean stop");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the listener is closed");
}

/// A browser's preflight for a bearer-token GET from `origin`.
fn preflight(port: u16, origin: &str) -> Response {
    let request = format!(
        "OPTIONS /scim/v2/Users HTTP/1.1\r\nhost: localhost\r\norigin: {origin}\r\n\
         access-control-request-method: GET\r\naccess-control-request-headers: authorization\r\n\
         connection: close\r\n\r\n"
    );
    exchange_once(port, request.into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_on_an_allowed_origin_may_call_the_api_and_no_others() {
    let portal = "http://127.0.0.1:8084";
    let server = start_with(ErrorStyle::Problem, &format!("{portal}, https://portal.example.com"));
    let port = server.port;
    let allowed = blocking(move || preflight(port, portal)).await;
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(portal));
    let methods = allowed.header("access-control-allow-methods").unwrap_or_default().to_owned();
    assert!(methods.contains("GET") && methods.contains("PATCH"), "{methods}");
    let other = blocking(move || preflight(port, "http://evil.example")).await;
    assert_eq!(other.header("access-control-allow-origin"), None, "{other:?}");

    // Without origins configured, no CORS header at all.
    let closed = start(ErrorStyle::Problem);
    let port = closed.port;
    let refused = blocking(move || preflight(port, portal)).await;
    assert_eq!(refused.header("access-control-allow-origin"), None, "{refused:?}");
}
