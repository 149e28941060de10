//! In-memory state: organisations and everything they own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ApiResult, EmulatorError};
use crate::faults::FaultEntry;
use crate::ids::{self, fmt_ts, ser_ts};
use crate::request_log::RequestLog;
use crate::script::{ScriptedTurn, Timings};

/// Shared application state.
pub(crate) struct App {
    pub world: Mutex<World>,
    /// Separate from `world`: logging and reading the log never hold the state lock.
    pub log: Mutex<RequestLog>,
    pub timings: Timings,
    pub limits: Limits,
    pub control: ControlAccess,
    pub rt: tokio::runtime::Handle,
}

/// Bounds on what one request may cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Time a client has to send a whole request body.
    pub body_timeout: Duration,
}

/// Who may use the control API.
#[derive(Debug, Clone)]
pub(crate) struct ControlAccess {
    pub token: String,
    /// Whether `/_emulator` needs the token (a server reachable from other machines).
    pub required: bool,
}

pub(crate) type Shared = Arc<App>;

impl App {
    /// State for a server on the current tokio runtime.
    pub fn new(world: World, timings: Timings) -> Self {
        Self {
            world: Mutex::new(world),
            log: Mutex::new(RequestLog::default()),
            timings,
            limits: Limits {
                body_timeout: crate::request_body::DEFAULT_BODY_TIMEOUT,
            },
            control: ControlAccess {
                token: ids::new_control_token(),
                required: false,
            },
            rt: tokio::runtime::Handle::current(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, World> {
        // A panic elsewhere must not make the emulator unusable.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Empties the request log (the sequence goes on).
    pub fn clear_log(&self) {
        self.log().clear();
    }

    /// Clears all state, faults and the request log; existing keys get fresh, seeded
    /// organisations.
    pub fn reset(&self) {
        self.lock().reset();
        self.clear_log();
    }
}

#[derive(Default)]
pub(crate) struct World {
    pub orgs: HashMap<String, Org>,
    pub faults: Vec<FaultEntry>,
    seq: u64,
    epochs: u64,
}

impl World {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Creates (or re-seeds) the organisation owning `key`.
    pub fn create_org(&mut self, key: &str, legacy_job_ids: bool) {
        self.epochs += 1;
        let epoch = self.epochs;
        let mut org = Org {
            key: key.to_string(),
            legacy_job_ids,
            epoch,
            ..Org::default()
        };
        org.seed(self);
        self.orgs.insert(key.to_string(), org);
    }

    pub fn org(&mut self, key: &str) -> ApiResult<&mut Org> {
        self.orgs
            .get_mut(key)
            .ok_or_else(|| EmulatorError::unauthorized("invalid API key"))
    }

    /// Clears organisations and faults; existing keys get fresh, seeded organisations.
    fn reset(&mut self) {
        let keys: Vec<(String, bool)> = self
            .orgs
            .values()
            .map(|o| (o.key.clone(), o.legacy_job_ids))
            .collect();
        self.orgs.clear();
        self.faults.clear();
        for (k, legacy) in keys {
            self.create_org(&k, legacy);
        }
    }
}

#[derive(Default)]
pub(crate) struct Org {
    pub key: String,
    pub legacy_job_ids: bool,
    /// Changes on reset so that background tasks of the old state stop touching the new one.
    pub epoch: u64,
    pub agents: HashMap<String, Agent>,
    pub resources: HashMap<String, Resource>,
    pub env_vars: HashMap<String, EnvVar>,
    pub rules: HashMap<String, Rule>,
    pub mcp: HashMap<String, McpConfig>,
    pub skills: HashMap<String, Skill>,
    pub vaults: HashMap<String, Vault>,
    pub secrets: HashMap<String, Secret>,
    pub channels: Vec<Channel>,
    pub models: Vec<Model>,
    pub llm: Vec<LlmIntegration>,
    pub repos: Vec<GithubRepo>,
    pub scheduled: HashMap<String, ScheduledJob>,
    pub jobs: HashMap<String, Job>,
    pub msg_job: HashMap<String, String>,
    pub attachments: HashMap<String, Attachment>,
}

/// Sorted by creation order.
pub(crate) fn sorted<'a, T: 'a, I: Iterator<Item = &'a T>>(
    it: I,
    seq: impl Fn(&T) -> u64,
) -> Vec<&'a T> {
    let mut v: Vec<&T> = it.collect();
    v.sort_by_key(|x| seq(x));
    v
}

impl Org {
    fn seed(&mut self, w: &mut World) {
        let now = ids::now();
        self.channels = vec![
            Channel {
                id: ids::new_id("cc_"),
                channel_type: "slack".into(),
                channel_id: "C09M8FRJYTF".into(),
                channel_name: "eng-alerts".into(),
                mode: "execute".into(),
                created_at: now,
            },
            Channel {
                id: ids::new_id("cc_"),
                channel_type: "discord".into(),
                channel_id: "1234567890123456789".into(),
                channel_name: "support".into(),
                mode: "ask".into(),
                created_at: now,
            },
        ];
        self.models = vec![
            Model::new(
                "opus-4.5",
                "Claude Opus 4.5",
                "anthropic",
                Some(5.0),
                Some(25.0),
            ),
            Model::new(
                "sonnet-4.6",
                "Claude Sonnet 4.6",
                "anthropic",
                Some(3.0),
                Some(15.0),
            ),
            Model::new(
                "claude-opus-4-7",
                "Claude Opus 4.7 (OpenCode)",
                "opencode",
                Some(5.0),
                Some(25.0),
            ),
        ];
        self.llm = vec![LlmIntegration {
            id: ids::new_id("ai_"),
            name: "Anthropic".into(),
            provider: "anthropic".into(),
            created_at: now,
            updated_at: now,
        }];
        self.repos = vec![GithubRepo {
            id: ids::new_ulid(),
            full_name: "acme/web".into(),
            installation_id: "48213337".into(),
            created_at: now,
        }];
        let _ = w.next_seq();
    }

    /// Finds an agent by `cci_` id or slug.
    pub fn agent_id(&self, r: &str) -> ApiResult<String> {
        if r.starts_with("cci_") {
            let id = ids::canonical_id(r, "cci_")
                .ok_or_else(|| EmulatorError::bad_request(format!("invalid agent id: {r}")))?;
            return if self.agents.contains_key(&id) {
                Ok(id)
            } else {
                Err(EmulatorError::not_found("agent not found"))
            };
        }
        self.agents
            .values()
            .find(|a| a.slug == r)
            .map(|a| a.id.clone())
            .ok_or_else(|| EmulatorError::not_found("agent not found"))
    }

    pub fn agent_mut(&mut self, r: &str) -> ApiResult<&mut Agent> {
        let id = self.agent_id(r)?;
        self.agents
            .get_mut(&id)
            .ok_or_else(|| EmulatorError::not_found("agent not found"))
    }

    /// A slug derived from `name`, unique in the organisation.
    pub fn unique_slug(&self, name: &str) -> String {
        let mut base = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                base.push(c);
            } else if !base.ends_with('-') {
                base.push('-');
            }
        }
        let base = base.trim_matches('-').to_string();
        let base = if base.is_empty() {
            "agent".to_string()
        } else {
            base
        };
        if !self.slug_taken(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|s| !self.slug_taken(s))
            .unwrap_or(base)
    }

