//! Rules, MCP configs and skills against wiremock.

mod common;

use common::*;
use nairi::types::{CreateMcpConfig, FileUpload, MAX_SKILL_BYTES, ReplaceMcpConfig, RuleInput};
use serde_json::json;

fn rule_json(id: &str) -> serde_json::Value {
    json!({"id": id, "title": "Code Style Rules", "description": "Guidelines for code formatting",
           "content": "Always use 2-space indentation...", "created_at": TS, "updated_at": TS})
}

#[tokio::test]
async fn list_rules() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/artifacts/rules",
        200,
        json!([rule_json("aar_01KJWRKX0ZNZP91YG3Q353776Q")]),
    )
    .await;
    let rules = client.rules().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/artifacts/rules");
    assert_no_body(&req);
    assert_no_query(&req);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id, "aar_01KJWRKX0ZNZP91YG3Q353776Q");
    assert_eq!(rules[0].title, "Code Style Rules");
    assert_eq!(rules[0].description, "Guidelines for code formatting");
    assert_eq!(rules[0].content, "Always use 2-space indentation...");
    assert_eq!(rules[0].updated_at, Some(ts(TS)));
}

#[tokio::test]
async fn create_rule() {
    let (server, client) = setup().await;
    mount(&server, "POST", "/artifacts/rules", 201, rule_json("aar_1")).await;
    let body = RuleInput::new("Code Style Rules", "Guidelines", "Use 2 spaces");
    let rule = client.rules().create(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/artifacts/rules");
    assert_json(
        &req,
        json!({"title": "Code Style Rules", "description": "Guidelines", "content": "Use 2 spaces"}),
    );
    assert_eq!(rule.id, "aar_1");
}

#[tokio::test]
async fn get_rule_without_timestamps() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/artifacts/rules/aar_1",
        200,
        json!({"id": "aar_1", "title": "T", "description": "D", "content": "C"}),
    )
    .await;
    let rule = client.rules().get("aar_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/artifacts/rules/aar_1");
    assert_no_body(&req);
    assert_eq!(
        (
            rule.title.as_str(),
            rule.description.as_str(),
            rule.content.as_str()
        ),
        ("T", "D", "C")
    );
    assert_eq!(rule.created_at, None);
    assert_eq!(rule.updated_at, None);
}

#[tokio::test]
async fn replace_rule_with_put() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PUT",
        "/artifacts/rules/aar_1",
        200,
        rule_json("aar_1"),
    )
    .await;
    let rule = client
        .rules()
        .replace("aar_1", &RuleInput::new("New", "", "body"))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PUT", "/artifacts/rules/aar_1");
    assert_json(
        &req,
        json!({"title": "New", "description": "", "content": "body"}),
    );
    assert_eq!(rule.id, "aar_1");
}

#[tokio::test]
async fn delete_rule() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/artifacts/rules/aar_1").await;
    client.rules().delete("aar_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/artifacts/rules/aar_1");
    assert_no_body(&req);
}

#[tokio::test]
async fn delete_assigned_rule_is_a_bad_request() {
    let (server, client) = setup().await;
    mount(
        &server,
        "DELETE",
        "/artifacts/rules/aar_1",
        400,
        json!({"error": "cannot delete rule: still assigned to 2 agent(s)"}),
    )
    .await;
    let err = client.rules().delete("aar_1").await.unwrap_err();
    assert_eq!(err.kind(), nairi::ErrorKind::BadRequest);
    assert_eq!(
        err.as_api().unwrap().message,
        "cannot delete rule: still assigned to 2 agent(s)"
    );
}

#[tokio::test]
async fn rule_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    assert_validation(
        client.rules().create(&RuleInput::new(" ", "d", "c")).await,
        "title",
    );
    assert_validation(
        client
            .rules()
            .replace("aar_1", &RuleInput::new("", "d", "c"))
            .await,
        "title",
    );
    assert_validation(
        client
            .rules()
            .replace("", &RuleInput::new("t", "d", "c"))
            .await,
        "rule_id",
    );
    assert_validation(client.rules().get(".").await, "rule_id");
    assert_validation(client.rules().delete("..").await, "rule_id");
}

#[tokio::test]
async fn rule_ids_stay_one_segment() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/artifacts/rules/..%2Fmcp-configs",
        200,
        rule_json("x"),
    )
    .await;
    client.rules().get("../mcp-configs").await.unwrap();
    assert_route(
        &only_request(&server).await,
        "GET",
        "/artifacts/rules/..%2Fmcp-configs",
    );
}

const MCP: &str = r#"{"mcpServers":{"fs":{"command":"npx","args":["@mcp/fs"]}}}"#;

fn mcp_json(id: &str, sensitive: bool) -> serde_json::Value {
    let mut v = json!({"id": id, "title": "FS", "description": "files", "is_sensitive": sensitive,
                       "created_at": TS, "updated_at": TS});
    if !sensitive {
        v["content"] = MCP.into();
    }
    v
}

