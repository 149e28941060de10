//! Error mapping: every status family, non-JSON bodies, request ids, decode errors.

mod common;

use std::time::Duration;

use common::*;
use nairi::{ErrorKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server answering every request with `template`, and a client that never retries.
async fn answering(template: ResponseTemplate) -> (MockServer, nairi::Client) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/agents/cci_1")))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_policy(0));
    (server, client)
}

#[tokio::test]
async fn each_status_maps_to_its_kind() {
    let cases = [
        (400, ErrorKind::BadRequest, "BadRequestError"),
        (401, ErrorKind::Authentication, "AuthenticationError"),
        (403, ErrorKind::PermissionDenied, "PermissionDeniedError"),
        (404, ErrorKind::NotFound, "NotFoundError"),
        (409, ErrorKind::Conflict, "ConflictError"),
        (
            422,
            ErrorKind::UnprocessableEntity,
            "UnprocessableEntityError",
        ),
        (429, ErrorKind::RateLimit, "RateLimitError"),
        (500, ErrorKind::InternalServer, "InternalServerError"),
        (502, ErrorKind::InternalServer, "InternalServerError"),
        (503, ErrorKind::InternalServer, "InternalServerError"),
        (504, ErrorKind::InternalServer, "InternalServerError"),
        (418, ErrorKind::Api, "APIError"),
    ];
    for (status, kind, class) in cases {
        let (server, client) = answering(
            ResponseTemplate::new(status)
                .set_body_json(json!({"error": format!("problem {status}")})),
        )
        .await;
        let err = client.agents().get("cci_1").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert_eq!(err.kind().class_name(), class);
        assert_eq!(err.status(), Some(status));
        let api = err.as_api().unwrap();
        assert_eq!(api.message, format!("problem {status}"));
        assert_eq!(api.body, None, "a JSON error body is not kept raw");
        assert_eq!(api.endpoint, "GET /agents/cci_1");
        let text = err.to_string();
        assert!(
            text.contains(&status.to_string()) && text.contains(class) && text.contains("problem"),
            "{text}"
        );
        assert_eq!(requests(&server).await.len(), 1);
    }
}

#[tokio::test]
async fn documented_error_messages_are_surfaced() {
    let (_server, client) =
        answering(ResponseTemplate::new(404).set_body_json(json!({"error": "rule not found"})))
            .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(err.as_api().unwrap().message, "rule not found");
}

#[tokio::test]
async fn unauthorized_with_a_daemon_key_gets_a_hint() {
    for key in [
        "ccagent_abcdef123",
        "nairid_abcdef123",
        "eksecd_abcdef123",
        "sys_abcdef123",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "invalid API key"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = nairi::ClientBuilder::without_env()
            .api_key(key)
            .base_url(server.uri())
            .max_retries(0)
            .build()
            .unwrap();
        let err = client.agents().list().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication);
        let hint = err.as_api().unwrap().hint.clone().expect("hint");
        assert!(hint.contains("`nr_` key"), "{hint}");
        let text = err.to_string();
        assert!(text.contains("nr_"), "{text}");
        assert!(
            !text.contains(key) && !format!("{err:?}").contains(key),
            "the key leaked: {text}"
        );
    }
}

#[tokio::test]
async fn unauthorized_with_a_public_key_has_no_hint() {
    let (_server, client) =
        answering(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid API key"})))
            .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(err.as_api().unwrap().hint, None);
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let (_server, client) = answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "0.2")
            .set_body_json(json!({"error": "slow down"})),
    )
    .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimit);
    assert_eq!(
        err.as_api().unwrap().retry_after,
        Some(Duration::from_millis(200))
    );
}

#[tokio::test]
async fn html_gateway_page_is_summarised_and_kept() {
    let html = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>";
    let (_server, client) =
        answering(ResponseTemplate::new(502).set_body_raw(html.as_bytes().to_vec(), "text/html"))
            .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InternalServer);
    let api = err.as_api().unwrap();
    assert_eq!(api.status, 502);
    assert_eq!(api.message, "non-JSON HTML response: 502 Bad Gateway");
    assert_eq!(api.body.as_deref(), Some(html));
}

#[tokio::test]
async fn empty_body_is_described() {
    let (_server, client) = answering(ResponseTemplate::new(503)).await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.status, 503);
    assert_eq!(api.message, "HTTP 503 with an empty body");
    assert_eq!(api.body.as_deref(), Some(""));
}

#[tokio::test]
async fn plain_text_body_is_the_message() {
    let (_server, client) = answering(
        ResponseTemplate::new(403).set_body_raw(b"Forbidden by WAF".to_vec(), "text/plain"),
    )
    .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.as_api().unwrap().message, "Forbidden by WAF");
    assert_eq!(
        err.as_api().unwrap().body.as_deref(),
        Some("Forbidden by WAF")
    );
}

