//! Fault injection on the public API.

use std::time::{Duration, Instant};

use nairi_emulator::Fault;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn status_body_and_headers_for_n_requests() {
    let t = start().await;
    let id = t.emu.inject_fault(Fault {
        method: Some("get".into()),
        path_prefix: "/api/public/v1/agents".into(),
        times: Some(2),
        status: Some(429),
        body: Some(r#"{"error":"slow down"}"#.into()),
        retry_after: Some("1".into()),
        headers: [("x-request-id".to_string(), "req_123".to_string())].into(),
        ..Default::default()
    });
    assert!(id.starts_with("flt_"));
    for _ in 0..2 {
        let r = t.get("/agents").await;
        assert_err(&r, 429, "slow down");
        assert_eq!(r.headers["retry-after"], "1");
        assert_eq!(r.headers["x-request-id"], "req_123");
    }
    assert_eq!(
        t.get("/agents").await.status,
        200,
        "only `times` requests are affected"
    );
    // Method filter: a POST is untouched.
    t.emu.inject_fault(Fault {
        method: Some("GET".into()),
        path_prefix: "/api/public/v1/agents".into(),
        status: Some(500),
        ..Default::default()
    });
    assert_eq!(t.post("/agents", json!({ "name": "x" })).await.status, 201);
    assert_eq!(t.get("/agents").await.status, 500);
    let log = t.emu.requests();
    assert_eq!(log.last().unwrap().status, 500);
    assert!(log.last().unwrap().fault.is_some());
}

#[tokio::test]
async fn text_body_html_and_malformed_json() {
    let t = start().await;
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        status: Some(503),
        body: Some("upstream down".into()),
        ..Default::default()
    });
    let r = t.get("/models").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text, "upstream down");
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        html: true,
        ..Default::default()
    });
    let r = t.get("/models").await;
    assert_eq!(r.status, 502);
    assert!(r.text.contains("<html>"));
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        malformed_json: true,
        ..Default::default()
    });
    let r = t
        .http
        .get(t.url("/models"))
        .bearer_auth(&t.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<serde_json::Value>().await.is_err());
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        status: Some(500),
        content_type: Some("text/html".into()),
        body: Some("<h1>x</h1>".into()),
        ..Default::default()
    });
    assert_eq!(t.get("/models").await.headers["content-type"], "text/html");
}

#[tokio::test]
async fn latency_alone_then_proceeds() {
    let t = start().await;
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/agents".into(),
        latency_ms: 150,
        ..Default::default()
    });
    let t0 = Instant::now();
    let r = t.post("/agents", json!({ "name": "Slow" })).await;
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.status, 201);
    assert_eq!(t.get("/agents").await.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn dropped_connection_sends_nothing_and_changes_nothing() {
    let t = start().await;
    t.emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/agents".into(),
        drop_connection: true,
        ..Default::default()
    });
    let err = t
        .http
        .post(t.url("/agents"))
        .bearer_auth(&t.key)
        .json(&json!({ "name": "Ghost" }))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert_eq!(
        t.get("/agents").await.body,
        json!([]),
        "a dropped request never reaches the handler"
    );
    assert_eq!(
        t.post("/agents", json!({ "name": "Real" })).await.status,
        201
    );
    let log = t.emu.requests();
    assert_eq!(log[0].status, 0);
    assert!(log[0].fault.is_some());
}

#[tokio::test]
async fn faults_over_http_and_clearing() {
    let t = start().await;
    let r = t
        .admin(
            Method::POST,
            "/faults",
            None,
            Some(json!({ "path_prefix": "/api/public/v1/", "times": 5, "status": 502 })),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(r.body["id"].as_str().unwrap().starts_with("flt_"));
    let list = t.admin(Method::GET, "/faults", None, None).await.body;
    assert_eq!(list["faults"][0]["remaining"], 5);
    assert_eq!(t.get("/vaults").await.status, 502);
    // The control API is never faulted.
    assert_eq!(
        t.admin(Method::GET, "/health", None, None).await.status,
        200
    );
    assert_eq!(
        t.admin(Method::DELETE, "/faults", None, None).await.status,
        204
    );
    assert_eq!(t.get("/vaults").await.status, 200);
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/".into(),
        status: Some(500),
        ..Default::default()
    });
    t.emu.clear_faults();
    assert_eq!(t.get("/vaults").await.status, 200);
    assert_eq!(
        t.admin(Method::POST, "/faults", None, Some(json!({ "times": "x" })))
            .await
            .status,
        400
    );
}
