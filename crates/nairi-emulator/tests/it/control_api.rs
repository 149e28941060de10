//! Control-API input checks: scripts, faults, bodies, and the JSON shape of every rejection.

use nairi_emulator::{OutboundAttachment, ScriptedTurn};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

/// 24 hours: the largest delay a scripted turn may ask for.
const DAY_MS: u64 = 86_400_000;

#[tokio::test]
async fn delays_beyond_a_day_are_rejected_and_the_agent_keeps_working() {
    let t = start().await;
    t.deployed_agent("Jam").await;
    // u64::MAX used to overflow `reply_ms + delay_ms` in the turn task and jam the agent.
    let r = t
        .admin(
            Method::POST,
            "/agents/jam/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "delay_ms": u64::MAX }] })),
        )
        .await;
    assert_err(&r, 400, "delay_ms");
    for field in ["queue_ms", "delay_ms", "status_lag_ms", "reply_lag_ms"] {
        let r = t
            .admin(
                Method::POST,
                "/agents/jam/script",
                Some(&t.key),
                Some(json!({ "turns": [{ field: DAY_MS + 1 }] })),
            )
            .await;
        assert_err(&r, 400, field);
    }
    let err = t
        .emu
        .script(
            &t.key,
            "jam",
            vec![ScriptedTurn {
                delay_ms: u64::MAX,
                ..Default::default()
            }],
        )
        .unwrap_err();
    assert_eq!(err.status, 400, "{err}");
    // A rejected script leaves nothing behind: the next turn is the default one, and it completes.
    let (job, m) = t.start_conv("jam", "still alive").await;
    t.wait_status(&m, &["completed"]).await;
    assert_eq!(
        t.messages(&job).await.last().unwrap()["content"],
        "Echo: still alive"
    );
    // Exactly a day is accepted (on an agent that never runs it).
    t.deployed_agent("Patient").await;
    let r = t
        .admin(
            Method::POST,
            "/agents/patient/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "delay_ms": DAY_MS, "queue_ms": DAY_MS,
                                     "status_lag_ms": DAY_MS, "reply_lag_ms": DAY_MS }] })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["pending_turns"], 1);
}

#[tokio::test]
async fn invalid_base64_in_a_scripted_attachment_is_rejected() {
    let t = start().await;
    t.deployed_agent("Files").await;
    let r = t
        .admin(
            Method::POST,
            "/agents/files/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "attachments": [
                { "filename": "out.txt", "data_base64": "not base64!" }
            ] }] })),
        )
        .await;
    assert_err(&r, 400, "data_base64");
    let err = t
        .emu
        .script(
            &t.key,
            "files",
            vec![ScriptedTurn {
                attachments: vec![OutboundAttachment {
                    filename: "a.bin".into(),
                    content_type: None,
                    data_base64: "%%%".into(),
                }],
                ..Default::default()
            }],
        )
        .unwrap_err();
    assert_eq!(err.status, 400);
    // Nothing was queued: the next turn has no attachment.
    let (job, m) = t.start_conv("files", "x").await;
    t.wait_status(&m, &["completed"]).await;
    let last = t.messages(&job).await.last().unwrap().clone();
    assert_eq!(last["role"], "assistant");
    assert!(last.get("attachment_ids").is_none(), "{last}");
}

/// The limit on control-API bodies.
const ADMIN_LIMIT: usize = 1024 * 1024;