#[tokio::test]
async fn list_mcp_configs() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/artifacts/mcp-configs",
        200,
        json!([mcp_json("amc_1", false), mcp_json("amc_2", true)]),
    )
    .await;
    let list = client.mcp_configs().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/artifacts/mcp-configs");
    assert_no_body(&req);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].content.as_deref(), Some(MCP));
    assert_eq!(list[0].is_sensitive, Some(false));
    assert_eq!(list[1].content, None);
    assert_eq!(list[1].is_sensitive, Some(true));
}

#[tokio::test]
async fn create_mcp_config() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/artifacts/mcp-configs",
        201,
        mcp_json("amc_1", true),
    )
    .await;
    let mut body = CreateMcpConfig::new("FS", "files", MCP);
    body.is_sensitive = Some(true);
    let c = client.mcp_configs().create(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/artifacts/mcp-configs");
    assert_json(
        &req,
        json!({"title": "FS", "description": "files", "content": MCP, "is_sensitive": true}),
    );
    assert_eq!(c.id, "amc_1");
    assert_eq!(c.content, None);
}

#[tokio::test]
async fn get_mcp_config() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/artifacts/mcp-configs/amc_1",
        200,
        mcp_json("amc_1", false),
    )
    .await;
    let c = client.mcp_configs().get("amc_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/artifacts/mcp-configs/amc_1");
    assert_no_body(&req);
    assert_eq!(c.title, "FS");
    assert_eq!(c.description, "files");
    assert_eq!(c.content.as_deref(), Some(MCP));
    assert_eq!(c.created_at, Some(ts(TS)));
}

#[tokio::test]
async fn replace_mcp_config_metadata_only() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PUT",
        "/artifacts/mcp-configs/amc_1",
        200,
        mcp_json("amc_1", false),
    )
    .await;
    let c = client
        .mcp_configs()
        .replace("amc_1", &ReplaceMcpConfig::new("FS2", "more files"))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PUT", "/artifacts/mcp-configs/amc_1");
    assert_json(&req, json!({"title": "FS2", "description": "more files"}));
    assert_eq!(c.id, "amc_1");
}

#[tokio::test]
async fn replace_mcp_config_with_content() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PUT",
        "/artifacts/mcp-configs/amc_1",
        200,
        mcp_json("amc_1", false),
    )
    .await;
    let body = ReplaceMcpConfig {
        content: Some(MCP.into()),
        is_sensitive: Some(false),
        ..ReplaceMcpConfig::new("FS", "d")
    };
    client.mcp_configs().replace("amc_1", &body).await.unwrap();
    assert_json(
        &only_request(&server).await,
        json!({"title": "FS", "description": "d", "content": MCP, "is_sensitive": false}),
    );
}

#[tokio::test]
async fn delete_mcp_config() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/artifacts/mcp-configs/amc_1").await;
    client.mcp_configs().delete("amc_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/artifacts/mcp-configs/amc_1");
    assert_no_body(&req);
}

#[tokio::test]
async fn mcp_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let mcp = client.mcp_configs();
    for bad in [
        "",
        "not json",
        "[1]",
        "{}",
        r#"{"mcpServers":{}}"#,
        r#"{"mcpServers":[{"a":1}]}"#,
        r#"{"servers":{"a":{}}}"#,
    ] {
        assert_validation(
            mcp.create(&CreateMcpConfig::new("t", "d", bad)).await,
            "content",
        );
        let replace = ReplaceMcpConfig {
            content: Some(bad.into()),
            ..ReplaceMcpConfig::new("t", "d")
        };
        assert_validation(mcp.replace("amc_1", &replace).await, "content");
    }
    assert_validation(
        mcp.create(&CreateMcpConfig::new("", "d", MCP)).await,
        "title",
    );
    assert_validation(
        mcp.replace("amc_1", &ReplaceMcpConfig::new(" ", "d")).await,
        "title",
    );
    assert_validation(mcp.get("").await, "config_id");
    assert_validation(mcp.delete("..").await, "config_id");
}

fn skill_json(id: &str) -> serde_json::Value {
    json!({"id": id, "name": "pdf-tools", "description": "Work with PDFs", "created_at": TS, "updated_at": TS})
}

#[tokio::test]
async fn list_skills() {
    let (server, client) = setup().await;
    mount(&server, "GET", "/artifacts/skills", 200, json!([skill_json("ask_1"), {"id": "ask_2", "name": "x", "description": null, "warnings": ["unexpected folder misc/"]}])).await;
    let skills = client.skills().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/artifacts/skills");
    assert_no_body(&req);
    assert_eq!(skills.len(), 2);
    assert_eq!(skills[0].name, "pdf-tools");
    assert_eq!(skills[0].description, "Work with PDFs");
    assert!(skills[0].warnings.is_empty());
    assert_eq!(skills[1].description, "");
    assert_eq!(skills[1].warnings, ["unexpected folder misc/"]);
}

