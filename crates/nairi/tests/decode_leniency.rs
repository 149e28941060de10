//! One odd-typed field must not fail a whole listing: `messages().list(..)` decodes message by
//! message, leaving out only elements without a usable `id`, and every non-ID field of a
//! message decodes leniently (`messages().get(..)` too).

mod common;

use common::*;
use nairi::ErrorKind;
use nairi::types::{MessageRole, MessageStatus};
use serde_json::{Value, json};

const JOB: &str = "job_01KRK1V46BXS73CSNK2VR35NPJ";

fn good(id: &str, content: &str) -> Value {
    json!({
        "id": id,
        "job_id": JOB,
        "content": content,
        "role": "assistant",
        "status": "completed",
        "created_at": "2026-04-12T18:45:12.000Z",
        "attachment_ids": ["att_1"],
        "model": "opus",
    })
}

async fn list(messages: Value) -> Vec<nairi::types::Message> {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        &format!("/conversations/{JOB}/messages"),
        200,
        json!({ "messages": messages }),
    )
    .await;
    client.messages().list(JOB).await.expect("the list decodes")
}

#[tokio::test]
async fn odd_content_is_kept_as_json_text() {
    let got = list(json!([
        good("cmsg_1", "before"),
        {"id": "cmsg_2", "job_id": JOB, "content": {"type": "text", "n": [1, 2]}, "role": "progress"},
        {"id": "cmsg_3", "job_id": JOB, "content": 42},
        {"id": "cmsg_4", "job_id": JOB, "content": 1.5},
        {"id": "cmsg_5", "job_id": JOB, "content": true},
        good("cmsg_6", "after"),
    ]))
    .await;
    let contents: Vec<(&str, &str)> = got
        .iter()
        .map(|m| (m.id.as_str(), m.content.as_str()))
        .collect();
    assert_eq!(
        contents,
        [
            ("cmsg_1", "before"),
            ("cmsg_2", r#"{"n":[1,2],"type":"text"}"#),
            ("cmsg_3", "42"),
            ("cmsg_4", "1.5"),
            ("cmsg_5", "true"),
            ("cmsg_6", "after"),
        ]
    );
    assert_eq!(got[1].role, MessageRole::Progress);
}

#[tokio::test]
async fn non_string_fields_decode_as_empty() {
    for odd in [
        json!(7),
        json!(2.5),
        json!(true),
        json!({"x": 1}),
        json!(["a"]),
    ] {
        let got = list(json!([
            good("cmsg_1", "before"),
            {
                "id": "cmsg_2",
                "job_id": odd,
                "content": "middle",
                "role": odd,
                "status": odd,
                "model": odd,
                "progress_type": odd,
                "tool_name": odd,
                "tool_status": odd,
                "tool_use_id": odd,
                "parent_tool_use_id": odd,
                "input_tokens": 12,
            },
            good("cmsg_3", "after"),
        ]))
        .await;
        assert_eq!(got.len(), 3, "{odd}");
        let m = &got[1];
        assert_eq!((m.id.as_str(), m.content.as_str()), ("cmsg_2", "middle"));
        assert_eq!(m.job_id, "", "{odd}");
        assert_eq!(m.role, MessageRole::Unknown(String::new()), "{odd}");
        assert_eq!(m.status, MessageStatus::Unknown(String::new()), "{odd}");
        for (name, field) in [
            ("model", &m.model),
            ("progress_type", &m.progress_type),
            ("tool_name", &m.tool_name),
            ("tool_status", &m.tool_status),
            ("tool_use_id", &m.tool_use_id),
            ("parent_tool_use_id", &m.parent_tool_use_id),
        ] {
            assert_eq!(field, &None, "{name} given {odd}");
        }
        assert_eq!(m.input_tokens, Some(12));
        for (m, content) in [(&got[0], "before"), (&got[2], "after")] {
            assert_eq!(m.content, content);
            assert_eq!(m.job_id, JOB);
            assert_eq!(m.role, MessageRole::Assistant);
            assert_eq!(m.status, MessageStatus::Completed);
            assert_eq!(m.model.as_deref(), Some("opus"));
            assert_eq!(m.attachment_ids, ["att_1"]);
            assert_eq!(m.created_at, Some(ts("2026-04-12T18:45:12.000Z")));
        }
    }
}

#[tokio::test]
async fn odd_attachment_ids_keep_only_strings() {
    let got = list(json!([
        {"id": "cmsg_1", "attachment_ids": "att_single"},
        {"id": "cmsg_2", "attachment_ids": [null]},
        {"id": "cmsg_3", "attachment_ids": [1]},
        {"id": "cmsg_4", "attachment_ids": [null, "att_a", 2, {"id": "att_x"}, "att_b"]},
        {"id": "cmsg_5", "attachment_ids": {"att": 1}},
        {"id": "cmsg_6", "attachment_ids": 3},
    ]))
    .await;
    let ids: Vec<(&str, Vec<&str>)> = got
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.attachment_ids.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("cmsg_1", vec!["att_single"]),
            ("cmsg_2", vec![]),
            ("cmsg_3", vec![]),
            ("cmsg_4", vec!["att_a", "att_b"]),
            ("cmsg_5", vec![]),
            ("cmsg_6", vec![]),
        ]
    );
}

