//! Vaults and their secrets. Secret values are write-only and never printed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::common::{Extra, Timestamp, lenient_int, lenient_timestamp, null_as_default};

/// A named group of secrets, attached to agents as a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Vault {
    /// The `vlt_...` id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description; `None` when null or omitted.
    #[serde(default)]
    pub description: Option<String>,
    /// Number of secrets in the vault.
    #[serde(default, deserialize_with = "lenient_int")]
    pub secrets_count: Option<i64>,
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

/// Body of `POST /vaults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateVault {
    /// Name (non-empty).
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl CreateVault {
    /// A vault with this name and no description.
    pub fn new(name: impl Into<String>) -> Self {
        CreateVault {
            extra: Default::default(),
            name: name.into(),
            description: None,
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.name.trim().is_empty() {
            return Err(crate::Error::validation("name", "must not be empty"));
        }
        Ok(())
    }
}

/// Body of `PATCH /vaults/{vault_id}`; unset fields are left alone (`{}` is a no-op).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpdateVault {
    /// New name (non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl UpdateVault {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        if let Some(name) = &self.name
            && name.trim().is_empty()
        {
            return Err(crate::Error::validation("name", "must not be empty"));
        }
        Ok(())
    }
}

/// A secret's value: serialised as a plain string, shown as `<redacted>` by Debug.
///
/// A request body carrying one has the value redacted from whatever the server answers
/// (error bodies, decode errors, the decoded answer), like the API key.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SecretString(String);

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::transport::note_sent_secret(&self.0);
        s.serialize_str(&self.0)
    }
}

impl SecretString {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString(value.to_owned())
    }
}

/// A secret's metadata (the value is never returned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct VaultSecret {
    /// The `sec_...` id.
    pub id: String,
    /// The environment variable name the agent sees (as a placeholder).
    #[serde(default, deserialize_with = "null_as_default")]
    pub env_key: String,
    /// Domains the value may be sent to (wildcards allowed); empty = no restriction.
    #[serde(default, deserialize_with = "null_as_default")]
    pub allowed_domains: Vec<String>,
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

/// Body of `POST /vaults/{vault_id}/secrets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateSecret {
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    pub env_key: String,
    /// The value (write-only, redacted in Debug).
    pub value: SecretString,
    /// Allowed domains (server default: none = no restriction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl CreateSecret {
    /// A secret with no domain restriction.
    pub fn new(env_key: impl Into<String>, value: impl Into<SecretString>) -> Self {
        CreateSecret {
            extra: Default::default(),
            env_key: env_key.into(),
            value: value.into(),
            allowed_domains: None,
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        super::agent_config::validate_env_name(&self.env_key, "env_key")?;
        if let Some(domains) = &self.allowed_domains {
            validate_domains(domains)?;
        }
        Ok(())
    }
}

/// Body of `PATCH /vaults/{vault_id}/secrets/{secret_id}`; unset fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpdateSecret {
    /// New value (rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretString>,
    /// New allowed domains (`Some(vec![])` removes the restriction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl UpdateSecret {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        if let Some(domains) = &self.allowed_domains {
            validate_domains(domains)?;
        }
        Ok(())
    }
}

fn validate_domains(domains: &[String]) -> crate::Result<()> {
    match domains
        .iter()
        .find(|d| d.trim().is_empty() || d.chars().any(|c| c.is_whitespace() || c == '/'))
    {
        Some(bad) => Err(crate::Error::validation(
            "allowed_domains",
            format!("{bad:?} is not a domain like api.example.com or *.example.com"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_redacted_but_sent() {
        let body = CreateSecret::new("DATABASE_URL", "postgres://u:hunter2@db");
        assert!(!format!("{body:?}").contains("hunter2"));
        let update = UpdateSecret {
            value: Some("hunter3".into()),
            ..Default::default()
        };
        assert!(!format!("{update:?}").contains("hunter3"));
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["value"], "postgres://u:hunter2@db");
        assert!(json.get("allowed_domains").is_none());
    }

    #[test]
    fn keys_and_domains_are_checked() {
        assert!(CreateSecret::new("A_1", "v").validate().is_ok());
        for bad in ["", "1A", "A-B", "A B"] {
            assert!(CreateSecret::new(bad, "v").validate().is_err(), "{bad}");
        }
        let mut s = CreateSecret::new("K", "v");
        s.allowed_domains = Some(vec!["*.stripe.com".into()]);
        assert!(s.validate().is_ok());
        s.allowed_domains = Some(vec!["https://x.com/".into()]);
        assert!(s.validate().is_err());
    }
}
