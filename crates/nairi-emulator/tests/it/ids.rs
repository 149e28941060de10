//! Identifiers: Crockford base32 is case-insensitive, so a lower-case ULID finds the entity
//! stored under its upper-case form, wherever an id is parsed.

use nairi_emulator::{JobSeed, ScriptedTurn};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

fn lower(id: &str) -> String {
    id.to_ascii_lowercase()
}

#[tokio::test]
async fn lower_case_ulids_find_their_entities_everywhere() {
    let t = start().await;
    let agent = t.deployed_agent("Cased").await;
    let cci = agent["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.get(&format!("/agents/{}", lower(&cci))).await.body["id"],
        cci
    );

    let att = upload(&t, "a.txt", b"hi".to_vec()).await;
    let att_id = att.body["attachment_id"].as_str().unwrap().to_string();
    let r = t.get(&format!("/attachments/{}", lower(&att_id))).await;
    assert_eq!(r.body["id"], att_id.as_str(), "{}", r.text);

    let r = t
        .post(
            "/conversations/start",
            json!({ "agent_id": lower(&cci), "prompt": "one", "attachment_ids": [lower(&att_id)] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let job = r.body["job_id"].as_str().unwrap().to_string();
    let msg = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&lower(&msg), &["completed"]).await;
    let msgs = t.messages(&lower(&job)).await;
    assert_eq!(msgs[0]["attachment_ids"], json!([att_id]));
    let r = t.continue_conv(&lower(&job), "two").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["job_id"],
        job.as_str(),
        "the canonical id comes back"
    );
    let r = t.get(&format!("/agents/{cci}/conversations")).await;
    assert_eq!(r.body["conversations"].as_array().unwrap().len(), 1);

    let rule = t
        .post(
            "/artifacts/rules",
            json!({ "title": "R", "description": "d", "content": "c" }),
        )
        .await;
    let aar = rule.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.get(&format!("/artifacts/rules/{}", lower(&aar)))
            .await
            .status,
        200
    );
    let r = t
        .post(
            &format!("/agents/{}/resources", lower(&cci)),
            json!({ "entity_type": "agent_artifact_rule", "entity_id": lower(&aar) }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["entity_id"], aar.as_str());
    let ccr = r.body["id"].as_str().unwrap().to_string();
    // The same entity in the other case is the same assignment.
    let r = t
        .post(
            &format!("/agents/{cci}/resources"),
            json!({ "entity_type": "agent_artifact_rule", "entity_id": aar }),
        )
        .await;
    assert_err(&r, 400, "already assigned");
    let r = t
        .delete(&format!("/agents/{cci}/resources/{}", lower(&ccr)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    let vault = t.post("/vaults", json!({ "name": "V" })).await;
    let vlt = vault.body["id"].as_str().unwrap().to_string();
    let r = t
        .post(
            &format!("/vaults/{}/secrets", lower(&vlt)),
            json!({ "env_key": "TOKEN", "value": "x" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sec = r.body["id"].as_str().unwrap().to_string();
    let r = t
        .patch(
            &format!("/vaults/{}/secrets/{}", lower(&vlt), lower(&sec)),
            json!({ "value": "y" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t
        .patch(
            &format!("/vault-secrets/{}", lower(&sec)),
            json!({ "value": "z" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = t
        .post(
            &format!("/agents/{cci}/env-vars"),
            json!({ "key": "A", "value": "1" }),
        )
        .await;
    let cev = r.body["id"].as_str().unwrap().to_string();
    let r = t
        .patch(
            &format!("/agents/{cci}/env-vars/{}", lower(&cev)),
            json!({ "value": "2" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let llm = t.get("/integrations/llm").await;
    let ai = llm.body[0]["id"].as_str().unwrap().to_string();
    let r = t
        .patch(
            &format!("/integrations/llm/{}", lower(&ai)),
            json!({ "name": "N" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The control API and the Rust control methods parse ids the same way.
    t.emu
        .script(&t.key, &lower(&cci), vec![ScriptedTurn::default()])
        .unwrap();
    let seeded = t
        .emu
        .seed_job(
            &t.key,
            JobSeed {
                agent: lower(&cci),
                ..Default::default()
            },
        )
        .unwrap();
    t.emu
        .set_job_status(&t.key, &lower(&seeded.job_id), "completed", None)
        .unwrap();
    let r = t
        .admin(
            Method::POST,
            &format!("/jobs/{}/status", lower(&job)),
            Some(&t.key),
            Some(json!({ "status": "abandoned" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t
        .get(&format!("/agents/{cci}/conversations?status=abandoned"))
        .await;
    assert_eq!(r.body["conversations"][0]["id"], job.as_str());

    // Letters outside Crockford's alphabet stay malformed in either case.
    assert_err(
        &t.get(&format!("/agents/{}", lower(&cci).replace('0', "i")))
            .await,
        400,
        "invalid",
    );
}
