//! The client handle: one connection pool, cheap to clone, safe to share across tasks.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::config::{ClientBuilder, ClientConfig};
use crate::error::{Error, Result};
use crate::redact::Redactor;

/// Per-call overrides, applied with [`Client::with_options`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    /// Retries for calls made through the returned client.
    pub max_retries: Option<u32>,
    /// Timeout of one HTTP attempt.
    pub timeout: Option<Duration>,
    /// Whether an ambiguous `start` or `continue` is looked for before it is sent again
    /// ([`crate::ClientBuilder::recover_prompts`]).
    pub recover_prompts: Option<bool>,
}

impl RequestOptions {
    /// A per-call `timeout` from seconds, the unit every binding takes: positive and finite,
    /// else a `ValidationError` on `timeout` (a zero timeout would fail every attempt).
    ///
    /// ```
    /// use nairi::RequestOptions;
    /// assert_eq!(RequestOptions::timeout_from_secs(1.5).unwrap().as_millis(), 1500);
    /// assert!(RequestOptions::timeout_from_secs(0.0).is_err());
    /// assert!(RequestOptions::timeout_from_secs(f64::NAN).is_err());
    /// ```
    pub fn timeout_from_secs(secs: f64) -> crate::Result<Duration> {
        Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                let shown = match secs {
                    s if s.is_nan() => "NaN".to_owned(),
                    s if s == f64::INFINITY => "Infinity".to_owned(),
                    s if s == f64::NEG_INFINITY => "-Infinity".to_owned(),
                    s => s.to_string(),
                };
                crate::Error::validation(
                    "timeout",
                    format!("must be a positive number of seconds, not {shown}"),
                )
            })
    }
}

/// A Nairi API client. Clones share one connection pool and configuration.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    pub(crate) options: RequestOptions,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    /// Finds the key in what servers echo; built once, extended per request with secrets.
    pub(crate) redactor: Arc<Redactor>,
    /// Message ids of prompts this client sent and already handed back, so that a recovery
    /// never claims one twice (two identical prompts one after the other).
    pub(crate) claimed: crate::api::ClaimedPrompts,
    /// One per request in flight: bounds the connections (HTTP/1.1 holds one per request).
    pub(crate) permits: tokio::sync::Semaphore,
    /// `Bearer <key>`, built once and marked sensitive.
    pub(crate) authorization: reqwest::header::HeaderValue,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field(
                "base_url",
                &crate::config::url_without_credentials(&self.inner.config.base_url),
            )
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client configured from `NAIRI_API_KEY` and `NAIRI_BASE_URL`.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::new().build()
    }

    /// A builder that falls back to the environment for what it is not given.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client from a complete configuration, checked again exactly as
    /// [`ClientBuilder::build_config`] checks it (the fields are public and may have been
    /// changed): a bad key, a plain `http://` base URL to a non-loopback host without
    /// [`ClientConfig::allow_insecure_http`], or an invalid user agent is a
    /// [`Error::Config`], and so is a zero timeout, connect timeout or
    /// [`ClientConfig::max_response_bytes`]. The base URL is normalised to end in
    /// `/api/public/v1`.
    ///
    /// Redirects are never followed: a 3xx answer is an [`Error::Api`] with that status.
    pub fn from_config(config: ClientConfig) -> Result<Self> {
        let config = config.validated()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .default_headers(config.default_headers.clone())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(config.max_connections)
            // A redirect could carry the key or a request body (secret values) to another host;
            // a 3xx surfaces as an API error with its status instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?;
        let redactor = Arc::new(Redactor::for_key(config.api_key.expose()));
        let permits = tokio::sync::Semaphore::new(config.max_connections);
        let authorization = crate::transport::bearer(config.api_key.expose());
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                redactor,
                claimed: Default::default(),
                permits,
                authorization,
            }),
            options: RequestOptions::default(),
        })
    }

    /// A clone whose calls use these overrides (same connection pool).
    pub fn with_options(&self, options: RequestOptions) -> Client {
        let merged = RequestOptions {
            max_retries: options.max_retries.or(self.options.max_retries),
            timeout: options.timeout.or(self.options.timeout),
            recover_prompts: options.recover_prompts.or(self.options.recover_prompts),
        };
        Client {
            inner: Arc::clone(&self.inner),
            options: merged,
        }
    }

    /// The per-call overrides this client's calls use (those of [`Client::with_options`],
    /// merged; all `None` for a client built from its options).
    pub fn request_options(&self) -> &RequestOptions {
        &self.options
    }

    /// The API root, ending in `/api/public/v1`.
    pub fn base_url(&self) -> &Url {
        &self.inner.config.base_url
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }
}
