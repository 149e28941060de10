//! Security (the key never printed or logged, plain http refused) and forward compatibility.

mod common;

use common::*;
use nairi::types::{
    ChannelType, EntityType, JobStatus, ListConversations, MessageRole, MessageStatus,
    ScheduledJobType, StartConversation,
};
use nairi::{ClientBuilder, ErrorKind};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn key_never_in_debug_of_client_config_or_builder() {
    let builder = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("https://api.nairi.ai");
    assert!(!format!("{builder:?}").contains(KEY));
    let config = builder.clone().build_config().unwrap();
    assert!(!format!("{config:?}").contains(KEY));
    assert!(!format!("{:?}", config.api_key).contains(KEY));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(KEY));
    assert!(!format!("{:?}", client.config()).contains(KEY));
    assert_eq!(
        client.config().api_key.expose(),
        KEY,
        "the key is still usable"
    );
}

#[tokio::test]
async fn key_never_in_errors() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid API key"})))
        .mount(&server)
        .await;
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(KEY), "{text}");
    }
    // Connection errors name the endpoint, not the key.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let offline = client_for(&format!("http://127.0.0.1:{port}"), fast_policy(0));
    let err = offline.agents().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY));
    // Config errors neither.
    let err = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("http://api.example.com")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY));
}

#[tokio::test]
async fn tracing_output_never_contains_the_key() {
    let capture = Capture::start();
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(2)
        .mount(&server)
        .await;
    client.agents().list().await.unwrap();
    client
        .conversations()
        .start(&StartConversation::new("a", "hi"))
        .await
        .unwrap_err();
    let log = capture.text();
    assert!(
        log.contains("nairi.request"),
        "the request span was traced:\n{log}"
    );
    assert!(log.contains("retrying"), "the retry was traced:\n{log}");
    assert!(
        log.contains("<redacted>"),
        "the authorization field is redacted:\n{log}"
    );
    assert!(
        !log.contains(KEY),
        "the key leaked into tracing output:\n{log}"
    );
    assert!(!log.contains("5ecret"), "part of the key leaked:\n{log}");
}

#[test]
fn plain_http_is_refused_for_non_loopback_hosts() {
    for base in [
        "http://api.nairi.ai",
        "http://10.0.0.5:8080",
        "http://example.com/api/public/v1",
    ] {
        let err = ClientBuilder::without_env()
            .api_key(KEY)
            .base_url(base)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{base}");
        assert!(err.to_string().contains("http://"), "{err}");
    }
    for base in [
        "http://127.0.0.1:9",
        "http://localhost:9",
        "http://[::1]:9",
        "https://api.nairi.ai",
    ] {
        ClientBuilder::without_env()
            .api_key(KEY)
            .base_url(base)
            .build()
            .unwrap_or_else(|e| panic!("{base}: {e}"));
    }
    let allowed = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("http://api.internal")
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert_eq!(
        allowed.base_url().as_str(),
        "http://api.internal/api/public/v1"
    );
}

#[tokio::test]
async fn unknown_fields_are_kept_in_extra() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/vaults/vlt_1",
        200,
        json!({"id": "vlt_1", "name": "V", "secrets_count": 2, "region": "eu", "tags": ["a"], "owner": {"id": 7}}),
    )
    .await;
    let v = client.vaults().get("vlt_1").await.unwrap();
    assert_eq!(v.secrets_count, Some(2));
    assert_eq!(v.extra["region"], "eu");
    assert_eq!(v.extra["tags"], json!(["a"]));
    assert_eq!(v.extra["owner"]["id"], 7);
    // The extra fields survive a round trip.
    let back = serde_json::to_value(&v).unwrap();
    assert_eq!(back["region"], "eu");
}

