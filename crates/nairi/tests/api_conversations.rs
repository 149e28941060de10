//! Raw conversation calls (start, continue) and messages (get, list) against wiremock.

mod common;

use common::*;
use nairi::types::{ContinueConversation, MessageRole, MessageStatus, StartConversation};
use serde_json::json;

#[tokio::test]
async fn start_conversation() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/conversations/start",
        200,
        json!({"job_id": "job_01KRK1V46BXS73CSNK2VR35NPJ", "message_id": "cmsg_01KRK1V475HBTME8QJQMAPWK16"}),
    )
    .await;
    let mut body =
        StartConversation::new("acme/web", "Refund the failed charge for customer cus_123.");
    body.ask_mode = Some(false);
    body.attachment_ids = vec!["att_1".into(), "att_2".into()];
    let handle = client.conversations().start(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/conversations/start");
    assert_json(
        &req,
        json!({
            "agent_id": "acme/web",
            "prompt": "Refund the failed charge for customer cus_123.",
            "ask_mode": false,
            "attachment_ids": ["att_1", "att_2"]
        }),
    );
    assert_eq!(handle.job_id, "job_01KRK1V46BXS73CSNK2VR35NPJ");
    assert_eq!(handle.message_id, "cmsg_01KRK1V475HBTME8QJQMAPWK16");
}

#[tokio::test]
async fn start_sends_only_required_fields_by_default() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/conversations/start",
        200,
        json!({"job_id": "j_1", "message_id": "cmsg_1"}),
    )
    .await;
    let handle = client
        .conversations()
        .start(&StartConversation::new("my-agent", "hi"))
        .await
        .unwrap();
    assert_json(
        &only_request(&server).await,
        json!({"agent_id": "my-agent", "prompt": "hi"}),
    );
    assert_eq!(handle.job_id, "j_1", "legacy j_ ids are accepted");
}

#[tokio::test]
async fn start_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let conv = client.conversations();
    assert_validation(
        conv.start(&StartConversation::new("", "hi")).await,
        "agent_id",
    );
    assert_validation(
        conv.start(&StartConversation::new("a", "  ")).await,
        "prompt",
    );
    let mut many = StartConversation::new("a", "hi");
    many.attachment_ids = (0..11).map(|i| format!("att_{i}")).collect();
    assert_validation(conv.start(&many).await, "attachment_ids");
    let mut blank = StartConversation::new("a", "hi");
    blank.attachment_ids = vec![" ".into()];
    assert_validation(conv.start(&blank).await, "attachment_ids");
}

#[tokio::test]
async fn follow_up_adopts_a_new_job_id() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/conversations/job_1/continue",
        200,
        json!({"job_id": "job_2", "message_id": "cmsg_2"}),
    )
    .await;
    let mut body = ContinueConversation::new("and email them");
    body.attachment_ids = vec!["att_9".into()];
    let handle = client
        .conversations()
        .follow_up("job_1", &body)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/conversations/job_1/continue");
    assert_json(
        &req,
        json!({"prompt": "and email them", "attachment_ids": ["att_9"]}),
    );
    assert_eq!(handle.job_id, "job_2");
    assert_eq!(handle.message_id, "cmsg_2");
}

#[tokio::test]
async fn follow_up_keeps_the_job_id_when_none_is_answered() {
    for answer in [
        json!({"message_id": "cmsg_3"}),
        json!({"job_id": null, "message_id": "cmsg_3"}),
        json!({"job_id": "", "message_id": "cmsg_3"}),
    ] {
        let (server, client) = setup().await;
        mount(
            &server,
            "POST",
            "/conversations/j_old/continue",
            200,
            answer.clone(),
        )
        .await;
        let handle = client
            .conversations()
            .follow_up("j_old", &ContinueConversation::new("more"))
            .await
            .unwrap();
        assert_json(&only_request(&server).await, json!({"prompt": "more"}));
        assert_eq!(handle.job_id, "j_old", "{answer}");
        assert_eq!(handle.message_id, "cmsg_3");
    }
}

