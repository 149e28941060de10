//! Sending requests: URL building, auth, retries with backoff, error mapping, decoding.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::client::Client;
use crate::config::{MAX_ERROR_BODY_BYTES, RetryPolicy};
use crate::error::{ApiError, Error, Result, truncate};
use crate::operations::RetryClass;
use crate::path::MAX_URL_BYTES;
use crate::redact::Redactor;

thread_local! {
    /// The secret values met while [`ApiRequest::json`] serialises a body: `SecretString`
    /// reports itself here, so every request carrying one (whatever builds it) can have the
    /// values redacted from what the server echoes. Serialisation is synchronous, so the
    /// collection never spans an await point or another request.
    static SENT_SECRETS: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Records a secret value being serialised into a request body (a no-op elsewhere).
pub(crate) fn note_sent_secret(value: &str) {
    SENT_SECRETS.with(|cell| {
        if let Some(found) = cell.borrow_mut().as_mut() {
            found.push(value.to_owned());
        }
    });
}

/// One file part of a multipart upload; kept as `Bytes` so retries resend it without copying.
#[derive(Clone)]
pub(crate) struct FilePart {
    pub(crate) field: &'static str,
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) data: Bytes,
}

#[derive(Clone)]
pub(crate) enum Body {
    Empty,
    Json(Bytes),
    Multipart(FilePart),
}

/// A request before it is sent: the path is already encoded.
#[derive(Clone)]
pub(crate) struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    pub(crate) retry: RetryClass,
    /// Secret values the body carries, redacted from whatever the server answers.
    pub(crate) secrets: Vec<String>,
}

impl ApiRequest {
    /// Made by [`crate::operations::Operation::request`], which fills and encodes the path.
    pub(crate) fn new(method: Method, path: String, retry: RetryClass) -> Self {
        ApiRequest {
            method,
            path,
            query: Vec::new(),
            body: Body::Empty,
            retry,
            secrets: Vec::new(),
        }
    }

    /// Serialises `body` once (retries reuse the bytes), noting the secret values in it. A
    /// top-level `extra` object (the request models' fields this SDK version does not model)
    /// is merged into the body, its keys winning, so a caller can send what the server knows
    /// and the SDK does not yet.
    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let invalid = |e: serde_json::Error| {
            Error::validation("body", format!("could not be serialised: {e}"))
        };
        SENT_SECRETS.with(|cell| *cell.borrow_mut() = Some(Vec::new()));
        let value = serde_json::to_value(body);
        let secrets = SENT_SECRETS.with(|cell| cell.borrow_mut().take().unwrap_or_default());
        let mut value = value.map_err(invalid)?;
        if let serde_json::Value::Object(map) = &mut value
            && let Some(extra) = map.remove("extra")
        {
            match extra {
                serde_json::Value::Object(extra) => map.extend(extra),
                serde_json::Value::Null => {}
                other => {
                    return Err(Error::validation(
                        "extra",
                        format!("must be an object of extra body fields, not {other}"),
                    ));
                }
            }
        }
        let bytes = serde_json::to_vec(&value).map_err(invalid)?;
        self.body = Body::Json(Bytes::from(bytes));
        self.secrets.extend(secrets);
        Ok(self)
    }

    pub(crate) fn file(mut self, part: FilePart) -> Self {
        self.body = Body::Multipart(part);
        self
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// `METHOD path`, as errors name the request; built only when one is.
    fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn idempotent(&self) -> bool {
        self.retry == RetryClass::Idempotent
    }
}

/// The URL of `path` (encoded, starting with `/`) under the API root `base`: what
/// `Url::parse` of the two joined gives, for a fraction of its work, as the root's scheme, host
/// and port are parsed once (by the client) and only the path is parsed here. The root has no
/// query or fragment ([`crate::config::normalise_base_url`]).
pub(crate) fn api_url(base: &Url, path: &str) -> Url {
    let mut joined = String::with_capacity(base.path().len() + path.len());
    joined.push_str(base.path());
    joined.push_str(path);
    let mut url = base.clone();
    url.set_path(&joined);
    url
}

