//! Agents, deploy, resources, env vars and an agent's conversation list against wiremock.

mod common;

use common::*;
use futures::TryStreamExt;
use nairi::types::{
    AssignResource, ConversationSort, CreateAgent, CreateEnvVar, DeployAgent, EntityType,
    JobStatus, ListConversations, UpdateAgent, UpdateEnvVar,
};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn agent_json(id: &str, slug: &str) -> serde_json::Value {
    json!({
        "id": id, "name": "My Agent", "agent_id": slug, "instances_count": 1,
        "description": "Agent description", "is_self_hosted": false, "system_prompt": null,
        "created_at": TS, "updated_at": TS
    })
}

#[tokio::test]
async fn list_agents() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents",
        200,
        json!([agent_json("cci_01KEQ6963XS96YDP3NF9NKB7QJ", "my-agent"),
               {"id": "cci_2", "name": "Other", "agent_id": "acme/web"}]),
    )
    .await;
    let agents = client.agents().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/agents");
    assert_no_query(&req);
    assert_no_body(&req);
    assert_eq!(agents.len(), 2);
    assert_eq!(agents[0].id, "cci_01KEQ6963XS96YDP3NF9NKB7QJ");
    assert_eq!(agents[0].agent_id, "my-agent");
    assert_eq!(agents[0].instances_count, Some(1));
    assert_eq!(agents[0].description.as_deref(), Some("Agent description"));
    assert_eq!(agents[0].is_self_hosted, Some(false));
    assert_eq!(agents[0].system_prompt, None);
    assert_eq!(agents[0].created_at, Some(ts(TS)));
    assert_eq!(agents[1].agent_id, "acme/web");
    assert_eq!(agents[1].description, None);
}

#[tokio::test]
async fn create_agent() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/agents",
        201,
        agent_json("cci_1", "my-new-agent"),
    )
    .await;
    let mut body = CreateAgent::new("My New Agent");
    body.instances_count = Some(2);
    let agent = client.agents().create(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/agents");
    assert_json(&req, json!({"name": "My New Agent", "instances_count": 2}));
    assert_eq!(agent.id, "cci_1");
    assert_eq!(agent.agent_id, "my-new-agent");
}

#[tokio::test]
async fn create_agent_sends_only_set_fields() {
    let (server, client) = setup().await;
    mount(&server, "POST", "/agents", 201, agent_json("cci_1", "a")).await;
    client
        .agents()
        .create(&CreateAgent::new("A"))
        .await
        .unwrap();
    assert_json(&only_request(&server).await, json!({"name": "A"}));
}

#[tokio::test]
async fn create_agent_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    assert_validation(
        client.agents().create(&CreateAgent::new("  ")).await,
        "name",
    );
    let mut zero = CreateAgent::new("A");
    zero.instances_count = Some(0);
    assert_validation(client.agents().create(&zero).await, "instances_count");
}

#[tokio::test]
async fn get_agent_by_slug_with_slash() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/acme%2Fweb",
        200,
        agent_json("cci_1", "acme/web"),
    )
    .await;
    let agent = client.agents().get("acme/web").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/agents/acme%2Fweb");
    assert_no_body(&req);
    assert_eq!(agent.agent_id, "acme/web");
}

#[tokio::test]
async fn dot_dot_id_stays_one_segment() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/..%2Fx",
        200,
        agent_json("cci_1", "x"),
    )
    .await;
    client.agents().get("../x").await.unwrap();
    assert_route(&only_request(&server).await, "GET", "/agents/..%2Fx");
}

#[tokio::test]
async fn bad_path_ids_are_refused_before_sending() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    for bad in ["", ".", ".."] {
        assert_validation(client.agents().get(bad).await, "agent_id");
    }
    assert_validation(
        client.agents().env_vars().delete("a", "").await,
        "env_var_id",
    );
    assert_validation(
        client.agents().resources().unassign("a", "..").await,
        "resource_id",
    );
}

#[tokio::test]
async fn update_agent_tri_state_prompt() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PATCH",
        "/agents/cci_1",
        200,
        agent_json("cci_1", "a"),
    )
    .await;
    let body = UpdateAgent {
        description: Some("new".into()),
        system_prompt: Some(None),
        ..Default::default()
    };
    let agent = client.agents().update("cci_1", &body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PATCH", "/agents/cci_1");
    assert_json(&req, json!({"description": "new", "system_prompt": null}));
    assert_eq!(agent.id, "cci_1");
}

#[tokio::test]
async fn delete_agent() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/agents/acme%2Fweb").await;
    client.agents().delete("acme/web").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/agents/acme%2Fweb");
    assert_no_body(&req);
}