    pub fn slug_taken(&self, slug: &str) -> bool {
        self.agents.values().any(|a| a.slug == slug)
    }

    pub fn job_mut(&mut self, id: &str) -> ApiResult<&mut Job> {
        let id = check_job_id(id)?;
        self.jobs
            .get_mut(&id)
            .ok_or_else(|| EmulatorError::not_found("conversation not found"))
    }

    /// Number of agents an entity is assigned to.
    pub fn assigned_count(&self, entity_type: &str, entity_id: &str) -> usize {
        let mut agents: Vec<&str> = self
            .resources
            .values()
            .filter(|r| r.entity_type == entity_type && r.entity_id == entity_id)
            .map(|r| r.container_id.as_str())
            .collect();
        agents.sort_unstable();
        agents.dedup();
        agents.len()
    }

    pub fn new_job_id(&self) -> String {
        ids::new_id(if self.legacy_job_ids { "j_" } else { "job_" })
    }

    /// Appends a message to a job and bumps the job's `updated_at`.
    pub fn push_message(&mut self, job_id: &str, msg: Message) {
        if let Some(job) = self.jobs.get_mut(job_id) {
            job.updated_at = msg.created_at;
            self.msg_job.insert(msg.id.clone(), job_id.to_string());
            job.messages.push(msg);
        }
    }

