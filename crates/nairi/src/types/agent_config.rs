//! Agent resource assignments and environment variables.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Timestamp, lenient_timestamp, null_as_default, open_enum};

open_enum! {
    /// Kind of entity attached to an agent.
    pub enum EntityType {
        /// A rule (`aar_`).
        Rule => "agent_artifact_rule",
        /// An MCP config (`amc_`).
        McpConfig => "agent_artifact_mcp_cfg",
        /// A skill (`ask_`).
        Skill => "agent_artifact_skill",
        /// A vault (`vlt_`).
        Vault => "vault",
        /// A GitHub repository integration (bare ULID).
        GithubRepository => "github_repository_integration",
        /// An LLM provider integration (`ai_`).
        AnthropicIntegration => "anthropic_integration",
        /// An LLM model slug (`opus-4.5`).
        LlmModel => "llm_model",
    }
}

/// An entity attached to an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Resource {
    /// The `ccr_...` assignment id (used to detach).
    pub id: String,
    /// The agent (`cci_...`).
    #[serde(default)]
    pub container_id: Option<String>,
    /// Kind of the attached entity.
    #[serde(default)]
    pub entity_type: Option<EntityType>,
    /// Id of the attached entity.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// Attachment time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `POST /agents/{agent_id}/resources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AssignResource {
    /// Kind of entity.
    pub entity_type: EntityType,
    /// Its id.
    pub entity_id: String,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl AssignResource {
    /// Attach `entity_id` of kind `entity_type`.
    pub fn new(entity_type: EntityType, entity_id: impl Into<String>) -> Self {
        AssignResource {
            extra: Default::default(),
            entity_type,
            entity_id: entity_id.into(),
        }
    }

    /// Refuses an empty type or id; unknown types pass (forward compatibility).
    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.entity_type.as_str().trim().is_empty() {
            return Err(crate::Error::validation(
                "entity_type",
                format!(
                    "must not be empty (one of {})",
                    EntityType::KNOWN.join(", ")
                ),
            ));
        }
        if self.entity_id.trim().is_empty() {
            return Err(crate::Error::validation("entity_id", "must not be empty"));
        }
        Ok(())
    }
}

/// A plaintext environment variable of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct EnvVar {
    /// The `cev_...` id.
    pub id: String,
    /// The agent (`cci_...`).
    #[serde(default)]
    pub container_id: Option<String>,
    /// Variable name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    /// Value (plaintext; returned by the API).
    #[serde(default)]
    pub value: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub updated_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `POST /agents/{agent_id}/env-vars`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateEnvVar {
    /// `[A-Za-z_][A-Za-z0-9_]*`, not starting with `NAIRI_` or `CCAGENT_`.
    pub key: String,
    /// The value.
    pub value: String,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl CreateEnvVar {
    /// A variable `key` with this value; the key is checked when the request is made.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        CreateEnvVar {
            extra: Default::default(),
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Body of `PATCH /agents/{agent_id}/env-vars/{env_var_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpdateEnvVar {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// New value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

/// Prefixes the platform reserves for its own variables.
pub const RESERVED_ENV_PREFIXES: [&str; 2] = ["NAIRI_", "CCAGENT_"];

/// Checks an env var key as the server does, so the mistake is caught before sending: the
/// name pattern `[A-Za-z_][A-Za-z0-9_]*` and none of [`RESERVED_ENV_PREFIXES`].
pub fn validate_env_key(key: &str) -> crate::Result<()> {
    validate_env_name(key, "key")?;
    if let Some(p) = RESERVED_ENV_PREFIXES.iter().find(|p| key.starts_with(*p)) {
        return Err(crate::Error::validation(
            "key",
            format!("{key:?} uses the reserved prefix {p}"),
        ));
    }
    Ok(())
}

/// The one check of an environment variable name, `[A-Za-z_][A-Za-z0-9_]*`, for agent env
/// vars and vault secret keys alike; `field` names the parameter in the error.
pub(crate) fn validate_env_name(name: &str, field: &str) -> crate::Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(crate::Error::validation(
            field,
            format!("{name:?} must match [A-Za-z_][A-Za-z0-9_]*"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keys() {
        for ok in ["A", "_x", "DATABASE_URL", "EKSEC_X", "nairi_lower"] {
            validate_env_key(ok).unwrap();
        }
        for bad in ["", "1A", "A-B", "A B", "NAIRI_KEY", "CCAGENT_X", "É"] {
            assert!(validate_env_key(bad).is_err(), "{bad}");
        }
    }
}