#[tokio::test]
async fn request_id_header_is_kept() {
    let (_server, client) = answering(
        ResponseTemplate::new(500)
            .insert_header("x-request-id", "req_01ABC")
            .set_body_json(json!({"error": "internal error"})),
    )
    .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(
        err.as_api().unwrap().request_id.as_deref(),
        Some("req_01ABC")
    );
    assert!(err.to_string().contains("req_01ABC"));
}

#[tokio::test]
async fn non_json_success_body_is_a_decode_error_with_a_snippet() {
    let (_server, client) = answering(
        ResponseTemplate::new(200)
            .set_body_raw(b"<html>maintenance page</html>".to_vec(), "text/html"),
    )
    .await;
    let err = client.agents().get("cci_1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    match &err {
        nairi::Error::Decode {
            endpoint, snippet, ..
        } => {
            assert_eq!(endpoint, "GET /agents/cci_1");
            assert_eq!(snippet, "<html>maintenance page</html>");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("maintenance page"));
}

#[tokio::test]
async fn wrong_json_shape_is_a_decode_error() {
    let server = MockServer::start().await;
    mount(&server, "GET", "/agents", 200, json!({"agents": []})).await;
    let client = client_for(&server.uri(), fast_policy(0));
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    match &err {
        nairi::Error::Decode { snippet, .. } => assert_eq!(snippet, r#"{"agents":[]}"#),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn long_snippets_are_truncated() {
    let body = "x".repeat(10_000);
    let (_server, client) =
        answering(ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/plain")).await;
    match client.agents().get("cci_1").await.unwrap_err() {
        nairi::Error::Decode { snippet, .. } => assert!(snippet.len() < 300, "{}", snippet.len()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn success_statuses_other_than_200_are_accepted() {
    for status in [201, 202, 203] {
        let (_server, client) = answering(
            ResponseTemplate::new(status)
                .set_body_json(json!({"id": "cci_1", "name": "A", "agent_id": "a"})),
        )
        .await;
        assert_eq!(client.agents().get("cci_1").await.unwrap().id, "cci_1");
    }
}

#[tokio::test]
async fn delete_accepts_an_empty_or_json_success_body() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{P}/artifacts/rules/aar_1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"deleted": true})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{P}/artifacts/rules/aar_2")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), RetryPolicy::default());
    client.rules().delete("aar_1").await.unwrap();
    client.rules().delete("aar_2").await.unwrap();
}

/// Every text an error exposes: Display, Debug and the API error's fields.
fn error_texts(err: &nairi::Error) -> Vec<String> {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    if let Some(api) = err.as_api() {
        texts.push(api.message.clone());
        texts.extend(api.body.clone());
        texts.extend(api.request_id.clone());
    }
    if let nairi::Error::Decode {
        message, snippet, ..
    } = err
    {
        texts.push(message.clone());
        texts.push(snippet.clone());
    }
    texts
}

fn assert_redacted(err: &nairi::Error) {
    let texts = error_texts(err);
    for text in &texts {
        assert!(!text.contains(KEY), "the key leaked: {text}");
        assert!(!text.contains("5ecret"), "part of the key leaked: {text}");
    }
    assert!(
        texts.iter().any(|t| t.contains("<redacted>")),
        "the echo is marked: {texts:?}"
    );
}

#[tokio::test]
async fn a_body_echoing_the_key_is_redacted() {
    let echoes = [
        // The documented JSON error.
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": format!("invalid API key {KEY}")})),
        // A proxy's plain text and HTML pages, and a request id echoing the header.
        ResponseTemplate::new(403).set_body_raw(
            format!("Forbidden: Authorization: Bearer {KEY} rejected").into_bytes(),
            "text/plain",
        ),
        ResponseTemplate::new(502).set_body_raw(
            format!("<html><title>Bad key {KEY}</title><body>{KEY}</body></html>").into_bytes(),
            "text/html",
        ),
        ResponseTemplate::new(429).insert_header("x-request-id", format!("req-{KEY}").as_str()),
        // A 2xx body that does not decode: the snippet and the decoder's message.
        ResponseTemplate::new(200).set_body_raw(format!("echo {KEY}").into_bytes(), "text/plain"),
        ResponseTemplate::new(200).set_body_json(json!({"id": "cci_1", "name": {"key": KEY}})),
        ResponseTemplate::new(200).set_body_json(json!(KEY)),
    ];
    for template in echoes {
        let (_server, client) = answering(template).await;
        let err = client.agents().get("cci_1").await.unwrap_err();
        assert_redacted(&err);
    }
    // A long body whose key straddles the truncation point leaves no prefix of it either.
    let long = format!("{}{KEY}{}", "x".repeat(190), "y".repeat(5000));
    for status in [200, 500] {
        let (_server, client) = answering(
            ResponseTemplate::new(status).set_body_raw(long.clone().into_bytes(), "text/plain"),
        )
        .await;
        let err = client.agents().get("cci_1").await.unwrap_err();
        assert_redacted(&err);
    }
}