    pub fn message_mut(&mut self, id: &str) -> Option<&mut Message> {
        let job_id = self.msg_job.get(id)?;
        self.jobs
            .get_mut(job_id)?
            .messages
            .iter_mut()
            .find(|m| m.id == id)
    }
}

/// Validates a `job_`/`j_` id; returns it in the canonical case it is stored under.
pub(crate) fn check_job_id(id: &str) -> ApiResult<String> {
    ids::canonical_id(id, "job_")
        .or_else(|| ids::canonical_id(id, "j_"))
        .ok_or_else(|| EmulatorError::bad_request(format!("invalid job id: {id}")))
}

/// Validates `prefix` + ULID, else a 400 naming the kind of ID; returns the id in the
/// canonical case it is stored under.
pub(crate) fn check_id(id: &str, prefix: &str, what: &str) -> ApiResult<String> {
    ids::canonical_id(id, prefix)
        .ok_or_else(|| EmulatorError::bad_request(format!("invalid {what} id: {id}")))
}

pub(crate) struct Agent {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub instances_count: u32,
    pub description: Option<String>,
    pub is_self_hosted: bool,
    pub system_prompt: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
    pub deployed: bool,
    /// Model picked up at the last deploy (from an `llm_model` assignment).
    pub deployed_model: Option<String>,
    /// `instances_count` at the last deploy: how many jobs run at once.
    pub deployed_instances: u32,
    pub running: u32,
    pub script: VecDeque<ScriptedTurn>,
    /// User messages waiting for an instance, in arrival order.
    pub queue: VecDeque<String>,
}

impl Agent {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "agent_id": self.slug,
            "instances_count": self.instances_count,
            "description": self.description,
            "is_self_hosted": self.is_self_hosted,
            "system_prompt": self.system_prompt,
            "created_at": fmt_ts(&self.created_at),
            "updated_at": fmt_ts(&self.updated_at),
        })
    }
}

pub(crate) struct Resource {
    pub id: String,
    pub container_id: String,
    pub entity_type: String,
    pub entity_id: String,
    pub created_at: DateTime<Utc>,
    pub seq: u64,
}

impl Resource {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "container_id": self.container_id, "entity_type": self.entity_type,
            "entity_id": self.entity_id, "created_at": fmt_ts(&self.created_at),
        })
    }
}

pub(crate) struct EnvVar {
    pub id: String,
    pub container_id: String,
    pub key: String,
    pub value: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

impl EnvVar {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "container_id": self.container_id, "key": self.key, "value": self.value,
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        })
    }
}

pub(crate) struct Rule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

impl Rule {
    pub fn json(&self, timestamps: bool) -> Value {
        let mut v = json!({ "id": self.id, "title": self.title, "description": self.description, "content": self.content });
        if timestamps {
            v["created_at"] = fmt_ts(&self.created_at).into();
            v["updated_at"] = fmt_ts(&self.updated_at).into();
        }
        v
    }
}

pub(crate) struct McpConfig {
    pub id: String,
    pub title: String,
    pub description: String,
    pub content: String,
    pub is_sensitive: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

impl McpConfig {
    pub fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "title": self.title, "description": self.description, "is_sensitive": self.is_sensitive,
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        });
        if !self.is_sensitive {
            v["content"] = self.content.clone().into();
        }
        v
    }
}

pub(crate) struct Skill {
    pub id: String,
    pub name: String,
    pub description: String,
    pub warnings: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

impl Skill {
    pub fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "name": self.name, "description": self.description,
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        });
        if !self.warnings.is_empty() {
            v["warnings"] = json!(self.warnings);
        }
        v
    }
}

pub(crate) struct Vault {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

pub(crate) struct Secret {
    pub id: String,
    pub vault_id: String,
    pub env_key: String,
    pub value: String,
    pub allowed_domains: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

impl Secret {
    /// Metadata only: the value is never returned.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "env_key": self.env_key, "allowed_domains": self.allowed_domains,
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        })
    }
}

