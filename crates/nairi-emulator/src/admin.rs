//! The control API under `/_emulator`, and the operations it shares with the Rust API.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::agent_sim;
use crate::auth::{OrgKey, authenticate};
use crate::error::{ApiResult, EmulatorError};
use crate::faults::{Fault, FaultEntry};
use crate::ids;
use crate::request_body::ControlBody;
use crate::routes::agents::{check_instances_count, insert_agent};
use crate::script::ScriptedTurn;
use crate::state::{Job, Message, Shared, check_job_id};

/// An agent created through the control API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AgentSeed {
    /// Display name.
    pub name: String,
    /// Explicit slug (may contain `/`, e.g. `acme/web`); derived from the name when absent.
    pub slug: Option<String>,
    /// Already deployed: messages are picked up at once.
    pub deployed: bool,
    /// Concurrent jobs (default 1).
    pub instances_count: Option<u32>,
}

/// A conversation seeded as if it came from another surface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobSeed {
    /// Agent `cci_` id or slug.
    pub agent: String,
    /// `slack` (default), `discord`, `web` or `api`.
    pub source: Option<String>,
    /// `active` (default), `completed`, `error` or `abandoned`.
    pub status: Option<String>,
    /// The first user message (already `completed`).
    pub prompt: Option<String>,
    /// An assistant reply to add after the prompt.
    pub reply: Option<String>,
    /// Earlier turns to fill the thread with, before the prompt: each a completed user
    /// message, `progress_per_turn` progress messages and an assistant reply (a long
    /// conversation, e.g. to measure what a client keeps of it). At most
    /// 200,000 messages in all (`MAX_SEEDED_MESSAGES`).
    pub earlier_turns: u32,
    /// Progress messages in each of the `earlier_turns`, cycling through the agent's default
    /// progress events (text, tool use running and completed, step).
    pub progress_per_turn: u32,
}

/// The most messages one seeded conversation may hold (`earlier_turns` × (2 +
/// `progress_per_turn`)): a long thread, but no way to exhaust the emulator's memory.
pub const MAX_SEEDED_MESSAGES: u64 = 200_000;

/// IDs of a job and its user message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnIds {
    /// The job (conversation) id.
    pub job_id: String,
    /// The user message id.
    pub message_id: String,
}

const JOB_STATUSES: [&str; 4] = ["active", "completed", "error", "abandoned"];

pub(crate) fn create_org(app: &Shared, legacy_job_ids: bool) -> String {
    let key = ids::new_api_key();
    app.lock().create_org(&key, legacy_job_ids);
    key
}

pub(crate) fn create_agent(app: &Shared, key: &str, seed: AgentSeed) -> ApiResult<Value> {
    if seed.name.trim().is_empty() {
        return Err(EmulatorError::bad_request("name is required"));
    }
    let instances = check_instances_count(seed.instances_count.unwrap_or(1).into())?;
    let mut w = app.lock();
    let seq = w.next_seq();
    let org = w.org(key)?;
    let id = insert_agent(org, seq, &seed.name, seed.slug.as_deref(), instances)?;
    if seed.deployed {
        agent_sim::finish_deploy(org, &id);
    }
    org.agents
        .get(&id)
        .map(|a| a.json())
        .ok_or_else(|| EmulatorError::not_found("agent not found"))
}

pub(crate) fn script(
    app: &Shared,
    key: &str,
    agent_ref: &str,
    turns: Vec<ScriptedTurn>,
) -> ApiResult<usize> {
    for (i, turn) in turns.iter().enumerate() {
        turn.validate()
            .map_err(|e| EmulatorError::bad_request(format!("turns[{i}]: {}", e.message)))?;
    }
    let mut w = app.lock();
    let org = w.org(key)?;
    let agent = org.agent_mut(agent_ref)?;
    agent.script.extend(turns);
    Ok(agent.script.len())
}