#[tokio::test]
async fn follow_up_encodes_the_job_id_and_validates() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/conversations/..%2Fx/continue",
        200,
        json!({"job_id": "job_1", "message_id": "m"}),
    )
    .await;
    client
        .conversations()
        .follow_up("../x", &ContinueConversation::new("p"))
        .await
        .unwrap();
    assert_route(
        &only_request(&server).await,
        "POST",
        "/conversations/..%2Fx/continue",
    );

    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let conv = client.conversations();
    assert_validation(
        conv.follow_up("job_1", &ContinueConversation::new(""))
            .await,
        "prompt",
    );
    assert_validation(
        conv.follow_up("", &ContinueConversation::new("p")).await,
        "job_id",
    );
}

#[tokio::test]
async fn get_message() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/messages/cmsg_01KRK1WBPN3GSE0VWYTH4ZPN3R",
        200,
        json!({
            "id": "cmsg_01KRK1WBPN3GSE0VWYTH4ZPN3R", "job_id": "job_1",
            "content": "README.md created", "role": "assistant", "status": "completed",
            "created_at": TS, "updated_at": TS, "attachment_ids": ["att_7"],
            "cost_usd": 0.0123456789, "input_tokens": 10, "output_tokens": 20,
            "cache_read_tokens": 3, "cache_write_tokens": 4, "model": "claude-opus-4-7"
        }),
    )
    .await;
    let m = client
        .messages()
        .get("cmsg_01KRK1WBPN3GSE0VWYTH4ZPN3R")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/messages/cmsg_01KRK1WBPN3GSE0VWYTH4ZPN3R");
    assert_no_body(&req);
    assert_no_query(&req);
    assert_eq!(m.role, MessageRole::Assistant);
    assert_eq!(m.status, MessageStatus::Completed);
    assert_eq!(m.content, "README.md created");
    assert_eq!(m.attachment_ids, ["att_7"]);
    assert_eq!(m.cost_usd, Some(0.0123456789));
    assert_eq!(m.input_tokens, Some(10));
    assert_eq!(m.output_tokens, Some(20));
    assert_eq!(m.cache_read_tokens, Some(3));
    assert_eq!(m.cache_write_tokens, Some(4));
    assert_eq!(m.model.as_deref(), Some("claude-opus-4-7"));
    assert_eq!(m.created_at, Some(ts(TS)));
}

#[tokio::test]
async fn list_messages() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/conversations/job_1/messages",
        200,
        json!({"messages": [
            {"id": "cmsg_1", "job_id": "job_1", "content": "Your task", "role": "user", "status": "pending",
             "created_at": TS, "updated_at": TS},
            {"id": "cmsg_2", "job_id": "job_1", "content": "{\"progress_type\":\"text\"}", "role": "progress",
             "status": "completed", "progress_type": "tool_use", "tool_use_id": "tu_1",
             "parent_tool_use_id": "tu_0", "tool_name": "Bash", "tool_status": "running"},
            {"id": "cmsg_3", "job_id": "job_1", "content": "nairid encountered error: x", "role": "system", "status": "completed"}
        ]}),
    )
    .await;
    let list = client.messages().list("job_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/conversations/job_1/messages");
    assert_no_body(&req);
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].status, MessageStatus::Pending);
    assert_eq!(list[0].role, MessageRole::User);
    assert!(list[0].attachment_ids.is_empty());
    assert_eq!(list[1].role, MessageRole::Progress);
    assert_eq!(list[1].progress_type.as_deref(), Some("tool_use"));
    assert_eq!(list[1].tool_use_id.as_deref(), Some("tu_1"));
    assert_eq!(list[1].parent_tool_use_id.as_deref(), Some("tu_0"));
    assert_eq!(list[1].tool_name.as_deref(), Some("Bash"));
    assert_eq!(list[1].tool_status.as_deref(), Some("running"));
    assert_eq!(list[2].role, MessageRole::System);
}

#[tokio::test]
async fn message_ids_are_encoded_and_validated() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/conversations/a%2Fb%3Fc/messages",
        200,
        json!({"messages": []}),
    )
    .await;
    assert!(client.messages().list("a/b?c").await.unwrap().is_empty());
    assert_route(
        &only_request(&server).await,
        "GET",
        "/conversations/a%2Fb%3Fc/messages",
    );

    let (server, client) = setup().await;
    expect_no_request(&server).await;
    assert_validation(client.messages().get("..").await, "message_id");
    assert_validation(client.messages().list("").await, "job_id");
}