#[tokio::test]
async fn deploy_agent() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/agents/acme%2Fweb/deploy",
        202,
        json!({"status": "deploying"}),
    )
    .await;
    let body = DeployAgent {
        extra: Default::default(),
        update_config_only: Some(true),
    };
    let status = client.agents().deploy("acme/web", &body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/agents/acme%2Fweb/deploy");
    assert_json(&req, json!({"update_config_only": true}));
    assert_eq!(status.status, "deploying");
}

#[tokio::test]
async fn deploy_with_defaults_sends_empty_object() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/agents/a/deploy",
        202,
        json!({"status": "queued", "eta_s": 30}),
    )
    .await;
    let status = client
        .agents()
        .deploy("a", &DeployAgent::default())
        .await
        .unwrap();
    assert_json(&only_request(&server).await, json!({}));
    assert_eq!(status.status, "queued");
    assert_eq!(status.extra["eta_s"], 30);
}

#[tokio::test]
async fn list_resources() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/acme%2Fweb/resources",
        200,
        json!([
            {"id": "ccr_01KJW2VNGX7TA2Z077AF0N54TM", "container_id": "cci_1",
             "entity_type": "anthropic_integration", "entity_id": "ai_01KJTC8VXB6YJHHV8ZRHQZ4A8G",
             "created_at": "2026-03-04T09:28:57.000Z"},
            {"id": "ccr_2", "container_id": "cci_1", "entity_type": "llm_model", "entity_id": "opus-4.5"}
        ]),
    )
    .await;
    let list = client.agents().resources().list("acme/web").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/agents/acme%2Fweb/resources");
    assert_no_body(&req);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].entity_type, Some(EntityType::AnthropicIntegration));
    assert_eq!(
        list[0].entity_id.as_deref(),
        Some("ai_01KJTC8VXB6YJHHV8ZRHQZ4A8G")
    );
    assert_eq!(list[0].created_at, Some(ts("2026-03-04T09:28:57.000Z")));
    assert_eq!(list[1].entity_type, Some(EntityType::LlmModel));
}

#[tokio::test]
async fn assign_resource() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/agents/acme%2Fweb/resources",
        201,
        json!({"id": "ccr_9", "container_id": "cci_1", "entity_type": "vault", "entity_id": "vlt_1", "created_at": TS}),
    )
    .await;
    let r = client
        .agents()
        .resources()
        .assign("acme/web", &AssignResource::new(EntityType::Vault, "vlt_1"))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/agents/acme%2Fweb/resources");
    assert_json(&req, json!({"entity_type": "vault", "entity_id": "vlt_1"}));
    assert_eq!(r.id, "ccr_9");
    assert_eq!(r.entity_type, Some(EntityType::Vault));
}

#[tokio::test]
async fn assign_resource_of_a_kind_newer_than_the_sdk_goes_to_the_server() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/agents/a/resources",
        201,
        json!({"id": "ccr_9", "entity_type": "gitlab_repository_integration", "entity_id": "01K"}),
    )
    .await;
    let kind = EntityType::from("gitlab_repository_integration");
    assert!(!kind.is_known());
    let r = client
        .agents()
        .resources()
        .assign("a", &AssignResource::new(kind.clone(), "01K"))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/agents/a/resources");
    assert_json(
        &req,
        json!({"entity_type": "gitlab_repository_integration", "entity_id": "01K"}),
    );
    assert_eq!(r.id, "ccr_9");
    assert_eq!(r.entity_type, Some(kind));
}

#[tokio::test]
async fn assign_resource_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let res = client.agents().resources();
    assert_validation(
        res.assign("a", &AssignResource::new(EntityType::from(" "), "x"))
            .await,
        "entity_type",
    );
    assert_validation(
        res.assign("a", &AssignResource::new(EntityType::Rule, " "))
            .await,
        "entity_id",
    );
}

#[tokio::test]
async fn unassign_resource() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/agents/acme%2Fweb/resources/ccr_9").await;
    client
        .agents()
        .resources()
        .unassign("acme/web", "ccr_9")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/agents/acme%2Fweb/resources/ccr_9");
    assert_no_body(&req);
}

fn env_json(id: &str, key: &str, value: &str) -> serde_json::Value {
    json!({"id": id, "container_id": "cci_1", "key": key, "value": value, "created_at": TS, "updated_at": TS})
}

