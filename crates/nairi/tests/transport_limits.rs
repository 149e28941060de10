//! Limits: bad settings refused before sending, bounded memory whatever the server sends,
//! requests that cannot be built refused (never retried).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use nairi::{ClientBuilder, Error, ErrorKind, RequestOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A client for `base` with a small response cap and `retries` fast retries.
fn capped_client(base: &str, cap: u64, retries: u32) -> nairi::Client {
    ClientBuilder::without_env()
        .api_key(KEY)
        .base_url(base)
        .retry_policy(fast_policy(retries))
        .timeout(Duration::from_secs(10))
        .max_response_bytes(cap)
        .build()
        .expect("client builds")
}

/// A raw HTTP/1.1 server: each connection gets `head` and then, when `endless`, 16 KiB
/// chunks of `x` until the client hangs up. Counts the connections accepted.
async fn raw_server(head: String, endless: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let head = head.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = socket.read(&mut buf).await;
                if socket.write_all(head.as_bytes()).await.is_err() || !endless {
                    // Keep the connection open: a client waiting for a declared body would
                    // hang (until its timeout) instead of failing at once.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                // Ends when the client hangs up, which a bounded client must do.
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    (base, accepted)
}

fn chunked_head(status: &str) -> String {
    format!("HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
}

#[tokio::test]
async fn a_zero_per_call_timeout_is_refused_before_sending() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let zero = client.with_options(RequestOptions {
        timeout: Some(Duration::ZERO),
        ..Default::default()
    });
    let err = zero.agents().list().await.unwrap_err();
    assert!(
        matches!(err, Error::Validation { ref field, .. } if field == "timeout"),
        "{err}"
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn zero_timeouts_are_configuration_errors_naming_the_setting() {
    let builder = || {
        ClientBuilder::without_env()
            .api_key(KEY)
            .base_url("https://api.nairi.ai")
    };
    let err = builder().timeout(Duration::ZERO).build().unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("timeout")),
        "{err}"
    );
    let err = builder()
        .connect_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("connect_timeout")),
        "{err}"
    );
    let mut config = builder().build_config().unwrap();
    config.connect_timeout = Duration::ZERO;
    let err = nairi::Client::from_config(config).unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("connect_timeout")),
        "{err}"
    );
}

#[test]
fn a_base_url_going_past_the_api_prefix_is_a_configuration_error() {
    let given = "https://api.nairi.ai/api/public/v1/agents";
    let err = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url(given)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains(given), "{err}");
    // A proxy prefix without the API path keeps working.
    let client = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("https://gateway.example/nairi")
        .build()
        .unwrap();
    assert_eq!(
        client.base_url().as_str(),
        "https://gateway.example/nairi/api/public/v1"
    );
}

#[tokio::test]
async fn a_body_over_the_configured_cap_is_a_decode_error_and_not_retried() {
    let server = MockServer::start().await;
    let big: Vec<_> = (0..100)
        .map(|i| json!({"id": format!("cci_{i}")}))
        .collect();
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(big)))
        .mount(&server)
        .await;
    let client = capped_client(&server.uri(), 1000, 2);
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("1000 bytes") && text.contains("GET /agents"),
        "{text}"
    );
    assert_eq!(requests(&server).await.len(), 1, "not retried");
    // The same answer within the cap decodes.
    let roomy = capped_client(&server.uri(), 100_000, 0);
    assert_eq!(roomy.agents().list().await.unwrap().len(), 100);
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_without_reading() {
    // Declares a terabyte and sends nothing: a client reading first would hang.
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                content-length: 1000000000000\r\n\r\n"
        .to_owned();
    let (base, accepted) = raw_server(head, false).await;
    let client = capped_client(&base, 1 << 20, 2);
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_cap() {
    let (base, accepted) = raw_server(chunked_head("200 OK"), true).await;
    let client = capped_client(&base, 100_000, 2);
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("100000 bytes"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn an_endless_error_body_is_cut_to_a_prefix() {
    let (base, accepted) = raw_server(chunked_head("500 Internal Server Error"), true).await;
    let client = capped_client(&base, 1 << 20, 0);
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InternalServer, "{err}");
    let api = err.as_api().unwrap();
    let body = api.body.as_deref().unwrap();
    assert!(
        body.starts_with("xxxx") && body.len() <= 4096 + 3,
        "{}",
        body.len()
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_several_megabyte_error_body_is_cut_and_still_redacted() {
    let server = MockServer::start().await;
    let huge = format!("{KEY} {}", "e".repeat(8 << 20));
    Mock::given(any())
        .respond_with(ResponseTemplate::new(502).set_body_raw(huge.into_bytes(), "text/plain"))
        .mount(&server)
        .await;
    let client = capped_client(&server.uri(), 1 << 20, 0);
    let err = client.agents().list().await.unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.status, 502);
    let body = api.body.as_deref().unwrap();
    assert!(body.starts_with("<redacted> eee"), "{}", &body[..40]);
    assert!(body.len() <= 4096 + 3);
    assert!(api.message.len() <= 300 + 3);
}

#[tokio::test]
async fn a_100_000_character_message_id_fails_at_once_and_sends_nothing() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let err = client
        .messages()
        .get(&"x".repeat(100_000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation { ref field, .. } if field == "message_id"),
        "{err:?}"
    );
    // Short as text, but three times longer once percent-encoded.
    let err = client.agents().get(&"/".repeat(2000)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_over_long_url_is_refused_before_sending() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let err = client
        .models()
        .list(Some(&"p".repeat(nairi::MAX_URL_BYTES)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation { ref field, ref message }
            if field == "url" && message.contains("8000")),
        "{err:?}"
    );
    assert!(requests(&server).await.is_empty());
}

/// A keep-alive HTTP/1.1 server answering every GET with `[]` after a short pause; counts the
/// connections accepted and the most requests it had in progress at once.
async fn counting_server() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let in_progress = Arc::new(AtomicUsize::new(0));
    let (acc, top) = (Arc::clone(&accepted), Arc::clone(&most));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            acc.fetch_add(1, Ordering::SeqCst);
            let (top, now) = (Arc::clone(&top), Arc::clone(&in_progress));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                    top.fetch_max(current, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                  content-length: 2\r\n\r\n[]";
                    if sock.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, accepted, most)
}

#[tokio::test]
async fn the_client_bounds_its_requests_in_flight_and_reuses_its_connections() {
    let (base, accepted, most) = counting_server().await;
    let client = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url(&base)
        .max_connections(4)
        .build()
        .unwrap();
    let calls = (0..60).map(|_| {
        let c = client.clone();
        async move { c.agents().list().await }
    });
    for result in futures::future::join_all(calls).await {
        assert!(result.unwrap().is_empty());
    }
    let most = most.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&most),
        "at most 4 requests in flight, saw {most}"
    );
    let accepted = accepted.load(Ordering::SeqCst);
    assert!(
        accepted <= 8,
        "connections are reused: {accepted} for 60 requests"
    );
    let err = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url(&base)
        .max_connections(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("max_connections"), "{err}");
}
