//! The public API: routing by hand (agent slugs may contain `/`) and shared request helpers.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error::{ApiResult, EmulatorError};
use crate::state::Shared;

pub(crate) mod agents;
pub(crate) mod artifacts;
pub(crate) mod catalog;
pub(crate) mod conversations;
pub(crate) mod scheduled_jobs;
pub(crate) mod skills;
pub(crate) mod vaults;

/// Everything a handler needs about one authenticated request.
pub(crate) struct Ctx {
    pub app: Shared,
    pub key: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A handler's success: status and JSON body (`None` = no body, for 204).
pub(crate) type Reply = (StatusCode, Option<Value>);

pub(crate) fn ok(v: Value) -> ApiResult<Reply> {
    Ok((StatusCode::OK, Some(v)))
}
pub(crate) fn created(v: Value) -> ApiResult<Reply> {
    Ok((StatusCode::CREATED, Some(v)))
}
pub(crate) fn no_content() -> ApiResult<Reply> {
    Ok((StatusCode::NO_CONTENT, None))
}

/// One matched public operation with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    ConvStart,
    ConvContinue(String),
    ConvMessages(String),
    MessageGet(String),
    AgentConversations(String),
    AttachmentUpload,
    AttachmentGet(String),
    AgentList,
    AgentCreate,
    AgentGet(String),
    AgentUpdate(String),
    AgentDelete(String),
    AgentDeploy(String),
    ResourceList(String),
    ResourceAssign(String),
    ResourceDelete(String, String),
    EnvList(String),
    EnvCreate(String),
    EnvUpdate(String, String),
    EnvDelete(String, String),
    RuleList,
    RuleCreate,
    RuleGet(String),
    RulePut(String),
    RuleDelete(String),
    McpList,
    McpCreate,
    McpGet(String),
    McpPut(String),
    McpDelete(String),
    SkillList,
    SkillCreate,
    SkillGet(String),
    SkillPut(String),
    SkillDelete(String),
    VaultList,
    VaultCreate,
    VaultGet(String),
    VaultUpdate(String),
    VaultDelete(String),
    SecretList(String),
    SecretCreate(String),
    SecretUpdate(String, String),
    SecretUpdateAlias(String),
    SecretDelete(String, String),
    Channels,
    SjList,
    SjCreate,
    SjGet(String),
    SjUpdate(String),
    SjDelete(String),
    Models,
    LlmList,
    LlmUpdate(String),
    RepoList,
}

/// Why a path did not resolve to an operation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    NotFound,
    MethodNotAllowed(&'static [&'static str]),
}

