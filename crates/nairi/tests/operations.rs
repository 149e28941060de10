//! The operation table against the contract, and the generic call against the typed methods:
//! for every operation both send the same request and decode the same result.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use common::*;
use nairi::operations::{BodyKind, CallArgs, OPERATIONS, RetryClass};
use nairi::types::*;
use nairi::{Client, ErrorKind};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

type Typed = Box<dyn Fn(Client) -> Pin<Box<dyn Future<Output = nairi::Result<Value>>>>>;

/// One operation driven both ways.
struct Case {
    id: &'static str,
    typed: Typed,
    args: CallArgs,
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("results encode")
}

macro_rules! typed {
    (|$c:ident| $call:expr) => {
        Box::new(move |$c: Client| Box::pin(async move { Ok(to_json($call.await?)) }))
    };
}

fn path(pairs: &[(&str, &str)]) -> CallArgs {
    pairs
        .iter()
        .fold(CallArgs::new(), |a, (k, v)| a.path_param(*k, *v))
}

fn zip_file() -> FileUpload {
    FileUpload::new(
        "helper.zip",
        "application/zip",
        b"PK\x03\x04 not really".to_vec(),
    )
}

/// The request model and its serde form, which the generic call takes as its body.
fn body<T: serde::Serialize>(model: &T) -> Value {
    serde_json::to_value(model).expect("bodies encode")
}

