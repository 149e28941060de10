//! Every operation end to end against the in-process emulator (no mocks).

mod common;

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use futures::TryStreamExt;
use nairi::types::{
    AssignResource, ChannelType, ContinueConversation, CreateAgent, CreateEnvVar, CreateMcpConfig,
    CreateScheduledJob, CreateSecret, CreateVault, DeployAgent, EntityType, FileUpload, JobStatus,
    ListConversations, Message, MessageRole, MessageStatus, ReplaceMcpConfig, RuleInput,
    ScheduledJobType, StartConversation, UpdateAgent, UpdateEnvVar, UpdateLlmIntegration,
    UpdateScheduledJob, UpdateSecret, UpdateVault,
};
use nairi::{Client, ErrorKind};
use nairi_emulator::{AgentSeed, Emulator, Fault, OutboundAttachment, ScriptedTurn, Timings};

async fn emulator() -> (Emulator, Client) {
    let emu = Emulator::builder()
        .timings(Timings::fast())
        .start()
        .await
        .expect("emulator starts");
    let client = nairi::ClientBuilder::without_env()
        .api_key(emu.api_key())
        .base_url(emu.base_url())
        .retry_policy(common::fast_policy(2))
        .build()
        .expect("client");
    (emu, client)
}

fn kind<T: std::fmt::Debug>(r: nairi::Result<T>) -> ErrorKind {
    r.expect_err("expected an error").kind()
}

const MCP: &str = r#"{"mcpServers":{"fs":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem"]}}}"#;

/// A skill archive with `SKILL.md` inside one top-level folder.
fn skill_zip(name: &str, description: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file(format!("{name}/SKILL.md"), opts).unwrap();
    write!(
        zip,
        "---\nname: {name}\ndescription: {description}\n---\n# {name}\nUse it well.\n"
    )
    .unwrap();
    zip.start_file(format!("{name}/scripts/run.sh"), opts)
        .unwrap();
    zip.write_all(b"#!/bin/sh\necho hi\n").unwrap();
    zip.finish().unwrap().into_inner()
}

