//! Client configuration: environment, builder, base URL normalisation.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{Error, Result};

/// The API root used when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.nairi.ai";
/// The path prefix of every public endpoint.
pub const API_PREFIX: &str = "/api/public/v1";
/// Environment variable holding the API key.
pub const ENV_API_KEY: &str = "NAIRI_API_KEY";
/// Environment variable holding the base URL.
pub const ENV_BASE_URL: &str = "NAIRI_BASE_URL";
/// Retries after the first attempt, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Per-request timeout, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests one client has in flight at most, by default: with HTTP/1.1 each one holds a
/// connection (a socket, a local port, a file descriptor), so this also bounds those; further
/// requests wait for a free one.
pub const DEFAULT_MAX_CONNECTIONS: usize = 100;
/// How long a `start` or `continue` whose outcome is ambiguous is looked for, by default.
pub const DEFAULT_PROMPT_RECOVERY_WINDOW: Duration = Duration::from_secs(10);
/// Connect timeout, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest 2xx response body read, by default: 72 MiB (75,497,472 bytes).
///
/// The largest legitimate answer is an attachment download: up to
/// [`crate::types::MAX_ATTACHMENT_BYTES`] (50 MB) as base64 inside JSON, which is
/// 69,905,068 bytes of base64 (71.7 MB when line-wrapped at 76 columns) plus a little
/// metadata. A body over the limit is an [`Error::Decode`] naming the limit, not an
/// out-of-memory kill; change it with [`ClientBuilder::max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 72 * 1024 * 1024;
/// How much of a non-2xx body is read: 32 KiB. The documented error body is a one-line
/// `{"error": "..."}`; what is kept of any other body is 4 KiB
/// ([`crate::ApiError::body`]), so reading more would only cost memory.
pub const MAX_ERROR_BODY_BYTES: usize = 32 * 1024;

/// The API key, kept out of every Debug and Display output.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself; only the transport should need this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Backoff settings for retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry, doubled on each further one.
    pub initial_backoff: Duration,
    /// Longest computed backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` the client waits out before retrying. A server asking for longer
    /// is not waited for: the call fails at once with the 429/503 error, whose
    /// [`crate::ApiError::retry_after`] says how long the server asked for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The URL without its `user:password@` part, for Debug output.
pub(crate) fn url_without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    // Only fails for URLs that cannot have credentials at all.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Header names with every value replaced by `<redacted>` (gateway tokens travel there).
struct RedactedHeaders<'a>(Vec<&'a str>);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|name| (name, "<redacted>")))
            .finish()
    }
}

/// Everything a [`crate::Client`] is built from.
///
/// Made by [`ClientBuilder::build_config`]; its fields may then be changed, and
/// [`crate::Client::from_config`] checks them again exactly as the builder does (key, base
/// URL and its plain-http rule, user agent), so a tampered configuration cannot bypass them.
///
/// Its Debug output never shows the key, default header values or credentials in the URL.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The API key (`nr_...`).
    pub api_key: ApiKey,
    /// The API root including `/api/public/v1`, without a trailing slash.
    pub base_url: Url,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
    /// Largest 2xx response body read, in bytes (see [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: u64,
    /// Retry settings.
    pub retry: RetryPolicy,
    /// Headers sent with every request.
    pub default_headers: HeaderMap,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Whether plain `http://` to a non-loopback host is allowed (the key would travel in
    /// clear text); see [`ClientBuilder::allow_insecure_http`].
    pub allow_insecure_http: bool,
    /// Whether a `start` or `continue` that failed ambiguously is looked for before it is sent
    /// again or given up (see [`ClientBuilder::recover_prompts`]).
    pub recover_prompts: bool,
    /// How long that lookup may go on (see [`DEFAULT_PROMPT_RECOVERY_WINDOW`]).
    pub prompt_recovery_window: Duration,
    /// Requests in flight at most, and so connections open at most (see
    /// [`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: usize,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_key", &self.api_key)
            .field("base_url", &url_without_credentials(&self.base_url))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .field(
                "default_headers",
                &RedactedHeaders(self.default_headers.keys().map(|k| k.as_str()).collect()),
            )
            .field("user_agent", &self.user_agent)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("recover_prompts", &self.recover_prompts)
            .field("prompt_recovery_window", &self.prompt_recovery_window)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl ClientConfig {
    /// Checks every field and normalises the base URL; the one validation behind both
    /// [`ClientBuilder::build_config`] and [`crate::Client::from_config`].
    pub(crate) fn validated(mut self) -> Result<Self> {
        validate_api_key(&self.api_key)?;
        self.base_url = normalise_base_url(self.base_url.as_str(), self.allow_insecure_http)?;
        // reqwest takes a zero timeout literally: every request would fail at once as a
        // (retried) timeout instead of a clear configuration error.
        for (name, value, default) in [
            (
                "connect_timeout",
                self.connect_timeout,
                DEFAULT_CONNECT_TIMEOUT,
            ),
            ("timeout", self.timeout, DEFAULT_TIMEOUT),
        ] {
            if value.is_zero() {
                return Err(Error::Config(format!(
                    "{name} is zero: it must be greater than zero (default {} s)",
                    default.as_secs()
                )));
            }
        }
        if self.max_connections == 0 {
            return Err(Error::Config(format!(
                "max_connections is zero: no request could be sent (default \
                 {DEFAULT_MAX_CONNECTIONS})"
            )));
        }
        if self.max_response_bytes == 0 {
            return Err(Error::Config(
                "max_response_bytes is zero: no answer could be read".into(),
            ));
        }
        if HeaderValue::from_str(&self.user_agent).is_err() {
            return Err(Error::Config(format!(
                "invalid user agent {:?}",
                self.user_agent
            )));
        }
        Ok(self)
    }
}

fn validate_api_key(key: &ApiKey) -> Result<()> {
    if key.expose().trim().is_empty() {
        return Err(Error::Config("the API key is empty".into()));
    }
    if key.expose().chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::Config(
            "the API key contains whitespace or control characters".into(),
        ));
    }
    Ok(())
}