#[tokio::test]
async fn list_env_vars() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/acme%2Fweb/env-vars",
        200,
        json!([env_json("cev_01KHGX61ZCCN8M1SG0VMSGRAAB", "STAGE", "prod")]),
    )
    .await;
    let vars = client.agents().env_vars().list("acme/web").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/agents/acme%2Fweb/env-vars");
    assert_no_body(&req);
    assert_eq!(vars.len(), 1);
    assert_eq!(vars[0].id, "cev_01KHGX61ZCCN8M1SG0VMSGRAAB");
    assert_eq!(vars[0].key, "STAGE");
    assert_eq!(vars[0].value.as_deref(), Some("prod"));
    assert_eq!(vars[0].container_id.as_deref(), Some("cci_1"));
}

#[tokio::test]
async fn create_env_var() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/agents/a/env-vars",
        201,
        env_json("cev_1", "STAGE", "prod"),
    )
    .await;
    let body = CreateEnvVar::new("STAGE", "prod");
    let v = client.agents().env_vars().create("a", &body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/agents/a/env-vars");
    assert_json(&req, json!({"key": "STAGE", "value": "prod"}));
    assert_eq!(v.id, "cev_1");
}

#[tokio::test]
async fn env_var_key_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let env = client.agents().env_vars();
    for key in ["", "1X", "A-B", "É", "NAIRI_TOKEN", "CCAGENT_X"] {
        let body = CreateEnvVar::new(key, "v");
        assert_validation(env.create("a", &body).await, "key");
    }
    let rename = UpdateEnvVar {
        extra: Default::default(),
        key: Some("bad key".into()),
        value: None,
    };
    assert_validation(env.update("a", "cev_1", &rename).await, "key");
}

#[tokio::test]
async fn update_env_var() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PATCH",
        "/agents/acme%2Fweb/env-vars/cev_1",
        200,
        env_json("cev_1", "STAGE", "staging"),
    )
    .await;
    let body = UpdateEnvVar {
        extra: Default::default(),
        key: None,
        value: Some("staging".into()),
    };
    let v = client
        .agents()
        .env_vars()
        .update("acme/web", "cev_1", &body)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PATCH", "/agents/acme%2Fweb/env-vars/cev_1");
    assert_json(&req, json!({"value": "staging"}));
    assert_eq!(v.value.as_deref(), Some("staging"));
}

#[tokio::test]
async fn delete_env_var() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/agents/acme%2Fweb/env-vars/cev_1").await;
    client
        .agents()
        .env_vars()
        .delete("acme/web", "cev_1")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/agents/acme%2Fweb/env-vars/cev_1");
    assert_no_body(&req);
}

fn conv(i: usize) -> serde_json::Value {
    json!({"id": format!("job_{i}"), "agent_id": "cci_1", "status": "active", "created_at": TS, "updated_at": TS})
}

#[tokio::test]
async fn list_agent_conversations_with_filters() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/acme%2Fweb/conversations",
        200,
        json!({"conversations": [conv(1), {"id": "j_2", "status": "error"}]}),
    )
    .await;
    let params = ListConversations {
        status: vec![JobStatus::Active, JobStatus::Error],
        updated_after: Some(ts("2026-04-12T18:45:12.000Z")),
        sort: Some(ConversationSort::UpdatedAtAsc),
        limit: Some(20),
        offset: Some(40),
    };
    let list = client
        .agents()
        .conversations()
        .list("acme/web", &params)
        .await
        .unwrap();
    let req = only_request_with_query(&server).await;
    assert_route(&req, "GET", "/agents/acme%2Fweb/conversations");
    assert_no_body(&req);
    assert_eq!(
        query(&req),
        vec![
            ("status".to_owned(), "active,error".to_owned()),
            (
                "updated_after".to_owned(),
                "2026-04-12T18:45:12Z".to_owned()
            ),
            ("sort".to_owned(), "updated_at_asc".to_owned()),
            ("limit".to_owned(), "20".to_owned()),
            ("offset".to_owned(), "40".to_owned()),
        ]
    );
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, "job_1");
    assert_eq!(list[0].agent_id.as_deref(), Some("cci_1"));
    assert_eq!(list[0].status, JobStatus::Active);
    assert_eq!(list[1].id, "j_2");
    assert_eq!(list[1].status, JobStatus::Error);
}

#[tokio::test]
async fn list_agent_conversations_without_filters_sends_no_query() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/a/conversations",
        200,
        json!({"conversations": []}),
    )
    .await;
    let list = client
        .agents()
        .conversations()
        .list("a", &ListConversations::default())
        .await
        .unwrap();
    assert_no_query(&only_request(&server).await);
    assert!(list.is_empty());
}

