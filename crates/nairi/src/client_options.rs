//! The serde form of the client's settings: every field optional, resolved once in the core.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ClientBuilder, RetryPolicy};
use crate::error::Result;

/// Everything a client can be built from, all optional, as the bindings pass it.
///
/// Each setting is resolved once, in [`ClientOptions::builder`]: the value given here, else
/// the environment (`NAIRI_API_KEY`, `NAIRI_BASE_URL`, unless `use_env` is `false`), else the
/// default. Durations are seconds. Unknown keys are refused by name. The key is never
/// serialised back out (nor shown by `Debug`).
///
/// ```
/// let options: nairi::ClientOptions = serde_json::from_value(serde_json::json!({
///     "api_key": "nr_example", "base_url": "http://127.0.0.1:8080", "timeout": 30,
///     "max_retries": 0, "use_env": false
/// })).unwrap();
/// let client = options.build().unwrap();
/// assert_eq!(client.config().timeout, std::time::Duration::from_secs(30));
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The `nr_` API key; default `NAIRI_API_KEY`.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// The API root or a URL ending in `/api/public/v1`; default `NAIRI_BASE_URL`, else
    /// `https://api.nairi.ai`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Seconds one HTTP attempt may take (default 60).
    #[serde(
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub timeout: Option<Duration>,
    /// Seconds to establish a connection (default 10).
    #[serde(
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub connect_timeout: Option<Duration>,
    /// Retries after the first attempt (default 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Seconds before the first retry, doubled on each further one (default 0.5).
    #[serde(
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub initial_backoff: Option<Duration>,
    /// Longest computed backoff in seconds (default 8).
    #[serde(
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub max_backoff: Option<Duration>,
    /// Longest `Retry-After` in seconds that is waited out before retrying (default 60).
    #[serde(
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub max_retry_after: Option<Duration>,
    /// Headers sent with every request.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub default_headers: BTreeMap<String, String>,
    /// Appended to the user agent (the bindings add `nairi-python/x.y`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent_suffix: Option<String>,
    /// Allow plain `http://` to a host other than loopback (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_insecure_http: Option<bool>,
    /// Look for an ambiguous `start` or `continue` before sending it again (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recover_prompts: Option<bool>,
    /// Seconds that lookup may go on (default 10).
    #[serde(
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub prompt_recovery_window: Option<Duration>,
    /// Requests in flight at most, and so connections open at most (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// Read `NAIRI_API_KEY` and `NAIRI_BASE_URL` for what is not given (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_env: Option<bool>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field(
                "default_headers",
                &self.default_headers.keys().collect::<Vec<_>>(),
            )
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("use_env", &self.use_env)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// The builder these options describe (environment and defaults fill the rest).
    pub fn builder(self) -> ClientBuilder {
        let mut b = if self.use_env.unwrap_or(true) {
            ClientBuilder::new()
        } else {
            ClientBuilder::without_env()
        };
        if let Some(key) = self.api_key {
            b = b.api_key(key);
        }
        if let Some(url) = self.base_url {
            b = b.base_url(url);
        }
        if let Some(t) = self.timeout {
            b = b.timeout(t);
        }
        if let Some(t) = self.connect_timeout {
            b = b.connect_timeout(t);
        }
        let defaults = RetryPolicy::default();
        b = b.retry_policy(RetryPolicy {
            max_retries: self.max_retries.unwrap_or(defaults.max_retries),
            initial_backoff: self.initial_backoff.unwrap_or(defaults.initial_backoff),
            max_backoff: self.max_backoff.unwrap_or(defaults.max_backoff),
            max_retry_after: self.max_retry_after.unwrap_or(defaults.max_retry_after),
        });
        for (name, value) in self.default_headers {
            b = b.default_header(name, value);
        }
        if let Some(suffix) = self.user_agent_suffix {
            b = b.user_agent_suffix(suffix);
        }
        if let Some(allow) = self.allow_insecure_http {
            b = b.allow_insecure_http(allow);
        }
        if let Some(recover) = self.recover_prompts {
            b = b.recover_prompts(recover);
        }
        if let Some(window) = self.prompt_recovery_window {
            b = b.prompt_recovery_window(window);
        }
        if let Some(max) = self.max_connections {
            b = b.max_connections(max);
        }
        b
    }

    /// Builds the client: the same checks as [`ClientBuilder::build`].
    pub fn build(self) -> Result<crate::Client> {
        self.builder().build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_resolve_over_defaults_and_refuse_unknown_keys() {
        let o: ClientOptions = serde_json::from_value(serde_json::json!({
            "api_key": "nr_k", "base_url": "https://gw.example/nairi", "timeout": 1.5,
            "max_retries": 5, "max_retry_after": 2, "default_headers": {"x-team": "billing"},
            "use_env": false
        }))
        .unwrap();
        let cfg = o.clone().builder().build_config().unwrap();
        assert_eq!(cfg.timeout, Duration::from_millis(1500));
        assert_eq!(cfg.connect_timeout, crate::config::DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(cfg.retry.max_retries, 5);
        assert_eq!(cfg.retry.max_retry_after, Duration::from_secs(2));
        assert_eq!(
            cfg.retry.initial_backoff,
            RetryPolicy::default().initial_backoff
        );
        assert_eq!(
            cfg.base_url.as_str(),
            "https://gw.example/nairi/api/public/v1"
        );
        assert_eq!(cfg.default_headers["x-team"], "billing");
        // The key is neither serialised back nor shown.
        let back = serde_json::to_string(&o).unwrap();
        assert!(
            !back.contains("nr_k") && back.contains("\"timeout\":1.5"),
            "{back}"
        );
        assert!(!format!("{o:?}").contains("nr_k"));

        let err = serde_json::from_value::<ClientOptions>(serde_json::json!({"time_out": 1}))
            .unwrap_err();
        assert!(err.to_string().contains("time_out"), "{err}");
        let err = serde_json::from_value::<ClientOptions>(serde_json::json!({"timeout": -1}))
            .unwrap_err();
        assert!(err.to_string().contains("seconds"), "{err}");
        // Nothing given and no environment: the missing key is a configuration error.
        let err = serde_json::from_value::<ClientOptions>(serde_json::json!({"use_env": false}))
            .unwrap()
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
    }
}
