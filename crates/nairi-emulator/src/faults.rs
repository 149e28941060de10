//! Fault injection on the public API.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use crate::error::EmulatorError;
use crate::script::MAX_DELAY_MS;
use crate::server::API_PREFIX;

/// A fault applied to the next `times` public-API requests matching `method` and `path_prefix`.
///
/// Over HTTP every field but `path_prefix` may be left out, and unknown fields are rejected.
/// `Fault::validate` lists what else is refused (a bad method, `times` 0, delays over 24 hours).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Fault {
    /// HTTP method to match (any when absent), case-insensitive.
    #[serde(default)]
    pub method: Option<String>,
    /// Prefix of the raw request path, e.g. `/api/public/v1/messages/`; required.
    /// `/api/public/v1/` matches every public route.
    pub path_prefix: String,
    /// How many requests get the fault (default 1).
    #[serde(default)]
    pub times: Option<u32>,
    /// Delay before responding; alone, the request then proceeds normally.
    #[serde(default)]
    pub latency_ms: u64,
    /// Replace the response with this status (200–599).
    #[serde(default)]
    pub status: Option<u16>,
    /// Body of the replacement response (default `{"error":"injected fault"}`); needs `status`.
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of the replacement response; needs `status`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// `Retry-After` header value; needs `status`, `html` or `malformed_json`.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Extra response headers; need `status`, `html` or `malformed_json`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Close the connection without sending any byte.
    #[serde(default)]
    pub drop_connection: bool,
    /// A 200 with a truncated JSON body.
    #[serde(default)]
    pub malformed_json: bool,
    /// A 502 with an HTML error page, as an edge proxy would send.
    #[serde(default)]
    pub html: bool,
    /// Apply the request for real first (after `latency_ms`, in a task of its own so that a
    /// client giving up does not cancel it), then answer with the fault instead of the real
    /// response: with `drop_connection`, `html` or `status` the client cannot tell whether its
    /// request was taken; with `latency_ms` alone and a client timeout shorter than it, the
    /// request is taken after the client gave up.
    #[serde(default)]
    pub apply: bool,
}

/// Response headers a fault may not set: they describe the connection or the body's framing,
/// which the server owns.
pub(crate) fn is_framing_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "content-length"
            | "transfer-encoding"
            | "connection"
            | "upgrade"
            | "keep-alive"
            | "te"
            | "trailer"
    ) || n.starts_with("proxy-")
}

const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
];

fn bad(msg: impl Into<String>) -> EmulatorError {
    EmulatorError::bad_request(msg)
}

impl Fault {
    /// Checks that the fault can match and that every field it sets takes effect. Refused
    /// (400): a `path_prefix` that no public path starts with (empty, or outside
    /// `/api/public/v1`); an unknown `method`; `times` 0; `latency_ms` above [`MAX_DELAY_MS`];
    /// more than one of `status`, `html`, `malformed_json`, `drop_connection`; a `status`
    /// outside 200–599; `body` or `content_type` without `status`; `retry_after` or `headers`
    /// without a response to put them on; a fault that does nothing; header names or values
    /// that are not valid HTTP, and framing headers (`content-length`, `transfer-encoding`,
    /// `connection`, `upgrade`, `keep-alive`, `te`, `trailer`, `proxy-*`).
    pub fn validate(&self) -> Result<(), EmulatorError> {
        let p = self.path_prefix.as_str();
        let can_match = p.starts_with(API_PREFIX) || format!("{API_PREFIX}/").starts_with(p);
        if p.is_empty() || !can_match {
            return Err(bad(format!(
                "path_prefix {p:?} matches no public route: it must start with {API_PREFIX} \
                 (use {API_PREFIX}/ for every route)"
            )));
        }
        if let Some(m) = &self.method
            && !METHODS.iter().any(|k| k.as_str().eq_ignore_ascii_case(m))
        {
            return Err(bad(format!(
                "method {m:?} is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
            )));
        }
        if self.times == Some(0) {
            return Err(bad("times must be at least 1"));
        }
        if self.latency_ms > MAX_DELAY_MS {
            return Err(bad(format!(
                "latency_ms must be at most {MAX_DELAY_MS} (24 hours)"
            )));
        }
        let outcomes = [
            self.status.is_some(),
            self.html,
            self.malformed_json,
            self.drop_connection,
        ];
        match outcomes.iter().filter(|o| **o).count() {
            0 if self.latency_ms == 0 && !self.shapes_response() => {
                return Err(bad(
                    "the fault does nothing: set status, html, malformed_json, drop_connection \
                     or latency_ms",
                ));
            }
            0 | 1 => {}
            _ => {
                return Err(bad(
                    "set at most one of status, html, malformed_json and drop_connection",
                ));
            }
        }
        if self.apply && self.malformed_json {
            return Err(bad(
                "apply goes with drop_connection, html, status or latency_ms, not malformed_json",
            ));
        }
        if let Some(s) = self.status
            && !(200..=599).contains(&s)
        {
            return Err(bad(format!("status {s} must be between 200 and 599")));
        }
        if self.status.is_none() {
            for (name, set) in [
                ("body", self.body.is_some()),
                ("content_type", self.content_type.is_some()),
            ] {
                if set {
                    return Err(bad(format!("{name} needs status")));
                }
            }
        }
        let has_response = self.status.is_some() || self.html || self.malformed_json;
        if !has_response {
            for (name, set) in [
                ("retry_after", self.retry_after.is_some()),
                ("headers", !self.headers.is_empty()),
            ] {
                if set {
                    return Err(bad(format!(
                        "{name} needs a response to go on: set status, html or malformed_json"
                    )));
                }
            }
        }
        for (name, value) in [
            ("content_type", &self.content_type),
            ("retry_after", &self.retry_after),
        ] {
            if let Some(v) = value
                && HeaderValue::from_str(v).is_err()
            {
                return Err(bad(format!("{name} is not a valid header value")));
            }
        }
        for (k, v) in &self.headers {
            if HeaderName::from_bytes(k.as_bytes()).is_err() {
                return Err(bad(format!("header name {k:?} is not valid")));
            }
            if HeaderValue::from_str(v).is_err() {
                return Err(bad(format!("header {k:?} has an invalid value")));
            }
            if is_framing_header(k) {
                return Err(bad(format!(
                    "header {k:?} may not be set by a fault: it belongs to the connection or the \
                     body's framing"
                )));
            }
        }
        Ok(())
    }

    /// Whether a response-shaping field is set (they need `status`, `html` or
    /// `malformed_json`).
    fn shapes_response(&self) -> bool {
        self.body.is_some()
            || self.content_type.is_some()
            || self.retry_after.is_some()
            || !self.headers.is_empty()
    }
}

/// A stored fault with its id and remaining count.
#[derive(Debug, Clone)]
pub(crate) struct FaultEntry {
    pub id: String,
    pub remaining: u32,
    pub fault: Fault,
}

impl FaultEntry {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.remaining > 0
            && self
                .fault
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.fault.path_prefix)
    }
}
