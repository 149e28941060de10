//! The control API over HTTP.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn orgs_agents_jobs_and_status() {
    let t = start().await;
    assert_eq!(
        t.admin(Method::GET, "/health", None, None).await.body,
        json!({ "ok": true })
    );
    let r = t.admin(Method::POST, "/orgs", None, Some(json!({}))).await;
    assert_eq!(r.status, 201);
    let key = r.body["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("nr_") && key.len() == 47);
    let r = t.admin(Method::POST, "/orgs", None, None).await;
    assert_eq!(r.status, 201);
    // Seeded like any org.
    assert_eq!(
        t.req_as(&key, Method::GET, "/connected-channels", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        t.admin(Method::POST, "/agents", None, Some(json!({ "name": "x" })))
            .await
            .status,
        401
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents",
            Some("nr_unknown"),
            Some(json!({ "name": "x" }))
        )
        .await
        .status,
        401
    );
    let a = t.admin(Method::POST, "/agents", Some(&key), Some(json!({ "name": "Web", "slug": "acme/web", "deployed": true, "instances_count": 2 }))).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["agent_id"], "acme/web");
    assert_eq!(a.body["instances_count"], 2);
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents",
            Some(&key),
            Some(json!({ "name": "" }))
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents",
            Some(&key),
            Some(json!({ "name": 5 }))
        )
        .await
        .status,
        400
    );
    let r = t
        .admin(Method::POST, "/agents", Some(&key), Some(json!("nope")))
        .await;
    assert_err(&r, 400, "invalid JSON");

    let j = t.admin(Method::POST, "/jobs", Some(&key), Some(json!({ "agent": "acme/web", "source": "discord", "status": "active", "prompt": "from discord" }))).await;
    assert_eq!(j.status, 201, "{}", j.text);
    let job = j.body["job_id"].as_str().unwrap().to_string();
    let msg = t
        .req_as(
            &key,
            Method::GET,
            &format!("/messages/{}", j.body["message_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(msg.body["status"], "completed");
    assert_eq!(msg.body["content"], "from discord");
    assert_eq!(
        t.admin(
            Method::POST,
            "/jobs",
            Some(&key),
            Some(json!({ "agent": "ghost" }))
        )
        .await
        .status,
        404
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/jobs",
            Some(&key),
            Some(json!({ "agent": "acme/web", "source": "fax" }))
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/jobs",
            Some(&key),
            Some(json!({ "agent": "acme/web", "status": "done" }))
        )
        .await
        .status,
        400
    );

    let s = t
        .admin(
            Method::POST,
            &format!("/jobs/{job}/status"),
            Some(&key),
            Some(json!({ "status": "completed", "reason": "Job complete - Thread is inactive" })),
        )
        .await;
    assert_eq!(s.status, 200);
    let convs = t
        .req_as(&key, Method::GET, "/agents/acme%2Fweb/conversations", None)
        .await;
    assert_eq!(convs.body["conversations"][0]["status"], "completed");
    let msgs = t
        .req_as(
            &key,
            Method::GET,
            &format!("/conversations/{job}/messages"),
            None,
        )
        .await;
    assert_eq!(msgs.body["messages"][1]["role"], "system");
    assert_eq!(
        msgs.body["messages"][1]["content"],
        "Job complete - Thread is inactive"
    );
    assert_eq!(
        t.admin(
            Method::POST,
            &format!("/jobs/{job}/status"),
            Some(&key),
            Some(json!({ "status": "weird" }))
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/jobs/job_01KRK1V46BXS73CSNK2VR35NPJ/status",
            Some(&key),
            Some(json!({ "status": "completed" }))
        )
        .await
        .status,
        404
    );
    // Another org's job is invisible.
    assert_eq!(
        t.admin(
            Method::POST,
            &format!("/jobs/{job}/status"),
            Some(&t.key),
            Some(json!({ "status": "completed" }))
        )
        .await
        .status,
        404
    );

    // Legacy job ids.
    let legacy = t
        .admin(
            Method::POST,
            "/orgs",
            None,
            Some(json!({ "legacy_job_ids": true })),
        )
        .await
        .body["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    t.admin(
        Method::POST,
        "/agents",
        Some(&legacy),
        Some(json!({ "name": "Old" })),
    )
    .await;
    let j = t
        .admin(
            Method::POST,
            "/jobs",
            Some(&legacy),
            Some(json!({ "agent": "old" })),
        )
        .await;
    assert!(j.body["job_id"].as_str().unwrap().starts_with("j_"));
}

#[tokio::test]
async fn script_over_http_and_unknown_agent() {
    let t = start().await;
    t.deployed_agent("Bot").await;
    let turns = json!({ "turns": [{
        "reply": "R", "usage": null, "progress": [{ "progress_type": "step", "summary": "thinking" }],
        "system_messages": ["New commit added: [a1b2c3d](https://github.com/acme/web/commit/a1b2c3d) in [#42](https://github.com/acme/web/pull/42)"]
    }]});
    let r = t
        .admin(
            Method::POST,
            "/agents/bot/script",
            Some(&t.key),
            Some(turns),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents/ghost/script",
            Some(&t.key),
            Some(json!({ "turns": [] }))
        )
        .await
        .status,
        404
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents/bot/script",
            None,
            Some(json!({ "turns": [] }))
        )
        .await
        .status,
        401
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents/bot/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "stuck": "yes" }] }))
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.admin(
            Method::POST,
            "/agents/bot/nothing",
            Some(&t.key),
            Some(json!({}))
        )
        .await
        .status,
        404
    );
    let (job, m) = t.start_conv("bot", "x").await;
    t.wait_status(&m, &["completed"]).await;
    let msgs = t
        .wait_thread(&job, |ms| ms.iter().any(|x| x["role"] == "system"))
        .await;
    assert_eq!(roles(&msgs), ["user", "progress", "assistant", "system"]);
    assert_eq!(msgs[1]["progress_type"], "step");
    assert!(msgs[2].get("cost_usd").is_none());
}

