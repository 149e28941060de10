//! Read-mostly fixtures: connected channels, models and integrations.

use serde_json::Value;

use super::{Ctx, Reply, json_object, ok, query_pairs, req_nonempty};
use crate::error::{ApiResult, EmulatorError};
use crate::ids;
use crate::state::check_id;

pub(crate) fn channels(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(
        org.channels.iter().map(|c| c.json()).collect(),
    ))
}

pub(crate) fn models(ctx: &Ctx) -> ApiResult<Reply> {
    let provider = query_pairs(ctx)?
        .into_iter()
        .find(|(k, _)| k == "provider")
        .map(|(_, v)| v);
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let v = org
        .models
        .iter()
        .filter(|m| {
            provider
                .as_deref()
                .is_none_or(|p| p.is_empty() || m.provider == p)
        })
        .map(|m| m.json())
        .collect();
    ok(Value::Array(v))
}

pub(crate) fn llm_list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(org.llm.iter().map(|i| i.json()).collect()))
}

pub(crate) fn llm_update(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*check_id(id, "ai_", "LLM integration")?;
    let body = json_object(ctx, false)?;
    let name = req_nonempty(&body, "name")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let i = org
        .llm
        .iter_mut()
        .find(|i| i.id == id)
        .ok_or_else(|| EmulatorError::not_found("LLM integration not found"))?;
    i.name = name;
    i.updated_at = ids::now();
    ok(i.json())
}

pub(crate) fn repos(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(org.repos.iter().map(|r| r.json()).collect()))
}
