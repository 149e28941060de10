//! Conversations, messages and attachments.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    Ctx, Reply, created, json_object, ok, opt_bool, opt_str_array, query_pairs, req_nonempty,
    req_str,
};
use crate::agent_sim;
use crate::error::{ApiResult, EmulatorError};
use crate::ids;
use crate::state::{Attachment, Job, Message, Org, check_id, check_job_id};

/// Largest attachment accepted: 50 MiB.
pub const MAX_ATTACHMENT_BYTES: usize = 52_428_800;
/// Most attachment IDs on one message.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

/// Validates attachment IDs: at most 10, well-formed, and owned by this organisation.
fn check_attachments(org: &Org, ids_in: &Option<Vec<String>>) -> ApiResult<Option<Vec<String>>> {
    let Some(list) = ids_in else { return Ok(None) };
    if list.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(EmulatorError::bad_request(format!(
            "too many attachments: at most {MAX_ATTACHMENTS_PER_MESSAGE} per message"
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for id in list {
        let id = check_id(id, "att_", "attachment")?;
        if !org.attachments.contains_key(&id) {
            return Err(EmulatorError::bad_request(format!(
                "attachment {id} not found"
            )));
        }
        out.push(id);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Queues a user message on a job and lets the fake agent pick it up.
fn enqueue_user_message(
    ctx: &Ctx,
    org: &mut Org,
    job_id: &str,
    prompt: String,
    atts: Option<Vec<String>>,
) -> String {
    let mut msg = Message::new(job_id, "user", "queued", prompt);
    msg.attachment_ids = atts;
    let msg_id = msg.id.clone();
    org.push_message(job_id, msg);
    let agent_id = org
        .jobs
        .get(job_id)
        .map(|j| j.agent_id.clone())
        .unwrap_or_default();
    if let Some(agent) = org.agents.get_mut(&agent_id) {
        agent.queue.push_back(msg_id.clone());
    }
    agent_sim::pump(&ctx.app, org, &agent_id);
    msg_id
}

pub(crate) fn start(ctx: &Ctx) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let agent_ref = req_str(&body, "agent_id")?;
    let prompt = req_nonempty(&body, "prompt")?;
    let ask = opt_bool(&body, "ask_mode")?.unwrap_or(false);
    let atts = opt_str_array(&body, "attachment_ids")?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(&agent_ref)?;
    let atts = check_attachments(org, &atts)?;
    let mode = if ask { "ask" } else { "execute" };
    let job = Job::new(org.new_job_id(), agent_id, "api", mode, seq);
    let job_id = job.id.clone();
    org.jobs.insert(job_id.clone(), job);
    let msg_id = enqueue_user_message(ctx, org, &job_id, prompt, atts);
    ok(json!({ "job_id": job_id, "message_id": msg_id }))
}

pub(crate) fn continue_(ctx: &Ctx, job_id: &str) -> ApiResult<Reply> {
    let job_id = &*check_job_id(job_id)?;
    let body = json_object(ctx, false)?;
    let prompt = req_nonempty(&body, "prompt")?;
    let atts = opt_str_array(&body, "attachment_ids")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let job = org.job_mut(job_id)?;
    if !job.api_started() {
        return Err(EmulatorError::bad_request(
            "job was not started via the API",
        ));
    }
    if job.status == "completed" || job.status == "abandoned" {
        return Err(EmulatorError::bad_request(format!(
            "job is {} and cannot be continued; start a new conversation",
            job.status
        )));
    }
    let agent_id = job.agent_id.clone();
    if !org.agents.contains_key(&agent_id) {
        return Err(EmulatorError::not_found("agent not found"));
    }
    let atts = check_attachments(org, &atts)?;
    if let Some(job) = org.jobs.get_mut(job_id) {
        // Replying to an errored job retries it.
        job.status = "active".into();
    }
    let msg_id = enqueue_user_message(ctx, org, job_id, prompt, atts);
    ok(json!({ "job_id": job_id, "message_id": msg_id }))
}

pub(crate) fn messages(ctx: &Ctx, job_id: &str) -> ApiResult<Reply> {
    let job_id = &*check_job_id(job_id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let job = org.job_mut(job_id)?;
    let list: Vec<Value> = job.messages.iter().map(Message::json).collect();
    ok(json!({ "messages": list }))
}

pub(crate) fn get_message(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*check_id(id, "cmsg_", "message")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let m = org
        .message_mut(id)
        .ok_or_else(|| EmulatorError::not_found("message not found"))?;
    ok(m.json())
}

const STATUSES: [&str; 4] = ["active", "completed", "error", "abandoned"];
const SORTS: [&str; 4] = [
    "created_at_asc",
    "created_at_desc",
    "updated_at_asc",
    "updated_at_desc",
];

pub(crate) fn list_for_agent(ctx: &Ctx, agent_ref: &str) -> ApiResult<Reply> {
    let mut statuses: Option<Vec<String>> = None;
    let mut sort = "created_at_desc".to_string();
    let mut limit: usize = 50;
    let mut offset: usize = 0;
    let mut updated_after: Option<DateTime<Utc>> = None;
    for (k, v) in query_pairs(ctx)? {
        match k.as_str() {
            "status" => {
                let mut out = Vec::new();
                for seg in v.split(',') {
                    if seg.is_empty() {
                        return Err(EmulatorError::bad_request(
                            "status must not contain empty values",
                        ));
                    }
                    if !STATUSES.contains(&seg) {
                        return Err(EmulatorError::bad_request(format!(
                            "invalid status {seg:?}: expected one of active, completed, error, abandoned"
                        )));
                    }
                    out.push(seg.to_string());
                }
                statuses = Some(out);
            }
            "sort" => {
                if !SORTS.contains(&v.as_str()) {
                    return Err(EmulatorError::bad_request(format!(
                        "invalid sort {v:?}: expected one of {}",
                        SORTS.join(", ")
                    )));
                }
                sort = v;
            }
            "limit" => {
                limit = match v.parse::<i64>() {
                    Ok(n) if (1..=100).contains(&n) => n as usize,
                    _ => {
                        return Err(EmulatorError::bad_request(
                            "limit must be an integer between 1 and 100",
                        ));
                    }
                };
            }
            "offset" => {
                // Any integer >= 0 is valid; one past every list (even past u64) is an empty page.
                let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
                offset = match v.parse::<i64>() {
                    Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                    Err(_) if digits => usize::MAX,
                    _ => {
                        return Err(EmulatorError::bad_request(
                            "offset must be a non-negative integer",
                        ));
                    }
                };
            }
            "updated_after" => {
                let t = DateTime::parse_from_rfc3339(&v).map_err(|_| {
                    EmulatorError::bad_request("updated_after must be an RFC 3339 timestamp")
                })?;
                updated_after = Some(t.with_timezone(&Utc));
            }
            _ => {}
        }
    }
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let agent_id = org.agent_id(agent_ref)?;
    let mut jobs: Vec<&Job> = org
        .jobs
        .values()
        .filter(|j| j.agent_id == agent_id)
        .filter(|j| statuses.as_ref().is_none_or(|s| s.contains(&j.status)))
        .filter(|j| updated_after.is_none_or(|t| j.updated_at > t))
        .collect();
    match sort.as_str() {
        "created_at_asc" => jobs.sort_by_key(|j| (j.created_at, j.seq)),
        "created_at_desc" => jobs.sort_by_key(|j| std::cmp::Reverse((j.created_at, j.seq))),
        "updated_at_asc" => jobs.sort_by_key(|j| (j.updated_at, j.seq)),
        _ => jobs.sort_by_key(|j| std::cmp::Reverse((j.updated_at, j.seq))),
    }
    let page: Vec<Value> = jobs
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(Job::json)
        .collect();
    ok(json!({ "conversations": page }))
}

pub(crate) async fn upload_attachment(ctx: &Ctx) -> ApiResult<Reply> {
    let (filename, content_type, data) = read_file_part(ctx, MAX_ATTACHMENT_BYTES, "50 MB").await?;
    let att = Attachment {
        id: ids::new_id("att_"),
        filename,
        content_type,
        data: Arc::new(data),
        created_at: ids::now(),
    };
    let body = json!({
        "attachment_id": att.id, "id": att.id, "filename": att.filename,
        "content_type": att.content_type, "size_bytes": att.data.len(),
        "created_at": ids::fmt_ts(&att.created_at),
    });
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    org.attachments.insert(att.id.clone(), att);
    created(body)
}

pub(crate) fn get_attachment(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*check_id(id, "att_", "attachment")?;
    let (meta, data) = {
        let mut w = ctx.app.lock();
        let org = w.org(&ctx.key)?;
        let a = org
            .attachments
            .get(id)
            .ok_or_else(|| EmulatorError::not_found("attachment not found"))?;
        (
            json!({
                "id": a.id, "filename": a.filename, "content_type": a.content_type,
                "size_bytes": a.data.len(), "created_at": ids::fmt_ts(&a.created_at),
            }),
            a.data.clone(),
        )
    };
    // Encode outside the lock: attachments can be 50 MB.
    let mut meta = meta;
    meta["data"] = Value::from(base64::engine::general_purpose::STANDARD.encode(data.as_slice()));
    ok(meta)
}

/// Reads the multipart field `file`: (filename, content type, bytes), enforcing `max` bytes.
pub(crate) async fn read_file_part(
    ctx: &Ctx,
    max: usize,
    max_text: &str,
) -> ApiResult<(String, String, Vec<u8>)> {
    let ct = ctx
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(EmulatorError::bad_request(
            "expected a multipart/form-data body with a file field",
        ));
    }
    let boundary = multer::parse_boundary(ct)
        .map_err(|_| EmulatorError::bad_request("invalid multipart boundary"))?;
    let body = ctx.body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    loop {
        let field = mp
            .next_field()
            .await
            .map_err(|e| EmulatorError::bad_request(format!("invalid multipart body: {}", e)))?;
        let Some(field) = field else {
            return Err(EmulatorError::bad_request(
                "missing multipart field \"file\"",
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("").to_string();
        let content_type = field
            .content_type()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        let data = field
            .bytes()
            .await
            .map_err(|e| EmulatorError::bad_request(format!("invalid multipart body: {}", e)))?;
        if data.len() > max {
            return Err(EmulatorError::bad_request(format!(
                "file too large: the limit is {max_text} ({max} bytes)"
            )));
        }
        let filename = if filename.is_empty() {
            "file".to_string()
        } else {
            filename
        };
        return Ok((filename, content_type, data.to_vec()));
    }
}
