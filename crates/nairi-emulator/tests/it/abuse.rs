//! Abusive clients: bodies are read only after authentication, within a size cap checked from
//! `Content-Length` alone and within a deadline; the control API is scoped by a token.

use std::time::Duration;

use nairi_emulator::{AgentSeed, Emulator, Timings};
use reqwest::Method;

use crate::common::*;

/// 65 MiB: under the multipart limit, so only authentication can refuse it early.
const BIG: usize = 65 * 1024 * 1024;

/// An emulator whose bodies must arrive within a few milliseconds.
async fn start_impatient() -> T {
    let emu = Emulator::builder()
        .timings(Timings::fast())
        .body_timeout(Duration::from_millis(50))
        .start()
        .await
        .expect("start emulator");
    let key = emu.api_key().to_string();
    T {
        emu,
        http: reqwest::Client::new(),
        key,
    }
}

fn head(method: &str, path: &str, extra: &str, len: usize) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\
         Expect: 100-continue\r\n{extra}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn an_unauthenticated_upload_is_refused_before_its_body() {
    let t = start().await;
    for extra in ["", "Authorization: Bearer nr_wrong\r\n"] {
        let mut c = Raw::connect(&t.emu).await;
        c.send(&head(
            "POST",
            "/api/public/v1/attachments",
            &format!("{extra}Content-Type: multipart/form-data; boundary=b\r\n"),
            BIG,
        ))
        .await;
        // Not a byte of the body is sent: the answer must come from the head alone.
        let resp = c.read_until_closed().await;
        assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
        assert!(!resp.contains("100 Continue"), "{resp}");
        assert!(resp.contains("API key"), "{resp}");
    }
    let log = t.emu.requests();
    assert!(
        log.iter().all(|r| r.status == 401 && r.body_len == 0),
        "{log:?}"
    );
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_from_the_header() {
    let t = start().await;
    let auth = format!("Authorization: Bearer {}\r\n", t.key);
    for (path, ct, len) in [
        (
            "/api/public/v1/attachments",
            "multipart/form-data; boundary=b",
            nairi_emulator::MULTIPART_BODY_LIMIT + 1,
        ),
        (
            "/api/public/v1/agents",
            "application/json",
            nairi_emulator::JSON_BODY_LIMIT + 1,
        ),
    ] {
        let mut c = Raw::connect(&t.emu).await;
        c.send(&head(
            "POST",
            path,
            &format!("{auth}Content-Type: {ct}\r\n"),
            len,
        ))
        .await;
        let resp = c.read_until_closed().await;
        assert!(resp.starts_with("HTTP/1.1 413"), "{path}: {resp}");
        assert!(!resp.contains("100 Continue"), "{path}: {resp}");
        assert!(resp.contains("too large"), "{path}: {resp}");
    }
    // The control API too, with its own limit.
    let mut c = Raw::connect(&t.emu).await;
    c.send(&head(
        "POST",
        "/_emulator/faults",
        "Content-Type: application/json\r\n",
        nairi_emulator::CONTROL_BODY_LIMIT + 1,
    ))
    .await;
    let resp = c.read_until_closed().await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(!resp.contains("100 Continue"), "{resp}");
}

#[tokio::test]
async fn an_unauthenticated_control_call_is_refused_before_its_body() {
    let t = start().await;
    let mut c = Raw::connect(&t.emu).await;
    c.send(&head(
        "POST",
        "/_emulator/agents",
        "Content-Type: application/json\r\n",
        1000,
    ))
    .await;
    let resp = c.read_until_closed().await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(!resp.contains("100 Continue"), "{resp}");
}

#[tokio::test]
async fn a_slow_body_times_out_with_408_and_a_closed_connection() {
    let t = start_impatient().await;
    let auth = format!("Authorization: Bearer {}\r\n", t.key);
    let cases = [
        ("/api/public/v1/agents", auth.as_str()),
        ("/_emulator/faults", ""),
        ("/_emulator/agents", auth.as_str()),
    ];
    for (path, extra) in cases {
        let mut c = Raw::connect(&t.emu).await;
        c.send(&head(
            "POST",
            path,
            &format!("{extra}Content-Type: application/json\r\n"),
            100,
        ))
        .await;
        // One byte of a hundred, then nothing: a trickling client.
        c.send(b"{").await;
        let resp = c.read_until_closed().await;
        assert!(
            resp.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 408"),
            "{path}: {resp}"
        );
        assert!(resp.contains("not received within 50 ms"), "{path}: {resp}");
    }
    let log = t.emu.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].status, 408);
    // Bodies that arrive in time are unaffected.
    assert_eq!(t.get("/agents").await.status, 200);
    let r = t
        .post("/agents", serde_json::json!({ "name": "Quick" }))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// An emulator on loopback that still requires the control token, as one bound to another
/// address does.
async fn start_scoped() -> T {
    let emu = Emulator::builder()
        .timings(Timings::fast())
        .control_token("emu_test-token")
        .require_control_token(true)
        .start()
        .await
        .expect("start emulator");
    let key = emu.api_key().to_string();
    T {
        emu,
        http: reqwest::Client::new(),
        key,
    }
}

#[tokio::test]
async fn the_control_api_needs_the_token_when_scoped() {
    let t = start_scoped().await;
    assert!(t.emu.control_token_required());
    assert_eq!(t.emu.control_token(), "emu_test-token");
    let url = |p: &str| format!("{}/_emulator{p}", t.emu.base_url());
    for (method, path) in [
        (Method::GET, "/health"),
        (Method::GET, "/requests"),
        (Method::POST, "/reset"),
        (Method::DELETE, "/faults"),
        (Method::POST, "/orgs"),
    ] {
        for token in [None, Some("emu_wrong"), Some("")] {
            let mut rb = t
                .http
                .request(method.clone(), url(path))
                .bearer_auth(&t.key);
            if let Some(tok) = token {
                rb = rb.header(nairi_emulator::CONTROL_TOKEN_HEADER, tok);
            }
            let r = into_resp(rb.send().await.unwrap()).await;
            assert_err(&r, 401, "control token");
        }
    }
    let r = t
        .http
        .get(url("/health"))
        .header("X-Emulator-Token", "emu_test-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .post(url("/agents"))
        .bearer_auth(&t.key)
        .header("x-emulator-token", "emu_test-token")
        .json(&serde_json::json!({ "name": "Scoped" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The public API and the Rust control methods need no token.
    assert_eq!(t.get("/agents").await.status, 200);
    t.emu
        .create_agent(
            &t.key,
            AgentSeed {
                name: "Direct".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(t.emu.requests().len(), 1);
}

#[tokio::test]
async fn on_loopback_the_control_api_is_open_and_the_token_is_fresh() {
    let t = start().await;
    assert!(!t.emu.control_token_required());
    assert!(t.emu.control_token().starts_with("emu_"));
    let other = start().await;
    assert_ne!(t.emu.control_token(), other.emu.control_token());
    assert_eq!(
        t.admin(Method::GET, "/health", None, None).await.status,
        200
    );
}