fn dec(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

macro_rules! methods {
    ($m:expr; $($name:literal => $op:expr),+ $(,)?) => {{
        const ALLOWED: &[&str] = &[$($name),+];
        match $m.as_str() {
            $($name => Ok($op),)+
            _ => Err(RouteError::MethodNotAllowed(ALLOWED)),
        }
    }};
}

/// Resolves the part of the raw path after `/api/public/v1/`.
///
/// Strict, like the real server: an empty segment anywhere (a trailing slash, `//`) is an
/// unknown route.
pub(crate) fn route(method: &Method, rest: &str) -> Result<Op, RouteError> {
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(RouteError::NotFound);
    }
    if let Some(agent_rest) = rest.strip_prefix("agents/") {
        return route_agent(method, agent_rest);
    }
    let d = |s: &str| dec(s);
    match segs.as_slice() {
        ["conversations", "start"] => methods!(method; "POST" => Op::ConvStart),
        ["conversations", id, "continue"] => methods!(method; "POST" => Op::ConvContinue(d(id))),
        ["conversations", id, "messages"] => methods!(method; "GET" => Op::ConvMessages(d(id))),
        ["messages", id] => methods!(method; "GET" => Op::MessageGet(d(id))),
        ["attachments"] => methods!(method; "POST" => Op::AttachmentUpload),
        ["attachments", id] => methods!(method; "GET" => Op::AttachmentGet(d(id))),
        ["agents"] => methods!(method; "GET" => Op::AgentList, "POST" => Op::AgentCreate),
        ["artifacts", "rules"] => methods!(method; "GET" => Op::RuleList, "POST" => Op::RuleCreate),
        ["artifacts", "rules", id] => methods!(method;
            "GET" => Op::RuleGet(d(id)), "PUT" => Op::RulePut(d(id)), "DELETE" => Op::RuleDelete(d(id))),
        ["artifacts", "mcp-configs"] => {
            methods!(method; "GET" => Op::McpList, "POST" => Op::McpCreate)
        }
        ["artifacts", "mcp-configs", id] => methods!(method;
            "GET" => Op::McpGet(d(id)), "PUT" => Op::McpPut(d(id)), "DELETE" => Op::McpDelete(d(id))),
        ["artifacts", "skills"] => {
            methods!(method; "GET" => Op::SkillList, "POST" => Op::SkillCreate)
        }
        ["artifacts", "skills", id] => methods!(method;
            "GET" => Op::SkillGet(d(id)), "PUT" => Op::SkillPut(d(id)), "DELETE" => Op::SkillDelete(d(id))),
        ["vaults"] => methods!(method; "GET" => Op::VaultList, "POST" => Op::VaultCreate),
        ["vaults", id] => methods!(method;
            "GET" => Op::VaultGet(d(id)), "PATCH" => Op::VaultUpdate(d(id)), "DELETE" => Op::VaultDelete(d(id))),
        ["vaults", id, "secrets"] => methods!(method;
            "GET" => Op::SecretList(d(id)), "POST" => Op::SecretCreate(d(id))),
        ["vaults", id, "secrets", sid] => methods!(method;
            "PATCH" => Op::SecretUpdate(d(id), d(sid)), "DELETE" => Op::SecretDelete(d(id), d(sid))),
        ["vault-secrets", sid] => methods!(method; "PATCH" => Op::SecretUpdateAlias(d(sid))),
        ["connected-channels"] => methods!(method; "GET" => Op::Channels),
        ["scheduled-jobs"] => methods!(method; "GET" => Op::SjList, "POST" => Op::SjCreate),
        ["scheduled-jobs", id] => methods!(method;
            "GET" => Op::SjGet(d(id)), "PATCH" => Op::SjUpdate(d(id)), "DELETE" => Op::SjDelete(d(id))),
        ["models"] => methods!(method; "GET" => Op::Models),
        ["integrations", "llm"] => methods!(method; "GET" => Op::LlmList),
        ["integrations", "llm", id] => methods!(method; "PATCH" => Op::LlmUpdate(d(id))),
        ["integrations", "github-repos"] => methods!(method; "GET" => Op::RepoList),
        _ => Err(RouteError::NotFound),
    }
}

/// Agent-scoped routes are matched by their fixed suffix, so the agent reference may contain `/`.
/// `rest` has no empty segment.
fn route_agent(method: &Method, rest: &str) -> Result<Op, RouteError> {
    let nonempty = |s: &str| {
        if s.is_empty() {
            Err(RouteError::NotFound)
        } else {
            Ok(dec(s))
        }
    };
    if let Some(a) = rest.strip_suffix("/conversations") {
        let a = nonempty(a)?;
        return methods!(method; "GET" => Op::AgentConversations(a));
    }
    if let Some(a) = rest.strip_suffix("/deploy") {
        let a = nonempty(a)?;
        return methods!(method; "POST" => Op::AgentDeploy(a));
    }
    if let Some(a) = rest.strip_suffix("/resources") {
        let a = nonempty(a)?;
        return methods!(method; "GET" => Op::ResourceList(a.clone()), "POST" => Op::ResourceAssign(a));
    }
    if let Some(a) = rest.strip_suffix("/env-vars") {
        let a = nonempty(a)?;
        return methods!(method; "GET" => Op::EnvList(a.clone()), "POST" => Op::EnvCreate(a));
    }
    if let Some((head, id)) = rest.rsplit_once('/') {
        if let Some(a) = head.strip_suffix("/resources") {
            let (a, id) = (nonempty(a)?, nonempty(id)?);
            return methods!(method; "DELETE" => Op::ResourceDelete(a, id));
        }
        if let Some(a) = head.strip_suffix("/env-vars") {
            let (a, id) = (nonempty(a)?, nonempty(id)?);
            return methods!(method; "PATCH" => Op::EnvUpdate(a.clone(), id.clone()), "DELETE" => Op::EnvDelete(a, id));
        }
    }
    let a = dec(rest);
    methods!(method; "GET" => Op::AgentGet(a.clone()), "PATCH" => Op::AgentUpdate(a.clone()), "DELETE" => Op::AgentDelete(a))
}

