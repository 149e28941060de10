//! Retry and timeout behaviour, asserted by request counts (never by elapsed time).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use nairi::types::{RuleInput, StartConversation};
use nairi::{ErrorKind, RequestOptions, RetryPolicy};
use serde_json::json;
use tokio::io::AsyncReadExt;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Mounts `first` for the first `times` matching requests, then `then` for the rest.
async fn sequence(
    server: &MockServer,
    m: &str,
    route: &str,
    first: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) {
    Mock::given(method(m))
        .and(path(format!("{P}{route}")))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(m))
        .and(path(format!("{P}{route}")))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

fn agents_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!([{"id": "cci_1", "name": "A", "agent_id": "a"}]))
}

#[tokio::test]
async fn get_503_then_200_succeeds_in_two_requests() {
    let (server, client) = setup().await;
    sequence(
        &server,
        "GET",
        "/agents",
        ResponseTemplate::new(503),
        1,
        agents_ok(),
    )
    .await;
    let agents = client.agents().list().await.unwrap();
    assert_eq!(agents[0].id, "cci_1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_std_headers(r);
    }
}

#[tokio::test]
async fn idempotent_methods_retry_5xx_408_and_429() {
    let rule = json!({"id": "aar_1", "title": "t", "description": "d", "content": "c"});
    for (status, m) in [
        (500, "PUT"),
        (502, "PUT"),
        (504, "DELETE"),
        (408, "PATCH"),
        (429, "GET"),
    ] {
        let (server, client) = setup().await;
        let (route, ok) = match m {
            "DELETE" => ("/artifacts/rules/aar_1", ResponseTemplate::new(204)),
            "PATCH" => (
                "/vaults/vlt_1",
                ResponseTemplate::new(200).set_body_json(json!({"id": "vlt_1", "name": "v"})),
            ),
            _ => (
                "/artifacts/rules/aar_1",
                ResponseTemplate::new(200).set_body_json(rule.clone()),
            ),
        };
        sequence(&server, m, route, ResponseTemplate::new(status), 2, ok).await;
        match m {
            "PUT" => {
                client
                    .rules()
                    .replace("aar_1", &RuleInput::new("t", "d", "c"))
                    .await
                    .unwrap();
            }
            "DELETE" => client.rules().delete("aar_1").await.unwrap(),
            "PATCH" => {
                client
                    .vaults()
                    .update("vlt_1", &Default::default())
                    .await
                    .unwrap();
            }
            _ => {
                client.rules().get("aar_1").await.unwrap();
            }
        }
        let reqs = requests(&server).await;
        assert_eq!(reqs.len(), 3, "{m} {status}: two failures then success");
        // Retries resend the same body.
        assert!(
            reqs.windows(2).all(|w| w[0].body == w[1].body),
            "{m} {status}"
        );
    }
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_returned() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": "down"})))
        .mount(&server)
        .await;
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.as_api().unwrap().message, "down");
    assert_eq!(requests(&server).await.len(), 3, "1 attempt + 2 retries");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400, 401, 403, 404, 409, 422] {
        let (server, client) = setup().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"error": "no"})))
            .mount(&server)
            .await;
        client.agents().list().await.unwrap_err();
        assert_eq!(requests(&server).await.len(), 1, "{status}");
    }
}