#[tokio::test]
async fn control_api_bodies_over_one_mib_get_a_json_413() {
    let t = start().await;
    t.deployed_agent("Big").await;
    let base = t.emu.base_url();
    let huge_fault = json!({ "path_prefix": "/api/public/v1/", "status": 500,
                             "body": "x".repeat(2 * ADMIN_LIMIT) });
    let huge_script = json!({ "turns": [{ "reply": "y".repeat(2 * ADMIN_LIMIT) }] });
    for (path, body) in [
        ("/_emulator/faults", huge_fault),
        ("/_emulator/agents/big/script", huge_script),
    ] {
        let r = t
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(&t.key)
            .json(&body)
            .send()
            .await;
        match r {
            Ok(r) => {
                let r = into_resp(r).await;
                assert_err(&r, 413, "too large");
                assert!(
                    r.headers["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("application/json")
                );
            }
            // The server may answer and close before the client has sent everything.
            Err(e) => assert!(e.is_request() || e.is_body() || e.is_connect(), "{e}"),
        }
    }
    // Nothing was stored.
    let faults = t.admin(Method::GET, "/faults", None, None).await;
    assert_eq!(faults.body["faults"], json!([]), "{}", faults.text);
    let (job, m) = t.start_conv("big", "x").await;
    t.wait_status(&m, &["completed"]).await;
    assert_eq!(t.messages(&job).await.last().unwrap()["content"], "Echo: x");
    // A body under the limit is fine.
    let r = t
        .admin(
            Method::POST,
            "/agents/big/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "reply": "y".repeat(ADMIN_LIMIT / 2) }] })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn every_control_api_rejection_is_json() {
    let t = start().await;
    let base = t.emu.base_url();
    let cases: Vec<(Method, &str, Option<&str>, u16)> = vec![
        // Not UTF-8 once percent-decoded: the path extractor used to answer in text/plain.
        (Method::POST, "/_emulator/jobs/%FF/status", Some("{}"), 400),
        (Method::POST, "/_emulator/jobs/%FF%FE/status", None, 400),
        (Method::GET, "/_emulator/orgs", None, 405),
        (Method::PUT, "/_emulator/faults", None, 405),
        (Method::GET, "/_emulator/nope", None, 404),
        (Method::POST, "/_emulator/faults", Some("{not json"), 400),
        (Method::POST, "/_emulator/orgs", Some("[1]"), 400),
    ];
    for (method, path, body, status) in cases {
        let mut rb = t
            .http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(&t.key);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let r = into_resp(rb.send().await.unwrap()).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text);
        assert!(
            r.body["error"].is_string(),
            "{method} {path}: not a JSON error: {:?}",
            r.text
        );
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn unknown_fields_in_control_bodies_are_rejected() {
    let t = start().await;
    t.deployed_agent("Strict").await;
    let org = Some(t.key.as_str());
    let cases: Vec<(&str, Option<&str>, serde_json::Value, &str)> = vec![
        // A typo used to make the fault match every route.
        (
            "/faults",
            None,
            json!({ "path_prefx": "/api/public/v1/agents", "status": 500 }),
            "path_prefx",
        ),
        (
            "/faults",
            None,
            json!({ "path_prefix": "/api/public/v1/agents", "status": 500, "retry-after": "1" }),
            "retry-after",
        ),
        ("/agents/strict/script", org, json!({ "turn": [] }), "turn"),
        (
            "/agents/strict/script",
            org,
            json!({ "turns": [{ "replay": "x" }] }),
            "replay",
        ),
        (
            "/agents/strict/script",
            org,
            json!({ "turns": [{ "progress": [{ "tool": "Bash" }] }] }),
            "tool",
        ),
        (
            "/agents/strict/script",
            org,
            json!({ "turns": [{ "late_progress": [{ "kind": "x" }] }] }),
            "kind",
        ),
        (
            "/agents/strict/script",
            org,
            json!({ "turns": [{ "usage": { "cost": 1.0 } }] }),
            "cost",
        ),
        (
            "/agents/strict/script",
            org,
            json!({ "turns": [{ "fail": { "details": "x" } }] }),
            "details",
        ),
        (
            "/agents/strict/script",
            org,
            json!({ "turns": [{ "attachments": [{ "filename": "a", "data_base64": "", "mime": "x" }] }] }),
            "mime",
        ),
        (
            "/agents",
            org,
            json!({ "name": "X", "deploy": true }),
            "deploy",
        ),
        (
            "/jobs",
            org,
            json!({ "agent": "strict", "sorce": "api" }),
            "sorce",
        ),
        ("/orgs", None, json!({ "legacy": true }), "legacy"),
    ];
    for (path, key, body, needle) in cases {
        let r = t.admin(Method::POST, path, key, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains(needle),
            "{path}: {} lacks {needle:?}",
            r.text
        );
    }
    let job = t
        .admin(
            Method::POST,
            "/jobs",
            org,
            Some(json!({ "agent": "strict" })),
        )
        .await
        .body["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .admin(
            Method::POST,
            &format!("/jobs/{job}/status"),
            org,
            Some(json!({ "status": "completed", "reson": "x" })),
        )
        .await;
    assert_err(&r, 400, "reson");
    // Nothing was created, scripted or injected.
    assert_eq!(
        t.admin(Method::GET, "/faults", None, None).await.body["faults"],
        json!([])
    );
    assert_eq!(t.get("/agents").await.body.as_array().unwrap().len(), 1);
    let (job, m) = t.start_conv("strict", "plain").await;
    t.wait_status(&m, &["completed"]).await;
    assert_eq!(
        t.messages(&job).await.last().unwrap()["content"],
        "Echo: plain"
    );
}

// A long conversation for memory measurements: earlier turns with progress, seeded in one
// control call, in order, then the seeded prompt; a follow-up on it runs as usual. Too many
// messages is a 400, and nothing is created.
#[tokio::test]
async fn a_long_thread_is_seeded_in_order_and_bounded() {
    let t = start().await;
    t.deployed_agent("Long").await;
    let r = t
        .admin(
            Method::POST,
            "/jobs",
            Some(&t.key),
            Some(json!({ "agent": "long", "source": "api", "earlier_turns": 3, "progress_per_turn": 5 })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let job = r.body["job_id"].as_str().unwrap().to_string();
    let msgs = t.messages(&job).await;
    assert_eq!(msgs.len(), 3 * 7 + 1);
    let roles: Vec<&str> = msgs[..7]
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "user",
            "progress",
            "progress",
            "progress",
            "progress",
            "progress",
            "assistant"
        ]
    );
    assert_eq!(msgs[0]["content"], "Earlier prompt 0");
    assert_eq!(msgs[14]["content"], "Earlier prompt 2");
    assert_eq!(msgs[20]["content"], "Echo: Earlier prompt 2");
    assert!(msgs.iter().all(|m| m["status"] == "completed"));
    let types: Vec<String> = msgs[1..6]
        .iter()
        .map(|m| {
            let c: serde_json::Value =
                serde_json::from_str(m["content"].as_str().unwrap()).unwrap();
            c["progress_type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(types.len(), 5);
    assert!(types.contains(&"tool_use".to_owned()), "{types:?}");
    assert_eq!(msgs[21]["role"], "user", "the seeded prompt comes last");
    let follow = t.continue_conv(&job, "one more").await;
    assert_eq!(follow.status, 200, "{}", follow.text);
    let m = follow.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&m, &["completed"]).await;
    assert_eq!(
        t.messages(&job).await.last().unwrap()["content"],
        "Echo: one more"
    );

    let jobs_before = t.get("/conversations").await.body.clone();
    let r = t
        .admin(
            Method::POST,
            "/jobs",
            Some(&t.key),
            Some(json!({ "agent": "long", "earlier_turns": 100_000, "progress_per_turn": 1 })),
        )
        .await;
    assert_err(&r, 400, "earlier_turns");
    let r = t
        .admin(
            Method::POST,
            "/jobs",
            Some(&t.key),
            Some(json!({ "agent": "long", "earlier_turns": u32::MAX, "progress_per_turn": u32::MAX })),
        )
        .await;
    assert_err(&r, 400, "at most 200000");
    assert_eq!(
        t.get("/conversations").await.body,
        jobs_before,
        "nothing was created"
    );
}
