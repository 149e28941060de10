//! Fault injection and the request log of the public API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A fault applied to the next `times` public-API requests matching `method` and `path_prefix`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fault {
    /// HTTP method to match (any when absent), case-insensitive.
    pub method: Option<String>,
    /// Prefix of the raw request path, e.g. `/api/public/v1/messages/` (empty = every route).
    pub path_prefix: String,
    /// How many requests get the fault (default 1).
    pub times: Option<u32>,
    /// Delay before responding; alone, the request then proceeds normally.
    pub latency_ms: u64,
    /// Replace the response with this status.
    pub status: Option<u16>,
    /// Body of the replacement response (default `{"error":"injected fault"}`).
    pub body: Option<String>,
    /// Content type of the replacement response.
    pub content_type: Option<String>,
    /// `Retry-After` header value.
    pub retry_after: Option<String>,
    /// Extra response headers.
    pub headers: BTreeMap<String, String>,
    /// Close the connection without sending any byte.
    pub drop_connection: bool,
    /// A 200 with a truncated JSON body.
    pub malformed_json: bool,
    /// A 502 with an HTML error page, as an edge proxy would send.
    pub html: bool,
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

/// One public-API request as recorded by the emulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// 1-based sequence number since start or the last clear.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Raw request path.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Response status; 0 while in flight or when no response was sent (a dropped connection).
    pub status: u16,
    /// Request headers, lower-case names; the API key is redacted.
    pub headers: BTreeMap<String, String>,
    /// Request body length in bytes.
    pub body_len: u64,
    /// When the request arrived (RFC 3339).
    pub at: String,
    /// Id of the fault applied to this request, if any.
    pub fault: Option<String>,
}

/// Upper bound on stored log entries; the oldest are dropped first.
pub(crate) const LOG_CAPACITY: usize = 100_000;
