//! Agents, their deploys, resource assignments and environment variables.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use super::{
    Ctx, Reply, check_env_name, created, json_object, no_content, ok, opt_bool, opt_str,
    req_nonempty, req_str,
};
use crate::agent_sim;
use crate::error::{ApiResult, EmulatorError};
use crate::ids;
use crate::state::{Agent, EnvVar, Org, Resource, check_id, sorted};

/// Largest `instances_count`, on the public and the control API alike (the real limit is
/// undocumented).
pub const MAX_INSTANCES_COUNT: u32 = 1000;

/// `n` as an instance count: an integer in `1..=MAX_INSTANCES_COUNT`.
pub(crate) fn check_instances_count(n: i64) -> ApiResult<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_INSTANCES_COUNT).contains(n))
        .ok_or_else(|| {
            EmulatorError::bad_request(format!(
                "instances_count must be an integer between 1 and {MAX_INSTANCES_COUNT}"
            ))
        })
}

/// Parses `instances_count` (absent = `default`), which must be an integer ≥ 1.
pub(crate) fn instances_count(
    m: &Map<String, Value>,
    default: Option<u32>,
) -> ApiResult<Option<u32>> {
    let Some(v) = m.get("instances_count") else {
        return Ok(default);
    };
    // JSON has one number type: 2.0 is an integer too.
    let n = v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
            .map(|f| f as i64)
    });
    // Anything else (a string, 1.5) gets the same message as an out-of-range integer.
    check_instances_count(n.unwrap_or(0)).map(Some)
}

/// Path words after an agent reference: a slug ending in one (or, for the routes with an id,
/// with one before its last segment) could not be told apart from that route.
const ROUTE_WORDS: [&str; 4] = ["conversations", "resources", "env-vars", "deploy"];

/// An explicit slug must be reachable, raw or `%2F`-encoded, on every agent route:
/// `[a-z0-9._-]+(/[a-z0-9._-]+)*`, no `.` or `..` segment (clients normalise them away), not a
/// `cci_` id, and no route word where the router would take it for one.
pub(crate) fn check_slug(s: &str) -> ApiResult<()> {
    let segs: Vec<&str> = s.split('/').collect();
    let charset_ok = segs.iter().all(|seg| {
        !seg.is_empty()
            && *seg != "."
            && *seg != ".."
            && seg.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    });
    if !charset_ok || s.starts_with("cci_") {
        return Err(EmulatorError::bad_request(format!(
            "invalid slug {s:?}: use lowercase letters, digits, '.', '_' and '-', in segments \
             separated by single '/' (no '.' or '..' segment, not starting with cci_)"
        )));
    }
    let last = segs[segs.len() - 1];
    let before_last = segs.len().checked_sub(2).map(|i| segs[i]);
    if ROUTE_WORDS.contains(&last)
        || before_last.is_some_and(|w| w == "resources" || w == "env-vars")
    {
        return Err(EmulatorError::bad_request(format!(
            "invalid slug {s:?}: it would be taken for an agent route (a last segment \
             conversations, resources, env-vars or deploy, or resources/env-vars before the last)"
        )));
    }
    Ok(())
}

/// Creates an agent; `slug` overrides the one derived from the name (control API only).
pub(crate) fn insert_agent(
    org: &mut Org,
    seq: u64,
    name: &str,
    slug: Option<&str>,
    instances: u32,
) -> ApiResult<String> {
    let slug = match slug {
        Some(s) => {
            check_slug(s)?;
            if org.slug_taken(s) {
                return Err(EmulatorError::bad_request(format!(
                    "slug {s} is already taken"
                )));
            }
            s.to_string()
        }
        None => org.unique_slug(name),
    };
    let now = ids::now();
    let agent = Agent {
        id: ids::new_id("cci_"),
        name: name.to_string(),
        slug,
        instances_count: instances,
        description: Some(String::new()),
        is_self_hosted: false,
        system_prompt: None,
        created_at: now,
        updated_at: now,
        seq,
        deployed: false,
        deployed_model: None,
        deployed_instances: 0,
        running: 0,
        script: VecDeque::new(),
        queue: VecDeque::new(),
    };
    let id = agent.id.clone();
    org.agents.insert(id.clone(), agent);
    Ok(id)
}

pub(crate) fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let v: Vec<Value> = sorted(org.agents.values(), |a| a.seq)
        .into_iter()
        .map(Agent::json)
        .collect();
    ok(Value::Array(v))
}