pub(crate) fn seed_job(app: &Shared, key: &str, seed: JobSeed) -> ApiResult<TurnIds> {
    let source = seed.source.unwrap_or_else(|| "slack".into());
    if !["slack", "discord", "web", "api"].contains(&source.as_str()) {
        return Err(EmulatorError::bad_request(
            "source must be slack, discord, web or api",
        ));
    }
    let status = seed.status.unwrap_or_else(|| "active".into());
    if !JOB_STATUSES.contains(&status.as_str()) {
        return Err(EmulatorError::bad_request(
            "status must be active, completed, error or abandoned",
        ));
    }
    let per_turn = 2 + u64::from(seed.progress_per_turn);
    if u64::from(seed.earlier_turns).saturating_mul(per_turn) > MAX_SEEDED_MESSAGES {
        return Err(EmulatorError::bad_request(format!(
            "earlier_turns × (2 + progress_per_turn) must be at most {MAX_SEEDED_MESSAGES} messages"
        )));
    }
    let mut w = app.lock();
    let seq = w.next_seq();
    let org = w.org(key)?;
    let agent_id = org.agent_id(&seed.agent)?;
    let mut job = Job::new(org.new_job_id(), agent_id, &source, "execute", seq);
    job.status = status;
    let job_id = job.id.clone();
    org.jobs.insert(job_id.clone(), job);
    for turn in 0..seed.earlier_turns {
        let prompt = format!("Earlier prompt {turn}");
        for m in agent_sim::filler_turn(&job_id, &prompt, seed.progress_per_turn) {
            org.push_message(&job_id, m);
        }
    }
    let prompt = seed.prompt.unwrap_or_else(|| "Seeded conversation".into());
    let msg = Message::new(&job_id, "user", "completed", prompt);
    let message_id = msg.id.clone();
    org.push_message(&job_id, msg);
    if let Some(reply) = seed.reply {
        org.push_message(
            &job_id,
            Message::new(&job_id, "assistant", "completed", reply),
        );
    }
    Ok(TurnIds { job_id, message_id })
}

pub(crate) fn set_job_status(
    app: &Shared,
    key: &str,
    job_id: &str,
    status: &str,
    reason: Option<&str>,
) -> ApiResult<()> {
    let job_id = &*check_job_id(job_id)?;
    if !JOB_STATUSES.contains(&status) {
        return Err(EmulatorError::bad_request(
            "status must be active, completed, error or abandoned",
        ));
    }
    let mut w = app.lock();
    let org = w.org(key)?;
    let job = org.job_mut(job_id)?;
    job.status = status.to_string();
    job.updated_at = ids::now();
    if let Some(r) = reason {
        org.push_message(
            job_id,
            Message::new(job_id, "system", "completed", r.to_string()),
        );
    }
    Ok(())
}

pub(crate) fn inject_fault(app: &Shared, fault: Fault) -> ApiResult<String> {
    fault.validate()?;
    let id = ids::new_id("flt_");
    let remaining = fault.times.unwrap_or(1);
    app.lock().faults.push(FaultEntry {
        id: id.clone(),
        remaining,
        fault,
    });
    Ok(id)
}

// ---------------------------------------------------------------- HTTP

fn parse<T: DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| EmulatorError::bad_request(format!("invalid JSON body: {e}")))
}

fn reply(r: ApiResult<(StatusCode, Value)>) -> Response {
    match r {
        Ok((s, v)) => (s, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct OrgReq {
    legacy_job_ids: bool,
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScriptReq {
    turns: Vec<ScriptedTurn>,
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct StatusReq {
    status: String,
    reason: Option<String>,
}

/// Body limit of every control-API request.
pub const CONTROL_BODY_LIMIT: usize = 1024 * 1024;

/// Makes every control-API error JSON, including the rejections of axum's extractors (a path
/// that is not UTF-8 once decoded, a body over [`CONTROL_BODY_LIMIT`]), which are plain text.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("request body too large (limit {CONTROL_BODY_LIMIT} bytes)")
    } else {
        // Extractor rejections are short texts; an empty one gets the status text.
        let text = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text
        }
    };
    let mut out = EmulatorError::new(status.as_u16(), message).into_response();
    // Keep headers such as `Allow`, but not the old body's type and framing.
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

pub(crate) fn router(app: Shared) -> Router<Shared> {
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(json!({ "ok": true })) }),
        )
        .route("/orgs", post(http_org))
        .route("/agents", post(http_agent))
        .route("/agents/{*rest}", post(http_script))
        .route("/jobs", post(http_job))
        .route("/jobs/{job_id}/status", post(http_job_status))
        .route(
            "/faults",
            post(http_fault)
                .delete(http_clear_faults)
                .get(http_list_faults),
        )
        .route("/requests", get(http_requests).delete(http_clear_requests))
        .route("/reset", post(http_reset))
        .layer(axum::middleware::map_response(json_errors))
        // Outermost: without the token (when one is required) nothing else runs.
        .layer(axum::middleware::from_fn_with_state(
            app,
            crate::auth::require_control_token,
        ))
}

async fn http_org(State(app): State<Shared>, ControlBody(body): ControlBody) -> Response {
    reply(parse::<OrgReq>(&body).map(|r| {
        (
            StatusCode::CREATED,
            json!({ "api_key": create_org(&app, r.legacy_job_ids) }),
        )
    }))
}

