//! Sending requests: URL building, auth, retries with backoff, error mapping, decoding.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::client::Client;
use crate::config::RetryPolicy;
use crate::error::{ApiError, Error, Result, redact, truncate};
use crate::operations::RetryClass;

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
        }
    }

    /// Serialises `body` once; retries reuse the bytes. A top-level `extra` object (the
    /// request models' fields this SDK version does not model) is merged into the body, its
    /// keys winning, so a caller can send what the server knows and the SDK does not yet.
    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let invalid = |e: serde_json::Error| {
            Error::validation("body", format!("could not be serialised: {e}"))
        };
        let mut value = serde_json::to_value(body).map_err(invalid)?;
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

    fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn idempotent(&self) -> bool {
        self.retry == RetryClass::Idempotent
    }
}

/// A 2xx response.
pub(crate) struct ApiResponse {
    pub(crate) body: Bytes,
    pub(crate) endpoint: String,
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
}

impl ApiResponse {
    /// Decodes the JSON body; on failure the message and snippet have `key` redacted.
    pub(crate) fn decode<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        // An empty 2xx body decodes as JSON null so that `()` and `Option<T>` accept it.
        let bytes: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(bytes).map_err(|e| Error::Decode {
            endpoint: self.endpoint.clone(),
            message: redact(&e.to_string(), key),
            snippet: truncate(&redact(&String::from_utf8_lossy(&self.body), key), 200),
        })
    }
}

/// What one attempt produced.
enum Attempt {
    Done(ApiResponse),
    Failed { error: Error, retryable: bool },
}

impl Client {
    /// Sends `req` with retries and decodes a JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(&self, req: ApiRequest) -> Result<T> {
        self.send(req)
            .await?
            .decode(self.inner.config.api_key.expose())
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
        let mut attempt: u32 = 0;
        loop {
            let span = tracing::debug_span!(
                "nairi.request",
                method = %req.method,
                path = %req.path,
                attempt,
                authorization = "Bearer <redacted>",
            );
            let outcome = self.attempt(&req, timeout).instrument(span).await;
            match outcome {
                Attempt::Done(resp) => {
                    crate::response_meta::record(|| crate::ResponseMeta {
                        status: resp.status,
                        request_id: resp
                            .request_id
                            .as_deref()
                            .map(|id| redact(id, config.api_key.expose())),
                        endpoint: resp.endpoint.clone(),
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

    async fn attempt(&self, req: &ApiRequest, timeout: Duration) -> Attempt {
        let config = &self.inner.config;
        let url = format!("{}{}", config.base_url.as_str(), req.path);
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), &url)
            .header(AUTHORIZATION, bearer(config.api_key.expose()))
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
        let endpoint = req.endpoint();
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return transport_failure(e, req, timeout),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return transport_failure(e, req, timeout),
        };
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "response");
        if status.is_success() {
            return Attempt::Done(ApiResponse {
                body,
                endpoint,
                status: status.as_u16(),
                request_id: header_str(&headers, "x-request-id"),
            });
        }
        let error = ApiError::from_response(
            status.as_u16(),
            &body,
            header_str(&headers, "x-request-id"),
            retry_after(&headers),
            endpoint,
            config.api_key.expose(),
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

fn transport_failure(e: reqwest::Error, req: &ApiRequest, timeout: Duration) -> Attempt {
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
fn bearer(key: &str) -> HeaderValue {
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