/// The models outlive the cases' closures, which run once each.
fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn cases() -> Vec<Case> {
    let start = leak(StartConversation::new("acme/web", "Summarise the backlog"));
    let cont = leak(ContinueConversation::new("and the open bugs"));
    let list = leak(ListConversations {
        status: vec![JobStatus::Active, JobStatus::Completed],
        limit: Some(20),
        offset: Some(40),
        ..Default::default()
    });
    let create_agent = leak(CreateAgent {
        instances_count: Some(2),
        ..CreateAgent::new("Support bot")
    });
    let update_agent = leak(UpdateAgent {
        description: Some("Answers billing questions".into()),
        system_prompt: Some(None),
        extra: json!({"beta_routing": {"mode": "fast"}})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    });
    let deploy = leak(DeployAgent {
        update_config_only: Some(true),
        ..Default::default()
    });
    let assign = leak(AssignResource::new(
        EntityType::Rule,
        "aar_01KEQ6963XS96YDP3NF9NKB7QJ",
    ));
    let env = leak(CreateEnvVar::new("LOG_LEVEL", "debug"));
    let env_update = leak(UpdateEnvVar {
        value: Some("info".into()),
        ..Default::default()
    });
    let rule = leak(RuleInput::new("Tone", "How to answer", "Be brief."));
    let mcp = leak(CreateMcpConfig::new(
        "Search",
        "web search",
        r#"{"mcpServers":{"s":{}}}"#,
    ));
    let mcp_replace = leak(ReplaceMcpConfig::new("Search", "web search, v2"));
    let vault = leak(CreateVault::new("prod"));
    let vault_update = leak(UpdateVault {
        description: Some("production credentials".into()),
        ..Default::default()
    });
    let secret = leak(CreateSecret::new("STRIPE_KEY", "sk_live_123"));
    let secret_update = leak(UpdateSecret {
        allowed_domains: Some(vec!["api.stripe.com".into()]),
        ..Default::default()
    });
    let job = leak(CreateScheduledJob::in_app(
        "acme/web",
        "0 9 * * 1",
        "UTC",
        "Weekly report",
    ));
    let job_update = leak(UpdateScheduledJob {
        prompt: Some("Weekly report, short".into()),
        ..Default::default()
    });
    let rename = leak(UpdateLlmIntegration::new("Anthropic (prod)"));
    let upload = leak(FileUpload::new(
        "notes.txt",
        "text/plain",
        b"hello".to_vec(),
    ));

    vec![
        Case {
            id: "conversations.start",
            args: CallArgs::new().body(body(&start)),
            typed: typed!(|c| c.conversations().start(start)),
        },
        Case {
            id: "conversations.follow_up",
            args: path(&[("job_id", "job_1")]).body(body(&cont)),
            typed: typed!(|c| c.conversations().follow_up("job_1", cont)),
        },
        Case {
            id: "messages.list",
            args: path(&[("job_id", "job_1")]),
            typed: typed!(|c| c.messages().list("job_1")),
        },
        Case {
            id: "messages.get",
            args: path(&[("message_id", "cmsg_1")]),
            typed: typed!(|c| c.messages().get("cmsg_1")),
        },
        Case {
            id: "agents.conversations.list",
            args: CallArgs {
                query: body(&list).as_object().unwrap().clone(),
                ..path(&[("agent_id", "acme/web")])
            },
            typed: typed!(|c| c.agents().conversations().list("acme/web", list)),
        },
        Case {
            id: "attachments.upload",
            args: CallArgs::new().file(upload.clone()),
            typed: typed!(|c| c.attachments().upload(upload.clone())),
        },
        Case {
            id: "attachments.get",
            args: path(&[("attachment_id", "att_1")]),
            typed: typed!(|c| c.attachments().get("att_1")),
        },
        Case {
            id: "agents.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.agents().list()),
        },
        Case {
            id: "agents.create",
            args: CallArgs::new().body(body(&create_agent)),
            typed: typed!(|c| c.agents().create(create_agent)),
        },
        Case {
            id: "agents.get",
            args: path(&[("agent_id", "acme/web")]),
            typed: typed!(|c| c.agents().get("acme/web")),
        },
        Case {
            id: "agents.update",
            args: path(&[("agent_id", "acme/web")]).body(body(&update_agent)),
            typed: typed!(|c| c.agents().update("acme/web", update_agent)),
        },
        Case {
            id: "agents.delete",
            args: path(&[("agent_id", "acme/web")]),
            typed: typed!(|c| c.agents().delete("acme/web")),
        },
        Case {
            id: "agents.deploy",
            args: path(&[("agent_id", "acme/web")]).body(body(&deploy)),
            typed: typed!(|c| c.agents().deploy("acme/web", deploy)),
        },
        Case {
            id: "agents.resources.list",
            args: path(&[("agent_id", "acme/web")]),
            typed: typed!(|c| c.agents().resources().list("acme/web")),
        },
        Case {
            id: "agents.resources.assign",
            args: path(&[("agent_id", "acme/web")]).body(body(&assign)),
            typed: typed!(|c| c.agents().resources().assign("acme/web", assign)),
        },
        Case {
            id: "agents.resources.unassign",
            args: path(&[("agent_id", "acme/web"), ("resource_id", "ccr_1")]),
            typed: typed!(|c| c.agents().resources().unassign("acme/web", "ccr_1")),
        },
        Case {
            id: "agents.env_vars.list",
            args: path(&[("agent_id", "acme/web")]),
            typed: typed!(|c| c.agents().env_vars().list("acme/web")),
        },
        Case {
            id: "agents.env_vars.create",
            args: path(&[("agent_id", "acme/web")]).body(body(&env)),
            typed: typed!(|c| c.agents().env_vars().create("acme/web", env)),
        },
        Case {
            id: "agents.env_vars.update",
            args: path(&[("agent_id", "acme/web"), ("env_var_id", "env_1")])
                .body(body(&env_update)),
            typed: typed!(|c| c
                .agents()
                .env_vars()
                .update("acme/web", "env_1", env_update)),
        },
        Case {
            id: "agents.env_vars.delete",
            args: path(&[("agent_id", "acme/web"), ("env_var_id", "env_1")]),
            typed: typed!(|c| c.agents().env_vars().delete("acme/web", "env_1")),
        },
        Case {
            id: "rules.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.rules().list()),
        },
        Case {
            id: "rules.create",
            args: CallArgs::new().body(body(&rule)),
            typed: typed!(|c| c.rules().create(rule)),
        },
        Case {
            id: "rules.get",
            args: path(&[("rule_id", "aar_1")]),
            typed: typed!(|c| c.rules().get("aar_1")),
        },
        Case {
            id: "rules.replace",
            args: path(&[("rule_id", "aar_1")]).body(body(&rule)),
            typed: typed!(|c| c.rules().replace("aar_1", rule)),
        },
        Case {
            id: "rules.delete",
            args: path(&[("rule_id", "aar_1")]),
            typed: typed!(|c| c.rules().delete("aar_1")),
        },
        Case {
            id: "mcp_configs.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.mcp_configs().list()),
        },
        Case {
            id: "mcp_configs.create",
            args: CallArgs::new().body(body(&mcp)),
            typed: typed!(|c| c.mcp_configs().create(mcp)),
        },
        Case {
            id: "mcp_configs.get",
            args: path(&[("config_id", "amc_1")]),
            typed: typed!(|c| c.mcp_configs().get("amc_1")),
        },
        Case {
            id: "mcp_configs.replace",
            args: path(&[("config_id", "amc_1")]).body(body(&mcp_replace)),
            typed: typed!(|c| c.mcp_configs().replace("amc_1", mcp_replace)),
        },
        Case {
            id: "mcp_configs.delete",
            args: path(&[("config_id", "amc_1")]),
            typed: typed!(|c| c.mcp_configs().delete("amc_1")),
        },
        Case {
            id: "skills.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.skills().list()),
        },
        Case {
            id: "skills.create",
            args: CallArgs::new().file(zip_file()),
            typed: typed!(|c| c.skills().create(zip_file())),
        },
        Case {
            id: "skills.get",
            args: path(&[("skill_id", "ask_1")]),
            typed: typed!(|c| c.skills().get("ask_1")),
        },
        Case {
            id: "skills.replace",
            args: path(&[("skill_id", "ask_1")]).file(zip_file()),
            typed: typed!(|c| c.skills().replace("ask_1", zip_file())),
        },
        Case {
            id: "skills.delete",
            args: path(&[("skill_id", "ask_1")]),
            typed: typed!(|c| c.skills().delete("ask_1")),
        },
        Case {
            id: "vaults.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.vaults().list()),
        },
        Case {
            id: "vaults.create",
            args: CallArgs::new().body(body(&vault)),
            typed: typed!(|c| c.vaults().create(vault)),
        },
        Case {
            id: "vaults.get",
            args: path(&[("vault_id", "vlt_1")]),
            typed: typed!(|c| c.vaults().get("vlt_1")),
        },
        Case {
            id: "vaults.update",
            args: path(&[("vault_id", "vlt_1")]).body(body(&vault_update)),
            typed: typed!(|c| c.vaults().update("vlt_1", vault_update)),
        },
        Case {
            id: "vaults.delete",
            args: path(&[("vault_id", "vlt_1")]),
            typed: typed!(|c| c.vaults().delete("vlt_1")),
        },
        Case {
            id: "vaults.secrets.list",
            args: path(&[("vault_id", "vlt_1")]),
            typed: typed!(|c| c.vaults().secrets().list("vlt_1")),
        },
        Case {
            id: "vaults.secrets.create",
            args: path(&[("vault_id", "vlt_1")]).body(body(&secret)),
            typed: typed!(|c| c.vaults().secrets().create("vlt_1", secret)),
        },
        Case {
            id: "vaults.secrets.update",
            args: path(&[("vault_id", "vlt_1"), ("secret_id", "sec_1")]).body(body(&secret_update)),
            typed: typed!(|c| c.vaults().secrets().update("vlt_1", "sec_1", secret_update)),
        },
        Case {
            id: "vaults.secrets.delete",
            args: path(&[("vault_id", "vlt_1"), ("secret_id", "sec_1")]),
            typed: typed!(|c| c.vaults().secrets().delete("vlt_1", "sec_1")),
        },
        Case {
            id: "channels.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.channels().list()),
        },
        Case {
            id: "scheduled_jobs.list",
            args: CallArgs::new(),
            typed: typed!(|c| c.scheduled_jobs().list()),
        },
        Case {
            id: "scheduled_jobs.create",
            args: CallArgs::new().body(body(&job)),
            typed: typed!(|c| c.scheduled_jobs().create(job)),
        },
        Case {
            id: "scheduled_jobs.get",
            args: path(&[("job_id", "sj_1")]),
            typed: typed!(|c| c.scheduled_jobs().get("sj_1")),
        },
        Case {
            id: "scheduled_jobs.update",
            args: path(&[("job_id", "sj_1")]).body(body(&job_update)),
            typed: typed!(|c| c.scheduled_jobs().update("sj_1", job_update)),
        },
        Case {
            id: "scheduled_jobs.delete",
            args: path(&[("job_id", "sj_1")]),
            typed: typed!(|c| c.scheduled_jobs().delete("sj_1")),
        },
        Case {
            id: "models.list",
            args: CallArgs::new().query_param("provider", "anthropic"),
            typed: typed!(|c| c.models().list(Some("anthropic"))),
        },
        Case {
            id: "integrations.list_llm",
            args: CallArgs::new(),
            typed: typed!(|c| c.integrations().list_llm()),
        },
        Case {
            id: "integrations.update_llm",
            args: path(&[("integration_id", "ai_1")]).body(body(&rename)),
            typed: typed!(|c| c.integrations().update_llm("ai_1", rename)),
        },
        Case {
            id: "integrations.list_github_repos",
            args: CallArgs::new(),
            typed: typed!(|c| c.integrations().list_github_repos()),
        },
    ]
}

