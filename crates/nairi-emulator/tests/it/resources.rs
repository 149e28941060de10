//! Resource assignment, delete refusals, vaults and secrets, skills, catalog fixtures.

use std::io::Write;

use serde_json::{Value, json};

use crate::common::*;

const UNKNOWN: &str = "01KRK1V46BXS73CSNK2VR35NPJ";

/// A zip archive from (path, contents) pairs.
pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in files {
            z.start_file(*name, opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

fn skill_md(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n# Skill\n")
}

async fn upload_skill(
    t: &T,
    method: reqwest::Method,
    path: &str,
    filename: &str,
    data: Vec<u8>,
) -> Resp {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(data).file_name(filename.to_string()),
    );
    into_resp(
        t.http
            .request(method, t.url(path))
            .bearer_auth(&t.key)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn assign_and_unassign_every_entity_type() {
    let t = start().await;
    t.post("/agents", json!({ "name": "Hub" })).await;
    let rule = t
        .post(
            "/artifacts/rules",
            json!({ "title": "t", "description": "d", "content": "c" }),
        )
        .await
        .body;
    let mcp = t
        .post(
            "/artifacts/mcp-configs",
            json!({ "title": "t", "description": "d", "content": r#"{"mcpServers":{"a":{}}}"# }),
        )
        .await
        .body;
    let skill = upload_skill(
        &t,
        reqwest::Method::POST,
        "/artifacts/skills",
        "s.zip",
        zip_of(&[("SKILL.md", &skill_md("s", "d"))]),
    )
    .await
    .body;
    let vault = t.post("/vaults", json!({ "name": "V" })).await.body;
    let llm = t.get("/integrations/llm").await.body[0].clone();
    let repo = t.get("/integrations/github-repos").await.body[0].clone();
    let pairs = [
        ("agent_artifact_rule", rule["id"].clone()),
        ("agent_artifact_mcp_cfg", mcp["id"].clone()),
        ("agent_artifact_skill", skill["id"].clone()),
        ("vault", vault["id"].clone()),
        ("anthropic_integration", llm["id"].clone()),
        ("github_repository_integration", repo["id"].clone()),
        ("llm_model", json!("opus-4.5")),
    ];
    let mut ccrs = Vec::new();
    for (et, id) in &pairs {
        let r = t
            .post(
                "/agents/hub/resources",
                json!({ "entity_type": et, "entity_id": id }),
            )
            .await;
        assert_eq!(r.status, 201, "{et}: {}", r.text);
        assert!(r.body["id"].as_str().unwrap().starts_with("ccr_"));
        assert!(r.body["container_id"].as_str().unwrap().starts_with("cci_"));
        assert_eq!(r.body["entity_type"], *et);
        assert_eq!(r.body["entity_id"], *id);
        ccrs.push(r.body["id"].as_str().unwrap().to_string());
    }
    let list = t.get("/agents/hub/resources").await.body;
    assert_eq!(list.as_array().unwrap().len(), 7);
    assert_err(
        &t.post(
            "/agents/hub/resources",
            json!({ "entity_type": "vault", "entity_id": vault["id"] }),
        )
        .await,
        400,
        "already assigned",
    );
    // Unknown entity → 404; malformed → 400; unknown type → 400.
    for (et, id, status) in [
        ("agent_artifact_rule", format!("aar_{UNKNOWN}"), 404),
        ("agent_artifact_mcp_cfg", format!("amc_{UNKNOWN}"), 404),
        ("agent_artifact_skill", format!("ask_{UNKNOWN}"), 404),
        ("vault", format!("vlt_{UNKNOWN}"), 404),
        ("anthropic_integration", format!("ai_{UNKNOWN}"), 404),
        ("github_repository_integration", UNKNOWN.to_string(), 404),
        ("llm_model", "gpt-9".to_string(), 404),
        ("agent_artifact_rule", "aar_1".to_string(), 400),
        ("vault", format!("aar_{UNKNOWN}"), 400),
        (
            "github_repository_integration",
            format!("gh_{UNKNOWN}"),
            400,
        ),
        ("llm_model", "bad model!".to_string(), 400),
        ("teapot", "x".to_string(), 400),
    ] {
        assert_eq!(
            t.post(
                "/agents/hub/resources",
                json!({ "entity_type": et, "entity_id": id })
            )
            .await
            .status,
            status,
            "{et} {id}"
        );
    }
    assert_eq!(
        t.post("/agents/hub/resources", json!({ "entity_type": "vault" }))
            .await
            .status,
        400
    );
    // Delete refused while assigned.
    let rid = rule["id"].as_str().unwrap();
    assert_err(
        &t.delete(&format!("/artifacts/rules/{rid}")).await,
        400,
        "cannot delete rule: still assigned to 1 agent(s)",
    );
    let mid = mcp["id"].as_str().unwrap();
    assert_err(
        &t.delete(&format!("/artifacts/mcp-configs/{mid}")).await,
        400,
        "cannot delete MCP config: still assigned to 1 agent(s)",
    );
    let sid = skill["id"].as_str().unwrap();
    assert_err(
        &t.delete(&format!("/artifacts/skills/{sid}")).await,
        400,
        "cannot delete skill: still assigned to 1 agent(s)",
    );
    let vid = vault["id"].as_str().unwrap();
    assert_err(
        &t.delete(&format!("/vaults/{vid}")).await,
        400,
        "cannot delete vault: still assigned to 1 agent(s)",
    );
    t.post("/agents", json!({ "name": "Hub Two" })).await;
    t.post(
        "/agents/hub-two/resources",
        json!({ "entity_type": "agent_artifact_rule", "entity_id": rid }),
    )
    .await;
    assert_err(
        &t.delete(&format!("/artifacts/rules/{rid}")).await,
        400,
        "still assigned to 2 agent(s)",
    );
    // Unassign: unknown → 404, then the deletes go through.
    assert_eq!(
        t.delete(&format!("/agents/hub/resources/ccr_{UNKNOWN}"))
            .await
            .status,
        404
    );
    assert_eq!(t.delete("/agents/hub/resources/ccr_1").await.status, 400);
    for ccr in &ccrs {
        assert_eq!(
            t.delete(&format!("/agents/hub/resources/{ccr}"))
                .await
                .status,
            204
        );
    }
    assert_eq!(
        t.delete(&format!("/agents/hub/resources/{}", ccrs[0]))
            .await
            .status,
        404
    );
    t.delete("/agents/hub-two").await;
    assert_eq!(
        t.delete(&format!("/artifacts/rules/{rid}")).await.status,
        204
    );
    assert_eq!(
        t.delete(&format!("/artifacts/mcp-configs/{mid}"))
            .await
            .status,
        204
    );
    assert_eq!(
        t.delete(&format!("/artifacts/skills/{sid}")).await.status,
        204
    );
    assert_eq!(t.delete(&format!("/vaults/{vid}")).await.status, 204);
    assert_eq!(t.get(&format!("/artifacts/rules/{rid}")).await.status, 404);
}

#[tokio::test]
async fn vaults_and_secrets() {
    let t = start().await;
    let v = t
        .post(
            "/vaults",
            json!({ "name": "Production Secrets", "description": "prod" }),
        )
        .await;
    assert_eq!(v.status, 201);
    assert_eq!(v.body["secrets_count"], 0);
    let vid = v.body["id"].as_str().unwrap().to_string();
    assert_eq!(t.post("/vaults", json!({ "name": "" })).await.status, 400);
    assert_eq!(t.post("/vaults", json!({})).await.status, 400);
    let s = t.post(&format!("/vaults/{vid}/secrets"), json!({ "env_key": "DATABASE_URL", "value": "postgresql://x", "allowed_domains": ["*.example.com"] })).await;
    assert_eq!(s.status, 201);
    assert!(s.body["id"].as_str().unwrap().starts_with("sec_"));
    assert!(
        s.body.get("value").is_none(),
        "secret values are never returned"
    );
    assert!(!s.text.contains("postgresql://x"));
    assert_eq!(s.body["allowed_domains"], json!(["*.example.com"]));
    let sid = s.body["id"].as_str().unwrap().to_string();
    let s2 = t
        .post(
            &format!("/vaults/{vid}/secrets"),
            json!({ "env_key": "TOKEN", "value": "t" }),
        )
        .await;
    assert_eq!(s2.body["allowed_domains"], json!([]));
    assert_err(
        &t.post(
            &format!("/vaults/{vid}/secrets"),
            json!({ "env_key": "TOKEN", "value": "t" }),
        )
        .await,
        400,
        "already exists",
    );
    assert_eq!(
        t.post(
            &format!("/vaults/{vid}/secrets"),
            json!({ "env_key": "1X", "value": "t" })
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.post(&format!("/vaults/{vid}/secrets"), json!({ "env_key": "X" }))
            .await
            .status,
        400
    );
    assert_eq!(
        t.post(
            &format!("/vaults/vlt_{UNKNOWN}/secrets"),
            json!({ "env_key": "X", "value": "v" })
        )
        .await
        .status,
        404
    );
    assert_eq!(
        t.get(&format!("/vaults/{vid}")).await.body["secrets_count"],
        2
    );
    assert_eq!(t.get("/vaults").await.body[0]["secrets_count"], 2);
    let list = t.get(&format!("/vaults/{vid}/secrets")).await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    assert!(!list.text.contains("postgresql://x"));
    // PATCH: {} no-op, rotate, domains, alias path.
    let before = t.get(&format!("/vaults/{vid}/secrets")).await.body[0].clone();
    let p = t
        .patch(&format!("/vaults/{vid}/secrets/{sid}"), json!({}))
        .await;
    assert_eq!(p.body, before);
    let p = t
        .patch(
            &format!("/vaults/{vid}/secrets/{sid}"),
            json!({ "value": "rotated", "allowed_domains": [] }),
        )
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body["allowed_domains"], json!([]));
    assert!(!p.text.contains("rotated"));
    let p = t
        .patch(
            &format!("/vault-secrets/{sid}"),
            json!({ "allowed_domains": ["api.stripe.com"] }),
        )
        .await;
    assert_eq!(p.body["allowed_domains"], json!(["api.stripe.com"]));
    assert_eq!(
        t.patch(&format!("/vaults/{vid}/secrets/sec_{UNKNOWN}"), json!({}))
            .await
            .status,
        404
    );
    // Vault PATCH {} no-op.
    let vb = t.get(&format!("/vaults/{vid}")).await.body;
    assert_eq!(t.patch(&format!("/vaults/{vid}"), json!({})).await.body, vb);
    assert_eq!(
        t.patch(&format!("/vaults/{vid}"), json!({ "name": "Renamed" }))
            .await
            .body["name"],
        "Renamed"
    );
    // Delete refused while it holds secrets.
    assert_err(
        &t.delete(&format!("/vaults/{vid}")).await,
        400,
        "cannot delete vault: vault still contains 2 secret(s)",
    );
    for s in t
        .get(&format!("/vaults/{vid}/secrets"))
        .await
        .body
        .as_array()
        .unwrap()
    {
        assert_eq!(
            t.delete(&format!(
                "/vaults/{vid}/secrets/{}",
                s["id"].as_str().unwrap()
            ))
            .await
            .status,
            204
        );
    }
    assert_eq!(
        t.delete(&format!("/vaults/{vid}/secrets/{sid}"))
            .await
            .status,
        404
    );
    assert_eq!(t.delete(&format!("/vaults/{vid}")).await.status, 204);
    assert_err(
        &t.get(&format!("/vaults/{vid}")).await,
        404,
        "vault not found",
    );
}

#[tokio::test]
async fn skill_packages() {
    let t = start().await;
    let post = |name: &'static str, data: Vec<u8>| {
        upload_skill(&t, reqwest::Method::POST, "/artifacts/skills", name, data)
    };
    let ok = post(
        "pdf.zip",
        zip_of(&[
            ("SKILL.md", &skill_md("pdf-tools", "Works with PDFs")),
            ("scripts/run.sh", "echo"),
        ]),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert!(ok.body["id"].as_str().unwrap().starts_with("ask_"));
    assert_eq!(ok.body["name"], "pdf-tools");
    assert_eq!(ok.body["description"], "Works with PDFs");
    assert!(ok.body.get("warnings").is_none());
    let id = ok.body["id"].as_str().unwrap().to_string();
    // In one top-level folder, .skill extension, with a warning for an unexpected folder.
    let nested = post(
        "x.skill",
        zip_of(&[
            ("my-skill/SKILL.md", &skill_md("my-skill", "d")),
            ("my-skill/misc/a.txt", "x"),
        ]),
    )
    .await;
    assert_eq!(nested.status, 201, "{}", nested.text);
    assert_eq!(nested.body["warnings"].as_array().unwrap().len(), 1);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a.tar",
            zip_of(&[("SKILL.md", &skill_md("a", "d"))]),
            ".zip or .skill",
        ),
        ("a.zip", b"not a zip".to_vec(), "not a valid zip"),
        ("a.zip", zip_of(&[("README.md", "x")]), "SKILL.md not found"),
        (
            "a.zip",
            zip_of(&[("a/b/SKILL.md", &skill_md("a", "d"))]),
            "SKILL.md not found",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", "no front matter")]),
            "front matter",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", "---\nname: a\n---\n")]),
            "description",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", "---\ndescription: d\n---\n")]),
            "name",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md("Bad_Name", "d"))]),
            "invalid skill name",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md("a--b", "d"))]),
            "invalid skill name",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md("-a", "d"))]),
            "invalid skill name",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md("a-", "d"))]),
            "invalid skill name",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md(&"a".repeat(65), "d"))]),
            "invalid skill name",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md("a", &"d".repeat(1025)))]),
            "1024",
        ),
        (
            "a.zip",
            zip_of(&[("SKILL.md", &skill_md("pdf-tools", "again"))]),
            "already exists",
        ),
        (
            "a.zip",
            zip_of(&[
                ("one/SKILL.md", &skill_md("a", "d")),
                ("two/SKILL.md", &skill_md("b", "d")),
            ]),
            "more than one",
        ),
    ];
    for (name, data, needle) in cases {
        assert_err(&post(name, data).await, 400, needle);
    }
    assert_eq!(
        post(
            "max.zip",
            zip_of(&[("SKILL.md", &skill_md(&"a".repeat(64), &"d".repeat(1024)))])
        )
        .await
        .status,
        201
    );
    let big = vec![0u8; 32 * 1024 * 1024 + 1];
    assert_err(&post("big.zip", big).await, 400, "too large");
    // PUT replaces the archive; the name stays unique.
    let put = upload_skill(
        &t,
        reqwest::Method::PUT,
        &format!("/artifacts/skills/{id}"),
        "v2.zip",
        zip_of(&[("SKILL.md", &skill_md("pdf-tools", "Version 2"))]),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["description"], "Version 2");
    let clash = upload_skill(
        &t,
        reqwest::Method::PUT,
        &format!("/artifacts/skills/{id}"),
        "v3.zip",
        zip_of(&[("SKILL.md", &skill_md("my-skill", "x"))]),
    )
    .await;
    assert_err(&clash, 400, "already exists");
    let missing = upload_skill(
        &t,
        reqwest::Method::PUT,
        &format!("/artifacts/skills/ask_{UNKNOWN}"),
        "v.zip",
        zip_of(&[("SKILL.md", &skill_md("zz", "x"))]),
    )
    .await;
    assert_eq!(missing.status, 404);
    let g = t.get(&format!("/artifacts/skills/{id}")).await.body;
    assert_eq!(g["description"], "Version 2");
    assert_eq!(
        t.get("/artifacts/skills")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn catalog_fixtures() {
    let t = start().await;
    let ch = t.get("/connected-channels").await.body;
    let types: Vec<&str> = ch
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["slack", "discord"]);
    assert!(ch[0]["id"].as_str().unwrap().starts_with("cc_"));
    let models = t.get("/models").await.body;
    assert_eq!(models.as_array().unwrap().len(), 3);
    let m: &Value = &models[0];
    for k in [
        "id",
        "display_name",
        "input_price",
        "output_price",
        "is_free",
    ] {
        assert!(m.get(k).is_some(), "{k}");
    }
    assert_eq!(
        t.get("/models?provider=anthropic")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        t.get("/models?provider=opencode")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(t.get("/models?provider=nobody").await.body, json!([]));
    let llm = t.get("/integrations/llm").await.body;
    let id = llm[0]["id"].as_str().unwrap();
    assert!(id.starts_with("ai_"));
    assert_eq!(llm[0]["provider"], "anthropic");
    let p = t
        .patch(
            &format!("/integrations/llm/{id}"),
            json!({ "name": "Staging Anthropic" }),
        )
        .await;
    assert_eq!(p.body["name"], "Staging Anthropic");
    assert_eq!(
        t.patch(&format!("/integrations/llm/{id}"), json!({}))
            .await
            .status,
        400
    );
    let repos = t.get("/integrations/github-repos").await.body;
    assert_eq!(repos[0]["full_name"], "acme/web");
    assert_eq!(repos[0]["id"].as_str().unwrap().len(), 26);
}

#[tokio::test]
async fn skill_front_matter_is_yaml() {
    let t = start().await;
    let upload = |md: &str| {
        let data = zip_of(&[("SKILL.md", md)]);
        upload_skill(
            &t,
            reqwest::Method::POST,
            "/artifacts/skills",
            "s.zip",
            data,
        )
    };
    let valid = [
        (
            "---\nname: commented # the skill's name\ndescription: Reads PDFs # and more\n---\n# Body\n",
            "commented",
            "Reads PDFs",
        ),
        (
            "---\nname: \"double-quoted\"\ndescription: \"Has: a colon, # a hash and \\\"quotes\\\"\"\n---\n",
            "double-quoted",
            "Has: a colon, # a hash and \"quotes\"",
        ),
        (
            "---\nname: 'single-quoted'\ndescription: 'It''s fine'\n---\n",
            "single-quoted",
            "It's fine",
        ),
        (
            "---\n# A comment line\nname: with-metadata\nmetadata:\n  version: 2\n  tags: [a, b]\ndescription: |\n  Line one\n  Line two\n---\n",
            "with-metadata",
            "Line one\nLine two",
        ),
        (
            "---\n{ name: flow-style, description: In flow style }\n---\n",
            "flow-style",
            "In flow style",
        ),
    ];
    for (md, name, description) in valid {
        let r = upload(md).await;
        assert_eq!(r.status, 201, "{md:?}: {}", r.text);
        assert_eq!(r.body["name"], name, "{md:?}");
        assert_eq!(r.body["description"], description, "{md:?}");
    }
    let invalid = [
        ("---\nname: [unclosed\ndescription: d\n---\n", "YAML"),
        ("---\n- name\n- description\n---\n", "mapping"),
        (
            "---\nname: 123\ndescription: d\n---\n",
            "name must be a string",
        ),
        (
            "---\nname: ok-name\ndescription: [a, b]\n---\n",
            "description must be a string",
        ),
        ("---\nname: dup\nname: dup2\ndescription: d\n---\n", "YAML"),
        ("---\nname:\ndescription: d\n---\n", "must include name"),
        ("---\ndescription: d\n---\n", "must include name"),
    ];
    for (md, needle) in invalid {
        assert_err(&upload(md).await, 400, needle);
    }
}
