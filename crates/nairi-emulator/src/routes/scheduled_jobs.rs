//! Scheduled jobs: cron prompts posting to Slack/Discord or running in-app.

use std::str::FromStr;

use serde_json::Value;

use super::{
    Ctx, Reply, created, json_object, no_content, ok, opt_bool, opt_str, req_nonempty, req_str,
};
use crate::cron;
use crate::error::{ApiResult, EmulatorError};
use crate::ids;
use crate::state::{Org, ScheduledJob, check_id, sorted};

const FIELDS: [&str; 8] = [
    "schedule",
    "timezone",
    "prompt",
    "job_type",
    "connected_channel_id",
    "agent_id",
    "is_threaded",
    "is_enabled",
];

fn bad(msg: impl Into<String>) -> EmulatorError {
    EmulatorError::bad_request(msg)
}

fn check_schedule(s: &str) -> ApiResult<()> {
    cron::check(s).map_err(|e| bad(format!("invalid schedule {s:?}: {e}")))
}

fn check_timezone(tz: &str) -> ApiResult<()> {
    chrono_tz::Tz::from_str(tz).map(|_| ()).map_err(|_| {
        bad(format!(
            "invalid timezone {tz:?}: must be an IANA time zone such as UTC or America/New_York"
        ))
    })
}

/// Checks the fields that depend on each other and resolves the target channel or agent.
fn check_target(org: &Org, j: &mut ScheduledJob) -> ApiResult<()> {
    match j.job_type.as_str() {
        "slack" | "discord" => {
            let ch = j.connected_channel_id.clone().ok_or_else(|| {
                bad(format!(
                    "connected_channel_id is required for {} jobs",
                    j.job_type
                ))
            })?;
            let found = org
                .channels
                .iter()
                .find(|c| c.channel_id == ch)
                .ok_or_else(|| bad(format!("channel {ch} not found in organization")))?;
            if found.channel_type != j.job_type {
                return Err(bad(format!(
                    "channel {ch} is a {} channel, not {}",
                    found.channel_type, j.job_type
                )));
            }
            j.agent_id = None;
        }
        "app" => {
            let a = j
                .agent_id
                .clone()
                .ok_or_else(|| bad("agent_id is required for app jobs"))?;
            j.agent_id = Some(org.agent_id(&a)?);
            j.connected_channel_id = None;
        }
        other => {
            return Err(bad(format!(
                "invalid job_type {other:?}: expected slack, discord or app"
            )));
        }
    }
    Ok(())
}

fn sj_id(id: &str) -> ApiResult<String> {
    check_id(id, "sj_", "scheduled job")
}

pub(crate) fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(
        sorted(org.scheduled.values(), |s| s.seq)
            .into_iter()
            .map(ScheduledJob::json)
            .collect(),
    ))
}

pub(crate) fn create(ctx: &Ctx) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let schedule = req_str(&body, "schedule")?;
    let timezone = req_str(&body, "timezone")?;
    let prompt = req_nonempty(&body, "prompt")?;
    let job_type = req_str(&body, "job_type")?;
    check_schedule(&schedule)?;
    check_timezone(&timezone)?;
    let now = ids::now();
    let mut j = ScheduledJob {
        id: ids::new_id("sj_"),
        schedule,
        timezone,
        prompt,
        connected_channel_id: opt_str(&body, "connected_channel_id")?,
        agent_id: opt_str(&body, "agent_id")?,
        job_type,
        is_threaded: opt_bool(&body, "is_threaded")?.unwrap_or(false),
        is_enabled: opt_bool(&body, "is_enabled")?.unwrap_or(true),
        last_executed_at: now,
        created_at: now,
        updated_at: now,
        seq: 0,
    };
    let mut w = ctx.app.lock();
    j.seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    check_target(org, &mut j)?;
    let v = j.json();
    org.scheduled.insert(j.id.clone(), j);
    created(v)
}

pub(crate) fn get(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*sj_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let j = org
        .scheduled
        .get(id)
        .ok_or_else(|| EmulatorError::not_found("scheduled job not found"))?;
    ok(j.json())
}

pub(crate) fn update(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*sj_id(id)?;
    let body = json_object(ctx, false)?;
    if !FIELDS.iter().any(|f| body.contains_key(*f)) {
        return Err(bad("no fields to update"));
    }
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let mut j = org
        .scheduled
        .get(id)
        .cloned()
        .ok_or_else(|| EmulatorError::not_found("scheduled job not found"))?;
    let was_enabled = j.is_enabled;
    if body.contains_key("schedule") {
        j.schedule = req_str(&body, "schedule")?;
        check_schedule(&j.schedule)?;
    }
    if body.contains_key("timezone") {
        j.timezone = req_str(&body, "timezone")?;
        check_timezone(&j.timezone)?;
    }
    if body.contains_key("prompt") {
        j.prompt = req_nonempty(&body, "prompt")?;
    }
    if body.contains_key("job_type") {
        j.job_type = req_str(&body, "job_type")?;
    }
    if body.contains_key("connected_channel_id") {
        j.connected_channel_id = opt_str(&body, "connected_channel_id")?;
    }
    if body.contains_key("agent_id") {
        j.agent_id = opt_str(&body, "agent_id")?;
    }
    if let Some(b) = opt_bool(&body, "is_threaded")? {
        j.is_threaded = b;
    }
    if let Some(b) = opt_bool(&body, "is_enabled")? {
        j.is_enabled = b;
    }
    check_target(org, &mut j)?;
    let now = ids::now();
    if j.is_enabled && !was_enabled {
        // Re-enabling must not fire at once for the missed ticks.
        j.last_executed_at = now;
    }
    j.updated_at = now;
    let v = j.json();
    org.scheduled.insert(id.to_string(), j);
    ok(v)
}

pub(crate) fn delete(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*sj_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    org.scheduled
        .remove(id)
        .ok_or_else(|| EmulatorError::not_found("scheduled job not found"))?;
    no_content()
}