/// A plausible answer for each result type (decoding is lenient, ids are what matter).
fn answer(result: &str) -> ResponseTemplate {
    let object = json!({"id": "x_1", "name": "n", "status": "active", "created_at": TS});
    let body = match result {
        "()" => return ResponseTemplate::new(204),
        "TurnHandle" => json!({"job_id": "job_1", "message_id": "cmsg_1"}),
        "Message" => json!({"id": "cmsg_1", "job_id": "job_1", "role": "user",
                             "content": "hi", "status": "queued", "created_at": TS}),
        "Vec<Message>" => json!({"messages": [{"id": "cmsg_1", "job_id": "job_1",
                             "role": "user", "content": "hi", "status": "completed"}]}),
        "Vec<Conversation>" => json!({"conversations": [object]}),
        "AttachmentUpload" => json!({"attachment_id": "att_1"}),
        "Attachment" => json!({"id": "att_1", "filename": "a.txt", "content_type": "text/plain",
                                "data": "aGVsbG8="}),
        "DeployStatus" => json!({"status": "deploying"}),
        r if r.starts_with("Vec<") => json!([object, {"id": "x_2"}]),
        _ => object,
    };
    ResponseTemplate::new(200).set_body_json(body)
}

/// What must be identical between the two requests; multipart boundaries are random, so a
/// multipart body is compared part by part.
fn fingerprint(req: &Request) -> (String, String, Option<String>, Vec<(String, String)>, Value) {
    let is_multipart = header(req, "content-type").is_some_and(|c| c.starts_with("multipart/"));
    let headers = req
        .headers
        .iter()
        .filter(|(n, _)| !(is_multipart && (*n == "content-type" || *n == "content-length")))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("<bytes>").to_owned()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let body = if is_multipart {
        Value::Array(
            multipart_parts(req)
                .into_iter()
                .map(|p| json!([p.name, p.filename, p.content_type, p.data]))
                .collect(),
        )
    } else {
        Value::String(String::from_utf8_lossy(&req.body).into_owned())
    };
    (
        req.method.to_string(),
        req.url.path().to_owned(),
        req.url.query().map(str::to_owned),
        headers,
        body,
    )
}