#[tokio::test]
async fn unknown_enum_values_decode_as_unknown() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/messages/cmsg_1",
        200,
        json!({"id": "cmsg_1", "job_id": "job_1", "content": "x", "role": "narrator", "status": "paused"}),
    )
    .await;
    mount(
        &server,
        "GET",
        "/agents/a/conversations",
        200,
        json!({"conversations": [{"id": "job_1", "status": "archived"}]}),
    )
    .await;
    mount(
        &server,
        "GET",
        "/agents/a/resources",
        200,
        json!([{"id": "ccr_1", "entity_type": "gitlab_repository_integration", "entity_id": "x"}]),
    )
    .await;
    mount(
        &server,
        "GET",
        "/connected-channels",
        200,
        json!([{"id": "cc_1", "channel_type": "teams", "channel_id": "T1"}]),
    )
    .await;
    mount(
        &server,
        "GET",
        "/scheduled-jobs/sj_1",
        200,
        json!({"id": "sj_1", "job_type": "email", "schedule": "0 9 * * *", "timezone": "UTC", "prompt": "p"}),
    )
    .await;

    let m = client.messages().get("cmsg_1").await.unwrap();
    assert_eq!(m.role, MessageRole::Unknown("narrator".into()));
    assert_eq!(m.status, MessageStatus::Unknown("paused".into()));
    assert!(!m.status.is_terminal());
    let c = client
        .agents()
        .conversations()
        .list("a", &ListConversations::default())
        .await
        .unwrap();
    assert_eq!(c[0].status, JobStatus::Unknown("archived".into()));
    let r = client.agents().resources().list("a").await.unwrap();
    assert_eq!(
        r[0].entity_type,
        Some(EntityType::Unknown("gitlab_repository_integration".into()))
    );
    let ch = client.channels().list().await.unwrap();
    assert_eq!(
        ch[0].channel_type,
        Some(ChannelType::Unknown("teams".into()))
    );
    let j = client.scheduled_jobs().get("sj_1").await.unwrap();
    assert_eq!(j.job_type, Some(ScheduledJobType::Unknown("email".into())));
    assert_eq!(j.job_type.unwrap().as_str(), "email");
}

#[tokio::test]
async fn missing_and_null_optional_fields_never_fail() {
    let (server, client) = setup().await;
    let minimal = [
        ("/agents/a", json!({"id": "cci_1"})),
        (
            "/artifacts/rules/aar_1",
            json!({"id": "aar_1", "title": null}),
        ),
        ("/artifacts/mcp-configs/amc_1", json!({"id": "amc_1"})),
        (
            "/artifacts/skills/ask_1",
            json!({"id": "ask_1", "warnings": null}),
        ),
        (
            "/vaults/vlt_1",
            json!({"id": "vlt_1", "name": null, "description": null}),
        ),
        (
            "/scheduled-jobs/sj_1",
            json!({"id": "sj_1", "last_executed_at": null, "connected_channel_id": null}),
        ),
    ];
    for (route, body) in &minimal {
        mount(&server, "GET", route, 200, body.clone()).await;
    }
    let a = client.agents().get("a").await.unwrap();
    assert_eq!((a.name.as_str(), a.created_at), ("", None));
    assert_eq!(client.rules().get("aar_1").await.unwrap().title, "");
    assert_eq!(
        client
            .mcp_configs()
            .get("amc_1")
            .await
            .unwrap()
            .is_sensitive,
        None
    );
    assert!(
        client
            .skills()
            .get("ask_1")
            .await
            .unwrap()
            .warnings
            .is_empty()
    );
    assert_eq!(client.vaults().get("vlt_1").await.unwrap().name, "");
    assert_eq!(
        client.scheduled_jobs().get("sj_1").await.unwrap().job_type,
        None
    );
}

#[tokio::test]
async fn one_odd_message_never_fails_the_whole_thread() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/conversations/job_1/messages",
        200,
        json!({"messages": [
            {"id": "cmsg_1", "job_id": "job_1", "content": "hi", "role": "user",
             "status": "completed", "created_at": TS},
            // status null, role missing, an unparsable timestamp, token counts as floats.
            {"id": "cmsg_2", "job_id": null, "content": "done", "status": null,
             "created_at": "garbage", "updated_at": 1_776_019_512,
             "input_tokens": 12.0, "output_tokens": 3, "cache_read_tokens": 1.5,
             "cache_write_tokens": "4", "cost_usd": "0.25"}
        ]}),
    )
    .await;
    let messages = client.messages().list("job_1").await.unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].role, MessageRole::User);
    assert_eq!(messages[0].created_at, Some(ts(TS)));
    let odd = &messages[1];
    assert_eq!(odd.id, "cmsg_2");
    assert_eq!(odd.job_id, "");
    assert_eq!(odd.content, "done");
    assert_eq!(odd.status, MessageStatus::Unknown(String::new()));
    assert!(!odd.status.is_known() && !odd.status.is_terminal());
    assert_eq!(odd.role, MessageRole::Unknown(String::new()));
    assert_eq!(odd.created_at, None, "garbage timestamps decode as None");
    assert_eq!(odd.updated_at, None, "non-string timestamps decode as None");
    assert_eq!(odd.input_tokens, Some(12), "integral floats are integers");
    assert_eq!(odd.output_tokens, Some(3));
    assert_eq!(odd.cache_read_tokens, None, "fractional counts are unknown");
    assert_eq!(odd.cache_write_tokens, Some(4), "numeric strings are read");
    assert_eq!(odd.cost_usd, Some(0.25));
}

