//! Fault injection and the request log of the public API.

use std::collections::{BTreeMap, VecDeque};

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
    /// 1-based sequence number; never reset, so it keeps growing across clears and resets.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Raw request path (truncated to [`LOG_FIELD_LIMIT`] bytes).
    pub path: String,
    /// Raw query string, if any (truncated to [`LOG_FIELD_LIMIT`] bytes).
    pub query: Option<String>,
    /// Response status; 0 while in flight or when no response was sent (a dropped connection).
    pub status: u16,
    /// Request headers, lower-case names; the API key is redacted and each value truncated to
    /// [`LOG_FIELD_LIMIT`] bytes.
    pub headers: BTreeMap<String, String>,
    /// Request body length in bytes.
    pub body_len: u64,
    /// When the request arrived (RFC 3339).
    pub at: String,
    /// Id of the fault applied to this request, if any.
    pub fault: Option<String>,
}

/// Entries the request log keeps; the oldest are dropped first.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;

/// Longest stored path, query or header value, in bytes; longer ones are cut at a character
/// boundary and end with `…(truncated)`.
pub const LOG_FIELD_LIMIT: usize = 1024;

/// Cuts `s` to at most [`LOG_FIELD_LIMIT`] bytes (on a character boundary), marking the cut.
pub(crate) fn truncate_for_log(s: &str) -> String {
    if s.len() <= LOG_FIELD_LIMIT {
        return s.to_string();
    }
    let mut end = LOG_FIELD_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(truncated)", &s[..end])
}

/// The request log, behind its own lock so that logging never waits on the state lock.
#[derive(Default)]
pub(crate) struct RequestLog {
    /// Ordered by `seq`, with no gaps: entry `i` has `seq == entries[0].seq + i`.
    entries: VecDeque<LoggedRequest>,
    last_seq: u64,
}

impl RequestLog {
    /// Records an arriving request; returns its sequence number.
    pub fn arrive(&mut self, mut entry: LoggedRequest) -> u64 {
        self.last_seq += 1;
        entry.seq = self.last_seq;
        if self.entries.len() >= REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.last_seq
    }

    /// The entry with this sequence number, if it is still kept.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut LoggedRequest> {
        let first = self.entries.front()?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.entries.get_mut(i).filter(|e| e.seq == seq)
    }

    /// Entries with a sequence number above `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<LoggedRequest> {
        let start = self.entries.partition_point(|e| e.seq <= seq);
        self.entries.range(start..).cloned().collect()
    }

    /// Forgets every entry; the sequence goes on.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
