//! The key and the secret values sent never leak, in any form: percent-encoded, without
//! padding, truncated, in error bodies, decode errors, decoded answers and trace lines.

mod common;

use common::*;
use nairi::types::{CreateSecret, UpdateSecret};
use nairi::{ClientBuilder, ErrorKind};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A key in the real format: `nr_` and 44 base64 characters, the last one `=` padding,
/// with `+` and `/` that percent-encoding changes.
const REAL_KEY: &str = "nr_q8+Zt/3kLmN0pRs2uVw4xYz6AbC8dEf0gHi2jK+/Lmo=";

/// A secret value with characters that JSON, percent-encoding and proxies change.
const SECRET: &str = "postgres://app:h+nter2/Zq9 \"x\"@db.internal:5432/prod";

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// No 12-byte run of `secret` (or of its percent-encoded form) anywhere in `text`.
fn assert_no_run(text: &str, secret: &str) {
    for form in [secret.to_owned(), percent(secret)] {
        for run in form.as_bytes().windows(12) {
            assert!(
                !text.as_bytes().windows(12).any(|w| w == run),
                "{:?} leaked in: {text}",
                String::from_utf8_lossy(run)
            );
        }
    }
}

fn real_client(base: &str, retries: u32) -> nairi::Client {
    ClientBuilder::without_env()
        .api_key(REAL_KEY)
        .base_url(base)
        .retry_policy(fast_policy(retries))
        .build()
        .unwrap()
}

/// Every text an error exposes.
fn texts(err: &nairi::Error) -> Vec<String> {
    let mut t = vec![err.to_string(), format!("{err:?}")];
    if let Some(api) = err.as_api() {
        t.push(api.message.clone());
        t.extend(api.body.clone());
        t.extend(api.request_id.clone());
    }
    t
}

#[tokio::test]
async fn the_key_is_redacted_in_every_form_a_gateway_echoes() {
    assert_eq!(REAL_KEY.len(), 3 + 44);
    let echoes = [
        format!("Bearer {REAL_KEY} rejected"),
        format!("GET /x?token={} denied", percent(REAL_KEY)),
        format!(
            "GET /x?token={} denied",
            percent(REAL_KEY)
                .replace("%2B", "%2b")
                .replace("%2F", "%2f")
                .replace("%3D", "%3d")
        ),
        format!("key {} has expired", REAL_KEY.trim_end_matches('=')),
        format!("key …{} (truncated)", &REAL_KEY[20..]),
        format!("key {}… (truncated)", &REAL_KEY[..16]),
        format!(
            "base64url {}",
            REAL_KEY
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_")
        ),
    ];
    for echo in echoes {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_raw(echo.clone().into_bytes(), "text/plain")
                    .insert_header("x-request-id", format!("r-{}", percent(REAL_KEY)).as_str()),
            )
            .mount(&server)
            .await;
        let err = real_client(&server.uri(), 0)
            .agents()
            .list()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication);
        let all = texts(&err);
        assert!(
            all.iter().any(|t| t.contains("<redacted>")),
            "{echo}: {all:?}"
        );
        for text in all {
            assert_no_run(&text, REAL_KEY);
        }
    }
}

#[tokio::test]
async fn the_retrying_trace_line_never_carries_an_echoed_key() {
    let capture = Capture::start();
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).set_body_raw(
            format!("upstream refused token={}", percent(REAL_KEY)).into_bytes(),
            "text/plain",
        ))
        .mount(&server)
        .await;
    let err = real_client(&server.uri(), 1)
        .agents()
        .list()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InternalServer);
    let log = capture.text();
    assert!(
        log.contains("retrying") && log.contains("<redacted>"),
        "{log}"
    );
    assert_no_run(&log, REAL_KEY);
}

#[tokio::test]
async fn an_echoed_secret_value_never_reaches_debug_or_extra() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "sec_1",
            "env_key": "DATABASE_URL",
            "allowed_domains": [],
            "value": SECRET,
            "debug": {"received": {"value": SECRET}, "url": percent(SECRET)},
        })))
        .mount(&server)
        .await;
    let client = real_client(&server.uri(), 0);
    let created = client
        .vaults()
        .secrets()
        .create("vlt_1", &CreateSecret::new("DATABASE_URL", SECRET))
        .await
        .unwrap();
    assert_eq!(created.id, "sec_1");
    assert_eq!(created.env_key, "DATABASE_URL");
    assert_eq!(created.extra["value"], "<redacted>");
    assert_eq!(created.extra["debug"]["received"]["value"], "<redacted>");
    let shown = format!("{created:?} {}", serde_json::to_string(&created).unwrap());
    assert_no_run(&shown, SECRET);
    assert!(!shown.contains("h+nter2"), "{shown}");
    // The request itself carried the value.
    let sent: serde_json::Value = serde_json::from_slice(&requests(&server).await[0].body).unwrap();
    assert_eq!(sent["value"], SECRET);

    let updated = client
        .vaults()
        .secrets()
        .update(
            "vlt_1",
            "sec_1",
            &UpdateSecret {
                value: Some(SECRET.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.extra["value"], "<redacted>");
}

#[tokio::test]
async fn an_echoed_secret_value_never_reaches_an_error_or_a_decode_snippet() {
    let answers = [
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": format!("invalid value {SECRET}")})),
        ResponseTemplate::new(502).set_body_raw(
            format!("<html><title>{}</title></html>", percent(SECRET)).into_bytes(),
            "text/html",
        ),
        // A 2xx that does not decode: the snippet and the decoder's message.
        ResponseTemplate::new(201)
            .set_body_raw(format!("echo {SECRET}").into_bytes(), "text/plain"),
        ResponseTemplate::new(201).set_body_json(json!({"id": "sec_1", "env_key": {"v": SECRET}})),
        ResponseTemplate::new(201).set_body_json(
            json!({"id": "sec_1", "created_at": 1, "env_key": 7, "value": [SECRET]}),
        ),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let result = real_client(&server.uri(), 0)
            .vaults()
            .secrets()
            .create("vlt_1", &CreateSecret::new("DATABASE_URL", SECRET))
            .await;
        let shown = match &result {
            Err(err) => {
                let mut all = texts(err);
                if let nairi::Error::Decode {
                    message, snippet, ..
                } = err
                {
                    all.push(message.clone());
                    all.push(snippet.clone());
                }
                all.join("\n")
            }
            Ok(secret) => format!("{secret:?}"),
        };
        assert_no_run(&shown, SECRET);
        assert!(!shown.contains("h+nter2"), "{shown}");
    }
}