async fn http_agent(
    State(app): State<Shared>,
    OrgKey(key): OrgKey,
    ControlBody(body): ControlBody,
) -> Response {
    reply(
        parse(&body)
            .and_then(|seed| create_agent(&app, &key, seed))
            .map(|agent| (StatusCode::CREATED, agent)),
    )
}

/// The agent reference of `/_emulator/agents/{agent_ref}/script`, `/` raw or `%2F`.
fn script_agent_ref(uri: &Uri) -> ApiResult<String> {
    // The raw path keeps `%2F` apart from `/` until the suffix is matched.
    // Nested routers see the path without `/_emulator`; accept both forms.
    let path = uri.path();
    let raw = path.strip_prefix("/_emulator").unwrap_or(path);
    let agent = raw
        .strip_prefix("/agents/")
        .and_then(|r| r.strip_suffix("/script"))
        .filter(|a| !a.is_empty())
        .ok_or_else(|| EmulatorError::not_found("route not found"))?;
    Ok(percent_decode_str(agent).decode_utf8_lossy().into_owned())
}

async fn http_script(State(app): State<Shared>, req: Request) -> Response {
    // An unknown route is a 404 before the key is checked, and the body is read only after.
    let checked = script_agent_ref(req.uri())
        .and_then(|agent| authenticate(&app, req.headers()).map(|key| (agent, key)));
    let (agent, key) = match checked {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let body = match ControlBody::from_request(req, &app).await {
        Ok(ControlBody(b)) => b,
        Err(e) => return e.into_response(),
    };
    reply((|| {
        let req: ScriptReq = parse(&body)?;
        let pending = script(&app, &key, &agent, req.turns)?;
        Ok((
            StatusCode::OK,
            json!({ "ok": true, "pending_turns": pending }),
        ))
    })())
}

async fn http_job(
    State(app): State<Shared>,
    OrgKey(key): OrgKey,
    ControlBody(body): ControlBody,
) -> Response {
    reply((|| {
        let seed: JobSeed = parse(&body)?;
        let ids = seed_job(&app, &key, seed)?;
        Ok((
            StatusCode::CREATED,
            json!({ "job_id": ids.job_id, "message_id": ids.message_id }),
        ))
    })())
}

async fn http_job_status(
    State(app): State<Shared>,
    Path(job_id): Path<String>,
    OrgKey(key): OrgKey,
    ControlBody(body): ControlBody,
) -> Response {
    reply((|| {
        let req: StatusReq = parse(&body)?;
        set_job_status(&app, &key, &job_id, &req.status, req.reason.as_deref())?;
        Ok((StatusCode::OK, json!({ "ok": true })))
    })())
}

async fn http_fault(State(app): State<Shared>, ControlBody(body): ControlBody) -> Response {
    reply(
        parse::<Fault>(&body)
            .and_then(|f| inject_fault(&app, f))
            .map(|id| (StatusCode::CREATED, json!({ "id": id }))),
    )
}

async fn http_list_faults(State(app): State<Shared>) -> Response {
    let list: Vec<Value> = app
        .lock()
        .faults
        .iter()
        .map(|f| json!({ "id": f.id, "remaining": f.remaining, "fault": f.fault }))
        .collect();
    axum::Json(json!({ "faults": list })).into_response()
}

async fn http_clear_faults(State(app): State<Shared>) -> Response {
    app.lock().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinceQuery {
    since: Option<u64>,
}

/// The `GET /_emulator/requests` body, serialised after the log's lock is released.
#[derive(Serialize)]
struct RequestsBody {
    requests: Vec<std::sync::Arc<crate::request_log::LoggedRequest>>,
}

async fn http_requests(State(app): State<Shared>, uri: Uri) -> Response {
    let since = match uri.query() {
        None => Ok(0),
        Some(q) => serde_urlencoded::from_str::<SinceQuery>(q)
            .map(|s| s.since.unwrap_or(0))
            .map_err(|_| {
                EmulatorError::bad_request(
                    "the only query parameter is since, a non-negative integer",
                )
            }),
    };
    match since {
        Ok(since) => {
            // Only the snapshot is taken under the lock: the API never waits on serialising.
            let requests = app.log().since(since);
            axum::Json(RequestsBody { requests }).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn http_clear_requests(State(app): State<Shared>) -> Response {
    app.clear_log();
    StatusCode::NO_CONTENT.into_response()
}

async fn http_reset(State(app): State<Shared>) -> Response {
    app.reset();
    axum::Json(json!({ "ok": true })).into_response()
}