/// Polls a user message until it is `completed` or `failed`.
async fn wait_terminal(client: &Client, message_id: &str) -> Message {
    for _ in 0..1000 {
        let m = client.messages().get(message_id).await.unwrap();
        if m.status.is_terminal() {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("message {message_id} never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_resources_env_vars_and_deploy() {
    let (emu, client) = emulator().await;
    let agents = client.agents();

    let mut create = CreateAgent::new("Support Bot");
    create.instances_count = Some(2);
    let agent = agents.create(&create).await.unwrap();
    assert!(agent.id.starts_with("cci_"), "{}", agent.id);
    assert_eq!(agent.agent_id, "support-bot");
    assert_eq!(agent.instances_count, Some(2));
    assert!(
        agents
            .list()
            .await
            .unwrap()
            .iter()
            .any(|a| a.id == agent.id)
    );
    assert_eq!(agents.get("support-bot").await.unwrap().id, agent.id);
    assert_eq!(agents.get(&agent.id).await.unwrap().agent_id, "support-bot");

    let updated = agents
        .update(
            "support-bot",
            &UpdateAgent {
                description: Some("Handles refunds".into()),
                system_prompt: Some(Some("Be brief.".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("Handles refunds"));
    assert_eq!(updated.system_prompt.as_deref(), Some("Be brief."));
    let cleared = agents
        .update(
            "support-bot",
            &UpdateAgent {
                system_prompt: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.system_prompt, None);

    // A slug with a slash travels encoded and still routes.
    emu.create_agent(
        emu.api_key(),
        AgentSeed {
            name: "Web".into(),
            slug: Some("acme/web".into()),
            deployed: false,
            instances_count: None,
        },
    )
    .unwrap();
    assert_eq!(agents.get("acme/web").await.unwrap().agent_id, "acme/web");

    // Env vars.
    let env = agents.env_vars();
    let var = env
        .create(
            "acme/web",
            &CreateEnvVar {
                extra: Default::default(),
                key: "STAGE".into(),
                value: "prod".into(),
            },
        )
        .await
        .unwrap();
    assert!(var.id.starts_with("cev_"));
    let dup = env
        .create(
            "acme/web",
            &CreateEnvVar {
                extra: Default::default(),
                key: "STAGE".into(),
                value: "x".into(),
            },
        )
        .await;
    assert_eq!(kind(dup), ErrorKind::BadRequest);
    let var = env
        .update(
            "acme/web",
            &var.id,
            &UpdateEnvVar {
                extra: Default::default(),
                key: None,
                value: Some("staging".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(var.value.as_deref(), Some("staging"));
    let list = env.list("acme/web").await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].key, "STAGE");
    env.delete("acme/web", &var.id).await.unwrap();
    assert!(env.list("acme/web").await.unwrap().is_empty());
    assert_eq!(
        kind(env.delete("acme/web", &var.id).await),
        ErrorKind::NotFound
    );

    // Resources: every entity type, from the seeded catalogue and fresh artifacts.
    let rule = client
        .rules()
        .create(&RuleInput::new("Style", "Formatting", "Use 2 spaces"))
        .await
        .unwrap();
    let mcp = client
        .mcp_configs()
        .create(&CreateMcpConfig::new("FS", "files", MCP))
        .await
        .unwrap();
    let skill = client
        .skills()
        .create(FileUpload::new(
            "refunds.zip",
            "application/zip",
            skill_zip("refunds", "Refund charges"),
        ))
        .await
        .unwrap();
    let vault = client
        .vaults()
        .create(&CreateVault::new("Prod"))
        .await
        .unwrap();
    let model = client.models().list(None).await.unwrap().remove(0);
    let llm = client.integrations().list_llm().await.unwrap().remove(0);
    let repo = client
        .integrations()
        .list_github_repos()
        .await
        .unwrap()
        .remove(0);
    let res = agents.resources();
    let pairs = [
        (EntityType::Rule, rule.id.clone()),
        (EntityType::McpConfig, mcp.id.clone()),
        (EntityType::Skill, skill.id.clone()),
        (EntityType::Vault, vault.id.clone()),
        (EntityType::LlmModel, model.id.clone()),
        (EntityType::AnthropicIntegration, llm.id.clone()),
        (EntityType::GithubRepository, repo.id.clone()),
    ];
    let mut assigned = Vec::new();
    for (t, id) in &pairs {
        let r = res
            .assign("acme/web", &AssignResource::new(t.clone(), id.clone()))
            .await
            .unwrap();
        assert!(r.id.starts_with("ccr_"));
        assert_eq!(r.entity_type.as_ref(), Some(t));
        assert_eq!(r.entity_id.as_deref(), Some(id.as_str()));
        assigned.push(r.id);
    }
    assert_eq!(res.list("acme/web").await.unwrap().len(), 7);
    let unknown_rule = AssignResource::new(EntityType::Rule, "aar_01KJWRKX0ZNZP91YG3Q353776Q");
    assert_eq!(
        kind(res.assign("acme/web", &unknown_rule).await),
        ErrorKind::NotFound
    );

    // Deleting attached artifacts is refused with the documented messages.
    let err = client.rules().delete(&rule.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(
        err.as_api().unwrap().message,
        "cannot delete rule: still assigned to 1 agent(s)"
    );
    let err = client.mcp_configs().delete(&mcp.id).await.unwrap_err();
    assert_eq!(
        err.as_api().unwrap().message,
        "cannot delete MCP config: still assigned to 1 agent(s)"
    );
    let err = client.vaults().delete(&vault.id).await.unwrap_err();
    assert_eq!(
        err.as_api().unwrap().message,
        "cannot delete vault: still assigned to 1 agent(s)"
    );
    assert_eq!(
        kind(client.skills().delete(&skill.id).await),
        ErrorKind::BadRequest
    );

    for id in &assigned {
        res.unassign("acme/web", id).await.unwrap();
    }
    assert!(res.list("acme/web").await.unwrap().is_empty());
    assert_eq!(
        kind(res.unassign("acme/web", &assigned[0]).await),
        ErrorKind::NotFound
    );

    // Deploy.
    let status = agents
        .deploy("acme/web", &DeployAgent::default())
        .await
        .unwrap();
    assert!(!status.status.is_empty());
    let status = agents
        .deploy(
            "acme/web",
            &DeployAgent {
                extra: Default::default(),
                update_config_only: Some(true),
            },
        )
        .await
        .unwrap();
    assert!(!status.status.is_empty());

    // Delete; the agent is gone afterwards.
    agents.delete("support-bot").await.unwrap();
    assert_eq!(kind(agents.get("support-bot").await), ErrorKind::NotFound);
    assert_eq!(
        kind(agents.delete("support-bot").await),
        ErrorKind::NotFound
    );

    // The wire carried the SDK's headers.
    let log = emu.requests();
    assert!(!log.is_empty());
    for r in &log {
        let ua = r
            .headers
            .get("user-agent")
            .map(String::as_str)
            .unwrap_or("");
        assert!(ua.starts_with("nairi-rust/"), "{ua}");
        if r.method == "POST" && r.path.ends_with("/env-vars") {
            assert_eq!(
                r.headers.get("content-type").map(String::as_str),
                Some("application/json")
            );
        }
    }
    assert!(
        log.iter()
            .any(|r| r.path == "/api/public/v1/agents/acme%2Fweb/resources")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_mcp_configs_and_skills() {
    let (_emu, client) = emulator().await;

    let rules = client.rules();
    let rule = rules
        .create(&RuleInput::new("Style", "Formatting", "Use 2 spaces"))
        .await
        .unwrap();
    assert!(rule.id.starts_with("aar_"));
    assert!(rule.created_at.is_some());
    assert_eq!(rules.list().await.unwrap().len(), 1);
    let got = rules.get(&rule.id).await.unwrap();
    assert_eq!(
        (got.title.as_str(), got.content.as_str()),
        ("Style", "Use 2 spaces")
    );
    let replaced = rules
        .replace(&rule.id, &RuleInput::new("Style v2", "", "Use tabs"))
        .await
        .unwrap();
    assert_eq!(replaced.title, "Style v2");
    assert_eq!(rules.get(&rule.id).await.unwrap().content, "Use tabs");
    rules.delete(&rule.id).await.unwrap();
    let err = rules.get(&rule.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.as_api().unwrap().message, "rule not found");
    assert_eq!(kind(rules.get("not-an-id").await), ErrorKind::BadRequest);

    let mcp = client.mcp_configs();
    let open = mcp
        .create(&CreateMcpConfig::new("FS", "files", MCP))
        .await
        .unwrap();
    assert_eq!(open.content.as_deref(), Some(MCP));
    assert_eq!(open.is_sensitive, Some(false));
    let mut secret_body = CreateMcpConfig::new("Secret", "tokens", MCP);
    secret_body.is_sensitive = Some(true);
    let hidden = mcp.create(&secret_body).await.unwrap();
    assert_eq!(hidden.content, None);
    assert_eq!(mcp.get(&hidden.id).await.unwrap().content, None);
    let listed = mcp.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    let kept = mcp
        .replace(&open.id, &ReplaceMcpConfig::new("FS v2", "more"))
        .await
        .unwrap();
    assert_eq!(kept.title, "FS v2");
    assert_eq!(
        kept.content.as_deref(),
        Some(MCP),
        "content kept on a metadata-only PUT"
    );
    let other = r#"{"mcpServers":{"git":{"command":"git-mcp"}}}"#;
    let changed = mcp
        .replace(
            &open.id,
            &ReplaceMcpConfig {
                content: Some(other.into()),
                ..ReplaceMcpConfig::new("FS", "d")
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.content.as_deref(), Some(other));
    mcp.delete(&open.id).await.unwrap();
    mcp.delete(&hidden.id).await.unwrap();
    let err = mcp.get(&open.id).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().message, "MCP config not found");

    let skills = client.skills();
    let skill = skills
        .create(FileUpload::new(
            "pdf-tools.zip",
            "application/zip",
            skill_zip("pdf-tools", "Work with PDFs"),
        ))
        .await
        .unwrap();
    assert!(skill.id.starts_with("ask_"));
    assert_eq!(skill.name, "pdf-tools");
    assert_eq!(skill.description, "Work with PDFs");
    assert_eq!(skills.list().await.unwrap().len(), 1);
    assert_eq!(skills.get(&skill.id).await.unwrap().name, "pdf-tools");
    let dup = skills
        .create(FileUpload::new(
            "again.skill",
            "application/zip",
            skill_zip("pdf-tools", "Same name"),
        ))
        .await;
    assert_eq!(kind(dup), ErrorKind::BadRequest);
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("pdf-tools-v2.skill");
    std::fs::write(&v2, skill_zip("pdf-tools", "Work with PDFs, v2")).unwrap();
    let replaced = skills.replace_file(&skill.id, &v2).await.unwrap();
    assert_eq!(replaced.description, "Work with PDFs, v2");
    let v3 = dir.path().join("other.zip");
    std::fs::write(&v3, skill_zip("other-skill", "Another")).unwrap();
    let other = skills.create_file(&v3).await.unwrap();
    assert_eq!(other.name, "other-skill");
    let not_zip = skills
        .create(FileUpload::new(
            "bad.zip",
            "application/zip",
            &b"not a zip"[..],
        ))
        .await;
    assert_eq!(kind(not_zip), ErrorKind::BadRequest);
    skills.delete(&skill.id).await.unwrap();
    skills.delete(&other.id).await.unwrap();
    assert!(skills.list().await.unwrap().is_empty());
    assert_eq!(kind(skills.get(&skill.id).await), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaults_and_secrets() {
    let (emu, client) = emulator().await;
    let vaults = client.vaults();
    let vault = vaults
        .create(&CreateVault {
            description: Some("prod".into()),
            ..CreateVault::new("Production")
        })
        .await
        .unwrap();
    assert!(vault.id.starts_with("vlt_"));
    assert_eq!(vault.secrets_count, Some(0));
    let renamed = vaults
        .update(
            &vault.id,
            &UpdateVault {
                name: Some("Prod".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Prod");
    let same = vaults
        .update(&vault.id, &UpdateVault::default())
        .await
        .unwrap();
    assert_eq!(same.updated_at, renamed.updated_at, "{{}} is a no-op");

    let secrets = vaults.secrets();
    let body = CreateSecret {
        allowed_domains: Some(vec!["*.example.com".into()]),
        ..CreateSecret::new("DATABASE_URL", "postgres://u:hunter2@db")
    };
    let secret = secrets.create(&vault.id, &body).await.unwrap();
    assert!(secret.id.starts_with("sec_"));
    assert_eq!(secret.env_key, "DATABASE_URL");
    assert_eq!(secret.allowed_domains, ["*.example.com"]);
    assert!(!format!("{secret:?}").contains("hunter2"));
    assert!(
        !serde_json::to_string(&secret).unwrap().contains("hunter2"),
        "never echoed"
    );
    assert_eq!(vaults.get(&vault.id).await.unwrap().secrets_count, Some(1));
    assert_eq!(vaults.list().await.unwrap()[0].secrets_count, Some(1));
    let listed = secrets.list(&vault.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    let rotated = secrets
        .update(
            &vault.id,
            &secret.id,
            &UpdateSecret {
                extra: Default::default(),
                value: Some("new".into()),
                allowed_domains: Some(vec![]),
            },
        )
        .await
        .unwrap();
    assert!(rotated.allowed_domains.is_empty());

    let err = vaults.delete(&vault.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(
        err.as_api().unwrap().message,
        "cannot delete vault: vault still contains 1 secret(s)"
    );
    secrets.delete(&vault.id, &secret.id).await.unwrap();
    assert_eq!(
        kind(secrets.delete(&vault.id, &secret.id).await),
        ErrorKind::NotFound
    );
    vaults.delete(&vault.id).await.unwrap();
    let err = vaults.get(&vault.id).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().message, "vault not found");

    // Another organisation sees none of this organisation's vaults.
    let mine = vaults.create(&CreateVault::new("Mine")).await.unwrap();
    let other = nairi::ClientBuilder::without_env()
        .api_key(emu.new_org())
        .base_url(emu.base_url())
        .build()
        .unwrap();
    assert!(other.vaults().list().await.unwrap().is_empty());
    assert_eq!(
        kind(other.vaults().get(&mine.id).await),
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_scheduled_jobs_models_and_integrations() {
    let (emu, client) = emulator().await;

    let channels = client.channels().list().await.unwrap();
    let slack = channels
        .iter()
        .find(|c| c.channel_type == Some(ChannelType::Slack))
        .expect("a seeded Slack channel");
    assert!(
        channels
            .iter()
            .any(|c| c.channel_type == Some(ChannelType::Discord))
    );

    let jobs = client.scheduled_jobs();
    let body = CreateScheduledJob {
        is_threaded: Some(true),
        ..CreateScheduledJob::in_channel(
            ScheduledJobType::Slack,
            slack.channel_id.clone(),
            "0 9 * * *",
            "America/New_York",
            "Daily report",
        )
    };
    let job = jobs.create(&body).await.unwrap();
    assert!(job.id.starts_with("sj_"));
    assert_eq!(
        job.connected_channel_id.as_deref(),
        Some(slack.channel_id.as_str())
    );
    assert_eq!(job.is_threaded, Some(true));
    assert_eq!(job.is_enabled, Some(true));
    assert!(job.last_executed_at.is_some());

    emu.create_agent(
        emu.api_key(),
        AgentSeed {
            name: "Ops".into(),
            slug: Some("acme/ops".into()),
            deployed: true,
            instances_count: None,
        },
    )
    .unwrap();
    let app = jobs
        .create(&CreateScheduledJob::in_app(
            "acme/ops",
            "*/30 * * * *",
            "UTC",
            "Check the queue",
        ))
        .await
        .unwrap();
    assert_eq!(app.job_type, Some(ScheduledJobType::App));
    assert!(app.agent_id.as_deref().is_some_and(|a| !a.is_empty()));
    assert_eq!(jobs.list().await.unwrap().len(), 2);
    assert_eq!(jobs.get(&job.id).await.unwrap().prompt, "Daily report");
    let disabled = jobs
        .update(
            &job.id,
            &UpdateScheduledJob {
                is_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(disabled.is_enabled, Some(false));
    // Refused client-side, so the server's `no fields to update` is never needed.
    let before = emu.requests().len();
    assert_eq!(
        kind(jobs.update(&job.id, &UpdateScheduledJob::default()).await),
        ErrorKind::Validation
    );
    assert_eq!(emu.requests().len(), before, "nothing sent");
    // The server's own checks still surface as 400s.
    let bad_tz = CreateScheduledJob::in_app("acme/ops", "0 9 * * *", "Mars/Olympus", "p");
    assert_eq!(kind(jobs.create(&bad_tz).await), ErrorKind::BadRequest);
    let too_often = CreateScheduledJob::in_app("acme/ops", "* * * * *", "UTC", "p");
    assert_eq!(kind(jobs.create(&too_often).await), ErrorKind::BadRequest);
    let err = jobs
        .create(&CreateScheduledJob::in_channel(
            ScheduledJobType::Slack,
            "C000NOPE",
            "0 9 * * *",
            "UTC",
            "p",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.as_api()
            .unwrap()
            .message
            .contains("not found in organization"),
        "{err}"
    );
    jobs.delete(&job.id).await.unwrap();
    jobs.delete(&app.id).await.unwrap();
    assert_eq!(kind(jobs.get(&job.id).await), ErrorKind::NotFound);

    let all = client.models().list(None).await.unwrap();
    assert!(all.len() >= 2);
    assert!(
        all.iter()
            .all(|m| !m.id.is_empty() && m.display_name.is_some())
    );
    let anthropic = client.models().list(Some("anthropic")).await.unwrap();
    assert!(!anthropic.is_empty() && anthropic.len() < all.len());
    assert!(
        anthropic
            .iter()
            .all(|m| m.provider.as_deref() == Some("anthropic"))
    );

    let llm = client.integrations().list_llm().await.unwrap();
    assert_eq!(llm.len(), 1);
    let renamed = client
        .integrations()
        .update_llm(&llm[0].id, &UpdateLlmIntegration::new("Staging Anthropic"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Staging Anthropic");
    assert_eq!(
        client.integrations().list_llm().await.unwrap()[0].name,
        "Staging Anthropic"
    );
    let repos = client.integrations().list_github_repos().await.unwrap();
    assert_eq!(repos.len(), 1);
    assert_eq!(repos[0].full_name.as_deref(), Some("acme/web"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_round_trip_and_safe_saving() {
    let (emu, client) = emulator().await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let up = client
        .attachments()
        .upload(FileUpload::new(
            "data.bin",
            "application/octet-stream",
            data.clone(),
        ))
        .await
        .unwrap();
    assert!(up.attachment_id.starts_with("att_"));
    let got = client.attachments().get(&up.attachment_id).await.unwrap();
    assert_eq!(got.filename.as_deref(), Some("data.bin"));
    assert_eq!(
        got.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(got.size_bytes, Some(data.len() as i64));
    assert_eq!(&got.data[..], &data[..]);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    std::fs::write(&file, "# hello\n").unwrap();
    let up2 = client.attachments().upload_file(&file).await.unwrap();
    let got2 = client.attachments().get(&up2.attachment_id).await.unwrap();
    assert_eq!(got2.filename.as_deref(), Some("notes.md"));
    assert_eq!(got2.content_type.as_deref(), Some("text/markdown"));
    assert_eq!(&got2.data[..], b"# hello\n");

    let up3 = client
        .attachments()
        .upload(FileUpload::new(
            "résumé 2026.pdf",
            "application/pdf",
            &b"%PDF-1.7"[..],
        ))
        .await
        .unwrap();
    let got3 = client.attachments().get(&up3.attachment_id).await.unwrap();
    assert_eq!(got3.filename.as_deref(), Some("résumé 2026.pdf"));
    assert_eq!(got3.safe_filename(), "r_sum__2026.pdf");

    // An agent-produced file with a hostile name is saved inside the target directory.
    emu.create_agent(
        emu.api_key(),
        AgentSeed {
            name: "Files".into(),
            slug: Some("files".into()),
            deployed: true,
            instances_count: None,
        },
    )
    .unwrap();
    emu.script(
        emu.api_key(),
        "files",
        vec![ScriptedTurn {
            reply: Some("Here you go".into()),
            attachments: vec![OutboundAttachment {
                filename: "../../evil report.sh".into(),
                content_type: Some("text/plain".into()),
                data_base64: base64::engine::general_purpose::STANDARD.encode("echo pwned"),
            }],
            ..Default::default()
        }],
    )
    .unwrap();
    let mut start = StartConversation::new("files", "Make me a file");
    start.attachment_ids = vec![up.attachment_id.clone(), up2.attachment_id.clone()];
    let handle = client.conversations().start(&start).await.unwrap();
    assert_eq!(
        wait_terminal(&client, &handle.message_id).await.status,
        MessageStatus::Completed
    );
    let messages = client.messages().list(&handle.job_id).await.unwrap();
    let user = messages.iter().find(|m| m.id == handle.message_id).unwrap();
    assert_eq!(user.attachment_ids, start.attachment_ids);
    let reply = messages
        .iter()
        .find(|m| m.role == MessageRole::Assistant)
        .unwrap();
    assert_eq!(reply.content, "Here you go");
    assert_eq!(reply.attachment_ids.len(), 1);
    let out = client
        .attachments()
        .get(&reply.attachment_ids[0])
        .await
        .unwrap();
    let saved_dir = dir.path().join("out");
    std::fs::create_dir(&saved_dir).unwrap();
    let saved = out.save_to_dir(&saved_dir).await.unwrap();
    assert_eq!(saved, saved_dir.join("evil_report.sh"));
    assert_eq!(std::fs::read(&saved).unwrap(), b"echo pwned");

    assert_eq!(
        kind(
            client
                .attachments()
                .get("att_01KS0000000000000000000000")
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(client.attachments().get("nope").await),
        ErrorKind::BadRequest
    );
    let mut bad = StartConversation::new("files", "x");
    bad.attachment_ids = vec!["att_01KS0000000000000000000000".into()];
    assert_eq!(
        kind(client.conversations().start(&bad).await),
        ErrorKind::BadRequest
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_messages_and_the_list_stream() {
    let (emu, client) = emulator().await;
    let key = emu.api_key().to_owned();
    emu.create_agent(
        &key,
        AgentSeed {
            name: "Web".into(),
            slug: Some("acme/web".into()),
            deployed: true,
            instances_count: Some(2),
        },
    )
    .unwrap();
    emu.script(
        &key,
        "acme/web",
        vec![ScriptedTurn {
            reply: Some("Refunded.".into()),
            ..Default::default()
        }],
    )
    .unwrap();

    let mut body =
        StartConversation::new("acme/web", "Refund the failed charge for customer cus_123.");
    body.ask_mode = Some(false);
    let handle = client.conversations().start(&body).await.unwrap();
    assert!(handle.job_id.starts_with("job_"), "{}", handle.job_id);
    assert!(handle.message_id.starts_with("cmsg_"));
    let user = wait_terminal(&client, &handle.message_id).await;
    assert_eq!(user.status, MessageStatus::Completed);
    assert_eq!(user.role, MessageRole::User);
    assert_eq!(user.job_id, handle.job_id);
    let thread = client.messages().list(&handle.job_id).await.unwrap();
    assert_eq!(thread[0].id, handle.message_id);
    let reply = thread
        .iter()
        .find(|m| m.role == MessageRole::Assistant)
        .unwrap();
    assert_eq!(reply.content, "Refunded.");
    assert_eq!(reply.status, MessageStatus::Completed);
    assert!(
        reply.model.is_some() && reply.cost_usd.is_some(),
        "default usage is reported"
    );
    assert!(
        thread
            .iter()
            .any(|m| m.role == MessageRole::Progress && m.progress_type.is_some())
    );

    let next = client
        .conversations()
        .follow_up(&handle.job_id, &ContinueConversation::new("and email them"))
        .await
        .unwrap();
    assert_eq!(next.job_id, handle.job_id);
    assert_ne!(next.message_id, handle.message_id);
    assert_eq!(
        wait_terminal(&client, &next.message_id).await.status,
        MessageStatus::Completed
    );
    let thread = client.messages().list(&handle.job_id).await.unwrap();
    let replies: Vec<_> = thread
        .iter()
        .filter(|m| m.role == MessageRole::Assistant)
        .collect();
    assert_eq!(replies.len(), 2);
    assert!(
        replies[1].content.contains("and email them"),
        "{}",
        replies[1].content
    );

    // A failing turn: the user message fails and the job goes to `error`.
    emu.script(
        &key,
        "acme/web",
        vec![ScriptedTurn {
            fail: Some(nairi_emulator::FailSpec {
                detail: Some("model error: overloaded".into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
    )
    .unwrap();
    let failed = client
        .conversations()
        .start(&StartConversation::new("acme/web", "this will fail"))
        .await
        .unwrap();
    assert_eq!(
        wait_terminal(&client, &failed.message_id).await.status,
        MessageStatus::Failed
    );
    let sys = client.messages().list(&failed.job_id).await.unwrap();
    assert!(sys.iter().any(|m| {
        m.role == MessageRole::System
            && m.content
                .contains("encountered error: model error: overloaded")
    }));

    // One page, a status filter, then the stream over pages of one.
    let convs = client.agents().conversations();
    let all = convs
        .list("acme/web", &ListConversations::default())
        .await
        .unwrap();
    assert_eq!(
        all.len(),
        2,
        "the conversation started above and the failed one: {all:?}"
    );
    let errored = convs
        .list(
            "acme/web",
            &ListConversations {
                status: vec![JobStatus::Error],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(errored.len(), 1);
    assert_eq!(errored[0].id, failed.job_id);
    let third = client
        .conversations()
        .start(&StartConversation::new("acme/web", "third"))
        .await
        .unwrap();
    wait_terminal(&client, &third.message_id).await;
    emu.clear_requests();
    let streamed: Vec<_> = convs
        .list_all(
            "acme/web",
            ListConversations {
                limit: Some(1),
                sort: Some(nairi::types::ConversationSort::CreatedAtAsc),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = streamed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            handle.job_id.as_str(),
            failed.job_id.as_str(),
            third.job_id.as_str()
        ]
    );
    assert_eq!(
        emu.requests().len(),
        4,
        "three full pages of one, then an empty page"
    );

    // Errors from the server map to their kinds.
    assert_eq!(
        kind(
            client
                .conversations()
                .start(&StartConversation::new("nobody", "hi"))
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            client
                .conversations()
                .follow_up(
                    "job_01KRK1V46BXS73CSNK2VR35NPJ",
                    &ContinueConversation::new("hi")
                )
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(client.messages().get("../x").await),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(client.messages().list("cmsg_nope").await),
        ErrorKind::BadRequest
    );
    let seeded = emu
        .seed_job(
            &key,
            nairi_emulator::JobSeed {
                agent: "acme/web".into(),
                source: Some("slack".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let err = client
        .conversations()
        .follow_up(&seeded.job_id, &ContinueConversation::new("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.as_api()
            .unwrap()
            .message
            .contains("not started via the API"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_faults_and_retries_against_the_emulator() {
    let (emu, client) = emulator().await;

    let wrong = nairi::ClientBuilder::without_env()
        .api_key("nr_not_a_real_key")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    assert_eq!(kind(wrong.agents().list().await), ErrorKind::Authentication);
    let daemon = nairi::ClientBuilder::without_env()
        .api_key("ccagent_0123456789")
        .base_url(format!("{}/api/public/v1/", emu.base_url()))
        .build()
        .unwrap();
    let err = daemon.agents().list().await.unwrap_err();
    assert!(err.as_api().unwrap().hint.is_some(), "{err}");

    // A 503 on a GET is retried; on a POST it is not.
    emu.clear_requests();
    emu.inject_fault(Fault {
        method: Some("GET".into()),
        path_prefix: "/api/public/v1/agents".into(),
        status: Some(503),
        ..Default::default()
    });
    client.agents().list().await.unwrap();
    assert_eq!(emu.requests().len(), 2);
    emu.clear_requests();
    emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/vaults".into(),
        status: Some(503),
        ..Default::default()
    });
    assert_eq!(
        kind(client.vaults().create(&CreateVault::new("V")).await),
        ErrorKind::InternalServer
    );
    assert_eq!(emu.requests().len(), 1);
    assert!(
        client.vaults().list().await.unwrap().is_empty(),
        "nothing was created"
    );

    // A 429 with Retry-After on a POST is retried and then succeeds.
    emu.clear_requests();
    emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/vaults".into(),
        status: Some(429),
        retry_after: Some("0.05".into()),
        ..Default::default()
    });
    client
        .vaults()
        .create(&CreateVault::new("V"))
        .await
        .unwrap();
    assert_eq!(emu.requests().len(), 2);

    // Edge-proxy HTML, a garbled 200, and a dropped connection.
    emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        html: true,
        times: Some(3),
        ..Default::default()
    });
    let err = client.models().list(None).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(
        err.as_api()
            .unwrap()
            .body
            .as_deref()
            .is_some_and(|b| b.contains('<')),
        "{err}"
    );
    emu.inject_fault(Fault {
        path_prefix: "/api/public/v1/models".into(),
        malformed_json: true,
        ..Default::default()
    });
    assert_eq!(kind(client.models().list(None).await), ErrorKind::Decode);
    emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/api/public/v1/conversations/start".into(),
        drop_connection: true,
        ..Default::default()
    });
    emu.clear_requests();
    // The transport's rule alone (prompt recovery is tested in prompt_recovery.rs).
    let no_recovery = client.with_options(nairi::RequestOptions {
        recover_prompts: Some(false),
        ..Default::default()
    });
    assert_eq!(
        kind(
            no_recovery
                .conversations()
                .start(&StartConversation::new("x", "hi"))
                .await
        ),
        ErrorKind::Connection
    );
    assert_eq!(
        emu.requests().len(),
        1,
        "a POST that may have arrived is not resent"
    );
    emu.clear_faults();
    assert!(!client.models().list(None).await.unwrap().is_empty());
}
