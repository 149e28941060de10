//! Connected channels, scheduled jobs, models and integrations against wiremock.

mod common;

use common::*;
use nairi::types::{
    ChannelMode, ChannelType, CreateScheduledJob, ScheduledJobType, UpdateLlmIntegration,
    UpdateScheduledJob,
};
use serde_json::json;

#[tokio::test]
async fn list_channels() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/connected-channels",
        200,
        json!([
            {"id": "cc_01KGFV0WN7G22N8HWYDWFHAYBQ", "channel_type": "slack", "channel_id": "C09M8FRJYTF",
             "channel_name": "eng-alerts", "default_agent_id": "cci_1", "mode": "execute", "created_at": TS},
            {"id": "cc_2", "channel_type": "discord", "channel_id": "1234567890123456789",
             "channel_name": "support", "default_agent_id": null, "mode": "ask"}
        ]),
    )
    .await;
    let list = client.channels().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/connected-channels");
    assert_no_body(&req);
    assert_no_query(&req);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].channel_type, Some(ChannelType::Slack));
    assert_eq!(list[0].channel_id, "C09M8FRJYTF");
    assert_eq!(list[0].channel_name.as_deref(), Some("eng-alerts"));
    assert_eq!(list[0].default_agent_id.as_deref(), Some("cci_1"));
    assert_eq!(list[0].mode, Some(ChannelMode::Execute));
    assert_eq!(list[0].created_at, Some(ts(TS)));
    assert_eq!(list[1].channel_type, Some(ChannelType::Discord));
    assert_eq!(list[1].default_agent_id, None);
    assert_eq!(list[1].mode, Some(ChannelMode::Ask));
}

fn job_json(id: &str) -> serde_json::Value {
    json!({"id": id, "schedule": "0 9 * * *", "timezone": "America/New_York",
           "prompt": "Generate daily status report", "connected_channel_id": "C09M8FRJYTF",
           "job_type": "slack", "is_threaded": true, "is_enabled": true,
           "last_executed_at": "2026-04-12T14:00:00.000Z", "created_at": TS, "updated_at": TS})
}

#[tokio::test]
async fn list_scheduled_jobs() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/scheduled-jobs",
        200,
        json!([job_json("sj_01K7XSRBBM0294N1WBD2M9EVQC"),
               {"id": "sj_2", "schedule": "*/5 * * * *", "timezone": "UTC", "prompt": "p",
                "connected_channel_id": null, "agent_id": "cci_1", "job_type": "app",
                "is_threaded": false, "is_enabled": false}]),
    )
    .await;
    let jobs = client.scheduled_jobs().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/scheduled-jobs");
    assert_no_body(&req);
    assert_eq!(jobs.len(), 2);
    let j = &jobs[0];
    assert_eq!(j.id, "sj_01K7XSRBBM0294N1WBD2M9EVQC");
    assert_eq!(j.schedule, "0 9 * * *");
    assert_eq!(j.timezone, "America/New_York");
    assert_eq!(j.prompt, "Generate daily status report");
    assert_eq!(j.connected_channel_id.as_deref(), Some("C09M8FRJYTF"));
    assert_eq!(j.job_type, Some(ScheduledJobType::Slack));
    assert_eq!(j.is_threaded, Some(true));
    assert_eq!(j.is_enabled, Some(true));
    assert_eq!(j.last_executed_at, Some(ts("2026-04-12T14:00:00.000Z")));
    assert_eq!(jobs[1].job_type, Some(ScheduledJobType::App));
    assert_eq!(jobs[1].agent_id.as_deref(), Some("cci_1"));
    assert_eq!(jobs[1].connected_channel_id, None);
}

