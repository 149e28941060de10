//! Concurrency (bounded) and the standalone binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nairi_emulator::AgentSeed;
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_stay_consistent() {
    let t = std::sync::Arc::new(start().await);
    t.emu
        .create_agent(
            &t.key,
            AgentSeed {
                name: "Busy".into(),
                deployed: true,
                instances_count: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut msgs = Vec::new();
            for i in 0..60 {
                let r = t
                    .post(
                        "/artifacts/rules",
                        json!({ "title": format!("{w}-{i}"), "description": "d", "content": "c" }),
                    )
                    .await;
                assert_eq!(r.status, 201);
                assert_eq!(t.get("/agents").await.status, 200);
                if i % 20 == 0 {
                    msgs.push(t.start_conv("busy", &format!("w{w} i{i}")).await.1);
                }
            }
            msgs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    assert_eq!(
        t.get("/artifacts/rules")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        480
    );
    for m in &all {
        t.wait_status(m, &["completed"]).await;
    }
    assert_eq!(
        t.get("/agents/busy/conversations?limit=100").await.body["conversations"]
            .as_array()
            .unwrap()
            .len(),
        all.len()
    );
}

#[test]
fn binary_prints_base_url_and_key() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nairi-emulator"))
        .args(["--port", "0", "--fast", "--api-key", "nr_from_flag"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn nairi-emulator");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    let mut key = None;
    for line in lines.by_ref().take(4) {
        let line = line.unwrap();
        if let Some(b) = line.strip_prefix("NAIRI_BASE_URL=") {
            base = Some(b.to_string());
        }
        if let Some(k) = line.strip_prefix("NAIRI_API_KEY=") {
            key = Some(k.to_string());
        }
    }
    let base = base.expect("base URL printed");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(key.as_deref(), Some("nr_from_flag"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{base}/api/public/v1/agents"))
            .bearer_auth("nr_from_flag")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