async fn serve(server: &MockServer, result: &str) {
    server.reset().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(answer(result))
        .mount(server)
        .await;
}

#[tokio::test]
async fn generic_call_and_typed_method_send_the_same_request_and_decode_the_same_result() {
    let (server, client) = setup().await;
    let cases = cases();
    let covered: BTreeSet<_> = cases.iter().map(|c| c.id).collect();
    let all: BTreeSet<_> = OPERATIONS.iter().map(|o| o.id).collect();
    assert_eq!(covered, all, "every operation has a case");
    for case in cases {
        let op = nairi::operations::find(case.id).unwrap();
        serve(&server, op.result).await;
        let typed = (case.typed)(client.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: typed: {e}", case.id));
        let typed_req = only_request_any(&server).await;
        serve(&server, op.result).await;
        let generic = client
            .call_operation(case.id, case.args.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: generic: {e}", case.id));
        let generic_req = only_request_any(&server).await;
        // The text form is the same JSON, encoded from the typed result directly.
        serve(&server, op.result).await;
        let text = client
            .call_operation_text(case.id, case.args, None)
            .await
            .unwrap_or_else(|e| panic!("{}: text: {e}", case.id));
        let text_req = only_request_any(&server).await;
        assert_eq!(
            fingerprint(&generic_req),
            fingerprint(&text_req),
            "{}",
            case.id
        );
        let parsed: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: the text is not JSON: {e}: {text}", case.id));
        assert_eq!(parsed, generic, "{}", case.id);
        assert_eq!(
            fingerprint(&typed_req),
            fingerprint(&generic_req),
            "{}",
            case.id
        );
        assert_eq!(typed, generic, "{}", case.id);
        // The request is the table's: method and path template.
        assert_eq!(typed_req.method.as_str(), op.method, "{}", case.id);
        let template = op.path.split('/').filter(|s| !s.is_empty());
        let sent: Vec<_> = typed_req
            .url
            .path()
            .trim_start_matches(P)
            .split('/')
            .skip(1)
            .collect();
        assert_eq!(template.clone().count(), sent.len(), "{}", case.id);
        for (t, s) in template.zip(sent) {
            assert!(t.starts_with('{') || t == s, "{}: {t} vs {s}", case.id);
        }
        let has_body = !typed_req.body.is_empty();
        assert_eq!(has_body, op.body != BodyKind::None, "{}", case.id);
    }
}

async fn only_request_any(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(all.len(), 1, "exactly one request");
    all.remove(0)
}

#[tokio::test]
async fn extra_body_fields_are_sent_and_win_over_modelled_ones() {
    let (server, client) = setup().await;
    serve(&server, "Agent").await;
    let args = path(&[("agent_id", "a")]).body(json!({
        "name": "Old", "extra": {"name": "New", "beta": [1, 2]}
    }));
    client.call_operation("agents.update", args).await.unwrap();
    let req = only_request_any(&server).await;
    assert_json(&req, json!({"name": "New", "beta": [1, 2]}));
}

#[tokio::test]
async fn misspelt_or_unknown_arguments_are_refused_by_name_before_sending() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let cases = [
        (
            "agents.update",
            path(&[("agent_id", "a")]).body(json!({"nmae": "x"})),
            "body.nmae",
        ),
        (
            "agents.create",
            CallArgs::new().body(json!({"name": "x", "instances_count": "two"})),
            "body.instances_count",
        ),
        ("agents.create", CallArgs::new(), "body"),
        ("agents.get", CallArgs::new(), "agent_id"),
        (
            "agents.get",
            path(&[("agent_id", "a"), ("agnet", "b")]),
            "agnet",
        ),
        (
            "agents.get",
            CallArgs::new()
                .path_param("agent_id", "a")
                .query_param("x", 1),
            "x",
        ),
        ("agents.list", CallArgs::new().body(json!({})), "body"),
        (
            "agents.conversations.list",
            path(&[("agent_id", "a")]).query_param("limt", 5),
            "query.limt",
        ),
        (
            "agents.conversations.list",
            path(&[("agent_id", "a")]).query_param("limit", 500),
            "limit",
        ),
        ("attachments.upload", CallArgs::new(), "file"),
        ("agents.frobnicate", CallArgs::new(), "operation"),
        (
            "agents.get",
            CallArgs {
                path: serde_json::from_value(json!({"agent_id": 7})).unwrap(),
                ..Default::default()
            },
            "agent_id",
        ),
    ];
    for (id, args, field) in cases {
        let err = client.call_operation(id, args).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{id}: {err}");
        match &err {
            nairi::Error::Validation { field: f, .. } => assert_eq!(f, field, "{id}: {err}"),
            other => panic!("{id}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_generic_call_maps_errors_like_the_typed_method() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents/nope",
        404,
        json!({"error": "agent not found"}),
    )
    .await;
    let err = client
        .call_operation("agents.get", path(&[("agent_id", "nope")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("agent not found"), "{err}");
}

#[test]
fn call_args_have_a_strict_serde_form() {
    let args: CallArgs = serde_json::from_value(json!({
        "path": {"agent_id": "a"},
        "file": {"filename": "a.txt", "content_type": "text/plain", "data": "aGk="}
    }))
    .unwrap();
    assert_eq!(args.file.as_ref().unwrap().data.as_ref(), b"hi");
    let back = serde_json::to_value(&args).unwrap();
    assert_eq!(back["file"]["data"], "aGk=");
    let err = serde_json::from_value::<CallArgs>(json!({"paht": {}})).unwrap_err();
    assert!(err.to_string().contains("paht"), "{err}");
    let err = serde_json::from_value::<CallArgs>(json!({
        "file": {"filename": "a", "content_type": "text/plain", "data": "***"}
    }))
    .unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
}

/// The table against `spec/openapi.yaml`: every operationId, method and path, and nothing more.
#[test]
fn the_table_matches_every_operation_of_the_contract() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/openapi.yaml"
    ))
    .expect("spec/openapi.yaml is readable");
    let spec: Value = serde_yaml_ng::from_str(&text).expect("the contract is YAML");
    let mut contract = BTreeSet::new();
    for (route, item) in spec["paths"].as_object().expect("paths") {
        for (m, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                let query: BTreeSet<String> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect();
                let body = op["requestBody"]["content"]
                    .as_object()
                    .and_then(|c| c.keys().next().cloned());
                contract.insert((id.to_owned(), m.to_uppercase(), route.clone(), query, body));
            }
        }
    }
    let table: BTreeSet<_> = OPERATIONS
        .iter()
        .map(|op| {
            let query: BTreeSet<String> = match op.query {
                Some("ListConversations") => ["status", "updated_after", "sort", "limit", "offset"]
                    .map(String::from)
                    .into(),
                Some("ListModels") => ["provider".to_owned()].into(),
                Some(other) => panic!("a query model the test does not know: {other}"),
                None => BTreeSet::new(),
            };
            let body = match op.body {
                BodyKind::None => None,
                BodyKind::Json(_) => Some("application/json".to_owned()),
                BodyKind::Multipart(_) => Some("multipart/form-data".to_owned()),
                other => panic!("{other:?}"),
            };
            (
                op.operation_id.to_owned(),
                op.method.to_owned(),
                op.path.to_owned(),
                query,
                body,
            )
        })
        .collect();
    assert_eq!(table, contract);
    assert_eq!(table.len(), 54);
    for op in OPERATIONS {
        let expected = if op.method == "POST" {
            RetryClass::NotIdempotent
        } else {
            RetryClass::Idempotent
        };
        assert_eq!(op.retry, expected, "{}", op.id);
    }
}

#[tokio::test]
async fn a_successful_call_exposes_its_status_and_request_id() {
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-request-id", "req_42")
                .set_body_json(json!({"id": "cci_1", "name": "A"})),
        )
        .mount(&server)
        .await;
    let (agent, meta) =
        nairi::with_response_meta(client.agents().create(&CreateAgent::new("A"))).await;
    assert_eq!(agent.unwrap().id, "cci_1");
    let meta = meta.expect("a successful answer was recorded");
    assert_eq!(meta.status, 201);
    assert_eq!(meta.request_id.as_deref(), Some("req_42"));
    assert_eq!(meta.endpoint, "POST /agents");

    // Through the generic call too; an error records nothing.
    let (out, meta) = nairi::with_response_meta(
        client.call_operation("agents.create", CallArgs::new().body(json!({"name": "B"}))),
    )
    .await;
    assert_eq!(out.unwrap()["id"], "cci_1");
    assert_eq!(meta.unwrap().request_id.as_deref(), Some("req_42"));
    let (out, meta) = nairi::with_response_meta(client.agents().get("missing")).await;
    assert!(out.is_err());
    assert_eq!(meta, None);
}