pub(crate) fn create(ctx: &Ctx) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let name = req_nonempty(&body, "name")?;
    let instances = instances_count(&body, Some(1))?.unwrap_or(1);
    let description = opt_str(&body, "description")?;
    let system_prompt = opt_str(&body, "system_prompt")?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let id = insert_agent(org, seq, &name, None, instances)?;
    let agent = org
        .agents
        .get_mut(&id)
        .ok_or_else(|| EmulatorError::not_found("agent not found"))?;
    if let Some(d) = description {
        agent.description = Some(d);
    }
    agent.system_prompt = system_prompt;
    created(agent.json())
}

pub(crate) fn get(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(org.agent_mut(r)?.json())
}

pub(crate) fn update(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let name = match body.get("name") {
        None => None,
        Some(_) => Some(req_nonempty(&body, "name")?),
    };
    let description = opt_str(&body, "description")?.map(Some);
    let system_prompt = match body.get("system_prompt") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            return Err(EmulatorError::bad_request(
                "system_prompt must be a string or null",
            ));
        }
    };
    let instances = instances_count(&body, None)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let agent = org.agent_mut(r)?;
    let mut changed = false;
    if let Some(n) = name {
        agent.name = n;
        changed = true;
    }
    if let Some(d) = description {
        agent.description = d;
        changed = true;
    }
    if let Some(p) = system_prompt {
        agent.system_prompt = p;
        changed = true;
    }
    if let Some(n) = instances {
        agent.instances_count = n;
        changed = true;
    }
    if changed {
        agent.updated_at = ids::now();
    }
    ok(agent.json())
}

pub(crate) fn delete(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let id = org.agent_id(r)?;
    org.agents.remove(&id);
    // Assignments and env vars go with the agent; its conversations stay readable.
    org.resources.retain(|_, res| res.container_id != id);
    org.env_vars.retain(|_, e| e.container_id != id);
    no_content()
}

pub(crate) fn deploy(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let body = json_object(ctx, true)?;
    opt_bool(&body, "update_config_only")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let id = org.agent_id(r)?;
    let epoch = org.epoch;
    agent_sim::schedule_deploy(&ctx.app, &ctx.key, epoch, &id);
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Some(json!({ "status": "deploying" })),
    ))
}

// ---------------------------------------------------------------- resources

/// The entity types an agent can be given, with the ID check and existence check of each.
/// Returns the entity id in the canonical case it is stored under.
fn check_entity(org: &Org, entity_type: &str, entity_id: &str) -> ApiResult<String> {
    let canonical = |prefix: &str, what: &str| check_id(entity_id, prefix, what);
    let (id, what, exists) = match entity_type {
        "agent_artifact_rule" => {
            let id = canonical("aar_", "rule")?;
            let exists = org.rules.contains_key(&id);
            (id, "rule", exists)
        }
        "agent_artifact_mcp_cfg" => {
            let id = canonical("amc_", "MCP config")?;
            let exists = org.mcp.contains_key(&id);
            (id, "MCP config", exists)
        }
        "agent_artifact_skill" => {
            let id = canonical("ask_", "skill")?;
            let exists = org.skills.contains_key(&id);
            (id, "skill", exists)
        }
        "vault" => {
            let id = canonical("vlt_", "vault")?;
            let exists = org.vaults.contains_key(&id);
            (id, "vault", exists)
        }
        "anthropic_integration" => {
            let id = canonical("ai_", "LLM integration")?;
            let exists = org.llm.iter().any(|i| i.id == id);
            (id, "LLM integration", exists)
        }
        "github_repository_integration" => {
            if !ids::is_ulid(entity_id) {
                return Err(EmulatorError::bad_request(format!(
                    "invalid GitHub repository id: {entity_id}"
                )));
            }
            let id = entity_id.to_ascii_uppercase();
            let exists = org.repos.iter().any(|g| g.id == id);
            (id, "GitHub repository", exists)
        }
        "llm_model" => {
            let ok_slug = !entity_id.is_empty()
                && entity_id.len() <= 100
                && entity_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
            if !ok_slug {
                return Err(EmulatorError::bad_request(format!(
                    "invalid model id: {entity_id}"
                )));
            }
            let exists = org.models.iter().any(|m| m.id == entity_id);
            (entity_id.to_string(), "model", exists)
        }
        other => {
            return Err(EmulatorError::bad_request(format!(
                "invalid entity_type {other:?}: expected one of agent_artifact_rule, agent_artifact_mcp_cfg, \
                 agent_artifact_skill, vault, github_repository_integration, anthropic_integration, llm_model"
            )));
        }
    };
    if !exists {
        return Err(EmulatorError::not_found(format!("{what} not found")));
    }
    Ok(id)
}

pub(crate) fn resources_list(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let id = org.agent_id(r)?;
    let v: Vec<Value> = sorted(
        org.resources.values().filter(|x| x.container_id == id),
        |x| x.seq,
    )
    .into_iter()
    .map(Resource::json)
    .collect();
    ok(Value::Array(v))
}