#[tokio::test]
async fn null_strings_enums_and_odd_numbers_never_fail_other_models() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/agents",
        200,
        json!([{"id": "cci_1", "name": null, "agent_id": null, "instances_count": 2.0,
                "created_at": "yesterday", "updated_at": null}]),
    )
    .await;
    mount(
        &server,
        "GET",
        "/agents/a/env-vars",
        200,
        json!([{"id": "cev_1", "key": null, "value": "v", "created_at": "2026-13-45"}]),
    )
    .await;
    mount(
        &server,
        "GET",
        "/agents/a/conversations",
        200,
        json!({"conversations": [{"id": "job_1", "status": null}, {"id": "job_2"}]}),
    )
    .await;
    mount(
        &server,
        "GET",
        "/vaults",
        200,
        json!([{"id": "vlt_1", "name": "V", "secrets_count": "3", "created_at": 0}]),
    )
    .await;
    mount(
        &server,
        "GET",
        "/models",
        200,
        json!([{"id": "opus-4.5", "input_price": "15", "output_price": null}]),
    )
    .await;
    let agents = client.agents().list().await.unwrap();
    assert_eq!(
        (agents[0].name.as_str(), agents[0].agent_id.as_str()),
        ("", "")
    );
    assert_eq!(agents[0].instances_count, Some(2));
    assert_eq!((agents[0].created_at, agents[0].updated_at), (None, None));
    let env = client.agents().env_vars().list("a").await.unwrap();
    assert_eq!((env[0].key.as_str(), env[0].created_at), ("", None));
    let convs = client
        .agents()
        .conversations()
        .list("a", &ListConversations::default())
        .await
        .unwrap();
    assert_eq!(convs[0].status, JobStatus::Unknown(String::new()));
    assert_eq!(convs[1].status, JobStatus::Unknown(String::new()));
    let vaults = client.vaults().list().await.unwrap();
    assert_eq!(
        (vaults[0].secrets_count, vaults[0].created_at),
        (Some(3), None)
    );
    let models = client.models().list(None).await.unwrap();
    assert_eq!(
        (models[0].input_price, models[0].output_price),
        (Some(15.0), None)
    );
}

/// A configuration the builder accepted, to be tampered with through its public fields.
fn good_config() -> nairi::ClientConfig {
    ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("https://api.nairi.ai")
        .build_config()
        .unwrap()
}

#[test]
fn from_config_runs_the_builder_checks() {
    let mut plain = good_config();
    plain.base_url = url::Url::parse("http://api.example.com/api/public/v1").unwrap();
    let err = nairi::Client::from_config(plain).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("http://"), "{err}");

    let mut ftp = good_config();
    ftp.base_url = url::Url::parse("ftp://api.example.com").unwrap();
    assert_eq!(
        nairi::Client::from_config(ftp).unwrap_err().kind(),
        ErrorKind::Config
    );

    let mut query = good_config();
    query.base_url = url::Url::parse("https://api.example.com/?x=1").unwrap();
    assert_eq!(
        nairi::Client::from_config(query).unwrap_err().kind(),
        ErrorKind::Config
    );

    for bad_key in ["", "  ", "nr_a b", "nr_a\nb"] {
        let mut c = good_config();
        c.api_key = nairi::config::ApiKey::new(bad_key);
        let err = nairi::Client::from_config(c).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad_key:?}");
    }

    let mut ua = good_config();
    ua.user_agent = "nairi-rust/1\r\nX-Injected: 1".into();
    assert_eq!(
        nairi::Client::from_config(ua).unwrap_err().kind(),
        ErrorKind::Config
    );

    // Loopback http stays allowed, an explicit opt-in is honoured, and the root is normalised.
    let mut local = good_config();
    local.base_url = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let client = nairi::Client::from_config(local).unwrap();
    assert_eq!(
        client.base_url().as_str(),
        "http://127.0.0.1:9/api/public/v1"
    );
    let opted_in = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("http://api.internal")
        .allow_insecure_http(true)
        .build_config()
        .unwrap();
    let client = nairi::Client::from_config(opted_in).unwrap();
    assert_eq!(
        client.base_url().as_str(),
        "http://api.internal/api/public/v1"
    );
}