pub(crate) struct Channel {
    pub id: String,
    pub channel_type: String,
    pub channel_id: String,
    pub channel_name: String,
    pub mode: String,
    pub created_at: DateTime<Utc>,
}

impl Channel {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "channel_type": self.channel_type, "channel_id": self.channel_id,
            "channel_name": self.channel_name, "default_agent_id": null, "mode": self.mode,
            "created_at": fmt_ts(&self.created_at),
        })
    }
}

pub(crate) struct Model {
    pub id: String,
    pub display_name: String,
    pub provider: String,
    pub input_price: Option<f64>,
    pub output_price: Option<f64>,
}

impl Model {
    fn new(id: &str, name: &str, provider: &str, input: Option<f64>, output: Option<f64>) -> Self {
        Self {
            id: id.into(),
            display_name: name.into(),
            provider: provider.into(),
            input_price: input,
            output_price: output,
        }
    }
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "display_name": self.display_name, "provider": self.provider,
            "input_price": self.input_price, "output_price": self.output_price,
            "is_free": self.input_price.unwrap_or(0.0) == 0.0 && self.output_price.unwrap_or(0.0) == 0.0,
        })
    }
}

pub(crate) struct LlmIntegration {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LlmIntegration {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "provider": self.provider,
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        })
    }
}

pub(crate) struct GithubRepo {
    pub id: String,
    pub full_name: String,
    pub installation_id: String,
    pub created_at: DateTime<Utc>,
}

impl GithubRepo {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "full_name": self.full_name, "installation_id": self.installation_id,
            "created_at": fmt_ts(&self.created_at),
        })
    }
}

#[derive(Clone)]
pub(crate) struct ScheduledJob {
    pub id: String,
    pub schedule: String,
    pub timezone: String,
    pub prompt: String,
    pub connected_channel_id: Option<String>,
    pub agent_id: Option<String>,
    pub job_type: String,
    pub is_threaded: bool,
    pub is_enabled: bool,
    pub last_executed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
}

impl ScheduledJob {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "schedule": self.schedule, "timezone": self.timezone, "prompt": self.prompt,
            "connected_channel_id": self.connected_channel_id, "agent_id": self.agent_id,
            "job_type": self.job_type, "is_threaded": self.is_threaded, "is_enabled": self.is_enabled,
            "last_executed_at": fmt_ts(&self.last_executed_at),
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        })
    }
}

pub(crate) struct Attachment {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub data: Arc<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

pub(crate) struct Job {
    pub id: String,
    pub agent_id: String,
    pub status: String,
    pub source: String,
    pub mode: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: u64,
    /// A turn of this job is being processed; its later messages wait.
    pub busy: bool,
    pub messages: Vec<Message>,
}

impl Job {
    /// A new `active` job with no messages yet.
    pub fn new(id: String, agent_id: String, source: &str, mode: &str, seq: u64) -> Self {
        let now = ids::now();
        Self {
            id,
            agent_id,
            status: "active".into(),
            source: source.into(),
            mode: mode.into(),
            created_at: now,
            updated_at: now,
            seq,
            busy: false,
            messages: Vec::new(),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "agent_id": self.agent_id, "status": self.status,
            "created_at": fmt_ts(&self.created_at), "updated_at": fmt_ts(&self.updated_at),
        })
    }
    pub fn api_started(&self) -> bool {
        self.source == "api"
    }
}

/// A conversation message; optional fields are omitted from JSON when absent.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Message {
    pub id: String,
    pub job_id: String,
    pub content: String,
    pub role: &'static str,
    pub status: &'static str,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_tool_use_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_status: Option<String>,
}

impl Message {
    pub fn new(job_id: &str, role: &'static str, status: &'static str, content: String) -> Self {
        let now = ids::now();
        Self {
            id: ids::new_id("cmsg_"),
            job_id: job_id.to_string(),
            content,
            role,
            status,
            created_at: now,
            updated_at: now,
            ..Self::default()
        }
    }

    pub fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn set_status(&mut self, status: &'static str) {
        self.status = status;
        self.updated_at = ids::now();
    }
}