pub(crate) fn resources_assign(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let entity_type = req_str(&body, "entity_type")?;
    let entity_id = req_str(&body, "entity_id")?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(r)?;
    let entity_id = check_entity(org, &entity_type, &entity_id)?;
    if org.resources.values().any(|x| {
        x.container_id == agent_id && x.entity_type == entity_type && x.entity_id == entity_id
    }) {
        return Err(EmulatorError::bad_request(format!(
            "{entity_type} {entity_id} is already assigned to this agent"
        )));
    }
    if entity_type == "vault" && org.agents.get(&agent_id).is_some_and(|a| a.is_self_hosted) {
        return Err(EmulatorError::bad_request(
            "vaults cannot be attached to self-hosted agents",
        ));
    }
    let res = Resource {
        id: ids::new_id("ccr_"),
        container_id: agent_id,
        entity_type,
        entity_id,
        created_at: ids::now(),
        seq,
    };
    let v = res.json();
    org.resources.insert(res.id.clone(), res);
    created(v)
}

pub(crate) fn resources_delete(ctx: &Ctx, r: &str, res_id: &str) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(r)?;
    let res_id = &*check_id(res_id, "ccr_", "resource")?;
    match org.resources.get(res_id) {
        Some(x) if x.container_id == agent_id => {
            org.resources.remove(res_id);
            no_content()
        }
        _ => Err(EmulatorError::not_found("resource not found")),
    }
}

// ---------------------------------------------------------------- env vars

/// Env var keys: `[A-Za-z_][A-Za-z0-9_]*`, not starting with a reserved prefix.
fn check_env_key(key: &str) -> ApiResult<()> {
    check_env_name("key", key)?;
    for p in ["NAIRI_", "CCAGENT_"] {
        if key.starts_with(p) {
            return Err(EmulatorError::bad_request(format!(
                "invalid key {key:?}: the prefix {p} is reserved"
            )));
        }
    }
    Ok(())
}

pub(crate) fn env_list(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let id = org.agent_id(r)?;
    let v: Vec<Value> = sorted(
        org.env_vars.values().filter(|x| x.container_id == id),
        |x| x.seq,
    )
    .into_iter()
    .map(EnvVar::json)
    .collect();
    ok(Value::Array(v))
}

fn key_taken(org: &Org, agent_id: &str, key: &str, except: Option<&str>) -> bool {
    org.env_vars
        .values()
        .any(|e| e.container_id == agent_id && e.key == key && Some(e.id.as_str()) != except)
}

pub(crate) fn env_create(ctx: &Ctx, r: &str) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let key = req_str(&body, "key")?;
    let value = req_str(&body, "value")?;
    check_env_key(&key)?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(r)?;
    if key_taken(org, &agent_id, &key, None) {
        return Err(EmulatorError::bad_request(format!(
            "env var {key} already exists on this agent"
        )));
    }
    let now = ids::now();
    let e = EnvVar {
        id: ids::new_id("cev_"),
        container_id: agent_id,
        key,
        value,
        created_at: now,
        updated_at: now,
        seq,
    };
    let v = e.json();
    org.env_vars.insert(e.id.clone(), e);
    created(v)
}

/// Returns the env var id in the canonical case it is stored under.
fn env_lookup(org: &Org, agent_id: &str, id: &str) -> ApiResult<String> {
    let id = check_id(id, "cev_", "env var")?;
    match org.env_vars.get(&id) {
        Some(e) if e.container_id == agent_id => Ok(id),
        _ => Err(EmulatorError::not_found("env var not found")),
    }
}

pub(crate) fn env_update(ctx: &Ctx, r: &str, id: &str) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let key = opt_str(&body, "key")?;
    let value = opt_str(&body, "value")?;
    if let Some(k) = &key {
        check_env_key(k)?;
    }
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(r)?;
    let id = &*env_lookup(org, &agent_id, id)?;
    if let Some(k) = &key
        && key_taken(org, &agent_id, k, Some(id))
    {
        return Err(EmulatorError::bad_request(format!(
            "env var {k} already exists on this agent"
        )));
    }
    let e = org
        .env_vars
        .get_mut(id)
        .ok_or_else(|| EmulatorError::not_found("env var not found"))?;
    let changed = key.is_some() || value.is_some();
    if let Some(k) = key {
        e.key = k;
    }
    if let Some(v) = value {
        e.value = v;
    }
    if changed {
        e.updated_at = ids::now();
    }
    ok(e.json())
}

pub(crate) fn env_delete(ctx: &Ctx, r: &str, id: &str) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(r)?;
    let id = &*env_lookup(org, &agent_id, id)?;
    org.env_vars.remove(id);
    no_content()
}
