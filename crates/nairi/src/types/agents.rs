//! Agents, their deploy answer, and the requests that create and change them.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Timestamp, lenient_int, lenient_timestamp, null_as_default};

/// An agent of the organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Agent {
    /// The `cci_...` id.
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The slug (may contain `/`), accepted wherever an agent id is.
    #[serde(default, deserialize_with = "null_as_default")]
    pub agent_id: String,
    /// Concurrent instances.
    #[serde(default, deserialize_with = "lenient_int")]
    pub instances_count: Option<i64>,
    /// Description; `None` when null or omitted.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the agent runs on the customer's own machines.
    #[serde(default)]
    pub is_self_hosted: Option<bool>,
    /// System prompt; `None` = the platform default.
    #[serde(default)]
    pub system_prompt: Option<String>,
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

/// Body of `POST /agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateAgent {
    /// Display name (required, non-empty).
    pub name: String,
    /// Concurrent instances, at least 1 (server default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances_count: Option<i64>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl CreateAgent {
    /// An agent with this name and the server's defaults.
    pub fn new(name: impl Into<String>) -> Self {
        CreateAgent {
            name: name.into(),
            ..Default::default()
        }
    }

    /// A non-empty name and at least one instance.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.name.trim().is_empty() {
            return Err(crate::Error::validation("name", "must not be empty"));
        }
        if let Some(n) = self.instances_count
            && n < 1
        {
            return Err(crate::Error::validation(
                "instances_count",
                format!("{n} is less than 1"),
            ));
        }
        Ok(())
    }
}

/// Body of `PATCH /agents/{agent_id}`; unset fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpdateAgent {
    /// New display name (the slug is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Some(Some(p))` sets the prompt, `Some(None)` clears it to the platform default
    /// (sends `null`), `None` leaves it alone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "serde_with_double_option"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub system_prompt: Option<Option<String>>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

/// Body of `POST /agents/{agent_id}/deploy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeployAgent {
    /// Push configuration without restarting containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_config_only: Option<bool>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

/// Answer of a deploy: the status is an opaque string (e.g. `deploying`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DeployStatus {
    /// Opaque status text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Tri-state (absent / null / value) for PATCH fields; serde's default merges null and absent.
pub(crate) mod serde_with_double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S, T>(value: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Some(Option::<T>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_prompt_is_tri_state() {
        let clear = UpdateAgent {
            system_prompt: Some(None),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&clear).unwrap(),
            r#"{"system_prompt":null}"#
        );
        let set = UpdateAgent {
            system_prompt: Some(Some("be brief".into())),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"{"system_prompt":"be brief"}"#
        );
        assert_eq!(
            serde_json::to_string(&UpdateAgent::default()).unwrap(),
            "{}"
        );
        let back: UpdateAgent = serde_json::from_str(r#"{"system_prompt":null}"#).unwrap();
        assert_eq!(back.system_prompt, Some(None));
        let absent: UpdateAgent = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.system_prompt, None);
    }

    #[test]
    fn agent_tolerates_missing_and_extra_fields() {
        let a: Agent = serde_json::from_str(
            r#"{"id":"cci_01KEQ6963XS96YDP3NF9NKB7QJ","name":"A","agent_id":"acme/web","deployment":"running"}"#,
        )
        .unwrap();
        assert_eq!(a.description, None);
        assert_eq!(a.extra["deployment"], "running");
    }
}
