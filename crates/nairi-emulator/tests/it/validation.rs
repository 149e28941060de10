//! Validation rules, error shapes and organisation isolation.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

const UNKNOWN: &str = "01KRK1V46BXS73CSNK2VR35NPJ";

#[tokio::test]
async fn auth_is_required_and_orgs_are_isolated() {
    let t = start().await;
    let r = t.http.get(t.url("/agents")).send().await.unwrap();
    let r = into_resp(r).await;
    assert_err(&r, 401, "missing API key");
    assert_err(
        &t.req_as("nr_nope", Method::GET, "/agents", None).await,
        401,
        "invalid API key",
    );
    let r = t
        .http
        .get(t.url("/agents"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let other = t.emu.new_org();
    assert!(other.starts_with("nr_") && other.len() == 47);
    let a = t.post("/agents", json!({ "name": "Mine" })).await.body;
    let id = a["id"].as_str().unwrap();
    assert_err(
        &t.req_as(&other, Method::GET, &format!("/agents/{id}"), None)
            .await,
        404,
        "agent not found",
    );
    assert_err(
        &t.req_as(&other, Method::GET, "/agents/mine", None).await,
        404,
        "agent not found",
    );
    assert_eq!(
        t.req_as(&other, Method::GET, "/agents", None).await.body,
        json!([])
    );
    let rule = t
        .post(
            "/artifacts/rules",
            json!({ "title": "t", "description": "d", "content": "c" }),
        )
        .await
        .body;
    let rid = rule["id"].as_str().unwrap();
    assert_err(
        &t.req_as(
            &other,
            Method::GET,
            &format!("/artifacts/rules/{rid}"),
            None,
        )
        .await,
        404,
        "rule not found",
    );
    assert_err(
        &t.req_as(
            &other,
            Method::DELETE,
            &format!("/artifacts/rules/{rid}"),
            None,
        )
        .await,
        404,
        "rule not found",
    );
    // Another org's attachment is a 400 on start, before any message is created.
    let att = t
        .http
        .post(t.url("/attachments"))
        .bearer_auth(&t.key)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"hi".to_vec()).file_name("a.txt"),
        ))
        .send()
        .await
        .unwrap();
    let att = into_resp(att).await;
    assert_eq!(att.status, 201);
    let att_id = att.body["attachment_id"].as_str().unwrap();
    t.emu
        .create_agent(
            &other,
            nairi_emulator::AgentSeed {
                name: "Theirs".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let r = t
        .req_as(
            &other,
            Method::POST,
            "/conversations/start",
            Some(json!({ "agent_id": "theirs", "prompt": "x", "attachment_ids": [att_id] })),
        )
        .await;
    assert_err(&r, 400, "not found");
    let convs = t
        .req_as(&other, Method::GET, "/agents/theirs/conversations", None)
        .await;
    assert_eq!(convs.body["conversations"], json!([]));
    assert_err(
        &t.req_as(&other, Method::GET, &format!("/attachments/{att_id}"), None)
            .await,
        404,
        "attachment not found",
    );
    // Messages and jobs of another org are 404.
    t.deployed_agent("Talker").await;
    let (job, msg) = t.start_conv("talker", "x").await;
    assert_err(
        &t.req_as(&other, Method::GET, &format!("/messages/{msg}"), None)
            .await,
        404,
        "message not found",
    );
    assert_err(
        &t.req_as(
            &other,
            Method::GET,
            &format!("/conversations/{job}/messages"),
            None,
        )
        .await,
        404,
        "not found",
    );
}

#[tokio::test]
async fn malformed_ids_are_400_and_unknown_ids_404() {
    let t = start().await;
    let cases = [
        ("/messages/", "cmsg_", "message"),
        ("/attachments/", "att_", "attachment"),
        ("/artifacts/rules/", "aar_", "rule"),
        ("/artifacts/mcp-configs/", "amc_", "MCP config"),
        ("/artifacts/skills/", "ask_", "skill"),
        ("/vaults/", "vlt_", "vault"),
        ("/scheduled-jobs/", "sj_", "scheduled job"),
    ];
    for (path, prefix, what) in cases {
        assert_err(&t.get(&format!("{path}{prefix}123")).await, 400, "invalid");
        // Crockford base32 is case-insensitive: a lower-case ULID is well-formed.
        assert_err(
            &t.get(&format!("{path}{prefix}{}", UNKNOWN.to_lowercase()))
                .await,
            404,
            &format!("{what} not found"),
        );
        assert_err(
            &t.get(&format!("{path}xyz_{UNKNOWN}")).await,
            400,
            "invalid",
        );
        assert_err(
            &t.get(&format!("{path}{prefix}{UNKNOWN}")).await,
            404,
            &format!("{what} not found"),
        );
    }
    assert_err(
        &t.get("/conversations/job_123/messages").await,
        400,
        "invalid job id",
    );
    assert_err(
        &t.get(&format!("/conversations/job_{UNKNOWN}/messages"))
            .await,
        404,
        "not found",
    );
    assert_err(
        &t.get(&format!("/conversations/j_{UNKNOWN}/messages")).await,
        404,
        "not found",
    );
    assert_err(&t.get("/agents/cci_123").await, 400, "invalid agent id");
    assert_err(
        &t.get(&format!("/agents/cci_{UNKNOWN}")).await,
        404,
        "agent not found",
    );
    assert_err(&t.get("/agents/no-such-slug").await, 404, "agent not found");
    assert_err(
        &t.patch(
            &format!("/integrations/llm/ai_{UNKNOWN}"),
            json!({ "name": "x" }),
        )
        .await,
        404,
        "not found",
    );
    assert_err(
        &t.patch("/integrations/llm/ai_1", json!({ "name": "x" }))
            .await,
        400,
        "invalid",
    );
}

#[tokio::test]
async fn json_bodies_are_checked() {
    let t = start().await;
    let send = |ct: Option<&'static str>, body: &'static [u8]| {
        let mut rb = t.http.post(t.url("/agents")).bearer_auth(&t.key).body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        rb.send()
    };
    assert_err(
        &into_resp(send(None, br#"{"name":"x"}"#).await.unwrap()).await,
        400,
        "Content-Type",
    );
    assert_err(
        &into_resp(send(Some("text/plain"), br#"{"name":"x"}"#).await.unwrap()).await,
        400,
        "Content-Type",
    );
    assert_err(
        &into_resp(send(Some("application/json"), b"{not json").await.unwrap()).await,
        400,
        "invalid JSON",
    );
    assert_err(
        &into_resp(send(Some("application/json"), b"").await.unwrap()).await,
        400,
        "invalid JSON",
    );
    assert_err(
        &into_resp(send(Some("application/json"), b"[1,2]").await.unwrap()).await,
        400,
        "JSON object",
    );
    assert_err(
        &into_resp(send(Some("application/json"), b"\xff\xfe").await.unwrap()).await,
        400,
        "invalid JSON",
    );
    assert_err(
        &into_resp(
            send(Some("application/json"), br#"{"name":1}"#)
                .await
                .unwrap(),
        )
        .await,
        400,
        "name must be a string",
    );
    assert_err(
        &into_resp(send(Some("application/json"), br#"{}"#).await.unwrap()).await,
        400,
        "name is required",
    );
    let ok = into_resp(
        send(Some("application/json; charset=utf-8"), br#"{"name":"x"}"#)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, 201);
}

#[tokio::test]
async fn agents_create_update_and_slugs() {
    let t = start().await;
    let a = t.post("/agents", json!({ "name": "My New Agent" })).await;
    assert_eq!(a.status, 201);
    assert!(a.body["id"].as_str().unwrap().starts_with("cci_"));
    assert_eq!(a.body["agent_id"], "my-new-agent");
    assert_eq!(a.body["description"], "");
    assert_eq!(a.body["system_prompt"], serde_json::Value::Null);
    assert_eq!(a.body["instances_count"], 1);
    assert_eq!(a.body["is_self_hosted"], false);
    assert_eq!(
        t.post("/agents", json!({ "name": "My  New -- Agent!" }))
            .await
            .body["agent_id"],
        "my-new-agent-2"
    );
    assert_eq!(
        t.post("/agents", json!({ "name": "my new agent" }))
            .await
            .body["agent_id"],
        "my-new-agent-3"
    );
    assert_eq!(
        t.post("/agents", json!({ "name": "  Ünïcode Agent  " }))
            .await
            .body["agent_id"],
        "n-code-agent"
    );
    for bad in [
        json!({ "name": "x", "instances_count": 0 }),
        json!({ "name": "x", "instances_count": -1 }),
        json!({ "name": "x", "instances_count": 1.5 }),
        json!({ "name": "x", "instances_count": "2" }),
        json!({ "name": "" }),
    ] {
        assert_eq!(t.post("/agents", bad).await.status, 400);
    }
    // PATCH {} is a no-op that does not bump updated_at.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let p = t.patch("/agents/my-new-agent", json!({})).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body, a.body);
    let p = t
        .patch(
            "/agents/my-new-agent",
            json!({ "name": "Renamed", "system_prompt": "Be brief", "description": "d" }),
        )
        .await;
    assert_eq!(p.body["agent_id"], "my-new-agent", "rename keeps the slug");
    assert_eq!(p.body["name"], "Renamed");
    assert_eq!(p.body["system_prompt"], "Be brief");
    assert_ne!(p.body["updated_at"], a.body["updated_at"]);
    let p = t
        .patch("/agents/my-new-agent", json!({ "system_prompt": "" }))
        .await;
    assert_eq!(p.body["system_prompt"], "");
    let p = t
        .patch("/agents/my-new-agent", json!({ "system_prompt": null }))
        .await;
    assert_eq!(p.body["system_prompt"], serde_json::Value::Null);
    assert_eq!(
        t.patch("/agents/my-new-agent", json!({ "system_prompt": 5 }))
            .await
            .status,
        400
    );
    assert_eq!(
        t.patch("/agents/my-new-agent", json!({ "name": "" }))
            .await
            .status,
        400
    );
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(
        t.get(&format!("/agents/{id}")).await.body["name"],
        "Renamed"
    );
    let list = t.get("/agents").await.body;
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        [
            "my-new-agent",
            "my-new-agent-2",
            "my-new-agent-3",
            "n-code-agent"
        ],
        "ascending by creation"
    );
    assert_eq!(t.delete(&format!("/agents/{id}")).await.status, 204);
    assert_eq!(t.get(&format!("/agents/{id}")).await.status, 404);
    assert_eq!(t.delete(&format!("/agents/{id}")).await.status, 404);
}

#[tokio::test]
async fn start_validation() {
    let t = start().await;
    t.deployed_agent("Bot").await;
    assert_err(
        &t.post("/conversations/start", json!({ "prompt": "x" }))
            .await,
        400,
        "agent_id",
    );
    assert_err(
        &t.post("/conversations/start", json!({ "agent_id": "bot" }))
            .await,
        400,
        "prompt",
    );
    assert_err(
        &t.post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "" }),
        )
        .await,
        400,
        "prompt",
    );
    assert_err(
        &t.post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "x", "ask_mode": "yes" }),
        )
        .await,
        400,
        "ask_mode",
    );
    assert_err(
        &t.post(
            "/conversations/start",
            json!({ "agent_id": "ghost", "prompt": "x" }),
        )
        .await,
        404,
        "agent not found",
    );
    let ids: Vec<String> = (0..11).map(|_| format!("att_{UNKNOWN}")).collect();
    assert_err(
        &t.post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "x", "attachment_ids": ids }),
        )
        .await,
        400,
        "at most 10",
    );
    assert_err(
        &t.post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "x", "attachment_ids": ["att_bad"] }),
        )
        .await,
        400,
        "invalid attachment id",
    );
    assert_err(&t.post("/conversations/start", json!({ "agent_id": "bot", "prompt": "x", "attachment_ids": [format!("att_{UNKNOWN}")] })).await, 400, "not found");
    assert_err(
        &t.post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "x", "attachment_ids": "att" }),
        )
        .await,
        400,
        "array",
    );
    // None of the rejected starts created a conversation.
    assert_eq!(
        t.get("/agents/bot/conversations").await.body["conversations"],
        json!([])
    );
    // Valid attachments are echoed on the user message.
    let att = t
        .http
        .post(t.url("/attachments"))
        .bearer_auth(&t.key)
        .multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(b"png".to_vec())
                    .file_name("s.png")
                    .mime_str("image/png")
                    .unwrap(),
            ),
        )
        .send()
        .await
        .unwrap();
    let att = into_resp(att).await;
    let att_id = att.body["attachment_id"].as_str().unwrap().to_string();
    assert_eq!(att.body["content_type"], "image/png");
    let r = t
        .post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "x", "attachment_ids": [att_id] }),
        )
        .await;
    let m = t
        .get(&format!(
            "/messages/{}",
            r.body["message_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(m.body["attachment_ids"], json!([att_id]));
    let r = t
        .post(
            "/conversations/start",
            json!({ "agent_id": "bot", "prompt": "x", "attachment_ids": [] }),
        )
        .await;
    let m = t
        .get(&format!(
            "/messages/{}",
            r.body["message_id"].as_str().unwrap()
        ))
        .await;
    assert!(m.body.get("attachment_ids").is_none());
}

#[tokio::test]
async fn attachment_upload_rules() {
    let t = start().await;
    let up = |form: reqwest::multipart::Form| {
        t.http
            .post(t.url("/attachments"))
            .bearer_auth(&t.key)
            .multipart(form)
            .send()
    };
    let r = into_resp(
        up(reqwest::multipart::Form::new().text("other", "x"))
            .await
            .unwrap(),
    )
    .await;
    assert_err(&r, 400, "file");
    let r = into_resp(
        t.http
            .post(t.url("/attachments"))
            .bearer_auth(&t.key)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_err(&r, 400, "multipart");
    let exact = vec![0u8; 52_428_800];
    let r = into_resp(
        up(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(exact).file_name("big.bin"),
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "exactly 50 MiB is allowed");
    assert_eq!(r.body["size_bytes"], 52_428_800);
    let over = vec![0u8; 52_428_801];
    let r = into_resp(
        up(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(over).file_name("big.bin"),
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_err(&r, 400, "too large");
    let r = into_resp(
        up(reqwest::multipart::Form::new()
            .text("note", "ignored")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("n.txt"),
            ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201);
    let id = r.body["attachment_id"].as_str().unwrap();
    assert!(id.starts_with("att_"));
    let g = t.get(&format!("/attachments/{id}")).await;
    assert_eq!(g.body["filename"], "n.txt");
    assert_eq!(g.body["data"], "YWJj");
}

#[tokio::test]
async fn conversation_list_filters() {
    let t = start().await;
    t.deployed_agent("Lister").await;
    let mut jobs = Vec::new();
    for i in 0..3 {
        let (j, m) = t.start_conv("lister", &format!("p{i}")).await;
        t.wait_status(&m, &["completed"]).await;
        jobs.push(j);
    }
    t.emu
        .set_job_status(&t.key, &jobs[1], "completed", None)
        .unwrap();
    let ids = |r: &Resp| -> Vec<String> {
        r.body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = t.get("/agents/lister/conversations").await;
    assert_eq!(
        ids(&all),
        [jobs[2].clone(), jobs[1].clone(), jobs[0].clone()],
        "default created_at_desc"
    );
    let item = &all.body["conversations"][0];
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["agent_id", "created_at", "id", "status", "updated_at"]
    );
    assert!(item["agent_id"].as_str().unwrap().starts_with("cci_"));
    assert_eq!(
        ids(&t
            .get("/agents/lister/conversations?sort=created_at_asc")
            .await),
        jobs
    );
    assert_eq!(
        ids(&t
            .get("/agents/lister/conversations?sort=updated_at_desc")
            .await)[0],
        jobs[1]
    );
    assert_eq!(
        ids(&t
            .get("/agents/lister/conversations?sort=updated_at_asc")
            .await)
        .last()
        .unwrap(),
        &jobs[1]
    );
    assert_eq!(
        ids(&t.get("/agents/lister/conversations?status=completed").await),
        [jobs[1].clone()]
    );
    assert_eq!(
        ids(&t
            .get("/agents/lister/conversations?status=active,completed")
            .await)
        .len(),
        3
    );
    assert_eq!(
        ids(&t.get("/agents/lister/conversations?status=error").await).len(),
        0
    );
    assert_eq!(
        ids(&t
            .get("/agents/lister/conversations?limit=1&offset=1&sort=created_at_asc")
            .await),
        [jobs[1].clone()]
    );
    assert_eq!(
        ids(&t
            .get("/agents/lister/conversations?limit=100&offset=5")
            .await)
        .len(),
        0
    );
    // updated_after is strictly after.
    let c = t.get("/agents/lister/conversations?status=completed").await;
    let ts = c.body["conversations"][0]["updated_at"]
        .as_str()
        .unwrap()
        .to_string();
    let after_ts = t
        .get(&format!("/agents/lister/conversations?updated_after={ts}"))
        .await;
    assert!(!ids(&after_ts).contains(&jobs[1]));
    for bad in [
        "status=Active",
        "status=active,,completed",
        "status=",
        "status=active,",
        "status=done",
        "sort=newest",
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=x",
        "offset=-1",
        "offset=x",
        "updated_after=yesterday",
        "updated_after=2026-01-01",
    ] {
        assert_eq!(
            t.get(&format!("/agents/lister/conversations?{bad}"))
                .await
                .status,
            400,
            "{bad}"
        );
    }
    assert_eq!(t.get("/agents/ghost/conversations").await.status, 404);
}

#[tokio::test]
async fn env_var_rules() {
    let t = start().await;
    t.post("/agents", json!({ "name": "Env" })).await;
    let ok = t
        .post(
            "/agents/env/env-vars",
            json!({ "key": "_MY_VAR1", "value": "v" }),
        )
        .await;
    assert_eq!(ok.status, 201);
    let id = ok.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("cev_"));
    assert!(
        ok.body["container_id"]
            .as_str()
            .unwrap()
            .starts_with("cci_")
    );
    assert_eq!(ok.body["value"], "v");
    for key in ["1ABC", "A-B", "", "A B", "NAIRI_X", "CCAGENT_TOKEN", "é"] {
        assert_eq!(
            t.post("/agents/env/env-vars", json!({ "key": key, "value": "v" }))
                .await
                .status,
            400,
            "{key}"
        );
    }
    assert_eq!(
        t.post(
            "/agents/env/env-vars",
            json!({ "key": "EKSEC_OK", "value": "v" })
        )
        .await
        .status,
        201
    );
    assert_err(
        &t.post(
            "/agents/env/env-vars",
            json!({ "key": "_MY_VAR1", "value": "w" }),
        )
        .await,
        400,
        "already exists",
    );
    assert_eq!(
        t.post("/agents/env/env-vars", json!({ "key": "K" }))
            .await
            .status,
        400
    );
    let p = t
        .patch(
            &format!("/agents/env/env-vars/{id}"),
            json!({ "value": "staging" }),
        )
        .await;
    assert_eq!(p.body["value"], "staging");
    assert_err(
        &t.patch(
            &format!("/agents/env/env-vars/{id}"),
            json!({ "key": "NAIRI_A" }),
        )
        .await,
        400,
        "reserved",
    );
    assert_err(
        &t.patch(
            &format!("/agents/env/env-vars/{id}"),
            json!({ "key": "EKSEC_OK" }),
        )
        .await,
        400,
        "already exists",
    );
    assert_eq!(
        t.patch(
            &format!("/agents/env/env-vars/{id}"),
            json!({ "key": "RENAMED" })
        )
        .await
        .body["key"],
        "RENAMED"
    );
    let list = t.get("/agents/env/env-vars").await.body;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        t.delete(&format!("/agents/env/env-vars/{id}")).await.status,
        204
    );
    assert_eq!(
        t.delete(&format!("/agents/env/env-vars/{id}")).await.status,
        404
    );
    assert_eq!(t.delete("/agents/env/env-vars/cev_1").await.status, 400);
}

#[tokio::test]
async fn scheduled_job_rules() {
    let t = start().await;
    t.post("/agents", json!({ "name": "Cron" })).await;
    let base = json!({ "schedule": "0 9 * * *", "timezone": "America/New_York", "prompt": "Daily report", "job_type": "slack", "connected_channel_id": "C09M8FRJYTF" });
    let r = t.post("/scheduled-jobs", base.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sj_"));
    assert_eq!(r.body["is_threaded"], false);
    assert_eq!(r.body["is_enabled"], true);
    assert!(r.body["last_executed_at"].is_string());
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (k, v, needle) in [
        ("schedule", json!("* * * * *"), "5 minutes"),
        ("schedule", json!("*/2 * * * *"), "5 minutes"),
        ("schedule", json!("0 9 * *"), "5 fields"),
        ("schedule", json!("0 25 * * *"), "invalid schedule"),
        ("timezone", json!("Mars/Olympus"), "timezone"),
        ("timezone", json!("EST+5"), "timezone"),
        ("job_type", json!("email"), "job_type"),
        (
            "connected_channel_id",
            json!("cc_01KGFV0WN7G22N8HWYDWFHAYBQ"),
            "channel cc_01KGFV0WN7G22N8HWYDWFHAYBQ not found in organization",
        ),
        (
            "connected_channel_id",
            json!("C000"),
            "channel C000 not found in organization",
        ),
        (
            "connected_channel_id",
            json!("1234567890123456789"),
            "discord",
        ),
        ("prompt", json!(""), "prompt"),
    ] {
        assert_err(&t.post("/scheduled-jobs", with(k, v)).await, 400, needle);
    }
    let mut no_channel = base.clone();
    no_channel
        .as_object_mut()
        .unwrap()
        .remove("connected_channel_id");
    assert_err(
        &t.post("/scheduled-jobs", no_channel).await,
        400,
        "connected_channel_id",
    );
    let d = t
        .post(
            "/scheduled-jobs",
            with("job_type", json!("discord"))
                .as_object()
                .cloned()
                .map(|mut m| {
                    m.insert("connected_channel_id".into(), json!("1234567890123456789"));
                    serde_json::Value::Object(m)
                })
                .unwrap(),
        )
        .await;
    assert_eq!(d.status, 201);
    let app = t.post("/scheduled-jobs", json!({ "schedule": "*/5 * * * *", "timezone": "UTC", "prompt": "p", "job_type": "app", "agent_id": "cron" })).await;
    assert_eq!(app.status, 201, "{}", app.text);
    assert!(app.body["agent_id"].as_str().unwrap().starts_with("cci_"));
    assert_eq!(app.body["connected_channel_id"], serde_json::Value::Null);
    assert_eq!(t.post("/scheduled-jobs", json!({ "schedule": "*/5 * * * *", "timezone": "UTC", "prompt": "p", "job_type": "app" })).await.status, 400);
    assert_eq!(t.post("/scheduled-jobs", json!({ "schedule": "*/5 * * * *", "timezone": "UTC", "prompt": "p", "job_type": "app", "agent_id": "ghost" })).await.status, 404);
    // PATCH
    assert_err(
        &t.patch(&format!("/scheduled-jobs/{id}"), json!({})).await,
        400,
        "no fields to update",
    );
    assert_err(
        &t.patch(
            &format!("/scheduled-jobs/{id}"),
            json!({ "schedule": "*/3 * * * *" }),
        )
        .await,
        400,
        "5 minutes",
    );
    let before = t.get(&format!("/scheduled-jobs/{id}")).await.body;
    t.patch(
        &format!("/scheduled-jobs/{id}"),
        json!({ "is_enabled": false }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let re = t
        .patch(
            &format!("/scheduled-jobs/{id}"),
            json!({ "is_enabled": true, "prompt": "New" }),
        )
        .await;
    assert_eq!(re.status, 200);
    assert_eq!(re.body["prompt"], "New");
    assert_ne!(
        re.body["last_executed_at"], before["last_executed_at"],
        "re-enabling resets last_executed_at"
    );
    assert_eq!(
        t.get("/scheduled-jobs")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(t.delete(&format!("/scheduled-jobs/{id}")).await.status, 204);
    assert_eq!(t.get(&format!("/scheduled-jobs/{id}")).await.status, 404);
}

#[tokio::test]
async fn mcp_config_rules() {
    let t = start().await;
    let content = r#"{"mcpServers":{"fs":{"command":"npx"}}}"#;
    let r = t
        .post(
            "/artifacts/mcp-configs",
            json!({ "title": "FS", "description": "d", "content": content }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["content"], content);
    assert_eq!(r.body["is_sensitive"], false);
    let id = r.body["id"].as_str().unwrap().to_string();
    for bad in [
        "not json",
        r#"{"mcpServers":{}}"#,
        r#"{"servers":{"a":{}}}"#,
        r#"{"mcpServers":[1]}"#,
        "[]",
    ] {
        assert_eq!(
            t.post(
                "/artifacts/mcp-configs",
                json!({ "title": "x", "description": "d", "content": bad })
            )
            .await
            .status,
            400,
            "{bad}"
        );
    }
    let s = t
        .post(
            "/artifacts/mcp-configs",
            json!({ "title": "S", "description": "d", "content": content, "is_sensitive": true }),
        )
        .await;
    assert!(s.body.get("content").is_none());
    let sid = s.body["id"].as_str().unwrap();
    assert!(
        t.get(&format!("/artifacts/mcp-configs/{sid}"))
            .await
            .body
            .get("content")
            .is_none()
    );
    let list = t.get("/artifacts/mcp-configs").await.body;
    assert!(list[0].get("content").is_some() && list[1].get("content").is_none());
    // PUT without content keeps it.
    let p = t
        .put(
            &format!("/artifacts/mcp-configs/{id}"),
            json!({ "title": "FS2", "description": "d2" }),
        )
        .await;
    assert_eq!(p.body["content"], content);
    assert_eq!(p.body["title"], "FS2");
    assert_eq!(
        t.put(
            &format!("/artifacts/mcp-configs/{id}"),
            json!({ "title": "FS2" })
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.put(
            &format!("/artifacts/mcp-configs/{id}"),
            json!({ "title": "a", "description": "b", "content": "{}" })
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn rules_crud() {
    let t = start().await;
    let r = t.post("/artifacts/rules", json!({ "title": "Code Style Rules", "description": "Guidelines", "content": "2 spaces" })).await;
    assert_eq!(r.status, 201);
    assert!(r.body["created_at"].is_string());
    let id = r.body["id"].as_str().unwrap().to_string();
    let g = t.get(&format!("/artifacts/rules/{id}")).await.body;
    assert!(g.get("created_at").is_none() && g.get("updated_at").is_none());
    assert_eq!(g["content"], "2 spaces");
    assert_eq!(
        t.put(&format!("/artifacts/rules/{id}"), json!({ "title": "t" }))
            .await
            .status,
        400
    );
    let p = t
        .put(
            &format!("/artifacts/rules/{id}"),
            json!({ "title": "t", "description": "d", "content": "c" }),
        )
        .await;
    assert_eq!(p.body["content"], "c");
    assert_eq!(
        t.post(
            "/artifacts/rules",
            json!({ "title": "t", "description": "d" })
        )
        .await
        .status,
        400
    );
    assert!(t.get("/artifacts/rules").await.body[0]["created_at"].is_string());
}

#[tokio::test]
async fn cron_gaps_are_measured_across_midnight_and_day_boundaries() {
    let t = start().await;
    let job = |schedule: &str| {
        json!({ "schedule": schedule, "timezone": "UTC", "prompt": "p", "job_type": "slack",
                "connected_channel_id": "C09M8FRJYTF" })
    };
    for bad in [
        // 23:58 and 00:00 the next day are 2 minutes apart.
        "0,58 0,23 * * *",
        "2,59 0,23 * * *",
        "0,58 0,23 * JAN *",
        // Saturday 23:58 and Sunday 00:00: across the end of the week.
        "0,58 0,23 * * SAT,SUN",
        "0,58 0,23 * * 6,7",
        "0,58 0,23 * * MON,TUE",
        // The 31st and the 1st: across the end of a month, and of the year.
        "0,58 0,23 1,31 * *",
        "0,58 0,23 1,31 1,12 *",
        // Day-of-month and day-of-week both restricted: either matches (the 1st, or Mondays).
        "0,58 0,23 1 * MON",
    ] {
        let r = t.post("/scheduled-jobs", job(bad)).await;
        assert_err(&r, 400, "5 minutes");
    }
    for ok in [
        "0,58 9 * * *",
        "0,58 0,23 * * MON",
        "0,58 0,23 * * MON,WED",
        "0,58 0,23 31 * *",
        "0,58 0,23 15 * *",
        "58 0,23 * * *",
        "1,56 0,23 * * *",
        "0,55 0,23 * * *",
        "*/5 * * * *",
    ] {
        let r = t.post("/scheduled-jobs", job(ok)).await;
        assert_eq!(r.status, 201, "{ok}: {}", r.text);
    }
}

#[tokio::test]
async fn an_offset_beyond_any_integer_type_is_an_empty_page() {
    let t = start().await;
    t.deployed_agent("Pager").await;
    let (_job, m) = t.start_conv("pager", "x").await;
    t.wait_status(&m, &["completed"]).await;
    // Schema-valid (integer, minimum 0): larger than u64, still just past the end.
    for offset in ["8124379821687885004800", "18446744073709551616", "1"] {
        let r = t
            .get(&format!("/agents/pager/conversations?offset={offset}"))
            .await;
        assert_eq!(r.status, 200, "{offset}: {}", r.text);
        assert_eq!(r.body["conversations"], json!([]), "{offset}");
    }
    let r = t.get("/agents/pager/conversations?offset=0").await;
    assert_eq!(r.body["conversations"].as_array().unwrap().len(), 1);
    for bad in ["-1", "-99999999999999999999999", "1.5", "x", ""] {
        let r = t
            .get(&format!("/agents/pager/conversations?offset={bad}"))
            .await;
        assert_err(&r, 400, "offset");
    }
}