/// Builds a [`crate::Client`]; unset values come from the environment, then the defaults.
///
/// Its Debug output never shows the key, default header values or credentials in the URL.
#[derive(Default, Clone)]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_response_bytes: Option<u64>,
    retry: RetryPolicy,
    default_headers: Vec<(String, String)>,
    user_agent_suffix: Option<String>,
    allow_insecure_http: bool,
    recover_prompts: Option<bool>,
    prompt_recovery_window: Option<Duration>,
    max_connections: Option<usize>,
    use_env: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base_url = self.base_url.as_deref().map(|raw| {
            Url::parse(raw.trim())
                .map(|u| url_without_credentials(&u))
                .unwrap_or_else(|_| "<not a valid URL>".to_owned())
        });
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .field(
                "default_headers",
                &RedactedHeaders(
                    self.default_headers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect(),
                ),
            )
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("use_env", &self.use_env)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder that falls back to `NAIRI_API_KEY` and `NAIRI_BASE_URL`.
    pub fn new() -> Self {
        ClientBuilder {
            use_env: true,
            ..Default::default()
        }
    }

    /// A builder that ignores the environment.
    pub fn without_env() -> Self {
        ClientBuilder::default()
    }

    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// Sets the base URL: a root like `https://api.nairi.ai` or one ending in `/api/public/v1`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets the timeout of one HTTP attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the largest 2xx response body read, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger answer is an [`Error::Decode`].
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = Some(bytes);
        self
    }

    /// Sets how many times a failed request is retried.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// Sets the whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Adds a header sent with every request.
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// Appends to the user agent (the bindings add `nairi-python/x.y`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Allows plain `http://` to a non-loopback host (the key would travel in clear text).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Whether a `start` or `continue` that failed ambiguously (a timeout, a reset before the
    /// answer, a 5xx: the server may have taken it) is looked for in the agent's conversations
    /// or the job's messages before it is sent again; on by default. Off, such a failure is
    /// returned as it is and the prompt is never sent twice by the SDK.
    pub fn recover_prompts(mut self, recover: bool) -> Self {
        self.recover_prompts = Some(recover);
        self
    }

    /// Bounds the requests in flight, and so the connections this client opens (default
    /// [`DEFAULT_MAX_CONNECTIONS`]); further requests wait for a free one (the wait does not
    /// count against their timeout). Thousands of concurrent `wait`s then share them instead
    /// of opening a socket each.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// How long the lookup of an ambiguous `start` or `continue` may go on (default
    /// [`DEFAULT_PROMPT_RECOVERY_WINDOW`]).
    pub fn prompt_recovery_window(mut self, window: Duration) -> Self {
        self.prompt_recovery_window = Some(window);
        self
    }

    /// Validates everything and produces the configuration.
    pub fn build_config(self) -> Result<ClientConfig> {
        let env = |name: &str| {
            if self.use_env {
                std::env::var(name).ok().filter(|v| !v.trim().is_empty())
            } else {
                None
            }
        };
        let api_key = match self.api_key {
            Some(k) => k,
            None => ApiKey::new(env(ENV_API_KEY).ok_or_else(|| {
                Error::Config(format!(
                    "no API key: set the {ENV_API_KEY} environment variable or pass an api_key \
                     (create one in the Nairi dashboard under Settings -> API Key)"
                ))
            })?),
        };
        validate_api_key(&api_key)?;
        let raw_base = self
            .base_url
            .or_else(|| env(ENV_BASE_URL))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        // Parsed once here for a precise message; `validated` then checks the parsed URL.
        let base_url = normalise_base_url(&raw_base, self.allow_insecure_http)?;

        let mut default_headers = HeaderMap::new();
        for (name, value) in self.default_headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("invalid header name {name:?}")))?;
            let v = HeaderValue::from_str(&value)
                .map_err(|_| Error::Config(format!("invalid value for header {name:?}")))?;
            default_headers.insert(n, v);
        }
        let mut user_agent = format!("nairi-rust/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = self.user_agent_suffix {
            if HeaderValue::from_str(&suffix).is_err() {
                return Err(Error::Config(format!(
                    "invalid user agent suffix {suffix:?}"
                )));
            }
            user_agent = format!("{user_agent} {suffix}");
        }
        ClientConfig {
            api_key,
            base_url,
            connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            max_response_bytes: self
                .max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            retry: self.retry,
            default_headers,
            user_agent,
            allow_insecure_http: self.allow_insecure_http,
            recover_prompts: self.recover_prompts.unwrap_or(true),
            prompt_recovery_window: self
                .prompt_recovery_window
                .unwrap_or(DEFAULT_PROMPT_RECOVERY_WINDOW),
            max_connections: self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        }
        .validated()
    }

    /// Builds the client.
    pub fn build(self) -> Result<crate::Client> {
        crate::Client::from_config(self.build_config()?)
    }
}