/// Whether the operation takes a JSON body (and so needs a JSON content type).
pub(crate) fn wants_json(op: &Op) -> bool {
    use Op::*;
    matches!(
        op,
        ConvStart
            | ConvContinue(_)
            | AgentCreate
            | AgentUpdate(_)
            | AgentDeploy(_)
            | ResourceAssign(_)
            | EnvCreate(_)
            | EnvUpdate(..)
            | RuleCreate
            | RulePut(_)
            | McpCreate
            | McpPut(_)
            | VaultCreate
            | VaultUpdate(_)
            | SecretCreate(_)
            | SecretUpdate(..)
            | SecretUpdateAlias(_)
            | SjCreate
            | SjUpdate(_)
            | LlmUpdate(_)
    )
}

/// Whether the operation takes a multipart upload (and the larger body limit).
pub(crate) fn is_multipart(op: &Op) -> bool {
    matches!(op, Op::AttachmentUpload | Op::SkillCreate | Op::SkillPut(_))
}

/// Runs one operation.
pub(crate) async fn dispatch(op: Op, ctx: &Ctx) -> ApiResult<Reply> {
    use Op::*;
    match op {
        ConvStart => conversations::start(ctx),
        ConvContinue(id) => conversations::continue_(ctx, &id),
        ConvMessages(id) => conversations::messages(ctx, &id),
        MessageGet(id) => conversations::get_message(ctx, &id),
        AgentConversations(a) => conversations::list_for_agent(ctx, &a),
        AttachmentUpload => conversations::upload_attachment(ctx).await,
        AttachmentGet(id) => conversations::get_attachment(ctx, &id),
        AgentList => agents::list(ctx),
        AgentCreate => agents::create(ctx),
        AgentGet(a) => agents::get(ctx, &a),
        AgentUpdate(a) => agents::update(ctx, &a),
        AgentDelete(a) => agents::delete(ctx, &a),
        AgentDeploy(a) => agents::deploy(ctx, &a),
        ResourceList(a) => agents::resources_list(ctx, &a),
        ResourceAssign(a) => agents::resources_assign(ctx, &a),
        ResourceDelete(a, id) => agents::resources_delete(ctx, &a, &id),
        EnvList(a) => agents::env_list(ctx, &a),
        EnvCreate(a) => agents::env_create(ctx, &a),
        EnvUpdate(a, id) => agents::env_update(ctx, &a, &id),
        EnvDelete(a, id) => agents::env_delete(ctx, &a, &id),
        RuleList => artifacts::rule_list(ctx),
        RuleCreate => artifacts::rule_create(ctx),
        RuleGet(id) => artifacts::rule_get(ctx, &id),
        RulePut(id) => artifacts::rule_put(ctx, &id),
        RuleDelete(id) => artifacts::rule_delete(ctx, &id),
        McpList => artifacts::mcp_list(ctx),
        McpCreate => artifacts::mcp_create(ctx),
        McpGet(id) => artifacts::mcp_get(ctx, &id),
        McpPut(id) => artifacts::mcp_put(ctx, &id),
        McpDelete(id) => artifacts::mcp_delete(ctx, &id),
        SkillList => skills::list(ctx),
        SkillCreate => skills::create(ctx).await,
        SkillGet(id) => skills::get(ctx, &id),
        SkillPut(id) => skills::put(ctx, &id).await,
        SkillDelete(id) => skills::delete(ctx, &id),
        VaultList => vaults::list(ctx),
        VaultCreate => vaults::create(ctx),
        VaultGet(id) => vaults::get(ctx, &id),
        VaultUpdate(id) => vaults::update(ctx, &id),
        VaultDelete(id) => vaults::delete(ctx, &id),
        SecretList(v) => vaults::secret_list(ctx, &v),
        SecretCreate(v) => vaults::secret_create(ctx, &v),
        SecretUpdate(v, s) => vaults::secret_update(ctx, Some(&v), &s),
        SecretUpdateAlias(s) => vaults::secret_update(ctx, None, &s),
        SecretDelete(v, s) => vaults::secret_delete(ctx, &v, &s),
        Channels => catalog::channels(ctx),
        SjList => scheduled_jobs::list(ctx),
        SjCreate => scheduled_jobs::create(ctx),
        SjGet(id) => scheduled_jobs::get(ctx, &id),
        SjUpdate(id) => scheduled_jobs::update(ctx, &id),
        SjDelete(id) => scheduled_jobs::delete(ctx, &id),
        Models => catalog::models(ctx),
        LlmList => catalog::llm_list(ctx),
        LlmUpdate(id) => catalog::llm_update(ctx, &id),
        RepoList => catalog::repos(ctx),
    }
}