#[tokio::test]
async fn create_skill_uploads_multipart() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/artifacts/skills",
        201,
        skill_json("ask_1"),
    )
    .await;
    let zip = b"PK\x03\x04 fake zip".to_vec();
    let skill = client
        .skills()
        .create(FileUpload::new(
            "pdf-tools.zip",
            "application/zip",
            zip.clone(),
        ))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/artifacts/skills");
    let part = single_file_part(&req);
    assert_eq!(part.filename.as_deref(), Some("pdf-tools.zip"));
    assert_eq!(part.content_type.as_deref(), Some("application/zip"));
    assert_eq!(part.data, zip);
    assert_eq!(skill.id, "ask_1");
    assert_eq!(skill.name, "pdf-tools");
}

#[tokio::test]
async fn create_skill_from_a_file() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/artifacts/skills",
        201,
        skill_json("ask_1"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("My.SKILL");
    tokio::fs::write(&file, b"PK\x03\x04data").await.unwrap();
    client.skills().create_file(&file).await.unwrap();
    let part = single_file_part(&only_request(&server).await);
    assert_eq!(part.filename.as_deref(), Some("My.SKILL"));
    assert_eq!(part.content_type.as_deref(), Some("application/zip"));
    assert_eq!(part.data, b"PK\x03\x04data");
}

#[tokio::test]
async fn get_skill() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/artifacts/skills/ask_1",
        200,
        skill_json("ask_1"),
    )
    .await;
    let s = client.skills().get("ask_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/artifacts/skills/ask_1");
    assert_no_body(&req);
    assert_eq!(s.id, "ask_1");
    assert_eq!(s.created_at, Some(ts(TS)));
}

#[tokio::test]
async fn replace_skill_puts_multipart() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PUT",
        "/artifacts/skills/ask_1",
        200,
        skill_json("ask_1"),
    )
    .await;
    client
        .skills()
        .replace(
            "ask_1",
            FileUpload::new("v2.skill", "application/zip", &b"PK v2"[..]),
        )
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PUT", "/artifacts/skills/ask_1");
    let part = single_file_part(&req);
    assert_eq!(part.filename.as_deref(), Some("v2.skill"));
    assert_eq!(part.data, b"PK v2");
}

#[tokio::test]
async fn replace_skill_from_a_file() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PUT",
        "/artifacts/skills/ask_1",
        200,
        skill_json("ask_1"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v3.zip");
    tokio::fs::write(&file, b"PK v3").await.unwrap();
    client.skills().replace_file("ask_1", &file).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PUT", "/artifacts/skills/ask_1");
    assert_eq!(single_file_part(&req).data, b"PK v3");
}

#[tokio::test]
async fn delete_skill() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/artifacts/skills/ask_1").await;
    client.skills().delete("ask_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/artifacts/skills/ask_1");
    assert_no_body(&req);
}

#[tokio::test]
async fn skill_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let skills = client.skills();
    for name in ["skill.tar.gz", "skill", "zip", "skill.zip.txt", ""] {
        assert_validation(
            skills
                .create(FileUpload::new(name, "application/zip", &b"PK"[..]))
                .await,
            "filename",
        );
    }
    assert_validation(
        skills
            .create(FileUpload::new("a.zip", "application/zip", Vec::new()))
            .await,
        "file",
    );
    let big = vec![0u8; MAX_SKILL_BYTES as usize + 1];
    assert_validation(
        skills
            .create(FileUpload::new("a.zip", "application/zip", big.clone()))
            .await,
        "file",
    );
    assert_validation(
        skills
            .replace("ask_1", FileUpload::new("a.zip", "application/zip", big))
            .await,
        "file",
    );
    assert_validation(
        skills
            .replace(
                "ask_1",
                FileUpload::new("a.rar", "application/zip", &b"x"[..]),
            )
            .await,
        "filename",
    );
    assert_validation(
        skills
            .replace("", FileUpload::new("a.zip", "application/zip", &b"x"[..]))
            .await,
        "skill_id",
    );
    assert_validation(skills.get("..").await, "skill_id");
    assert_validation(skills.delete("").await, "skill_id");

    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("skill.txt");
    tokio::fs::write(&txt, b"x").await.unwrap();
    assert_validation(skills.create_file(&txt).await, "filename");
    let big_file = dir.path().join("big.zip");
    std::fs::File::create(&big_file)
        .unwrap()
        .set_len(MAX_SKILL_BYTES + 1)
        .unwrap();
    assert_validation(skills.create_file(&big_file).await, "file");
    let err = skills
        .replace_file("ask_1", dir.path().join("missing.zip"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), nairi::ErrorKind::Io, "{err:?}");
}
