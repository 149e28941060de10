//! Read-mostly catalogues: connected channels, LLM models and integrations.

use serde::{Deserialize, Deserializer, Serialize};

use super::common::{Extra, Timestamp, lenient_f64, lenient_timestamp, null_as_default, open_enum};

open_enum! {
    /// Chat platform of a connected channel.
    pub enum ChannelType {
        /// Slack.
        Slack => "slack",
        /// Discord.
        Discord => "discord",
    }
}

open_enum! {
    /// Default mode of conversations started from a channel.
    pub enum ChannelMode {
        /// Read-only answers.
        Ask => "ask",
        /// Full tool access.
        Execute => "execute",
    }
}

/// A Slack or Discord channel connected to the organisation (read-only through the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Channel {
    /// The internal `cc_...` record id; never pass it to other endpoints.
    pub id: String,
    /// Platform.
    #[serde(default)]
    pub channel_type: Option<ChannelType>,
    /// The platform channel id (Slack `C...`, Discord snowflake) used by scheduled jobs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub channel_id: String,
    /// Channel name.
    #[serde(default)]
    pub channel_name: Option<String>,
    /// Agent answering in the channel by default.
    #[serde(default)]
    pub default_agent_id: Option<String>,
    /// Default conversation mode.
    #[serde(default)]
    pub mode: Option<ChannelMode>,
    /// Connection time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An LLM the organisation may use; `id` is the slug attached as an `llm_model` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Model {
    /// The model slug, e.g. `opus-4.5`.
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Provider (`anthropic`, `opencode`, `codex`...), when reported.
    #[serde(default)]
    pub provider: Option<String>,
    /// Input price (assumed USD per million tokens); `None` when unknown.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub input_price: Option<f64>,
    /// Output price (assumed USD per million tokens); `None` when unknown.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub output_price: Option<f64>,
    /// Whether using it costs nothing.
    #[serde(default)]
    pub is_free: Option<bool>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Query of `GET /models`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListModels {
    /// Only this provider's models (`anthropic`, `opencode`, `codex`...); `None` = all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// An LLM provider integration (`ai_...`), attached as an `anthropic_integration` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct LlmIntegration {
    /// The `ai_...` id.
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Provider type (immutable).
    #[serde(default)]
    pub provider: Option<String>,
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

/// Body of `PATCH /integrations/llm/{id}`: only the name can change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpdateLlmIntegration {
    /// New display name (non-empty).
    pub name: String,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl UpdateLlmIntegration {
    /// A rename.
    pub fn new(name: impl Into<String>) -> Self {
        UpdateLlmIntegration {
            extra: Default::default(),
            name: name.into(),
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.name.trim().is_empty() {
            return Err(crate::Error::validation("name", "must not be empty"));
        }
        Ok(())
    }
}

/// A connected GitHub repository (bare ULID id), attached as a
/// `github_repository_integration` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct GithubRepo {
    /// The repository integration id (a bare ULID).
    pub id: String,
    /// `owner/name`.
    #[serde(default)]
    pub full_name: Option<String>,
    /// GitHub App installation id (sent as a string or a number; kept as text).
    #[serde(default, deserialize_with = "string_or_number")]
    pub installation_id: Option<String>,
    /// Connection time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Text(String),
        Int(i64),
        Uint(u64),
        Float(f64),
    }
    Ok(match Option::<Loose>::deserialize(d)? {
        None => None,
        Some(Loose::Text(s)) => Some(s),
        Some(Loose::Int(n)) => Some(n.to_string()),
        Some(Loose::Uint(n)) => Some(n.to_string()),
        Some(Loose::Float(n)) => Some(n.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_id_accepts_numbers() {
        for (raw, want) in [
            (r#"{"id":"01K","installation_id":"123"}"#, Some("123")),
            (r#"{"id":"01K","installation_id":123}"#, Some("123")),
            (r#"{"id":"01K","installation_id":null}"#, None),
            (r#"{"id":"01K"}"#, None),
        ] {
            let r: GithubRepo = serde_json::from_str(raw).unwrap();
            assert_eq!(r.installation_id.as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn unknown_channel_values_are_kept() {
        let c: Channel = serde_json::from_str(
            r#"{"id":"cc_1","channel_type":"teams","channel_id":"T1","mode":"review","topic":"x"}"#,
        )
        .unwrap();
        assert_eq!(c.channel_type, Some(ChannelType::Unknown("teams".into())));
        assert_eq!(c.mode, Some(ChannelMode::Unknown("review".into())));
        assert_eq!(c.extra["topic"], "x");
    }
}