#[tokio::test]
async fn run_by_id_hands_every_event_to_the_callback() {
    use std::sync::{Arc, Mutex};
    let org = common::emulated::EmulatedOrg::start().await;
    let client = org.client.clone();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let on_event = move |e: &nairi::TurnEvent| {
        let v = serde_json::to_value(e).unwrap();
        sink.lock()
            .unwrap()
            .push(v["type"].as_str().unwrap().to_owned());
    };
    let args = CallArgs::new().body(json!({
        "request": {"agent_id": common::emulated::SLUG, "prompt": "hi"},
        "options": {"wait": {"initial_interval": 0.01, "max_interval": 0.05, "settle": 0}}
    }));
    let turn = client
        .call_operation_with_events("conversations.run", args.clone(), Some(Arc::new(on_event)))
        .await
        .unwrap();
    assert_eq!(turn["status"], "completed");
    // The text form of a turn call: the same turn's JSON (a second run, so another job).
    let text = client
        .call_operation_text("conversations.run", args, None)
        .await
        .unwrap();
    let again: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again["status"], "completed");
    assert_eq!(again["reply"], turn["reply"]);
    assert_ne!(again["job_id"], turn["job_id"]);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.last().map(String::as_str),
        Some("completed"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|t| t == "status_changed"), "{seen:?}");
}