#[tokio::test]
async fn create_channel_job() {
    let (server, client) = setup().await;
    mount(&server, "POST", "/scheduled-jobs", 201, job_json("sj_1")).await;
    let body = CreateScheduledJob {
        is_threaded: Some(true),
        ..CreateScheduledJob::in_channel(
            ScheduledJobType::Slack,
            "C09M8FRJYTF",
            "0 9 * * *",
            "America/New_York",
            "Generate daily status report",
        )
    };
    let job = client.scheduled_jobs().create(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/scheduled-jobs");
    assert_json(
        &req,
        json!({"schedule": "0 9 * * *", "timezone": "America/New_York",
               "prompt": "Generate daily status report", "job_type": "slack",
               "connected_channel_id": "C09M8FRJYTF", "is_threaded": true}),
    );
    assert_eq!(job.id, "sj_1");
}

#[tokio::test]
async fn create_app_job() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/scheduled-jobs",
        201,
        json!({"id": "sj_2", "schedule": "*/15 * * * *", "timezone": "UTC",
               "prompt": "Check the queue", "connected_channel_id": null, "agent_id": "acme/web",
               "job_type": "app", "is_threaded": false, "is_enabled": false,
               "last_executed_at": null, "created_at": TS, "updated_at": TS}),
    )
    .await;
    let body = CreateScheduledJob {
        is_enabled: Some(false),
        ..CreateScheduledJob::in_app("acme/web", "*/15 * * * *", "UTC", "Check the queue")
    };
    let job = client.scheduled_jobs().create(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/scheduled-jobs");
    assert_json(
        &req,
        json!({"schedule": "*/15 * * * *", "timezone": "UTC", "prompt": "Check the queue",
               "job_type": "app", "agent_id": "acme/web", "is_enabled": false}),
    );
    assert_eq!(job.id, "sj_2");
    assert_eq!(job.job_type, Some(ScheduledJobType::App));
    assert_eq!(job.agent_id.as_deref(), Some("acme/web"));
    assert_eq!(job.connected_channel_id, None);
    assert_eq!(job.schedule, "*/15 * * * *");
    assert_eq!(job.timezone, "UTC");
    assert_eq!(job.prompt, "Check the queue");
    assert_eq!(job.is_enabled, Some(false));
    assert_eq!(job.is_threaded, Some(false));
    assert_eq!(job.last_executed_at, None);
    assert_eq!(job.created_at, Some(ts(TS)));
}

#[tokio::test]
async fn job_types_newer_than_the_sdk_go_to_the_server() {
    let (server, client) = setup().await;
    let answer = json!({"id": "sj_3", "job_type": "email", "schedule": "0 9 * * 1",
                        "timezone": "UTC", "prompt": "Weekly digest", "is_enabled": true});
    mount(&server, "POST", "/scheduled-jobs", 201, answer.clone()).await;
    mount(&server, "PATCH", "/scheduled-jobs/sj_3", 200, answer).await;
    // The SDK cannot know what a new type needs (no channel, no agent here): the server decides.
    let body = CreateScheduledJob::new(
        "0 9 * * 1",
        "UTC",
        "Weekly digest",
        ScheduledJobType::from("email"),
    );
    let job = client.scheduled_jobs().create(&body).await.unwrap();
    assert_eq!(job.id, "sj_3");
    assert_eq!(job.job_type, Some(ScheduledJobType::from("email")));
    let update = UpdateScheduledJob {
        job_type: Some(ScheduledJobType::from("email")),
        ..Default::default()
    };
    let job = client
        .scheduled_jobs()
        .update("sj_3", &update)
        .await
        .unwrap();
    assert_eq!(job.schedule, "0 9 * * 1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_route(&reqs[0], "POST", "/scheduled-jobs");
    assert_json(
        &reqs[0],
        json!({"schedule": "0 9 * * 1", "timezone": "UTC", "prompt": "Weekly digest",
               "job_type": "email"}),
    );
    assert_route(&reqs[1], "PATCH", "/scheduled-jobs/sj_3");
    assert_json(&reqs[1], json!({"job_type": "email"}));
}

#[tokio::test]
async fn get_scheduled_job() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/scheduled-jobs/sj_1",
        200,
        job_json("sj_1"),
    )
    .await;
    let job = client.scheduled_jobs().get("sj_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/scheduled-jobs/sj_1");
    assert_no_body(&req);
    assert_eq!(job.id, "sj_1");
}

