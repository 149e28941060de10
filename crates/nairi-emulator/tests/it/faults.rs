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

/// Posts a fault over HTTP; returns the response.
async fn post_fault(t: &T, fault: serde_json::Value) -> Resp {
    t.admin(Method::POST, "/faults", None, Some(fault)).await
}

#[tokio::test]
async fn faults_that_would_break_framing_are_rejected() {
    let t = start().await;
    for name in [
        "content-length",
        "Content-Length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "keep-alive",
        "te",
        "trailer",
        "proxy-connection",
        "proxy-authenticate",
    ] {
        let r = post_fault(
            &t,
            json!({ "path_prefix": "/api/public/v1/models", "status": 500,
                    "headers": { name: "5" } }),
        )
        .await;
        assert_err(&r, 400, "header");
        let err = t
            .emu
            .try_inject_fault(Fault {
                path_prefix: "/api/public/v1/models".into(),
                status: Some(500),
                headers: [(name.to_string(), "5".to_string())].into(),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.status, 400, "{name}");
    }
    // Header names and values that are not valid HTTP are rejected too.
    for headers in [json!({ "bad name": "x" }), json!({ "x-ok": "line\nbreak" })] {
        let r = post_fault(
            &t,
            json!({ "path_prefix": "/api/public/v1/models", "status": 500, "headers": headers }),
        )
        .await;
        assert_err(&r, 400, "header");
    }
    assert_eq!(
        t.admin(Method::GET, "/faults", None, None).await.body["faults"],
        json!([])
    );
    // The server still answers normally.
    assert_eq!(t.get("/models").await.status, 200);
}

#[tokio::test]
async fn faults_that_would_silently_do_nothing_are_rejected() {
    let t = start().await;
    let p = "/api/public/v1/models";
    let bad = [
        (
            json!({ "path_prefix": p, "retry_after": "1" }),
            "retry_after",
        ),
        (
            json!({ "path_prefix": p, "headers": { "x-a": "b" } }),
            "headers",
        ),
        (json!({ "path_prefix": p, "body": "x" }), "body"),
        (
            json!({ "path_prefix": p, "content_type": "text/plain" }),
            "content_type",
        ),
        (json!({ "path_prefix": p }), "does nothing"),
        (json!({ "path_prefix": p, "times": 3 }), "does nothing"),
        (
            json!({ "path_prefix": p, "status": 500, "html": true }),
            "at most one",
        ),
        (
            json!({ "path_prefix": p, "drop_connection": true, "malformed_json": true }),
            "at most one",
        ),
        (
            json!({ "path_prefix": p, "status": 500, "times": 0 }),
            "times",
        ),
        (json!({ "path_prefix": p, "status": 99 }), "status"),
        (json!({ "path_prefix": p, "status": 101 }), "status"),
        (json!({ "path_prefix": p, "status": 600 }), "status"),
        (
            json!({ "path_prefix": p, "latency_ms": 86_400_001u64 }),
            "latency_ms",
        ),
        (
            json!({ "path_prefix": p, "status": 500, "method": "GTE" }),
            "method",
        ),
        // A path outside the public API can never match.
        (
            json!({ "path_prefix": "/agents", "status": 500 }),
            "path_prefix",
        ),
        (json!({ "path_prefix": "", "status": 500 }), "path_prefix"),
        // path_prefix is required.
        (json!({ "status": 500 }), "path_prefix"),
    ];
    for (fault, needle) in bad {
        let r = post_fault(&t, fault.clone()).await;
        assert_eq!(r.status, 400, "{fault} -> {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains(needle),
            "{fault}: {} lacks {needle:?}",
            r.text
        );
    }
    assert_eq!(
        t.admin(Method::GET, "/faults", None, None).await.body["faults"],
        json!([])
    );
    assert!(
        t.emu
            .try_inject_fault(Fault {
                path_prefix: p.into(),
                retry_after: Some("1".into()),
                ..Default::default()
            })
            .is_err()
    );
    // What each field needs, it has: all accepted.
    for ok in [
        json!({ "path_prefix": p, "html": true, "retry_after": "1", "headers": { "x-a": "b" } }),
        json!({ "path_prefix": p, "malformed_json": true, "headers": { "x-a": "b" } }),
        json!({ "path_prefix": p, "latency_ms": 1 }),
        json!({ "path_prefix": "/", "method": "patch", "status": 204 }),
        json!({ "path_prefix": "/api/public/v1", "status": 503, "body": "", "content_type": "text/plain" }),
    ] {
        assert_eq!(post_fault(&t, ok.clone()).await.status, 201, "{ok}");
    }
}

#[tokio::test]
async fn a_204_or_304_fault_with_a_body_answers_without_breaking_the_connection() {
    let t = start().await;
    for status in [204u16, 304] {
        t.emu.inject_fault(Fault {
            path_prefix: "/api/public/v1/models".into(),
            status: Some(status),
            body: Some("ignored".into()),
            ..Default::default()
        });
        let r = t.get("/models").await;
        assert_eq!(r.status.as_u16(), status);
        assert_eq!(r.text, "");
        assert_eq!(t.get("/models").await.status, 200);
    }
}

/// Faults that apply the request and then hide the answer: the client cannot tell whether it
/// was taken, yet it was, exactly once.
#[tokio::test]
async fn applied_faults_take_the_request_and_hide_the_answer() {
    let t = start().await;
    let post = |name: &str| {
        t.http
            .post(t.url("/agents"))
            .bearer_auth(&t.key)
            .json(&json!({ "name": name }))
            .send()
    };
    t.emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/agents".into(),
        apply: true,
        drop_connection: true,
        ..Default::default()
    });
    assert!(post("dropped").await.is_err(), "the connection is dropped");
    t.emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/agents".into(),
        apply: true,
        html: true,
        ..Default::default()
    });
    assert_eq!(post("gateway").await.unwrap().status(), 502);
    t.emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/agents".into(),
        apply: true,
        latency_ms: 300,
        ..Default::default()
    });
    let impatient = t
        .http
        .post(t.url("/agents"))
        .bearer_auth(&t.key)
        .timeout(Duration::from_millis(50))
        .json(&json!({ "name": "late" }))
        .send()
        .await;
    assert!(impatient.unwrap_err().is_timeout());
    // The late one lands after the client gave up; wait for it (bounded), then count.
    let deadline = Instant::now() + Duration::from_secs(10);
    let names = loop {
        let listed = t.get("/agents").await.body;
        let names: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect();
        if names.len() >= 3 || Instant::now() > deadline {
            break names;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["dropped", "gateway", "late"], "{names:?}");
    let err = t
        .emu
        .try_inject_fault(Fault {
            path_prefix: "/api/public/v1/agents".into(),
            apply: true,
            malformed_json: true,
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("apply"), "{err}");
}
