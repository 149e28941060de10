//! Helpers shared by the integration tests: a client pointed at a wiremock server, request
//! assertions (headers, JSON and multipart bodies, query) and fast retry settings.
#![allow(dead_code)]

use std::time::Duration;

use nairi::{Client, ErrorKind, RetryPolicy};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The key every test client uses.
pub const KEY: &str = "nr_test_5ecret_key_0123456789";
/// The API prefix the SDK appends to the base URL.
pub const P: &str = "/api/public/v1";

/// Retries with backoffs short enough for tests (never asserted on timing).
pub fn fast_policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    }
}

/// A client for `base` with the test key and the given retries, ignoring the environment.
pub fn client_for(base: &str, policy: RetryPolicy) -> Client {
    nairi::ClientBuilder::without_env()
        .api_key(KEY)
        .base_url(base)
        .retry_policy(policy)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// A mock server and a client pointed at it (2 fast retries).
pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = client_for(&server.uri(), fast_policy(2));
    (server, client)
}

/// Mounts `METHOD {P}{route}` answering `status` with `body` (JSON) exactly once.
pub async fn mount(server: &MockServer, m: &str, route: &str, status: u16, body: Value) {
    Mock::given(method(m))
        .and(path(format!("{P}{route}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// Mounts `METHOD {P}{route}` answering 204 with no body, exactly once.
pub async fn mount_204(server: &MockServer, m: &str, route: &str) {
    Mock::given(method(m))
        .and(path(format!("{P}{route}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(server)
        .await;
}

/// A mock that must never be hit (for validation tests); matches every request.
pub async fn expect_no_request(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(server)
        .await;
}

/// Every request the server received.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// The one request the server received, with the standard headers checked and no query
/// string: wiremock's `path` matcher ignores the query, so a stray one would otherwise pass.
/// Tests that expect a query use [`only_request_with_query`] and check it themselves.
pub async fn only_request(server: &MockServer) -> Request {
    let req = only_request_with_query(server).await;
    assert_no_query(&req);
    req
}

/// The one request the server received, with the standard headers checked; the caller
/// asserts the query.
pub async fn only_request_with_query(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(
        all.len(),
        1,
        "expected exactly one request, got {}",
        all.len()
    );
    let req = all.remove(0);
    assert_std_headers(&req);
    req
}

/// Checks method and raw (still percent-encoded) path.
pub fn assert_route(req: &Request, m: &str, route: &str) {
    assert_eq!(req.method.as_str(), m, "method");
    assert_eq!(req.url.path(), format!("{P}{route}"), "path");
}

/// `Authorization: Bearer <key>` and a `nairi-rust/` user agent.
pub fn assert_std_headers(req: &Request) {
    assert_eq!(header(req, "authorization"), Some(format!("Bearer {KEY}")));
    let ua = header(req, "user-agent").expect("user-agent header");
    assert!(ua.starts_with("nairi-rust/"), "user agent {ua:?}");
}

/// A header's value as text.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_owned())
}

/// A JSON body with `content-type: application/json`, equal to `expected`.
pub fn assert_json(req: &Request, expected: Value) {
    assert_eq!(
        header(req, "content-type").as_deref(),
        Some("application/json"),
        "content-type"
    );
    let got: Value = serde_json::from_slice(&req.body).expect("JSON body");
    assert_eq!(got, expected, "request body");
}

/// No body and no content type (GET and DELETE).
pub fn assert_no_body(req: &Request) {
    assert!(
        req.body.is_empty(),
        "unexpected body {:?}",
        String::from_utf8_lossy(&req.body)
    );
    assert_eq!(
        header(req, "content-type"),
        None,
        "content-type without body"
    );
}

/// The query string as pairs, in order.
pub fn query(req: &Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// No query string at all.
pub fn assert_no_query(req: &Request) {
    assert_eq!(req.url.query(), None, "unexpected query");
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The `filename` parameter, when present.
    pub filename: Option<String>,
    /// The part's content type.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Vec<u8>,
}

/// Parses a `multipart/form-data` request body (enough of RFC 7578 for these tests).
pub fn multipart_parts(req: &Request) -> Vec<Part> {
    let ct = header(req, "content-type").expect("content-type");
    assert!(ct.starts_with("multipart/form-data"), "content-type {ct:?}");
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .expect("boundary")
        .trim_matches('"')
        .to_owned();
    let delim = format!("--{boundary}").into_bytes();
    let body = &req.body;
    let mut parts = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delim.len() <= body.len() {
        if body[i..].starts_with(&delim) {
            starts.push(i);
            i += delim.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        let chunk = &body[w[0] + delim.len()..w[1]];
        let chunk = chunk.strip_prefix(b"\r\n").expect("CRLF after boundary");
        let chunk = chunk.strip_suffix(b"\r\n").expect("CRLF before boundary");
        let split = chunk
            .windows(4)
            .position(|x| x == b"\r\n\r\n")
            .expect("header/body separator");
        let head = String::from_utf8(chunk[..split].to_vec()).expect("utf-8 part headers");
        let data = chunk[split + 4..].to_vec();
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data,
        };
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':').expect("part header");
            match k.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for p in v.split(';').map(str::trim) {
                        if let Some(n) = p.strip_prefix("name=") {
                            part.name = n.trim_matches('"').to_owned();
                        } else if let Some(f) = p.strip_prefix("filename=") {
                            part.filename = Some(f.trim_matches('"').to_owned());
                        }
                    }
                }
                "content-type" => part.content_type = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        parts.push(part);
    }
    assert!(
        body.ends_with(format!("--{boundary}--\r\n").as_bytes()),
        "closing boundary"
    );
    parts
}

/// The single multipart part, which must be the field `file`.
pub fn single_file_part(req: &Request) -> Part {
    let mut parts = multipart_parts(req);
    assert_eq!(parts.len(), 1, "exactly one part: {parts:?}");
    let part = parts.remove(0);
    assert_eq!(part.name, "file", "multipart field name");
    part
}

/// Asserts a validation error naming `field`.
pub fn assert_validation<T: std::fmt::Debug>(result: nairi::Result<T>, field: &str) {
    let err = result.expect_err("expected a validation error");
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    match &err {
        nairi::Error::Validation { field: f, .. } => assert_eq!(f, field, "{err}"),
        other => panic!("not a validation error: {other:?}"),
    }
}

/// A timestamp as the server sends them.
pub const TS: &str = "2026-04-12T18:45:12.000Z";

/// Parses [`TS`]-style text.
pub fn ts(text: &str) -> nairi::types::Timestamp {
    nairi::types::parse_timestamp(text, "ts").expect("timestamp")
}

/// Everything `tracing` writes while the guard lives, on this thread (tokio's current-thread
/// test runtime keeps every task here), at TRACE level for every target.
pub struct Capture {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Capture {
    /// Starts capturing.
    pub fn start() -> Capture {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = CaptureWriter(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        Capture { buf, _guard: guard }
    }

    /// The text captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }
}

#[derive(Clone)]
struct CaptureWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
pub mod emulated;