#[tokio::test]
async fn update_scheduled_job() {
    let (server, client) = setup().await;
    let mut answer = job_json("sj_1");
    answer["prompt"] = json!("New prompt");
    mount(&server, "PATCH", "/scheduled-jobs/sj_1", 200, answer).await;
    let body = UpdateScheduledJob {
        is_enabled: Some(true),
        prompt: Some("New prompt".into()),
        ..Default::default()
    };
    let job = client.scheduled_jobs().update("sj_1", &body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PATCH", "/scheduled-jobs/sj_1");
    assert_json(&req, json!({"prompt": "New prompt", "is_enabled": true}));
    assert_eq!(job.id, "sj_1");
    assert_eq!(job.prompt, "New prompt");
    assert_eq!(job.is_enabled, Some(true));
    assert_eq!(job.schedule, "0 9 * * *");
    assert_eq!(job.job_type, Some(ScheduledJobType::Slack));
    assert_eq!(job.connected_channel_id.as_deref(), Some("C09M8FRJYTF"));
    assert_eq!(job.last_executed_at, Some(ts("2026-04-12T14:00:00.000Z")));
    assert_eq!(job.updated_at, Some(ts(TS)));
}

#[tokio::test]
async fn delete_scheduled_job() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/scheduled-jobs/sj_1").await;
    client.scheduled_jobs().delete("sj_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/scheduled-jobs/sj_1");
    assert_no_body(&req);
}

#[tokio::test]
async fn scheduled_job_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let jobs = client.scheduled_jobs();
    let err = jobs
        .update("sj_1", &UpdateScheduledJob::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), nairi::ErrorKind::Validation);
    assert!(err.to_string().contains("no fields to update"), "{err}");
    let cases: Vec<(CreateScheduledJob, &str)> = vec![
        (
            CreateScheduledJob::in_app("a", "0 9 * *", "UTC", "p"),
            "schedule",
        ),
        (CreateScheduledJob::in_app("a", "", "UTC", "p"), "schedule"),
        (
            CreateScheduledJob::in_app("a", "0 9 * * *", "", "p"),
            "timezone",
        ),
        (
            CreateScheduledJob::in_app("a", "0 9 * * *", "UTC", "  "),
            "prompt",
        ),
        (
            CreateScheduledJob::new("0 9 * * *", "UTC", "p", ScheduledJobType::App),
            "agent_id",
        ),
        (
            CreateScheduledJob::new("0 9 * * *", "UTC", "p", ScheduledJobType::Discord),
            "connected_channel_id",
        ),
        (
            CreateScheduledJob::in_channel(
                ScheduledJobType::Slack,
                "cc_01KGFV0WN7G22N8HWYDWFHAYBQ",
                "0 9 * * *",
                "UTC",
                "p",
            ),
            "connected_channel_id",
        ),
        (
            CreateScheduledJob::new("0 9 * * *", "UTC", "p", ScheduledJobType::from("")),
            "job_type",
        ),
    ];
    for (body, field) in cases {
        assert_validation(jobs.create(&body).await, field);
    }
    let updates: Vec<(UpdateScheduledJob, &str)> = vec![
        (
            UpdateScheduledJob {
                schedule: Some("hourly".into()),
                ..Default::default()
            },
            "schedule",
        ),
        (
            UpdateScheduledJob {
                timezone: Some("New York".into()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            UpdateScheduledJob {
                prompt: Some("".into()),
                ..Default::default()
            },
            "prompt",
        ),
        (
            UpdateScheduledJob {
                job_type: Some(ScheduledJobType::from(" ")),
                ..Default::default()
            },
            "job_type",
        ),
        (
            UpdateScheduledJob {
                connected_channel_id: Some("cc_1".into()),
                ..Default::default()
            },
            "connected_channel_id",
        ),
        (
            UpdateScheduledJob {
                agent_id: Some(" ".into()),
                ..Default::default()
            },
            "agent_id",
        ),
    ];
    for (body, field) in updates {
        assert_validation(jobs.update("sj_1", &body).await, field);
    }
    let enable = UpdateScheduledJob {
        is_enabled: Some(true),
        ..Default::default()
    };
    assert_validation(jobs.update("", &enable).await, "job_id");
    assert_validation(jobs.get("..").await, "job_id");
    assert_validation(jobs.delete("").await, "job_id");
}

#[tokio::test]
async fn server_no_fields_to_update_maps_to_bad_request() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PATCH",
        "/scheduled-jobs/sj_1",
        400,
        json!({"error": "no fields to update"}),
    )
    .await;
    let body = UpdateScheduledJob {
        is_threaded: Some(false),
        ..Default::default()
    };
    let err = client
        .scheduled_jobs()
        .update("sj_1", &body)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), nairi::ErrorKind::BadRequest);
    assert_eq!(err.as_api().unwrap().message, "no fields to update");
}

