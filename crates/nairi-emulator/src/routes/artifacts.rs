//! Rules and MCP configs.

use serde_json::Value;

use super::{Ctx, Reply, created, json_object, no_content, ok, opt_bool, opt_str, req_str};
use crate::error::{ApiResult, EmulatorError};
use crate::ids;
use crate::state::{McpConfig, Rule, check_id, sorted};

fn rule_id(id: &str) -> ApiResult<String> {
    check_id(id, "aar_", "rule")
}

pub(crate) fn rule_list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(
        sorted(org.rules.values(), |r| r.seq)
            .into_iter()
            .map(|r| r.json(true))
            .collect(),
    ))
}

pub(crate) fn rule_create(ctx: &Ctx) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let title = req_str(&body, "title")?;
    let description = req_str(&body, "description")?;
    let content = req_str(&body, "content")?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let now = ids::now();
    let r = Rule {
        id: ids::new_id("aar_"),
        title,
        description,
        content,
        created_at: now,
        updated_at: now,
        seq,
    };
    let v = r.json(true);
    org.rules.insert(r.id.clone(), r);
    created(v)
}

pub(crate) fn rule_get(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*rule_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let r = org
        .rules
        .get(id)
        .ok_or_else(|| EmulatorError::not_found("rule not found"))?;
    ok(r.json(false))
}

/// PUT replaces every field.
pub(crate) fn rule_put(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*rule_id(id)?;
    let body = json_object(ctx, false)?;
    let title = req_str(&body, "title")?;
    let description = req_str(&body, "description")?;
    let content = req_str(&body, "content")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let r = org
        .rules
        .get_mut(id)
        .ok_or_else(|| EmulatorError::not_found("rule not found"))?;
    r.title = title;
    r.description = description;
    r.content = content;
    r.updated_at = ids::now();
    ok(r.json(true))
}

pub(crate) fn rule_delete(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*rule_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    if !org.rules.contains_key(id) {
        return Err(EmulatorError::not_found("rule not found"));
    }
    let n = org.assigned_count("agent_artifact_rule", id);
    if n > 0 {
        return Err(EmulatorError::bad_request(format!(
            "cannot delete rule: still assigned to {n} agent(s)"
        )));
    }
    org.rules.remove(id);
    no_content()
}

/// MCP content must be JSON with a non-empty `mcpServers` object.
pub(crate) fn check_mcp_content(content: &str) -> ApiResult<()> {
    let v: Value = serde_json::from_str(content)
        .map_err(|e| EmulatorError::bad_request(format!("content must be valid JSON: {e}")))?;
    match v.get("mcpServers") {
        Some(Value::Object(m)) if !m.is_empty() => Ok(()),
        Some(Value::Object(_)) => Err(EmulatorError::bad_request(
            "content must define at least one server in mcpServers",
        )),
        _ => Err(EmulatorError::bad_request(
            "content must be a JSON object with an mcpServers object",
        )),
    }
}

fn mcp_id(id: &str) -> ApiResult<String> {
    check_id(id, "amc_", "MCP config")
}

pub(crate) fn mcp_list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(
        sorted(org.mcp.values(), |r| r.seq)
            .into_iter()
            .map(McpConfig::json)
            .collect(),
    ))
}

pub(crate) fn mcp_create(ctx: &Ctx) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let title = req_str(&body, "title")?;
    let description = req_str(&body, "description")?;
    let content = req_str(&body, "content")?;
    let is_sensitive = opt_bool(&body, "is_sensitive")?.unwrap_or(false);
    check_mcp_content(&content)?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let now = ids::now();
    let c = McpConfig {
        id: ids::new_id("amc_"),
        title,
        description,
        content,
        is_sensitive,
        created_at: now,
        updated_at: now,
        seq,
    };
    let v = c.json();
    org.mcp.insert(c.id.clone(), c);
    created(v)
}

pub(crate) fn mcp_get(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*mcp_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let c = org
        .mcp
        .get(id)
        .ok_or_else(|| EmulatorError::not_found("MCP config not found"))?;
    ok(c.json())
}

pub(crate) fn mcp_put(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*mcp_id(id)?;
    let body = json_object(ctx, false)?;
    let title = req_str(&body, "title")?;
    let description = req_str(&body, "description")?;
    let content = opt_str(&body, "content")?;
    let is_sensitive = opt_bool(&body, "is_sensitive")?;
    if let Some(c) = &content {
        check_mcp_content(c)?;
    }
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let c = org
        .mcp
        .get_mut(id)
        .ok_or_else(|| EmulatorError::not_found("MCP config not found"))?;
    c.title = title;
    c.description = description;
    if let Some(content) = content {
        c.content = content;
    }
    if let Some(s) = is_sensitive {
        c.is_sensitive = s;
    }
    c.updated_at = ids::now();
    ok(c.json())
}

pub(crate) fn mcp_delete(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*mcp_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    if !org.mcp.contains_key(id) {
        return Err(EmulatorError::not_found("MCP config not found"));
    }
    let n = org.assigned_count("agent_artifact_mcp_cfg", id);
    if n > 0 {
        return Err(EmulatorError::bad_request(format!(
            "cannot delete MCP config: still assigned to {n} agent(s)"
        )));
    }
    org.mcp.remove(id);
    no_content()
}
