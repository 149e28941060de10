//! Artifacts agents can be given: rules, MCP configs and skills.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Timestamp, lenient_timestamp, null_as_default};

/// A rule: markdown injected into the system prompt when its description matches the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Rule {
    /// The `aar_...` id.
    pub id: String,
    /// Title.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// When the rule applies (the agent reads it to decide relevance).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// The markdown content.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: String,
    /// Creation time (omitted by `GET` one rule).
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Last change (omitted by `GET` one rule).
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub updated_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `POST /artifacts/rules` and `PUT /artifacts/rules/{rule_id}` (every field required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RuleInput {
    /// Title (non-empty).
    pub title: String,
    /// When the rule applies.
    pub description: String,
    /// The markdown content.
    pub content: String,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl RuleInput {
    /// A rule with all three fields.
    pub fn new(
        title: impl Into<String>,
        description: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        RuleInput {
            extra: Default::default(),
            title: title.into(),
            description: description.into(),
            content: content.into(),
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.title.trim().is_empty() {
            return Err(crate::Error::validation("title", "must not be empty"));
        }
        Ok(())
    }
}

/// An MCP config: a JSON `{"mcpServers": {...}}` document run by the agent's MCP proxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct McpConfig {
    /// The `amc_...` id.
    pub id: String,
    /// Title.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// The JSON document as a string; `None` when the config is sensitive (never returned).
    #[serde(default)]
    pub content: Option<String>,
    /// Whether the content is withheld from every read.
    #[serde(default)]
    pub is_sensitive: Option<bool>,
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

/// Body of `POST /artifacts/mcp-configs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateMcpConfig {
    /// Title (non-empty).
    pub title: String,
    /// Description.
    pub description: String,
    /// JSON text with a non-empty `mcpServers` object.
    pub content: String,
    /// Withhold the content from reads (server default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_sensitive: Option<bool>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl CreateMcpConfig {
    /// A config with the server's defaults; `content` is the JSON text.
    pub fn new(
        title: impl Into<String>,
        description: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        CreateMcpConfig {
            extra: Default::default(),
            title: title.into(),
            description: description.into(),
            content: content.into(),
            is_sensitive: None,
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.title.trim().is_empty() {
            return Err(crate::Error::validation("title", "must not be empty"));
        }
        validate_mcp_content(&self.content)
    }
}

/// Body of `PUT /artifacts/mcp-configs/{config_id}`: title and description are replaced,
/// the content only when given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReplaceMcpConfig {
    /// Title (non-empty).
    pub title: String,
    /// Description.
    pub description: String,
    /// New JSON text; `None` keeps the stored content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// New sensitivity; `None` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_sensitive: Option<bool>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl ReplaceMcpConfig {
    /// A metadata-only replacement (content kept).
    pub fn new(title: impl Into<String>, description: impl Into<String>) -> Self {
        ReplaceMcpConfig {
            extra: Default::default(),
            title: title.into(),
            description: description.into(),
            content: None,
            is_sensitive: None,
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.title.trim().is_empty() {
            return Err(crate::Error::validation("title", "must not be empty"));
        }
        match &self.content {
            Some(content) => validate_mcp_content(content),
            None => Ok(()),
        }
    }
}

/// Checks MCP config content as the server does: JSON whose top-level object has a
/// non-empty `mcpServers` object.
pub fn validate_mcp_content(content: &str) -> crate::Result<()> {
    let value: serde_json::Value = serde_json::from_str(content)
        .map_err(|e| crate::Error::validation("content", format!("is not valid JSON: {e}")))?;
    match value.get("mcpServers") {
        Some(serde_json::Value::Object(servers)) if !servers.is_empty() => Ok(()),
        Some(serde_json::Value::Object(_)) => Err(crate::Error::validation(
            "content",
            "mcpServers must define at least one server",
        )),
        Some(_) => Err(crate::Error::validation(
            "content",
            "mcpServers must be a JSON object of servers",
        )),
        None => Err(crate::Error::validation(
            "content",
            "must be a JSON object with an mcpServers object",
        )),
    }
}

/// A skill: an uploaded `.zip`/`.skill` package with a `SKILL.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Skill {
    /// The `ask_...` id.
    pub id: String,
    /// Name from the package's front matter (unique per organisation).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description from the package's front matter.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Non-fatal package warnings (e.g. unexpected folders); empty when none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub warnings: Vec<String>,
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

/// Largest skill archive the API accepts: 32 MiB.
pub const MAX_SKILL_BYTES: u64 = 32 * 1024 * 1024;

/// File name extensions a skill archive may have.
pub const SKILL_EXTENSIONS: [&str; 2] = ["zip", "skill"];

/// Checks a skill archive's name, type and size before it is uploaded.
pub(crate) fn validate_skill_file(file: &super::FileUpload) -> crate::Result<()> {
    validate_skill_filename(&file.filename)?;
    file.validate(MAX_SKILL_BYTES)
}

/// A skill archive's name must end in `.zip` or `.skill` (any case).
pub(crate) fn validate_skill_filename(filename: &str) -> crate::Result<()> {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    if ext.is_some_and(|e| SKILL_EXTENSIONS.contains(&e.as_str())) {
        Ok(())
    } else {
        Err(crate::Error::validation(
            "filename",
            format!("{filename:?} must end in .zip or .skill"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_content_rules() {
        validate_mcp_content(r#"{"mcpServers":{"fs":{"command":"npx"}}}"#).unwrap();
        for bad in [
            "not json",
            "[]",
            "{}",
            r#"{"mcpServers":{}}"#,
            r#"{"mcpServers":[]}"#,
            r#"{"mcpServers":"x"}"#,
        ] {
            assert_eq!(
                validate_mcp_content(bad).unwrap_err().kind(),
                crate::ErrorKind::Validation,
                "{bad}"
            );
        }
    }

    #[test]
    fn sensitive_config_has_no_content() {
        let c: McpConfig = serde_json::from_str(
            r#"{"id":"amc_1","title":"t","description":null,"is_sensitive":true}"#,
        )
        .unwrap();
        assert_eq!(c.content, None);
        assert_eq!(c.description, "");
    }
}