fn models_json() -> serde_json::Value {
    json!([
        {"id": "opus-4.5", "display_name": "Claude Opus 4.5", "input_price": 5.0, "output_price": 25.0, "is_free": false},
        {"id": "free-model", "display_name": "Free", "input_price": null, "output_price": null, "is_free": true, "provider": "opencode"}
    ])
}

#[tokio::test]
async fn list_models() {
    let (server, client) = setup().await;
    mount(&server, "GET", "/models", 200, models_json()).await;
    let models = client.models().list(None).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/models");
    assert_no_query(&req);
    assert_no_body(&req);
    assert_eq!(models.len(), 2);
    assert_eq!(models[0].id, "opus-4.5");
    assert_eq!(models[0].display_name.as_deref(), Some("Claude Opus 4.5"));
    assert_eq!(models[0].input_price, Some(5.0));
    assert_eq!(models[0].output_price, Some(25.0));
    assert_eq!(models[0].is_free, Some(false));
    assert_eq!(models[1].input_price, None);
    assert_eq!(models[1].provider.as_deref(), Some("opencode"));
}

#[tokio::test]
async fn list_models_for_a_provider() {
    let (server, client) = setup().await;
    mount(&server, "GET", "/models", 200, json!([])).await;
    assert!(
        client
            .models()
            .list(Some("anthropic"))
            .await
            .unwrap()
            .is_empty()
    );
    let req = only_request_with_query(&server).await;
    assert_eq!(
        query(&req),
        vec![("provider".to_owned(), "anthropic".to_owned())]
    );
}

#[tokio::test]
async fn model_provider_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    assert_validation(client.models().list(Some(" ")).await, "provider");
}

#[tokio::test]
async fn list_llm_integrations() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/integrations/llm",
        200,
        json!([{"id": "ai_01KJTC8VXB6YJHHV8ZRHQZ4A8G", "name": "Anthropic", "provider": "anthropic", "created_at": TS, "updated_at": TS}]),
    )
    .await;
    let list = client.integrations().list_llm().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/integrations/llm");
    assert_no_body(&req);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, "ai_01KJTC8VXB6YJHHV8ZRHQZ4A8G");
    assert_eq!(list[0].name, "Anthropic");
    assert_eq!(list[0].provider.as_deref(), Some("anthropic"));
    assert_eq!(list[0].updated_at, Some(ts(TS)));
}

#[tokio::test]
async fn rename_llm_integration() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PATCH",
        "/integrations/llm/ai_1",
        200,
        json!({"id": "ai_1", "name": "Staging Anthropic", "provider": "anthropic"}),
    )
    .await;
    let i = client
        .integrations()
        .update_llm("ai_1", &UpdateLlmIntegration::new("Staging Anthropic"))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PATCH", "/integrations/llm/ai_1");
    assert_json(&req, json!({"name": "Staging Anthropic"}));
    assert_eq!(i.name, "Staging Anthropic");
}

#[tokio::test]
async fn integration_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let int = client.integrations();
    assert_validation(
        int.update_llm("ai_1", &UpdateLlmIntegration::new(" "))
            .await,
        "name",
    );
    assert_validation(
        int.update_llm("", &UpdateLlmIntegration::new("n")).await,
        "integration_id",
    );
}

#[tokio::test]
async fn list_github_repos() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/integrations/github-repos",
        200,
        json!([{"id": "01KJTC8VXB6YJHHV8ZRHQZ4A8G", "full_name": "acme/backend", "installation_id": "4242", "created_at": TS},
               {"id": "01KJTC8VXB6YJHHV8ZRHQZ4A8H", "full_name": "acme/web", "installation_id": 77}]),
    )
    .await;
    let repos = client.integrations().list_github_repos().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/integrations/github-repos");
    assert_no_body(&req);
    assert_eq!(repos.len(), 2);
    assert_eq!(repos[0].full_name.as_deref(), Some("acme/backend"));
    assert_eq!(repos[0].installation_id.as_deref(), Some("4242"));
    assert_eq!(repos[1].installation_id.as_deref(), Some("77"));
}