#[tokio::test]
async fn list_conversation_filters_are_validated() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let convs = client.agents().conversations();
    let cases: Vec<(ListConversations, &str)> = vec![
        (
            ListConversations {
                limit: Some(0),
                ..Default::default()
            },
            "limit",
        ),
        (
            ListConversations {
                limit: Some(101),
                ..Default::default()
            },
            "limit",
        ),
        (
            ListConversations {
                offset: Some(-1),
                ..Default::default()
            },
            "offset",
        ),
        (
            ListConversations {
                status: vec![JobStatus::from("Active")],
                ..Default::default()
            },
            "status",
        ),
        (
            ListConversations {
                sort: Some(ConversationSort::from("newest")),
                ..Default::default()
            },
            "sort",
        ),
    ];
    for (params, field) in cases {
        assert_validation(convs.list("a", &params).await, field);
        let first = convs.list_all("a", params).try_collect::<Vec<_>>().await;
        assert_validation(first, field);
    }
}

#[tokio::test]
async fn list_all_pages_until_a_short_page() {
    let (server, client) = setup().await;
    let route = format!("{P}/agents/acme%2Fweb/conversations");
    for (offset, count) in [(0, 2), (2, 2), (4, 1)] {
        let items: Vec<_> = (offset..offset + count).map(conv).collect();
        Mock::given(method("GET"))
            .and(path(route.clone()))
            .and(query_param("offset", offset.to_string()))
            .and(query_param("limit", "2"))
            .and(query_param("status", "active"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"conversations": items})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let params = ListConversations {
        status: vec![JobStatus::Active],
        limit: Some(2),
        ..Default::default()
    };
    let all: Vec<_> = client
        .agents()
        .conversations()
        .list_all("acme/web", params)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["job_0", "job_1", "job_2", "job_3", "job_4"]);
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3, "stops after the short page");
    for r in &reqs {
        assert_std_headers(r);
    }
}

#[tokio::test]
async fn list_all_counts_an_undecodable_entry_toward_the_page() {
    let (server, client) = setup().await;
    let route = format!("{P}/agents/a/conversations");
    // A full page of 2 where one entry has no usable id: it is left out, but the page was
    // still full, so paging continues at offset 2 rather than stopping early.
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("offset", "0"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"conversations": [conv(0), {"id": null, "status": "active"}]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"conversations": [conv(2)]})))
        .expect(1)
        .mount(&server)
        .await;
    let params = ListConversations {
        limit: Some(2),
        ..Default::default()
    };
    let all: Vec<_> = client
        .agents()
        .conversations()
        .list_all("a", params)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["job_0", "job_2"]);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn list_all_stops_on_an_empty_page_and_uses_the_default_limit() {
    let (server, client) = setup().await;
    let route = format!("{P}/agents/a/conversations");
    let full: Vec<_> = (0..50).map(conv).collect();
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"conversations": full})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("offset", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"conversations": []})))
        .expect(1)
        .mount(&server)
        .await;
    let all: Vec<_> = client
        .agents()
        .conversations()
        .list_all("a", ListConversations::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn list_all_surfaces_a_page_error() {
    let (server, client) = setup().await;
    let route = format!("{P}/agents/a/conversations");
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"conversations": [conv(0)]})))
        .mount(&server)
        .await;
    let params = ListConversations {
        limit: Some(1),
        ..Default::default()
    };
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("offset", "1"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "agent not found"})))
        .mount(&server)
        .await;
    let stream = client.agents().conversations().list_all("a", params);
    let items: Vec<_> = futures::StreamExt::collect(stream).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().id, "job_0");
    assert_eq!(
        items[1].as_ref().unwrap_err().kind(),
        nairi::ErrorKind::NotFound
    );
}

#[tokio::test]
async fn list_all_stops_when_the_server_ignores_offset() {
    let (server, client) = setup().await;
    // Whatever the offset, the same full page.
    Mock::given(method("GET"))
        .and(path(format!("{P}/agents/a/conversations")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"conversations": [conv(0), conv(1)]})),
        )
        .mount(&server)
        .await;
    let params = ListConversations {
        limit: Some(2),
        ..Default::default()
    };
    let mut stream = client.agents().conversations().list_all("a", params);
    // The stream is Unpin: `next()` needs no pinning.
    let mut items = Vec::new();
    while let Some(item) = futures::StreamExt::next(&mut stream).await {
        items.push(item);
        assert!(items.len() <= 10, "the stream never ends: {items:?}");
    }
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().id, "job_0");
    assert_eq!(items[1].as_ref().unwrap().id, "job_1");
    let err = items[2].as_ref().unwrap_err();
    assert_eq!(err.kind(), nairi::ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("offset"), "{err}");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        query(&reqs[1]),
        [("limit".into(), "2".into()), ("offset".into(), "2".into())]
    );
}