#[tokio::test]
async fn a_streaming_call_gives_the_same_items_as_text() {
    use futures::StreamExt;
    let org = common::emulated::EmulatedOrg::start().await;
    let client = org.client.clone();
    // Each turn run to its end first: a listing taken while the agent works could differ
    // from the next one (its `updated_at` moves).
    let wait = nairi::WaitOptions {
        initial_interval: std::time::Duration::from_millis(10),
        max_interval: std::time::Duration::from_millis(50),
        settle: std::time::Duration::ZERO,
        ..Default::default()
    };
    for prompt in ["one", "two", "three"] {
        let start = StartConversation::new(common::emulated::SLUG, prompt);
        let handle = client.conversations().start(&start).await.unwrap();
        client.conversations().wait(&handle, &wait).await.unwrap();
    }
    let args = CallArgs::new()
        .path_param("agent_id", common::emulated::SLUG)
        .body(json!({"limit": 2}));
    let values: Vec<Value> = client
        .stream_operation("agents.conversations.list_all", args.clone())
        .unwrap()
        .map(|item| item.unwrap())
        .collect()
        .await;
    let texts: Vec<String> = client
        .stream_operation_text("agents.conversations.list_all", args)
        .unwrap()
        .map(|item| item.unwrap())
        .collect()
        .await;
    assert_eq!(
        values.len(),
        3,
        "three conversations over two pages: {values:?}"
    );
    let parsed: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    assert_eq!(parsed, values);
    // Refused the same way before anything is sent.
    let bad = client.stream_operation_text("agents.get", CallArgs::new());
    assert!(matches!(bad, Err(e) if e.kind() == ErrorKind::Validation));
}
