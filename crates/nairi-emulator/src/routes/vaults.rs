//! Vaults and their secrets (values are write-only).

use serde_json::{Value, json};

use super::{
    Ctx, Reply, check_env_name, created, json_object, no_content, ok, opt_str, opt_str_array,
    req_nonempty, req_str,
};
use crate::error::{ApiResult, EmulatorError};
use crate::ids::{self, fmt_ts};
use crate::state::{Org, Secret, Vault, check_id, sorted};

fn secrets_count(org: &Org, vault_id: &str) -> usize {
    org.secrets
        .values()
        .filter(|s| s.vault_id == vault_id)
        .count()
}

fn vault_json(v: &Vault, secrets_count: usize) -> Value {
    let n = secrets_count;
    json!({
        "id": v.id, "name": v.name, "description": v.description, "secrets_count": n,
        "created_at": fmt_ts(&v.created_at), "updated_at": fmt_ts(&v.updated_at),
    })
}

fn vault_id(org: &Org, id: &str) -> ApiResult<()> {
    let id = &*check_id(id, "vlt_", "vault")?;
    if org.vaults.contains_key(id) {
        Ok(())
    } else {
        Err(EmulatorError::not_found("vault not found"))
    }
}

pub(crate) fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let v = sorted(org.vaults.values(), |v| v.seq)
        .into_iter()
        .map(|v| vault_json(v, secrets_count(org, &v.id)))
        .collect();
    ok(Value::Array(v))
}

pub(crate) fn create(ctx: &Ctx) -> ApiResult<Reply> {
    let body = json_object(ctx, false)?;
    let name = req_nonempty(&body, "name")?;
    let description = opt_str(&body, "description")?.unwrap_or_default();
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    let now = ids::now();
    let v = Vault {
        id: ids::new_id("vlt_"),
        name,
        description,
        created_at: now,
        updated_at: now,
        seq,
    };
    let out = vault_json(&v, 0);
    org.vaults.insert(v.id.clone(), v);
    created(out)
}

pub(crate) fn get(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*check_id(id, "vlt_", "vault")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let v = org
        .vaults
        .get(id)
        .ok_or_else(|| EmulatorError::not_found("vault not found"))?;
    ok(vault_json(v, secrets_count(org, id)))
}

pub(crate) fn update(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*check_id(id, "vlt_", "vault")?;
    let body = json_object(ctx, false)?;
    let name = match body.get("name") {
        None => None,
        Some(_) => Some(req_nonempty(&body, "name")?),
    };
    let description = opt_str(&body, "description")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let n = secrets_count(org, id);
    let v = org
        .vaults
        .get_mut(id)
        .ok_or_else(|| EmulatorError::not_found("vault not found"))?;
    let changed = name.is_some() || description.is_some();
    if let Some(n) = name {
        v.name = n;
    }
    if let Some(d) = description {
        v.description = d;
    }
    if changed {
        v.updated_at = ids::now();
    }
    ok(vault_json(v, n))
}

pub(crate) fn delete(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*check_id(id, "vlt_", "vault")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    vault_id(org, id)?;
    let n = org.assigned_count("vault", id);
    if n > 0 {
        return Err(EmulatorError::bad_request(format!(
            "cannot delete vault: still assigned to {n} agent(s)"
        )));
    }
    let s = secrets_count(org, id);
    if s > 0 {
        return Err(EmulatorError::bad_request(format!(
            "cannot delete vault: vault still contains {s} secret(s)"
        )));
    }
    org.vaults.remove(id);
    no_content()
}

pub(crate) fn secret_list(ctx: &Ctx, vid: &str) -> ApiResult<Reply> {
    let vid = &*check_id(vid, "vlt_", "vault")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    vault_id(org, vid)?;
    let v = sorted(org.secrets.values().filter(|s| s.vault_id == vid), |s| {
        s.seq
    })
    .into_iter()
    .map(Secret::json)
    .collect();
    ok(Value::Array(v))
}

pub(crate) fn secret_create(ctx: &Ctx, vid: &str) -> ApiResult<Reply> {
    let vid = &*check_id(vid, "vlt_", "vault")?;
    let body = json_object(ctx, false)?;
    let env_key = req_str(&body, "env_key")?;
    let value = req_str(&body, "value")?;
    let allowed_domains = opt_str_array(&body, "allowed_domains")?.unwrap_or_default();
    // Secret keys become env vars in the agent.
    check_env_name("env_key", &env_key)?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    vault_id(org, vid)?;
    if org
        .secrets
        .values()
        .any(|s| s.vault_id == vid && s.env_key == env_key)
    {
        return Err(EmulatorError::bad_request(format!(
            "secret {env_key} already exists in this vault"
        )));
    }
    let now = ids::now();
    let s = Secret {
        id: ids::new_id("sec_"),
        vault_id: vid.to_string(),
        env_key,
        value,
        allowed_domains,
        created_at: now,
        updated_at: now,
        seq,
    };
    let out = s.json();
    org.secrets.insert(s.id.clone(), s);
    if let Some(v) = org.vaults.get_mut(vid) {
        v.updated_at = now;
    }
    created(out)
}

/// `vid` is `None` for the `/vault-secrets/{id}` alias.
pub(crate) fn secret_update(ctx: &Ctx, vid: Option<&str>, sid: &str) -> ApiResult<Reply> {
    let vid = vid.map(|v| check_id(v, "vlt_", "vault")).transpose()?;
    let vid = vid.as_deref();
    let sid = &*check_id(sid, "sec_", "secret")?;
    let body = json_object(ctx, false)?;
    let value = opt_str(&body, "value")?;
    let domains = opt_str_array(&body, "allowed_domains")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    if let Some(v) = vid {
        vault_id(org, v)?;
    }
    let s = match org.secrets.get_mut(sid) {
        Some(s) if vid.is_none_or(|v| v == s.vault_id) => s,
        _ => return Err(EmulatorError::not_found("secret not found")),
    };
    let changed = value.is_some() || domains.is_some();
    if let Some(v) = value {
        s.value = v;
    }
    if let Some(d) = domains {
        s.allowed_domains = d;
    }
    if changed {
        s.updated_at = ids::now();
    }
    ok(s.json())
}

pub(crate) fn secret_delete(ctx: &Ctx, vid: &str, sid: &str) -> ApiResult<Reply> {
    let vid = &*check_id(vid, "vlt_", "vault")?;
    let sid = &*check_id(sid, "sec_", "secret")?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    vault_id(org, vid)?;
    match org.secrets.get(sid) {
        Some(s) if s.vault_id == *vid => {
            org.secrets.remove(sid);
            no_content()
        }
        _ => Err(EmulatorError::not_found("secret not found")),
    }
}