#[tokio::test]
async fn elements_without_a_usable_id_are_left_out() {
    let got = list(json!([
        good("cmsg_1", "first"),
        {"id": null, "content": "null id"},
        {"id": 17, "content": "numeric id"},
        {"content": "no id"},
        {"id": "", "content": "empty id"},
        {"id": {"v": "cmsg_x"}, "content": "object id"},
        null,
        "cmsg_9",
        42,
        [good("cmsg_nested", "nested")],
        good("cmsg_2", "second"),
    ]))
    .await;
    let ids: Vec<(&str, &str)> = got
        .iter()
        .map(|m| (m.id.as_str(), m.content.as_str()))
        .collect();
    assert_eq!(ids, [("cmsg_1", "first"), ("cmsg_2", "second")]);
}

#[tokio::test]
async fn null_or_missing_messages_is_an_empty_list() {
    assert!(list(Value::Null).await.is_empty());
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        &format!("/conversations/{JOB}/messages"),
        200,
        json!({}),
    )
    .await;
    assert!(client.messages().list(JOB).await.unwrap().is_empty());
}

#[tokio::test]
async fn messages_that_are_not_a_list_still_fail() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        &format!("/conversations/{JOB}/messages"),
        200,
        json!({"messages": {"id": "cmsg_1"}}),
    )
    .await;
    let err = client.messages().list(JOB).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
}

#[tokio::test]
async fn get_decodes_odd_fields_leniently() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/messages/cmsg_1",
        200,
        json!({
            "id": "cmsg_1",
            "job_id": 12,
            "content": {"envelope": true},
            "role": false,
            "status": ["completed"],
            "model": 4,
            "progress_type": {"t": 1},
            "tool_name": true,
            "tool_status": 0,
            "tool_use_id": [],
            "parent_tool_use_id": 9.5,
            "attachment_ids": "att_1",
            "sentiment": "calm",
        }),
    )
    .await;
    let m = client.messages().get("cmsg_1").await.unwrap();
    assert_eq!(m.id, "cmsg_1");
    assert_eq!(m.job_id, "");
    assert_eq!(m.content, r#"{"envelope":true}"#);
    assert_eq!(m.role, MessageRole::Unknown(String::new()));
    assert_eq!(m.status, MessageStatus::Unknown(String::new()));
    assert_eq!(
        (
            &m.model,
            &m.progress_type,
            &m.tool_name,
            &m.tool_status,
            &m.tool_use_id,
            &m.parent_tool_use_id
        ),
        (&None, &None, &None, &None, &None, &None)
    );
    assert_eq!(m.attachment_ids, ["att_1"]);
    assert_eq!(m.extra["sentiment"], "calm");
}

#[tokio::test]
async fn get_still_requires_an_id() {
    for bad in [
        json!({"id": null, "content": "x"}),
        json!({"id": 5}),
        json!({"content": "x"}),
    ] {
        let (server, client) = setup().await;
        mount(&server, "GET", "/messages/cmsg_1", 200, bad.clone()).await;
        let err = client.messages().get("cmsg_1").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{bad}: {err:?}");
    }
}

#[tokio::test]
async fn conversation_page_keeps_good_conversations_around_a_bad_one() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/cci_1/conversations",
        200,
        json!({"conversations": [
            {"id": "job_1", "agent_id": "cci_1", "status": "active"},
            {"id": null, "status": "active"},
            {"id": 3},
            "job_x",
            {"id": "job_2", "agent_id": {"id": "cci_1"}, "status": 4, "created_at": 12},
            {"id": "job_3", "agent_id": "cci_1", "status": "completed",
             "updated_at": "2026-04-12T18:45:12.000Z"},
        ]}),
    )
    .await;
    let page = client
        .agents()
        .conversations()
        .list("cci_1", &Default::default())
        .await
        .unwrap();
    let got: Vec<(&str, Option<&str>, &str)> = page
        .iter()
        .map(|c| (c.id.as_str(), c.agent_id.as_deref(), c.status.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("job_1", Some("cci_1"), "active"),
            ("job_2", None, ""),
            ("job_3", Some("cci_1"), "completed"),
        ]
    );
    assert_eq!(page[1].created_at, None);
    assert_eq!(page[2].updated_at, Some(ts("2026-04-12T18:45:12.000Z")));
}