/// `METHOD path` of a request that was answered, kept in parts: the text is only built when
/// something shows it (a decode error, [`crate::with_response_meta`]).
pub(crate) struct Endpoint {
    method: Method,
    path: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// A 2xx response.
pub(crate) struct ApiResponse {
    pub(crate) body: Bytes,
    pub(crate) endpoint: Endpoint,
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
    /// The key and the secrets the request sent.
    pub(crate) secrets: Arc<Redactor>,
    /// Whether the request sent secret values, which are then redacted from the decoded
    /// answer itself (its `extra`, every string), not only from a decode error.
    pub(crate) sent_secrets: bool,
    /// The `Date` header, kept unparsed (a cheap clone) for the clock-skew estimate of
    /// prompt recovery.
    pub(crate) date: Option<HeaderValue>,
}

impl ApiResponse {
    /// How far the server's clock is ahead of this machine's (negative: behind), from the
    /// `Date` header; `None` without one. The header has a 1-second resolution.
    pub(crate) fn clock_skew(&self) -> Option<chrono::TimeDelta> {
        let text = self.date.as_ref()?.to_str().ok()?;
        let server: chrono::DateTime<chrono::Utc> = httpdate::parse_http_date(text).ok()?.into();
        Some(server - chrono::Utc::now())
    }
}

/// How much of a body the decode error's snippet is cut from: redacting this prefix (not
/// the whole, possibly 70 MB, body) is enough, as it holds the snippet and more.
const SNIPPET_SOURCE_BYTES: usize = 4096;

impl ApiResponse {
    /// Decodes the JSON body; on failure the message and snippet are redacted of the key and
    /// the request's secrets.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        // An empty 2xx body decodes as JSON null so that `()` and `Option<T>` accept it.
        let bytes: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        let decoded = if self.sent_secrets {
            // A server echoing a secret value in the answer would otherwise carry it into
            // `extra` and every Debug of the result.
            serde_json::from_slice::<serde_json::Value>(bytes).and_then(|mut value| {
                self.secrets.redact_value(&mut value);
                T::deserialize(value)
            })
        } else {
            serde_json::from_slice(bytes)
        };
        decoded.map_err(|e| {
            let head = &self.body[..self.body.len().min(SNIPPET_SOURCE_BYTES)];
            Error::Decode {
                endpoint: self.endpoint.to_string(),
                message: self.secrets.redact(&e.to_string()),
                snippet: truncate(&self.secrets.redact(&String::from_utf8_lossy(head)), 200),
            }
        })
    }
}

/// What one attempt produced.
enum Attempt {
    Done(Reply),
    Failed { error: Error, retryable: bool },
}

/// What a 2xx answer carried that [`ApiResponse`] keeps; the request's parts are added by
/// [`Client::send`], which owns it.
struct Reply {
    body: Bytes,
    status: u16,
    request_id: Option<String>,
    date: Option<HeaderValue>,
}

