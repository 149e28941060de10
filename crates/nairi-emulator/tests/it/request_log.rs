//! The request log: sequence numbers, outcome attribution, capacity, truncation, `since`.

use std::time::{Duration, Instant};

use nairi_emulator::Fault;
use reqwest::Method;
use serde_json::Value;

use crate::common::*;

fn seqs(t: &T) -> Vec<u64> {
    t.emu.requests().iter().map(|r| r.seq).collect()
}

#[tokio::test]
async fn the_sequence_is_never_reset() {
    let t = start().await;
    t.get("/agents").await;
    t.get("/agents").await;
    assert_eq!(seqs(&t), [1, 2]);
    t.emu.clear_requests();
    t.get("/agents").await;
    assert_eq!(seqs(&t), [3]);
    assert_eq!(
        t.admin(Method::DELETE, "/requests", None, None)
            .await
            .status,
        204
    );
    t.get("/agents").await;
    assert_eq!(seqs(&t), [4]);
    t.emu.reset();
    t.get("/agents").await;
    assert_eq!(seqs(&t), [5]);
    t.admin(Method::POST, "/reset", None, None).await;
    t.get("/agents").await;
    assert_eq!(seqs(&t), [6]);
}

#[tokio::test]
async fn an_outcome_is_never_attributed_to_a_later_request() {
    let t = start().await;
    t.emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        latency_ms: 1000,
        status: Some(503),
        ..Default::default()
    });
    let http = t.http.clone();
    let (url, key) = (t.url("/models"), t.key.clone());
    let slow = tokio::spawn(async move { http.get(url).bearer_auth(key).send().await });
    // Wait until the slow request is logged (in flight, status 0), then clear the log.
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.emu.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the slow request was never logged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.emu.clear_requests();
    assert_eq!(t.get("/agents").await.status, 200);
    assert_eq!(slow.await.unwrap().unwrap().status(), 503);
    let log = t.emu.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, "/api/public/v1/agents");
    assert_eq!(log[0].status, 200, "the slow request's outcome landed here");
    assert_eq!(log[0].fault, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_keeps_the_newest_ten_thousand() {
    let t = std::sync::Arc::new(start().await);
    let total = nairi_emulator::REQUEST_LOG_CAPACITY as u64 + 50;
    let workers = 8;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < total {
                assert_eq!(t.get("/models").await.status, 200);
                i += workers;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let log = t.emu.requests();
    assert_eq!(log.len(), nairi_emulator::REQUEST_LOG_CAPACITY);
    assert_eq!(log.first().unwrap().seq, 51, "the oldest were dropped");
    assert_eq!(log.last().unwrap().seq, total);
    assert!(log.iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn long_paths_queries_and_header_values_are_truncated() {
    let t = start().await;
    let long_seg = "a".repeat(3000);
    let long_query = format!("q={}", "b".repeat(3000));
    let long_header = "é".repeat(3000);
    let r = t
        .http
        .get(t.url(&format!("/agents/{long_seg}?{long_query}")))
        .bearer_auth(&t.key)
        .header("x-long", long_header.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let entry = t.emu.requests().pop().unwrap();
    let limit = nairi_emulator::LOG_FIELD_LIMIT;
    for (what, v) in [
        ("path", entry.path.as_str()),
        ("query", entry.query.as_deref().unwrap()),
        ("header", entry.headers["x-long"].as_str()),
    ] {
        assert!(v.ends_with("…(truncated)"), "{what}: {v:.40}");
        let kept = v.trim_end_matches("…(truncated)");
        assert!(
            kept.len() <= limit && kept.len() > limit - 4,
            "{what}: {}",
            kept.len()
        );
    }
    assert!(entry.path.starts_with("/api/public/v1/agents/aaa"));
    // Short values are stored as they are.
    t.get("/agents?a=b").await;
    let entry = t.emu.requests().pop().unwrap();
    assert_eq!(entry.path, "/api/public/v1/agents");
    assert_eq!(entry.query.as_deref(), Some("a=b"));
}

#[tokio::test]
async fn requests_since_a_sequence_number() {
    let t = start().await;
    for _ in 0..5 {
        t.get("/agents").await;
    }
    let since: Vec<u64> = t.emu.requests_since(3).iter().map(|r| r.seq).collect();
    assert_eq!(since, [4, 5]);
    assert!(t.emu.requests_since(5).is_empty());
    assert_eq!(t.emu.requests_since(0).len(), 5);
    let r = t.admin(Method::GET, "/requests?since=2", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got: Vec<&Value> = r.body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["seq"])
        .collect();
    assert_eq!(got, [3, 4, 5]);
    for bad in ["since=-1", "since=x", "since=", "sinse=2"] {
        let r = t
            .admin(Method::GET, &format!("/requests?{bad}"), None, None)
            .await;
        assert_err(&r, 400, "since");
    }
}

#[tokio::test]
async fn every_credential_bearing_header_is_redacted() {
    let t = start().await;
    let secret = "s3cr3t-value-that-must-not-leak";
    let r = t
        .http
        .get(t.url("/agents"))
        .bearer_auth(&t.key)
        .header("Cookie", format!("session={secret}"))
        .header("Proxy-Authorization", format!("Basic {secret}"))
        .header("X-Api-Key", secret)
        .header("X-Auth-Token", secret)
        .header("X-Emulator-Token", secret)
        .header("X-Client-Secret", secret)
        .header("X-Plain", "visible")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let entry = t.emu.requests().pop().unwrap();
    let h = &entry.headers;
    for name in [
        "cookie",
        "proxy-authorization",
        "x-api-key",
        "x-auth-token",
        "x-emulator-token",
        "x-client-secret",
    ] {
        assert!(h[name].ends_with("…(redacted)"), "{name}: {}", h[name]);
        assert!(!h[name].contains("value"), "{name}: {}", h[name]);
    }
    assert!(h["proxy-authorization"].starts_with("Basic "));
    assert!(h["authorization"].starts_with("Bearer nr_"));
    assert!(!h["authorization"].contains(&t.key[6..]));
    assert_eq!(h["x-plain"], "visible");
    // Over HTTP as well: the control API serialises what the Rust API returns.
    let r = t.admin(Method::GET, "/requests", None, None).await;
    assert!(!r.text.contains(secret), "{}", r.text);
    assert!(!r.text.contains(&t.key), "{}", r.text);
}

#[tokio::test]
async fn header_names_and_the_headers_of_an_entry_are_bounded() {
    let t = start().await;
    let long_name = "x".repeat(3000);
    let mut rb = t
        .http
        .get(t.url("/agents"))
        .bearer_auth(&t.key)
        .header(long_name.as_str(), "v");
    // 60 headers of 1000 bytes: far more than an entry keeps.
    for i in 0..60 {
        rb = rb.header(format!("x-filler-{i:02}"), "f".repeat(1000));
    }
    assert_eq!(rb.send().await.unwrap().status(), 200);
    let entry = t.emu.requests().pop().unwrap();
    let limit = nairi_emulator::LOG_FIELD_LIMIT;
    let name = entry
        .headers
        .keys()
        .find(|k| k.starts_with("xxx"))
        .expect("the long name is kept, truncated");
    assert!(name.ends_with("…(truncated)"), "{name:.40}");
    assert!(name.trim_end_matches("…(truncated)").len() <= limit);
    let bytes: usize = entry.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(
        bytes <= nairi_emulator::LOG_HEADERS_LIMIT + 64,
        "an entry keeps {bytes} bytes of headers"
    );
    let omitted = &entry.headers[nairi_emulator::OMITTED_HEADERS];
    assert!(omitted.ends_with(" headers"), "{omitted}");
}