#[tokio::test]
async fn post_start_answered_503_is_not_retried() {
    // The transport's rule alone; prompt recovery (on by default) is tested in
    // prompt_recovery.rs.
    let (server, client) = setup().await;
    let client = without_recovery(&client);
    Mock::given(method("POST"))
        .and(path(format!("{P}/conversations/start")))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client
        .conversations()
        .start(&StartConversation::new("a", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InternalServer);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn post_upload_and_create_answered_5xx_are_not_retried() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    client
        .attachments()
        .upload(nairi::types::FileUpload::new(
            "a.txt",
            "text/plain",
            &b"x"[..],
        ))
        .await
        .unwrap_err();
    client
        .rules()
        .create(&RuleInput::new("t", "d", "c"))
        .await
        .unwrap_err();
    assert_eq!(requests(&server).await.len(), 2, "one request per call");
}

#[tokio::test]
async fn post_429_is_retried() {
    let (server, client) = setup().await;
    sequence(
        &server,
        "POST",
        "/conversations/start",
        ResponseTemplate::new(429).set_body_json(json!({"error": "rate limited"})),
        1,
        ResponseTemplate::new(200)
            .set_body_json(json!({"job_id": "job_1", "message_id": "cmsg_1"})),
    )
    .await;
    let handle = client
        .conversations()
        .start(&StartConversation::new("a", "hi"))
        .await
        .unwrap();
    assert_eq!(handle.job_id, "job_1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body);
}

#[tokio::test]
async fn multipart_post_429_is_retried_with_the_same_file() {
    let (server, client) = setup().await;
    sequence(
        &server,
        "POST",
        "/attachments",
        ResponseTemplate::new(429),
        1,
        ResponseTemplate::new(201).set_body_json(json!({"attachment_id": "att_1"})),
    )
    .await;
    client
        .attachments()
        .upload(nairi::types::FileUpload::new(
            "a.bin",
            "application/octet-stream",
            vec![9u8; 4096],
        ))
        .await
        .unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(single_file_part(r).data, vec![9u8; 4096]);
    }
}

/// A backoff of a minute: a call that finishes in time must have used the Retry-After.
fn minute_backoff() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn retry_after_is_honoured_instead_of_the_backoff() {
    let server = MockServer::start().await;
    sequence(
        &server,
        "GET",
        "/agents",
        ResponseTemplate::new(429).insert_header("retry-after", "0.2"),
        1,
        agents_ok(),
    )
    .await;
    // A backoff of a minute: only the 0.2 s Retry-After lets the call finish in time.
    let policy = minute_backoff();
    let client = client_for(&server.uri(), policy);
    let result = tokio::time::timeout(Duration::from_secs(20), client.agents().list()).await;
    assert!(result.expect("Retry-After was not used").is_ok());
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn retry_after_on_503_is_honoured_for_gets() {
    let server = MockServer::start().await;
    sequence(
        &server,
        "GET",
        "/agents",
        ResponseTemplate::new(503).insert_header("retry-after", "0"),
        2,
        agents_ok(),
    )
    .await;
    let policy = minute_backoff();
    let client = client_for(&server.uri(), policy);
    let result = tokio::time::timeout(Duration::from_secs(20), client.agents().list()).await;
    assert!(result.expect("Retry-After was not used").is_ok());
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_fails_at_once() {
    let (server, client) = setup().await; // max_retry_after 2 s
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimit);
    assert_eq!(
        err.as_api().unwrap().retry_after,
        Some(Duration::from_secs(30))
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn absurd_retry_after_is_a_rate_limit_error_not_a_panic() {
    // 1e20 s does not fit a Duration; it reads as "longer than any cap": fail at once.
    for value in ["1e20", "1e300", "18446744073709551616"] {
        let (server, client) = setup().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", value))
            .mount(&server)
            .await;
        let err = client.agents().list().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimit, "{value}: {err}");
        assert_eq!(
            err.as_api().unwrap().retry_after,
            Some(Duration::MAX),
            "{value}"
        );
        assert_eq!(requests(&server).await.len(), 1, "{value}");
    }
}

#[tokio::test]
async fn per_call_max_retries_override() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let once = client.with_options(RequestOptions {
        max_retries: Some(0),
        ..Default::default()
    });
    once.agents().list().await.unwrap_err();
    assert_eq!(requests(&server).await.len(), 1, "override: no retry");
    server.reset().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    client.agents().list().await.unwrap_err();
    assert_eq!(
        requests(&server).await.len(),
        3,
        "the original client keeps its 2 retries"
    );
    server.reset().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let more = client.with_options(RequestOptions {
        max_retries: Some(4),
        ..Default::default()
    });
    more.agents().list().await.unwrap_err();
    assert_eq!(requests(&server).await.len(), 5);
}

#[test]
fn overrides_merge_over_the_copy_they_are_made_from() {
    let client = nairi::Client::builder()
        .api_key("nr_test")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert_eq!(client.request_options(), &RequestOptions::default());
    let first = client.with_options(RequestOptions {
        max_retries: Some(0),
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    });
    // A later override wins; what it leaves out stays the copy's.
    let second = first.with_options(RequestOptions {
        timeout: Some(Duration::from_secs(1)),
        recover_prompts: Some(false),
        ..Default::default()
    });
    assert_eq!(
        second.request_options(),
        &RequestOptions {
            max_retries: Some(0),
            timeout: Some(Duration::from_secs(1)),
            recover_prompts: Some(false),
        }
    );
    assert_eq!(client.request_options(), &RequestOptions::default());
}

#[tokio::test]
async fn per_call_timeout_override() {
    let (server, client) = setup().await; // client timeout: 10 s
    Mock::given(any())
        .respond_with(agents_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let quick = client.with_options(RequestOptions {
        recover_prompts: None,
        timeout: Some(Duration::from_millis(200)),
        max_retries: Some(0),
    });
    let err = quick.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.to_string(), "GET /agents timed out after 200 ms");
    match err {
        nairi::Error::Timeout { timeout, endpoint } => {
            assert_eq!(timeout, Duration::from_millis(200));
            assert_eq!(endpoint, "GET /agents");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn get_timeouts_are_retried_but_post_timeouts_are_not() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(agents_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let quick = client.with_options(RequestOptions {
        timeout: Some(Duration::from_millis(100)),
        recover_prompts: Some(false),
        ..Default::default()
    });
    assert_eq!(
        quick.agents().list().await.unwrap_err().kind(),
        ErrorKind::Timeout
    );
    assert_eq!(requests(&server).await.len(), 3, "GET: 1 + 2 retries");
    server.reset().await;
    Mock::given(any())
        .respond_with(agents_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let err = quick
        .conversations()
        .start(&StartConversation::new("a", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(
        requests(&server).await.len(),
        1,
        "POST: the server may have acted"
    );
}

/// A port nothing listens on: bind, read the port, close.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn connect_failure_on_post_is_retried() {
    let capture = Capture::start();
    let base = format!("http://127.0.0.1:{}", closed_port());
    let client = client_for(&base, fast_policy(2));
    let err = client
        .conversations()
        .start(&StartConversation::new("a", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    match &err {
        nairi::Error::Connection {
            never_sent,
            message,
            source,
        } => {
            assert!(never_sent, "{message}");
            assert!(message.contains("POST /conversations/start"), "{message}");
            // The cause is kept as a source, not only flattened into the message.
            let source = source.as_ref().expect("the HTTP error is kept");
            assert!(
                source.to_string().contains("error sending request"),
                "{source}"
            );
            assert!(std::error::Error::source(&err).is_some());
        }
        other => panic!("{other:?}"),
    }
    let log = capture.text();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("nairi::transport") && l.contains("retrying"))
            .count(),
        2,
        "two retries after connect failures:\n{log}"
    );
}

/// A server that accepts connections, reads the request and hangs up without answering.
async fn hang_up_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn dropped_connection_after_sending_retries_get_but_not_post() {
    let (base, accepted) = hang_up_server().await;
    let client = client_for(&base, fast_policy(2));
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "GET retried");

    let (base, accepted) = hang_up_server().await;
    let client = without_recovery(&client_for(&base, fast_policy(2)));
    let err = client
        .conversations()
        .start(&StartConversation::new("a", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    match &err {
        nairi::Error::Connection { never_sent, .. } => assert!(!never_sent),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a POST that may have arrived is not resent"
    );
}

/// The client without prompt recovery, to test the transport's retry rule for POSTs alone.
fn without_recovery(client: &nairi::Client) -> nairi::Client {
    client.with_options(RequestOptions {
        recover_prompts: Some(false),
        ..Default::default()
    })
}