/// Accepts `https://host`, `https://host/`, `https://host/api/public/v1/` and a proxy prefix
/// (`https://gateway.example/nairi`), and returns the API root. A path that goes on past
/// `/api/public/v1` or names another version (`.../api/public/v1/agents`) is refused.
pub fn normalise_base_url(raw: &str, allow_insecure_http: bool) -> Result<Url> {
    let trimmed = raw.trim().trim_end_matches('/');
    let mut url = Url::parse(trimmed)
        .map_err(|e| Error::Config(format!("invalid base URL {trimmed:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback && !allow_insecure_http {
                return Err(Error::Config(format!(
                    "refusing plain http:// to {}: the API key would travel unencrypted; \
                     use https:// or allow insecure http explicitly",
                    url.host_str().unwrap_or("")
                )));
            }
        }
        other => {
            return Err(Error::Config(format!(
                "unsupported base URL scheme {other:?}: use https://"
            )));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(
            "the base URL must not have a query or fragment".into(),
        ));
    }
    // reqwest would send `user:pass@` as a second (Basic) Authorization header.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials (user:password@); the API key is the credential"
                .into(),
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    // A path that names the API (`/api/public/...`) anywhere but at its end is an endpoint
    // or another version pasted as the base URL: appending the prefix would make every route
    // wrong (`/api/public/v1/agents/api/public/v1/...`). A proxy prefix without it is kept.
    let segments: Vec<&str> = path.split('/').collect();
    let names_the_api = segments
        .windows(2)
        .any(|w| w[0] == "api" && w[1] == "public");
    if names_the_api && !path.ends_with(API_PREFIX) {
        return Err(Error::Config(format!(
            "the base URL {:?} goes on past or differs from {API_PREFIX}: give the root \
             (https://api.nairi.ai) or a URL ending in {API_PREFIX}",
            url_without_credentials(&url)
        )));
    }
    let path = if path.ends_with(API_PREFIX) {
        path
    } else {
        format!("{path}{API_PREFIX}")
    };
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms_are_normalised() {
        for raw in [
            "https://api.nairi.ai",
            "https://api.nairi.ai/",
            "https://api.nairi.ai/api/public/v1",
            "https://api.nairi.ai/api/public/v1///",
            "  https://api.nairi.ai  ",
        ] {
            let url = normalise_base_url(raw, false).unwrap();
            assert_eq!(url.as_str(), "https://api.nairi.ai/api/public/v1", "{raw}");
            // `Client::from_config` normalises again: it must be idempotent.
            assert_eq!(normalise_base_url(url.as_str(), false).unwrap(), url);
        }
        let proxied = normalise_base_url("https://gw.example.com/nairi/", false).unwrap();
        assert_eq!(
            proxied.as_str(),
            "https://gw.example.com/nairi/api/public/v1"
        );
    }

    #[test]
    fn a_base_url_going_past_the_api_prefix_is_refused() {
        for raw in [
            "https://api.nairi.ai/api/public/v1/agents",
            "https://api.nairi.ai/api/public/v1/agents/",
            "https://gw.example/nairi/api/public/v2",
            "https://api.nairi.ai/api/public",
        ] {
            let err = normalise_base_url(raw, false).unwrap_err();
            assert!(
                matches!(err, Error::Config(ref m) if m.contains(raw.trim_end_matches('/'))
                    && m.contains(API_PREFIX)),
                "{raw}: {err}"
            );
        }
        // Prefixes that merely resemble it are proxy prefixes.
        for (raw, want) in [
            (
                "https://gw.example/nairi",
                "https://gw.example/nairi/api/public/v1",
            ),
            (
                "https://gw.example/api",
                "https://gw.example/api/api/public/v1",
            ),
            (
                "https://gw.example/api/publications",
                "https://gw.example/api/publications/api/public/v1",
            ),
        ] {
            assert_eq!(normalise_base_url(raw, false).unwrap().as_str(), want);
        }
    }

    #[test]
    fn zero_timeouts_and_limits_are_refused_by_builder_and_from_config() {
        let builder = || ClientBuilder::without_env().api_key("nr_k");
        for (builder, setting) in [
            (builder().timeout(Duration::ZERO), "timeout"),
            (builder().connect_timeout(Duration::ZERO), "connect_timeout"),
            (builder().max_response_bytes(0), "max_response_bytes"),
        ] {
            let err = builder.build_config().unwrap_err();
            assert!(
                matches!(err, Error::Config(ref m) if m.starts_with(setting)),
                "{setting}: {err}"
            );
        }
        let good = builder().build_config().unwrap();
        let mut cfg = good.clone();
        cfg.timeout = Duration::ZERO;
        assert!(
            matches!(crate::Client::from_config(cfg), Err(Error::Config(m)) if m.starts_with("timeout"))
        );
        let mut cfg = good.clone();
        cfg.connect_timeout = Duration::ZERO;
        assert!(
            matches!(crate::Client::from_config(cfg), Err(Error::Config(m)) if m.starts_with("connect_timeout"))
        );
        let mut cfg = good;
        cfg.max_response_bytes = 0;
        assert!(crate::Client::from_config(cfg).is_err());
    }

    #[test]
    fn credentials_in_the_base_url_are_refused() {
        for raw in ["https://user:pw@api.nairi.ai", "https://user@api.nairi.ai/"] {
            let err = normalise_base_url(raw, false).unwrap_err();
            assert!(err.to_string().contains("credentials"), "{err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(normalise_base_url("http://127.0.0.1:8080", false).is_ok());
        assert!(normalise_base_url("http://localhost:8080", false).is_ok());
        assert!(normalise_base_url("http://[::1]:8080", false).is_ok());
        let err = normalise_base_url("http://api.example.com", false).unwrap_err();
        assert!(
            matches!(err, Error::Config(ref m) if m.contains("unencrypted")),
            "{err}"
        );
        assert!(normalise_base_url("http://api.example.com", true).is_ok());
        assert!(normalise_base_url("ftp://x", true).is_err());
        assert!(normalise_base_url("not a url", true).is_err());
    }

    #[test]
    fn missing_key_names_the_variable() {
        let err = ClientBuilder::without_env().build_config().unwrap_err();
        assert!(err.to_string().contains("NAIRI_API_KEY"), "{err}");
    }

    #[test]
    fn key_never_in_debug() {
        let cfg = ClientBuilder::without_env()
            .api_key("nr_supersecret")
            .build_config()
            .unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("supersecret"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn user_agent_suffix_is_appended() {
        let cfg = ClientBuilder::without_env()
            .api_key("nr_k")
            .user_agent_suffix("nairi-python/0.1.0")
            .build_config()
            .unwrap();
        assert!(cfg.user_agent.starts_with("nairi-rust/"));
        assert!(cfg.user_agent.ends_with(" nairi-python/0.1.0"));
    }
}