// ---------------------------------------------------------------- body helpers

/// Parses the body as a JSON object. An empty body counts as `{}` only where `empty_ok`.
pub(crate) fn json_object(ctx: &Ctx, empty_ok: bool) -> ApiResult<Map<String, Value>> {
    if ctx.body.is_empty() && empty_ok {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(&ctx.body)
        .map_err(|e| EmulatorError::bad_request(format!("invalid JSON body: {e}")))?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(EmulatorError::bad_request(
            "request body must be a JSON object",
        )),
    }
}

/// A required string field.
pub(crate) fn req_str(m: &Map<String, Value>, k: &str) -> ApiResult<String> {
    match m.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(EmulatorError::bad_request(format!("{k} is required"))),
        Some(_) => Err(EmulatorError::bad_request(format!("{k} must be a string"))),
    }
}

/// A required, non-empty string field.
pub(crate) fn req_nonempty(m: &Map<String, Value>, k: &str) -> ApiResult<String> {
    let s = req_str(m, k)?;
    if s.is_empty() {
        return Err(EmulatorError::bad_request(format!("{k} must not be empty")));
    }
    Ok(s)
}

/// Environment variable names (`[A-Za-z_][A-Za-z0-9_]*`): env var keys, and vault secret
/// `env_key`s, which become env vars in the agent. `field` names the body field in the error.
pub(crate) fn check_env_name(field: &str, key: &str) -> ApiResult<()> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(EmulatorError::bad_request(format!(
            "invalid {field} {key:?}: must match [A-Za-z_][A-Za-z0-9_]*"
        )))
    }
}

/// An optional string field (absent = `None`; `null` is rejected like any other wrong type).
pub(crate) fn opt_str(m: &Map<String, Value>, k: &str) -> ApiResult<Option<String>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(EmulatorError::bad_request(format!("{k} must be a string"))),
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(m: &Map<String, Value>, k: &str) -> ApiResult<Option<bool>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(EmulatorError::bad_request(format!("{k} must be a boolean"))),
    }
}

/// An optional array of strings.
pub(crate) fn opt_str_array(m: &Map<String, Value>, k: &str) -> ApiResult<Option<Vec<String>>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| EmulatorError::bad_request(format!("{k} must be an array of strings"))),
        Some(_) => Err(EmulatorError::bad_request(format!(
            "{k} must be an array of strings"
        ))),
    }
}

/// Query string pairs (raw query, URL-decoded).
pub(crate) fn query_pairs(ctx: &Ctx) -> ApiResult<Vec<(String, String)>> {
    match &ctx.query {
        None => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|_| EmulatorError::bad_request("invalid query string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_routes_by_suffix() {
        let get = Method::GET;
        assert_eq!(
            route(&get, "agents/acme/web/conversations"),
            Ok(Op::AgentConversations("acme/web".into()))
        );
        assert_eq!(
            route(&get, "agents/acme%2Fweb/conversations"),
            Ok(Op::AgentConversations("acme/web".into()))
        );
        assert_eq!(
            route(&get, "agents/acme/web"),
            Ok(Op::AgentGet("acme/web".into()))
        );
        assert_eq!(
            route(&Method::DELETE, "agents/acme/web/resources/ccr_x"),
            Ok(Op::ResourceDelete("acme/web".into(), "ccr_x".into()))
        );
        assert_eq!(route(&get, "agents"), Ok(Op::AgentList));
        assert_eq!(route(&get, "agents/"), Err(RouteError::NotFound));
        assert_eq!(route(&get, "agents/x/"), Err(RouteError::NotFound));
        assert_eq!(route(&get, "agents//x"), Err(RouteError::NotFound));
        assert!(matches!(
            route(&get, "agents/x/deploy"),
            Err(RouteError::MethodNotAllowed(_))
        ));
        assert_eq!(route(&get, "nope"), Err(RouteError::NotFound));
        assert_eq!(route(&get, "vaults//secrets"), Err(RouteError::NotFound));
    }
}