#[tokio::test]
async fn request_log_and_reset() {
    let t = start().await;
    t.http
        .get(t.url("/agents?a=b"))
        .bearer_auth(&t.key)
        .header("user-agent", "nairi-test/1.0")
        .send()
        .await
        .unwrap();
    t.post("/agents", json!({ "name": "Logged" })).await;
    t.admin(Method::GET, "/health", None, None).await;
    let log = t.admin(Method::GET, "/requests", None, None).await.body;
    let reqs = log["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "admin calls are not logged");
    assert_eq!(reqs[0]["seq"], 1);
    assert_eq!(reqs[0]["method"], "GET");
    assert_eq!(reqs[0]["path"], "/api/public/v1/agents");
    assert_eq!(reqs[0]["query"], "a=b");
    assert_eq!(reqs[0]["status"], 200);
    assert_eq!(reqs[0]["headers"]["user-agent"], "nairi-test/1.0");
    let auth = reqs[0]["headers"]["authorization"].as_str().unwrap();
    assert!(
        auth.starts_with("Bearer nr_") && auth.ends_with("(redacted)"),
        "{auth}"
    );
    assert!(
        !log.to_string().contains(&t.key),
        "the key must never appear in the log"
    );
    assert_eq!(reqs[1]["status"], 201);
    assert_eq!(reqs[1]["query"], serde_json::Value::Null);
    assert!(reqs[1]["body_len"].as_u64().unwrap() > 0);
    assert_eq!(reqs[1]["headers"]["content-type"], "application/json");
    // The Rust API sees the same log.
    assert_eq!(t.emu.requests().len(), 2);
    assert_eq!(
        t.admin(Method::DELETE, "/requests", None, None)
            .await
            .status,
        204
    );
    assert!(t.emu.requests().is_empty());
    t.get("/agents").await;
    assert_eq!(
        t.emu.requests()[0].seq,
        3,
        "the sequence goes on after a clear"
    );
    t.emu.clear_requests();
    assert!(t.emu.requests().is_empty());

    // Reset: state cleared, keys kept and re-seeded, scripts and faults gone.
    let other = t.emu.new_org();
    t.emu
        .script(&t.key, "logged", vec![Default::default()])
        .unwrap();
    t.emu.inject_fault(nairi_emulator::Fault {
        path_prefix: "/api/public/v1/models".into(),
        status: Some(500),
        ..Default::default()
    });
    let r = t.admin(Method::POST, "/reset", None, None).await;
    assert_eq!(r.body, json!({ "ok": true }));
    assert_eq!(t.get("/agents").await.body, json!([]));
    assert_eq!(
        t.req_as(&other, Method::GET, "/agents", None).await.status,
        200
    );
    assert_eq!(t.get("/models").await.status, 200, "faults are cleared");
    assert_eq!(
        t.get("/connected-channels")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(t.emu.requests().len(), 4);
    t.emu.reset();
    assert!(t.emu.requests().is_empty());
}

#[tokio::test]
async fn reset_stops_background_turns_from_touching_new_state() {
    let t = start().await;
    t.deployed_agent("Busy").await;
    t.emu
        .script(
            &t.key,
            "busy",
            vec![nairi_emulator::ScriptedTurn {
                delay_ms: 100,
                ..Default::default()
            }],
        )
        .unwrap();
    let (_job, m) = t.start_conv("busy", "x").await;
    t.wait_status(&m, &["pending"]).await;
    t.emu.reset();
    assert_eq!(t.get(&format!("/messages/{m}")).await.status, 404);
    t.deployed_agent("Busy").await;
    let (_job, m2) = t.start_conv("busy", "y").await;
    t.wait_status(&m2, &["completed"]).await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let t = start().await;
    let base = t.emu.base_url();
    let T { emu, http, .. } = t;
    emu.shutdown().await;
    assert!(
        http.get(format!("{base}/_emulator/health"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_control_api_caps_instances_count_like_the_public_api() {
    let t = start().await;
    for n in [0u64, 1001, u32::MAX as u64] {
        let r = t
            .admin(
                Method::POST,
                "/agents",
                Some(&t.key),
                Some(json!({ "name": "Many", "instances_count": n })),
            )
            .await;
        assert_err(&r, 400, "instances_count");
        let public = t
            .post("/agents", json!({ "name": "Many", "instances_count": n }))
            .await;
        assert_err(&public, 400, "instances_count");
        assert_eq!(
            r.body["error"], public.body["error"],
            "one rule, one message"
        );
    }
    let r = t
        .admin(
            Method::POST,
            "/agents",
            Some(&t.key),
            Some(json!({ "name": "Max", "instances_count": nairi_emulator::MAX_INSTANCES_COUNT })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["instances_count"], 1000);
}
