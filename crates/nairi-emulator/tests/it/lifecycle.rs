//! The fake agent: lifecycle, scripting, failures, continue rules.

use nairi_emulator::{
    AgentSeed, FailSpec, JobSeed, OutboundAttachment, ProgressEvent, ScriptedTurn, Usage,
};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn happy_path_default_turn() {
    let t = start().await;
    t.deployed_agent("Support Bot").await;
    let (job, msg) = t.start_conv("support-bot", "Refund cus_123").await;
    assert!(job.starts_with("job_") && msg.starts_with("cmsg_"));
    let user = t.wait_status(&msg, &["completed", "failed"]).await;
    assert_eq!(user["status"], "completed");
    assert_eq!(user["role"], "user");
    assert_eq!(user["content"], "Refund cus_123");
    let msgs = t.messages(&job).await;
    assert_eq!(
        roles(&msgs),
        [
            "user",
            "progress",
            "progress",
            "progress",
            "progress",
            "assistant"
        ]
    );
    let types: Vec<&str> = msgs[1..5]
        .iter()
        .map(|m| m["progress_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["text", "tool_use", "tool_heartbeat", "tool_use"]);
    assert_eq!(msgs[2]["tool_status"], "running");
    assert_eq!(msgs[3]["tool_status"], "running");
    assert_eq!(msgs[4]["tool_status"], "completed");
    assert_eq!(msgs[2]["tool_name"], "Bash");
    assert_eq!(msgs[2]["tool_use_id"], msgs[4]["tool_use_id"]);
    assert_eq!(msgs[3]["tool_use_id"], msgs[4]["tool_use_id"]);
    for p in &msgs[1..5] {
        let env: Value = serde_json::from_str(p["content"].as_str().unwrap()).unwrap();
        assert_eq!(env["job_id"], job.as_str());
        assert_eq!(env["progress_type"], p["progress_type"]);
        assert_eq!(p["status"], "completed");
    }
    let a = &msgs[5];
    assert_eq!(a["content"], "Echo: Refund cus_123");
    assert_eq!(a["status"], "completed");
    for k in [
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "model",
    ] {
        assert!(a.get(k).is_some(), "missing {k}");
    }
    assert!(a.get("attachment_ids").is_none());
    assert!(msgs[0].get("progress_type").is_none() && msgs[0].get("cost_usd").is_none());
    // Timestamps: RFC 3339, milliseconds, Z.
    let ts = a["created_at"].as_str().unwrap();
    assert_eq!(ts.len(), 24);
    assert!(ts.ends_with('Z'));
    let conv = t.get("/agents/support-bot/conversations").await;
    assert_eq!(conv.body["conversations"][0]["status"], "active");
}

#[tokio::test]
async fn queued_until_deployed_then_processed() {
    let t = start().await;
    let r = t.post("/agents", json!({ "name": "Lazy" })).await;
    assert_eq!(r.status, 201);
    let (_job, msg) = t.start_conv("lazy", "hi").await;
    for _ in 0..20 {
        let m = t.get(&format!("/messages/{msg}")).await;
        assert_eq!(m.body["status"], "queued");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let d = t.post("/agents/lazy/deploy", json!({})).await;
    assert_eq!(d.status, 202);
    assert_eq!(d.body, json!({ "status": "deploying" }));
    let m = t.wait_status(&msg, &["completed"]).await;
    assert_eq!(m["status"], "completed");
}

#[tokio::test]
async fn deploy_accepts_no_body() {
    let t = start().await;
    t.post("/agents", json!({ "name": "Nobody" })).await;
    let r = t
        .http
        .post(t.url("/agents/nobody/deploy"))
        .bearer_auth(&t.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn one_instance_runs_one_job_at_a_time() {
    let t = start().await;
    t.deployed_agent("Single").await;
    t.emu
        .script(
            &t.key,
            "single",
            vec![ScriptedTurn {
                delay_ms: 300,
                ..Default::default()
            }],
        )
        .unwrap();
    let (_j1, m1) = t.start_conv("single", "first").await;
    let (_j2, m2) = t.start_conv("single", "second").await;
    t.wait_status(&m1, &["pending"]).await;
    loop {
        let s2 = t.get(&format!("/messages/{m2}")).await.body["status"].clone();
        let s1 = t.get(&format!("/messages/{m1}")).await.body["status"].clone();
        if s1 == "completed" {
            break;
        }
        assert_eq!(
            s2, "queued",
            "second job ran while the only instance was busy"
        );
    }
    t.wait_status(&m2, &["completed"]).await;
}

#[tokio::test]
async fn two_instances_run_two_jobs_concurrently() {
    let t = start().await;
    t.emu
        .create_agent(
            &t.key,
            AgentSeed {
                name: "Duo".into(),
                deployed: true,
                instances_count: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    let slow = ScriptedTurn {
        delay_ms: 1500,
        ..Default::default()
    };
    t.emu
        .script(&t.key, "duo", vec![slow.clone(), slow])
        .unwrap();
    let (_j1, m1) = t.start_conv("duo", "a").await;
    let (_j2, m2) = t.start_conv("duo", "b").await;
    t.wait_status(&m2, &["pending"]).await;
    let s1 = t.get(&format!("/messages/{m1}")).await.body["status"].clone();
    assert_eq!(s1, "pending");
    t.wait_status(&m1, &["completed"]).await;
    t.wait_status(&m2, &["completed"]).await;
}

#[tokio::test]
async fn one_jobs_messages_run_in_order() {
    let t = start().await;
    t.emu
        .create_agent(
            &t.key,
            AgentSeed {
                name: "Order".into(),
                deployed: true,
                instances_count: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
    t.emu
        .script(
            &t.key,
            "order",
            vec![ScriptedTurn {
                delay_ms: 200,
                ..Default::default()
            }],
        )
        .unwrap();
    let (job, m1) = t.start_conv("order", "one").await;
    let r2 = t.continue_conv(&job, "two").await;
    let r3 = t.continue_conv(&job, "three").await;
    let m2 = r2.body["message_id"].as_str().unwrap().to_string();
    let m3 = r3.body["message_id"].as_str().unwrap().to_string();
    loop {
        let s2 = t.get(&format!("/messages/{m2}")).await.body["status"].clone();
        let s1 = t.get(&format!("/messages/{m1}")).await.body["status"].clone();
        if s1 == "completed" {
            break;
        }
        assert_eq!(s2, "queued");
    }
    t.wait_status(&m3, &["completed"]).await;
    let msgs = t.messages(&job).await;
    let replies: Vec<&str> = msgs
        .iter()
        .filter(|m| m["role"] == "assistant")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["Echo: one", "Echo: two", "Echo: three"]);
}

#[tokio::test]
async fn scripted_reply_usage_and_progress() {
    let t = start().await;
    t.deployed_agent("Scripted").await;
    let usage = Usage {
        cost_usd: 1.25,
        input_tokens: 7,
        output_tokens: 8,
        cache_read_tokens: 9,
        cache_write_tokens: 10,
        model: "sonnet-4.6".into(),
    };
    let progress = vec![
        ProgressEvent {
            progress_type: Some("thinking".into()),
            summary: Some("hmm".into()),
            ..Default::default()
        },
        ProgressEvent {
            progress_type: Some("custom_kind".into()),
            parent_tool_use_id: Some("tu_parent".into()),
            ..Default::default()
        },
        ProgressEvent {
            raw_content: Some("not json at all".into()),
            ..Default::default()
        },
    ];
    t.emu
        .script(
            &t.key,
            "scripted",
            vec![
                ScriptedTurn {
                    reply: Some("Custom".into()),
                    usage: Some(Some(usage)),
                    progress: Some(progress),
                    ..Default::default()
                },
                ScriptedTurn {
                    usage: Some(None),
                    progress: Some(vec![]),
                    ..Default::default()
                },
            ],
        )
        .unwrap();
    let (job, m) = t.start_conv("scripted", "x").await;
    t.wait_status(&m, &["completed"]).await;
    let msgs = t.messages(&job).await;
    assert_eq!(
        roles(&msgs),
        ["user", "progress", "progress", "progress", "assistant"]
    );
    assert_eq!(msgs[1]["progress_type"], "thinking");
    assert_eq!(msgs[2]["progress_type"], "custom_kind");
    assert_eq!(msgs[2]["parent_tool_use_id"], "tu_parent");
    assert_eq!(msgs[3]["content"], "not json at all");
    let a = &msgs[4];
    assert_eq!(a["content"], "Custom");
    assert_eq!(a["cost_usd"], 1.25);
    assert_eq!(a["cache_write_tokens"], 10);
    assert_eq!(a["model"], "sonnet-4.6");

    let r = t.continue_conv(&job, "y").await;
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&m2, &["completed"]).await;
    let msgs = t.messages(&job).await;
    let turn = after(&msgs, &m2);
    assert_eq!(roles(turn), ["assistant"]);
    assert_eq!(turn[0]["content"], "Echo: y");
    for k in [
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "model",
    ] {
        assert!(turn[0].get(k).is_none(), "{k} should be omitted");
    }
}

#[tokio::test]
async fn late_progress_attachments_and_system_messages() {
    let t = start().await;
    t.deployed_agent("Extras").await;
    t.emu
        .script(
            &t.key,
            "extras",
            vec![ScriptedTurn {
                progress: Some(vec![]),
                late_progress: vec![ProgressEvent {
                    progress_type: Some("text".into()),
                    text_delta: Some("late".into()),
                    ..Default::default()
                }],
                attachments: vec![OutboundAttachment {
                    filename: "out.txt".into(),
                    content_type: Some("text/plain".into()),
                    data_base64: "aGk=".into(),
                }],
                system_messages: vec![
                    "Agent opened a [pull request](https://github.com/acme/web/pull/42)".into(),
                ],
                ..Default::default()
            }],
        )
        .unwrap();
    let (job, m) = t.start_conv("extras", "x").await;
    let msgs = t
        .wait_thread(&job, |ms| ms.iter().any(|x| x["role"] == "system"))
        .await;
    t.wait_status(&m, &["completed"]).await;
    assert_eq!(roles(&msgs), ["user", "assistant", "progress", "system"]);
    assert!(msgs[3]["content"].as_str().unwrap().contains("pull/42"));
    assert_eq!(msgs[3]["status"], "completed");
    let att_ids = msgs[1]["attachment_ids"].as_array().unwrap();
    assert_eq!(att_ids.len(), 1);
    let att = t
        .get(&format!("/attachments/{}", att_ids[0].as_str().unwrap()))
        .await;
    assert_eq!(att.status, 200);
    assert_eq!(att.body["filename"], "out.txt");
    assert_eq!(att.body["data"], "aGk=");
    assert_eq!(att.body["content_type"], "text/plain");
    assert_eq!(att.body["size_bytes"], 2);
}

#[tokio::test]
async fn failure_then_retry_on_errored_job() {
    let t = start().await;
    t.deployed_agent("Flaky").await;
    t.emu
        .script(
            &t.key,
            "flaky",
            vec![ScriptedTurn {
                fail: Some(FailSpec {
                    detail: Some("model error: overloaded".into()),
                    double: true,
                    ..Default::default()
                }),
                ..Default::default()
            }],
        )
        .unwrap();
    let (job, m) = t.start_conv("flaky", "try").await;
    let u = t.wait_status(&m, &["completed", "failed"]).await;
    assert_eq!(u["status"], "failed");
    let msgs = t.messages(&job).await;
    let sys: Vec<&str> = msgs
        .iter()
        .filter(|x| x["role"] == "system")
        .map(|x| x["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        sys,
        [
            "nairid encountered error: model error: overloaded",
            "nairid encountered error: error continuing Claude session: model error: overloaded"
        ]
    );
    assert!(msgs.iter().all(|x| x["role"] != "assistant"));
    let list = t.get("/agents/flaky/conversations?status=error").await;
    assert_eq!(list.body["conversations"].as_array().unwrap().len(), 1);
    // Replying retries the job.
    let r = t.continue_conv(&job, "again").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["job_id"], job.as_str());
    let list = t.get("/agents/flaky/conversations?status=active").await;
    assert_eq!(list.body["conversations"].as_array().unwrap().len(), 1);
    let m2 = r.body["message_id"].as_str().unwrap();
    assert_eq!(
        t.wait_status(m2, &["completed", "failed"]).await["status"],
        "completed"
    );
}

#[tokio::test]
async fn failure_without_detail_and_custom_prefix() {
    let t = start().await;
    t.deployed_agent("Quiet").await;
    t.emu
        .script(
            &t.key,
            "quiet",
            vec![
                ScriptedTurn {
                    fail: Some(FailSpec::default()),
                    ..Default::default()
                },
                ScriptedTurn {
                    fail: Some(FailSpec {
                        detail: Some("boom".into()),
                        prefix: Some("eksecd".into()),
                        double: false,
                    }),
                    ..Default::default()
                },
            ],
        )
        .unwrap();
    let (job, m) = t.start_conv("quiet", "a").await;
    assert_eq!(
        t.wait_status(&m, &["completed", "failed"]).await["status"],
        "failed"
    );
    assert!(t.messages(&job).await.iter().all(|x| x["role"] != "system"));
    let r = t.continue_conv(&job, "b").await;
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    assert_eq!(
        t.wait_status(&m2, &["completed", "failed"]).await["status"],
        "failed"
    );
    let msgs = t.messages(&job).await;
    let turn = after(&msgs, &m2);
    let sys: Vec<&Value> = turn.iter().filter(|x| x["role"] == "system").collect();
    assert_eq!(sys.len(), 1);
    assert_eq!(sys[0]["content"], "eksecd encountered error: boom");
}

#[tokio::test]
async fn stuck_turn_stays_pending_and_frees_the_agent() {
    let t = start().await;
    t.deployed_agent("Stuck").await;
    t.emu
        .script(
            &t.key,
            "stuck",
            vec![ScriptedTurn {
                stuck: true,
                ..Default::default()
            }],
        )
        .unwrap();
    let (_j1, m1) = t.start_conv("stuck", "a").await;
    t.wait_status(&m1, &["pending"]).await;
    let (_j2, m2) = t.start_conv("stuck", "b").await;
    t.wait_status(&m2, &["completed"]).await;
    assert_eq!(
        t.get(&format!("/messages/{m1}")).await.body["status"],
        "pending"
    );
}

#[tokio::test]
async fn queue_ms_and_delay_ms_still_complete() {
    let t = start().await;
    t.deployed_agent("Slowpoke").await;
    t.emu
        .script(
            &t.key,
            "slowpoke",
            vec![ScriptedTurn {
                queue_ms: 1000,
                delay_ms: 30,
                ..Default::default()
            }],
        )
        .unwrap();
    let (_job, m) = t.start_conv("slowpoke", "x").await;
    assert_eq!(
        t.get(&format!("/messages/{m}")).await.body["status"],
        "queued"
    );
    t.wait_status(&m, &["completed"]).await;
}

#[tokio::test]
async fn status_lag_lists_reply_before_status_flips() {
    let t = start().await;
    t.deployed_agent("Lag").await;
    t.emu
        .script(
            &t.key,
            "lag",
            vec![ScriptedTurn {
                status_lag_ms: Some(3000),
                progress: Some(vec![]),
                ..Default::default()
            }],
        )
        .unwrap();
    let (job, m) = t.start_conv("lag", "x").await;
    let msgs = t
        .wait_thread(&job, |ms| ms.iter().any(|x| x["role"] == "assistant"))
        .await;
    assert_eq!(
        msgs[0]["status"], "pending",
        "user status should lag behind the reply"
    );
    t.wait_status(&m, &["completed"]).await;
}

#[tokio::test]
async fn reply_lag_flips_status_before_reply_is_listed() {
    let t = start().await;
    t.deployed_agent("Late Reply").await;
    t.emu
        .script(
            &t.key,
            "late-reply",
            vec![ScriptedTurn {
                reply_lag_ms: 3000,
                progress: Some(vec![]),
                ..Default::default()
            }],
        )
        .unwrap();
    let (job, m) = t.start_conv("late-reply", "x").await;
    t.wait_status(&m, &["completed"]).await;
    let msgs = t.messages(&job).await;
    assert!(
        msgs.iter().all(|x| x["role"] != "assistant"),
        "reply should lag behind the status"
    );
    t.wait_thread(&job, |ms| ms.iter().any(|x| x["role"] == "assistant"))
        .await;
}

#[tokio::test]
async fn continue_rules() {
    let t = start().await;
    t.deployed_agent("Rules").await;
    let slack = t
        .emu
        .seed_job(
            &t.key,
            JobSeed {
                agent: "rules".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_err(
        &t.continue_conv(&slack.job_id, "x").await,
        400,
        "job was not started via the API",
    );
    let (job, m) = t.start_conv("rules", "a").await;
    t.wait_status(&m, &["completed"]).await;
    t.emu
        .set_job_status(
            &t.key,
            &job,
            "completed",
            Some("Job complete - Pull request was merged"),
        )
        .unwrap();
    let msgs = t.messages(&job).await;
    assert_eq!(
        msgs.last().unwrap()["content"],
        "Job complete - Pull request was merged"
    );
    assert_err(&t.continue_conv(&job, "x").await, 400, "completed");
    t.emu
        .set_job_status(&t.key, &job, "abandoned", None)
        .unwrap();
    assert_err(&t.continue_conv(&job, "x").await, 400, "abandoned");
    assert_err(
        &t.continue_conv("job_01KRK1V46BXS73CSNK2VR35NPJ", "x").await,
        404,
        "not found",
    );
    assert_err(
        &t.continue_conv("job_bad", "x").await,
        400,
        "invalid job id",
    );
    assert_err(
        &t.continue_conv("cmsg_01KRK1V46BXS73CSNK2VR35NPJ", "x")
            .await,
        400,
        "invalid job id",
    );
    let (job2, _) = t.start_conv("rules", "b").await;
    assert_err(&t.continue_conv(&job2, "").await, 400, "prompt");
    let api_seed = t
        .emu
        .seed_job(
            &t.key,
            JobSeed {
                agent: "rules".into(),
                source: Some("api".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(t.continue_conv(&api_seed.job_id, "x").await.status, 200);
}

#[tokio::test]
async fn ask_mode_is_visible_in_default_reply() {
    let t = start().await;
    t.deployed_agent("Asker").await;
    let r = t
        .post(
            "/conversations/start",
            json!({ "agent_id": "asker", "prompt": "why", "ask_mode": true }),
        )
        .await;
    let m = r.body["message_id"].as_str().unwrap();
    t.wait_status(m, &["completed"]).await;
    let msgs = t.messages(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(msgs.last().unwrap()["content"], "(ask mode) Echo: why");
}

#[tokio::test]
async fn legacy_job_ids_work_everywhere() {
    let t = start().await;
    let key = t.emu.new_org_legacy_job_ids();
    t.emu
        .create_agent(
            &key,
            AgentSeed {
                name: "Old".into(),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    let r = t
        .req_as(
            &key,
            reqwest::Method::POST,
            "/conversations/start",
            Some(json!({ "agent_id": "old", "prompt": "p" })),
        )
        .await;
    let job = r.body["job_id"].as_str().unwrap().to_string();
    assert!(job.starts_with("j_"), "{job}");
    let r = t
        .req_as(
            &key,
            reqwest::Method::POST,
            &format!("/conversations/{job}/continue"),
            Some(json!({ "prompt": "q" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .req_as(
            &key,
            reqwest::Method::GET,
            &format!("/conversations/{job}/messages"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn llm_model_assignment_reaches_agent_at_deploy() {
    let t = start().await;
    t.post("/agents", json!({ "name": "Modelled" })).await;
    let r = t
        .post(
            "/agents/modelled/resources",
            json!({ "entity_type": "llm_model", "entity_id": "sonnet-4.6" }),
        )
        .await;
    assert_eq!(r.status, 201);
    t.post("/agents/modelled/deploy", json!({})).await;
    let (job, m) = t.start_conv("modelled", "x").await;
    t.wait_status(&m, &["completed"]).await;
    let msgs = t.messages(&job).await;
    assert_eq!(msgs.last().unwrap()["model"], "sonnet-4.6");
}

// The platform's lags free the agent's one instance: a lagging status holds nothing (the
// reply is written), and a lagging reply leaves the instance to other jobs, but the job's own
// next message waits for that reply: the daemon answers one message of a job before it starts
// the next (BEHAVIOUR 2, "Concurrency").
#[tokio::test]
async fn lags_do_not_keep_the_agent_busy() {
    let t = start().await;
    t.deployed_agent("Laggy").await;
    t.emu
        .script(
            &t.key,
            "laggy",
            vec![
                ScriptedTurn {
                    status_lag_ms: Some(60_000),
                    progress: Some(vec![]),
                    ..Default::default()
                },
                ScriptedTurn {
                    reply_lag_ms: 60_000,
                    progress: Some(vec![]),
                    ..Default::default()
                },
            ],
        )
        .unwrap();
    let (job, m1) = t.start_conv("laggy", "one").await;
    t.wait_thread(&job, |ms| ms.iter().any(|x| x["role"] == "assistant"))
        .await;
    let r = t.continue_conv(&job, "two").await;
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&m2, &["completed"]).await;
    let r = t.continue_conv(&job, "held").await;
    let held = r.body["message_id"].as_str().unwrap().to_string();
    let (_job3, m3) = t.start_conv("laggy", "three").await;
    t.wait_status(&m3, &["completed"]).await;
    assert_eq!(
        t.get(&format!("/messages/{m1}")).await.body["status"],
        "pending"
    );
    // The first job's next message waits for the lagging reply of "two".
    assert_eq!(
        t.get(&format!("/messages/{held}")).await.body["status"],
        "queued"
    );
}

// A reply that lags behind its status keeps the job's next message waiting, so the thread
// lists the replies in the order of their prompts (`u1 u2 a1 a2`), never `u1 u2 a2 a1`.
#[tokio::test]
async fn a_lagging_reply_holds_the_jobs_next_message() {
    let t = start().await;
    t.deployed_agent("Ordered").await;
    t.emu
        .script(
            &t.key,
            "ordered",
            vec![
                ScriptedTurn {
                    reply: Some("reply A".into()),
                    reply_lag_ms: 300,
                    progress: Some(vec![]),
                    ..Default::default()
                },
                ScriptedTurn {
                    reply: Some("reply B".into()),
                    progress: Some(vec![]),
                    ..Default::default()
                },
            ],
        )
        .unwrap();
    let (job, _m1) = t.start_conv("ordered", "A").await;
    let r = t.continue_conv(&job, "B").await;
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&m2, &["completed"]).await;
    let msgs = t.messages(&job).await;
    let replies: Vec<&str> = msgs
        .iter()
        .filter(|x| x["role"] == "assistant")
        .map(|x| x["content"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["reply A", "reply B"]);
}

#[tokio::test]
async fn a_later_successful_turn_makes_an_errored_job_active_again() {
    let t = start().await;
    t.deployed_agent("Recover").await;
    t.emu
        .script(
            &t.key,
            "recover",
            vec![ScriptedTurn {
                // Slow enough that the continue below is queued before this turn fails.
                delay_ms: 200,
                fail: Some(FailSpec {
                    detail: Some("boom".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        )
        .unwrap();
    let (job, m1) = t.start_conv("recover", "first").await;
    let r = t.continue_conv(&job, "second").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    assert_eq!(
        t.wait_status(&m1, &["completed", "failed"]).await["status"],
        "failed"
    );
    assert_eq!(
        t.wait_status(&m2, &["completed", "failed"]).await["status"],
        "completed"
    );
    let list = t.get("/agents/recover/conversations").await;
    assert_eq!(
        list.body["conversations"][0]["status"], "active",
        "the job is working again once a turn is picked up: {}",
        list.text
    );
    assert_eq!(
        t.get("/agents/recover/conversations?status=error")
            .await
            .body["conversations"],
        json!([])
    );
}

#[tokio::test]
async fn instances_count_takes_effect_at_the_next_deploy() {
    let t = start().await;
    assert_eq!(
        t.post("/agents", json!({ "name": "Scaler" })).await.status,
        201
    );
    assert_eq!(t.post("/agents/scaler/deploy", json!({})).await.status, 202);
    t.emu
        .script(
            &t.key,
            "scaler",
            vec![ScriptedTurn {
                delay_ms: 60_000,
                ..Default::default()
            }],
        )
        .unwrap();
    let (_j1, m1) = t.start_conv("scaler", "long").await;
    t.wait_status(&m1, &["pending"]).await;
    // Stored at once, but the running agent still has one instance.
    let p = t
        .patch("/agents/scaler", json!({ "instances_count": 2 }))
        .await;
    assert_eq!(p.body["instances_count"], 2);
    let (_j2, m2) = t.start_conv("scaler", "short").await;
    for _ in 0..40 {
        assert_eq!(
            t.get(&format!("/messages/{m2}")).await.body["status"],
            "queued",
            "the undeployed instances_count was used"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // The deploy brings the second instance.
    assert_eq!(t.post("/agents/scaler/deploy", json!({})).await.status, 202);
    t.wait_status(&m2, &["completed"]).await;
    assert_eq!(
        t.get(&format!("/messages/{m1}")).await.body["status"],
        "pending"
    );
}

#[tokio::test]
async fn a_zero_byte_attachment_is_stored_but_fails_the_turn_that_references_it() {
    let t = start().await;
    let agent = t.deployed_agent("Empty").await;
    let id = agent["id"].as_str().unwrap();
    // Accepted at upload, as by the real server: only the daemon refuses the file.
    let att = upload(&t, "empty.txt", Vec::new()).await;
    assert_eq!(att.status, 201, "{}", att.text);
    assert_eq!(att.body["size_bytes"], 0);
    let att_id = att.body["attachment_id"].as_str().unwrap().to_string();
    let r = t
        .post(
            "/conversations/start",
            serde_json::json!({ "agent_id": id, "prompt": "read it", "attachment_ids": [att_id] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let job = r.body["job_id"].as_str().unwrap().to_string();
    let msg = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&msg, &["failed"]).await;
    let msgs = t.wait_thread(&job, |m| m.len() >= 2).await;
    assert_eq!(roles(&msgs), ["user", "system"], "{msgs:#?}");
    let notice = msgs[1]["content"].as_str().unwrap();
    assert!(
        notice.starts_with("nairid encountered error: ") && notice.contains(&att_id),
        "{notice}"
    );
    let r = t.get(&format!("/agents/{id}/conversations")).await;
    assert_eq!(r.body["conversations"][0]["status"], "error");
    // The job is retried by continue; without the empty file the turn runs.
    let r = t.continue_conv(&job, "again").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&m2, &["completed"]).await;
}