impl Client {
    /// Sends `req` with retries and decodes a JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(&self, req: ApiRequest) -> Result<T> {
        self.send(req).await?.decode()
    }

    /// Sends `req` with retries, ignoring the body of the 2xx answer.
    pub(crate) async fn call_empty(&self, req: ApiRequest) -> Result<()> {
        self.send(req).await.map(|_| ())
    }

    /// Sends `req`, retrying per the policy, and returns the 2xx response or the error.
    pub(crate) async fn send(&self, req: ApiRequest) -> Result<ApiResponse> {
        let config = &self.inner.config;
        let policy = RetryPolicy {
            max_retries: self.options.max_retries.unwrap_or(config.retry.max_retries),
            ..config.retry
        };
        let timeout = self.options.timeout.unwrap_or(config.timeout);
        if timeout.is_zero() {
            // reqwest would fail the attempt at once as a (retried) timeout.
            return Err(Error::validation(
                "timeout",
                "the per-call timeout (RequestOptions::timeout) must be greater than zero",
            ));
        }
        let secrets = if req.secrets.is_empty() {
            Arc::clone(&self.inner.redactor)
        } else {
            Arc::new(
                self.inner
                    .redactor
                    .with_secrets(req.secrets.iter().map(String::as_str)),
            )
        };
        let mut attempt: u32 = 0;
        loop {
            let span = tracing::debug_span!(
                "nairi.request",
                method = %req.method,
                path = %req.path,
                attempt,
                authorization = "Bearer <redacted>",
            );
            let outcome = self.attempt(&req, timeout, &secrets).instrument(span).await;
            match outcome {
                Attempt::Done(reply) => {
                    let resp = ApiResponse {
                        body: reply.body,
                        status: reply.status,
                        request_id: reply.request_id,
                        sent_secrets: !req.secrets.is_empty(),
                        secrets,
                        date: reply.date,
                        endpoint: Endpoint {
                            method: req.method,
                            path: req.path,
                        },
                    };
                    crate::response_meta::record(|| crate::ResponseMeta {
                        status: resp.status,
                        request_id: resp.request_id.as_deref().map(|id| resp.secrets.redact(id)),
                        endpoint: resp.endpoint.to_string(),
                    });
                    return Ok(resp);
                }
                Attempt::Failed { error, retryable } => {
                    if !retryable || attempt >= policy.max_retries {
                        return Err(error);
                    }
                    let retry_after = error.as_api().and_then(|e| e.retry_after);
                    let Some(delay) = backoff(&policy, attempt, retry_after) else {
                        // Waiting longer than the cap would stall the caller; the error
                        // carries `retry_after` so they can decide.
                        return Err(error);
                    };
                    tracing::debug!(
                        endpoint = %req.endpoint(),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        error = %error,
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(
        &self,
        req: &ApiRequest,
        timeout: Duration,
        secrets: &Arc<Redactor>,
    ) -> Attempt {
        let config = &self.inner.config;
        let url = api_url(&config.base_url, &req.path);
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .header(AUTHORIZATION, self.inner.authorization.clone())
            .timeout(timeout);
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        builder = match &req.body {
            Body::Empty => builder,
            Body::Json(bytes) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Multipart(part) => {
                let file = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::from(part.data.clone()),
                    part.data.len() as u64,
                )
                .file_name(part.filename.clone());
                let file = match file.mime_str(&part.content_type) {
                    Ok(f) => f,
                    Err(_) => {
                        return Attempt::Failed {
                            error: Error::validation(
                                "content_type",
                                format!("{:?} is not a valid MIME type", part.content_type),
                            ),
                            retryable: false,
                        };
                    }
                };
                builder.multipart(reqwest::multipart::Form::new().part(part.field, file))
            }
        };
        let request = match builder.build() {
            Ok(r) => r,
            Err(e) => return transport_failure(e, req, timeout),
        };
        let url_len = request.url().as_str().len();
        if url_len > MAX_URL_BYTES {
            return Attempt::Failed {
                error: Error::validation(
                    "url",
                    format!(
                        "{}: the URL would be {url_len} bytes long; the limit is \
                         {MAX_URL_BYTES} bytes",
                        req.endpoint()
                    ),
                ),
                retryable: false,
            };
        }
        // Held until the body is read: the connection is busy until then. The semaphore is
        // never closed, so acquiring only fails if it were; answer as for a refused connection.
        let Ok(_permit) = self.inner.permits.acquire().await else {
            return Attempt::Failed {
                error: Error::Config("the client's connection limit was closed".into()),
                retryable: false,
            };
        };
        let mut response = match self.inner.http.execute(request).await {
            Ok(r) => r,
            Err(e) => return transport_failure(e, req, timeout),
        };
        let status = response.status();
        // Only these headers are ever used: no copy of the whole map per answer.
        let request_id = header_str(response.headers(), "x-request-id");
        let date = response.headers().get(reqwest::header::DATE).cloned();
        let retry_after_value = if status.is_success() {
            None
        } else {
            retry_after(response.headers())
        };
        let limit = if status.is_success() {
            config.max_response_bytes
        } else {
            MAX_ERROR_BODY_BYTES as u64
        };
        let body = match read_body(&mut response, limit, status.is_success()).await {
            Ok(ReadBody::Complete(b)) => b,
            // Only a prefix of an error body is ever kept.
            Ok(ReadBody::Cut(b)) if !status.is_success() => b,
            Ok(ReadBody::Cut(_)) => {
                return Attempt::Failed {
                    error: Error::Decode {
                        endpoint: req.endpoint(),
                        message: format!(
                            "the response body is larger than the limit of {limit} bytes \
                             (ClientBuilder::max_response_bytes)"
                        ),
                        snippet: String::new(),
                    },
                    // The same request would get the same answer.
                    retryable: false,
                };
            }
            Err(e) => return transport_failure(e, req, timeout),
        };
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "response");
        if status.is_success() {
            return Attempt::Done(Reply {
                body,
                status: status.as_u16(),
                request_id,
                date,
            });
        }
        let error = ApiError::from_response(
            status.as_u16(),
            &body,
            request_id.map(|id| truncate(&id, 256)),
            retry_after_value,
            req.endpoint(),
            secrets,
        );
        let code = status.as_u16();
        let retryable = if req.idempotent() {
            code == 408 || code == 429 || (500..=599).contains(&code)
        } else {
            code == 429
        };
        Attempt::Failed {
            error: Error::from(error),
            retryable,
        }
    }
}

/// A body read up to a limit: whole, or cut at the limit (the rest never read).
enum ReadBody {
    Complete(Bytes),
    Cut(Bytes),
}

/// Reads at most `limit` bytes of the body as a stream, so that a hostile or broken server
/// can never make the client buffer more. With `refuse_early`, a `Content-Length` over the
/// limit is answered at once, reading nothing.
async fn read_body(
    response: &mut reqwest::Response,
    limit: u64,
    refuse_early: bool,
) -> reqwest::Result<ReadBody> {
    let declared = response.content_length();
    if refuse_early && declared.is_some_and(|len| len > limit) {
        return Ok(ReadBody::Cut(Bytes::new()));
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    // The declared length sizes the buffer only up to 1 MiB: it is the server's word.
    let capacity = declared.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut buf: Vec<u8> = Vec::with_capacity(capacity.min(limit).min(1 << 20));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok(ReadBody::Cut(buf.into()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(ReadBody::Complete(buf.into()))
}

fn transport_failure(e: reqwest::Error, req: &ApiRequest, timeout: Duration) -> Attempt {
    if e.is_builder() {
        // The request could not be built (bad URL, header or body): sending it again would
        // fail the same way, and it never left.
        return Attempt::Failed {
            error: Error::validation(
                "request",
                format!(
                    "{}: could not be built: {}",
                    req.endpoint(),
                    error_chain(&e)
                ),
            ),
            retryable: false,
        };
    }
    if e.is_timeout() {
        return Attempt::Failed {
            error: Error::Timeout {
                endpoint: req.endpoint(),
                timeout,
            },
            // A connect timeout means the request never left, so even a POST may be retried.
            retryable: req.idempotent() || e.is_connect(),
        };
    }
    let never_sent = e.is_connect();
    Attempt::Failed {
        error: Error::Connection {
            message: format!("{}: {}", req.endpoint(), error_chain(&e)),
            never_sent,
            source: Some(Box::new(e)),
        },
        // A POST may have reached the server unless the connection was never made.
        retryable: req.idempotent() || never_sent,
    }
}

/// The `Authorization` value, marked sensitive: hidden from reqwest/hyper Debug output and
/// never added to HTTP/2 header compression tables.
pub(crate) fn bearer(key: &str) -> HeaderValue {
    // The key was checked to be a valid header value (no control characters) at build time;
    // fall back to an empty, still sensitive, value rather than panic.
    let mut value =
        HeaderValue::from_str(&format!("Bearer {key}")).unwrap_or(HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// reqwest's Display hides the cause ("error sending request"); walk the sources.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After` as seconds (possibly fractional) or an HTTP date. A number of seconds too
/// large for a `Duration` (`1e20`) saturates to `Duration::MAX`: it is still "longer than the
/// cap", so the call fails at once instead of being retried early (or panicking).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The delay before retry number `attempt + 1`, or `None` when the retry must not happen.
///
/// A `Retry-After` up to [`RetryPolicy::max_retry_after`] is waited out exactly; a longer one
/// gives `None` (the caller fails at once with the error, which carries `retry_after`).
/// Without `Retry-After`: exponential backoff with jitter in [75%, 100%] of the step, the step
/// doubling from [`RetryPolicy::initial_backoff`] up to [`RetryPolicy::max_backoff`].
pub(crate) fn backoff(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    if let Some(ra) = retry_after {
        return (ra <= policy.max_retry_after).then_some(ra);
    }
    let step = policy
        .initial_backoff
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(policy.max_backoff);
    Some(step.mul_f64(0.75 + 0.25 * fastrand::f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(2),
        };
        let d0 = backoff(&p, 0, None).unwrap();
        assert!(d0 >= Duration::from_millis(75) && d0 <= Duration::from_millis(100));
        let d1 = backoff(&p, 1, None).unwrap();
        assert!(d1 >= Duration::from_millis(150) && d1 <= Duration::from_millis(200));
        let d5 = backoff(&p, 5, None).unwrap();
        assert!(d5 <= Duration::from_millis(350));
        let d_huge = backoff(&p, u32::MAX, None).unwrap();
        assert!(d_huge <= Duration::from_millis(350));
    }

    #[test]
    fn retry_after_is_waited_out_up_to_the_cap_and_refused_beyond() {
        let p = RetryPolicy {
            max_retry_after: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        assert_eq!(
            backoff(&p, 0, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            backoff(&p, 0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(backoff(&p, 0, Some(Duration::from_millis(2001))), None);
        assert_eq!(backoff(&p, 0, Some(Duration::MAX)), None);
    }

    #[test]
    fn a_request_that_cannot_be_built_is_a_validation_error_never_retried() {
        for req in [
            crate::operations::AGENTS_LIST.request(&[]).unwrap(),
            crate::operations::CONVERSATIONS_START.request(&[]).unwrap(),
        ] {
            let e = reqwest::Client::new()
                .get("http://[::1")
                .build()
                .unwrap_err();
            assert!(e.is_builder());
            match transport_failure(e, &req, Duration::from_secs(1)) {
                Attempt::Failed { error, retryable } => {
                    assert_eq!(error.kind(), crate::ErrorKind::Validation, "{error}");
                    assert!(!retryable);
                }
                Attempt::Done(_) => panic!("a builder error is a failure"),
            }
        }
    }

    #[test]
    fn the_secret_values_of_a_body_are_noted() {
        let body = crate::types::CreateSecret::new("DB_URL", "postgres://u:pw@db");
        let req = crate::operations::VAULTS_SECRETS_CREATE
            .request(&["v"])
            .unwrap()
            .json(&body)
            .unwrap();
        assert_eq!(req.secrets, ["postgres://u:pw@db"]);
        let plain = crate::operations::VAULTS_CREATE
            .request(&[])
            .unwrap()
            .json(&crate::types::CreateVault::new("v"))
            .unwrap();
        assert!(plain.secrets.is_empty());
        // Outside a request body, serialising a secret notes nothing anywhere.
        note_sent_secret("stray");
        let again = crate::operations::VAULTS_CREATE
            .request(&[])
            .unwrap()
            .json(&crate::types::CreateVault::new("v"))
            .unwrap();
        assert!(again.secrets.is_empty());
    }

    #[test]
    fn api_urls_are_what_parsing_the_joined_text_gives() {
        let roots = [
            "https://api.nairi.ai/api/public/v1",
            "http://127.0.0.1:8080/api/public/v1",
            "http://[::1]:9/api/public/v1",
            "https://gw.example.com/nairi/api/public/v1",
            "https://xn--bcher-kva.example/api/public/v1",
        ];
        let paths = [
            "/agents",
            "/agents/cci_01KEQ6963XS96YDP3NF9NKB7QJ",
            "/agents/acme%2Fweb/env-vars/env_1",
            "/agents/a%3Fb%23c%25d%20e/conversations",
            "/agents/%C3%A9t%C3%A9/deploy",
            "/agents/a.b~c_d-e",
        ];
        for root in roots {
            let base = crate::config::normalise_base_url(root, true).unwrap();
            for path in paths {
                let joined = Url::parse(&format!("{}{path}", base.as_str())).unwrap();
                let built = api_url(&base, path);
                assert_eq!(built, joined, "{root} {path}");
                assert_eq!(built.as_str(), joined.as_str());
            }
        }
        let real_ops = crate::operations::AGENTS_ENV_VARS_UPDATE
            .request(&["acme/web?x#y", "env 1"])
            .unwrap();
        let base = crate::config::normalise_base_url("https://api.nairi.ai", false).unwrap();
        assert_eq!(
            api_url(&base, &real_ops.path).as_str(),
            "https://api.nairi.ai/api/public/v1/agents/acme%2Fweb%3Fx%23y/env-vars/env%201"
        );
    }

    #[test]
    fn the_authorization_value_is_sensitive() {
        let v = bearer("nr_k");
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Bearer nr_k");
        assert!(!format!("{v:?}").contains("nr_k"));
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, "0.5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "NaN".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "1e20".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::MAX));
    }
}