#[test]
fn debug_hides_default_header_values_and_url_credentials() {
    let with_credentials = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("https://gw-user:pa55word@gw.example.com/nairi")
        .default_header("X-Gateway-Token", "tok_hunter2");
    // Credentials in the base URL are refused (reqwest would send them as a second
    // Authorization header), and neither the builder nor the error shows them.
    let err = with_credentials.clone().build_config().unwrap_err();
    let builder_text = format!("{with_credentials:?}");
    for text in [builder_text.as_str(), &err.to_string()] {
        for secret in [KEY, "tok_hunter2", "pa55word", "gw-user"] {
            assert!(!text.contains(secret), "shows {secret:?}: {text}");
        }
    }
    assert!(builder_text.contains("gw.example.com"), "{builder_text}");

    let builder = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url("https://gw.example.com/nairi")
        .default_header("X-Gateway-Token", "tok_hunter2")
        .default_header("X-Team", "payments");
    let config = builder.clone().build_config().unwrap();
    let client = nairi::Client::from_config(config.clone()).unwrap();
    for (what, text) in [
        ("builder", format!("{builder:?}")),
        ("config", format!("{config:?}")),
        ("client", format!("{client:?}")),
    ] {
        for secret in [KEY, "tok_hunter2", "payments"] {
            assert!(
                !text.contains(secret),
                "{what} Debug shows {secret:?}: {text}"
            );
        }
        assert!(text.contains("gw.example.com"), "{what}: {text}");
    }
    let config_text = format!("{config:?}");
    assert!(
        config_text.contains("x-gateway-token"),
        "header names stay visible: {config_text}"
    );
    assert!(config_text.contains("<redacted>"), "{config_text}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = wiremock::MockServer::start().await;
    expect_no_request(&elsewhere).await;
    let (server, client) = setup().await;
    for (status, route) in [
        (307, "/vaults/vlt_1/secrets"),
        (308, "/agents"),
        (302, "/models"),
    ] {
        Mock::given(wiremock::matchers::path(format!("{P}{route}")))
            .respond_with(ResponseTemplate::new(status).insert_header(
                "location",
                format!("{}/steal{route}", elsewhere.uri()).as_str(),
            ))
            .mount(&server)
            .await;
    }
    // A 307 to a POST would re-send the secret's value to the other host.
    let secret = nairi::types::CreateSecret::new("DATABASE_URL", "postgres://u:hunter2@db");
    let err = client
        .vaults()
        .secrets()
        .create("vlt_1", &secret)
        .await
        .unwrap_err();
    let api = err.as_api().expect("an API error");
    assert_eq!(api.status, 307);
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(api.endpoint, "POST /vaults/vlt_1/secrets");
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.status(), Some(308));
    let err = client.models().list(None).await.unwrap_err();
    assert_eq!(err.status(), Some(302));
    assert_eq!(requests(&server).await.len(), 3, "3xx is not retried");
    assert!(requests(&elsewhere).await.is_empty());
}

#[tokio::test]
async fn user_agent_suffix_and_default_headers_go_over_the_wire() {
    let server = wiremock::MockServer::start().await;
    mount(&server, "GET", "/agents", 200, json!([])).await;
    let client = ClientBuilder::without_env()
        .api_key(KEY)
        .base_url(server.uri())
        .user_agent_suffix("nairi-python/0.1.0")
        .default_header("X-Team", "payments")
        .build()
        .unwrap();
    client.agents().list().await.unwrap();
    let req = only_request(&server).await;
    let ua = header(&req, "user-agent").unwrap();
    assert_eq!(
        ua,
        format!(
            "nairi-rust/{} nairi-python/0.1.0",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(header(&req, "x-team").as_deref(), Some("payments"));
    assert_eq!(req.headers.get_all("authorization").iter().count(), 1);
}
